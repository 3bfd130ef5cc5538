//! [`diff_widget`]: the updates that turn one widget state into the next.

use serde_json::{Map, Value};
use smallvec::SmallVec;

mod text;

pub(crate) use text::Cache as DiffCache;

use crate::types::widget::WidgetRoot;
use crate::types::ThreadItemUpdate;

/// Why two widget states cannot be diffed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// A streaming text node whose value grew shares its `id` with another node, so a
    /// client could not tell which one the delta is for. (The reference silently streams
    /// to the last node with that id and drops the others' text.)
    #[error("widget id {id:?} is used by more than one Text/Markdown node; streaming text needs unique ids")]
    DuplicateId {
        /// The id.
        id: String,
    },
}

/// The updates from `before` to `after`, as the reference computes them:
///
/// - `Text`/`Markdown` nodes with an `id` whose `value` only grew by appending give one
///   `widget.streaming_text.value_delta` each (`done` is the opposite of the node's
///   `streaming` flag), in the `after` tree's pre-order;
/// - any other difference (a prop, a non-append edit, a new, removed or renamed node, a
///   changed `streaming` flag) gives a single `widget.root.updated` with `after`;
/// - no difference gives no updates.
///
/// Where the reference misbehaves this function does the sensible thing: a prop present
/// on one side only (an `AttributeError` in the reference for template-built widgets) is
/// a root replacement; text under a `Transition` streams like any other; and a delta for
/// an id that several text nodes share is a [`DiffError::DuplicateId`] instead of a
/// silently lost update. As in the reference, appending to a text node *without* an id
/// gives no update (the final `thread.item.done` carries the text).
///
/// The walk visits each node once and compares strings by prefix only, so diffing a
/// growing text costs one `memcmp` of the previous value per state.
///
/// ```
/// use chatkit_agents::types::ThreadItemUpdate;
/// use chatkit_agents::widgets::{self as w, diff_widget, WidgetRoot};
///
/// let before: WidgetRoot = w::Card::new().child(w::Markdown::new("Hel").id("m").streaming(true)).into();
/// let after: WidgetRoot = w::Card::new().child(w::Markdown::new("Hello").id("m").streaming(true)).into();
/// assert_eq!(
///     diff_widget(&before, &after).unwrap(),
///     vec![ThreadItemUpdate::WidgetStreamingTextValueDelta {
///         component_id: "m".into(),
///         delta: "lo".into(),
///         done: false,
///     }]
/// );
/// ```
pub fn diff_widget(
    before: &WidgetRoot,
    after: &WidgetRoot,
) -> Result<Vec<ThreadItemUpdate>, DiffError> {
    diff_states(before, after, None)
}

/// [`diff_widget`] for consecutive states of one stream: the cache carries what one diff
/// learned about its `after` to the next diff, whose `before` it is.
pub(crate) fn diff_states(
    before: &WidgetRoot,
    after: &WidgetRoot,
    cache: Option<&mut DiffCache>,
) -> Result<Vec<ThreadItemUpdate>, DiffError> {
    // Template builds keep their canonical text: the usual streaming step is found in
    // it without parsing either tree.
    match (before.canonical_json(), after.canonical_json(), cache) {
        (Some(b), Some(a), cache) => {
            if let Some(updates) = text::diff(b, a, cache) {
                return updates;
            }
        }
        // What the cache knows is about a text this stream has now left behind.
        (_, _, Some(cache)) => *cache = DiffCache::default(),
        (_, _, None) => {}
    }
    diff_trees(before, after)
}

/// [`diff_widget`] by walking the two trees.
fn diff_trees(before: &WidgetRoot, after: &WidgetRoot) -> Result<Vec<ThreadItemUpdate>, DiffError> {
    let mut walk = Walk::default();
    if walk.node(before.props(), after.props()) == Verdict::Replace {
        return Ok(vec![ThreadItemUpdate::root_updated(after.clone())]);
    }
    if let Some(id) = walk.ambiguous_delta() {
        return Err(DiffError::DuplicateId { id: id.to_owned() });
    }
    Ok(walk
        .deltas
        .into_iter()
        .map(|d| ThreadItemUpdate::WidgetStreamingTextValueDelta {
            component_id: d.id.to_owned(),
            delta: d.delta.to_owned(),
            done: d.done,
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Same,
    Replace,
}

struct Delta<'a> {
    id: &'a str,
    delta: &'a str,
    done: bool,
}

#[derive(Default)]
struct Walk<'a> {
    // Inline: most widgets stream one or two texts, so a diff allocates only its result.
    deltas: SmallVec<[Delta<'a>; 2]>,
    /// Ids of every streaming text node of `after`, to detect ambiguous deltas.
    text_ids: SmallVec<[&'a str; 4]>,
}

/// Python truthiness, for the `streaming` flag of dynamic components.
pub(super) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Equality as Python compares decoded JSON: `2 == 2.0`.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

impl<'a> Walk<'a> {
    /// Compares one node and its subtree, recording deltas; `Replace` as soon as any
    /// difference cannot be streamed.
    ///
    /// Both trees keep insertion order, and a state and its successor almost always list
    /// their props in the same order, so the props are walked pairwise without hashing;
    /// nodes whose key order differs fall back to lookups.
    fn node(&mut self, before: &'a Map<String, Value>, after: &'a Map<String, Value>) -> Verdict {
        if before.len() != after.len() {
            return Verdict::Replace;
        }
        let mut node_type = None;
        let mut node_id = None;
        let mut value = None;
        let mut streaming = None;
        let mut changed_value = None;
        let same_order = before.keys().zip(after.keys()).all(|(b, a)| b == a);
        let mut in_order = before.values();
        for (key, after_value) in after {
            let before_value = if same_order {
                in_order.next()
            } else {
                before.get(key)
            };
            let Some(before_value) = before_value else {
                return Verdict::Replace;
            };
            match key.as_str() {
                "type" => node_type = after_value.as_str(),
                "id" => node_id = after_value.as_str(),
                "value" => value = Some(after_value),
                "streaming" => streaming = Some(after_value),
                _ => {}
            }
            let verdict = match key.as_str() {
                "children" => self.children(before_value, after_value),
                // Decided once the node's type is known (it may come after `value`).
                "value" if before_value != after_value => {
                    changed_value = Some((before_value, after_value));
                    Verdict::Same
                }
                _ if same_value(before_value, after_value) => Verdict::Same,
                _ => Verdict::Replace,
            };
            if verdict == Verdict::Replace {
                return Verdict::Replace;
            }
        }
        let text = matches!(node_type, Some("Text" | "Markdown"))
            && matches!(value, Some(Value::String(_)));
        if text {
            if let Some(id) = node_id {
                self.text_ids.push(id);
            }
        }
        match changed_value {
            None => Verdict::Same,
            Some(_) if !text => Verdict::Replace,
            Some((before_value, after_value)) => {
                self.text_value(before_value, after_value, node_id, streaming)
            }
        }
    }

    fn text_value(
        &mut self,
        before: &'a Value,
        after: &'a Value,
        id: Option<&'a str>,
        streaming: Option<&'a Value>,
    ) -> Verdict {
        let (Value::String(old), Value::String(new)) = (before, after) else {
            return Verdict::Replace;
        };
        let Some(appended) = new.strip_prefix(old.as_str()) else {
            return Verdict::Replace;
        };
        if let Some(id) = id {
            self.deltas.push(Delta {
                id,
                delta: appended,
                done: !truthy(streaming),
            });
        }
        Verdict::Same
    }

    fn children(&mut self, before: &'a Value, after: &'a Value) -> Verdict {
        match (before, after) {
            (Value::Array(old), Value::Array(new)) => {
                if old.len() != new.len() {
                    return Verdict::Replace;
                }
                for (old, new) in old.iter().zip(new) {
                    let verdict = match (old, new) {
                        (Value::Object(old), Value::Object(new)) => self.node(old, new),
                        _ if same_value(old, new) => Verdict::Same,
                        _ => Verdict::Replace,
                    };
                    if verdict == Verdict::Replace {
                        return Verdict::Replace;
                    }
                }
                Verdict::Same
            }
            // A single child (Transition) is walked like a list of one.
            (Value::Object(old), Value::Object(new)) => self.node(old, new),
            _ if same_value(before, after) => Verdict::Same,
            _ => Verdict::Replace,
        }
    }

    /// The first delta whose id belongs to more than one streaming text node.
    fn ambiguous_delta(&mut self) -> Option<&'a str> {
        if self.deltas.is_empty() || self.text_ids.len() < 2 {
            // One streaming text node at most: no id can be shared.
            return None;
        }
        self.text_ids.sort_unstable();
        let duplicated = |id: &str| {
            let first = self.text_ids.partition_point(|x| *x < id);
            self.text_ids.get(first + 1) == Some(&id)
        };
        self.deltas.iter().map(|d| d.id).find(|id| duplicated(id))
    }
}
