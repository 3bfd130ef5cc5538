//! JSON written the way Python's `json.dumps` writes it (`ensure_ascii`), shared by the
//! Jinja2 `tojson` filter and the model-input converter, plus a small JSON helper.

use serde_json::Value;

/// Appends `s` as a JSON string with `ensure_ascii` escapes (non-ASCII as `\uXXXX`,
/// surrogate pairs beyond the BMP). With `html_safe`, `<`, `>`, `&` and `'` are escaped
/// too, as Jinja2's `tojson` does.
pub(crate) fn write_string(s: &str, html_safe: bool, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs of bytes that need no escape are copied in one go; only the escaped
    // characters are handled one by one.
    let mut run_start = 0;
    while let Some((at, c)) = next_escaped(s, run_start, html_safe) {
        out.push_str(&s[run_start..at]);
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // The html-safe four, common in answers, in one push each.
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_unicode_escape(*unit, out);
                }
            }
        }
        run_start = at + c.len_utf8();
    }
    out.push_str(&s[run_start..]);
    out.push('"');
}

/// JSON text written again as Python's `json.dumps` writes it by default (`", "` and
/// `": "` separators, `ensure_ascii`), in one pass over the text: no tree is built, so a
/// client's large result costs its size, not a tree's. `None` if `text` is not JSON.
pub(crate) fn dumps_text(text: &str) -> Option<String> {
    use serde::Deserializer as _;
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut reader = serde_json::Deserializer::from_str(text);
    reader.deserialize_any(PythonWriter(&mut out)).ok()?;
    reader.end().ok()?;
    Some(out)
}

/// Writes each value it visits as `json.dumps` does.
struct PythonWriter<'a>(&'a mut String);

impl<'de> serde::de::DeserializeSeed<'de> for PythonWriter<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Writes an object key (always a string).
struct PythonKey<'a>(&'a mut String);

impl<'de> serde::de::DeserializeSeed<'de> for PythonKey<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let key = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
        write_string(&key, false, self.0);
        Ok(())
    }
}

impl<'de> serde::de::Visitor<'de> for PythonWriter<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.push_str("null");
        Ok(())
    }
    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        self.0.push_str(if value { "true" } else { "false" });
        Ok(())
    }
    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        self.0.push_str(itoa::Buffer::new().format(value));
        Ok(())
    }
    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        self.0.push_str(itoa::Buffer::new().format(value));
        Ok(())
    }
    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        // As a parsed tree prints it (serde_json's number formatting).
        match serde_json::Number::from_f64(value) {
            Some(number) => self.0.push_str(&number.to_string()),
            None => self.0.push_str("null"),
        }
        Ok(())
    }
    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        write_string(value, false, self.0);
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.push('[');
        let mut first = true;
        loop {
            let mark = self.0.len();
            if !first {
                self.0.push_str(", ");
            }
            if seq.next_element_seed(PythonWriter(self.0))?.is_none() {
                self.0.truncate(mark);
                break;
            }
            first = false;
        }
        self.0.push(']');
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.push('{');
        let mut first = true;
        loop {
            let mark = self.0.len();
            if !first {
                self.0.push_str(", ");
            }
            if map.next_key_seed(PythonKey(self.0))?.is_none() {
                self.0.truncate(mark);
                break;
            }
            self.0.push_str(": ");
            map.next_value_seed(PythonWriter(self.0))?;
            first = false;
        }
        self.0.push('}');
        Ok(())
    }
}

/// The length of what [`write_string`] appends for `s`, without the two quotes.
pub(crate) fn escaped_len(s: &str, html_safe: bool) -> usize {
    let mut len = 0;
    let mut run_start = 0;
    while let Some((at, c)) = next_escaped(s, run_start, html_safe) {
        len += at - run_start;
        len += match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c => 6 * c.len_utf16(),
        };
        run_start = at + c.len_utf8();
    }
    len + s.len() - run_start
}

/// The first character at or after byte `from` that [`write_string`] escapes, and where
/// it starts. `from` must be a character boundary.
///
/// Past the first eight bytes, eight are checked at a time (answers are mostly plain
/// text) up to the word that holds the next escape, which is checked byte by byte.
/// Every byte that stops the scan is ASCII or starts a multi-byte character, so the
/// position is a character boundary.
#[inline(always)]
fn next_escaped(s: &str, from: usize, html_safe: bool) -> Option<(usize, char)> {
    let bytes = s.as_bytes();
    let mut i = from;
    loop {
        // Byte by byte first: escapes often come in runs, and short strings are common.
        let word_end = bytes.len().min(i + 8);
        while i < word_end && plain(bytes[i], html_safe) {
            i += 1;
        }
        if i < word_end {
            let c = match bytes[i] {
                b if b.is_ascii() => char::from(b),
                _ => s.get(i..)?.chars().next()?,
            };
            return Some((i, c));
        }
        if i == bytes.len() {
            return None;
        }
        let plain_words = bytes
            .get(i..)
            .unwrap_or_default()
            .chunks_exact(8)
            .take_while(|w| plain_word(word(w), html_safe))
            .count();
        i += 8 * plain_words;
    }
}

/// Eight bytes as a word (a zero word, which is never plain, if there are fewer).
#[inline]
fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(<[u8; 8]>::try_from(bytes).unwrap_or_default())
}

/// Whether [`write_string`] copies the byte as it is (a table lookup).
#[inline]
fn plain(b: u8, html_safe: bool) -> bool {
    PLAIN[usize::from(html_safe)][usize::from(b)]
}

/// [`plain`] for every byte, without and with `html_safe`.
static PLAIN: [[bool; 256]; 2] = [plain_bytes(false), plain_bytes(true)];

const fn plain_bytes(html_safe: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let byte = b as u8;
        table[b] = !byte.is_ascii_control()
            && byte != b'"'
            && byte != b'\\'
            && !(html_safe && matches!(byte, b'<' | b'>' | b'&' | b'\''));
        b += 1;
    }
    table
}

/// Whether [`plain`] holds for each of the eight bytes of `word`.
///
/// The classic bit tricks, with no branch: once every byte is below 0x80, a byte below
/// `n` borrows when `n` is subtracted from it, and a byte equal to `b` turns zero when
/// xored with it (zero bytes borrow when one is subtracted). A borrow or carry can only
/// mark the bytes above a byte that is itself marked, so the answer is exact. `&` and
/// `'` (0x26, 0x27) are one test with the low bit set, `<` and `>` (0x3c, 0x3e) one with
/// bit 1 set.
fn plain_word(word: u64, html_safe: bool) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v;
    let each = |b: u8| ONES * u64::from(b);
    // Bytes from 0x7f up (0x7f turns 0x80 when one is added; bytes above set the bit
    // themselves), bytes below 0x20, `"` and `\`.
    let mut suspect = (word | word.wrapping_add(ONES))
        | (word.wrapping_sub(each(0x20)) & !word)
        | has_zero(word ^ each(b'"'))
        | has_zero(word ^ each(b'\\'));
    if html_safe {
        suspect |=
            has_zero((word | ONES) ^ each(b'\'')) | has_zero((word | each(0x02)) ^ each(b'>'));
    }
    suspect & HIGH == 0
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

    #[test]
    fn dumps_text_writes_what_dumps_of_the_tree_writes() {
        use crate::agents::chatkit::python_json_dumps;
        let cases = [
            r#"{"a": 1, "b": [true, false, null], "c": {"d": "e\u00e9\n\"q\"", "f": []}, "g": {}}"#,
            r#"[1.5, -2, 18446744073709551615, -9223372036854775808, 1e3, 0.1, "😀 <&>'"]"#,
            r#""plain""#,
            "null",
            r#"{"k": 1, "k": 2}"#,
            r#"[[[[[]]]], {"x": [{"y": {}}]}]"#,
        ];
        for text in cases {
            let tree: serde_json::Value = serde_json::from_str(text).unwrap();
            let from_text = super::dumps_text(text).unwrap();
            if text.contains(r#""k": 1, "k": 2"#) {
                // The tree keeps the last of a repeated key; the text keeps both.
                assert_eq!(from_text, r#"{"k": 1, "k": 2}"#);
                continue;
            }
            assert_eq!(from_text, python_json_dumps(&tree), "{text}");
        }
        assert_eq!(super::dumps_text("{"), None);
        assert_eq!(super::dumps_text("[1] x"), None);
    }

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

    /// What Python's `json.dumps(s)` writes (`ensure_ascii`), and Jinja2's `tojson` with
    /// `html_safe`, derived independently of `write_string`: serde_json's escaping, which
    /// agrees with Python's for `"`, `\\` and control characters, then every character
    /// outside printable ASCII (and the html-safe four) as `\uXXXX`.
    fn python_dumps(s: &str, html_safe: bool) -> String {
        let serde = serde_json::to_string(s).unwrap();
        let mut out = String::new();
        for c in serde.chars() {
            let printable = (' '..='~').contains(&c);
            if printable && !(html_safe && "<>&'".contains(c)) {
                out.push(c);
            } else {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out
    }

    #[test]
    fn every_character_class_at_every_offset_of_a_word() {
        // Each special character (and every ASCII byte) alone and inside plain runs of
        // every length around the eight-byte words, so it falls on each lane.
        let specials: Vec<char> = (0u8..=0x7f)
            .map(char::from)
            .chain([
                'é',
                '中',
                '😀',
                '\u{80}',
                '\u{7ff}',
                '\u{ffff}',
                '\u{10ffff}',
            ])
            .collect();
        for special in specials {
            for before in 0..17 {
                for after in [0, 1, 7, 8, 9, 16] {
                    let s = format!("{}{special}{}", "a".repeat(before), "b".repeat(after));
                    for html_safe in [false, true] {
                        let expected = python_dumps(&s, html_safe);
                        assert_eq!(written(&s, html_safe), expected, "{s:?} {html_safe}");
                        assert_eq!(escaped_len(&s, html_safe) + 2, expected.len(), "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn random_mixtures_agree_with_the_definition() {
        const ALPHABET: &[&str] = &[
            "plain ",
            "x",
            "\"",
            "\\",
            "\n",
            "\u{1}",
            "\u{7f}",
            "<",
            ">",
            "&",
            "'",
            "é",
            "中文",
            "😀",
            "0123456789abcdef",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2_000 {
            let mut s = String::new();
            // xorshift64: deterministic, so a failure reproduces.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..state % 40 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push_str(ALPHABET[(state % ALPHABET.len() as u64) as usize]);
            }
            for html_safe in [false, true] {
                let expected = python_dumps(&s, html_safe);
                assert_eq!(written(&s, html_safe), expected, "{s:?} {html_safe}");
                assert_eq!(escaped_len(&s, html_safe) + 2, expected.len(), "{s:?}");
            }
        }
    }
}
