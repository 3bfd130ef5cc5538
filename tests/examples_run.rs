//! Every example runs offline; these tests run them and check what they show.

#![allow(dead_code, unreachable_pub)]

#[path = "../examples/channel_message.rs"]
mod channel_message;
#[path = "../examples/client_tool_call.rs"]
mod client_tool_call;
#[path = "../examples/composer_tools.rs"]
mod composer_tools;
#[path = "../examples/entity_tagging.rs"]
mod entity_tagging;
#[path = "../examples/follow_up.rs"]
mod follow_up;
#[path = "../examples/form.rs"]
mod form;
#[path = "../examples/growth.rs"]
mod growth;
#[path = "../examples/guardrails.rs"]
mod guardrails;
#[path = "../examples/streaming_widget.rs"]
mod streaming_widget;
#[path = "../examples/task_list_actions.rs"]
mod task_list_actions;
#[path = "../examples/tool_widget.rs"]
mod tool_widget;
#[path = "../examples/widget_file.rs"]
mod widget_file;

use serde_json::Value;

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("{json}"))
        .collect()
}

#[tokio::test]
async fn channel_message_streams_the_hydrated_template() {
    let events = channel_message::run().await;
    let widget = events
        .iter()
        .find(|e| e["item"]["type"] == "widget")
        .expect("a widget");
    assert!(widget["item"]["widget"]
        .to_string()
        .contains("Zach Johnston"));
    assert_eq!(
        widget["item"]["copy_text"],
        "#proj-chatkit: Post the weekly update"
    );
}

#[tokio::test]
async fn tool_widget_streams_the_card_then_answers() {
    let events = tool_widget::run().await;
    let widget = events
        .iter()
        .position(|e| e["item"]["type"] == "widget")
        .expect("a widget");
    let answer = events
        .iter()
        .rposition(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .unwrap();
    assert!(widget < answer);
}

#[tokio::test]
async fn streaming_widget_grows_the_letter() {
    let events = streaming_widget::run().await;
    let text: String = events
        .iter()
        .filter_map(|e| e["update"]["delta"].as_str())
        .collect();
    assert!(text.contains("Hogwarts"), "{text}");
    // Three widgets: the builders' card, then the template rebuilt per delta and streamed.
    let mut widgets: Vec<&str> = Vec::new();
    for event in &events {
        if event["type"] == "thread.item.added" && event["item"]["type"] == "widget" {
            widgets.push(event["item"]["id"].as_str().unwrap());
        }
    }
    assert_eq!(widgets.len(), 3, "{events:?}");
    // The two template forms stream the same updates and end with the same widget.
    let of = |id: &str| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e["item_id"] == id || e["item"]["id"] == id)
            .map(|e| {
                let mut e = e.clone();
                if let Some(item) = e.get_mut("item").and_then(Value::as_object_mut) {
                    item.remove("id");
                    item.remove("created_at");
                }
                e.as_object_mut().unwrap().remove("item_id");
                e
            })
            .collect()
    };
    let (rebuilt, streamed) = (of(widgets[1]), of(widgets[2]));
    assert_eq!(rebuilt, streamed);
    let updates: Vec<&str> = streamed
        .iter()
        .filter_map(|e| e["update"]["type"].as_str())
        .collect();
    assert!(updates.len() > 2, "{updates:?}");
    assert!(updates[..updates.len() - 1]
        .iter()
        .all(|t| *t == "widget.streaming_text.value_delta"));
    assert_eq!(
        updates.last(),
        Some(&"widget.root.updated"),
        "streaming turned off"
    );
}

#[tokio::test]
async fn task_list_actions_replace_hide_answer_and_effect() {
    let events = task_list_actions::run().await;
    let t = types(&events);
    assert!(t.contains(&"thread.item.replaced") && t.contains(&"client_effect"));
    assert!(
        !events
            .iter()
            .any(|e| e["item"]["type"] == "hidden_context_item"),
        "hidden context is never sent"
    );
    assert_eq!(
        events.last().unwrap(),
        &serde_json::json!({}),
        "the sync action answered"
    );
}

#[tokio::test]
async fn form_accepts_good_input_and_explains_bad_input() {
    let events = form::run().await;
    assert!(events.iter().any(|e| e["item"]["content"][0]["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("Welcome"))));
    let errors: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "error")
        .map(|e| e["message"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(errors[0].contains("not an email"));
    assert!(errors[1].contains("could not be read"));
}

#[tokio::test]
async fn entity_tagging_gives_the_model_markers() {
    let input = entity_tagging::run().await;
    let text = serde_json::to_string(&input).unwrap();
    assert!(
        text.contains("<PERSON id=\\\"p_ada\\\" name=\\\"Ada\\\" role=\\\"engineer\\\"/>"),
        "{text}"
    );
    assert!(text.contains("@Ada"));
}

#[tokio::test]
async fn composer_tools_route_to_different_agents() {
    let answers = composer_tools::run().await;
    assert_eq!(
        answers,
        [
            "Summary: owls deliver mail.",
            "Les hiboux livrent le courrier.",
            "Owls are birds."
        ]
    );
}

#[tokio::test]
async fn client_tool_call_round_trip() {
    let events = client_tool_call::run().await;
    let call = events
        .iter()
        .find(|e| e["item"]["type"] == "client_tool_call")
        .expect("a client tool call");
    assert_eq!(call["item"]["status"], "pending");
    assert_eq!(call["item"]["name"], "get_selection");
    assert!(events.iter().any(|e| e["item"]["content"][0]["text"]
        .as_str()
        .is_some_and(|t| t.contains("owls deliver mail"))));
}

#[tokio::test]
async fn guardrails_answer_questions_and_refuse_homework() {
    let (question, homework) = guardrails::run().await;
    let answer = question
        .iter()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .expect("the question is answered");
    assert_eq!(
        answer["item"]["content"][0]["text"],
        "Paris is the capital of France."
    );
    // Whatever the tutor streamed for the homework was taken back, then the message.
    let added: Vec<&Value> = homework
        .iter()
        .filter(|e| e["type"] == "thread.item.added" && e["item"]["type"] == "assistant_message")
        .map(|e| &e["item"]["id"])
        .collect();
    let removed: Vec<&Value> = homework
        .iter()
        .filter(|e| e["type"] == "thread.item.removed")
        .map(|e| &e["item_id"])
        .collect();
    assert_eq!(added, removed);
    let last = homework.last().unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(last["code"], "custom");
    assert_eq!(
        last["message"],
        "I can't do your homework, but I can explain the method."
    );
    assert_eq!(last["allow_retry"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growth_measures_pages_and_turns_with_the_history_window() {
    let store = std::sync::Arc::new(chatkit_agents::store::MemoryStore::new());
    let row = growth::measure(store, "memory", 50).await;
    assert_eq!(row["items"], 50);
    assert!(
        row["items_list_ms"]["p99"].as_f64().unwrap()
            >= row["items_list_ms"]["p50"].as_f64().unwrap()
    );
    assert!(row["turn_ms"]["p50"].as_f64().unwrap() > 0.0, "{row}");
    // The agent read its 20-item window, not the thread.
    assert_eq!(row["model_input_items"], 20, "{row}");
}

#[test]
fn widget_file_makes_a_widget_file_from_a_plain_template() {
    use chatkit_agents::widgets::WidgetTemplate;
    let dir = std::env::temp_dir().join(format!("widget-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("greeting.jinja");
    std::fs::write(
        &template,
        "{\"type\": \"Card\", \"children\": [\n  {\"type\": \"Text\", \"value\": {{ name | tojson }}}\n]}\n",
    )
    .unwrap();
    let schema = dir.join("schema.json");
    std::fs::write(&schema, r#"{"type": "object", "required": ["name"]}"#).unwrap();
    let arg = |path: &std::path::Path| path.display().to_string();
    let file = widget_file::run(&["greeting".into(), arg(&template), arg(&schema)]).unwrap();
    let widget = WidgetTemplate::new(serde_json::from_str(&file).unwrap()).unwrap();
    assert_eq!(widget.name(), "greeting");
    assert_eq!(widget.data_schema().unwrap()["required"][0], "name");
    let built = widget.build(serde_json::json!({"name": "Ada"})).unwrap();
    assert_eq!(
        serde_json::to_value(&built).unwrap()["children"][0]["value"],
        "Ada"
    );

    std::fs::write(&template, "{% if %}").unwrap();
    let error = widget_file::run(&["broken".into(), arg(&template)]).unwrap_err();
    assert!(
        error.to_string().contains("syntax error on line 1"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn follow_up_is_a_run_started_by_server_code_and_joined_by_a_client() {
    let (events, items) = follow_up::run().await;
    let answer: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .collect();
    assert_eq!(answer.len(), 1, "{events:?}");
    assert!(answer[0]["item"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("412 tests passed"));
    // Saved like any answer: the user's message, the first answer, the follow-up.
    let texts: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            chatkit_agents::types::ThreadItem::AssistantMessage(m) => {
                Some(m.content[0].text.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[1].contains("412 tests passed"), "{texts:?}");
}
