//! The spans of a run in the OpenTelemetry GenAI conventions, read by a recording
//! `tracing` layer: a ChatKit request whose agent calls a tool, hands off, and answers;
//! the attributes of each span (usage and response ids included, no prompts or
//! arguments); and the error kind recorded on a failed model call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chatkit_agents::agents::{
    chatkit::AgentServer, function_tool, model::ModelError, Agent, Runner,
};
use chatkit_agents::store::MemoryStore;
use chatkit_agents::testing::{requests, send, ScriptedModel, Step};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// A span as recorded: its name, its parent's name and its fields.
#[derive(Debug, Clone, Default)]
struct Recorded {
    name: String,
    parent: Option<String>,
    fields: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(u64, Recorded)>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut recorded = Recorded {
            name: attrs.metadata().name().to_owned(),
            parent: ctx
                .span(id)
                .and_then(|s| s.parent())
                .map(|p| p.name().to_owned()),
            ..Recorded::default()
        };
        attrs.record(&mut Fields(&mut recorded.fields));
        self.0.lock().unwrap().push((id.into_u64(), recorded));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, recorded)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            values.record(&mut Fields(&mut recorded.fields));
        }
    }
}

impl Recorder {
    fn spans(&self, name: &str) -> Vec<Recorded> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| s.name == name)
            .map(|(_, s)| s.clone())
            .collect()
    }
}

/// Look up an order.
#[function_tool]
async fn lookup(order: String) -> String {
    format!("order {order} shipped")
}

fn field<'a>(span: &'a Recorded, name: &str) -> &'a str {
    span.fields
        .get(name)
        .unwrap_or_else(|| panic!("{} has no {name}: {:?}", span.name, span.fields))
}

#[tokio::test(flavor = "current_thread")]
async fn a_turn_with_a_tool_and_a_handoff_makes_the_span_tree() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));

    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("lookup", json!({"order": "secret-42"}))],
        vec![Step::tool_call("transfer_to_billing", json!({}))],
        vec![Step::text("Billing here: it shipped.")],
    ]));
    let billing = Agent::new("Billing", model.clone());
    let triage = Agent::new("Triage", model).tool(lookup).handoff(billing);
    let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), triage));
    send(&server, &requests::create_thread("where is my order?"), ())
        .await
        .unwrap();

    let request = &recorder.spans("chatkit_request")[0];
    assert_eq!(field(request, "request_type"), "threads.create");

    let runs = recorder.spans("invoke_agent");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.parent.as_deref(), Some("chatkit_request"));
    assert_eq!(field(run, "gen_ai.operation.name"), "invoke_agent");
    assert_eq!(field(run, "gen_ai.agent.name"), "Triage");
    let chats = recorder.spans("chat");
    assert_eq!(chats.len(), 3, "one span per model call");
    let input_tokens: u64 = chats
        .iter()
        .map(|c| {
            field(c, "gen_ai.usage.input_tokens")
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        field(run, "gen_ai.usage.input_tokens"),
        input_tokens.to_string()
    );

    let turns = recorder.spans("turn");
    assert_eq!(turns.len(), 3, "one span per turn");
    for (number, turn) in turns.iter().enumerate() {
        assert_eq!(turn.parent.as_deref(), Some("invoke_agent"));
        assert_eq!(field(turn, "chatkit.turn"), (number + 1).to_string());
    }
    assert_eq!(field(&turns[2], "gen_ai.agent.name"), "Billing");

    for chat in &chats {
        assert_eq!(chat.parent.as_deref(), Some("turn"));
        assert_eq!(field(chat, "gen_ai.operation.name"), "chat");
        assert_eq!(field(chat, "gen_ai.provider.name"), "scripted");
        assert!(field(chat, "gen_ai.response.id").starts_with("resp_"));
        assert_eq!(field(chat, "gen_ai.usage.input_tokens"), "10");
        assert!(
            field(chat, "gen_ai.response.time_to_first_chunk")
                .parse::<f64>()
                .unwrap()
                >= 0.0
        );
    }
    assert_eq!(field(&chats[0], "gen_ai.agent.name"), "Triage");
    assert_eq!(field(&chats[2], "gen_ai.agent.name"), "Billing");
    assert_eq!(field(&chats[2], "gen_ai.usage.output_tokens"), "4");
    assert_eq!(
        field(&chats[0], "gen_ai.response.finish_reasons"),
        "tool_calls"
    );
    assert_eq!(field(&chats[2], "gen_ai.response.finish_reasons"), "stop");
    assert!(!chats[2].fields.contains_key("otel.status_code"));

    let tools = recorder.spans("execute_tool");
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].parent.as_deref(), Some("turn"));
    assert_eq!(field(&tools[0], "gen_ai.tool.name"), "lookup");
    assert_eq!(field(&tools[0], "outcome"), "ok");
    assert!(field(&tools[0], "gen_ai.tool.call.id").starts_with("call_"));

    let handoffs = recorder.spans("handoff");
    assert_eq!(handoffs.len(), 1);
    assert_eq!(field(&handoffs[0], "handoff.to"), "Billing");
    assert_eq!(handoffs[0].parent.as_deref(), Some("turn"));

    // Nothing of the conversation is recorded: not the arguments, not the answer.
    let everything = format!("{:?}", recorder.0.lock().unwrap());
    assert!(!everything.contains("secret-42"), "{everything}");
    assert!(!everything.contains("shipped"), "{everything}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_model_call_records_its_error_kind() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::Break(
        ModelError::Connection("reset by peer".into()),
    )]]));
    let agent: Agent<()> = Agent::new("Flaky", model);
    let error = Runner::new().run(&agent, "hi", ()).await.unwrap_err();
    assert!(error.to_string().contains("reset by peer"));
    let chat = &recorder.spans("chat")[0];
    assert_eq!(field(chat, "error.type"), "connection_error");
    assert_eq!(field(chat, "otel.status_code"), "ERROR");
    let run = &recorder.spans("invoke_agent")[0];
    assert_eq!(field(run, "error.type"), "model_error");
    assert_eq!(field(run, "otel.status_code"), "ERROR");
}

#[tokio::test(flavor = "current_thread")]
async fn tool_failures_and_guardrails_have_their_spans() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("lookup", json!({"wrong": 1}))],
        vec![Step::text("Sorry.")],
    ]));
    let agent: Agent<()> = Agent::new("Strict", model).tool(lookup).output_guardrail(
        chatkit_agents::agents::OutputGuardrail::new("polite", |_: (), _output: String| async {
            chatkit_agents::agents::GuardrailOutput::pass()
        }),
    );
    Runner::new().run(&agent, "hi", ()).await.unwrap();
    let tool = &recorder.spans("execute_tool")[0];
    assert_eq!(field(tool, "outcome"), "invalid_arguments");
    assert_eq!(field(tool, "otel.status_code"), "ERROR");
    let guardrails = recorder.spans("guardrails");
    assert_eq!(guardrails.len(), 1);
    assert_eq!(field(&guardrails[0], "guardrail.kind"), "output");
    assert!(!guardrails[0].fields.contains_key("tripped"));
}

#[tokio::test(flavor = "current_thread")]
async fn the_conversation_is_recorded_only_when_asked() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("lookup", json!({"order": "secret-42"}))],
        vec![Step::text("It shipped.")],
    ]));
    let agent: Agent<()> = Agent::new("Helper", model)
        .instructions("Answer about orders.")
        .tool(lookup);
    Runner::new()
        .capture_content(true)
        .run(&agent, "where is order secret-42?", ())
        .await
        .unwrap();
    let chats = recorder.spans("chat");
    assert_eq!(
        field(&chats[0], "gen_ai.system_instructions"),
        "Answer about orders."
    );
    let input: serde_json::Value =
        serde_json::from_str(field(&chats[0], "gen_ai.input.messages")).unwrap();
    assert!(input.to_string().contains("where is order secret-42?"));
    let output: serde_json::Value =
        serde_json::from_str(field(&chats[1], "gen_ai.output.messages")).unwrap();
    assert!(output.to_string().contains("It shipped."), "{output}");
    let tool = &recorder.spans("execute_tool")[0];
    assert_eq!(
        field(tool, "gen_ai.tool.call.arguments"),
        r#"{"order":"secret-42"}"#
    );
    assert_eq!(
        field(tool, "gen_ai.tool.call.result"),
        "order secret-42 shipped"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn mcp_requests_have_their_spans() {
    use chatkit_agents::agents::McpServer;
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("add", json!({"a": 1, "b": 2}))],
        vec![Step::text("3")],
    ]));
    let server = McpServer::stdio("calc", env!("CARGO_BIN_EXE_mcp-test-server"));
    let agent: Agent<()> = Agent::new("Calc", model).mcp_server(server.clone());
    Runner::new().run(&agent, "1 + 2", ()).await.unwrap();
    server.close().await;

    let mcp = recorder.spans("mcp");
    let list = mcp
        .iter()
        .find(|s| field(s, "mcp.method.name") == "tools/list")
        .unwrap();
    assert_eq!(list.parent.as_deref(), Some("invoke_agent"));
    let call = mcp
        .iter()
        .find(|s| field(s, "mcp.method.name") == "tools/call")
        .unwrap();
    assert_eq!(call.parent.as_deref(), Some("execute_tool"));
    assert_eq!(field(call, "gen_ai.tool.name"), "add");
    assert_eq!(field(call, "mcp.server.name"), "calc");
    assert_eq!(field(call, "network.transport"), "pipe");
    assert!(!call.fields.contains_key("error.type"));
}
