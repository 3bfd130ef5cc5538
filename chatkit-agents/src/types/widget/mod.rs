//! The widget tree: an insertion-ordered JSON object per component.
//!
//! Templates produce arbitrary components (including types this crate has never heard
//! of), so the stored form keeps every prop exactly as given. The only normalization is
//! the reference's null rule: every `null` is removed, at any depth of the tree, from
//! objects and from lists alike. It is applied once, when a tree is built, so writing a
//! tree is a plain map serialization.
//!
//! A component parsed from JSON text (a template's output) keeps the text instead, in
//! its canonical form (see `canonical.rs`), and parses its tree on first use: most built
//! widgets are only sent and stored, and writing the text costs less than building the
//! tree and freeing it again. The two forms are one value to every method.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

mod canonical;
mod parse;

use crate::python_json::json_kind;
use parse::{deserialize_without_nulls, from_str_without_nulls};

/// The root types a widget may have.
pub const ROOT_TYPES: &[&str] = &["Card", "ListView", "Basic"];

/// A widget tree that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WidgetError {
    /// A component is not a JSON object.
    #[error("widget component at {path} must be an object, got {found}")]
    NotAnObject {
        /// Where (`root`, `root.children[2]`, ...).
        path: String,
        /// What it was.
        found: &'static str,
    },
    /// A component has no string `type`.
    #[error("widget component at {path} has no string \"type\"")]
    MissingType {
        /// Where.
        path: String,
    },
    /// `children` is neither a component nor a list of components.
    #[error("\"children\" at {path} must be a component or a list of components, got {found}")]
    InvalidChildren {
        /// Where.
        path: String,
        /// What it was.
        found: &'static str,
    },
    /// The root is not a Card, ListView or Basic.
    #[error("widget root must be a Card, ListView or Basic, got {found:?}")]
    InvalidRootType {
        /// The type found.
        found: String,
    },
}

/// Removes every `null` below `value` (object entries and list elements).
pub(crate) fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => drop_nulls_in_map(map),
        Value::Array(list) => {
            list.retain(|v| !v.is_null());
            list.iter_mut().for_each(drop_nulls);
        }
        _ => {}
    }
}

fn drop_nulls_in_map(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    map.values_mut().for_each(drop_nulls);
}

/// Checks that `map` is a component: a string `type`, and `children` (if any) one
/// component or a list of components, recursively. Nulls must already be gone. `path`
/// names `map` in the error (`root`, ...).
fn validate_component(map: &Map<String, Value>, path: &str) -> Result<(), WidgetError> {
    check_component(map).map_err(|failure| failure.into_error(path))
}

/// Where below a component a check failed, innermost step last, and what failed there.
/// The path is only written out when a check fails: valid trees are the common case.
struct Failure {
    steps: Vec<Step>,
    kind: FailureKind,
}

enum Step {
    Child,
    Index(usize),
}

enum FailureKind {
    NotAnObject(&'static str),
    MissingType,
    InvalidChildren(&'static str),
}

impl Failure {
    fn new(kind: FailureKind) -> Self {
        Failure {
            steps: Vec::new(),
            kind,
        }
    }

    fn under(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    fn into_error(self, root: &str) -> WidgetError {
        use fmt::Write;
        let mut path = root.to_owned();
        for step in self.steps.iter().rev() {
            let _ = match step {
                Step::Child => write!(path, ".children"),
                Step::Index(i) => write!(path, ".children[{i}]"),
            };
        }
        match self.kind {
            FailureKind::NotAnObject(found) => WidgetError::NotAnObject { path, found },
            FailureKind::MissingType => WidgetError::MissingType { path },
            FailureKind::InvalidChildren(found) => WidgetError::InvalidChildren { path, found },
        }
    }
}

fn check_component(map: &Map<String, Value>) -> Result<(), Failure> {
    // One pass over the entries: components are small, and comparing a few keys is
    // cheaper than two hashed lookups.
    let mut has_type = false;
    let mut children = None;
    for (key, value) in map {
        match key.as_str() {
            "type" => has_type = value.is_string(),
            "children" => children = Some(value),
            _ => {}
        }
    }
    if !has_type {
        return Err(Failure::new(FailureKind::MissingType));
    }
    match children {
        None => Ok(()),
        Some(Value::Object(child)) => check_component(child).map_err(|f| f.under(Step::Child)),
        Some(Value::Array(list)) => {
            for (i, child) in list.iter().enumerate() {
                match child {
                    Value::Object(child) => {
                        check_component(child).map_err(|f| f.under(Step::Index(i)))?
                    }
                    other => {
                        return Err(Failure::new(FailureKind::NotAnObject(json_kind(other)))
                            .under(Step::Index(i)))
                    }
                }
            }
            Ok(())
        }
        Some(other) => Err(Failure::new(FailureKind::InvalidChildren(json_kind(other)))),
    }
}

/// One widget component: its `type` and every prop, in insertion order, with no nulls.
///
/// Build one from JSON ([`WidgetComponent::from_value`]), from a typed builder
/// ([`crate::widgets::Text`] and friends convert with `.into()`), or by hand for a
/// component type this crate does not model:
///
/// ```
/// use chatkit_agents::widgets::WidgetComponent;
/// use serde_json::json;
/// let fancy = WidgetComponent::new("FancyThing").with("color", "red").unwrap();
/// assert_eq!(serde_json::to_value(&fancy).unwrap(), json!({"type": "FancyThing", "color": "red"}));
/// ```
#[derive(Clone)]
pub struct WidgetComponent {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// The props.
    Tree(Map<String, Value>),
    /// JSON text in canonical form (what serde_json writes for the props), its
    /// component type, and the props once something reads them.
    Text(Box<TextForm>),
}

#[derive(Clone)]
struct TextForm {
    json: Box<str>,
    component_type: Box<str>,
    tree: OnceLock<Map<String, Value>>,
}

impl TextForm {
    fn tree(&self) -> &Map<String, Value> {
        self.tree.get_or_init(|| self.parse())
    }

    fn into_tree(self) -> Map<String, Value> {
        let TextForm { json, tree, .. } = self;
        tree.into_inner().unwrap_or_else(|| parse_canonical(&json))
    }

    fn parse(&self) -> Map<String, Value> {
        parse_canonical(&self.json)
    }
}

/// The props of canonical text, which [`canonical::canonicalize`] wrote from a valid
/// component: it always parses to an object.
fn parse_canonical(json: &str) -> Map<String, Value> {
    match from_str_without_nulls(json) {
        Ok(Value::Object(props)) => props,
        _ => {
            debug_assert!(false, "canonical widget text parses to an object");
            Map::new()
        }
    }
}

impl WidgetComponent {
    /// A component of the given type with no props.
    pub fn new(component_type: impl Into<String>) -> Self {
        let mut props = Map::new();
        props.insert("type".to_owned(), Value::String(component_type.into()));
        WidgetComponent::from_tree(props)
    }

    fn from_tree(props: Map<String, Value>) -> Self {
        WidgetComponent {
            repr: Repr::Tree(props),
        }
    }

    /// Builds a component from JSON, dropping nulls and checking the structure.
    pub fn from_value(mut value: Value) -> Result<Self, WidgetError> {
        drop_nulls(&mut value);
        Self::from_value_without_nulls(value)
    }

    /// [`WidgetComponent::from_value`] for a value that has no nulls left.
    pub(crate) fn from_value_without_nulls(value: Value) -> Result<Self, WidgetError> {
        match value {
            Value::Object(props) => {
                validate_component(&props, "root")?;
                Ok(WidgetComponent::from_tree(props))
            }
            other => Err(WidgetError::NotAnObject {
                path: "root".to_owned(),
                found: json_kind(&other),
            }),
        }
    }

    /// The component type (`"Text"`, `"Card"`, ...).
    pub fn component_type(&self) -> &str {
        match &self.repr {
            Repr::Tree(props) => props
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            Repr::Text(text) => &text.component_type,
        }
    }

    /// The `id` prop, used to address streaming text nodes.
    pub fn id(&self) -> Option<&str> {
        self.props().get("id").and_then(Value::as_str)
    }

    /// The `key` prop (a React-style list key).
    pub fn key(&self) -> Option<&str> {
        self.props().get("key").and_then(Value::as_str)
    }

    /// One prop.
    pub fn get(&self, prop: &str) -> Option<&Value> {
        self.props().get(prop)
    }

    /// Every prop, `type` included, in order.
    pub fn props(&self) -> &Map<String, Value> {
        match &self.repr {
            Repr::Tree(props) => props,
            Repr::Text(text) => text.tree(),
        }
    }

    /// The canonical JSON text, when the component still has it (see the module docs).
    pub(crate) fn canonical_json(&self) -> Option<&str> {
        match &self.repr {
            Repr::Tree(_) => None,
            Repr::Text(text) => Some(&text.json),
        }
    }

    /// The props, to change in place. The caller keeps the component well formed (no
    /// nulls, a string `type`, components as `children`).
    pub(crate) fn props_mut(&mut self) -> &mut Map<String, Value> {
        if let Repr::Text(_) = &self.repr {
            // The text would go stale: the tree becomes the component.
            if let Repr::Text(text) = std::mem::replace(&mut self.repr, Repr::Tree(Map::new())) {
                self.repr = Repr::Tree(text.into_tree());
            }
        }
        match &mut self.repr {
            Repr::Tree(props) => props,
            Repr::Text(_) => unreachable!("turned into a tree above"),
        }
    }

    /// Consumes the component into its props.
    pub fn into_props(self) -> Map<String, Value> {
        match self.repr {
            Repr::Tree(props) => props,
            Repr::Text(text) => text.into_tree(),
        }
    }

    /// Sets a prop. A `null` removes it; nulls inside the value are dropped. Setting
    /// `type` or `children` checks that the result is still a well-formed component
    /// and leaves the component unchanged if not.
    pub fn set(
        &mut self,
        prop: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<&mut Self, WidgetError> {
        let prop = prop.into();
        let mut value = value.into();
        drop_nulls(&mut value);
        let structural = prop == "type" || prop == "children";
        let props = self.props_mut();
        let previous = if value.is_null() {
            props.shift_remove(&prop)
        } else {
            props.insert(prop.clone(), value)
        };
        if structural {
            if let Err(e) = validate_component(props, "root") {
                match previous {
                    Some(old) => props.insert(prop, old),
                    None => props.shift_remove(&prop),
                };
                return Err(e);
            }
        }
        Ok(self)
    }

    /// [`WidgetComponent::set`], by value, for chaining.
    pub fn with(
        mut self,
        prop: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Self, WidgetError> {
        self.set(prop, value)?;
        Ok(self)
    }

    /// The component as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.props().clone())
    }
}

impl PartialEq for WidgetComponent {
    fn eq(&self, other: &Self) -> bool {
        // Equal canonical texts are equal trees; different ones may still be (maps
        // compare without regard to order), so the trees decide.
        if let (Some(a), Some(b)) = (self.canonical_json(), other.canonical_json()) {
            if a == b {
                return true;
            }
        }
        self.props() == other.props()
    }
}

impl fmt::Debug for WidgetComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WidgetComponent({})", self.to_value())
    }
}

impl Serialize for WidgetComponent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.repr {
            // Text formats get the canonical text re-emitted token by token (the same
            // output as the tree's, pretty printing included); formats that need map
            // lengths up front get the tree.
            Repr::Text(text) if s.is_human_readable() && text.tree.get().is_none() => {
                let mut json = serde_json::Deserializer::from_str(&text.json);
                serde_transcode::transcode(&mut json, s)
            }
            _ => self.props().serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for WidgetComponent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        WidgetComponent::from_value_without_nulls(deserialize_without_nulls(d)?)
            .map_err(serde::de::Error::custom)
    }
}

impl From<WidgetComponent> for Value {
    fn from(c: WidgetComponent) -> Value {
        Value::Object(c.into_props())
    }
}

/// The root of a widget: a component whose type is `Card`, `ListView` or `Basic`.
///
/// ```
/// use chatkit_agents::widgets::{Card, Text, WidgetRoot};
/// let root: WidgetRoot = Card::new().child(Text::new("Hello").id("t").streaming(true)).into();
/// assert_eq!(
///     serde_json::to_string(&root).unwrap(),
///     r#"{"type":"Card","children":[{"id":"t","type":"Text","value":"Hello","streaming":true}]}"#
/// );
/// let parsed: WidgetRoot = serde_json::from_str(&serde_json::to_string(&root).unwrap()).unwrap();
/// assert_eq!(parsed, root);
/// ```
#[derive(Clone, PartialEq)]
pub struct WidgetRoot(WidgetComponent);

impl WidgetRoot {
    /// Checks that `component` can be a root.
    pub fn new(component: WidgetComponent) -> Result<Self, WidgetError> {
        if ROOT_TYPES.contains(&component.component_type()) {
            Ok(WidgetRoot(component))
        } else {
            Err(WidgetError::InvalidRootType {
                found: component.component_type().to_owned(),
            })
        }
    }

    /// Builds a root from JSON.
    pub fn from_value(value: Value) -> Result<Self, WidgetError> {
        Self::new(WidgetComponent::from_value(value)?)
    }

    /// Parses JSON text into a root (nulls dropped, structure checked), in one pass over
    /// the text. A text that is not JSON is `Err(Err(_))`, a JSON text that is not a
    /// widget root `Err(Ok(_))`.
    pub(crate) fn from_json_text(
        text: &str,
    ) -> Result<Self, Result<WidgetError, serde_json::Error>> {
        if let Some(canonical) = canonical::canonicalize(text) {
            return Ok(WidgetRoot(WidgetComponent {
                repr: Repr::Text(Box::new(TextForm {
                    json: canonical.json.into_boxed_str(),
                    component_type: canonical.root_type.into_boxed_str(),
                    tree: OnceLock::new(),
                })),
            }));
        }
        // Anything unusual (including every error) takes the tree path.
        let value = from_str_without_nulls(text).map_err(Err)?;
        let component = WidgetComponent::from_value_without_nulls(value).map_err(Ok)?;
        WidgetRoot::new(component).map_err(Ok)
    }

    /// The root as a component.
    pub fn component(&self) -> &WidgetComponent {
        &self.0
    }

    /// Consumes the root into its component.
    pub fn into_component(self) -> WidgetComponent {
        self.0
    }

    /// The root type (`Card`, `ListView` or `Basic`).
    pub fn root_type(&self) -> &str {
        self.0.component_type()
    }

    /// The root as a JSON value.
    pub fn to_value(&self) -> Value {
        self.0.to_value()
    }
}

impl std::ops::Deref for WidgetRoot {
    type Target = WidgetComponent;
    fn deref(&self) -> &WidgetComponent {
        &self.0
    }
}

impl fmt::Debug for WidgetRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WidgetRoot({})", self.0.to_value())
    }
}

impl Serialize for WidgetRoot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for WidgetRoot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let component = WidgetComponent::from_value_without_nulls(deserialize_without_nulls(d)?)
            .map_err(serde::de::Error::custom)?;
        WidgetRoot::new(component).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<WidgetComponent> for WidgetRoot {
    type Error = WidgetError;
    fn try_from(c: WidgetComponent) -> Result<Self, WidgetError> {
        WidgetRoot::new(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_are_dropped_everywhere_but_order_is_kept() {
        let c = WidgetComponent::from_value(json!({
            "z": 1, "type": "X", "a": null,
            "children": [null, {"type": "Y", "payload": {"k": null, "l": [1, null]}}],
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"z":1,"type":"X","children":[{"type":"Y","payload":{"l":[1]}}]}"#
        );
    }

    #[test]
    fn children_may_be_one_component() {
        let c = WidgetComponent::from_value(
            json!({"type": "Transition", "children": {"type": "Text", "value": "x"}}),
        );
        assert!(c.is_ok());
        let null_child =
            WidgetComponent::from_value(json!({"type": "Transition", "children": null})).unwrap();
        assert_eq!(null_child.get("children"), None);
    }

    #[test]
    fn structure_errors_say_where() {
        let err = WidgetComponent::from_value(
            json!({"type": "Card", "children": [{"type": "Row", "children": [{"value": 1}]}]}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            WidgetError::MissingType {
                path: "root.children[0].children[0]".into()
            }
        );
        let err =
            WidgetComponent::from_value(json!({"type": "Card", "children": "x"})).unwrap_err();
        assert!(
            err.to_string().contains("\"children\" at root must be"),
            "{err}"
        );
        let err =
            WidgetComponent::from_value(json!({"type": "Card", "children": [5]})).unwrap_err();
        assert!(matches!(err, WidgetError::NotAnObject { .. }));
        let err = WidgetComponent::from_value(json!([])).unwrap_err();
        assert!(matches!(err, WidgetError::NotAnObject { .. }));
    }

    #[test]
    fn roots_must_be_card_listview_or_basic() {
        assert!(WidgetRoot::from_value(json!({"type": "Basic"})).is_ok());
        let err = WidgetRoot::from_value(json!({"type": "Text", "value": "x"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "widget root must be a Card, ListView or Basic, got \"Text\""
        );
    }

    #[test]
    fn set_keeps_the_tree_well_formed() {
        let mut c = WidgetComponent::new("Box");
        assert!(c.set("children", json!([1])).is_err());
        assert_eq!(c.get("children"), None);
        c.set("gap", 2).unwrap().set("gap", Value::Null).unwrap();
        assert_eq!(c.get("gap"), None);
        assert!(c.set("type", 5).is_err());
        assert_eq!(c.component_type(), "Box");
    }
}
