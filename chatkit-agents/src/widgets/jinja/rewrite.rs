//! Rewrites namespace assignments into calls of our checked setter.
//!
//! minijinja compiles `{% set ns.attr = value %}` into an instruction that only its own
//! (private) namespace type accepts, and that stores any value, including the namespace
//! itself. So before compiling, each such statement becomes
//! `{% set __ck_ns_void = __ck_ns_set(ns, "attr", (value)) %}`, and the block form
//! `{% set ns.attr %}...{% endset %}` captures into a temporary first. No newline is
//! added or removed, so error line numbers stay those of the original source.
//!
//! The scan knows just enough of Jinja's lexical structure to find statements: comments
//! (`{# #}`), expressions (`{{ }}`), string literals inside tags, and `raw` blocks.

use std::borrow::Cow;

/// The name of the setter function the rewritten statements call.
pub(crate) const SETTER: &str = "__ck_ns_set";

/// `source` with every namespace assignment rewritten (borrowed when it has none).
pub(crate) fn rewrite_namespace_sets(source: &str) -> Cow<'_, str> {
    if !source.contains("set") {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 64);
    let mut copied = 0;
    let mut pos = 0;
    let mut changed = false;
    // Open `{% set %}` blocks: `Some((namespace, attribute, temporary))` for ours.
    let mut blocks: Vec<Option<(String, String, String)>> = Vec::new();
    let mut temporaries = 0usize;
    let bytes = source.as_bytes();
    while let Some(offset) = source[pos..].find('{') {
        let start = pos + offset;
        match bytes.get(start + 1) {
            Some(b'#') => pos = find_from(source, start + 2, "#}").map_or(source.len(), |e| e + 2),
            Some(b'{') => pos = tag_end(source, start + 2, "}}"),
            Some(b'%') => {
                let end = tag_end(source, start + 2, "%}");
                let tag = Tag::parse(&source[start..end]);
                pos = end;
                match tag.keyword {
                    "raw" => {
                        pos = find_endraw(source, end);
                    }
                    "set" => {
                        let Some(target) = tag.namespace_target() else {
                            if !tag.body.contains('=') {
                                blocks.push(None);
                            }
                            continue;
                        };
                        out.push_str(&source[copied..start]);
                        copied = end;
                        changed = true;
                        let (namespace, attribute, value) = target;
                        match value {
                            Some(value) => {
                                out.push_str(&format!(
                                    "{{%{} set __ck_ns_void = {SETTER}({namespace}, {attribute:?}, ({value})) {}%}}",
                                    tag.left, tag.right
                                ));
                            }
                            None => {
                                let temporary = format!("__ck_ns_block_{temporaries}");
                                temporaries += 1;
                                out.push_str(&format!(
                                    "{{%{} set {temporary} {}%}}",
                                    tag.left, tag.right
                                ));
                                blocks.push(Some((
                                    namespace.to_owned(),
                                    attribute.to_owned(),
                                    temporary,
                                )));
                            }
                        }
                    }
                    "endset" => {
                        if let Some(Some((namespace, attribute, temporary))) = blocks.pop() {
                            out.push_str(&source[copied..start]);
                            copied = end;
                            changed = true;
                            // The right whitespace marker moves to the added statement,
                            // so it still strips what follows.
                            out.push_str(&format!(
                                "{{%{} endset %}}{{% set __ck_ns_void = {SETTER}({namespace}, {attribute:?}, {temporary}) {}%}}",
                                tag.left, tag.right
                            ));
                        }
                    }
                    _ => {}
                }
            }
            _ => pos = start + 1,
        }
    }
    if !changed {
        return Cow::Borrowed(source);
    }
    out.push_str(&source[copied..]);
    Cow::Owned(out)
}

fn find_from(source: &str, from: usize, needle: &str) -> Option<usize> {
    source.get(from..)?.find(needle).map(|i| from + i)
}

/// The end (exclusive) of a tag whose body starts at `from` and closes with `close`,
/// skipping string literals; the end of the source when it never closes.
fn tag_end(source: &str, from: usize, close: &str) -> usize {
    let bytes = source.as_bytes();
    let mut i = from;
    // Brackets opened inside the tag: `{{ {"a": {"b": 1}} }}` closes at the last `}}`.
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ if depth == 0 && bytes[i..].starts_with(close.as_bytes()) => return i + close.len(),
            b'{' | b'[' | b'(' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    source.len()
}

/// The end of the `{% endraw %}` tag after a `raw` block starting at `from`.
fn find_endraw(source: &str, from: usize) -> usize {
    let mut pos = from;
    while let Some(start) = find_from(source, pos, "{%") {
        let end = tag_end(source, start + 2, "%}");
        if Tag::parse(&source[start..end]).keyword == "endraw" {
            return end;
        }
        pos = start + 2;
    }
    source.len()
}

/// A `{% ... %}` tag split into its whitespace markers, keyword and body.
struct Tag<'a> {
    left: &'a str,
    right: &'a str,
    keyword: &'a str,
    body: &'a str,
}

impl<'a> Tag<'a> {
    fn parse(tag: &'a str) -> Self {
        let inner = tag.strip_prefix("{%").unwrap_or(tag);
        let inner = inner.strip_suffix("%}").unwrap_or(inner);
        let (left, inner) = split_marker_start(inner);
        let (inner, right) = split_marker_end(inner);
        let inner = inner.trim_start();
        let keyword_len = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        Tag {
            left,
            right,
            keyword: &inner[..keyword_len],
            body: inner[keyword_len..].trim(),
        }
    }

    /// For `set ns.attr = value` or `set ns.attr`: the namespace, the attribute and the
    /// value expression (absent in the block form).
    fn namespace_target(&self) -> Option<(&'a str, &'a str, Option<&'a str>)> {
        let body = self.body;
        let (namespace, rest) = split_identifier(body)?;
        let rest = rest.trim_start().strip_prefix('.')?.trim_start();
        let (attribute, rest) = split_identifier(rest)?;
        let rest = rest.trim_start();
        if rest.is_empty() {
            return Some((namespace, attribute, None));
        }
        let value = rest.strip_prefix('=')?;
        // `==` is a comparison, not an assignment (and not valid here anyway).
        if value.starts_with('=') {
            return None;
        }
        Some((namespace, attribute, Some(value.trim())))
    }
}

fn split_marker_start(inner: &str) -> (&str, &str) {
    match inner.as_bytes().first() {
        Some(b'-' | b'+') => inner.split_at(1),
        _ => ("", inner),
    }
}

fn split_marker_end(inner: &str) -> (&str, &str) {
    match inner.as_bytes().last() {
        Some(b'-' | b'+') => inner.split_at(inner.len() - 1),
        _ => (inner, ""),
    }
}

fn split_identifier(text: &str) -> Option<(&str, &str)> {
    let first = text.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    Some(text.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_become_setter_calls() {
        assert_eq!(
            rewrite_namespace_sets("{%- set ns.count = ns.count + 1 -%}x"),
            "{%- set __ck_ns_void = __ck_ns_set(ns, \"count\", (ns.count + 1)) -%}x"
        );
        assert_eq!(
            rewrite_namespace_sets("{% set ns.s = '%}' %}"),
            "{% set __ck_ns_void = __ck_ns_set(ns, \"s\", ('%}')) %}"
        );
    }

    #[test]
    fn block_assignments_capture_first() {
        assert_eq!(
            rewrite_namespace_sets("{% set ns.a %}hi{% set x %}y{% endset %}{% endset -%} z"),
            "{% set __ck_ns_block_0 %}hi{% set x %}y{% endset %}{% endset %}\
             {% set __ck_ns_void = __ck_ns_set(ns, \"a\", __ck_ns_block_0) -%} z"
        );
    }

    #[test]
    fn other_text_is_left_alone() {
        for source in [
            "{% set x = 1 %}{{ '{% set ns.a = 1 %}' }}",
            "{# {% set ns.a = 1 %} #}",
            "{% raw %}{% set ns.a = 1 %}{% endraw %}",
            "{% if a == b %}set ns.a = 1{% endif %}",
            "{% set",
            "{{ {\"a\": {\"b\": 1}} }}{# {% set ns.a = 1 %} #}",
        ] {
            assert_eq!(rewrite_namespace_sets(source), source);
        }
    }
}
