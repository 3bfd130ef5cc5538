//! An input guardrail backed by a classifier agent with a structured output, as in the
//! Python Agents SDK's guardrail guide: a tutor answers questions, but homework is
//! refused. The classifier runs alongside the tutor's first model call; when it trips,
//! whatever the tutor had streamed is taken back and the user reads the server's
//! message. Runs offline with scripted models: `cargo run --example guardrails`.

use std::sync::Arc;

use chatkit_agents::prelude::*;
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents_workspace::example_support::{create, send};
use serde_json::Value;

/// The classifier's verdict.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct HomeworkCheck {
    is_homework: bool,
    reasoning: String,
}

/// A guardrail that asks `classifier` whether the input is homework. A classifier that
/// fails or answers out of shape blocks the request (fail closed).
fn homework_guardrail<C: Send + 'static>(classifier: Agent<()>) -> InputGuardrail<C> {
    InputGuardrail::new("homework", move |_: C, input: Vec<Value>| {
        let classifier = classifier.clone();
        async move {
            let verdict = Runner::new()
                .run(&classifier, input, ())
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    r.final_output_as::<HomeworkCheck>()
                        .map_err(|e| e.to_string())
                });
            match verdict {
                Ok(check) if !check.is_homework => GuardrailOutput::pass(),
                Ok(check) => {
                    GuardrailOutput::trip(serde_json::json!({"reasoning": check.reasoning}))
                }
                Err(error) => GuardrailOutput::trip(serde_json::json!({"error": error})),
            }
        }
    })
}

/// Asks a question, then for homework; returns both streams' events.
pub async fn run() -> (Vec<Value>, Vec<Value>) {
    // The classifier answers in its output type; one verdict per question.
    let classifier_model = ScriptedModel::new(vec![
        vec![Step::text(
            r#"{"is_homework": false, "reasoning": "A general question."}"#,
        )],
        vec![Step::text(
            r#"{"is_homework": true, "reasoning": "An exercise to solve."}"#,
        )],
    ]);
    let classifier = Agent::new("Homework check", Arc::new(classifier_model))
        .instructions("Tell whether the user asks you to do their homework.")
        .output_type::<HomeworkCheck>();
    let tutor_model = ScriptedModel::new(vec![
        vec![Step::text("Paris is the capital of France.")],
        vec![Step::text("Subtract 3, then divide by 2: x = 2.")],
    ]);
    let tutor = Agent::new("Tutor", Arc::new(tutor_model))
        .instructions("Explain things clearly.")
        .input_guardrail(homework_guardrail(classifier));
    let server = Arc::new(
        AgentServer::new(Arc::new(MemoryStore::new()), tutor)
            .tripwire_message("I can't do your homework, but I can explain the method."),
    );
    let question = send(&server, create("What is the capital of France?"), ()).await;
    let homework = send(&server, create("Do my homework: solve 2x + 3 = 7"), ()).await;
    (question, homework)
}

#[tokio::main]
async fn main() {
    run().await;
}
