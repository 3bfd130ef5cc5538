//! [`JsonText`]: JSON a client sent, kept as its text until something reads it.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// A JSON value kept as its text (an action's payload): parsed only when read, into the
/// type the reader expects.
///
/// A request body is untrusted, and a parsed JSON tree of small objects takes some
/// twenty times the memory of its text: a 10 MiB payload of `{"id":1}`s would cost
/// hundreds of megabytes before any handler looked at it. Kept as text it costs its
/// size; [`parse`](Self::parse) builds only what the handler asked for.
///
/// ```
/// use chatkit_agents::types::JsonText;
/// use serde_json::json;
///
/// let payload = JsonText::from(json!({"order_id": "A7", "lines": [1, 2]}));
/// #[derive(serde::Deserialize)]
/// struct Cancel { order_id: String }
/// assert_eq!(payload.parse::<Cancel>().unwrap().order_id, "A7");
/// assert_eq!(payload.get("order_id"), Some(json!("A7"))); // one key, the rest unparsed
/// assert_eq!(payload.to_value()["lines"][1], 2); // the whole tree, when you need it
/// assert!(JsonText::null().is_null());
/// ```
#[derive(Clone)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// `null`.
    pub fn null() -> Self {
        JsonText::from(Value::Null)
    }

    /// The JSON text: what was sent, compact.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Whether it is `null`.
    pub fn is_null(&self) -> bool {
        self.0.get() == "null"
    }

    /// Parses it into `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The whole value as a JSON tree (`null` if it cannot be read back, which text
    /// that parsed once never does).
    pub fn to_value(&self) -> Value {
        self.parse().unwrap_or(Value::Null)
    }

    /// The value of `key` when this is an object that has it, parsing that value only.
    pub fn get(&self, key: &str) -> Option<Value> {
        let fields: indexmap::IndexMap<String, &RawValue> =
            serde_json::from_str(self.0.get()).ok()?;
        serde_json::from_str(fields.get(key)?.get()).ok()
    }
}

impl Default for JsonText {
    /// `null`.
    fn default() -> Self {
        JsonText::null()
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        JsonText(serde_json::value::to_raw_value(&value).unwrap_or_else(|_| null_text()))
    }
}

/// `null` as raw JSON.
fn null_text() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).unwrap_or_else(|_| unreachable!("null is JSON"))
}

impl PartialEq for JsonText {
    /// The same JSON value (`{"a": 1}` equals `{"a":1}`).
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get() || self.to_value() == other.to_value()
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonText({})", crate::text::shorten(self.0.get(), 200))
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    /// Reads any JSON value (from text, a `Value`, any deserializer) and keeps it
    /// compact (as `serde_json::to_string` writes the parsed value, keys in their order),
    /// in one pass: no tree is built.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut compact = Vec::new();
        serde_transcode::transcode(deserializer, &mut serde_json::Serializer::new(&mut compact))
            .map_err(serde::de::Error::custom)?;
        let compact = String::from_utf8(compact).map_err(serde::de::Error::custom)?;
        RawValue::from_string(compact)
            .map(JsonText)
            .map_err(serde::de::Error::custom)
    }
}

/// serde_json's message without its ` at line L column C`: the path of a
/// `serde_path_to_error` error says where, as it does for errors read from a tree.
pub(crate) fn without_position(error: serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_text_and_reads_it_on_demand() {
        let text: JsonText = serde_json::from_str(r#"{"a": [1, {"b": null}], "c": "d"}"#).unwrap();
        assert_eq!(
            text.as_str(),
            r#"{"a":[1,{"b":null}],"c":"d"}"#,
            "kept compact"
        );
        let from_tree: JsonText = serde_json::from_value(json!({"z": 1, "a": [true]})).unwrap();
        assert_eq!(from_tree.as_str(), r#"{"z":1,"a":[true]}"#);
        assert_eq!(text.get("c"), Some(json!("d")));
        assert_eq!(text.get("z"), None);
        assert_eq!(
            text,
            JsonText::from(json!({"a": [1, {"b": null}], "c": "d"}))
        );
        assert_eq!(serde_json::to_string(&text).unwrap(), text.as_str());
        let list = JsonText::from(json!([1, 2]));
        assert_eq!(list.get("a"), None);
        assert!(!list.is_null());
        assert_eq!(format!("{:?}", JsonText::null()), "JsonText(null)");
    }

    #[test]
    fn works_through_serde_wrappers() {
        #[derive(Deserialize)]
        struct Outer {
            payload: JsonText,
        }
        let mut text = serde_json::Deserializer::from_str(r#"{"payload": {"x": 1}}"#);
        let outer: Outer = serde_path_to_error::deserialize(&mut text).unwrap();
        assert_eq!(outer.payload.as_str(), r#"{"x":1}"#);
    }
}
