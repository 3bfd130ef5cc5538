//! A serializer adapter that writes a struct with a `"type"` key inserted right after a
//! named field.
//!
//! serde's internally tagged enums always write the tag first. The reference writes it
//! where its class hierarchy puts it (`id`, `thread_id`, `created_at`, then `type` for
//! items; after the base fields for sources, attachments and tasks). Matching that order
//! keeps our output byte-comparable with the reference at no runtime cost: the adapter
//! only forwards calls.

use serde::ser::{self, Impossible, Serialize, SerializeStruct, Serializer};

/// Wraps a serializer so that the next struct serialized through it gains a
/// `"type": <tag>` entry directly after the field named `after`.
///
/// If `after` is never seen (it was skipped or does not exist) the tag is written last.
pub(crate) struct TagAfter<S> {
    inner: S,
    tag: &'static str,
    after: &'static str,
}

impl<S> TagAfter<S> {
    pub(crate) fn new(inner: S, tag: &'static str, after: &'static str) -> Self {
        TagAfter { inner, tag, after }
    }
}

/// The struct half of [`TagAfter`].
pub(crate) struct TagAfterStruct<S> {
    inner: S,
    tag: &'static str,
    after: &'static str,
    written: bool,
}

impl<S: SerializeStruct> TagAfterStruct<S> {
    fn after_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        if !self.written && key == self.after {
            self.written = true;
            self.inner.serialize_field("type", self.tag)?;
        }
        Ok(())
    }
}

impl<S: SerializeStruct> SerializeStruct for TagAfterStruct<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        self.inner.serialize_field(key, value)?;
        self.after_field(key)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.inner.skip_field(key)?;
        self.after_field(key)
    }

    fn end(mut self) -> Result<S::Ok, S::Error> {
        if !self.written {
            self.inner.serialize_field("type", self.tag)?;
        }
        self.inner.end()
    }
}

fn only_structs<E: ser::Error>() -> E {
    E::custom("a tagged union variant must serialize as a struct")
}

macro_rules! reject {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $( fn $method(self, $(_: $arg),*) -> Result<S::Ok, S::Error> { Err(only_structs()) } )*
    };
}

impl<S: Serializer> Serializer for TagAfter<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = TagAfterStruct<S::SerializeStruct>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(TagAfterStruct {
            inner: self.inner.serialize_struct(name, len + 1)?,
            tag: self.tag,
            after: self.after,
            written: false,
        })
    }

    reject! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_char(char),
        serialize_str(&str), serialize_bytes(&[u8]), serialize_none(),
        serialize_unit(), serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(only_structs())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(only_structs())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(only_structs())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(only_structs())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(only_structs())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(only_structs())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Err(only_structs())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Err(only_structs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Item {
        id: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        group: Option<u8>,
        text: &'static str,
    }

    fn render(after: &'static str, group: Option<u8>) -> String {
        let item = Item {
            id: "a",
            group,
            text: "t",
        };
        let mut out = Vec::new();
        item.serialize(TagAfter::new(
            &mut serde_json::Serializer::new(&mut out),
            "x",
            after,
        ))
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tag_goes_after_the_named_field() {
        assert_eq!(render("id", None), r#"{"id":"a","type":"x","text":"t"}"#);
        assert_eq!(
            render("text", Some(1)),
            r#"{"id":"a","group":1,"text":"t","type":"x"}"#
        );
    }

    #[test]
    fn tag_follows_a_skipped_field() {
        assert_eq!(render("group", None), r#"{"id":"a","type":"x","text":"t"}"#);
    }

    #[test]
    fn tag_is_last_when_the_field_is_unknown() {
        assert_eq!(render("nope", None), r#"{"id":"a","text":"t","type":"x"}"#);
    }

    #[test]
    fn non_structs_are_rejected() {
        let mut out = Vec::new();
        let err = 5u8
            .serialize(TagAfter::new(
                &mut serde_json::Serializer::new(&mut out),
                "x",
                "id",
            ))
            .unwrap_err();
        assert!(err.to_string().contains("must serialize as a struct"));
    }
}
