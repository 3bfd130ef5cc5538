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
        (Value::String(x), Value::String(y)) => x == y,
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

/// An id's sort key: its first seven bytes and its length (equal ids have equal keys).
fn id_key(id: &str) -> u64 {
    let bytes = id.as_bytes();
    let mut key = (bytes.len().min(255) as u64) << 56;
    for (index, byte) in bytes.iter().take(7).enumerate() {
        key |= u64::from(*byte) << (48 - 8 * index);
    }
    key
}

/// The props whose key the walk looks for, told apart once per prop.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Id,
    Type,
    Value,
    Children,
    Streaming,
    Other,
}

impl Key {
    fn of(key: &str) -> Key {
        // Comparisons with literals compile to a length check and a load or two (no
        // `memcmp` call), which matters at several props a node.
        match key {
            "id" => Key::Id,
            "type" => Key::Type,
            "value" => Key::Value,
            "children" => Key::Children,
            "streaming" => Key::Streaming,
            _ => Key::Other,
        }
    }

    /// Whether `other` is this key (`key` is its text, for `Other`).
    fn is(self, other: &str, key: &str) -> bool {
        match self {
            Key::Id => other == "id",
            Key::Type => other == "type",
            Key::Value => other == "value",
            Key::Children => other == "children",
            Key::Streaming => other == "streaming",
            Key::Other => other == key,
        }
    }
}

/// The props a node's walk decides by.
#[derive(Default)]
struct Props<'a> {
    node_type: Option<&'a str>,
    id: Option<&'a str>,
    value: Option<&'a Value>,
    streaming: Option<&'a Value>,
    /// `value` before and after, when it changed.
    changed_value: Option<(&'a Value, &'a Value)>,
}

impl<'a> Walk<'a> {
    /// Compares one node and its subtree, recording deltas; `Replace` as soon as any
    /// difference cannot be streamed.
    ///
    /// Both trees keep insertion order, and a state and its successor almost always list
    /// their props in the same order, so the props are walked pairwise without hashing;
    /// from the first key out of place on, the rest are looked up.
    fn node(&mut self, before: &'a Map<String, Value>, after: &'a Map<String, Value>) -> Verdict {
        if before.len() != after.len() {
            return Verdict::Replace;
        }
        let mut props = Props::default();
        let mut in_order = before.iter();
        let mut paired = true;
        for (key, after_value) in after {
            let known = Key::of(key);
            let before_value = match in_order.next() {
                Some((before_key, before_value)) if paired && known.is(before_key, key) => {
                    before_value
                }
                _ => {
                    paired = false;
                    match before.get(key) {
                        Some(before_value) => before_value,
                        None => return Verdict::Replace,
                    }
                }
            };
            if self.prop(known, before_value, after_value, &mut props) == Verdict::Replace {
                return Verdict::Replace;
            }
        }
        // Whether it is a text node matters only for a node with an id (it may share it)
        // or a changed value (only text may stream): most nodes skip the check.
        if props.id.is_none() && props.changed_value.is_none() {
            return Verdict::Same;
        }
        let text = matches!(props.node_type, Some("Text" | "Markdown"))
            && matches!(props.value, Some(Value::String(_)));
        if text {
            if let Some(id) = props.id {
                self.text_ids.push(id);
            }
        }
        match props.changed_value {
            None => Verdict::Same,
            Some(_) if !text => Verdict::Replace,
            Some((before_value, after_value)) => {
                self.text_value(before_value, after_value, props.id, props.streaming)
            }
        }
    }

    /// One prop of a node: compared (children walked), and noted in `props` when the
    /// node's verdict depends on it.
    fn prop(
        &mut self,
        key: Key,
        before: &'a Value,
        after: &'a Value,
        props: &mut Props<'a>,
    ) -> Verdict {
        match key {
            Key::Id => props.id = after.as_str(),
            Key::Type => props.node_type = after.as_str(),
            Key::Value => {
                props.value = Some(after);
                // Decided once the node's type is known (it may come after `value`).
                let same = match (before, after) {
                    (Value::String(x), Value::String(y)) => x == y,
                    _ => same_value(before, after),
                };
                if !same {
                    props.changed_value = Some((before, after));
                }
                return Verdict::Same;
            }
            Key::Children => return self.children(before, after),
            Key::Streaming => props.streaming = Some(after),
            Key::Other => {}
        }
        // Strings, most props, without the call.
        let same = match (before, after) {
            (Value::String(x), Value::String(y)) => x == y,
            _ => same_value(before, after),
        };
        if same {
            Verdict::Same
        } else {
            Verdict::Replace
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
    ///
    /// The ids are sorted by a cheap integer key (length and first seven bytes), and by
    /// their text only where keys tie: sorting strings directly was a quarter of a wide
    /// diff's time.
    fn ambiguous_delta(&mut self) -> Option<&'a str> {
        if self.deltas.is_empty() || self.text_ids.len() < 2 {
            // One streaming text node at most: no id can be shared.
            return None;
        }
        let mut keyed: SmallVec<[(u64, &'a str); 16]> =
            self.text_ids.iter().map(|id| (id_key(id), *id)).collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let mut shared: SmallVec<[&'a str; 2]> = SmallVec::new();
        for pair in keyed.windows(2) {
            if pair[0].0 == pair[1].0 && pair[0].1 == pair[1].1 {
                shared.push(pair[0].1);
            }
        }
        if shared.is_empty() {
            return None;
        }
        self.deltas
            .iter()
            .map(|d| d.id)
            .find(|id| shared.contains(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root(texts: &[(&str, &str)]) -> WidgetRoot {
        let children: Vec<Value> = texts
            .iter()
            .map(|(id, value)| json!({"type": "Text", "id": id, "value": value, "streaming": true}))
            .collect();
        WidgetRoot::from_value(json!({"type": "Card", "children": children})).unwrap()
    }

    #[test]
    fn ids_that_share_their_sort_key_are_told_apart_by_their_text() {
        // Same length, same first seven bytes: the same integer key, different ids.
        let before = root(&[
            ("section-a1", "x"),
            ("section-a2", "y"),
            ("section-b1", "z"),
        ]);
        let after = root(&[
            ("section-a1", "x!"),
            ("section-a2", "y!"),
            ("section-b1", "z"),
        ]);
        let updates = diff_widget(&before, &after).unwrap();
        assert_eq!(updates.len(), 2);

        // A real duplicate among them, not next to its twin in tree order.
        let before = root(&[
            ("section-a1", "x"),
            ("section-a2", "y"),
            ("section-a1", "z"),
        ]);
        let after = root(&[
            ("section-a1", "x!"),
            ("section-a2", "y"),
            ("section-a1", "z"),
        ]);
        assert_eq!(
            diff_widget(&before, &after),
            Err(DiffError::DuplicateId {
                id: "section-a1".into()
            })
        );
        // A shared id with no delta for it is no error.
        let after = root(&[
            ("section-a1", "x"),
            ("section-a2", "y!"),
            ("section-a1", "z"),
        ]);
        assert_eq!(diff_widget(&before, &after).unwrap().len(), 1);
    }

    #[test]
    fn keys_out_of_order_are_looked_up() {
        let before = WidgetRoot::from_value(
            json!({"type": "Card", "children": [{"type": "Text", "id": "t", "value": "a", "streaming": true}]}),
        )
        .unwrap();
        let after = WidgetRoot::from_value(
            json!({"type": "Card", "children": [{"streaming": true, "value": "ab", "id": "t", "type": "Text"}]}),
        )
        .unwrap();
        assert_eq!(
            diff_widget(&before, &after).unwrap(),
            vec![ThreadItemUpdate::WidgetStreamingTextValueDelta {
                component_id: "t".into(),
                delta: "b".into(),
                done: false
            }]
        );
        // Python's equality: 2 == 2.0 is no change.
        let a = WidgetRoot::from_value(json!({"type": "Card", "gap": 2, "children": []})).unwrap();
        let b =
            WidgetRoot::from_value(json!({"type": "Card", "gap": 2.0, "children": []})).unwrap();
        assert!(diff_widget(&a, &b).unwrap().is_empty());
    }
}
