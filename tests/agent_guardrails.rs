//! Input and output guardrails, as the Python Agents SDK runs them: input checks for the
//! starting agent only (alongside the first model call, or before it when blocking),
//! output checks on the final output, and a tripped check taking back in ChatKit what
//! the run showed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::agents::{
    chatkit::{stream_agent_response, AgentContext},
    function_tool,
    model::ModelEvent,
    Agent, GuardrailOutput, InputGuardrail, OutputGuardrail, RunError, RunEvent, Runner,
    ToolContext, ToolGuardrailOutput, ToolInputGuardrail, ToolOutputGuardrail, ToolUseBehavior,
};
use chatkit_agents::server::ThreadHandle;
use chatkit_agents::store::MemoryStore;
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents::types::{ThreadMetadata, ThreadStreamEvent, Timestamp};
use futures::StreamExt;
use serde_json::{json, Value};

/// Records that it ran.
#[function_tool]
async fn launch(ctx: &ToolContext<Arc<AtomicBool>>) -> &'static str {
    ctx.context().store(true, Ordering::SeqCst);
    "launched"
}

fn mentions(input: &[Value], word: &str) -> bool {
    serde_json::to_string(input).unwrap().contains(word)
}

/// Trips when the input mentions "homework", after `delay`.
fn no_homework<C>(delay: Duration) -> InputGuardrail<C> {
    InputGuardrail::new("no_homework", move |_: C, input: Vec<Value>| async move {
        tokio::time::sleep(delay).await;
        if mentions(&input, "homework") {
            GuardrailOutput::trip(json!({"reason": "homework"}))
        } else {
            GuardrailOutput::pass()
        }
    })
}

/// Drains a run: its events and its error.
async fn drain<C: Clone + Send + Sync + 'static>(
    agent: &Agent<C>,
    input: &str,
    context: C,
) -> (Vec<RunEvent>, Option<RunError>) {
    let mut run = Runner::new().run_streamed(agent, input, context);
    let mut events = Vec::new();
    while let Some(event) = run.next().await {
        match event {
            Ok(event) => events.push(event),
            Err(error) => return (events, Some(error)),
        }
    }
    (events, None)
}

#[tokio::test]
async fn a_blocking_input_guardrail_trips_before_any_model_call() {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("Sure!")]]));
    let agent: Agent<()> =
        Agent::new("Tutor", model.clone()).input_guardrail(no_homework(Duration::ZERO).blocking());
    let (events, error) = drain(&agent, "do my homework", ()).await;
    match error {
        Some(RunError::InputGuardrailTripwire {
            guardrail,
            output_info,
        }) => {
            assert_eq!(guardrail, "no_homework");
            assert_eq!(output_info, json!({"reason": "homework"}));
        }
        other => panic!("expected the input tripwire, got {other:?}"),
    }
    assert!(model.requests().is_empty(), "no model call");
    assert!(!events.iter().any(|e| matches!(e, RunEvent::Model(_))));
}

#[tokio::test]
async fn a_parallel_input_guardrail_stops_the_run_before_tools_run() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("launch", json!({}))],
        vec![Step::text("Done")],
    ]));
    // The check finishes after the model's first answer: the tool must still not run.
    let agent = Agent::new("Rocket", model.clone())
        .tool(launch)
        .input_guardrail(no_homework(Duration::from_millis(50)));
    let launched = Arc::new(AtomicBool::new(false));
    let (events, error) = drain(&agent, "homework: launch it", launched.clone()).await;
    assert!(
        matches!(error, Some(RunError::InputGuardrailTripwire { ref guardrail, .. }) if guardrail == "no_homework"),
        "{error:?}"
    );
    assert_eq!(
        error.unwrap().to_string(),
        "Input guardrail no_homework triggered tripwire"
    );
    assert!(!launched.load(Ordering::SeqCst), "the tool did not run");
    assert!(!events
        .iter()
        .any(|e| matches!(e, RunEvent::ToolCalled(_) | RunEvent::ToolOutput { .. })));
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn passing_guardrails_leave_the_run_alone() {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("Hello!")]]));
    let checks = Arc::new(AtomicUsize::new(0));
    let counted = |name: &str| {
        let checks = checks.clone();
        OutputGuardrail::new(name, move |_: (), output: String| {
            let checks = checks.clone();
            async move {
                assert_eq!(output, "Hello!");
                checks.fetch_add(1, Ordering::SeqCst);
                GuardrailOutput::pass()
            }
        })
    };
    let agent = Agent::new("Greeter", model)
        .input_guardrail(no_homework(Duration::from_millis(5)))
        .input_guardrail(no_homework(Duration::ZERO).blocking())
        .output_guardrail(counted("polite"))
        .output_guardrail(counted("short"));
    let mut run = Runner::new().run_streamed(&agent, "hi", ());
    while let Some(event) = run.next().await {
        event.unwrap();
    }
    assert_eq!(run.final_output().as_deref(), Some("Hello!"));
    assert_eq!(checks.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_output_guardrail_checks_the_final_output() {
    let secret = OutputGuardrail::new("no_secrets", |_: (), output: String| async move {
        if output.contains("sk-") {
            GuardrailOutput::trip(json!({"found": "an API key"}))
        } else {
            GuardrailOutput::pass()
        }
    });
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text(
        "The key is sk-123",
    )]]));
    let agent: Agent<()> = Agent::new("Leaky", model).output_guardrail(secret.clone());
    let mut run = Runner::new().run_streamed(&agent, "key?", ());
    let mut error = None;
    while let Some(event) = run.next().await {
        if let Err(e) = event {
            error = Some(e);
        }
    }
    match error {
        Some(RunError::OutputGuardrailTripwire {
            guardrail,
            output_info,
        }) => {
            assert_eq!(guardrail, "no_secrets");
            assert_eq!(output_info, json!({"found": "an API key"}));
        }
        other => panic!("expected the output tripwire, got {other:?}"),
    }
    assert_eq!(run.final_output(), None, "a tripped output is not final");

    // A tool output that ends the run is a final output too.
    /// Reveal the key.
    #[function_tool]
    async fn reveal() -> &'static str {
        "sk-456"
    }
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::tool_call(
        "reveal",
        json!({}),
    )]]));
    let agent: Agent<()> = Agent::new("Leaky", model)
        .tool(reveal)
        .tool_use_behavior(ToolUseBehavior::StopOnFirstTool)
        .output_guardrail(secret);
    let (_, error) = drain(&agent, "key?", ()).await;
    assert!(
        matches!(error, Some(RunError::OutputGuardrailTripwire { .. })),
        "{error:?}"
    );
}

#[tokio::test]
async fn only_the_starting_agent_checks_the_input() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("transfer_to_specialist", json!({}))],
        vec![Step::text("Here is your homework help.")],
    ]));
    let specialist = Agent::new("Specialist", model.clone())
        .input_guardrail(no_homework(Duration::ZERO).blocking());
    let triage: Agent<()> = Agent::new("Triage", model).handoff(specialist);
    let (events, error) = drain(&triage, "homework please", ()).await;
    assert!(error.is_none(), "{error:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, RunEvent::Handoff { to, .. } if to == "Specialist")));
}

#[tokio::test]
async fn chatkit_takes_back_what_a_tripped_run_showed() {
    let store = Arc::new(MemoryStore::new());
    let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
    let ctx = AgentContext::new(thread, store, ());
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text(
        "The key is sk-123",
    )]]));
    let agent = Agent::new("Leaky", model).output_guardrail(OutputGuardrail::new(
        "no_secrets",
        |_: AgentContext<()>, output: String| async move {
            if output.contains("sk-") {
                GuardrailOutput::trip(Value::Null)
            } else {
                GuardrailOutput::pass()
            }
        },
    ));
    let run = Runner::new().run_streamed(&agent, "key?", ctx.clone());
    let mut stream = stream_agent_response(&ctx, run);
    let (mut shown, mut removed, mut error) = (Vec::new(), Vec::new(), None);
    while let Some(event) = stream.next().await {
        match event {
            Ok(ThreadStreamEvent::ThreadItemDone { item }) => shown.push(item.id().to_owned()),
            Ok(ThreadStreamEvent::ThreadItemRemoved { item_id }) => removed.push(item_id),
            Ok(_) => {}
            Err(e) => error = Some(e),
        }
    }
    assert_eq!(shown.len(), 1, "the message was streamed");
    assert_eq!(removed, shown, "then removed");
    assert!(error
        .unwrap()
        .to_string()
        .contains("Output guardrail no_secrets triggered tripwire"));
}

#[tokio::test]
async fn a_parallel_input_guardrail_interrupts_a_slow_model() {
    let model = Arc::new(ScriptedModel::new(vec![vec![
        Step::text("Let me"),
        Step::Delay(Duration::from_secs(30)),
        Step::text("think about your homework."),
    ]]));
    let agent: Agent<()> =
        Agent::new("Tutor", model).input_guardrail(no_homework(Duration::from_millis(20)));
    let (events, error) = drain(&agent, "homework", ()).await;
    assert!(
        matches!(error, Some(RunError::InputGuardrailTripwire { .. })),
        "{error:?}"
    );
    // The run ended while the model was still waiting: its second message never came.
    let messages = events
        .iter()
        .filter(|e| matches!(e, RunEvent::MessageOutput(_)))
        .count();
    assert_eq!(messages, 0);
    assert!(events.iter().any(|e| matches!(e, RunEvent::Model(_))));
    // Nothing the model sends after its 30 s pause arrived: the run did not wait for it.
    let late_text = events.iter().any(|e| {
        matches!(e, RunEvent::Model(ModelEvent::OutputTextDelta { delta, .. }) if delta.contains("homework"))
    });
    assert!(!late_text);
}

/// Moves money.
#[function_tool]
async fn transfer(ctx: &ToolContext<Arc<AtomicBool>>, kind: String) -> String {
    ctx.context().store(true, Ordering::SeqCst);
    format!("sent by {kind}; account 12345678")
}

fn transfer_run(kind: &str) -> (Arc<ScriptedModel>, Agent<Arc<AtomicBool>>) {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("transfer", json!({"kind": kind}))],
        vec![Step::text("Done.")],
    ]));
    (model.clone(), Agent::new("Bank", model).tool(transfer))
}

fn no_wire() -> ToolInputGuardrail<Arc<AtomicBool>> {
    ToolInputGuardrail::new("no_wire", |call: ToolContext<Arc<AtomicBool>>| async move {
        match call.arguments() {
            args if args.contains("wire") => {
                ToolGuardrailOutput::reject_content("Wire transfers need a human.")
            }
            args if args.contains("crypto") => {
                ToolGuardrailOutput::raise_exception(json!({"kind": "crypto"}))
            }
            _ => ToolGuardrailOutput::Allow,
        }
    })
}

fn tool_output_sent(model: &ScriptedModel) -> String {
    model.requests()[1]
        .input
        .iter()
        .find(|item| item["type"] == "function_call_output")
        .map(|item| item["output"].as_str().unwrap().to_owned())
        .unwrap()
}

#[tokio::test]
async fn a_tool_input_guardrail_can_allow_reject_or_stop() {
    let (model, agent) = transfer_run("ach");
    let agent = agent.tool_input_guardrail(no_wire());
    let ran = Arc::new(AtomicBool::new(false));
    let result = Runner::new().run(&agent, "pay", ran.clone()).await.unwrap();
    assert_eq!(result.final_output, "Done.");
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(tool_output_sent(&model), "sent by ach; account 12345678");

    // Rejected: the tool does not run and the model reads the message instead.
    let (model, agent) = transfer_run("wire");
    let agent = agent.tool_input_guardrail(no_wire());
    let ran = Arc::new(AtomicBool::new(false));
    Runner::new().run(&agent, "pay", ran.clone()).await.unwrap();
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(tool_output_sent(&model), "Wire transfers need a human.");

    // Stopped: the run fails with the guardrail, the tool, and what it reported.
    let (model, agent) = transfer_run("crypto");
    let agent = agent.tool_input_guardrail(no_wire());
    let ran = Arc::new(AtomicBool::new(false));
    let error = Runner::new()
        .run(&agent, "pay", ran.clone())
        .await
        .unwrap_err();
    match &error {
        RunError::ToolGuardrailTripwire {
            guardrail,
            tool,
            output_info,
        } => {
            assert_eq!((guardrail.as_str(), tool.as_str()), ("no_wire", "transfer"));
            assert_eq!(output_info, &json!({"kind": "crypto"}));
        }
        other => panic!("expected a tool tripwire, got {other:?}"),
    }
    assert!(error.is_tripwire());
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn a_tool_output_guardrail_rewrites_or_stops_what_the_model_reads() {
    let redact = ToolOutputGuardrail::new(
        "redact_accounts",
        |_: ToolContext<Arc<AtomicBool>>, output: String| async move {
            if output.contains("account") {
                ToolGuardrailOutput::reject_content("sent (account details withheld)")
            } else {
                ToolGuardrailOutput::Allow
            }
        },
    );
    let (model, agent) = transfer_run("ach");
    let agent = agent.tool_output_guardrail(redact);
    let ran = Arc::new(AtomicBool::new(false));
    Runner::new().run(&agent, "pay", ran.clone()).await.unwrap();
    assert!(ran.load(Ordering::SeqCst), "the tool ran");
    assert_eq!(tool_output_sent(&model), "sent (account details withheld)");

    let stop = ToolOutputGuardrail::new(
        "stop_all",
        |_: ToolContext<Arc<AtomicBool>>, _: String| async move {
            ToolGuardrailOutput::raise_exception(Value::Null)
        },
    );
    let (_, agent) = transfer_run("ach");
    let agent = agent.tool_output_guardrail(stop);
    let error = Runner::new()
        .run(&agent, "pay", Arc::new(AtomicBool::new(false)))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Tool guardrail stop_all triggered tripwire on tool transfer"
    );
}
