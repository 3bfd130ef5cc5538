//! [`stream_widget`] and [`accumulate_text`]: widgets as stream events.

use std::sync::Arc;

use futures::stream::{BoxStream, Stream, StreamExt};
use serde_json::Value;

use super::components::{Markdown, Text};
use super::diff::{diff_states, DiffCache, DiffError};
use super::template::{TemplateError, WidgetTemplate};
use super::template_stream::{Streamer, TemplateInput, TemplateStream};
use crate::types::widget::{WidgetComponent, WidgetRoot};
use crate::types::{
    StoreItemType, ThreadItem, ThreadMetadata, ThreadStreamEvent, Timestamp, WidgetItem,
};

/// Why a widget stream stopped.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WidgetStreamError {
    /// The stream of widget states yielded nothing.
    #[error("the widget stream produced no state; yield at least one WidgetRoot")]
    Empty,
    /// Two consecutive states could not be diffed.
    #[error(transparent)]
    Diff(#[from] DiffError),
    /// A build of a templated widget failed ([`WidgetSource::template`]).
    #[error(transparent)]
    Template(Arc<TemplateError>),
    /// The data of a templated widget gave its streamed field a value that is not text.
    #[error("the streamed field {field:?} must be a string, got {found}")]
    FieldNotText {
        /// The field.
        field: String,
        /// What it was.
        found: &'static str,
    },
}

impl PartialEq for WidgetStreamError {
    /// Template errors compare by their message (they hold I/O errors, which do not
    /// compare).
    fn eq(&self, other: &Self) -> bool {
        use WidgetStreamError::*;
        match (self, other) {
            (Empty, Empty) => true,
            (Diff(a), Diff(b)) => a == b,
            (Template(a), Template(b)) => a.to_string() == b.to_string(),
            (
                FieldNotText { field, found },
                FieldNotText {
                    field: other_field,
                    found: other_found,
                },
            ) => field == other_field && found == other_found,
            _ => false,
        }
    }
}

impl Eq for WidgetStreamError {}

/// What [`stream_widget`] streams: one finished widget, a stream of states, or a
/// template whose text field streams.
#[non_exhaustive]
pub enum WidgetSource {
    /// A finished widget: one `thread.item.done`.
    Static(WidgetRoot),
    /// Successive states: `thread.item.added`, updates, `thread.item.done`.
    States(BoxStream<'static, WidgetRoot>),
    /// A template built once, whose streamed field's deltas become text deltas
    /// ([`WidgetSource::template`]).
    Template(TemplateStream),
}

impl std::fmt::Debug for WidgetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WidgetSource::Static(root) => f.debug_tuple("Static").field(root).finish(),
            WidgetSource::States(_) => f.write_str("States(..)"),
            WidgetSource::Template(stream) => f.debug_tuple("Template").field(stream).finish(),
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

    /// A widget built from `template` and `data`, whose text field `field` grows by the
    /// [`TemplateInput::Text`] inputs, in time linear in the text.
    ///
    /// This is the rebuild-per-delta pattern (build the template with the text so far on
    /// every delta, hand the builds to [`WidgetSource::states`]) without the rebuilds: it
    /// streams the same events, `thread.item.added` with the first build, the updates
    /// that diffing consecutive builds would give, and `thread.item.done` with the last
    /// build, but when the template only writes the field with `tojson` (as
    /// `"value": {{ field | tojson }}` of a `Text` or `Markdown`), each delta becomes its
    /// `widget.streaming_text.value_delta` directly. Nothing is rebuilt until a
    /// [`TemplateInput::Data`] input changes the other data, and once at the end.
    ///
    /// - The field's text starts as `data[field]` (a string) or empty.
    /// - [`TemplateInput::Data`] replaces the data: the widget is rebuilt and diffed
    ///   (turn `streaming` off at the end this way); the field keeps its text unless the
    ///   new data sets it.
    /// - A template that uses the field in any other way (prints it with `{{ }}`, joins
    ///   it with `~`, filters it, tests its truth or length, shows it twice or in a
    ///   prop other than a text node's `value`) is rebuilt and diffed per delta, with the
    ///   same events, at the rebuild-per-delta cost. The check renders the template once
    ///   with a stand-in for the field (and compares the result with the real first
    ///   build); it cannot see a comparison with a constant the text reaches only later
    ///   (`{% if answer == "Done." %}`): don't stream a field a template compares.
    ///   The final rebuild makes the last state the template's own output in any case.
    /// - A failing build ends the stream with [`WidgetStreamError::Template`], at the
    ///   same input as rebuilding would (the output cap is checked per delta).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::types::{default_generate_id, ThreadMetadata, Timestamp};
    /// use chatkit_agents::widgets::{stream_widget, TemplateInput, WidgetSource, WidgetTemplate};
    /// use futures::StreamExt;
    /// use serde_json::json;
    ///
    /// let template = Arc::new(WidgetTemplate::new(json!({
    ///     "version": "1.0",
    ///     "name": "answer",
    ///     "template": r#"{"type":"Card","children":[{"type":"Title","value":{{ title | tojson }}},
    ///         {"type":"Markdown","id":"answer","value":{{ answer | tojson }},"streaming":{{ streaming | tojson }}}]}"#,
    /// })).unwrap());
    /// let inputs = futures::stream::iter(["Hel", "lo"])
    ///     .map(TemplateInput::from)
    ///     .chain(futures::stream::once(async { TemplateInput::Data(json!({"title": "Reply", "streaming": false})) }));
    /// let source = WidgetSource::template(template, json!({"title": "Reply", "streaming": true}), "answer", inputs);
    /// # futures::executor::block_on(async {
    /// let thread = ThreadMetadata::new("thr_1", Timestamp::now());
    /// let events: Vec<_> = stream_widget(&thread, source, None, default_generate_id).collect().await;
    /// let json: Vec<_> = events.iter().map(|e| serde_json::to_value(e.as_ref().unwrap()).unwrap()).collect();
    /// assert_eq!(json[1]["update"], json!({"type": "widget.streaming_text.value_delta", "component_id": "answer", "delta": "Hel", "done": false}));
    /// assert_eq!(json[2]["update"]["delta"], "lo");
    /// assert_eq!(json[3]["update"]["type"], "widget.root.updated"); // streaming turned off
    /// assert_eq!(json[4]["item"]["widget"]["children"][1]["value"], "Hello");
    /// # });
    /// ```
    pub fn template(
        template: Arc<WidgetTemplate>,
        data: Value,
        field: impl Into<String>,
        inputs: impl Stream<Item = TemplateInput> + Send + 'static,
    ) -> Self {
        WidgetSource::Template(TemplateStream::new(template, data, field.into(), inputs))
    }
}

/// Streams a widget into a thread, as the reference's `stream_widget`:
///
/// - a finished [`WidgetRoot`] gives one `thread.item.done` with a new widget item;
/// - a stream of states ([`WidgetSource::states`]) gives `thread.item.added` with the
///   first state, then one `thread.item.updated` per [`diff_widget`](super::diff_widget) update between
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
            WidgetSource::Template(TemplateStream { template, field, data, mut inputs }) => {
                let (mut streamer, first) = match Streamer::start(template, field, data) {
                    Ok(started) => started,
                    Err(e) => {
                        yield Err(e);
                        return;
                    }
                };
                let mut added = item(first);
                yield Ok(ThreadStreamEvent::item_added(added.clone()));
                while let Some(input) = inputs.next().await {
                    match streamer.apply(input) {
                        Ok(updates) => {
                            for update in updates {
                                yield Ok(ThreadStreamEvent::item_updated(id.clone(), update));
                            }
                        }
                        Err(e) => {
                            yield Err(e);
                            return;
                        }
                    }
                }
                match streamer.finish() {
                    Ok((updates, last)) => {
                        for update in updates {
                            yield Ok(ThreadStreamEvent::item_updated(id.clone(), update));
                        }
                        if let ThreadItem::Widget(w) = &mut added {
                            w.widget = last;
                        }
                        yield Ok(ThreadStreamEvent::item_done(added));
                    }
                    Err(e) => yield Err(e),
                }
                return;
            }
        };
        let Some(first) = states.next().await else {
            yield Err(WidgetStreamError::Empty);
            return;
        };
        let mut added = item(first.clone());
        yield Ok(ThreadStreamEvent::item_added(added.clone()));
        let mut last = first;
        let mut cache = DiffCache::default();
        while let Some(next) = states.next().await {
            match diff_states(&last, &next, Some(&mut cache)) {
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
