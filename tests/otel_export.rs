//! The `otel` feature against a real OTLP/HTTP receiver started here: a ChatKit request
//! whose agent calls a tool, hands off and answers, then one whose model call breaks.
//! The receiver decodes the protobuf it gets, as a collector would, and the test reads
//! the span tree (parents by id), the GenAI attributes with their types, the error
//! status, the resource, and the metrics: tokens, requests by status, tool calls.
//!
//! One test in this file: the export installs a global subscriber and meter provider.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use chatkit_agents::agents::{chatkit::AgentServer, function_tool, model::ModelError, Agent};
use chatkit_agents::store::MemoryStore;
use chatkit_agents::telemetry::otel::Otel;
use chatkit_agents::testing::{requests, send, ScriptedModel, Step};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode as SpanStatus, Span};
use serde_json::json;
use support::otlp::{attribute, counter, histogram, int, receiver, spans, text, Received};
use tracing_subscriber::layer::SubscriberExt;

/// Look up an order.
#[function_tool]
async fn lookup(order: String) -> String {
    format!("order {order} shipped")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_reaches_an_otlp_receiver_as_spans_and_metrics() {
    let received = Received::default();
    let url = receiver(received.clone()).await;
    let otel = Otel::builder()
        .endpoint(&url)
        .default_service_name("otel-export-test")
        .build()
        .unwrap();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(otel.layer()))
        .unwrap();

    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("lookup", json!({"order": "secret-42"}))],
        vec![Step::tool_call("transfer_to_billing", json!({}))],
        vec![Step::text("Billing here: it shipped.")],
        vec![Step::Break(ModelError::Connection("reset by peer".into()))],
    ]));
    let billing = Agent::new("Billing", model.clone());
    let triage = Agent::new("Triage", model).tool(lookup).handoff(billing);
    let server = Arc::new(
        AgentServer::new(Arc::new(MemoryStore::new()), triage)
            .trace_user(|_: &()| Some("user-7".into())),
    );
    let answered = send(&server, &requests::create_thread("where is my order?"), ())
        .await
        .unwrap();
    assert!(answered
        .event_types()
        .contains(&"thread.item.done:assistant_message".to_string()));
    let failed = send(&server, &requests::create_thread("again?"), ())
        .await
        .unwrap();
    assert!(failed.event_types().contains(&"error".to_string()));

    // Shutting down sends what is buffered; it blocks, so not on a runtime thread.
    tokio::task::spawn_blocking(move || otel.shutdown())
        .await
        .unwrap()
        .unwrap();

    let traces = received.traces();
    let metrics = received.metrics();
    assert!(
        !traces.is_empty() && !metrics.is_empty(),
        "both signals arrive"
    );

    let resource = traces[0].resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(
        text(&resource.attributes, "service.name"),
        "otel-export-test"
    );

    let spans = spans(&traces);
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (&s.span_id[..], *s)).collect();
    let parent = |span: &Span| by_id.get(&span.parent_span_id[..]).map(|p| p.name.as_str());
    let named =
        |name: &str| -> Vec<&Span> { spans.iter().copied().filter(|s| s.name == name).collect() };

    // The first request: request > run > turns > model calls, the tool and the handoff.
    let requests_spans = named("chatkit_request");
    assert_eq!(requests_spans.len(), 2);
    let first = requests_spans
        .iter()
        .find(|s| {
            s.status
                .as_ref()
                .is_none_or(|st| st.code != SpanStatus::Error as i32)
        })
        .expect("the answered request did not fail");
    assert_eq!(text(&first.attributes, "request_type"), "threads.create");
    assert_eq!(text(&first.attributes, "user.id"), "user-7");
    let run = named("invoke_agent Triage");
    assert_eq!(run.len(), 2, "one run per request");
    let answered_run = run
        .iter()
        .find(|r| r.parent_span_id == first.span_id)
        .expect("the run is a child of its request");
    assert_eq!(
        text(&answered_run.attributes, "gen_ai.agent.name"),
        "Triage"
    );
    assert_eq!(
        int(&answered_run.attributes, "gen_ai.usage.input_tokens"),
        30
    );

    let chats: Vec<&Span> = spans
        .iter()
        .copied()
        .filter(|s| {
            matches!(attribute(&s.attributes, "gen_ai.operation.name"), Some(Any::StringValue(op)) if op == "chat")
        })
        .collect();
    assert_eq!(
        chats.len(),
        4,
        "three answered model calls and the broken one"
    );
    for chat in &chats {
        assert_eq!(parent(chat), Some("turn"));
        let turn = by_id[&chat.parent_span_id[..]];
        assert!(parent(turn).unwrap().starts_with("invoke_agent"));
        assert_eq!(text(&chat.attributes, "gen_ai.provider.name"), "scripted");
    }
    let ok: Vec<&&Span> = chats
        .iter()
        .filter(|c| attribute(&c.attributes, "error.type").is_none())
        .collect();
    assert_eq!(ok.len(), 3);
    for chat in &ok {
        assert_eq!(int(&chat.attributes, "gen_ai.usage.input_tokens"), 10);
        assert!(text(&chat.attributes, "gen_ai.response.id").starts_with("resp_"));
    }
    let reasons: Vec<&str> = ok
        .iter()
        .map(|c| text(&c.attributes, "gen_ai.response.finish_reasons"))
        .collect();
    assert_eq!(reasons.iter().filter(|r| **r == "tool_calls").count(), 2);
    assert_eq!(reasons.iter().filter(|r| **r == "stop").count(), 1);

    let tool = &named("execute_tool lookup")[0];
    assert_eq!(parent(tool), Some("turn"));
    assert_eq!(text(&tool.attributes, "gen_ai.tool.name"), "lookup");
    assert_eq!(text(&tool.attributes, "outcome"), "ok");
    let handoff = &named("handoff")[0];
    assert_eq!(parent(handoff), Some("turn"));
    assert_eq!(text(&handoff.attributes, "handoff.to"), "Billing");

    // The broken model call: error kind and status on the call, the run and the request.
    let broken = chats
        .iter()
        .find(|c| attribute(&c.attributes, "error.type").is_some())
        .unwrap();
    assert_eq!(text(&broken.attributes, "error.type"), "connection_error");
    assert_eq!(
        broken.status.as_ref().unwrap().code,
        SpanStatus::Error as i32
    );
    let broken_run = by_id[&by_id[&broken.parent_span_id[..]].parent_span_id[..]];
    assert_eq!(text(&broken_run.attributes, "error.type"), "model_error");
    let broken_request = by_id[&broken_run.parent_span_id[..]];
    assert_eq!(broken_request.name, "chatkit_request");
    assert_eq!(
        broken_request.status.as_ref().unwrap().code,
        SpanStatus::Error as i32,
        "the failure logged at ERROR marks the request"
    );

    // Nothing of the conversation left the process.
    let everything = format!("{traces:?}");
    assert!(!everything.contains("secret-42") && !everything.contains("shipped"));

    // Metrics: tokens by kind, model calls, requests by status, tool calls.
    let input = histogram(
        &metrics,
        "gen_ai.client.token.usage",
        &[("gen_ai.token.type", "input")],
    );
    assert_eq!(
        input.iter().map(|p| p.sum.unwrap_or(0.0)).sum::<f64>(),
        30.0
    );
    let output = histogram(
        &metrics,
        "gen_ai.client.token.usage",
        &[("gen_ai.token.type", "output")],
    );
    assert!(output.iter().map(|p| p.sum.unwrap_or(0.0)).sum::<f64>() > 0.0);
    let calls = histogram(
        &metrics,
        "gen_ai.client.operation.duration",
        &[("gen_ai.provider.name", "scripted")],
    );
    assert_eq!(calls.iter().map(|p| p.count).sum::<u64>(), 4);
    let failed_calls = histogram(
        &metrics,
        "gen_ai.client.operation.duration",
        &[("error.type", "connection_error")],
    );
    assert_eq!(failed_calls.iter().map(|p| p.count).sum::<u64>(), 1);
    let ok_requests = histogram(
        &metrics,
        "chatkit.server.request.duration",
        &[
            ("chatkit.request.type", "threads.create"),
            ("chatkit.request.status", "ok"),
        ],
    );
    assert_eq!(ok_requests.iter().map(|p| p.count).sum::<u64>(), 1);
    let failed_requests = histogram(
        &metrics,
        "chatkit.server.request.duration",
        &[("chatkit.request.status", "error")],
    );
    assert_eq!(failed_requests.iter().map(|p| p.count).sum::<u64>(), 1);
    let first_events = histogram(&metrics, "chatkit.server.time_to_first_event", &[]);
    assert_eq!(first_events.iter().map(|p| p.count).sum::<u64>(), 2);
    let tools = counter(&metrics, "chatkit.agent.tool.calls");
    let lookup_ok: i64 = tools
        .iter()
        .filter(|p| {
            text(&p.attributes, "gen_ai.tool.name") == "lookup"
                && text(&p.attributes, "outcome") == "ok"
        })
        .map(|p| match p.value {
            Some(Number::AsInt(n)) => n,
            _ => 0,
        })
        .sum();
    assert_eq!(lookup_ok, 1);
}
