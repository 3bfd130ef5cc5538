//! The Jinja2-compatible template environment behind [`super::WidgetTemplate`].
//!
//! minijinja already follows Jinja2 closely (Python-style printing of `None`/`True`,
//! slicing, inline `if`). What differs, or must be safe with untrusted templates, is
//! supplied here:
//!
//! - [`tojson`]: exactly Jinja2's `htmlsafe_json_dumps` (keys sorted, `", "`/`": "`
//!   separators, `ensure_ascii`, `<>&'` escaped); undefined values are an error, as with
//!   `StrictUndefined`.
//! - [`namespace`]: `namespace(...)` whose lists support `.append(x)`, and
//!   `{% set ns.attr = value %}` through [`rewrite`], both refusing to build values that
//!   contain themselves (printing one would overflow the stack).
//! - [`round`]: Jinja2's, whose `ceil` and `floor` always give a float (`46.0`).
//! - A fuel budget (minijinja's `fuel`: instructions and the memory they allocate),
//!   set per template by [`super::WidgetTemplate::fuel`].

mod namespace;
mod rewrite;
mod streamed;
mod tojson;

pub(crate) use rewrite::rewrite_namespace_sets;
pub(crate) use streamed::StreamedField;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value,
};

use namespace::{too_deep, MAX_VALUE_DEPTH};

/// The most elements `{{ value }}` prints (nested ones included).
const MAX_PRINTED_ELEMENTS: usize = 100_000;

/// `{{ value }}`. A list or map is measured first: minijinja formats a value whole
/// before writing it, so printing a huge lazy one (`[1] * 10**8`) would take seconds
/// and gigabytes before the output cap could stop it. Each element costs fuel.
fn formatter(out: &mut Output<'_>, state: &mut State<'_, '_>, value: &Value) -> Result<(), Error> {
    if matches!(
        value.kind(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable
    ) {
        let mut counted = 0usize;
        count_elements(value, 0, &mut counted)?;
        state.consume_fuel(counted as u64)?;
    }
    minijinja::escape_formatter(out, state, value)
}

/// Adds the elements of `value` (at any depth) to `counted`, failing past
/// [`MAX_PRINTED_ELEMENTS`]. Lazy iterables are counted by their length, never iterated
/// (iterating a one-shot iterator would empty it).
fn count_elements(value: &Value, depth: usize, counted: &mut usize) -> Result<(), Error> {
    let too_large = || {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("value too large to print (more than {MAX_PRINTED_ELEMENTS} elements)"),
        )
    };
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    let kind = value.kind();
    if !matches!(kind, ValueKind::Iterable | ValueKind::Seq | ValueKind::Map) {
        return Ok(());
    }
    *counted = counted.saturating_add(value.len().unwrap_or(0));
    if *counted > MAX_PRINTED_ELEMENTS {
        return Err(too_large());
    }
    if kind != ValueKind::Iterable {
        for item in value.try_iter()? {
            let child = if kind == ValueKind::Map {
                value.get_item(&item)?
            } else {
                item
            };
            count_elements(&child, depth + 1, counted)?;
        }
    }
    Ok(())
}

/// A fresh environment configured like the reference's module-level Jinja2 environment
/// (`StrictUndefined`, no autoescape), with `fuel` as its per-render budget.
pub(crate) fn environment(fuel: Option<u64>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_fuel(fuel);
    env.set_formatter(formatter);
    env.add_filter("tojson", tojson::tojson);
    env.add_filter("round", round);
    env.add_function("namespace", namespace::namespace);
    env.add_function(rewrite::SETTER, namespace::namespace_set);
    env
}

/// Jinja2's `round(value, precision=0, method="common")`. Python computes `ceil` and
/// `floor` as `math.floor(value * 10**precision) / 10**precision`, a float even for an
/// integer; minijinja keeps integers as they are, so they are made floats first.
fn round(
    value: Value,
    precision: Option<i32>,
    method: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let precision = match precision {
        Some(precision) => precision,
        None => kwargs.get::<Option<i32>>("precision")?.unwrap_or(0),
    };
    let method = match method {
        Some(method) => method,
        None => kwargs
            .get::<Option<String>>("method")?
            .unwrap_or_else(|| "common".to_owned()),
    };
    kwargs.assert_all_used()?;
    let value = if method != "common" && value.kind() == ValueKind::Number && value.is_integer() {
        Value::from(f64::try_from(value)?)
    } else {
        value
    };
    let no_kwargs: Kwargs = std::iter::empty::<(&str, Value)>().collect();
    minijinja::filters::round(value, Some(precision), Some(&method), no_kwargs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::{Error, ErrorKind, Value};

    fn render(source: &str, ctx: Value) -> Result<String, Error> {
        environment(Some(1_000_000)).render_str(&rewrite_namespace_sets(source), ctx)
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
    fn round_matches_jinja2() {
        let cases = [
            ("{{ 46 | round(method='floor') }}", "46.0"),
            ("{{ 46 | round(0, 'ceil') }}", "46.0"),
            ("{{ 46 | round }}", "46"),
            ("{{ 45.5 | round(method='floor') }}", "45.0"),
            ("{{ 1234 | round(-2, 'floor') }}", "1200.0"),
            ("{{ 1234 | round(-2) }}", "1200"),
            ("{{ 2.345 | round(2, 'ceil') }}", "2.35"),
            ("{{ 46 | round(method='floor') | tojson }}", "46.0"),
        ];
        for (source, expected) in cases {
            assert_eq!(
                render(source, minijinja::context! {}).unwrap(),
                expected,
                "{source}"
            );
        }
        assert!(render("{{ 1 | round(method='up') }}", minijinja::context! {}).is_err());
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
