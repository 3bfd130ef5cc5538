//! [`stream_widget`] and [`accumulate_text`]: widgets as stream events.

use futures::stream::{BoxStream, Stream, StreamExt};

use super::components::{Markdown, Text};
use super::diff::{diff_widget, DiffError};
use crate::types::widget::{WidgetComponent, WidgetRoot};
use crate::types::{
    StoreItemType, ThreadItem, ThreadMetadata, ThreadStreamEvent, Timestamp, WidgetItem,
};

/// Why a widget stream stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WidgetStreamError {
    /// The stream of widget states yielded nothing.
    #[error("the widget stream produced no state; yield at least one WidgetRoot")]
    Empty,
    /// Two consecutive states could not be diffed.
    #[error(transparent)]
    Diff(#[from] DiffError),
}

/// What [`stream_widget`] streams: one finished widget, or a stream of states.
pub enum WidgetSource {
    /// A finished widget: one `thread.item.done`.
    Static(WidgetRoot),
    /// Successive states: `thread.item.added`, updates, `thread.item.done`.
    States(BoxStream<'static, WidgetRoot>),
}

impl std::fmt::Debug for WidgetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WidgetSource::Static(root) => f.debug_tuple("Static").field(root).finish(),
            WidgetSource::States(_) => f.write_str("States(..)"),
        }
    }
}

impl From<WidgetRoot> for WidgetSource {
    fn from(root: WidgetRoot) -> Self {
        WidgetSource::Static(root)
    }
}

impl WidgetSource {
    /// A source from any stream of widget states.
    pub fn states(states: impl Stream<Item = WidgetRoot> + Send + 'static) -> Self {
        WidgetSource::States(states.boxed())
    }
}

/// Streams a widget into a thread, as the reference's `stream_widget`:
///
/// - a finished [`WidgetRoot`] gives one `thread.item.done` with a new widget item;
/// - a stream of states ([`WidgetSource::states`]) gives `thread.item.added` with the
///   first state, then one `thread.item.updated` per [`diff_widget`] update between
///   consecutive states, then `thread.item.done` with the last state. An empty stream
///   ends with [`WidgetStreamError::Empty`].
///
/// The item id comes from `generate_id(StoreItemType::Message)`; pass the store's id
/// generator, or [`crate::types::default_generate_id`].
///
/// ```
/// use chatkit_agents::types::{default_generate_id, ThreadMetadata, Timestamp};
/// use chatkit_agents::widgets::{self as w, stream_widget, WidgetRoot, WidgetSource};
/// use futures::StreamExt;
///
/// # futures::executor::block_on(async {
/// let thread = ThreadMetadata::new("thr_1", Timestamp::now());
/// let states = futures::stream::iter(["", "Hel", "Hello"]).map(|text| -> WidgetRoot {
///     w::Card::new().child(w::Markdown::new(text).id("m").streaming(true)).into()
/// });
/// let events: Vec<_> = stream_widget(&thread, WidgetSource::states(states), Some("copy".into()), default_generate_id)
///     .collect()
///     .await;
/// let types: Vec<_> = events.iter().map(|e| e.as_ref().unwrap().type_name()).collect();
/// assert_eq!(types, ["thread.item.added", "thread.item.updated", "thread.item.updated", "thread.item.done"]);
/// # });
/// ```
pub fn stream_widget(
    thread: &ThreadMetadata,
    widget: impl Into<WidgetSource>,
    copy_text: Option<String>,
    generate_id: impl FnOnce(StoreItemType) -> String,
) -> BoxStream<'static, Result<ThreadStreamEvent, WidgetStreamError>> {
    let id = generate_id(StoreItemType::Message);
    let thread_id = thread.id.clone();
    let source = widget.into();
    async_stream::stream! {
        let item = |widget: WidgetRoot| -> ThreadItem {
            WidgetItem {
                id: id.clone(),
                thread_id: thread_id.clone(),
                created_at: Timestamp::now(),
                widget,
                copy_text: copy_text.clone(),
            }
            .into()
        };
        let mut states = match source {
            WidgetSource::Static(root) => {
                yield Ok(ThreadStreamEvent::item_done(item(root)));
                return;
            }
            WidgetSource::States(states) => states,
        };
        let Some(first) = states.next().await else {
            yield Err(WidgetStreamError::Empty);
            return;
        };
        let mut added = item(first.clone());
        yield Ok(ThreadStreamEvent::item_added(added.clone()));
        let mut last = first;
        while let Some(next) = states.next().await {
            match diff_widget(&last, &next) {
                Ok(updates) => {
                    for update in updates {
                        yield Ok(ThreadStreamEvent::item_updated(id.clone(), update));
                    }
                }
                Err(e) => {
                    yield Err(e.into());
                    return;
                }
            }
            last = next;
        }
        // The done item keeps the added item's id and created_at; only the widget changes.
        if let ThreadItem::Widget(w) = &mut added {
            w.widget = last;
        }
        yield Ok(ThreadStreamEvent::item_done(added));
    }
    .boxed()
}

/// The `Text` or `Markdown` a streamed text starts from (see [`accumulate_text`]).
#[derive(Debug, Clone)]
pub struct StreamingTextBase(WidgetComponent);

impl From<Text> for StreamingTextBase {
    fn from(text: Text) -> Self {
        StreamingTextBase(text.into())
    }
}

impl From<Markdown> for StreamingTextBase {
    fn from(markdown: Markdown) -> Self {
        StreamingTextBase(markdown.into())
    }
}

/// Builds a growing `Text`/`Markdown` from text deltas, as the reference's
/// `accumulate_text`: yields `base`, then a copy whose `value` is all text so far after
/// each delta, then a final copy with `streaming: false`. Put each state in a root
/// (e.g. a `Card`) and feed the roots to [`stream_widget`].
///
/// ```
/// use chatkit_agents::widgets::{self as w, accumulate_text};
/// use futures::StreamExt;
///
/// # futures::executor::block_on(async {
/// let deltas = futures::stream::iter(["Hello, ", "world!"]);
/// let states: Vec<_> = accumulate_text(deltas, w::Text::new("").key("text").streaming(true)).collect().await;
/// let values: Vec<_> = states.iter().map(|s| s.get("value").unwrap().as_str().unwrap()).collect();
/// assert_eq!(values, ["", "Hello, ", "Hello, world!", "Hello, world!"]);
/// assert_eq!(states[3].get("streaming"), Some(&serde_json::json!(false)));
/// # });
/// ```
pub fn accumulate_text<'a, S>(
    deltas: S,
    base: impl Into<StreamingTextBase>,
) -> BoxStream<'a, WidgetComponent>
where
    S: Stream + Send + 'a,
    S::Item: AsRef<str> + Send,
{
    let StreamingTextBase(base) = base.into();
    async_stream::stream! {
        let mut text = String::new();
        yield base.clone();
        let mut deltas = std::pin::pin!(deltas);
        let mut current = base;
        while let Some(delta) = deltas.next().await {
            text.push_str(delta.as_ref());
            // Setting a string value on a Text/Markdown cannot break the tree.
            let _ = current.set("value", text.as_str());
            yield current.clone();
        }
        let _ = current.set("value", text.as_str());
        let _ = current.set("streaming", false);
        yield current;
    }
    .boxed()
}
