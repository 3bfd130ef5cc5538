//! Reading widget JSON straight into the tree's form: a `serde_json::Value` without nulls.
//!
//! Parsing into a `Value` and then removing nulls walks every map twice, and
//! `serde_json`'s own `Value` visitor grows each insertion-ordered map one entry at a
//! time (a rehash at every doubling). Widget JSON is mostly small objects, so this reader
//! gathers each object's entries first and builds its map at its final size; nulls are
//! removed from a map only when one was seen.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Deserializes JSON text into a `Value` with every `null` removed, at any depth, from
/// objects and lists alike (the widget tree's null rule). A top-level `null` stays `null`.
pub(crate) fn from_str_without_nulls(text: &str) -> serde_json::Result<Value> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = deserialize_without_nulls(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// [`from_str_without_nulls`] for any deserializer.
pub(crate) fn deserialize_without_nulls<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Value, D::Error> {
    let mut scratch = Scratch::default();
    WithoutNulls {
        scratch: &mut scratch,
    }
    .deserialize(deserializer)
}

/// Entry buffers reused across the objects of one document: an object borrows one while
/// its entries are read (nested objects take others) and gives it back empty.
#[derive(Default)]
struct Scratch {
    entries: Vec<Vec<(String, Value)>>,
}

struct WithoutNulls<'a> {
    scratch: &'a mut Scratch,
}

impl<'de> DeserializeSeed<'de> for WithoutNulls<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for WithoutNulls<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text has no NaN or infinity, so this is always a number.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(WithoutNulls {
            scratch: &mut *self.scratch,
        })? {
            if !item.is_null() {
                list.push(item);
            }
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut entries = self.scratch.entries.pop().unwrap_or_default();
        let mut saw_null = false;
        let result = (|| {
            while let Some(key) = access.next_key::<String>()? {
                let value = access.next_value_seed(WithoutNulls {
                    scratch: &mut *self.scratch,
                })?;
                saw_null |= value.is_null();
                entries.push((key, value));
            }
            Ok(())
        })();
        let mut map = Map::with_capacity(entries.len());
        // Inserting in order keeps serde_json's rules for repeated keys (the last value,
        // at the first key's position); a null then removes the key, as it would after
        // a plain parse.
        map.extend(entries.drain(..));
        self.scratch.entries.push(entries);
        result?;
        if saw_null {
            map.retain(|_, value| !value.is_null());
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader agrees with parsing into a `Value` and then removing nulls.
    fn plain(text: &str) -> Value {
        let mut value: Value = serde_json::from_str(text).unwrap();
        crate::types::widget::drop_nulls(&mut value);
        value
    }

    #[test]
    fn matches_a_parse_followed_by_removing_nulls() {
        for text in [
            r#"{"type":"Card","a":null,"children":[null,{"type":"Text","value":"x","n":null,"p":{"k":null,"l":[1,null,2.5,-3,true,"é\u00e9"]}}]}"#,
            r#"{"z":1,"a":2,"z":3}"#,
            r#"{"a":1,"a":null,"b":2}"#,
            r#"{"a":null,"b":{"c":null}}"#,
            r#"[null,[null],{}]"#,
            "null",
            "12345678901234567890",
            "-0.0",
            r#""just a string""#,
        ] {
            let ours = from_str_without_nulls(text).unwrap();
            assert_eq!(ours, plain(text), "{text}");
            assert_eq!(
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&plain(text)).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn errors_are_serde_json_errors_with_positions() {
        for text in [r#"{"a":1,}"#, r#"{"a":[1,2}"#, r#"{"a":1} x"#, ""] {
            let ours = from_str_without_nulls(text).unwrap_err();
            let theirs = serde_json::from_str::<Value>(text).unwrap_err();
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }
}
