//! Declarative macros shared by the wire types and the widget builders.

/// Defines a closed string enum: serialized as its string, parsed strictly with an
/// error that lists every accepted value, `Display`/`FromStr`, and `ALL`/`as_str`.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* #[doc = concat!("`\"", $text, "\"`")] $variant, )+
        }

        impl $name {
            /// Every accepted wire string, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire string of this value.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::types::UnknownValueError;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err($crate::types::UnknownValueError::new(stringify!($name), s, Self::NAMES)),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                struct V;
                impl ::serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        write!(f, "one of {:?}", $name::NAMES)
                    }
                    fn visit_str<E: ::serde::de::Error>(self, s: &str) -> ::std::result::Result<$name, E> {
                        match s {
                            $( $text => Ok($name::$variant), )+
                            _ => Err(E::unknown_variant(s, $name::NAMES)),
                        }
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

/// Defines a union discriminated on `"type"` whose tag is written *after* a given field
/// (the reference's key order, e.g. items put `type` after `created_at`). Parsing is serde's
/// internally tagged representation; writing goes through [`crate::types::tagging::TagAfter`].
macro_rules! tagged_union {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident, tag after $after:literal {
            $( $(#[$vmeta:meta])* $variant:ident($inner:ty) = $tag:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, ::serde::Deserialize)]
        #[serde(tag = "type")]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $tag)] $variant($inner), )+
        }

        impl $name {
            /// Every `type` discriminator of this union, in declaration order.
            pub const TYPE_NAMES: &'static [&'static str] = &[$($tag),+];

            /// The `type` discriminator of this value.
            pub const fn type_name(&self) -> &'static str {
                match self { $( $name::$variant(_) => $tag, )+ }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                match self {
                    $( $name::$variant(v) => ::serde::Serialize::serialize(
                        v, $crate::types::tagging::TagAfter::new(s, $tag, $after)), )+
                }
            }
        }

        $(
            impl From<$inner> for $name {
                fn from(v: $inner) -> Self { $name::$variant(v) }
            }
        )+
    };
}

/// Defines a zero-sized type that is written as one fixed string and accepts only that
/// string (or absence, through `Default`) when read: for single-value `type` fields such
/// as `"output_text"`.
macro_rules! literal_tag {
    ($(#[$meta:meta])* $vis:vis struct $name:ident = $text:literal;) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis struct $name;

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str($text)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                struct V;
                impl ::serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("\"", $text, "\""))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, s: &str) -> ::std::result::Result<$name, E> {
                        if s == $text {
                            Ok($name)
                        } else {
                            Err(E::invalid_value(::serde::de::Unexpected::Str(s), &self))
                        }
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
