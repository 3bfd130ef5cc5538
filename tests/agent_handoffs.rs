//! Handoffs: `transfer_to_<agent>` tools that switch the answering agent, as the Python
//! Agents SDK runs them (tool name and description, transfer message, only the first
//! handoff of a turn, tools of the turn still run, hooks and events in order).

use std::sync::{Arc, Mutex};

use chatkit_agents::agents::{
    function_tool, remove_all_tools, Agent, Handoff, RunError, RunEvent, RunHooks, Runner,
    ToolUseBehavior, Tripwire, MULTIPLE_HANDOFFS,
};
use chatkit_agents::async_trait;
use chatkit_agents::testing::{ScriptedModel, Step};
use futures::StreamExt;
use serde_json::json;

/// Add two numbers.
#[function_tool]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn call(name: &str, id: &str, arguments: serde_json::Value) -> Step {
    Step::ToolCall {
        name: name.into(),
        arguments,
        call_id: Some(id.into()),
        id: None,
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
}

#[async_trait]
impl RunHooks<()> for Recorder {
    async fn on_agent_start(&self, _: &(), agent: &Agent<()>) -> Result<(), Tripwire> {
        self.push(format!("agent_start {}", agent.name()));
        Ok(())
    }
    async fn on_agent_end(&self, _: &(), agent: &Agent<()>, _: &str) -> Result<(), Tripwire> {
        self.push(format!("agent_end {}", agent.name()));
        Ok(())
    }
    async fn on_handoff(&self, _: &(), from: &Agent<()>, to: &Agent<()>) -> Result<(), Tripwire> {
        self.push(format!("handoff {} -> {}", from.name(), to.name()));
        Ok(())
    }
}

#[tokio::test]
async fn the_first_handoff_switches_agents_after_the_turns_tools_ran() {
    let triage_model = Arc::new(ScriptedModel::new(vec![vec![
        call("add", "call_add", json!({"a": 2, "b": 3})),
        call("transfer_to_billing_agent", "call_h1", json!({})),
        call("transfer_to_billing_agent", "call_h2", json!({})),
    ]]));
    let billing_model = Arc::new(ScriptedModel::new(vec![vec![Step::text(
        "Your invoice is paid.",
    )]]));
    let billing = Agent::new("Billing agent", billing_model.clone())
        .instructions("You handle billing.")
        .handoff_description("Answers invoice questions.");
    let triage = Agent::new("Triage", triage_model.clone())
        .instructions("Route the user.")
        .tool(add)
        .handoff(billing)
        // A handoff wins over a behaviour that would stop at the tool.
        .tool_use_behavior(ToolUseBehavior::StopOnFirstTool);
    let hooks = Arc::new(Recorder::default());
    let runner = Runner::new().hooks(hooks.clone());

    let mut run = runner.run_streamed(&triage, "Was my invoice paid?", ());
    let mut events = Vec::new();
    while let Some(event) = run.next().await {
        events.push(event.expect("the run succeeds"));
    }
    assert_eq!(run.final_output().as_deref(), Some("Your invoice is paid."));

    let items: Vec<String> = events
        .iter()
        .filter_map(|event| match event {
            RunEvent::AgentUpdated { name } => Some(format!("agent {name}")),
            RunEvent::ToolCalled(call) => Some(format!("tool_called {}", call.call_id)),
            RunEvent::HandoffCalled(call) => Some(format!("handoff_called {}", call.call_id)),
            RunEvent::ToolOutput { call, output } => {
                Some(format!("tool_output {} {output}", call.call_id))
            }
            RunEvent::Handoff { call, from, to } => {
                Some(format!("handoff {} {from} -> {to}", call.call_id))
            }
            RunEvent::MessageOutput(_) => Some("message".into()),
            RunEvent::ApprovalRequested(approval) => Some(format!("approval {}", approval.call_id)),
            // Model events, and kinds of a later version.
            _ => None,
        })
        .collect();
    assert_eq!(
        items,
        [
            "agent Triage".to_owned(),
            "tool_called call_add".into(),
            "handoff_called call_h1".into(),
            "handoff_called call_h2".into(),
            "tool_output call_add 5".into(),
            format!("tool_output call_h2 {MULTIPLE_HANDOFFS}"),
            "handoff call_h1 Triage -> Billing agent".into(),
            "agent Billing agent".into(),
            "message".into(),
        ]
    );
    assert_eq!(
        *hooks.0.lock().unwrap(),
        [
            "agent_start Triage",
            "handoff Triage -> Billing agent",
            "agent_start Billing agent",
            "agent_end Billing agent"
        ]
    );

    // The triage model is offered its tool, then the handoff tool, as the SDK words it.
    let offered = &triage_model.requests()[0].tools;
    assert_eq!(offered[0].name, "add");
    assert_eq!(offered[1].name, "transfer_to_billing_agent");
    assert_eq!(
        offered[1].description,
        "Handoff to the Billing agent agent to handle the request. Answers invoice questions."
    );
    assert_eq!(
        offered[1].parameters,
        json!({"additionalProperties": false, "type": "object", "properties": {}, "required": []})
    );
    assert!(offered[1].strict);

    // The new agent reads the whole conversation, with its own instructions and tools.
    let request = &billing_model.requests()[0];
    assert_eq!(request.instructions.as_deref(), Some("You handle billing."));
    assert!(request.tools.is_empty());
    let outputs: Vec<_> = request
        .input
        .iter()
        .filter(|item| item["type"] == "function_call_output")
        .map(|item| {
            (
                item["call_id"].as_str().unwrap(),
                item["output"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outputs,
        [
            ("call_add", "5"),
            ("call_h2", MULTIPLE_HANDOFFS),
            ("call_h1", "{'assistant': 'Billing agent'}")
        ]
    );
    assert_eq!(request.input[0]["content"], "Was my invoice paid?");
}

#[test]
fn handoff_tool_names_follow_the_python_function_style() {
    let model = Arc::new(ScriptedModel::new(vec![]));
    let agent: Agent<()> = Agent::new("Spanish-Speaking Agent (ES)", model);
    assert_eq!(
        agent.handoff_tool_name(),
        "transfer_to_spanish_speaking_agent__es_"
    );
    assert_eq!(
        agent.handoff_definition().description,
        "Handoff to the Spanish-Speaking Agent (ES) agent to handle the request. "
    );
}

struct Veto;

#[async_trait]
impl RunHooks<()> for Veto {
    async fn on_handoff(&self, _: &(), _: &Agent<()>, _: &Agent<()>) -> Result<(), Tripwire> {
        Err(Tripwire("no transfers today".into()))
    }
}

#[tokio::test]
async fn a_handoff_hook_can_trip_the_run_and_handoffs_count_as_turns() {
    let script = || vec![vec![call("transfer_to_b", "call_1", json!({}))]];
    let b = Agent::new(
        "B",
        Arc::new(ScriptedModel::new(vec![vec![Step::text("hi")]])),
    );
    let a = Agent::new("A", Arc::new(ScriptedModel::new(script()))).handoff(b.clone());

    let mut run = Runner::new().hooks(Veto).run_streamed(&a, "hello", ());
    let mut error = None;
    while let Some(event) = run.next().await {
        if let Err(e) = event {
            error = Some(e);
        }
    }
    assert_eq!(
        error,
        Some(RunError::Tripwire(Tripwire("no transfers today".into())))
    );

    let a = Agent::new("A", Arc::new(ScriptedModel::new(script()))).handoff(b);
    let mut run = Runner::new().max_turns(1).run_streamed(&a, "hello", ());
    let mut error = None;
    while let Some(event) = run.next().await {
        if let Err(e) = event {
            error = Some(e);
        }
    }
    assert_eq!(error, Some(RunError::MaxTurnsExceeded(1)));
}

#[tokio::test]
async fn a_chatkit_thread_gets_the_answer_of_the_agent_handed_to() {
    use chatkit_agents::agents::chatkit::AgentServer;
    use chatkit_agents::server::{process, ProcessResult};
    use chatkit_agents::store::MemoryStore;

    let billing = Agent::new(
        "Billing",
        Arc::new(ScriptedModel::new(vec![vec![Step::text("Paid.")]]).with_unique_ids()),
    );
    let triage = Agent::new(
        "Triage",
        Arc::new(
            ScriptedModel::new(vec![vec![call("transfer_to_billing", "call_1", json!({}))]])
                .with_unique_ids(),
        ),
    )
    .handoff(billing);
    let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), triage));
    let body = json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "invoice?"}], "attachments": [], "inference_options": {}}}});
    let Ok(ProcessResult::Streaming(stream)) =
        process(&server, body.to_string().as_bytes(), ()).await
    else {
        panic!("expected a stream")
    };
    let events: Vec<_> = stream.into_events().collect().await;
    let kinds: Vec<_> = events
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(!kinds.contains(&"error".to_owned()), "{kinds:?}");
    let done = serde_json::to_value(events.last().unwrap()).unwrap();
    assert_eq!(done["type"], "thread.item.done");
    assert_eq!(done["item"]["type"], "assistant_message");
    assert_eq!(done["item"]["content"][0]["text"], "Paid.");
}

#[tokio::test]
async fn a_configured_handoff_has_its_own_tool_and_filters_what_the_target_reads() {
    let triage_model = Arc::new(ScriptedModel::new(vec![
        vec![call("add", "call_add", json!({"a": 1, "b": 1}))],
        vec![
            Step::text("Let me get someone."),
            call("escalate_refund", "call_h", json!({})),
        ],
    ]));
    let refunds_model = Arc::new(ScriptedModel::new(vec![vec![Step::text("Refunded.")]]));
    let refunds = Agent::new("Refunds", refunds_model.clone());
    let triage = Agent::new("Triage", triage_model.clone())
        .tool(add)
        .handoff_with(
            Handoff::to(refunds)
                .tool_name_override("escalate_refund")
                .tool_description_override("For refunds.")
                .input_filter(remove_all_tools),
        );
    assert_eq!(triage.handoffs()[0].tool_name(), "escalate_refund");
    assert_eq!(triage.handoffs()[0].agent().name(), "Refunds");

    let mut run = Runner::new().run_streamed(&triage, "Refund me", ());
    while let Some(event) = run.next().await {
        event.expect("the run succeeds");
    }
    assert_eq!(run.final_output().as_deref(), Some("Refunded."));
    let offered = &triage_model.requests()[0].tools[1];
    assert_eq!(
        (offered.name.as_str(), offered.description.as_str()),
        ("escalate_refund", "For refunds.")
    );
    // The target reads the conversation without any tool call or output.
    let input = &refunds_model.requests()[0].input;
    let kinds: Vec<&str> = input
        .iter()
        .map(|item| item["type"].as_str().or(item["role"].as_str()).unwrap())
        .collect();
    assert_eq!(kinds, ["user", "message"]);
    assert_eq!(input[1]["content"][0]["text"], "Let me get someone.");
}

#[tokio::test]
async fn an_input_filter_may_rewrite_the_conversation() {
    let triage_model = Arc::new(ScriptedModel::new(vec![vec![call(
        "transfer_to_b",
        "call_1",
        json!({}),
    )]]));
    let b_model = Arc::new(ScriptedModel::new(vec![vec![Step::text("ok")]]));
    let b = Agent::new("B", b_model.clone());
    let a: Agent<()> = Agent::new("A", triage_model).handoff_with(
        Handoff::to(b).input_filter(|_| vec![json!({"role": "user", "content": "summary"})]),
    );
    let mut run = Runner::new().run_streamed(&a, "a long story", ());
    while let Some(event) = run.next().await {
        event.unwrap();
    }
    assert_eq!(
        b_model.requests()[0].input,
        [json!({"role": "user", "content": "summary"})]
    );
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Escalation {
    reason: String,
}

#[tokio::test]
async fn a_handoff_with_an_input_type_passes_the_models_arguments_to_its_callback() {
    let log = Arc::new(Recorder::default());
    let script = |arguments: serde_json::Value| {
        Arc::new(ScriptedModel::new(vec![vec![call(
            "transfer_to_human_desk",
            "call_h",
            arguments,
        )]]))
    };
    let triage = |model: Arc<ScriptedModel>, log: Arc<Recorder>| -> Agent<()> {
        let human = Agent::new(
            "Human desk",
            Arc::new(ScriptedModel::new(vec![vec![Step::text(
                "Hello, a human here.",
            )]])),
        );
        Agent::new("Triage", model).handoff_with(Handoff::to(human).on_handoff_with_input(
            move |_: (), input: Escalation| {
                let log = log.clone();
                async move { log.push(format!("callback {}", input.reason)) }
            },
        ))
    };

    let model = script(json!({"reason": "billing dispute"}));
    let agent = triage(model.clone(), log.clone());
    let result = Runner::new()
        .hooks(log.clone())
        .run(&agent, "I want a human", ())
        .await
        .unwrap();
    assert_eq!(result.final_output, "Hello, a human here.");
    // The callback runs before the runner's hook, as in the Python SDK.
    assert_eq!(
        log.0.lock().unwrap()[..3],
        [
            "agent_start Triage",
            "callback billing dispute",
            "handoff Triage -> Human desk"
        ]
    );
    let offered = &model.requests()[0].tools[0];
    assert_eq!(offered.parameters["required"], json!(["reason"]));
    assert_eq!(offered.parameters["additionalProperties"], false);

    let model = script(json!({"why": "no reason field"}));
    let error = Runner::new()
        .run(&triage(model, Arc::new(Recorder::default())), "human", ())
        .await
        .unwrap_err();
    match error {
        RunError::InvalidHandoffInput { handoff, message } => {
            assert_eq!(handoff, "transfer_to_human_desk");
            assert!(message.contains("missing field `reason`"), "{message}");
        }
        other => panic!("expected InvalidHandoffInput, got {other:?}"),
    }
}

#[tokio::test]
async fn a_handoff_callback_without_input_runs_on_each_handoff() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let b = Agent::new(
        "B",
        Arc::new(ScriptedModel::new(vec![vec![Step::text("hi")]])),
    );
    let a: Agent<()> = Agent::new(
        "A",
        Arc::new(ScriptedModel::new(vec![vec![call(
            "transfer_to_b",
            "call_1",
            json!({}),
        )]])),
    )
    .handoff_with(Handoff::to(b).on_handoff(move |_: ()| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }));
    Runner::new().run(&a, "x", ()).await.unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}
