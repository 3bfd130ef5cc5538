//! The run loop on `ScriptedModel`: turns, concurrent tools fed back in call order,
//! hooks in the Python SDK's order, tool-use behaviours, limits, errors, cancellation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatkit_agents::agents::{
    function_tool, model::ModelError, Agent, RunError, RunEvent, RunHooks, RunStream, Runner,
    ToolContext, ToolDefinition, ToolUseBehavior, Tripwire,
};
use chatkit_agents::async_trait;
use chatkit_agents::testing::{ScriptedModel, Step};
use futures::StreamExt;
use serde_json::{json, Value};

/// Add two numbers.
#[function_tool]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Wait for a partner call, then answer (proves the calls of a turn run concurrently).
#[function_tool]
async fn rendezvous(ctx: &ToolContext<Arc<tokio::sync::Barrier>>, label: String) -> String {
    let barrier = ctx.context().clone();
    match tokio::time::timeout(Duration::from_secs(5), barrier.wait()).await {
        Ok(_) => format!("{label} met"),
        Err(_) => "alone".into(),
    }
}

async fn collect(mut run: RunStream) -> (Vec<RunEvent>, Option<RunError>, RunStream) {
    let mut events = Vec::new();
    let mut error = None;
    while let Some(event) = run.next().await {
        match event {
            Ok(event) => events.push(event),
            Err(e) => error = Some(e),
        }
    }
    (events, error, run)
}

fn model(turns: Vec<Vec<Step>>) -> Arc<ScriptedModel> {
    Arc::new(ScriptedModel::new(turns))
}

#[tokio::test]
async fn a_text_answer_streams_model_events_and_ends() {
    let model = model(vec![vec![Step::text("Hello, world!")]]);
    let agent: Agent<()> = Agent::new("A", model.clone()).instructions("Be nice.");
    let (events, error, run) = collect(Runner::new().run_streamed(&agent, "hi", ())).await;
    assert!(error.is_none());
    assert_eq!(run.final_output().as_deref(), Some("Hello, world!"));
    assert!(matches!(&events[0], RunEvent::AgentUpdated { name } if name == "A"));
    let deltas: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Model(chatkit_agents::agents::model::ModelEvent::OutputTextDelta {
                delta,
                ..
            }) => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, ["Hello,", " world!"]);
    assert!(matches!(events.last(), Some(RunEvent::MessageOutput(_))));
    let request = &model.requests()[0];
    assert_eq!(request.instructions.as_deref(), Some("Be nice."));
    assert_eq!(
        request.input,
        vec![json!({"role": "user", "content": "hi"})]
    );
}

#[tokio::test]
async fn tool_calls_run_concurrently_and_outputs_return_in_call_order() {
    let model = model(vec![
        vec![
            Step::ToolCall {
                name: "rendezvous".into(),
                arguments: json!({"label": "first"}),
                call_id: Some("call_a".into()),
                id: None,
            },
            Step::ToolCall {
                name: "rendezvous".into(),
                arguments: json!({"label": "second"}),
                call_id: Some("call_b".into()),
                id: None,
            },
        ],
        vec![Step::text("Both met.")],
    ]);
    let agent = Agent::new("A", model.clone()).tool(rendezvous);
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let (events, error, run) = collect(Runner::new().run_streamed(&agent, "go", barrier)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(run.final_output().as_deref(), Some("Both met."));
    let outputs: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::ToolOutput { call, output } => Some((call.call_id.as_str(), output.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(outputs, [("call_a", "first met"), ("call_b", "second met")]);

    let second = &model.requests()[1].input;
    let kinds: Vec<_> = second
        .iter()
        .map(|i| i["type"].as_str().unwrap_or("message"))
        .collect();
    assert_eq!(
        kinds,
        [
            "message",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output"
        ]
    );
    assert_eq!(
        second[3],
        json!({"type": "function_call_output", "call_id": "call_a", "output": "first met"})
    );
    assert_eq!(second[4]["call_id"], "call_b");
    assert_eq!(second[1]["name"], "rendezvous");
    assert_eq!(
        model.requests()[0].tools[0].name,
        "rendezvous",
        "tools are offered with their definitions"
    );
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

#[async_trait]
impl RunHooks<()> for Recorder {
    async fn on_agent_start(&self, _: &(), agent: &Agent<()>) -> Result<(), Tripwire> {
        self.0
            .lock()
            .unwrap()
            .push(format!("agent_start {}", agent.name()));
        Ok(())
    }
    async fn on_agent_end(&self, _: &(), _: &Agent<()>, output: &str) -> Result<(), Tripwire> {
        self.0.lock().unwrap().push(format!("agent_end {output}"));
        Ok(())
    }
    async fn on_llm_start(
        &self,
        _: &(),
        _: &Agent<()>,
        _: Option<&str>,
        input: &[Value],
    ) -> Result<(), Tripwire> {
        self.0
            .lock()
            .unwrap()
            .push(format!("llm_start {}", input.len()));
        Ok(())
    }
    async fn on_llm_end(
        &self,
        _: &(),
        _: &Agent<()>,
        output: &[chatkit_agents::agents::model::OutputItem],
    ) -> Result<(), Tripwire> {
        self.0
            .lock()
            .unwrap()
            .push(format!("llm_end {}", output.len()));
        Ok(())
    }
    async fn on_tool_start(
        &self,
        ctx: &ToolContext<()>,
        _: &Agent<()>,
        tool: &ToolDefinition,
    ) -> Result<(), Tripwire> {
        self.0
            .lock()
            .unwrap()
            .push(format!("tool_start {} {}", tool.name, ctx.tool_call_id()));
        Ok(())
    }
    async fn on_tool_end(
        &self,
        ctx: &ToolContext<()>,
        _: &Agent<()>,
        _: &ToolDefinition,
        output: &str,
    ) -> Result<(), Tripwire> {
        self.0
            .lock()
            .unwrap()
            .push(format!("tool_end {} {output}", ctx.tool_call_id()));
        Ok(())
    }
}

/// Sleep, then answer.
#[function_tool]
async fn nap(millis: u64) -> String {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    format!("slept {millis}")
}

#[tokio::test]
async fn hooks_fire_in_the_python_order() {
    let model = model(vec![
        vec![
            Step::ToolCall {
                name: "nap".into(),
                arguments: json!({"millis": 60}),
                call_id: Some("slow".into()),
                id: None,
            },
            Step::ToolCall {
                name: "nap".into(),
                arguments: json!({"millis": 1}),
                call_id: Some("fast".into()),
                id: None,
            },
        ],
        vec![Step::text("done")],
    ]);
    let agent = Agent::new("A", model).tool(nap);
    let hooks = Arc::new(Recorder::default());
    // An `Arc` of hooks is hooks: the test keeps a handle to read the record.
    let (_, error, _) = collect(
        Runner::new()
            .hooks(hooks.clone())
            .run_streamed(&agent, "go", ()),
    )
    .await;
    assert!(error.is_none());
    assert_eq!(
        *hooks.0.lock().unwrap(),
        [
            "agent_start A",
            "llm_start 1",
            "llm_end 2",
            "tool_start nap slow",
            "tool_start nap fast",
            "tool_end fast slept 1",
            "tool_end slow slept 60",
            "llm_start 5",
            "llm_end 1",
            "agent_end done",
        ]
    );
}

struct Guard;

#[async_trait]
impl RunHooks<()> for Guard {
    async fn on_llm_end(
        &self,
        _: &(),
        _: &Agent<()>,
        output: &[chatkit_agents::agents::model::OutputItem],
    ) -> Result<(), Tripwire> {
        let text = serde_json::to_string(output).unwrap();
        if text.contains("secret") {
            Err(Tripwire("leaked a secret".into()))
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_hook_tripwire_stops_the_run() {
    let agent: Agent<()> = Agent::new("A", model(vec![vec![Step::text("the secret is 42")]]));
    let (_, error, run) = collect(
        Runner::new()
            .hooks(Guard)
            .run_streamed(&agent, "tell me", ()),
    )
    .await;
    assert_eq!(
        error,
        Some(RunError::Tripwire(Tripwire("leaked a secret".into())))
    );
    assert!(run.final_output().is_none());
}

#[tokio::test]
async fn tool_use_behaviours_stop_early() {
    let turn = || vec![Step::tool_call("add", json!({"a": 2, "b": 3}))];
    let agent = Agent::new("A", model(vec![turn()]))
        .tool(add)
        .tool_use_behavior(ToolUseBehavior::StopOnFirstTool);
    let (_, error, run) = collect(Runner::new().run_streamed(&agent, "add", ())).await;
    assert!(error.is_none());
    assert_eq!(run.final_output().as_deref(), Some("5"));

    let agent = Agent::new("A", model(vec![turn()]))
        .tool(add)
        .tool_use_behavior(ToolUseBehavior::StopAtTools(vec!["add".into()]));
    let (_, _, run) = collect(Runner::new().run_streamed(&agent, "add", ())).await;
    assert_eq!(run.final_output().as_deref(), Some("5"));
}

#[tokio::test]
async fn limits_and_failures_are_run_errors() {
    let looping = model(
        (0..3)
            .map(|_| vec![Step::tool_call("add", json!({"a": 1, "b": 1}))])
            .collect(),
    );
    let agent = Agent::new("A", looping).tool(add);
    let (_, error, _) = collect(Runner::new().max_turns(2).run_streamed(&agent, "loop", ())).await;
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some("Max turns (2) exceeded")
    );

    let agent = Agent::new("A", model(vec![vec![Step::tool_call("nope", json!({}))]])).tool(add);
    let (_, error, _) = collect(Runner::new().run_streamed(&agent, "x", ())).await;
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some("Tool nope not found in agent A")
    );

    let agent: Agent<()> = Agent::new(
        "A",
        model(vec![vec![
            Step::text("partial"),
            Step::ApiError {
                code: "insufficient_quota".into(),
                message: "quota".into(),
            },
        ]]),
    );
    let (events, error, _) = collect(Runner::new().run_streamed(&agent, "x", ())).await;
    assert_eq!(
        error,
        Some(RunError::Model(ModelError::Api {
            code: Some("insufficient_quota".into()),
            message: "quota".into(),
            status: None,
        }))
    );
    assert!(
        events.iter().any(|e| matches!(e, RunEvent::Model(_))),
        "what was streamed before the error is kept"
    );

    let agent: Agent<()> = Agent::new(
        "A",
        model(vec![vec![Step::Break(ModelError::Connection(
            "reset".into(),
        ))]]),
    );
    let (_, error, _) = collect(Runner::new().run_streamed(&agent, "x", ())).await;
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some("model connection error: reset")
    );

    let agent: Agent<()> = Agent::new("A", model(vec![]));
    let (_, error, _) = collect(Runner::new().run_streamed(&agent, "x", ())).await;
    assert!(matches!(
        error,
        Some(RunError::Model(ModelError::Other(message))) if message.starts_with("the scripted model has no turn left for request 1")
    ));
}

#[tokio::test]
async fn failing_tools_do_not_stop_the_run() {
    let model = model(vec![
        vec![Step::tool_call("add", json!({"a": "x"}))],
        vec![Step::text("sorry")],
    ]);
    let agent = Agent::new("A", model.clone()).tool(add);
    let (_, error, run) = collect(Runner::new().run_streamed(&agent, "x", ())).await;
    assert!(error.is_none());
    assert_eq!(run.final_output().as_deref(), Some("sorry"));
    let output = &model.requests()[1].input[2];
    assert_eq!(
        output["output"],
        chatkit_agents::agents::DEFAULT_TOOL_ERROR_MESSAGE
    );
}

#[tokio::test]
async fn cancelling_ends_the_stream() {
    let agent: Agent<()> = Agent::new(
        "A",
        model(vec![vec![
            Step::text("one"),
            Step::Delay(Duration::from_secs(30)),
            Step::text("two"),
        ]]),
    );
    let mut run = Runner::new().run_streamed(&agent, "x", ());
    let first = run.next().await;
    assert!(matches!(first, Some(Ok(RunEvent::AgentUpdated { .. }))));
    let handle = run.cancel_handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        handle.abort();
    });
    let rest: Vec<_> =
        tokio::time::timeout(Duration::from_secs(5), run.by_ref().collect::<Vec<_>>())
            .await
            .expect("cancel ends the run");
    assert!(rest.iter().all(Result::is_ok));
    assert!(run.final_output().is_none());
}

#[tokio::test]
async fn a_map_hidden_in_a_tool_fails_the_run_at_start() {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Bag {
        items: std::collections::BTreeMap<String, i64>,
    }
    /// Count.
    #[function_tool]
    async fn count(bag: Bag) -> usize {
        bag.items.len()
    }
    let agent = Agent::new("A", model(vec![vec![Step::text("x")]])).tool(count);
    let (events, error, _) = collect(Runner::new().run_streamed(&agent, "x", ())).await;
    assert!(events.is_empty());
    assert!(matches!(error, Some(RunError::ToolSchema(_))), "{error:?}");
}

/// Double a number.
#[chatkit_agents::agents::function_tool]
async fn double(n: i64) -> i64 {
    n * 2
}

#[tokio::test]
async fn a_stored_conversation_is_continued_with_only_the_new_items() {
    use chatkit_agents::agents::RunOptions;
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("double", json!({"n": 21}))],
        vec![Step::text("42")],
    ]));
    let agent: Agent<()> = Agent::new("Calc", model.clone()).tool(double);
    let options = RunOptions::default().previous_response_id("resp_earlier");
    let result = Runner::new()
        .run_with(&agent, "double 21", (), options)
        .await
        .unwrap();
    assert_eq!(result.final_output, "42");
    let requests = model.requests();
    // The first call names the stored conversation and sends the new message only.
    assert_eq!(
        requests[0].previous_response_id.as_deref(),
        Some("resp_earlier")
    );
    assert_eq!(
        requests[0].input,
        [json!({"role": "user", "content": "double 21"})]
    );
    // The second names the first call's response and sends the tool output only.
    let first_response = requests[1].previous_response_id.clone().unwrap();
    assert_ne!(first_response, "resp_earlier");
    assert_eq!(requests[1].input.len(), 1);
    assert_eq!(requests[1].input[0]["type"], "function_call_output");
    assert_eq!(requests[1].input[0]["output"], "42");
    assert!(result.last_response_id.is_some());
    assert_ne!(
        result.last_response_id.as_deref(),
        Some(first_response.as_str())
    );

    // Without it, every call sends the whole conversation.
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("double", json!({"n": 1}))],
        vec![Step::text("2")],
    ]));
    let agent: Agent<()> = Agent::new("Calc", model.clone()).tool(double);
    Runner::new().run(&agent, "double 1", ()).await.unwrap();
    let requests = model.requests();
    assert_eq!(requests[1].previous_response_id, None);
    assert_eq!(requests[1].input.len(), 3);
}

/// A chart tool: text and an image.
struct Chart(chatkit_agents::agents::ToolDefinition);

impl chatkit_agents::agents::Tool<()> for Chart {
    fn definition(
        &self,
    ) -> Result<&chatkit_agents::agents::ToolDefinition, chatkit_agents::agents::ToolSchemaError>
    {
        Ok(&self.0)
    }
    fn invoke<'a>(
        &'a self,
        _: &'a chatkit_agents::agents::ToolContext<()>,
        _: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<String, chatkit_agents::agents::ToolFailure>> {
        Box::pin(async { Ok("text only".to_owned()) })
    }
    fn invoke_content<'a>(
        &'a self,
        _: &'a chatkit_agents::agents::ToolContext<()>,
        _: &'a str,
    ) -> futures::future::BoxFuture<
        'a,
        Result<chatkit_agents::agents::ToolOutput, chatkit_agents::agents::ToolFailure>,
    > {
        Box::pin(async {
            Ok(chatkit_agents::agents::ToolOutput::text("Sales:")
                .with_image("image/png", "iVBORw0KGgo="))
        })
    }
}

#[tokio::test]
async fn a_tool_image_reaches_the_model_as_an_image_input() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("chart", json!({}))],
        vec![Step::text("Sales are up.")],
    ]));
    let definition = chatkit_agents::agents::ToolDefinition {
        name: "chart".into(),
        description: "Draw the sales chart.".into(),
        parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        strict: true,
    };
    let agent: Agent<()> = Agent::new("Analyst", model.clone()).tool(Chart(definition));
    let events: Vec<_> = Runner::new()
        .run_streamed(&agent, "chart it", ())
        .collect()
        .await;
    let outputs: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Ok(RunEvent::ToolOutput { output, .. }) => Some(output.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(outputs, ["Sales:\n[image: image/png]"]);
    let input = &model.requests()[1].input;
    let output = input
        .iter()
        .find(|item| item["type"] == "function_call_output")
        .unwrap();
    assert_eq!(
        output["output"],
        json!([
            {"type": "input_text", "text": "Sales:"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}
        ])
    );
}

#[tokio::test]
async fn a_forced_tool_choice_holds_until_a_tool_is_called_unless_kept() {
    let forced = chatkit_agents::agents::model::ModelSettings {
        tool_choice: Some("add".into()),
        ..Default::default()
    };
    for keep in [false, true] {
        let model = Arc::new(ScriptedModel::new(vec![
            vec![Step::tool_call("add", json!({"a": 1, "b": 2}))],
            vec![Step::text("3")],
        ]));
        let agent: Agent<()> = Agent::new("Calc", model.clone())
            .settings(forced.clone())
            .reset_tool_choice(!keep)
            .tool(add);
        let result = Runner::new().run(&agent, "1+2?", ()).await.unwrap();
        assert_eq!(result.final_output, "3");
        let choices: Vec<_> = model
            .requests()
            .iter()
            .map(|r| r.settings.tool_choice.clone())
            .collect();
        let second = keep.then(|| "add".to_owned());
        assert_eq!(choices, [Some("add".to_owned()), second], "keep: {keep}");
    }
}
