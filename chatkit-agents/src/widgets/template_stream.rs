//! [`WidgetSource::template`]: a templated widget whose one text field streams, at a cost
//! linear in the text.
//!
//! Rebuilding a template with the text so far on every delta and diffing each build
//! against the previous one costs the whole widget per delta: quadratic when the text is
//! most of the widget. But when the template only writes the field with `tojson`, the
//! field's text lands verbatim in one `value` of one `Text`/`Markdown`, and nothing else
//! in the widget depends on it. Then each delta is exactly the
//! `widget.streaming_text.value_delta` that rebuilding and diffing would give, and it can
//! be sent without building anything. [`Streamer`] checks that once per data (a render
//! with a stand-in for the field, see [`super::jinja::StreamedField`]), streams deltas
//! while it holds, rebuilds when the data changes, and falls back to rebuilding per delta
//! for templates that use the field any other way.

use std::sync::Arc;

use futures::stream::{BoxStream, Stream, StreamExt};
use serde_json::{Map, Value};

use super::diff::{diff_states, diff_widget, truthy, DiffCache};
use super::jinja::StreamedField;
use super::stream::WidgetStreamError;
use super::template::{TemplateError, WidgetTemplate};
use crate::python_json::{escaped_len, json_kind};
use crate::types::widget::WidgetRoot;
use crate::types::ThreadItemUpdate;

/// One input of a templated widget stream ([`WidgetSource::template`](super::WidgetSource::template)).
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateInput {
    /// Text appended to the streamed field.
    Text(String),
    /// New data for the template: the widget is rebuilt and diffed. The streamed field
    /// keeps its text unless this data sets it (to a string).
    Data(Value),
}

impl From<String> for TemplateInput {
    fn from(text: String) -> Self {
        TemplateInput::Text(text)
    }
}

impl From<&str> for TemplateInput {
    fn from(text: &str) -> Self {
        TemplateInput::Text(text.to_owned())
    }
}

/// A templated widget with one streamed text field and its inputs: what
/// [`WidgetSource::template`](super::WidgetSource::template) makes.
pub struct TemplateStream {
    pub(super) template: Arc<WidgetTemplate>,
    pub(super) field: String,
    pub(super) data: Value,
    pub(super) inputs: BoxStream<'static, TemplateInput>,
}

impl TemplateStream {
    pub(super) fn new(
        template: Arc<WidgetTemplate>,
        data: Value,
        field: String,
        inputs: impl Stream<Item = TemplateInput> + Send + 'static,
    ) -> Self {
        TemplateStream {
            template,
            field,
            data,
            inputs: inputs.boxed(),
        }
    }
}

impl std::fmt::Debug for TemplateStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateStream")
            .field("template", &self.template.name())
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

/// The state of a templated widget stream.
pub(super) struct Streamer {
    source: Source,
    mode: Mode,
    /// What one rebuild's diff found, for the next (rebuilds are consecutive states).
    cache: DiffCache,
}

/// What a build reads.
struct Source {
    template: Arc<WidgetTemplate>,
    field: String,
    /// The data without the streamed field.
    data: Map<String, Value>,
    /// The streamed field's text so far.
    text: String,
}

enum Mode {
    /// Appends are deltas of one node; nothing is rebuilt.
    Linear(Linear),
    /// Every input rebuilds the widget and diffs it against this one.
    Rebuild(WidgetRoot),
}

struct Linear {
    /// The widget as last built; the streamed node's value is `text[..base_len]`.
    base: WidgetRoot,
    base_len: usize,
    /// The node that shows the field, or `None` when the widget does not show it.
    target: Option<Target>,
    /// The rendered length of everything but the field's JSON string.
    other_bytes: usize,
    /// The length of the field's JSON string (quotes and `tojson` escapes included).
    text_bytes: usize,
}

struct Target {
    /// Child steps from the root to the node.
    path: Vec<Step>,
    /// The node's `id`: deltas of a node without one give no update, as in the diff.
    id: Option<String>,
    /// The deltas' `done` flag: the opposite of the node's `streaming`.
    done: bool,
}

#[derive(Clone, Copy)]
enum Step {
    /// `children[i]`.
    Index(usize),
    /// `children` when it is one component.
    Only,
}

fn template_error(error: TemplateError) -> WidgetStreamError {
    WidgetStreamError::Template(Arc::new(error))
}

impl Streamer {
    /// Builds the first state from `data`; the field's text starts as `data[field]`
    /// (or empty).
    pub(super) fn start(
        template: Arc<WidgetTemplate>,
        field: String,
        data: Value,
    ) -> Result<(Self, WidgetRoot), WidgetStreamError> {
        let mut source = Source {
            template,
            field,
            data: Map::new(),
            text: String::new(),
        };
        source.take_data(data)?;
        let first = source.build()?;
        let mode = source.mode_for(first.clone());
        Ok((
            Streamer {
                source,
                mode,
                cache: DiffCache::default(),
            },
            first,
        ))
    }

    /// Whether appends are streamed without rebuilding.
    #[cfg(test)]
    pub(super) fn is_linear(&self) -> bool {
        matches!(self.mode, Mode::Linear(_))
    }

    /// Applies one input; returns the updates a client needs.
    pub(super) fn apply(
        &mut self,
        input: TemplateInput,
    ) -> Result<Vec<ThreadItemUpdate>, WidgetStreamError> {
        match input {
            TemplateInput::Text(delta) => self.append(delta),
            TemplateInput::Data(data) => {
                let current = self.current();
                self.source.take_data(data)?;
                let next = self.source.build()?;
                let updates = diff_widget(&current, &next)?;
                // The next rebuild's `before` is a new build, not what the cache saw.
                self.cache = DiffCache::default();
                self.mode = self.source.mode_for(next);
                Ok(updates)
            }
        }
    }

    /// The last state. In linear mode the widget is rebuilt once, so the final state is
    /// the template's own output whatever happened; a difference from what was streamed
    /// comes out as updates (none, for a template that qualified).
    pub(super) fn finish(self) -> Result<(Vec<ThreadItemUpdate>, WidgetRoot), WidgetStreamError> {
        match self.mode {
            Mode::Rebuild(last) => Ok((Vec::new(), last)),
            Mode::Linear(ref linear) => {
                let streamed = self.source.current(linear);
                let rebuilt = self.source.build()?;
                Ok((diff_widget(&streamed, &rebuilt)?, rebuilt))
            }
        }
    }

    /// The widget the client has now.
    fn current(&self) -> WidgetRoot {
        match &self.mode {
            Mode::Rebuild(current) => current.clone(),
            Mode::Linear(linear) => self.source.current(linear),
        }
    }

    fn append(&mut self, delta: String) -> Result<Vec<ThreadItemUpdate>, WidgetStreamError> {
        let source = &mut self.source;
        match &mut self.mode {
            Mode::Rebuild(current) => {
                source.text.push_str(&delta);
                let next = source.build()?;
                let updates = diff_states(current, &next, Some(&mut self.cache))?;
                *current = next;
                Ok(updates)
            }
            Mode::Linear(linear) => {
                if linear.target.is_some() {
                    // What a rebuild would render, so the output cap fails at the same delta.
                    linear.text_bytes += escaped_len(&delta, true);
                    let limit = source.template.output_limit();
                    if linear.other_bytes.saturating_add(linear.text_bytes) > limit {
                        return Err(template_error(TemplateError::OutputTooLarge {
                            template: source.template.name().to_owned(),
                            limit,
                        }));
                    }
                }
                source.text.push_str(&delta);
                Ok(match &linear.target {
                    Some(Target {
                        id: Some(id), done, ..
                    }) if !delta.is_empty() => {
                        vec![ThreadItemUpdate::WidgetStreamingTextValueDelta {
                            component_id: id.clone(),
                            delta,
                            done: *done,
                        }]
                    }
                    _ => Vec::new(),
                })
            }
        }
    }
}

impl Source {
    /// Takes new data: an object (or null for none), whose streamed field, if present,
    /// replaces the text.
    fn take_data(&mut self, data: Value) -> Result<(), WidgetStreamError> {
        let mut data = match data {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                return Err(template_error(TemplateError::InvalidData {
                    template: self.template.name().to_owned(),
                    found: json_kind(&other).to_owned(),
                }))
            }
        };
        match data.shift_remove(&self.field) {
            None => {}
            Some(Value::String(text)) => self.text = text,
            Some(other) => {
                return Err(WidgetStreamError::FieldNotText {
                    field: self.field.clone(),
                    found: json_kind(&other),
                })
            }
        }
        self.data = data;
        Ok(())
    }

    /// A full build with the data and the text so far.
    fn build(&self) -> Result<WidgetRoot, WidgetStreamError> {
        let mut data = self.data.clone();
        data.insert(self.field.clone(), Value::String(self.text.clone()));
        self.template
            .build(Value::Object(data))
            .map_err(template_error)
    }

    /// The widget a client has in linear mode: the base with the text so far.
    fn current(&self, linear: &Linear) -> WidgetRoot {
        match &linear.target {
            Some(target) if linear.base_len != self.text.len() => {
                with_value(&linear.base, &target.path, &self.text)
            }
            _ => linear.base.clone(),
        }
    }

    /// Linear mode when the template qualifies for `built` (the build of the current data
    /// and text), rebuilding otherwise.
    fn mode_for(&self, built: WidgetRoot) -> Mode {
        match self.check_linear(&built) {
            Some((target, other_bytes)) => Mode::Linear(Linear {
                base_len: self.text.len(),
                text_bytes: escaped_len(&self.text, true) + 2,
                base: built,
                target,
                other_bytes,
            }),
            None => Mode::Rebuild(built),
        }
    }

    /// Renders the template with a stand-in for the field and decides whether appends to
    /// the field are deltas of one node: the stand-in was only written by `tojson`, at
    /// most once, as the `value` of a `Text`/`Markdown` whose id no other text node has,
    /// and the render is `built` but for that value. Returns the node (`None` when the
    /// field is not shown) and the rendered length besides the field.
    fn check_linear(&self, built: &WidgetRoot) -> Option<(Option<Target>, usize)> {
        let sentinel = format!("ck_streamed_{}", uuid::Uuid::new_v4().simple());
        let stand_in = StreamedField::new(sentinel);
        let context = minijinja::Value::from_pairs(
            self.data
                .iter()
                .map(|(key, value)| {
                    (
                        key.as_str(),
                        minijinja::Value::from(minijinja::value::Serde(value)),
                    )
                })
                .chain(std::iter::once((
                    self.field.as_str(),
                    minijinja::Value::from_dyn_object(stand_in.clone()),
                ))),
        );
        let rendered = self.template.render_value(context).ok()?;
        let written = stand_in.writes()?;
        let sentinel = stand_in.sentinel();
        if written == 0 {
            // The field is not shown: appends change nothing.
            let tree = self.template.parse_rendered(&rendered).ok()?;
            return (tree == *built).then_some((None, rendered.len()));
        }
        if written > 1 || rendered.matches(sentinel).count() != 1 {
            return None;
        }
        let tree = self.template.parse_rendered(&rendered).ok()?;
        let path = find_text_node(tree.props(), sentinel, &mut Vec::new())?;
        if with_value(&tree, &path, &self.text) != *built {
            return None;
        }
        let node = node_at(built.props(), &path)?;
        let id = node.get("id").and_then(Value::as_str);
        if id.is_some_and(|id| count_text_ids(built.props(), id) > 1) {
            // The diff refuses a delta for a shared id; rebuilding reproduces that.
            return None;
        }
        let target = Target {
            id: id.map(str::to_owned),
            done: !truthy(node.get("streaming")),
            path,
        };
        Some((Some(target), rendered.len() - (sentinel.len() + 2)))
    }
}

/// A `Text`/`Markdown` whose `value` is the streamed text (the diff's notion of a text node).
fn is_text_node(node: &Map<String, Value>) -> bool {
    matches!(
        node.get("type").and_then(Value::as_str),
        Some("Text" | "Markdown")
    ) && node.get("value").is_some_and(Value::is_string)
}

/// The path to the component whose `value` is `sentinel`, if that component is a text
/// node; `None` when the sentinel is anywhere else.
fn find_text_node(
    node: &Map<String, Value>,
    sentinel: &str,
    path: &mut Vec<Step>,
) -> Option<Vec<Step>> {
    if node.get("value").and_then(Value::as_str) == Some(sentinel) {
        return is_text_node(node).then(|| path.clone());
    }
    match node.get("children")? {
        Value::Object(child) => {
            path.push(Step::Only);
            let found = find_text_node(child, sentinel, path);
            path.pop();
            found
        }
        Value::Array(children) => children.iter().enumerate().find_map(|(i, child)| {
            let child = child.as_object()?;
            path.push(Step::Index(i));
            let found = find_text_node(child, sentinel, path);
            path.pop();
            found
        }),
        _ => None,
    }
}

fn child_at(node: &Map<String, Value>, step: Step) -> Option<&Map<String, Value>> {
    match (node.get("children")?, step) {
        (Value::Array(children), Step::Index(i)) => children.get(i)?.as_object(),
        (Value::Object(child), Step::Only) => Some(child),
        _ => None,
    }
}

fn node_at<'a>(root: &'a Map<String, Value>, path: &[Step]) -> Option<&'a Map<String, Value>> {
    path.iter()
        .try_fold(root, |node, step| child_at(node, *step))
}

/// How many text nodes of the tree have this id.
fn count_text_ids(node: &Map<String, Value>, id: &str) -> usize {
    let own = usize::from(is_text_node(node) && node.get("id").and_then(Value::as_str) == Some(id));
    own + match node.get("children") {
        Some(Value::Object(child)) => count_text_ids(child, id),
        Some(Value::Array(children)) => children
            .iter()
            .filter_map(Value::as_object)
            .map(|child| count_text_ids(child, id))
            .sum(),
        _ => 0,
    }
}

/// `root` with the `value` of the node at `path` set to `text`.
fn with_value(root: &WidgetRoot, path: &[Step], text: &str) -> WidgetRoot {
    let mut component = root.component().clone();
    let mut node = component.props_mut();
    for step in path {
        let child = match (node.get_mut("children"), step) {
            (Some(Value::Array(children)), Step::Index(i)) => children.get_mut(*i),
            (Some(child), Step::Only) => Some(child),
            _ => None,
        };
        match child.and_then(Value::as_object_mut) {
            Some(child) => node = child,
            None => {
                debug_assert!(false, "the path was found in this tree");
                return root.clone();
            }
        }
    }
    node.insert("value".to_owned(), Value::String(text.to_owned()));
    // Setting a string `value` keeps the component and its root type valid.
    WidgetRoot::new(component).unwrap_or_else(|_| root.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn streamer(source: &str, data: Value) -> Streamer {
        let template =
            WidgetTemplate::new(json!({"version": "1.0", "name": "t", "template": source}))
                .expect("the template compiles");
        Streamer::start(Arc::new(template), "answer".into(), data)
            .expect("the first build works")
            .0
    }

    const MARKDOWN: &str = r#"{"type":"Card","children":[{"type":"Markdown","id":"m","value":{{ answer | tojson }},"streaming":true}]}"#;

    #[test]
    fn templates_that_only_write_the_field_with_tojson_stream_linearly() {
        for source in [
            MARKDOWN,
            // Not shown at all.
            r#"{"type":"Card","children":[{"type":"Text","value":"fixed"}]}"#,
            // Defaulted, stored in a variable, or written inside a list passed to tojson.
            r#"{"type":"Card","children":[{"type":"Text","id":"t","value":{{ answer | default("") | tojson }}}]}"#,
            r#"{% set a = answer %}{"type":"Card","children":[{"type":"Text","id":"t","value":{{ a | tojson }}}]}"#,
            r#"{"type":"Card","children":[{"type":"Text","id":"t","value":{{ [answer][0] | tojson }}}]}"#,
        ] {
            let mut streamer = streamer(source, json!({}));
            assert!(streamer.is_linear(), "{source}");
            streamer.apply(TemplateInput::from("more")).unwrap();
            assert!(streamer.is_linear(), "{source}");
        }
    }

    #[test]
    fn any_other_use_of_the_field_rebuilds() {
        for source in [
            r#"{"type":"Card","children":[{"type":"Text","id":"a","value":"{{ answer }}"}]}"#,
            r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer | upper | tojson }}}]}"#,
            r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ (answer ~ "") | tojson }}}]}"#,
            r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer | tojson }},"streaming":{{ (answer | length > 3) | tojson }}}]}"#,
            r#"{"type":"Card"{% if answer %},"children":[]{% endif %}}"#,
            r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer[1:] | tojson }}}]}"#,
            r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer | trim | tojson }}}]}"#,
            r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer | tojson }}},{"type":"Text","id":"b","value":{{ answer | tojson }}}]}"#,
            r#"{"type":"Card","children":[{"type":"Badge","label":{{ answer | tojson }}}]}"#,
            r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ {"x": answer} | tojson | tojson }}}]}"#,
            // Its kind decides the structure: the stand-in is not a string, the build differs.
            r#"{"type":"Card","children":[{% if answer is string %}{"type":"Text","id":"a","value":{{ answer | tojson }}}{% endif %}]}"#,
            // The initial text decides the structure.
            r#"{"type":"Card","children":[{% if answer == "" %}{"type":"Text","id":"a","value":{{ answer | tojson }}}{% endif %}]}"#,
            // A shared id.
            r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer | tojson }}},{"type":"Text","id":"a","value":"x"}]}"#,
        ] {
            assert!(!streamer(source, json!({})).is_linear(), "{source}");
        }
    }

    #[test]
    fn deltas_are_the_texts_own_and_nothing_is_rebuilt() {
        let mut streamer = streamer(MARKDOWN, json!({}));
        let updates = streamer.apply(TemplateInput::from("a\"<é")).unwrap();
        assert_eq!(
            updates,
            [ThreadItemUpdate::WidgetStreamingTextValueDelta {
                component_id: "m".into(),
                delta: "a\"<é".into(),
                done: false,
            }]
        );
        assert!(streamer.apply(TemplateInput::from("")).unwrap().is_empty());
        let Mode::Linear(linear) = &streamer.mode else {
            panic!("linear")
        };
        assert_eq!(linear.base_len, 0, "the base is the first build");
        let (updates, last) = streamer.finish().unwrap();
        assert!(updates.is_empty());
        assert_eq!(last.props()["children"][0]["value"], "a\"<é");
    }
}
