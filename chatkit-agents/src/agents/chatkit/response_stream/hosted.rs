//! The provider's hosted tool calls (web and file search, code interpreter, remote MCP)
//! as tasks of the response's workflow: [`default_hosted_tool_task`].

use serde_json::Value;

use crate::types::{
    CustomTask, FileSource, FileTask, SearchTask, Task, TaskStatusIndicator, UrlSource,
};

/// The task that shows a hosted tool call (an output item of the Responses API, as it
/// starts and as it ends), or `None` for items not shown:
///
/// - `web_search_call`: a web search task with its queries and, when the response
///   includes them (`include: ["web_search_call.action.sources"]`), its sources;
/// - `file_search_call`: a file task with its queries in the title and the files found
///   (`include: ["file_search_call.results"]`);
/// - `code_interpreter_call`: a task with the code;
/// - `mcp_call`: a task titled with the server and tool, with the output or the error.
///
/// Each is loading until the call completes. When the answer is done, the pages and
/// files it cites are added to the sources of the last web and file search of the
/// workflow (which is then replaced), unless listed already.
///
/// ```
/// use chatkit_agents::agents::chatkit::default_hosted_tool_task;
/// use chatkit_agents::types::Task;
///
/// let item = serde_json::json!({"type": "web_search_call", "id": "ws_1", "status": "completed",
///     "action": {"type": "search", "query": "tallest peak in Alberta"}});
/// let Some(Task::WebSearch(search)) = default_hosted_tool_task(&item) else { panic!() };
/// assert_eq!(search.queries, ["tallest peak in Alberta"]);
/// ```
pub fn default_hosted_tool_task(item: &Value) -> Option<Task> {
    let status = if finished(item) {
        TaskStatusIndicator::Complete
    } else {
        TaskStatusIndicator::Loading
    };
    let task = match item["type"].as_str()? {
        "web_search_call" => {
            let action = &item["action"];
            let mut queries = strings(&action["queries"]);
            if queries.is_empty() {
                queries.extend(action["query"].as_str().map(str::to_owned));
            }
            let sources = action["sources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|source| {
                    let url = source["url"].as_str()?;
                    let title = source["title"].as_str().unwrap_or(url);
                    Some(UrlSource::new(title, url))
                })
                .collect();
            let title = match action["type"].as_str() {
                Some("open_page") => "Opened a page",
                Some("find_in_page") => "Searched a page",
                _ if status == TaskStatusIndicator::Loading => "Searching the web",
                _ => "Searched the web",
            };
            Task::WebSearch(SearchTask {
                status_indicator: status,
                title: Some(title.to_owned()),
                title_query: queries.first().cloned(),
                queries,
                sources,
            })
        }
        "file_search_call" => {
            let queries = strings(&item["queries"]);
            let sources = item["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|result| {
                    let name = result["filename"].as_str()?;
                    Some(FileSource::new(name, name))
                })
                .collect();
            let title = match queries.is_empty() {
                true => "Searched files".to_owned(),
                false => format!("Searched files for {}", queries.join(", ")),
            };
            Task::File(FileTask {
                status_indicator: status,
                title: Some(title),
                sources,
            })
        }
        "code_interpreter_call" => Task::Custom(CustomTask {
            status_indicator: status,
            title: Some("Ran code".to_owned()),
            icon: None,
            content: item["code"]
                .as_str()
                .filter(|code| !code.is_empty())
                .map(|code| format!("```python\n{code}\n```")),
        }),
        "mcp_call" => {
            let server = item["server_label"].as_str().unwrap_or("MCP");
            let tool = item["name"].as_str().unwrap_or("tool");
            let content = match (item["error"].as_str(), item["output"].as_str()) {
                (Some(error), _) => Some(format!("Failed: {error}")),
                (None, Some(output)) => Some(output.to_owned()),
                _ => None,
            };
            Task::Custom(CustomTask {
                status_indicator: status,
                title: Some(format!("{server}: {tool}")),
                icon: None,
                content,
            })
        }
        _ => return None,
    };
    Some(task)
}

/// Whether the call has ended (an MCP call ends with its output or error).
fn finished(item: &Value) -> bool {
    match item["status"].as_str() {
        Some(status) => matches!(status, "completed" | "failed" | "incomplete"),
        None => !item["output"].is_null() || !item["error"].is_null(),
    }
}

fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q.as_str().map(str::to_owned))
        .collect()
}
