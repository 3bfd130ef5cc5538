//! Lenient readers for the request fields where the reference (pydantic's lax mode)
//! accepts more than the JSON type: numeric strings and integral floats for integers,
//! and the usual spellings of booleans. Clients in the wild send these; rejecting them
//! would break requests that work against the Python server.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// Reads an unsigned integer from a number, an integral float (`10.0`) or a numeric
/// string (`"10"`). Fractions, negatives and other strings are errors.
pub(crate) fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(LaxU64)
}

/// [`u64`] for an optional field (`null` is `None`).
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_option(OptVisitor(LaxU64))
}

/// Reads a boolean from `true`/`false`, `0`/`1`, or the strings pydantic accepts
/// (`"true"`, `"yes"`, `"on"`, `"1"`, ... case-insensitive).
pub(crate) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(LaxBool)
}

#[derive(Clone, Copy)]
struct LaxU64;

impl Visitor<'_> for LaxU64 {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("expected a non-negative integer, got {v}")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        if v.fract() == 0.0 && v >= 0.0 && v <= u64::MAX as f64 {
            Ok(v as u64)
        } else {
            Err(E::custom(format!(
                "expected a non-negative integer, got {v}"
            )))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        v.trim().parse().map_err(|_| {
            E::custom(format!(
                "expected a non-negative integer, got the string {v:?}"
            ))
        })
    }
}

struct LaxBool;

impl Visitor<'_> for LaxBool {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::custom(format!("expected a boolean, got {v}"))),
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        u64::try_from(v)
            .map_err(|_| E::custom(format!("expected a boolean, got {v}")))
            .and_then(|v| self.visit_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        match v {
            0.0 => Ok(false),
            1.0 => Ok(true),
            _ => Err(E::custom(format!("expected a boolean, got {v}"))),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Ok(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Ok(false),
            _ => Err(E::custom(format!(
                "expected a boolean, got the string {v:?}"
            ))),
        }
    }
}

struct OptVisitor<V>(V);

impl<'de, V: Visitor<'de> + Copy> Visitor<'de> for OptVisitor<V> {
    type Value = Option<V::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)?;
        f.write_str(" or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self.0).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "super::opt_u64")]
        limit: Option<u64>,
        #[serde(default, deserialize_with = "super::bool")]
        flag: bool,
    }

    fn probe(v: serde_json::Value) -> Result<Probe, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn integers_accept_what_pydantic_accepts() {
        for (input, want) in [
            (json!(10), 10),
            (json!("10"), 10),
            (json!(10.0), 10),
            (json!(0), 0),
        ] {
            assert_eq!(probe(json!({ "limit": input })).unwrap().limit, Some(want));
        }
        assert_eq!(probe(json!({ "limit": null })).unwrap().limit, None);
        assert_eq!(probe(json!({})).unwrap().limit, None);
    }

    #[test]
    fn integers_reject_the_rest() {
        for input in [json!("ten"), json!(2.5), json!(-1), json!(true), json!([1])] {
            let err = probe(json!({ "limit": input })).unwrap_err().to_string();
            assert!(err.contains("integer"), "{err}");
        }
    }

    #[test]
    fn booleans_accept_the_usual_spellings() {
        for (input, want) in [
            (json!(true), true),
            (json!("true"), true),
            (json!("YES"), true),
            (json!(1), true),
            (json!("off"), false),
            (json!(0), false),
        ] {
            assert_eq!(probe(json!({ "flag": input })).unwrap().flag, want);
        }
        for input in [json!("maybe"), json!(2), json!(null), json!({})] {
            assert!(probe(json!({ "flag": input })).is_err());
        }
    }
}
