//! What responses' model calls used: saved per thread, day and model when a response
//! ends, shown in the thread's metadata when the server says so, and read back for a
//! thread or a user ([`usage`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;

use super::{ChatKitServer, ProcessError, ThreadHandle};
use crate::store::{StoreError, TokenUsage, UsageQuery, UsageRecord};
use crate::types::ThreadMetadata;

/// The thread metadata key under which a thread's token totals are kept when
/// [`ChatKitServer::usage_in_thread_metadata`] is on: a [`TokenUsage`] object with
/// `total_tokens` added.
pub const USAGE_METADATA_KEY: &str = "usage";

/// A user's token usage, for billing or quotas: one [`UsageRecord`] per UTC day and model,
/// of one thread (`query.thread_id`; a thread the user cannot see is
/// [`ProcessError::NotFound`]) or of all of the user's threads, deleted ones included.
/// What `GET <path>/usage` answers (feature `axum`).
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::server::{process, respond_with, usage, ProcessResult};
/// use chatkit_agents::store::{total_usage, MemoryStore, UsageQuery};
/// use chatkit_agents::agents::{Agent, Runner, chatkit::{stream_agent_response, AgentContext}};
/// use chatkit_agents::testing::{ScriptedModel, Step};
/// use futures::StreamExt;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Arc::new(MemoryStore::new());
/// let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("Hello there")]]));
/// let agent = Agent::new("Greeter", model);
/// let runs = store.clone();
/// let server = Arc::new(respond_with(store, move |thread, input, ctx: ()| {
///     let context = AgentContext::new(thread, runs.clone(), ctx);
///     let text = input.map(|m| m.text()).unwrap_or_default();
///     stream_agent_response(&context, Runner::new().run_streamed(&agent, text, context.clone()))
/// }));
/// let body = br#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}"#;
/// let Ok(ProcessResult::Streaming(answer)) = process(&server, body, ()).await else { unreachable!() };
/// answer.collect::<Vec<_>>().await;
/// let rows = usage(&server, &UsageQuery::all_threads(), &()).await?;
/// assert_eq!(rows[0].model, "scripted");
/// assert_eq!(total_usage(&rows).output_tokens, 2);
/// # Ok::<(), chatkit_agents::server::ProcessError>(())
/// # }).unwrap();
/// ```
pub async fn usage<S: ChatKitServer>(
    server: &Arc<S>,
    query: &UsageQuery,
    context: &S::Context,
) -> Result<Vec<UsageRecord>, ProcessError> {
    let store = server.store();
    if let Some(thread_id) = &query.thread_id {
        store.load_thread(thread_id, context).await?;
    }
    Ok(store.load_usage(query, context).await?)
}

/// Saves the usage counted on `thread` since the last save (the pipeline calls it when a
/// response ends, and when it is cancelled): per day and model in the store, then into
/// the thread's metadata when the server shows it there (the caller saves the thread).
/// The tokens count against the user's token limit. Returns them. A store that keeps
/// no usage is said once in the log; a failing store is logged and loses only this count.
pub(crate) async fn save_usage<S: ChatKitServer>(
    server: &S,
    thread: &ThreadHandle,
    ctx: &S::Context,
) -> TokenUsage {
    let counted = thread.take_usage();
    let mut total = TokenUsage::default();
    if counted.is_empty() {
        return total;
    }
    let store = server.store();
    let day = chrono::Utc::now().date_naive();
    for (model, usage) in &counted {
        total.add(usage);
        match store.add_usage(thread.id(), day, model, usage, ctx).await {
            Ok(()) => {}
            Err(StoreError::Unsupported(message)) => {
                static SAID: AtomicBool = AtomicBool::new(false);
                if !SAID.swap(true, Ordering::Relaxed) {
                    tracing::info!("token usage is not kept: {message}");
                }
            }
            Err(error) => {
                tracing::warn!(thread_id = thread.id(), model, %error, "saving token usage failed; this response's usage is lost");
            }
        }
    }
    if server.usage_in_thread_metadata() {
        thread.update(|t| add_to_metadata(t, &total));
    }
    if let Some(limits) = server.limits(ctx) {
        limits.add_tokens(total.total_tokens()).await;
    }
    total
}

/// Adds `usage` to the totals in the thread's metadata (a value that does not read as
/// totals is replaced).
pub(crate) fn add_to_metadata(thread: &mut ThreadMetadata, usage: &TokenUsage) {
    let mut totals = thread
        .metadata
        .get(USAGE_METADATA_KEY)
        .and_then(|value| serde_json::from_value::<TokenUsage>(value.clone()).ok())
        .unwrap_or_default();
    totals.add(usage);
    let mut value = serde_json::to_value(totals).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.insert("total_tokens".into(), totals.total_tokens().into());
    }
    thread.metadata.insert(USAGE_METADATA_KEY.into(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Timestamp;

    #[test]
    fn metadata_totals_add_up_and_replace_what_is_not_totals() {
        let mut thread = ThreadMetadata::new("thr_1", Timestamp::now());
        thread
            .metadata
            .insert(USAGE_METADATA_KEY.into(), "not totals".into());
        let run = TokenUsage {
            requests: 1,
            input_tokens: 100,
            output_tokens: 20,
            ..Default::default()
        };
        add_to_metadata(&mut thread, &run);
        add_to_metadata(&mut thread, &run);
        assert_eq!(
            thread.metadata[USAGE_METADATA_KEY],
            serde_json::json!({"requests": 2, "input_tokens": 200, "cached_input_tokens": 0,
                "output_tokens": 40, "reasoning_tokens": 0, "total_tokens": 240})
        );
    }
}
