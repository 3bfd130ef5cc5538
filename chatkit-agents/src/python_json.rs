//! JSON written the way Python's `json.dumps` writes it (`ensure_ascii`), shared by the
//! Jinja2 `tojson` filter and the model-input converter, plus a small JSON helper.

use std::fmt::Write as _;

use serde_json::Value;

/// Appends `s` as a JSON string with `ensure_ascii` escapes (non-ASCII as `\uXXXX`,
/// surrogate pairs beyond the BMP). With `html_safe`, `<`, `>`, `&` and `'` are escaped
/// too, as Jinja2's `tojson` does.
pub(crate) fn write_string(s: &str, html_safe: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\'' if html_safe => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// A JSON value's kind, for error messages (`an array`, `null`, ...).
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
