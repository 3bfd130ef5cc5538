//! `stream_agent_response` on `ScriptedModel` runs: the event mapping of the Python SDK's
//! `stream_agent_response` (`test_agents.py` counterparts) and the three tool patterns
//! (a static widget, a streamed widget, a workflow) end to end.

use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::agents::chatkit::*;
use chatkit_agents::agents::model::*;
use chatkit_agents::agents::*;
use chatkit_agents::async_trait;
use chatkit_agents::server::{StreamError, ThreadHandle};
use chatkit_agents::store::{MemoryStore, Store};
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents::types::*;
use chatkit_agents::widgets::{self as w, accumulate_text, WidgetRoot, WidgetSource};
use futures::StreamExt;
use serde_json::{json, Value};

type Ctx = AgentContext<()>;

/// A context on a thread saved in a fresh store (items can only go into saved threads).
async fn context() -> (Ctx, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let meta = ThreadMetadata::new("thr_1", Timestamp::now());
    store.save_thread(&meta, &()).await.unwrap();
    let thread = ThreadHandle::new(meta);
    (AgentContext::new(thread, store.clone(), ()), store)
}

fn agent(turns: Vec<Vec<Step>>) -> Agent<Ctx> {
    Agent::new("Assistant", Arc::new(ScriptedModel::new(turns)))
}

/// Runs `agent` and returns the ChatKit events (as JSON) and the final error, if any.
async fn chatkit_events(
    ctx: &Ctx,
    agent: &Agent<Ctx>,
    runner: Runner<Ctx>,
) -> (Vec<Value>, Option<StreamError>) {
    let run = runner.run_streamed(agent, "hi", ctx.clone());
    let mut stream = stream_agent_response(ctx, run);
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(event) => events.push(serde_json::to_value(&event).unwrap()),
            Err(error) => return (events, Some(error)),
        }
    }
    (events, None)
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let base = e["type"]
                .as_str()
                .unwrap()
                .trim_start_matches("thread.")
                .to_owned();
            match (e["update"]["type"].as_str(), e["item"]["type"].as_str()) {
                (Some(update), _) => format!("{base}:{update}"),
                (None, Some(item)) => format!("{base}:{item}"),
                _ => base,
            }
        })
        .collect()
}

#[tokio::test]
async fn text_maps_to_assistant_message_events_with_the_model_item_id() {
    let (ctx, store) = context().await;
    let (events, error) = chatkit_events(
        &ctx,
        &agent(vec![vec![Step::text("Hello, world!")]]),
        Runner::new(),
    )
    .await;
    assert!(error.is_none());
    assert_eq!(
        kinds(&events),
        [
            "item.added:assistant_message",
            "item.updated:assistant_message.content_part.added",
            "item.updated:assistant_message.content_part.text_delta",
            "item.updated:assistant_message.content_part.text_delta",
            "item.updated:assistant_message.content_part.done",
            "item.done:assistant_message",
        ]
    );
    let id = events[0]["item"]["id"].as_str().unwrap();
    assert!(id.starts_with("msg_"));
    assert!(events.iter().skip(1).take(4).all(|e| e["item_id"] == id));
    assert_eq!(
        events[5]["item"]["content"],
        json!([{"annotations": [], "text": "Hello, world!", "type": "output_text"}])
    );
    assert_eq!(
        events[4]["update"]["content"],
        json!({"annotations": [], "text": "Hello, world!", "type": "output_text"})
    );
    assert!(
        store
            .load_thread_items("thr_1", None, 10, SortOrder::Asc, &())
            .await
            .unwrap()
            .data
            .is_empty(),
        "the pipeline persists, not this"
    );
}

#[tokio::test]
async fn annotations_get_compact_indexes_and_unknown_ones_are_dropped() {
    let url = |n: usize| ModelAnnotation::UrlCitation {
        url: format!("https://e.com/{n}"),
        title: format!("E{n}"),
        start_index: 0,
        end_index: n,
    };
    let annotations = vec![
        url(1),
        ModelAnnotation::FilePath {
            file_id: "f".into(),
            index: 0,
        },
        url(2),
        ModelAnnotation::FileCitation {
            file_id: "f".into(),
            filename: "r.pdf".into(),
            index: 3,
        },
    ];
    let (ctx, _) = context().await;
    let (events, _) = chatkit_events(
        &ctx,
        &agent(vec![vec![Step::Annotated {
            text: "Cited".into(),
            annotations,
        }]]),
        Runner::new(),
    )
    .await;
    let added: Vec<_> = events
        .iter()
        .filter(|e| e["update"]["type"] == "assistant_message.content_part.annotation_added")
        .collect();
    assert_eq!(added.len(), 3);
    assert_eq!(
        added
            .iter()
            .map(|e| e["update"]["annotation_index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(
        added[1]["update"]["annotation"],
        json!({"type": "annotation", "source": {"title": "E2", "type": "url", "url": "https://e.com/2"}, "index": 2})
    );
    assert_eq!(
        added[2]["update"]["annotation"]["source"],
        json!({"title": "r.pdf", "type": "file", "filename": "r.pdf"})
    );
    let done = events.last().unwrap();
    assert_eq!(
        done["item"]["content"][0]["annotations"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let text_done = events
        .iter()
        .find(|e| e["update"]["type"] == "assistant_message.content_part.done")
        .unwrap();
    assert_eq!(
        text_done["update"]["content"]["annotations"],
        json!([]),
        "output_text.done carries no annotations"
    );
}

#[tokio::test]
async fn refusals_become_text() {
    let (ctx, _) = context().await;
    let (events, _) = chatkit_events(
        &ctx,
        &agent(vec![vec![Step::Refusal("I can't help with that.".into())]]),
        Runner::new(),
    )
    .await;
    assert_eq!(
        events.last().unwrap()["item"]["content"][0]["text"],
        "I can't help with that."
    );
}

fn reasoning_events(item_id: &str) -> Vec<ModelEvent> {
    let delta = |summary_index, delta: &str| ModelEvent::ReasoningSummaryTextDelta {
        item_id: item_id.into(),
        output_index: 0,
        summary_index,
        delta: delta.into(),
    };
    let done = |summary_index, text: &str| ModelEvent::ReasoningSummaryTextDone {
        item_id: item_id.into(),
        output_index: 0,
        summary_index,
        text: text.into(),
    };
    vec![
        ModelEvent::OutputItemAdded {
            output_index: 0,
            item: OutputItem::Reasoning(ReasoningItem {
                id: item_id.into(),
                ..Default::default()
            }),
        },
        delta(0, "Think"),
        delta(0, "ing 1"),
        done(0, "Thinking 1"),
        delta(1, "Think"),
        delta(1, "ing 2"),
        done(1, "Thinking 2"),
    ]
}

#[tokio::test]
async fn reasoning_becomes_a_workflow_of_thoughts_like_the_reference() {
    let (ctx, store) = context().await;
    let (events, _) = chatkit_events(
        &ctx,
        &agent(vec![vec![Step::Events(reasoning_events("rs_1"))]]),
        Runner::new(),
    )
    .await;
    assert_eq!(
        kinds(&events),
        [
            "item.added:workflow",
            "item.updated:workflow.task.added",
            "item.updated:workflow.task.updated",
            "item.updated:workflow.task.updated",
            "item.updated:workflow.task.added"
        ]
    );
    assert_eq!(
        events[0]["item"]["workflow"],
        json!({"type": "reasoning", "tasks": [], "expanded": false})
    );
    let content = |i: usize| {
        events[i]["update"]["task"]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        [content(1), content(2), content(3), content(4)],
        ["Think", "Thinking 1", "Thinking 1", "Thinking 2"]
    );
    assert_eq!(events[4]["update"]["task_index"], 1);
    // The run ended with the workflow open: it is saved (without an event) for the next turn.
    let saved = store
        .load_thread_items("thr_1", None, 10, SortOrder::Asc, &())
        .await
        .unwrap();
    assert!(matches!(&saved.data[..], [ThreadItem::Workflow(w)] if w.workflow.tasks.len() == 2));
}

#[tokio::test]
async fn a_message_ends_the_reasoning_workflow_with_a_duration() {
    let mut steps = reasoning_events("rs_1");
    steps.truncate(4);
    let (ctx, store) = context().await;
    let (events, _) = chatkit_events(
        &ctx,
        &agent(vec![vec![Step::Events(steps), Step::text("Answer")]]),
        Runner::new(),
    )
    .await;
    let k = kinds(&events);
    assert_eq!(
        &k[..5],
        [
            "item.added:workflow",
            "item.updated:workflow.task.added",
            "item.updated:workflow.task.updated",
            "item.updated:workflow.task.updated",
            "item.done:workflow"
        ]
    );
    assert_eq!(k[5], "item.added:assistant_message");
    assert_eq!(
        events[4]["item"]["workflow"]["summary"],
        json!({"duration": 0})
    );
    assert_eq!(events[4]["item"]["workflow"]["expanded"], false);
    assert!(
        store
            .load_thread_items("thr_1", None, 10, SortOrder::Asc, &())
            .await
            .unwrap()
            .data
            .is_empty(),
        "a closed workflow is not saved directly"
    );
}

/// Add a custom task to the workflow.
#[function_tool]
async fn plan(ctx: &ToolContext<Ctx>, title: String) -> &'static str {
    ctx.add_workflow_task(Task::Custom(CustomTask {
        title: Some(title),
        ..Default::default()
    }));
    "planned"
}

#[tokio::test]
async fn an_existing_summary_is_kept_and_open_workflows_resume() {
    let (ctx, store) = context().await;
    // A custom workflow left open by an earlier turn.
    let mut earlier = Workflow::new(WorkflowType::Custom);
    earlier.summary = Some(WorkflowSummary::Custom {
        title: "Planned".into(),
        icon: None,
    });
    earlier.tasks.push(Task::Custom(CustomTask {
        title: Some("first".into()),
        ..Default::default()
    }));
    let open = WorkflowItem {
        id: "wf_open".into(),
        thread_id: "thr_1".into(),
        created_at: Timestamp::now(),
        workflow: earlier,
    };
    store
        .add_thread_item("thr_1", &open.into(), &())
        .await
        .unwrap();

    let agent = agent(vec![
        vec![Step::tool_call("plan", json!({"title": "second"}))],
        vec![Step::text("Done")],
    ])
    .tool(plan);
    let (events, _) = chatkit_events(&ctx, &agent, Runner::new()).await;
    let k = kinds(&events);
    assert_eq!(
        k[0], "item.updated:workflow.task.added",
        "the resumed workflow gets the task"
    );
    assert_eq!(events[0]["item_id"], "wf_open");
    assert_eq!(events[0]["update"]["task_index"], 1);
    assert_eq!(k[1], "item.done:workflow");
    assert_eq!(
        events[1]["item"]["workflow"]["summary"],
        json!({"title": "Planned"}),
        "an existing summary is kept"
    );
    assert_eq!(k[2], "item.added:assistant_message");
}

/// Start, update and end a workflow without yielding in between.
#[function_tool]
async fn quick_workflow(ctx: &ToolContext<Ctx>) -> &'static str {
    let loading = |title: &str| {
        Task::Custom(CustomTask {
            title: Some(title.into()),
            status_indicator: TaskStatusIndicator::Loading,
            ..Default::default()
        })
    };
    ctx.add_workflow_task(loading("first"));
    ctx.add_workflow_task(loading("second"));
    let done = Task::Custom(CustomTask {
        title: Some("first".into()),
        status_indicator: TaskStatusIndicator::Complete,
        ..Default::default()
    });
    ctx.update_workflow_task(done, 0).unwrap();
    ctx.end_workflow(
        Some(WorkflowSummary::Custom {
            title: "Both done".into(),
            icon: None,
        }),
        false,
    );
    "ok"
}

#[tokio::test]
async fn a_workflow_ended_by_a_tool_is_not_revived_by_its_queued_snapshots() {
    let (ctx, store) = context().await;
    let agent = agent(vec![
        vec![Step::tool_call("quick_workflow", json!({}))],
        vec![Step::text("Done")],
    ])
    .tool(quick_workflow);
    let (events, error) = chatkit_events(&ctx, &agent, Runner::new()).await;
    assert!(error.is_none(), "{error:?}");
    let done: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "workflow")
        .collect();
    assert_eq!(done.len(), 1, "one done per workflow: {:?}", kinds(&events));
    assert_eq!(
        done[0]["item"]["workflow"]["summary"],
        json!({"title": "Both done"})
    );
    assert_eq!(
        done[0]["item"]["workflow"]["tasks"][0]["status_indicator"],
        "complete"
    );
    assert!(ctx.workflow_item().is_none());
    assert!(nothing_saved(&store).await);

    // With StopAtTools nothing stale is saved over the completed workflow either.
    let (ctx, store) = context().await;
    let agent = agent_stopping(quick_workflow);
    let (events, _) = chatkit_events(&ctx, &agent, Runner::new()).await;
    let done = events
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "workflow")
        .count();
    assert_eq!(done, 1, "{:?}", kinds(&events));
    assert!(nothing_saved(&store).await);
}

/// Whether the run saved no item of its own (the stream's items are saved by the
/// server pipeline, which these tests do not run).
async fn nothing_saved(store: &MemoryStore) -> bool {
    store
        .load_thread_items("thr_1", None, 10, SortOrder::Asc, &())
        .await
        .unwrap()
        .data
        .is_empty()
}

fn agent_stopping(tool: impl Tool<Ctx> + 'static) -> Agent<Ctx> {
    agent(vec![vec![Step::tool_call("quick_workflow", json!({}))]])
        .tool(tool)
        .tool_use_behavior(ToolUseBehavior::StopOnFirstTool)
}

/// Ask the client for its selection.
#[function_tool]
async fn get_selection(ctx: &ToolContext<Ctx>) -> &'static str {
    ctx.set_client_tool_call(ClientToolCall {
        name: "get_selection".into(),
        arguments: json!({"max": 3}).as_object().unwrap().clone(),
    });
    "asked the client"
}

#[tokio::test]
async fn the_client_tool_call_comes_last_with_the_model_call_ids() {
    let call = FunctionCall {
        id: Some("fc_123".into()),
        call_id: "call_123".into(),
        name: "get_selection".into(),
        arguments: "{}".into(),
        ..Default::default()
    };
    let events = vec![ModelEvent::OutputItemDone {
        output_index: 0,
        item: OutputItem::FunctionCall(call),
    }];
    let agent = agent(vec![vec![Step::Events(events)]])
        .tool(get_selection)
        .tool_use_behavior(ToolUseBehavior::StopAtTools(vec!["get_selection".into()]));
    let (ctx, _) = context().await;
    let (events, error) = chatkit_events(&ctx, &agent, Runner::new()).await;
    assert!(error.is_none());
    let last = events.last().unwrap();
    assert_eq!(last["type"], "thread.item.done");
    assert_eq!(last["item"]["type"], "client_tool_call");
    assert_eq!(last["item"]["id"], "fc_123");
    assert_eq!(last["item"]["call_id"], "call_123");
    assert_eq!(last["item"]["status"], "pending");
    assert_eq!(last["item"]["arguments"], json!({"max": 3}));
}

#[tokio::test]
async fn queued_widgets_stream_before_the_model_and_generators_stream_deltas() {
    let (ctx, _) = context().await;
    let card: WidgetRoot = w::Card::new().child(w::Text::new("queued")).into();
    ctx.stream_widget(card, None).await.unwrap();
    let states = futures::stream::iter(["", "Hi", "Hi there"]).map(|t| -> WidgetRoot {
        w::Card::new()
            .child(w::Markdown::new(t).id("m").streaming(true))
            .into()
    });
    ctx.stream_widget(WidgetSource::states(states), None)
        .await
        .unwrap();
    let (events, _) =
        chatkit_events(&ctx, &agent(vec![vec![Step::text("ok")]]), Runner::new()).await;
    let k = kinds(&events);
    assert_eq!(
        &k[..5],
        [
            "item.done:widget",
            "item.added:widget",
            "item.updated:widget.streaming_text.value_delta",
            "item.updated:widget.streaming_text.value_delta",
            "item.done:widget"
        ]
    );
    assert_eq!(k[5], "item.added:assistant_message");
}

/// Makes an image.
fn image_events() -> Vec<ModelEvent> {
    let item = |result: Option<&str>| {
        OutputItem::ImageGeneration(ImageGenerationItem {
            id: "ig_1".into(),
            result: result.map(Into::into),
            ..Default::default()
        })
    };
    vec![
        ModelEvent::OutputItemAdded {
            output_index: 0,
            item: item(None),
        },
        ModelEvent::ImageGenerationPartialImage {
            item_id: "ig_1".into(),
            output_index: 0,
            partial_image_index: 1,
            partial_image_b64: "AAA".into(),
        },
        ModelEvent::OutputItemDone {
            output_index: 0,
            item: item(Some("BBB")),
        },
    ]
}

struct Uploads;

#[async_trait]
impl ResponseStreamConverter for Uploads {
    async fn base64_image_to_url(&self, image_id: &str, _: &str, partial: Option<u32>) -> String {
        format!(
            "https://cdn.example.com/{image_id}/{}",
            partial.map_or("final".to_owned(), |p| p.to_string())
        )
    }
    fn partial_image_index_to_progress(&self, index: u32) -> f64 {
        DefaultResponseStreamConverter {
            partial_images: Some(3),
        }
        .partial_image_index_to_progress(index)
    }
}

#[tokio::test]
async fn generated_images_stream_with_progress_and_custom_urls() {
    let (ctx, _) = context().await;
    let run = Runner::new().run_streamed(
        &agent(vec![vec![Step::Events(image_events())]]),
        "draw",
        ctx.clone(),
    );
    let events: Vec<Value> = stream_agent_response_with(&ctx, run, Arc::new(Uploads))
        .map(|e| serde_json::to_value(e.unwrap()).unwrap())
        .collect()
        .await;
    assert_eq!(
        kinds(&events),
        [
            "item.added:generated_image",
            "item.updated:generated_image.updated",
            "item.done:generated_image"
        ]
    );
    assert_eq!(
        events[1]["update"],
        json!({"type": "generated_image.updated", "image": {"id": "ig_1", "url": "https://cdn.example.com/ig_1/1"}, "progress": 0.3333333333333333})
    );
    assert_eq!(
        events[2]["item"]["image"],
        json!({"id": "ig_1", "url": "https://cdn.example.com/ig_1/final"})
    );
    assert!(events[0]["item"]["id"]
        .as_str()
        .unwrap()
        .starts_with("msg_"));

    let (ctx, _) = context().await;
    let (events, _) = chatkit_events(
        &ctx,
        &agent(vec![vec![Step::Events(image_events())]]),
        Runner::new(),
    )
    .await;
    assert_eq!(
        events[1]["update"]["image"]["url"],
        "data:image/png;base64,AAA"
    );
    assert_eq!(events[1]["update"]["progress"], 0.0);
}

struct Blocker;

#[async_trait]
impl RunHooks<Ctx> for Blocker {
    async fn on_llm_end(
        &self,
        _: &Ctx,
        _: &Agent<Ctx>,
        output: &[OutputItem],
    ) -> Result<(), Tripwire> {
        if serde_json::to_string(output).unwrap().contains("forbidden") {
            return Err(Tripwire("blocked".into()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_tripwire_removes_everything_the_run_produced() {
    let (ctx, _) = context().await;
    ctx.stream(ThreadStreamEvent::item_done(EndOfTurnItem {
        id: "queued_before".into(),
        thread_id: "thr_1".into(),
        created_at: Timestamp::now(),
    }));
    let mut steps = reasoning_events("rs_1");
    steps.truncate(2);
    let agent = agent(vec![vec![
        Step::Events(steps),
        Step::text("forbidden words"),
    ]]);
    let (events, error) = chatkit_events(&ctx, &agent, Runner::new().hooks(Blocker)).await;
    assert_eq!(error.unwrap().to_string(), "tripwire: blocked");
    let removed: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "thread.item.removed")
        .map(|e| e["item_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(removed.len(), 3, "{removed:?}");
    assert_eq!(removed[0], "queued_before");
    assert!(removed[1].starts_with("wf_"));
    assert!(removed[2].starts_with("msg_"));
}

#[tokio::test]
async fn a_run_error_ends_the_stream_after_the_queued_events() {
    /// Queue a notice, then let the model fail.
    #[function_tool]
    async fn notify(ctx: &ToolContext<Ctx>) -> &'static str {
        ctx.stream(ThreadStreamEvent::progress("working"));
        "ok"
    }
    let agent = agent(vec![
        vec![Step::tool_call("notify", json!({}))],
        vec![Step::ApiError {
            code: "server_error".into(),
            message: "boom".into(),
        }],
    ])
    .tool(notify);
    let (ctx, _) = context().await;
    let (events, error) = chatkit_events(&ctx, &agent, Runner::new()).await;
    assert_eq!(kinds(&events), ["progress_update"]);
    assert!(error.unwrap().to_string().contains("boom"));
}

#[tokio::test]
async fn a_failed_function_tool_shows_as_a_failed_task() {
    /// Look up an order (the lookup fails).
    #[function_tool]
    async fn lookup_order(id: String) -> Result<String, ToolError> {
        Err(ToolError::new(format!("database timeout for {id}")))
    }
    let agent = agent(vec![
        vec![Step::tool_call("lookup_order", json!({"id": "A7"}))],
        vec![Step::text("Sorry, the lookup failed.")],
    ])
    .tool(lookup_order);
    let (ctx, _) = context().await;
    let (events, error) = chatkit_events(&ctx, &agent, Runner::new()).await;
    assert!(error.is_none());
    let k = kinds(&events);
    assert_eq!(
        k[..3],
        [
            "item.added:workflow",
            "item.updated:workflow.task.added",
            "item.done:workflow"
        ],
        "{k:?}"
    );
    let task = &events[1]["update"]["task"];
    assert_eq!(task["title"], "lookup_order failed");
    assert_eq!(task["status_indicator"], "none");
    assert_eq!(task["icon"], "info");
    // The body is what the model read, not the tool's internal error.
    assert_eq!(task["content"], DEFAULT_TOOL_ERROR_MESSAGE);
    assert!(!events
        .to_vec()
        .iter()
        .any(|e| e.to_string().contains("database timeout")));
}

// ---- the three tool patterns: a static widget, a streamed widget, a workflow --------------------------------------------------------

/// Show a static widget.
#[function_tool]
async fn show_profile(ctx: &ToolContext<Ctx>, name: String) -> Result<String, ToolError> {
    let card: WidgetRoot = w::Card::new().child(w::Title::new(name.clone())).into();
    ctx.stream_widget(card, Some(name)).await?;
    Ok("profile shown".into())
}

#[tokio::test]
async fn pattern_a_tool_streams_a_static_widget() {
    let agent = agent(vec![
        vec![Step::tool_call("show_profile", json!({"name": "Ada"}))],
        vec![Step::text("Here she is.")],
    ])
    .tool(show_profile);
    let (ctx, _) = context().await;
    let (events, error) = chatkit_events(&ctx, &agent, Runner::new()).await;
    assert!(error.is_none());
    let k = kinds(&events);
    assert_eq!(k[0], "item.done:widget");
    assert_eq!(events[0]["item"]["copy_text"], "Ada");
    assert_eq!(k.last().unwrap(), "item.done:assistant_message");
}

/// Draft a letter with a second agent, streaming it into a widget as it is written.
#[function_tool]
async fn draft_letter(ctx: &ToolContext<Ctx>, to: String) -> Result<String, ToolError> {
    let writer: Agent<Ctx> = Agent::new(
        "Writer",
        Arc::new(ScriptedModel::new(vec![vec![Step::text(format!(
            "Dear {to}, you are a wizard."
        ))]])),
    );
    let run = Runner::new().run_streamed(&writer, "write", ctx.context().clone());
    let states = accumulate_text(
        text_deltas(run),
        w::Markdown::new("").id("letter").streaming(true),
    )
    .map(|md| -> WidgetRoot { w::Card::new().child(md).into() });
    ctx.stream_widget(WidgetSource::states(states), None)
        .await?;
    Ok("drafted".into())
}

#[tokio::test]
async fn pattern_b_tool_streams_a_widget_from_a_nested_run() {
    let agent = agent(vec![
        vec![Step::tool_call("draft_letter", json!({"to": "Harry"}))],
        vec![Step::text("Sent.")],
    ])
    .tool(draft_letter);
    let (ctx, _) = context().await;
    let (events, error) = chatkit_events(&ctx, &agent, Runner::new()).await;
    assert!(error.is_none(), "{error:?}");
    let widget_events: Vec<_> = events
        .iter()
        .filter(|e| {
            e["item"]["type"] == "widget"
                || e["update"]["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("widget."))
        })
        .collect();
    let deltas: String = widget_events
        .iter()
        .filter_map(|e| e["update"]["delta"].as_str())
        .collect();
    assert_eq!(deltas, "Dear Harry, you are a wizard.");
    assert_eq!(widget_events.first().unwrap()["type"], "thread.item.added");
    let done = widget_events.last().unwrap();
    assert_eq!(done["type"], "thread.item.done");
    assert_eq!(
        done["item"]["widget"]["children"][0],
        json!({"id": "letter", "type": "Markdown", "value": "Dear Harry, you are a wizard.", "streaming": false})
    );
}

/// Look up the weather.
#[function_tool]
async fn weather(city: String) -> String {
    format!("Sunny in {city}")
}

struct WeatherCard;

#[async_trait]
impl RunHooks<Ctx> for WeatherCard {
    async fn on_tool_end(
        &self,
        ctx: &ToolContext<Ctx>,
        _: &Agent<Ctx>,
        tool: &ToolDefinition,
        output: &str,
    ) -> Result<(), Tripwire> {
        if tool.name == "weather" {
            let card: WidgetRoot = w::Card::new().child(w::Text::new(output)).into();
            ctx.stream_widget(card, None)
                .await
                .map_err(|e| Tripwire(e.to_string()))?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn pattern_c_a_hook_streams_a_widget_on_tool_end() {
    let agent = agent(vec![
        vec![Step::tool_call("weather", json!({"city": "Oslo"}))],
        vec![Step::text("Enjoy.")],
    ])
    .tool(weather);
    let (ctx, _) = context().await;
    let (events, error) = chatkit_events(&ctx, &agent, Runner::new().hooks(WeatherCard)).await;
    assert!(error.is_none());
    assert_eq!(kinds(&events)[0], "item.done:widget");
    assert_eq!(
        events[0]["item"]["widget"]["children"][0]["value"],
        "Sunny in Oslo"
    );
}

#[tokio::test]
async fn widgets_stream_while_a_slow_tool_is_still_running() {
    /// Show progress, then take a while.
    #[function_tool]
    async fn slow_report(ctx: &ToolContext<Ctx>) -> Result<String, ToolError> {
        ctx.stream_widget(
            WidgetRoot::from(w::Card::new().child(w::Text::new("working"))),
            None,
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok("done".into())
    }
    let agent = agent(vec![
        vec![Step::tool_call("slow_report", json!({}))],
        vec![Step::text("ok")],
    ])
    .tool(slow_report);
    let (ctx, _) = context().await;
    let run = Runner::new().run_streamed(&agent, "go", ctx.clone());
    let mut stream = stream_agent_response(&ctx, run);
    let started = std::time::Instant::now();
    let first = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(&first, ThreadStreamEvent::ThreadItemDone { item } if matches!(**item, ThreadItem::Widget(_))),
        "{first:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "the widget arrived before the tool finished"
    );
    while stream.next().await.is_some() {}
}

#[tokio::test]
async fn the_events_of_a_context_can_only_be_streamed_once() {
    let (ctx, _) = context().await;
    let _first = ctx.take_events();
    let (events, error) =
        chatkit_events(&ctx, &agent(vec![vec![Step::text("x")]]), Runner::new()).await;
    assert!(events.is_empty());
    assert!(error
        .unwrap()
        .to_string()
        .contains("already being streamed"));
}

// ---- ScriptedModel: item ids, several parts, annotations per part ----------------------

#[tokio::test]
async fn scripted_messages_keep_given_ids_and_stream_each_part_with_its_annotations() {
    let (ctx, _) = context().await;
    let citation = ModelAnnotation::UrlCitation {
        url: "https://example.com/memo".into(),
        title: "Memo".into(),
        start_index: 0,
        end_index: 5,
    };
    let message = Step::message()
        .id("msg_answer")
        .text("First part.")
        .annotated_text("Second part.", vec![citation])
        .build();
    let (events, error) = chatkit_events(&ctx, &agent(vec![vec![message]]), Runner::new()).await;
    assert!(error.is_none(), "{error:?}");
    assert!(events
        .iter()
        .all(|e| e["item"]["id"].is_null() || e["item"]["id"] == "msg_answer"));
    let annotation = events
        .iter()
        .find(|e| e["update"]["type"] == "assistant_message.content_part.annotation_added")
        .expect("an annotation event");
    assert_eq!(annotation["update"]["content_index"], 1);
    assert_eq!(annotation["update"]["annotation_index"], 0);
    let done = events.last().unwrap();
    assert_eq!(done["item"]["id"], "msg_answer");
    let content = done["item"]["content"].as_array().unwrap();
    assert_eq!(content.len(), 2);
    assert_eq!(content[0]["text"], "First part.");
    assert_eq!(content[0]["annotations"], json!([]));
    assert_eq!(
        content[1]["annotations"][0]["source"]["url"],
        "https://example.com/memo"
    );
}

#[tokio::test]
async fn scripted_models_give_distinct_ids_across_models_unless_counting() {
    let first_id = |model: ScriptedModel| async move {
        let (ctx, _) = context().await;
        let agent = Agent::new("A", Arc::new(model));
        let (events, _) = chatkit_events(&ctx, &agent, Runner::new()).await;
        events.last().unwrap()["item"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let turn = || vec![vec![Step::text("Hi")]];
    let a = first_id(ScriptedModel::new(turn())).await;
    let b = first_id(ScriptedModel::new(turn())).await;
    assert_ne!(
        a, b,
        "two models, two runs: ids must not collide in a store"
    );
    let counted = first_id(ScriptedModel::new(turn()).with_counter_ids()).await;
    assert_eq!(
        counted, "msg_2",
        "resp_1 is the response, msg_2 its message"
    );
}
