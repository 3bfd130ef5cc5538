//! The demo's widgets, built with the typed builders.

use chatkit_agents::types::{ActionConfig, BuiltinIcon, Handler, LoadingBehavior};
use chatkit_agents::widgets::{self as w, WidgetRoot};
use serde::{Deserialize, Serialize};

/// A made-up weather reading (the demo has no network).
pub fn reading(city: &str, refreshes: u32) -> (i64, &'static str) {
    let seed = city.bytes().fold(refreshes, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    let conditions = ["Sunny", "Cloudy", "Light rain", "Windy", "Clear skies"];
    (8 + i64::from(seed % 20), conditions[(seed % 5) as usize])
}

/// A weather card with a refresh button (a server action naming only the city; the
/// server counts the refreshes).
pub fn weather_card(city: &str, refreshes: u32) -> WidgetRoot {
    let (temperature, conditions) = reading(city, refreshes);
    w::Card::new()
        .size(w::CardSize::Sm)
        .child(w::Caption::new("Weather").color("secondary"))
        .child(w::Title::new(city).size(w::TitleSize::Lg))
        .child(
            w::Row::new()
                .gap(2)
                .align(w::Alignment::Center)
                .child(w::Icon::new(BuiltinIcon::Sparkle).size(w::IconSize::Lg))
                .child(
                    w::Text::new(format!("{temperature}°C"))
                        .size(w::TextSize::Xl)
                        .weight(w::FontWeight::Semibold),
                )
                .child(w::Text::new(conditions).color("secondary")),
        )
        .child(
            w::Button::new()
                .label("Refresh")
                .icon_start(BuiltinIcon::Reload)
                .variant(w::ControlVariant::Outline)
                .on_click_action(
                    ActionConfig::new("weather.refresh")
                        .payload(serde_json::json!({"city": city}))
                        .loading_behavior(LoadingBehavior::SelfOnly),
                ),
        )
        .child(
            // Handled by the page (`widgets.onAction`), never sent to the server.
            w::Button::new()
                .label("Open map")
                .icon_start(BuiltinIcon::MapPin)
                .variant(w::ControlVariant::Ghost)
                .on_click_action(
                    ActionConfig::new("weather.open_map")
                        .payload(serde_json::json!({"city": city}))
                        .handler(Handler::Client),
                ),
        )
        .into()
}

/// One task of the demo's task list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Task id.
    pub id: String,
    /// What to do.
    pub title: String,
    /// Done or not.
    pub done: bool,
    /// Starred (toggled without a stream: `streaming: false`).
    pub starred: bool,
}

/// The demo's initial tasks.
pub fn initial_tasks() -> Vec<Task> {
    [
        ("t1", "Read the ChatKit protocol"),
        ("t2", "Write a tool with #[function_tool]"),
        ("t3", "Stream a widget"),
    ]
    .into_iter()
    .map(|(id, title)| Task {
        id: id.into(),
        title: title.into(),
        done: false,
        starred: false,
    })
    .collect()
}

/// The task list: clicking a row toggles it on the server (a streamed action); the star
/// button answers synchronously (`streaming: false`); a form at the end adds a task. Actions carry only the task id:
/// the list itself lives on the server ([`super::state`]).
pub fn task_list(tasks: &[Task]) -> WidgetRoot {
    let rows = tasks.iter().map(|task| {
        w::ListViewItem::new()
            .key(task.id.clone())
            .gap(2)
            .align(w::Alignment::Center)
            .on_click_action(
                ActionConfig::new("tasks.toggle").payload(serde_json::json!({"id": task.id})),
            )
            .child(w::Icon::new(if task.done {
                BuiltinIcon::CheckCircleFilled
            } else {
                BuiltinIcon::EmptyCircle
            }))
            .child(w::Text::new(task.title.clone()).line_through(task.done))
            .child(w::Spacer::new())
            .child(
                w::Button::new()
                    .icon_start(if task.starred {
                        BuiltinIcon::StarFilled
                    } else {
                        BuiltinIcon::Star
                    })
                    .variant(w::ControlVariant::Ghost)
                    .uniform(true)
                    .on_click_action(
                        ActionConfig::new("tasks.star")
                            .payload(serde_json::json!({"id": task.id}))
                            .streaming(false)
                            .loading_behavior(LoadingBehavior::None),
                    ),
            )
    });
    let done = tasks.iter().filter(|t| t.done).count();
    // A form: its fields' values go to the server in the action's payload.
    let add = w::ListViewItem::new().key("add").child(
        w::Form::new()
            .direction(w::Direction::Row)
            .gap(2)
            .on_submit_action(ActionConfig::new("tasks.add"))
            .child(
                w::Input::new("title")
                    .placeholder("New task")
                    .required(true),
            )
            .child(w::Button::new().label("Add").submit(true)),
    );
    w::ListView::new()
        .status(w::WidgetStatus::icon(
            format!("{done} of {} done", tasks.len()),
            BuiltinIcon::Check,
        ))
        .extend(rows)
        .child(add)
        .into()
}

/// The card a note is written into, as it grows.
pub fn note_card(markdown: chatkit_agents::widgets::WidgetComponent) -> WidgetRoot {
    w::Card::new()
        .child(w::Caption::new("Draft").color("secondary"))
        .child(markdown)
        .into()
}
