//! Request parsing against the reference: every invalid body is rejected with an error
//! that names what is wrong; lenient bodies are accepted as the reference accepts them.

mod support;

use chatkit_agents::types::{ChatKitRequest, RequestParseError};

use support::golden_lines;

/// The last field named in a pydantic error location, e.g. `attachments` for
/// `threads.create.params.input.attachments: Field required`; `None` for root errors.
fn pydantic_field(message: &str) -> Option<&str> {
    let location = message.split(':').next()?;
    if location == "(root)" {
        return None;
    }
    location
        .rsplit('.')
        .find(|part| part.parse::<usize>().is_err() && !part.starts_with("input_"))
}

#[test]
fn every_invalid_request_is_rejected_with_a_precise_error() {
    let records = golden_lines("invalid-requests.jsonl");
    assert_eq!(records.len(), 50);
    for record in records {
        let name = record["name"].as_str().unwrap();
        let body = record["body"].as_str().unwrap();
        let python = record["python_message"].as_str().unwrap();
        let err = match ChatKitRequest::parse(body.as_bytes()) {
            Ok(req) => panic!("{name}: accepted {body} as {req:?}"),
            Err(err) => err,
        };
        let message = err.to_string();
        match pydantic_field(python) {
            Some(field) => assert!(
                message.contains(field),
                "{name}: error {message:?} does not name {field:?} (reference: {python})"
            ),
            None if python.contains("json_invalid") => {
                assert!(
                    matches!(err, RequestParseError::InvalidJson(_)),
                    "{name}: {message}"
                )
            }
            None if python.contains("dict_type") => {
                assert!(
                    matches!(err, RequestParseError::NotAnObject { .. }),
                    "{name}: {message}"
                )
            }
            None => assert!(
                matches!(
                    err,
                    RequestParseError::MissingType | RequestParseError::UnknownType { .. }
                ),
                "{name}: {message}"
            ),
        }
    }
}

#[test]
fn invalid_request_messages_read_well() {
    let cases = [
        (r#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"inference_options":{}}}}"#,
         "threads.create: params.input: missing field `attachments`"),
        (r#"{"type":"threads.frobnicate","params":{}}"#,
         "unknown request type \"threads.frobnicate\"; expected one of: threads.create, "),
        (r#"{"type":"threads.list"}"#, "threads.list: \"params\" must be an object, got missing"),
        (r#"{"type":"threads.list","params":{},"metadata":[]}"#, "threads.list: \"metadata\" must be an object, got an array"),
        (r#"{"type":"items.feedback","params":{"thread_id":"t","item_ids":["a"],"kind":"neutral"}}"#,
         "items.feedback: params.kind: unknown variant `neutral`, expected `positive` or `negative`"),
        (r#"{"type":"threads.list","params":{"limit":2.5}}"#, "threads.list: params.limit: expected a non-negative integer, got 2.5"),
        ("[]", "request body must be a JSON object, got an array"),
        ("", "request body is not valid JSON: EOF while parsing a value at line 1 column 0"),
    ];
    for (body, want) in cases {
        let message = ChatKitRequest::parse(body.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with(want),
            "{body}\n  want {want}\n  got  {message}"
        );
    }
}

/// Where we are deliberately stricter or more faithful than the reference.
fn deliberate_deviation(name: &str, parsed: Result<&ChatKitRequest, &RequestParseError>) -> bool {
    match name {
        // A negative page size is meaningless; we reject it instead of passing it on.
        "limit_negative" => parsed.is_err_and(|e| e.to_string().contains("non-negative")),
        // The reference accepts an action without `type` but cannot use it; we reject it.
        "custom_action_empty_action" => {
            parsed.is_err_and(|e| e.to_string().contains("missing field `type`"))
        }
        // We write `result: null` back, so the request parses again (the reference drops it).
        "tool_output_result_null" => parsed.is_ok_and(|r| {
            serde_json::to_value(r).unwrap()["params"]
                == serde_json::json!({"thread_id": "t", "result": null})
        }),
        _ => false,
    }
}

#[test]
fn lenient_requests_are_accepted_like_the_reference() {
    let records = golden_lines("lenient-requests.jsonl");
    assert_eq!(records.len(), 14);
    for record in records {
        let name = record["name"].as_str().unwrap();
        let body = record["body"].as_str().unwrap();
        let parsed = ChatKitRequest::parse(body.as_bytes());
        if deliberate_deviation(name, parsed.as_ref()) {
            continue;
        }
        let parsed = parsed.unwrap_or_else(|e| panic!("{name}: rejected: {e}"));
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            record["parsed"],
            "{name}"
        );
    }
}

#[test]
fn reference_quirks_are_handled_sensibly() {
    for record in golden_lines("quirks.jsonl") {
        let name = record["name"].as_str().unwrap();
        let json = &record["json"];
        match name {
            // A hidden item written without `content` (null) parses back as null.
            "hidden_context_item.content_null" | "client_tool_call.output_null" => {
                let text = json.to_string();
                let item: chatkit_agents::types::ThreadItem = serde_json::from_str(&text).unwrap();
                assert_eq!(serde_json::to_value(&item).unwrap(), *json, "{name}");
            }
            "add_client_tool_output.result_null" => {
                let req = ChatKitRequest::parse(record["input"].to_string().as_bytes()).unwrap();
                let again = ChatKitRequest::parse(serde_json::to_string(&req).unwrap().as_bytes());
                assert_eq!(
                    again.unwrap(),
                    req,
                    "{name}: must parse again after writing"
                );
            }
            "action_without_type" => {
                let err = serde_json::from_value::<chatkit_agents::types::Action>(
                    record["input"].clone(),
                );
                assert!(err.is_err(), "{name}");
            }
            other => panic!("unexpected quirk {other}"),
        }
    }
}

#[test]
fn duplicate_keys_last_wins_and_unknown_keys_are_ignored() {
    let req = ChatKitRequest::parse(
        br#"{"type":"threads.get_by_id","params":{"thread_id":"a","thread_id":"b","x":1},"y":2}"#,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&req).unwrap()["params"],
        serde_json::json!({"thread_id": "b"})
    );
}

/// A list where the reference expects an object is an error there (pydantic's
/// `model_type`, checked with the oracle), at any depth; serde alone would read the
/// list as the struct's fields in order.
#[test]
fn a_list_is_never_read_as_an_object() {
    let cases = [
        (
            r#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":[]}}}"#,
            "threads.create: params.input.inference_options: invalid type: sequence, expected",
        ),
        (
            r#"{"type":"threads.create","params":{"input":[[{"type":"input_text","text":"hi"}],[],null,{}]}}"#,
            "threads.create: params.input: invalid type: sequence, expected",
        ),
        (
            r#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{"tool_choice":["x"]}}}}"#,
            "threads.create: params.input.inference_options.tool_choice: invalid type: sequence, expected",
        ),
        (
            r#"{"type":"threads.custom_action","params":{"thread_id":"t","item_id":null,"action":["a",{}]}}"#,
            "threads.custom_action: params.action: invalid type: sequence, expected",
        ),
    ];
    for (body, expected) in cases {
        let err = ChatKitRequest::parse(body.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(expected), "{body}: {err}");
    }
}

#[test]
fn a_repeated_key_in_a_large_body_is_refused_rather_than_parsed_as_a_tree() {
    let padding = "x".repeat(1_100_000);
    let body = format!(
        r#"{{"type":"threads.custom_action","params":{{"thread_id":"a","thread_id":"b","action":{{"type":"t","payload":{{"pad":"{padding}"}}}}}}}}"#
    );
    let message = ChatKitRequest::parse(body.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("duplicate field `thread_id`") && message.contains("appear twice"),
        "{message}"
    );
    // Under the limit the last one wins, as everywhere else.
    let small = r#"{"type":"threads.custom_action","params":{"thread_id":"a","thread_id":"b","action":{"type":"t","payload":{"k":1}}}}"#;
    let request = ChatKitRequest::parse(small.as_bytes()).unwrap();
    let params = &serde_json::to_value(&request).unwrap()["params"];
    assert_eq!(params["thread_id"], "b");
    assert_eq!(params["action"]["payload"], serde_json::json!({"k": 1}));
}

#[test]
fn a_request_deserializes_from_a_tree_as_from_text() {
    let tree = serde_json::json!({"type": "threads.custom_action", "params": {"thread_id": "t", "action": {"type": "x", "payload": {"k": [1, 2]}}}});
    let from_tree: ChatKitRequest = serde_json::from_value(tree.clone()).unwrap();
    let from_text = ChatKitRequest::parse(tree.to_string().as_bytes()).unwrap();
    assert_eq!(from_tree, from_text);
    let bad: Result<ChatKitRequest, _> =
        serde_json::from_value(serde_json::json!({"type": "threads.delete", "params": {}}));
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("missing field `thread_id`"));
}
