//! `ThreadItemConverter`: every item type to model input with the reference's exact
//! strings (the Python SDK's `ThreadItemConverter`), and overridable hooks (entity tagging).

use chatkit_agents::agents::chatkit::{
    simple_to_agent_input, ConversionError, ThreadItemConverter,
};
use chatkit_agents::async_trait;
use chatkit_agents::types::*;
use serde_json::{json, Value};

fn item(value: Value) -> ThreadItem {
    let mut value = value;
    value["thread_id"] = "thr_1".into();
    value["created_at"] = "2025-01-01T00:00:00".into();
    serde_json::from_value(value).unwrap()
}

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

async fn convert(items: Vec<Value>) -> Vec<Value> {
    simple_to_agent_input(&items.into_iter().map(item).collect::<Vec<_>>())
        .await
        .unwrap()
}

#[tokio::test]
async fn user_messages_with_quoted_text_only_when_last() {
    let message = json!({"id": "m1", "type": "user_message", "content": [{"type": "input_text", "text": "Hello "}, {"type": "input_text", "text": "there"}], "attachments": [], "quoted_text": "the bit", "inference_options": {}});
    assert_eq!(
        convert(vec![message.clone()]).await,
        [
            json!({"role": "user", "type": "message", "content": [{"type": "input_text", "text": "Hello there"}]}),
            user("The user is referring to this in particular: \nthe bit")
        ]
    );
    let end = json!({"id": "e", "type": "end_of_turn"});
    assert_eq!(
        convert(vec![message, end]).await.len(),
        1,
        "quoted text is sent only with the last item"
    );
    // Python tests the quote for truth: an empty one adds nothing.
    let mut empty_quote = json!({"id": "m1", "type": "user_message", "content": [{"type": "input_text", "text": "Hi"}], "attachments": [], "quoted_text": "", "inference_options": {}});
    assert_eq!(convert(vec![empty_quote.clone()]).await.len(), 1);
    empty_quote["quoted_text"] = Value::Null;
    assert_eq!(convert(vec![empty_quote]).await.len(), 1);
}

#[tokio::test]
async fn assistant_messages_drop_annotations() {
    let message = json!({"id": "a", "type": "assistant_message", "content": [{"annotations": [{"type": "annotation", "source": {"type": "url", "title": "t", "url": "u"}}], "text": "Hi", "type": "output_text"}]});
    assert_eq!(
        convert(vec![message]).await,
        [
            json!({"type": "message", "role": "assistant", "content": [{"annotations": [], "text": "Hi", "type": "output_text", "logprobs": null}]})
        ]
    );
}

#[tokio::test]
async fn client_tool_calls_use_python_json() {
    let pending = json!({"id": "t1", "type": "client_tool_call", "status": "pending", "call_id": "c1", "name": "pick", "arguments": {"foo": "bar"}});
    assert!(convert(vec![pending]).await.is_empty());
    let completed = json!({"id": "t2", "type": "client_tool_call", "status": "completed", "call_id": "c2", "name": "pick", "arguments": {"foo": "bar"}, "output": {"ok": true, "n": [1, 2]}});
    assert_eq!(
        convert(vec![completed]).await,
        [
            json!({"type": "function_call", "call_id": "c2", "name": "pick", "arguments": "{\"foo\": \"bar\"}"}),
            json!({"type": "function_call_output", "call_id": "c2", "output": "{\"ok\": true, \"n\": [1, 2]}"}),
        ]
    );
}

#[tokio::test]
async fn widgets_show_their_json() {
    let widget = json!({"id": "w1", "type": "widget", "widget": {"type": "Card", "children": [{"id": "t1", "type": "Text", "value": "Hello, world!"}]}});
    let input = convert(vec![widget]).await;
    let text = input[0]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("The following graphical UI widget (id: w1) was displayed to the user:{"),
        "{text}"
    );
    assert!(text.contains("Hello, world!"));
    assert!(!text.contains("created_at"));
}

#[tokio::test]
async fn workflows_and_tasks_report_custom_tasks() {
    let workflow = json!({"id": "wf", "type": "workflow", "workflow": {"type": "custom", "tasks": [
        {"type": "custom", "title": "Searched", "content": "3 results"},
        {"type": "custom", "title": "Only title"},
        {"type": "custom", "content": "Only content"},
        {"type": "custom"},
        {"type": "thought", "content": "skipped"}
    ]}});
    let task = |body: &str| {
        user(&format!("A message was displayed to the user that the following task was performed:\n<Task>\n{body}\n</Task>"))
    };
    assert_eq!(
        convert(vec![workflow]).await,
        [
            task("Searched: 3 results"),
            task("Only title"),
            task("Only content")
        ]
    );
    let standalone =
        json!({"id": "t", "type": "task", "task": {"type": "custom", "title": "Did X"}});
    assert_eq!(convert(vec![standalone]).await, [task("Did X")]);
    let search = json!({"id": "t", "type": "task", "task": {"type": "web_search", "title": "X"}});
    assert!(convert(vec![search]).await.is_empty());
}

#[tokio::test]
async fn structured_input_lists_the_answers() {
    let structured = json!({"id": "si", "type": "structured_input", "status": "answered", "inputs": [
        {"id": "a", "question": "Size?", "type": "multiple_choice", "options": [{"value": "M"}], "answer": {"values": ["M"], "skipped": false}},
        {"id": "b", "question": "Toppings?", "type": "multiple_choice", "options": [], "multiple": true, "answer": {"values": ["ham", "olive"]}},
        {"id": "c", "question": "Notes?", "type": "freeform", "answer": {"values": [], "skipped": true}},
        {"id": "d", "question": "Extra?", "type": "freeform"}
    ]});
    assert_eq!(
        convert(vec![structured]).await,
        [user("A structured input request was displayed to the user with the following status: answered\n<StructuredInput>\n- Size?: M\n- Toppings?: ham, olive\n- Notes?: skipped\n- Extra?: unanswered\n</StructuredInput>")]
    );
}

#[tokio::test]
async fn hidden_context_and_images() {
    let hidden = json!({"id": "h", "type": "hidden_context_item", "content": "User timezone: UTC"});
    let sdk = json!({"id": "s", "type": "sdk_hidden_context", "content": "The user cancelled."});
    let wrap = |t: &str| {
        user(&format!("Hidden context for the agent (not shown to the user):\n<HiddenContext>\n{t}\n</HiddenContext>"))
    };
    assert_eq!(
        convert(vec![hidden, sdk]).await,
        [wrap("User timezone: UTC"), wrap("The user cancelled.")]
    );
    let structured_hidden =
        item(json!({"id": "h2", "type": "hidden_context_item", "content": {"tz": "UTC"}}));
    assert!(matches!(
        simple_to_agent_input(&[structured_hidden]).await,
        Err(ConversionError::Unsupported { .. })
    ));

    let pending = json!({"id": "g0", "type": "generated_image"});
    assert!(convert(vec![pending]).await.is_empty());
    let image = json!({"id": "g", "type": "generated_image", "image": {"id": "ig", "url": "https://i/x.png"}});
    assert_eq!(
        convert(vec![image]).await,
        [
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "The following image was generated by the agent."}, {"type": "input_image", "detail": "auto", "image_url": "https://i/x.png"}]})
        ]
    );
}

#[tokio::test]
async fn tags_and_attachments_need_your_conversion() {
    let tagged = item(
        json!({"id": "m", "type": "user_message", "content": [{"type": "input_text", "text": "Ask "}, {"type": "input_tag", "id": "p1", "text": "Ada", "data": {"role": "engineer"}}], "attachments": [], "inference_options": {}}),
    );
    let err = simple_to_agent_input(std::slice::from_ref(&tagged))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ConversionError::NotImplemented("tag_to_message_content")
    );

    /// Entity tagging: `@mentions` become model-readable markers.
    struct Tagging;
    #[async_trait]
    impl ThreadItemConverter for Tagging {
        async fn tag_to_message_content(
            &self,
            tag: &UserMessageTagContent,
        ) -> Result<Value, ConversionError> {
            Ok(
                json!({"type": "input_text", "text": format!("<PERSON name=\"{}\" id=\"{}\" role=\"{}\"/>", tag.text, tag.id, tag.data["role"].as_str().unwrap_or(""))}),
            )
        }
    }
    let twice = item(
        json!({"id": "m", "type": "user_message", "content": [{"type": "input_tag", "id": "p1", "text": "Ada", "data": {"role": "engineer"}}, {"type": "input_text", "text": " and "}, {"type": "input_tag", "id": "p1", "text": "Ada", "data": {}}], "attachments": [], "inference_options": {}}),
    );
    let input = Tagging.to_agent_input(&[twice]).await.unwrap();
    assert_eq!(input[0]["content"][0]["text"], "@Ada and @Ada");
    assert_eq!(
        input[1],
        json!({"role": "user", "type": "message", "content": [
            {"type": "input_text", "text": "# User-provided context for @-mentions\n- When referencing resolved entities, use their canonical names **without** '@'.\n- The '@' form appears only in user text and should not be echoed."},
            {"type": "input_text", "text": "<PERSON name=\"Ada\" id=\"p1\" role=\"engineer\"/>"}
        ]}),
        "tags are deduplicated by text"
    );

    let with_file = item(
        json!({"id": "m", "type": "user_message", "content": [{"type": "input_text", "text": "see"}], "attachments": [{"id": "atc", "name": "a.txt", "mime_type": "text/plain", "type": "file"}], "inference_options": {}}),
    );
    assert_eq!(
        simple_to_agent_input(&[with_file]).await.unwrap_err(),
        ConversionError::NotImplemented("attachment_to_message_content")
    );
}

#[tokio::test]
async fn end_of_turn_gives_nothing_and_order_is_kept() {
    let items = vec![
        json!({"id": "u", "type": "user_message", "content": [{"type": "input_text", "text": "Q"}], "attachments": [], "inference_options": {}}),
        json!({"id": "a", "type": "assistant_message", "content": [{"text": "A", "type": "output_text"}]}),
        json!({"id": "e", "type": "end_of_turn"}),
    ];
    let input = convert(items).await;
    assert_eq!(input.len(), 2);
    assert_eq!(input[0]["role"], "user");
    assert_eq!(input[1]["role"], "assistant");
}
