//! The demo's widget state, kept on the server in the thread's metadata (which clients
//! never see), so that widget actions carry only ids.
//!
//! Action payloads come from the browser and are untrusted: a payload that carried the
//! whole task list would let any client make the server render whatever list it sent,
//! as large as it liked. Here a payload names a task or a city; the server looks it up
//! in what it stored itself, refuses what it does not know, and bounds every input.

use serde::Deserialize;
use serde_json::Value;

use chatkit_agents::server::ThreadHandle;
use chatkit_agents::types::{Action, ThreadMetadata};

use super::widgets::{initial_tasks, Task};

/// The thread metadata key of the thread's task list.
const TASKS: &str = "demo_tasks";
/// The thread metadata key of the weather cards' refresh counts, by city.
const WEATHER: &str = "demo_weather";
/// The longest task id or city an action payload may name.
const MAX_NAME_LEN: usize = 100;

/// Why an action cannot be carried out; the message is for the user.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub String);

/// The payload of the task list's actions.
#[derive(Deserialize)]
struct TaskRef {
    id: String,
}

/// The payload of the weather card's refresh button.
#[derive(Deserialize)]
struct CityRef {
    city: String,
}

fn bounded(name: String, what: &str) -> Result<String, Refused> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Refused(format!(
            "That {what} is not one this server knows."
        )));
    }
    Ok(name)
}

fn parse<T: serde::de::DeserializeOwned>(action: &Action) -> Result<T, Refused> {
    action.parse_payload().map_err(|error| {
        tracing::warn!(%error, action = %action.action_type, "rejected an action payload");
        Refused("That action could not be read. Please try again.".into())
    })
}

/// The thread's task list (the initial one until the first change).
pub fn tasks(thread: &ThreadMetadata) -> Vec<Task> {
    thread
        .metadata
        .get(TASKS)
        .and_then(|tasks| serde_json::from_value(tasks.clone()).ok())
        .unwrap_or_else(initial_tasks)
}

/// Stores the task list in the thread's metadata (the pipeline saves it).
pub fn set_tasks(thread: &ThreadHandle, tasks: &[Task]) {
    thread.update(|thread| put_tasks(thread, tasks));
}

/// Stores the task list in a thread you save yourself.
pub fn put_tasks(thread: &mut ThreadMetadata, tasks: &[Task]) {
    let tasks = serde_json::to_value(tasks).unwrap_or(Value::Null);
    thread.metadata.insert(TASKS.into(), tasks);
}

/// Applies a task action (`tasks.toggle`, `tasks.star`) to `tasks`: finds the task the
/// payload names and lets `change` update it.
pub fn change_task(
    tasks: &mut [Task],
    action: &Action,
    change: impl FnOnce(&mut Task),
) -> Result<Task, Refused> {
    let TaskRef { id } = parse(action)?;
    let id = bounded(id, "task")?;
    let task = tasks
        .iter_mut()
        .find(|task| task.id == id)
        .ok_or_else(|| Refused("That task no longer exists.".into()))?;
    change(task);
    Ok(task.clone())
}

/// The title of a task to add, from a form's `title` field (bounded, trimmed), and the
/// task: a new id after the list's own.
pub fn add_task(tasks: &mut Vec<Task>, action: &Action) -> Result<Task, Refused> {
    #[derive(serde::Deserialize)]
    struct NewTask {
        title: String,
    }
    let NewTask { title } = parse(action)?;
    let title = bounded(title.trim().to_owned(), "task")?;
    let next = tasks
        .iter()
        .filter_map(|task| task.id.strip_prefix("task_")?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let task = Task {
        id: format!("task_{next}"),
        title,
        done: false,
        starred: false,
    };
    tasks.push(task.clone());
    Ok(task)
}

/// Removes the task whose title (case aside) or id is `name` (bounded: it comes from the
/// model).
pub fn remove_task(tasks: &mut Vec<Task>, name: &str) -> Result<Task, Refused> {
    let name = bounded(
        name.trim().trim_matches(['"', '\'', '“', '”']).to_owned(),
        "task",
    )?;
    let index = tasks
        .iter()
        .position(|task| task.id == name || task.title.eq_ignore_ascii_case(&name))
        .ok_or_else(|| Refused(format!("There is no task called \"{name}\".")))?;
    Ok(tasks.remove(index))
}

/// Records that the weather card for `city` was shown (with no refreshes yet).
pub fn weather_shown(thread: &ThreadHandle, city: &str) {
    thread.update(|thread| {
        let cities = thread
            .metadata
            .entry(WEATHER)
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(cities) = cities {
            cities.entry(city).or_insert(Value::from(0u32));
        }
    });
}

/// Counts one more refresh of a card the server showed, returning its city and count.
pub fn refresh_weather(thread: &ThreadHandle, action: &Action) -> Result<(String, u32), Refused> {
    let CityRef { city } = parse(action)?;
    let city = bounded(city, "city")?;
    thread.update(|thread| {
        let count = thread
            .metadata
            .get_mut(WEATHER)
            .and_then(|cities| cities.get_mut(&city))
            .ok_or_else(|| Refused("That weather card is not one this server showed.".into()))?;
        let refreshes = count
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
            .saturating_add(1);
        *count = Value::from(refreshes);
        Ok((city.clone(), refreshes))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatkit_agents::types::Timestamp;
    use serde_json::json;

    fn action(payload: Value) -> Action {
        serde_json::from_value(json!({"type": "tasks.toggle", "payload": payload})).unwrap()
    }

    #[test]
    fn task_actions_name_known_tasks_only() {
        let mut tasks = initial_tasks();
        let toggled = change_task(&mut tasks, &action(json!({"id": "t1"})), |t| {
            t.done = !t.done
        });
        assert!(toggled.unwrap().done);
        for payload in [
            json!({"id": "nope"}),
            json!({"id": "x".repeat(10_000)}),
            json!({"id": 5}),
            json!({"tasks": []}),
        ] {
            assert!(
                change_task(&mut tasks, &action(payload.clone()), |_| {}).is_err(),
                "{payload}"
            );
        }
    }

    #[test]
    fn refreshes_count_up_without_overflow_for_shown_cards_only() {
        let thread = ThreadHandle::new(ThreadMetadata::new("thr", Timestamp::now()));
        let refresh = |city: &str| refresh_weather(&thread, &action(json!({"city": city})));
        assert!(refresh("Paris").is_err(), "a card never shown");
        weather_shown(&thread, "Paris");
        assert_eq!(refresh("Paris"), Ok(("Paris".into(), 1)));
        thread.update(|t| {
            t.metadata
                .insert(WEATHER.into(), json!({"Paris": u32::MAX}))
        });
        assert_eq!(refresh("Paris"), Ok(("Paris".into(), u32::MAX)));
    }
}
