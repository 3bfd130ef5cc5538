//! The demo agent's tools: each streams a widget through the `AgentContext`.

use std::sync::Arc;

use chatkit_agents::agents::{
    chatkit::{AgentContext, ClientToolCall},
    function_tool,
    model::Model,
    text_deltas, Agent, Runner, ToolContext, ToolError,
};
use chatkit_agents::types::{
    CustomTask, Task, TaskStatusIndicator, ThreadStreamEvent, Workflow, WorkflowSummary,
    WorkflowType,
};
use chatkit_agents::widgets::{self as w, accumulate_text, WidgetSource};
use futures::StreamExt;

use super::state;
use super::widgets::{note_card, reading, task_list, weather_card};
use super::RequestContext;

/// The run context of the demo's agents.
pub type Ctx = AgentContext<RequestContext>;

/// Show the current weather for a city as a card.
///
/// # Arguments
///
/// * `city` - The city, e.g. "Paris".
#[function_tool]
pub async fn get_weather(ctx: &ToolContext<Ctx>, city: String) -> Result<String, ToolError> {
    ctx.stream(ThreadStreamEvent::progress(format!(
        "Checking the sky over {city}..."
    )));
    state::weather_shown(ctx.context().thread(), &city);
    ctx.stream_widget(weather_card(&city, 0), Some(format!("Weather in {city}")))
        .await?;
    let (temperature, conditions) = reading(&city, 0);
    Ok(format!(
        "{city}: {temperature}°C, {conditions}. A card with the reading is shown to the user."
    ))
}

/// Show the user's task list, where they can tick tasks off.
#[function_tool]
pub async fn show_tasks(ctx: &ToolContext<Ctx>) -> Result<String, ToolError> {
    let thread = ctx.context().thread();
    let tasks = state::tasks(&thread.snapshot());
    state::set_tasks(thread, &tasks);
    ctx.stream_widget(task_list(&tasks), Some("Task list".into()))
        .await?;
    Ok(format!(
        "The task list with {} tasks is shown to the user.",
        tasks.len()
    ))
}

/// Draft a short note on a topic; the note appears as it is written.
///
/// # Arguments
///
/// * `topic` - What the note is about.
#[function_tool]
pub async fn draft_note(ctx: &ToolContext<Ctx>, topic: String) -> Result<String, ToolError> {
    let writer_model: Arc<dyn Model> = ctx.context().request_context().writer_model.clone();
    let writer: Agent<Ctx> = Agent::new("Writer", writer_model)
        .instructions("You write short, friendly notes in Markdown.");
    let run = Runner::new().run_streamed(
        &writer,
        format!("Write a short note about {topic}."),
        ctx.context().clone(),
    );
    let states = accumulate_text(
        text_deltas(run),
        w::Markdown::new("").id("note").streaming(true),
    )
    .map(note_card);
    ctx.stream_widget(
        WidgetSource::states(states),
        Some(format!("Note about {topic}")),
    )
    .await?;
    Ok(format!(
        "A note about {topic} was drafted and shown to the user."
    ))
}

/// Delete a task from the user's task list. The user approves each call first: the run
/// stops with an approval card, and resumes when they click.
///
/// # Arguments
///
/// * `task` - The task's title (or id), e.g. "Stream a widget".
#[function_tool(needs_approval)]
pub async fn delete_task(ctx: &ToolContext<Ctx>, task: String) -> Result<String, ToolError> {
    let thread = ctx.context().thread();
    let mut tasks = state::tasks(&thread.snapshot());
    let removed = state::remove_task(&mut tasks, &task)
        .map_err(|state::Refused(message)| ToolError::new(message))?;
    state::set_tasks(thread, &tasks);
    Ok(format!(
        "Deleted the task \"{}\"; {} tasks are left.",
        removed.title,
        tasks.len()
    ))
}

/// How long each step of [`research`] takes.
pub const RESEARCH_STEP: std::time::Duration = std::time::Duration::from_millis(1500);

/// The sources [`research`] reads, in order.
const RESEARCH_STEPS: [&str; 4] = [
    "Reading the documentation",
    "Reading the issue tracker",
    "Comparing with peers",
    "Writing up the findings",
];

/// Research a topic: a workflow of four steps that takes a few seconds, shown as it
/// goes. Long enough to reload the page mid-way (with `CHATKIT_RUNS=detach` the work
/// goes on and its tasks appear on reload).
///
/// # Arguments
///
/// * `topic` - What to research, e.g. "Rust async runtimes".
#[function_tool]
pub async fn research(ctx: &ToolContext<Ctx>, topic: String) -> Result<String, ToolError> {
    let context = ctx.context();
    context.start_workflow(Workflow::new(WorkflowType::Custom));
    for (index, step) in RESEARCH_STEPS.iter().enumerate() {
        context.add_workflow_task(Task::Custom(CustomTask {
            title: Some(format!("{step}: {topic}")),
            status_indicator: TaskStatusIndicator::Loading,
            ..Default::default()
        }));
        tokio::time::sleep(RESEARCH_STEP).await;
        context
            .update_workflow_task(
                Task::Custom(CustomTask {
                    title: Some(format!("{step}: {topic}")),
                    status_indicator: TaskStatusIndicator::Complete,
                    ..Default::default()
                }),
                index,
            )
            .map_err(|e| ToolError::new(e.to_string()))?;
    }
    context.end_workflow(
        Some(WorkflowSummary::Custom {
            title: format!("Researched {topic}"),
            icon: None,
        }),
        false,
    );
    Ok(format!(
        "Research on {topic}: {} sources read, findings written.",
        RESEARCH_STEPS.len()
    ))
}

/// Ask the user's browser for its local time (a client tool: the page answers it).
#[function_tool]
pub async fn get_local_time(ctx: &ToolContext<Ctx>) -> &'static str {
    ctx.set_client_tool_call(ClientToolCall {
        name: "get_local_time".into(),
        arguments: serde_json::Map::new(),
    });
    "Asked the browser for its local time."
}
