//! `OpenAIResponsesModel` against every recorded Responses stream
//! (`tests/golden/openai-sse/`), served by wiremock to a real async-openai client: the
//! ChatKit events that come out, and the request bodies sent on each turn.

use std::sync::Arc;

use chatkit_agents::agents::chatkit::*;
use chatkit_agents::agents::model::*;
use chatkit_agents::agents::providers::openai::*;
use chatkit_agents::agents::*;
use chatkit_agents::server::ThreadHandle;
use chatkit_agents::store::MemoryStore;
use chatkit_agents::types::{ThreadMetadata, Timestamp};
use futures::StreamExt;
use serde_json::{json, Value};
use support::replay::{replay, request_bodies};
use wiremock::MockServer;

mod support;

type Ctx = AgentContext<()>;

fn recording(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/golden/openai-sse/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn serve(recordings: &[&str]) -> MockServer {
    let bodies = recordings.iter().map(|r| (200, recording(r))).collect();
    replay("/responses", bodies).await
}

async fn requests(server: &MockServer) -> Vec<Value> {
    request_bodies(server).await
}

/// Runs `agent` on `server` and returns the ChatKit events as JSON, and the error.
async fn run(
    server: &MockServer,
    tools: impl FnOnce(Agent<Ctx>) -> Agent<Ctx>,
) -> (Vec<Value>, Option<String>) {
    let model = OpenAIResponsesModel::with_base_url("gpt-test", server.uri(), "test-key");
    run_model(model, tools).await
}

/// Runs an agent on `model`: the ChatKit events as JSON, and the error.
async fn run_model(
    model: OpenAIResponsesModel,
    tools: impl FnOnce(Agent<Ctx>) -> Agent<Ctx>,
) -> (Vec<Value>, Option<String>) {
    let model = Arc::new(model);
    let agent = tools(Agent::new("Assistant", model).instructions("Be brief."));
    let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
    let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
    let run = Runner::new().run_streamed(&agent, "What is the weather?", ctx.clone());
    let mut stream = stream_agent_response(&ctx, run);
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => events.push(serde_json::to_value(&event).unwrap()),
            Err(error) => return (events, Some(error.to_string())),
        }
    }
    (events, None)
}

fn final_text(events: &[Value]) -> String {
    let done: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .collect();
    done.last()
        .map(|e| e["item"]["content"][0]["text"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn deltas(events: &[Value]) -> String {
    events
        .iter()
        .filter_map(|e| e["update"]["delta"].as_str())
        .collect()
}

/// Get the weather for a location.
#[function_tool]
async fn get_weather(location: String) -> String {
    format!("Sunny in {location}")
}

/// Get the capital of a country.
#[function_tool]
async fn get_capital(country: String) -> String {
    if country.to_lowercase().contains("france") {
        "Paris".into()
    } else {
        "unknown".into()
    }
}

/// Where the user is.
#[function_tool(name = "currentLocation")]
async fn current_location() -> &'static str {
    "Rome"
}

/// The weather at a location.
#[function_tool(name = "weather")]
async fn weather_at(location: String) -> String {
    format!("Warm in {location}")
}

#[tokio::test]
async fn text_with_logprobs() {
    let server = serve(&["01_text_logprobs_gpt-4o-mini.sse"]).await;
    let (events, error) = run(&server, |a| a).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events[0]["type"], "thread.item.added");
    assert!(
        events[0]["item"]["id"]
            .as_str()
            .unwrap()
            .starts_with("msg_"),
        "the recorded item id is kept"
    );
    assert_eq!(deltas(&events), final_text(&events));
    assert!(!final_text(&events).is_empty());
    let body = &requests(&server).await[0];
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(body["stream"], true);
    assert_eq!(body["instructions"], "Be brief.");
    assert_eq!(
        body["input"],
        json!([{"role": "user", "content": "What is the weather?"}])
    );
    assert!(body.get("tools").is_none());
}

#[tokio::test]
async fn handoffs_are_offered_as_strict_function_tools() {
    let server = serve(&["01_text_logprobs_gpt-4o-mini.sse"]).await;
    let desk_model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "test-key",
    ));
    let desk = Agent::new("Weather desk", desk_model).handoff_description("Forecasts.");
    let (_, error) = run(&server, |a| a.tool(get_weather).handoff(desk)).await;
    assert!(error.is_none(), "{error:?}");
    let body = &requests(&server).await[0];
    assert_eq!(body["tools"][0]["name"], "get_weather");
    assert_eq!(
        body["tools"][1],
        json!({"type": "function", "name": "transfer_to_weather_desk", "description": "Handoff to the Weather desk agent to handle the request. Forecasts.", "parameters": {"additionalProperties": false, "type": "object", "properties": {}, "required": []}, "strict": true})
    );
}

#[tokio::test]
async fn a_long_story_streams_every_delta() {
    let server = serve(&["02_text_long_story_gpt-4.1.sse"]).await;
    let (events, error) = run(&server, |a| a).await;
    assert!(error.is_none());
    let text_deltas = events
        .iter()
        .filter(|e| e["update"]["type"] == "assistant_message.content_part.text_delta")
        .count();
    assert_eq!(text_deltas, 399);
    assert_eq!(deltas(&events), final_text(&events));
}

/// The three ways a model sends: this crate's pool (`with_base_url`), a reqwest client of
/// your own (`http_client`), and an async-openai client (`from_client`, which reads the
/// stream in async-openai's own task).
const TRANSPORTS: [&str; 3] = ["pool", "reqwest", "async-openai"];

fn model_sending_with(transport: &str, server: &MockServer) -> OpenAIResponsesModel {
    let ours = OpenAIResponsesModel::with_base_url("gpt-test", server.uri(), "test-key");
    match transport {
        "pool" => ours,
        "reqwest" => ours.http_client(reqwest::Client::new(), RetryPolicy::none()),
        _ => {
            let config = async_openai::config::OpenAIConfig::new()
                .with_api_base(server.uri())
                .with_api_key("test-key");
            OpenAIResponsesModel::from_client(async_openai::Client::with_config(config), "gpt-test")
        }
    }
}

#[tokio::test]
async fn every_transport_reads_the_same_stream_and_errors() {
    let bodies = |status: u16, body: String| vec![(status, body)];
    let story = recording("02_text_long_story_gpt-4.1.sse");
    let unauthorized = json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}).to_string();
    let mut seen = Vec::new();
    for (status, body) in [
        (200, story),
        (401, unauthorized),
        (400, "not JSON".to_owned()),
    ] {
        let mut outcomes = Vec::new();
        for name in TRANSPORTS {
            if status == 400 && name == "async-openai" {
                // async-openai reads a body that is not JSON as a broken response
                // ("failed to deserialize api response"), without its status.
                continue;
            }
            let server = replay("/responses", bodies(status, body.clone())).await;
            let (events, error) = run_model(model_sending_with(name, &server), |a| a).await;
            outcomes.push((name, deltas(&events), error));
        }
        let (_, text, error) = &outcomes[0];
        for (name, other_text, other_error) in &outcomes[1..] {
            assert_eq!(other_text, text, "{name}, HTTP {status}");
            if status == 200 {
                assert_eq!(other_error, error, "{name}, HTTP {status}");
            } else {
                let other_error = other_error.as_deref().unwrap_or_default();
                assert!(
                    other_error.contains(&status.to_string()),
                    "{name}: {other_error}"
                );
            }
        }
        seen.push((status, text.len(), error.clone()));
    }
    assert!(seen[0].1 > 1000 && seen[0].2.is_none(), "{:?}", seen[0]);
    let unauthorized = seen[1].2.as_deref().unwrap_or_default();
    assert!(
        unauthorized.contains("invalid_api_key") && unauthorized.contains("401"),
        "{unauthorized}"
    );
    // A 4xx whose body is not JSON: its status and its words.
    let plain = seen[2].2.as_deref().unwrap_or_default();
    assert!(
        plain.contains("400") && plain.contains("not JSON"),
        "{plain}"
    );
}

#[tokio::test]
async fn reasoning_then_a_function_call_then_the_answer() {
    let server = serve(&[
        "03a_reasoning_function_call_gpt-5.sse",
        "03b_function_call_followup_text_gpt-5.sse",
    ])
    .await;
    let (events, error) = run(&server, |a| a.tool(get_weather)).await;
    assert!(error.is_none(), "{error:?}");
    assert!(!final_text(&events).is_empty());
    let bodies = requests(&server).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[0]["tools"][0],
        json!({"type": "function", "name": "get_weather", "description": "Get the weather for a location.", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"], "additionalProperties": false}, "strict": true})
    );
    let second: Vec<&str> = bodies[1]["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap_or("message"))
        .collect();
    assert_eq!(
        second,
        [
            "message",
            "reasoning",
            "function_call",
            "function_call_output"
        ]
    );
    let reasoning = &bodies[1]["input"][1];
    assert!(
        reasoning["encrypted_content"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "encrypted reasoning is sent back"
    );
    let call = &bodies[1]["input"][2];
    let output = &bodies[1]["input"][3];
    assert_eq!(call["name"], "get_weather");
    assert_eq!(output["call_id"], call["call_id"]);
    assert_eq!(output["output"], "Sunny in New York City, USA");
    // The reasoning item had no summary, so no thought streamed; its workflow ended with the answer.
    assert!(events
        .iter()
        .any(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "workflow"));
}

#[tokio::test]
async fn legacy_recordings_without_sequence_numbers() {
    let server = serve(&[
        "04a_function_call_legacy_no_seq_gpt-4o.sse",
        "04b_function_call_followup_legacy_no_seq_gpt-4o.sse",
    ])
    .await;
    let (events, error) = run(&server, |a| a.tool(get_capital)).await;
    assert!(error.is_none(), "{error:?}");
    assert!(
        final_text(&events).contains("Paris"),
        "{}",
        final_text(&events)
    );
    let bodies = requests(&server).await;
    assert_eq!(bodies[1]["input"][2]["output"], "Paris");
}

#[tokio::test]
async fn parallel_function_calls_are_answered_in_call_order() {
    let server = serve(&[
        "05_parallel_function_calls_gpt-4o_upstream-edited.sse",
        "01_text_logprobs_gpt-4o-mini.sse",
    ])
    .await;
    let (_, error) = run(&server, |a| a.tool(current_location).tool(weather_at)).await;
    assert!(error.is_none(), "{error:?}");
    let bodies = requests(&server).await;
    let input = bodies[1]["input"].as_array().unwrap();
    let kinds: Vec<&str> = input
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
    assert_eq!(input[1]["name"], "currentLocation");
    assert_eq!(input[3]["output"], "Rome");
    assert_eq!(input[4]["output"], "Warm in Rome");
    // Call ids come from output_item.done (this recording's added events differ).
    assert_eq!(input[3]["call_id"], input[1]["call_id"]);
    assert_eq!(input[4]["call_id"], input[2]["call_id"]);
}

#[tokio::test]
async fn reasoning_summaries_become_thoughts() {
    let server = serve(&["06_reasoning_summary_then_text_o3-mini.sse"]).await;
    let (events, error) = run(&server, |a| a).await;
    assert!(error.is_none());
    assert_eq!(events[0]["item"]["workflow"]["type"], "reasoning");
    let done = events
        .iter()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "workflow")
        .unwrap();
    let thoughts = done["item"]["workflow"]["tasks"].as_array().unwrap();
    assert_eq!(thoughts.len(), 4, "one thought per summary part");
    assert!(thoughts
        .iter()
        .all(|t| t["type"] == "thought" && !t["content"].as_str().unwrap().is_empty()));
    assert!(done["item"]["workflow"]["summary"]["duration"].is_u64());
    let message_added = events
        .iter()
        .position(|e| e["type"] == "thread.item.added" && e["item"]["type"] == "assistant_message")
        .unwrap();
    let workflow_done = events
        .iter()
        .position(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "workflow")
        .unwrap();
    assert!(
        workflow_done < message_added,
        "the workflow ends before the answer starts"
    );
    assert_eq!(
        deltas(&events).len(),
        final_text(&events).len() + deltas(&events[..workflow_done]).len()
    );
}

#[tokio::test]
async fn web_search_citations_become_annotations() {
    let server = serve(&["07_web_search_url_citation_gpt-5.2.sse"]).await;
    let (events, error) = run(&server, |a| a).await;
    assert!(error.is_none());
    let annotations: Vec<_> = events
        .iter()
        .filter(|e| e["update"]["type"] == "assistant_message.content_part.annotation_added")
        .collect();
    assert_eq!(annotations.len(), 1);
    assert_eq!(
        annotations[0]["update"]["annotation"]["source"]["type"],
        "url"
    );
    assert!(annotations[0]["update"]["annotation"]["source"]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://"));

    let server = serve(&["08_web_search_many_citations_gpt-5-mini.sse"]).await;
    let (events, error) = run(&server, |a| a).await;
    assert!(error.is_none());
    let indexes: Vec<u64> = events
        .iter()
        .filter(|e| e["update"]["type"] == "assistant_message.content_part.annotation_added")
        .map(|e| e["update"]["annotation_index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..12).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_quota_error_fails_the_run_with_its_code() {
    let server = serve(&["09_error_insufficient_quota_failed_gpt-5.sse"]).await;
    let (events, error) = run(&server, |a| a).await;
    assert!(events.is_empty());
    let error = error.unwrap();
    assert!(error.contains("insufficient_quota"), "{error}");
}

#[tokio::test]
async fn a_commentary_message_then_a_function_call() {
    let server = serve(&[
        "10_commentary_phase_then_function_call_gpt-5.5.sse",
        "04b_function_call_followup_legacy_no_seq_gpt-4o.sse",
    ])
    .await;
    let (events, error) = run(&server, |a| a.tool(get_capital)).await;
    assert!(error.is_none(), "{error:?}");
    let messages = events
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .count();
    assert_eq!(messages, 2, "the commentary preamble and the answer");
}

#[tokio::test]
async fn a_web_search_source_without_url_does_not_break_the_stream() {
    let server = serve(&["11_web_search_api_source_no_url_gpt-5.sse"]).await;
    let (events, error) = run(&server, |a| a).await;
    assert!(error.is_none());
    assert!(!final_text(&events).is_empty());
    assert_eq!(deltas(&events), final_text(&events));
}

#[tokio::test]
async fn http_errors_and_broken_streams_are_model_errors() {
    let unauthorized = json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}});
    let server = replay("/responses", vec![(401, unauthorized.to_string())]).await;
    let (_, error) = run(&server, |a| a).await;
    let error = error.unwrap();
    assert!(
        error.contains("invalid_api_key") && error.contains("401"),
        "{error}"
    );

    // A stream cut off in the middle: the text so far arrives, then a clear error.
    let full = recording("01_text_logprobs_gpt-4o-mini.sse");
    let cut: String = full
        .split("\n\n")
        .take(8)
        .map(|f| format!("{f}\n\n"))
        .collect();
    let server = replay("/responses", vec![(200, cut)]).await;
    let (events, error) = run(&server, |a| a).await;
    assert!(!events.is_empty(), "what arrived is streamed");
    assert!(error
        .unwrap()
        .contains("ended before the response completed"));

    // Odd frames are skipped.
    let odd = full.replacen("\n\n", "\n\nevent: response.brand_new_event\ndata: {\"type\":\"response.brand_new_event\"}\n\ndata: {not json\n\n", 1);
    let server = replay("/responses", vec![(200, odd)]).await;
    let (events, error) = run(&server, |a| a).await;
    assert!(error.is_none(), "{error:?}");
    assert!(!final_text(&events).is_empty());
}

#[tokio::test]
async fn settings_reach_the_request() {
    let server = serve(&["01_text_logprobs_gpt-4o-mini.sse"]).await;
    let model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "k",
    ));
    let settings = ModelSettings {
        model: Some("gpt-other".into()),
        temperature: Some(0.2),
        tool_choice: Some("get_weather".into()),
        reasoning: Some(json!({"effort": "low"})),
        store: Some(false),
        include: vec!["reasoning.encrypted_content".into()],
        parallel_tool_calls: Some(false),
        ..Default::default()
    };
    let agent: Agent<()> = Agent::new("A", model).settings(settings).tool(get_weather);
    let mut run = Runner::new().run_streamed(&agent, "x", ());
    while run.next().await.is_some() {}
    let body = &requests(&server).await[0];
    assert_eq!(body["model"], "gpt-other");
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "name": "get_weather"})
    );
    assert_eq!(body["reasoning"], json!({"effort": "low"}));
    assert_eq!(body["store"], false);
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(body["parallel_tool_calls"], false);
    let request = &server.received_requests().await.unwrap()[0];
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("authorization"), "Bearer k");
    // Like the reference's "Agents/Python <v> ChatKit/Python <v>".
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        header("user-agent"),
        format!("Agents/Rust {version} ChatKit/Rust {version}")
    );
    assert_eq!(OpenAIResponsesModel::USER_AGENT, header("user-agent"));
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Verdict {
    ok: bool,
}

#[tokio::test]
async fn an_output_type_is_sent_as_the_text_format() {
    let server = serve(&["01_text_logprobs_gpt-4o-mini.sse"]).await;
    let model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "k",
    ));
    let agent: Agent<()> = Agent::new("A", model).output_type::<Verdict>();
    // The recorded answer is prose, not a Verdict.
    let error = Runner::new().run(&agent, "x", ()).await.unwrap_err();
    assert!(matches!(error, RunError::InvalidOutput { .. }), "{error:?}");
    let body = &requests(&server).await[0];
    assert_eq!(
        body["text"],
        json!({"format": {"type": "json_schema", "name": "final_output", "strict": true, "schema": {
            "type": "object",
            "properties": {"ok": {"type": "boolean"}},
            "required": ["ok"],
            "additionalProperties": false,
        }}})
    );
}

#[tokio::test]
async fn a_stored_conversation_is_named_in_the_request() {
    let server = serve(&["01_text_logprobs_gpt-4o-mini.sse"]).await;
    let model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "k",
    ));
    let agent: Agent<()> = Agent::new("A", model);
    let options = RunOptions::default().previous_response_id("resp_stored");
    let result = Runner::new()
        .run_with(&agent, "and then?", (), options)
        .await
        .unwrap();
    assert!(result.last_response_id.unwrap().starts_with("resp_"));
    let body = &requests(&server).await[0];
    assert_eq!(body["previous_response_id"], "resp_stored");
    assert_eq!(
        body["input"],
        json!([{"role": "user", "content": "and then?"}])
    );
}
