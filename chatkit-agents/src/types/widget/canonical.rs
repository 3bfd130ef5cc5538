//! Widget JSON text to its canonical form in one pass, without building a tree.
//!
//! A template's output is usually sent and stored, not inspected: building the
//! insertion-ordered tree (a map, a key string and a value per prop, ~3,500 allocations
//! for a 23 KB list) and freeing it again cost more than rendering the template. So a
//! build keeps the text instead, in the form serde_json writes the tree (compact, props in
//! order, no nulls), and the tree is parsed from it only when something reads it.
//!
//! [`canonicalize`] produces that text while checking the component structure. It
//! handles the common case only and says `None` for anything else: a JSON error, a
//! structural error, a repeated key (serde_json keeps the last value at the first key's
//! place, which one pass cannot write), a root that is not a widget root. The caller then
//! takes the tree path, which gives the exact result or error for every input.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::ROOT_TYPES;

/// Widget text in canonical form, with its root type.
pub(crate) struct Canonical {
    pub(crate) json: String,
    pub(crate) root_type: String,
}

/// The canonical form of `text`, a widget root, or `None` (see the module docs).
pub(crate) fn canonicalize(text: &str) -> Option<Canonical> {
    let mut out = Vec::with_capacity(text.len());
    let mut scratch = Scratch::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let written = Canon {
        out: &mut out,
        scratch: &mut scratch,
        role: Role::Component,
    }
    .deserialize(&mut deserializer)
    .ok()?;
    deserializer.end().ok()?;
    let Written::Component { type_at } = written else {
        return None;
    };
    let root_type: String = serde_json::from_slice(&out[type_at.0..type_at.1]).ok()?;
    if !ROOT_TYPES.contains(&root_type.as_str()) {
        return None;
    }
    // Every byte written is JSON text serde_json produced or copied from `text`.
    let json = String::from_utf8(out).ok()?;
    Some(Canonical { json, root_type })
}

/// Objects with more keys than this take the tree path (the repeated-key check here is
/// quadratic). Components have a handful of props.
const MAX_FAST_KEYS: usize = 64;

/// FNV-1a: keys are short, and a collision only costs the tree path.
fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What a value must be where it stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Any JSON value.
    Value,
    /// A component: an object with a string `type`.
    Component,
    /// `children`: a component or a list of components.
    Children,
}

/// What was written for a value.
enum Written {
    /// `null`: nothing was written; the caller drops the entry.
    Null,
    /// A value.
    Value,
    /// A component, with where its type's JSON string was written.
    Component { type_at: (usize, usize) },
}

/// Key hashes of the objects being read, reused across objects.
#[derive(Default)]
struct Scratch {
    keys: Vec<Vec<u64>>,
}

struct Canon<'a> {
    out: &'a mut Vec<u8>,
    scratch: &'a mut Scratch,
    role: Role,
}

/// The failure that sends the caller to the tree path; its message is never shown.
fn fallback<E: serde::de::Error>() -> E {
    E::custom("not in the canonical fast path")
}

fn write_json<T: serde::Serialize + ?Sized, E: serde::de::Error>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), E> {
    serde_json::to_writer(out, value).map_err(|_| fallback())
}

/// Writes `s` as serde_json writes a string. serde_json escapes only `"`, `\\` and
/// control characters; a string read from the text without escapes has none of them
/// (JSON allows none raw), so it is copied as it is.
fn write_str<E: serde::de::Error>(out: &mut Vec<u8>, s: &str, borrowed: bool) -> Result<(), E> {
    if borrowed || !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        write_json(out, s)
    }
}

impl<'de> DeserializeSeed<'de> for Canon<'_> {
    type Value = Written;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Written, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Canon<'_> {
    fn scalar<E: serde::de::Error>(
        self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Written, E> {
        if self.role != Role::Value {
            return Err(fallback());
        }
        write(self.out)?;
        Ok(Written::Value)
    }
}

impl<'de> Visitor<'de> for Canon<'_> {
    type Value = Written;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("widget JSON")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Written, E> {
        self.scalar(|out| {
            out.extend_from_slice(if v { b"true" } else { b"false" });
            Ok(())
        })
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Written, E> {
        self.scalar(|out| write_json(out, &v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Written, E> {
        self.scalar(|out| write_json(out, &v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Written, E> {
        self.scalar(|out| write_json(out, &v))
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Written, E> {
        self.scalar(|out| write_str(out, v, true))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Written, E> {
        self.scalar(|out| write_str(out, v, false))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Written, E> {
        // A null child or `children: null` is dropped like any null.
        Ok(Written::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Written, E> {
        Ok(Written::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Written, A::Error> {
        let element_role = match self.role {
            Role::Value => Role::Value,
            Role::Children => Role::Component,
            Role::Component => return Err(fallback()),
        };
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            let element = seq.next_element_seed(Canon {
                out: &mut *self.out,
                scratch: &mut *self.scratch,
                role: element_role,
            })?;
            match element {
                None => {
                    self.out.truncate(mark);
                    break;
                }
                Some(Written::Null) => self.out.truncate(mark),
                Some(_) => first = false,
            }
        }
        self.out.push(b']');
        Ok(Written::Value)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Written, A::Error> {
        let component = matches!(self.role, Role::Component | Role::Children);
        let mut keys = self.scratch.keys.pop().unwrap_or_default();
        let result = (|| {
            let mut component_type = None;
            self.out.push(b'{');
            let mut first = true;
            loop {
                let mark = self.out.len();
                if !first {
                    self.out.push(b',');
                }
                let Some(key) = map.next_key_seed(Key {
                    out: &mut *self.out,
                })?
                else {
                    self.out.truncate(mark);
                    break;
                };
                // Repeated keys (even of dropped nulls) need the tree's rules; a hash
                // collision only costs the tree path, and so do objects too large for
                // this linear check.
                if keys.len() >= MAX_FAST_KEYS || keys.contains(&key.hash) {
                    return Err(fallback());
                }
                keys.push(key.hash);
                let role = match key.name {
                    KeyName::Children if component => Role::Children,
                    _ => Role::Value,
                };
                let value_start = self.out.len();
                let value = map.next_value_seed(Canon {
                    out: &mut *self.out,
                    scratch: &mut *self.scratch,
                    role,
                })?;
                if matches!(value, Written::Null) {
                    self.out.truncate(mark);
                    continue;
                }
                if component && key.name == KeyName::Type {
                    // The type must be a string.
                    if self.out.get(value_start) != Some(&b'"') {
                        return Err(fallback());
                    }
                    component_type = Some((value_start, self.out.len()));
                }
                first = false;
            }
            self.out.push(b'}');
            Ok(component_type)
        })();
        keys.clear();
        self.scratch.keys.push(keys);
        match (result?, component) {
            (_, false) => Ok(Written::Value),
            (Some(type_at), true) => Ok(Written::Component { type_at }),
            (None, true) => Err(fallback()),
        }
    }
}

/// A key's role in a component.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyName {
    Type,
    Children,
    Other,
}

struct KeyRead {
    name: KeyName,
    hash: u64,
}

/// Writes a key and its `:`.
struct Key<'a> {
    out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = KeyRead;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<KeyRead, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = KeyRead;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, key: &'de str) -> Result<KeyRead, E> {
        self.key(key, true)
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<KeyRead, E> {
        self.key(key, false)
    }

    fn visit_string<E: serde::de::Error>(self, key: String) -> Result<KeyRead, E> {
        self.key(&key, false)
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<KeyRead, E> {
        Err(E::invalid_type(
            serde::de::Unexpected::Other("bytes"),
            &self,
        ))
    }
}

impl Key<'_> {
    fn key<E: serde::de::Error>(self, key: &str, borrowed: bool) -> Result<KeyRead, E> {
        write_str(self.out, key, borrowed)?;
        self.out.push(b':');
        let name = match key {
            "type" => KeyName::Type,
            "children" => KeyName::Children,
            _ => KeyName::Other,
        };
        Ok(KeyRead {
            name,
            hash: key_hash(key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::widget::parse::from_str_without_nulls;
    use crate::types::widget::WidgetRoot;

    /// The canonical text is what serde_json writes for the tree parsed the usual way.
    fn agrees(text: &str) {
        let tree = from_str_without_nulls(text)
            .ok()
            .and_then(|v| WidgetRoot::from_value(v).ok());
        match (canonicalize(text), tree) {
            (Some(canonical), Some(tree)) => {
                assert_eq!(
                    canonical.json,
                    serde_json::to_string(&tree).unwrap(),
                    "{text}"
                );
                assert_eq!(canonical.root_type, tree.root_type(), "{text}");
            }
            (None, _) => {}
            (Some(canonical), None) => panic!(
                "{text} canonicalized to {} but is no widget",
                canonical.json
            ),
        }
    }

    #[test]
    fn the_canonical_text_is_the_trees_serialization() {
        for text in [
            r#"{"type":"Card","children":[{"type":"Text","value":"x"}]}"#,
            r#" { "type" : "Card" , "a" : null , "children" : [ null , { "type" : "Text" , "value" : "\u00e9\u003c\" \/ \n" , "n" : null } ] } "#,
            r#"{"z":1,"type":"ListView","children":[],"payload":{"k":null,"l":[1,null,2.5,-3,true,1e3,12345678901234567890,-0.0]}}"#,
            r#"{"type":"Basic","children":{"type":"Text","value":"only child"}}"#,
            r#"{"type":"Card","children":null}"#,
            r#"{"type":"Card","children":[null]}"#,
            r#"{"type":"Card","children":[{"type":"Row","children":[{"type":"Text","value":"deep"}]}],"x":{}}"#,
            "{\"type\":\"Card\",\"t\\u0000\":\"\\u001f\\u007f\\\\ \\\"\\ud83d\\ude00\"}",
        ] {
            assert!(canonicalize(text).is_some(), "{text}");
            agrees(text);
        }
    }

    #[test]
    fn anything_unusual_takes_the_tree_path() {
        let many_keys = format!(
            r#"{{"type":"Card","payload":{{{}}}}}"#,
            (0..100)
                .map(|i| format!(r#""k{i}":1"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        for text in [
            r#"{"type":"Card","type":"Card"}"#,
            r#"{"a":null,"type":"Card","a":1}"#,
            r#"{"type":"Text","value":"not a root"}"#,
            r#"{"type":5}"#,
            r#"{"children":[]}"#,
            r#"{"type":"Card","children":"x"}"#,
            r#"{"type":"Card","children":[5]}"#,
            r#"{"type":"Card","children":[{"value":1}]}"#,
            r#"{"type":"Card","payload":{"k":1,"k":2}}"#,
            many_keys.as_str(),
            r#"[{"type":"Card"}]"#,
            r#"{"type":"Card"} trailing"#,
            r#"{"type":"Card","#,
            "",
            "null",
        ] {
            assert!(canonicalize(text).is_none(), "{text}");
            agrees(text);
        }
    }
}
