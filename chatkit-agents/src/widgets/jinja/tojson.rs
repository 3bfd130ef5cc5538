//! Jinja2's `tojson` filter, byte for byte.

use minijinja::value::{Rest, ValueKind};
use minijinja::{Error, ErrorKind, State, Value};

use super::namespace::{too_deep, MAX_VALUE_DEPTH};
use super::streamed::StreamedField;

/// Jinja2's `tojson` filter. Each value written costs one unit of fuel; values nested
/// deeper than [`MAX_VALUE_DEPTH`] are an error rather than a stack overflow.
pub(super) fn tojson(
    state: &State<'_, '_>,
    value: &Value,
    args: Rest<Value>,
) -> Result<Value, Error> {
    if !args.is_empty() {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            "tojson takes no arguments here",
        ));
    }
    let mut out = String::new();
    write_json(state, value, 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

fn not_serializable(what: &str) -> Error {
    Error::new(
        ErrorKind::UndefinedError,
        format!("Object of type {what} is not JSON serializable"),
    )
}

/// Writes `value` as Python's `json.dumps(value, sort_keys=True)` followed by Jinja2's
/// HTML-safe replacements.
fn write_json(
    state: &State<'_, '_>,
    value: &Value,
    depth: usize,
    out: &mut String,
) -> Result<(), Error> {
    state.consume_fuel(1)?;
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    if let Some(field) = value.downcast_object_ref::<StreamedField>() {
        field.write_json(out);
        return Ok(());
    }
    match value.kind() {
        ValueKind::Undefined => {
            // Any failing lookup on the undefined value yields minijinja's own undefined
            // error, which the engine then describes with the expression that produced it
            // ("`user.name` is undefined"): better than Jinja2's bare "not serializable".
            return Err(value
                .get_attr("tojson")
                .err()
                .unwrap_or_else(|| not_serializable("StrictUndefined")));
        }
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            let number = serde_json::to_string(value)
                .map_err(|e| Error::new(ErrorKind::BadSerialization, e.to_string()))?;
            out.push_str(&number);
        }
        ValueKind::String => {
            crate::python_json::write_string(value.as_str().unwrap_or_default(), true, out)
        }
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            for (i, item) in value.try_iter()?.enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(state, &item, depth + 1, out)?;
            }
            out.push(']');
        }
        ValueKind::Map => {
            let mut entries = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                entries.push((json_key(&key)?, item));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                crate::python_json::write_string(key, true, out);
                out.push_str(": ");
                write_json(state, item, depth + 1, out)?;
            }
            out.push('}');
        }
        ValueKind::Bytes => return Err(not_serializable("bytes")),
        _ => return Err(not_serializable(&value.kind().to_string())),
    }
    Ok(())
}

/// Python's `json.dumps` turns non-string keys into strings this way.
fn json_key(key: &Value) -> Result<String, Error> {
    Ok(match key.kind() {
        ValueKind::String => key.as_str().unwrap_or_default().to_owned(),
        ValueKind::None => "null".to_owned(),
        ValueKind::Bool => (if key.is_true() { "true" } else { "false" }).to_owned(),
        ValueKind::Number => key.to_string(),
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "keys must be str, int, float, bool or None, not {}",
                    key.kind()
                ),
            ))
        }
    })
}
