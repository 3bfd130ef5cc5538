//! The Jinja2-compatible template environment behind [`super::WidgetTemplate`].
//!
//! minijinja already follows Jinja2 closely (Python-style printing of `None`/`True`,
//! slicing, inline `if`, `namespace`). Two things differ and are supplied here:
//!
//! - `tojson` exactly as Jinja2's `htmlsafe_json_dumps`: keys sorted, `", "`/`": "`
//!   separators, non-ASCII escaped (`ensure_ascii`), and `<`, `>`, `&`, `'` written as
//!   `\u003c`, `\u003e`, `\u0026`, `\u0027`. Undefined values are an error, as with
//!   Jinja2's `StrictUndefined`.
//! - `namespace(...)` whose list attributes support `.append(x)`, the Jinja2 idiom
//!   `{% set _ = ns.items.append(x) %}`. minijinja values are immutable, so list values
//!   passed to `namespace()` become [`AppendableList`] objects with interior mutability.
//!   (Lists assigned later with `{% set ns.x = [] %}` stay plain, immutable lists.)

use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{ArgType, Enumerator, Object, ObjectRepr, Rest, ValueKind, ValueOrKwargs};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior, Value};

/// A fresh environment configured like the reference's module-level Jinja2 environment
/// (`StrictUndefined`, no autoescape).
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.add_filter("tojson", tojson);
    env.add_function("namespace", namespace);
    env
}

/// Jinja2's `tojson` filter.
fn tojson(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    if !args.is_empty() {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            "tojson takes no arguments here",
        ));
    }
    let mut out = String::new();
    write_json(value, &mut out)?;
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
fn write_json(value: &Value, out: &mut String) -> Result<(), Error> {
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
                write_json(&item, out)?;
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
                write_json(item, out)?;
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

/// `namespace()` with appendable list attributes.
fn namespace(defaults: Option<ValueOrKwargs>) -> Result<Value, Error> {
    let Some(defaults) = defaults else {
        return minijinja::functions::namespace(None);
    };
    let defaults = defaults.into_value();
    if defaults.kind() != ValueKind::Map {
        return minijinja::functions::namespace(Some(ValueOrKwargs::from_value_owned(defaults)?));
    }
    let mut converted = Vec::new();
    for key in defaults.try_iter()? {
        let value = defaults.get_item(&key)?;
        let value = if value.kind() == ValueKind::Seq {
            Value::from_object(AppendableList::new(value.try_iter()?.collect()))
        } else {
            value
        };
        converted.push((key, value));
    }
    let converted: std::collections::BTreeMap<String, Value> = converted
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    let converted = Value::from(converted);
    minijinja::functions::namespace(Some(ValueOrKwargs::from_value_owned(converted)?))
}

/// A list that templates can grow with `.append(x)` (and `.extend(xs)`).
#[derive(Debug, Default)]
pub(crate) struct AppendableList {
    items: Mutex<Vec<Value>>,
}

impl AppendableList {
    fn new(items: Vec<Value>) -> Self {
        AppendableList {
            items: Mutex::new(items),
        }
    }

    fn items(&self) -> MutexGuard<'_, Vec<Value>> {
        // A panic while holding the lock cannot leave the Vec half-written.
        self.items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Object for AppendableList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = self.items();
        let index = i64::try_from(key.clone()).ok()?;
        let index = if index < 0 {
            items.len() as i64 + index
        } else {
            index
        };
        items.get(usize::try_from(index).ok()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items().clone())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.items().len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (method, args) {
            ("append", [item]) => self.items().push(item.clone()),
            ("extend", [items]) => {
                let new: Vec<Value> = items.try_iter()?.collect();
                self.items().extend(new);
            }
            ("append" | "extend", _) => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("list.{method}() takes exactly one argument"),
                ))
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        Ok(Value::from(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, ctx: Value) -> Result<String, Error> {
        environment().render_str(source, ctx)
    }

    #[test]
    fn tojson_matches_jinja2() {
        let ctx = minijinja::context! { v => minijinja::value::Serde(serde_json::json!({"b": [1, 2.5, null, true], "a": "<&'é😀\"\n>"})) };
        assert_eq!(
            render("{{ v | tojson }}", ctx).unwrap(),
            r#"{"a": "\u003c\u0026\u0027\u00e9\ud83d\ude00\"\n\u003e", "b": [1, 2.5, null, true]}"#
        );
    }

    #[test]
    fn tojson_of_undefined_is_an_error() {
        let err = render(
            "{{ missing | default(x) | tojson }}",
            minijinja::context! {},
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedError);
    }

    #[test]
    fn namespace_lists_can_be_appended() {
        let src = "{% set ns = namespace(items=[0], n=1) %}{% for i in [1, 2] %}{% set _ = ns.items.append(i) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.items | tojson }} {{ ns.n }} {{ ns.items | length }} {{ ns.items[-1] }}";
        assert_eq!(
            render(src, minijinja::context! {}).unwrap(),
            "[0, 1, 2] 4 3 2"
        );
    }

    #[test]
    fn appending_needs_one_argument() {
        let err = render(
            "{% set ns = namespace(items=[]) %}{{ ns.items.append() }}",
            minijinja::context! {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("exactly one argument"), "{err}");
    }
}
