//! `Agent::as_tool`: an orchestrator calls another agent as a tool and reads its final
//! output; bad arguments and failed runs are tool failures the model reads.

use std::sync::Arc;

use chatkit_agents::agents::{Agent, Runner, Tool, DEFAULT_TOOL_ERROR_MESSAGE};
use chatkit_agents::testing::{tool_outputs, ScriptedModel, Step};
use serde_json::json;

#[tokio::test]
async fn an_orchestrator_reads_the_other_agents_final_output() {
    let translator_model = Arc::new(ScriptedModel::new(vec![vec![Step::text("hola")]]));
    let translator: Agent<()> = Agent::new("Spanish", translator_model.clone())
        .instructions("Translate the input to Spanish.");
    let tool = translator.as_tool("translate_to_spanish", "Translate text to Spanish.");
    let definition = tool.definition().unwrap().clone();
    assert_eq!(definition.name, "translate_to_spanish");
    assert_eq!(definition.description, "Translate text to Spanish.");
    assert_eq!(
        definition.parameters,
        json!({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"], "additionalProperties": false})
    );

    let orchestrator_model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call(
            "translate_to_spanish",
            json!({"input": "hello"}),
        )],
        vec![Step::text("In Spanish: hola")],
    ]));
    let orchestrator = Agent::new("Orchestrator", orchestrator_model.clone()).tool(tool);
    let result = Runner::new()
        .run(&orchestrator, "Say hello in Spanish", ())
        .await
        .unwrap();
    assert_eq!(result.final_output, "In Spanish: hola");
    assert_eq!(tool_outputs(&result.events), ["hola"]);
    // The translator saw only the orchestrator's input, with its own instructions.
    let request = &translator_model.requests()[0];
    assert_eq!(
        request.instructions.as_deref(),
        Some("Translate the input to Spanish.")
    );
    assert_eq!(request.input, [json!({"role": "user", "content": "hello"})]);
}

#[tokio::test]
async fn bad_arguments_and_failed_runs_are_tool_failures() {
    // The translator's script is empty: its run fails.
    let translator: Agent<()> = Agent::new("Spanish", Arc::new(ScriptedModel::new(vec![])));
    let orchestrator_model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("translate", json!({"text": "wrong field"}))],
        vec![Step::tool_call("translate", json!({"input": "hello"}))],
        vec![Step::text("Sorry.")],
    ]));
    let orchestrator = Agent::new("Orchestrator", orchestrator_model)
        .tool(translator.as_tool("translate", "Translate."));
    let result = Runner::new().run(&orchestrator, "hi", ()).await.unwrap();
    assert_eq!(
        tool_outputs(&result.events),
        [DEFAULT_TOOL_ERROR_MESSAGE, DEFAULT_TOOL_ERROR_MESSAGE]
    );
    assert_eq!(result.final_output, "Sorry.");
}
