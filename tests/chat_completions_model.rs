//! `OpenAIChatCompletionsModel` against Chat Completions streams served by wiremock to a
//! real async-openai client: the Responses-shaped events it makes of the chunks, the
//! request bodies of each turn, tools called from streamed pieces, errors, and a ChatKit
//! thread on top.
//!
//! The streams are written here chunk by chunk in the API's streaming format (the
//! `chat.completion.chunk` objects OpenAI and compatible servers send, with the final
//! usage chunk of `stream_options.include_usage` and `data: [DONE]`); unlike the
//! Responses streams of `openai_model.rs`, they are not recordings.

use std::sync::Arc;

use chatkit_agents::agents::chatkit::*;
use chatkit_agents::agents::model::*;
use chatkit_agents::agents::providers::openai::*;
use chatkit_agents::agents::*;
use chatkit_agents::server::ThreadHandle;
use chatkit_agents::store::MemoryStore;
use chatkit_agents::types::{ThreadItem, ThreadMetadata, ThreadStreamEvent, Timestamp};
use futures::StreamExt;
use serde_json::{json, Value};
use support::replay::{replay, request_bodies};
use wiremock::MockServer;

mod support;

/// One chunk with a delta.
fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_750_000_000,
        "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        "usage": null,
    })
}

fn usage_chunk(prompt: u64, completion: u64) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_750_000_000,
        "model": "gpt-4o-mini-2024-07-18", "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    })
}

fn sse(chunks: &[Value], done: bool) -> String {
    let mut body: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    body
}

fn text_stream(deltas: &[&str]) -> String {
    let mut chunks = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        None,
    )];
    chunks.extend(deltas.iter().map(|d| chunk(json!({"content": d}), None)));
    chunks.push(chunk(json!({}), Some("stop")));
    chunks.push(usage_chunk(12, 3));
    sse(&chunks, true)
}

/// Two calls streamed in pieces: ids and names first, arguments split across chunks.
fn two_calls_stream() -> String {
    let call = |index: u64, id: Option<&str>, name: Option<&str>, args: &str| {
        let mut function = json!({"arguments": args});
        if let Some(name) = name {
            function["name"] = json!(name);
        }
        let mut call = json!({"index": index, "function": function});
        if let Some(id) = id {
            call["id"] = json!(id);
            call["type"] = json!("function");
        }
        chunk(json!({"tool_calls": [call]}), None)
    };
    let chunks = vec![
        chunk(json!({"role": "assistant", "content": null}), None),
        call(0, Some("call_a"), Some("add"), ""),
        call(0, None, None, "{\"a\": 2,"),
        call(0, None, None, " \"b\": 3}"),
        call(1, Some("call_b"), Some("add"), "{\"a\": 10, \"b\": 1}"),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(40, 20),
    ];
    sse(&chunks, true)
}

async fn serve(bodies: Vec<(u16, String)>) -> MockServer {
    replay("/chat/completions", bodies).await
}

async fn requests(server: &MockServer) -> Vec<Value> {
    request_bodies(server).await
}

fn model(server: &MockServer) -> Arc<OpenAIChatCompletionsModel> {
    Arc::new(OpenAIChatCompletionsModel::with_base_url(
        "gpt-4o-mini",
        server.uri(),
        "k",
    ))
}

/// Add two numbers.
#[function_tool]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[tokio::test]
async fn text_chunks_become_a_streamed_message() {
    let server = serve(vec![(200, text_stream(&["Hello", ", ", "world!"]))]).await;
    let events: Vec<ModelEvent> = model(&server)
        .stream(ModelRequest {
            instructions: Some("Be brief.".into()),
            input: vec![json!({"role": "user", "content": "hi"})],
            ..Default::default()
        })
        .map(Result::unwrap)
        .collect()
        .await;
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let ModelEvent::OutputItemDone {
        item: OutputItem::Message(message),
        ..
    } = &events[8]
    else {
        panic!("{:?}", events[8]);
    };
    assert!(
        message.id.starts_with("msg_") && message.id.len() > 20,
        "{}",
        message.id
    );
    assert_eq!(message_text(message), "Hello, world!");
    assert_eq!(message.status.as_deref(), Some("completed"));
    let ModelEvent::Completed { response } = &events[9] else {
        panic!()
    };
    assert_eq!(response.id.as_deref(), Some("chatcmpl-1"));
    assert_eq!(
        response.usage,
        Some(Usage {
            input_tokens: 12,
            output_tokens: 3,
            total_tokens: 15,
            ..Default::default()
        })
    );
    let body = &requests(&server).await[0];
    assert_eq!(
        body,
        &json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[tokio::test]
async fn calls_streamed_in_pieces_run_and_their_outputs_go_back() {
    let server = serve(vec![
        (200, two_calls_stream()),
        (200, text_stream(&["5 and 11."])),
    ])
    .await;
    let settings = ModelSettings {
        temperature: Some(0.5),
        max_output_tokens: Some(300),
        tool_choice: Some("add".into()),
        parallel_tool_calls: Some(true),
        reasoning: Some(json!({"effort": "low"})),
        ..Default::default()
    };
    let agent: Agent<()> = Agent::new("Calc", model(&server))
        .instructions("Use the tool.")
        .settings(settings)
        .tool(add);
    let mut run = Runner::new().run_streamed(&agent, "2+3 and 10+1?", ());
    let mut outputs = Vec::new();
    while let Some(event) = run.next().await {
        if let RunEvent::ToolOutput { call, output } = event.unwrap() {
            outputs.push((call.call_id, call.arguments, output));
        }
    }
    assert_eq!(run.final_output().as_deref(), Some("5 and 11."));
    assert_eq!(
        outputs,
        [
            ("call_a".into(), "{\"a\": 2, \"b\": 3}".into(), "5".into()),
            ("call_b".into(), "{\"a\": 10, \"b\": 1}".into(), "11".into()),
        ]
    );
    let bodies = requests(&server).await;
    let first = &bodies[0];
    assert_eq!(first["temperature"], 0.5);
    assert_eq!(first["max_tokens"], 300);
    assert_eq!(first["reasoning_effort"], "low");
    assert_eq!(first["parallel_tool_calls"], true);
    assert_eq!(
        first["tool_choice"],
        json!({"type": "function", "function": {"name": "add"}})
    );
    // Once the tool has been called, the model chooses freely (reset_tool_choice).
    assert!(bodies[1].get("tool_choice").is_none(), "{}", bodies[1]);
    assert_eq!(first["tools"][0]["type"], "function");
    assert_eq!(first["tools"][0]["function"]["name"], "add");
    assert_eq!(first["tools"][0]["function"]["strict"], true);
    assert_eq!(
        first["tools"][0]["function"]["parameters"]["required"],
        json!(["a", "b"])
    );
    // The second turn replays the calls on one assistant message, then the outputs.
    assert_eq!(
        bodies[1]["messages"],
        json!([
            {"role": "system", "content": "Use the tool."},
            {"role": "user", "content": "2+3 and 10+1?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 3}"}},
                {"id": "call_b", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 10, \"b\": 1}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "5"},
            {"role": "tool", "tool_call_id": "call_b", "content": "11"},
        ])
    );
}

#[tokio::test]
async fn a_refusal_is_a_refusal_part() {
    let chunks = vec![
        chunk(
            json!({"role": "assistant", "content": null, "refusal": ""}),
            None,
        ),
        chunk(json!({"refusal": "I can't"}), None),
        chunk(json!({"refusal": " help with that."}), None),
        chunk(json!({}), Some("stop")),
    ];
    let server = serve(vec![(200, sse(&chunks, true))]).await;
    let events: Vec<ModelEvent> = model(&server)
        .stream(ModelRequest::default())
        .map(Result::unwrap)
        .collect()
        .await;
    let done = events
        .iter()
        .find_map(|e| match e {
            ModelEvent::OutputItemDone {
                item: OutputItem::Message(m),
                ..
            } => Some(m.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        done.content,
        [ContentPart::refusal("I can't help with that.")]
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, ModelEvent::RefusalDelta { delta, .. } if delta == "I can't")));
}

#[tokio::test]
async fn errors_are_model_errors() {
    let unauthorized = json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}});
    let cut = sse(
        &[
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"content": "Half"}), None),
        ],
        false,
    );
    let in_stream = sse(
        &[
            chunk(json!({"role": "assistant", "content": "Hi"}), None),
            json!({"error": {"message": "The server had an error", "code": "server_error"}}),
        ],
        false,
    );
    let server = serve(vec![
        (401, unauthorized.to_string()),
        (200, cut),
        (200, in_stream),
    ])
    .await;
    let model = model(&server);
    let last = |events: Vec<Result<ModelEvent, ModelError>>| events.into_iter().last().unwrap();

    let error = last(model.stream(ModelRequest::default()).collect().await).unwrap_err();
    assert!(
        matches!(&error, ModelError::Api { code: Some(code), .. } if code == "invalid_api_key"),
        "{error:?}"
    );
    let error = last(model.stream(ModelRequest::default()).collect().await).unwrap_err();
    assert!(
        matches!(&error, ModelError::Connection(m) if m.contains("ended before the response completed")),
        "{error:?}"
    );
    let events: Vec<_> = model.stream(ModelRequest::default()).collect().await;
    assert!(events.iter().any(
        |e| matches!(e, Ok(ModelEvent::Error(info)) if info.code.as_deref() == Some("server_error"))
    ));
    assert!(matches!(events.last(), Some(Ok(ModelEvent::Failed { .. }))));

    // The runner turns the in-stream error into a failed run.
    let server = serve(vec![(
        200,
        sse(
            &[json!({"error": {"message": "overloaded", "code": "server_error"}})],
            false,
        ),
    )])
    .await;
    let agent: Agent<()> = Agent::new("A", self::model(&server));
    let mut run = Runner::new().run_streamed(&agent, "hi", ());
    let mut error = None;
    while let Some(event) = run.next().await {
        if let Err(e) = event {
            error = Some(e);
        }
    }
    assert!(
        matches!(&error, Some(RunError::Model(ModelError::Api { message, .. })) if message == "overloaded"),
        "{error:?}"
    );
}

#[tokio::test]
async fn unsupported_input_is_refused_before_any_request() {
    let server = serve(vec![(200, text_stream(&["x"]))]).await;
    let error = model(&server)
        .stream(ModelRequest {
            input: vec![json!({"type": "web_search_call", "id": "ws_1", "status": "completed"})],
            ..Default::default()
        })
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, ModelError::InvalidRequest(_)), "{error:?}");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_chatkit_thread_gets_one_message_per_answer() {
    let server = serve(vec![
        (200, text_stream(&["First ", "answer."])),
        (200, text_stream(&["Second answer."])),
    ])
    .await;
    let agent = Agent::new("Assistant", model(&server));
    let mut ids = Vec::new();
    for _ in 0..2 {
        let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
        let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
        let run = Runner::new().run_streamed(&agent, "hi", ctx.clone());
        let mut events = stream_agent_response(&ctx, run);
        while let Some(event) = events.next().await {
            if let ThreadStreamEvent::ThreadItemDone { item } = event.unwrap() {
                let ThreadItem::AssistantMessage(message) = *item else {
                    continue;
                };
                ids.push((message.id.clone(), message.content[0].text.clone()));
            }
        }
    }
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0].1, "First answer.");
    assert_eq!(ids[1].1, "Second answer.");
    assert_ne!(ids[0].0, ids[1].0, "each answer has its own item id");
}

#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema)]
struct Verdict {
    ok: bool,
}

#[tokio::test]
async fn an_output_type_is_sent_as_the_response_format() {
    let server = serve(vec![(200, text_stream(&["{\"ok\":", " true}"]))]).await;
    let agent: Agent<()> = Agent::new("A", model(&server)).output_type::<Verdict>();
    let result = Runner::new().run(&agent, "ok?", ()).await.unwrap();
    assert_eq!(
        result.final_output_as::<Verdict>().unwrap(),
        Verdict { ok: true }
    );
    let body = &requests(&server).await[0];
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "final_output", "strict": true, "schema": {
            "type": "object",
            "properties": {"ok": {"type": "boolean"}},
            "required": ["ok"],
            "additionalProperties": false,
        }}})
    );
}

#[tokio::test]
async fn streamed_thinking_becomes_a_reasoning_item_and_a_chatkit_workflow() {
    // DeepSeek and vLLM stream `reasoning_content`; OpenRouter calls it `reasoning`.
    let chunks = vec![
        chunk(
            json!({"role": "assistant", "content": null, "reasoning_content": "The user"}),
            None,
        ),
        chunk(json!({"reasoning": " wants a greeting."}), None),
        chunk(json!({"content": "Hello!"}), None),
        chunk(json!({}), Some("stop")),
    ];
    let server = serve(vec![(200, sse(&chunks, true)), (200, sse(&chunks, true))]).await;
    let events: Vec<ModelEvent> = model(&server)
        .stream(ModelRequest::default())
        .map(Result::unwrap)
        .collect()
        .await;
    let done: Vec<(usize, &OutputItem)> = events
        .iter()
        .filter_map(|e| match e {
            ModelEvent::OutputItemDone { output_index, item } => Some((*output_index, item)),
            _ => None,
        })
        .collect();
    let (0, OutputItem::Reasoning(reasoning)) = done[0] else {
        panic!("{done:?}")
    };
    assert!(reasoning.id.starts_with("rs_"));
    assert_eq!(
        reasoning.summary,
        [json!({"type": "summary_text", "text": "The user wants a greeting."})]
    );
    assert!(matches!(done[1], (1, OutputItem::Message(m)) if message_text(m) == "Hello!"));

    // In a ChatKit thread the thinking is a reasoning workflow before the answer.
    let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
    let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
    let agent = Agent::new("Thinker", model(&server));
    let run = Runner::new().run_streamed(&agent, "hi", ctx.clone());
    let items: Vec<String> = stream_agent_response(&ctx, run)
        .filter_map(|event| async move {
            match event.unwrap() {
                ThreadStreamEvent::ThreadItemDone { item } => Some(
                    serde_json::to_value(&item).unwrap()["type"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                ),
                _ => None,
            }
        })
        .collect()
        .await;
    assert_eq!(items, ["workflow", "assistant_message"]);
}

#[tokio::test]
async fn usage_can_be_left_out_for_servers_that_reject_it_and_include_is_refused() {
    // A server that rejects `stream_options` (as some do) gets a request without it.
    let server = serve(vec![(200, text_stream(&["hi"]))]).await;
    let settings = ModelSettings {
        include_usage: Some(false),
        store: Some(true),
        parallel_tool_calls: Some(false),
        ..Default::default()
    };
    let agent: Agent<()> = Agent::new("A", model(&server)).settings(settings).tool(add);
    let result = Runner::new().run(&agent, "hi", ()).await;
    assert!(result.is_ok(), "{result:?}");
    let body = &requests(&server).await[0];
    assert!(body.get("stream_options").is_none(), "{body}");
    assert_eq!(body["store"], true);
    assert_eq!(body["parallel_tool_calls"], false);

    // Responses-only output options are a clear configuration error here.
    let server = serve(vec![(200, text_stream(&["x"]))]).await;
    let error = model(&server)
        .stream(ModelRequest {
            settings: ModelSettings {
                include: vec!["reasoning.encrypted_content".into()],
                ..Default::default()
            },
            ..Default::default()
        })
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(error, ModelError::InvalidRequest(ref m) if m.contains("include")),
        "{error:?}"
    );
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_completion_cut_short_ends_incomplete_and_its_usage_counts() {
    for (finish_reason, reason) in [
        ("length", "max_output_tokens"),
        ("content_filter", "content_filter"),
    ] {
        let body = sse(
            &[
                chunk(json!({"role": "assistant", "content": "Once upon"}), None),
                chunk(json!({}), Some(finish_reason)),
                usage_chunk(12, 3),
            ],
            true,
        );
        let server = serve(vec![(200, body.clone()), (200, body)]).await;
        let events: Vec<ModelEvent> = model(&server)
            .stream(ModelRequest {
                input: vec![json!({"role": "user", "content": "a long story"})],
                ..Default::default()
            })
            .map(Result::unwrap)
            .collect()
            .await;
        let Some(ModelEvent::Incomplete { response }) = events.last() else {
            panic!("{finish_reason}: {:?}", events.last());
        };
        let details = response.incomplete_details.as_ref().unwrap();
        assert_eq!(details.reason.as_deref(), Some(reason));

        // A run still answers with what came, and counts the response's tokens.
        let agent: Agent<()> = Agent::new("Teller", model(&server));
        let result = Runner::new().run(&agent, "a long story", ()).await.unwrap();
        assert_eq!(result.final_output, "Once upon");
        assert_eq!(result.usage.input_tokens, 12);
        assert_eq!(result.last_response_id.as_deref(), Some("chatcmpl-1"));
    }
}
