//! JSON written the way Python's `json.dumps` writes it (`ensure_ascii`), shared by the
//! Jinja2 `tojson` filter and the model-input converter, plus a small JSON helper.

use serde_json::Value;

/// Appends `s` as a JSON string with `ensure_ascii` escapes (non-ASCII as `\uXXXX`,
/// surrogate pairs beyond the BMP). With `html_safe`, `<`, `>`, `&` and `'` are escaped
/// too, as Jinja2's `tojson` does.
pub(crate) fn write_string(s: &str, html_safe: bool, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Copy runs of bytes that need no escape in one go; only the rare escaped
    // characters are handled one by one. Every byte that ends a run is ASCII or
    // starts a multi-byte character, so the runs end on character boundaries.
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if plain(bytes[i], html_safe) {
            i += 1;
            continue;
        }
        out.push_str(&s[run_start..i]);
        let c = s[i..].chars().next().unwrap_or_default();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_unicode_escape(*unit, out);
                }
            }
        }
        i += c.len_utf8();
        run_start = i;
    }
    out.push_str(&s[run_start..]);
    out.push('"');
}

/// Whether [`write_string`] copies the byte as it is.
fn plain(b: u8, html_safe: bool) -> bool {
    b.is_ascii()
        && !b.is_ascii_control()
        && b != b'"'
        && b != b'\\'
        && !(html_safe && matches!(b, b'<' | b'>' | b'&' | b'\''))
}

/// The length of what [`write_string`] appends for `s`, without the two quotes.
pub(crate) fn escaped_len(s: &str, html_safe: bool) -> usize {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii() && plain(c as u8, html_safe) => 1,
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c => 6 * c.len_utf16(),
        })
        .sum()
}

/// Appends `\uXXXX` (lowercase hex, as Python writes it).
fn push_unicode_escape(unit: u16, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
    }
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

#[cfg(test)]
mod tests {
    use super::{escaped_len, write_string};

    fn written(s: &str, html_safe: bool) -> String {
        let mut out = String::from("prefix:");
        write_string(s, html_safe, &mut out);
        out.split_off("prefix:".len())
    }

    /// Expected values are Python's `json.dumps(s)` (and Jinja2's `tojson` for html_safe).
    #[test]
    fn strings_are_written_as_python_writes_them() {
        let cases: &[(&str, &str, &str)] = &[
            ("plain text", r#""plain text""#, r#""plain text""#),
            ("", r#""""#, r#""""#),
            (
                "a\"b\\c\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
                r#""a\"b\\c\n\r\t\b\f\u0000\u001f\u007f""#,
                r#""a\"b\\c\n\r\t\b\f\u0000\u001f\u007f""#,
            ),
            (
                "<a href='x'>&amp;</a>",
                r#""<a href='x'>&amp;</a>""#,
                r#""\u003ca href=\u0027x\u0027\u003e\u0026amp;\u003c/a\u003e""#,
            ),
            (
                "é ü 中 😀 x",
                r#""\u00e9 \u00fc \u4e2d \ud83d\ude00 x""#,
                r#""\u00e9 \u00fc \u4e2d \ud83d\ude00 x""#,
            ),
        ];
        for (input, plain, html_safe) in cases {
            assert_eq!(written(input, false), *plain, "{input:?}");
            assert_eq!(written(input, true), *html_safe, "{input:?}");
            assert_eq!(escaped_len(input, false) + 2, plain.len(), "{input:?}");
            assert_eq!(escaped_len(input, true) + 2, html_safe.len(), "{input:?}");
        }
    }
}
