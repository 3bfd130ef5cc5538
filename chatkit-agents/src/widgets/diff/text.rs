//! [`diff_widget`](super::diff_widget) on two widgets that both still have their canonical
//! text (template builds): the common streaming step, one text node's value grown by an
//! append, is found by comparing the texts, without parsing either into a tree.
//!
//! The texts are canonical (compact, no nulls, serde_json's escapes), so equal texts are
//! equal trees and a difference can be located by bytes. [`diff`] handles exactly one
//! case: `after` is `before` with bytes inserted at the end of a string that is the
//! `value` of a `Text` or `Markdown` component. Every other difference returns `None`
//! and the tree diff decides, so the result is always the tree diff's.

use memchr::memmem;

use crate::types::ThreadItemUpdate;

use super::{truthy, DiffError};

/// The updates from `before` to `after`, or `None` when the tree diff must decide.
pub(super) fn diff(before: &str, after: &str) -> Option<Result<Vec<ThreadItemUpdate>, DiffError>> {
    let (b, a) = (before.as_bytes(), after.as_bytes());
    if a.len() < b.len() {
        return None;
    }
    let at = common_prefix(b, a);
    if at == b.len() && a.len() == b.len() {
        return Some(Ok(Vec::new()));
    }
    let inserted = a.len() - b.len();
    if inserted == 0 || a[at + inserted..] != b[at..] {
        return None;
    }
    // `at` must lie in a string of `before`; the insertion is an append if the string's
    // old content is a prefix of its new content.
    let scan = Scan::to(b, at)?;
    let content_end = scan.string_end;
    if a[scan.string_start..content_end] != b[scan.string_start..content_end] {
        return None;
    }
    let appended = &after[content_end..content_end + inserted];
    if !b[..scan.string_start].ends_with(b"\"value\":\"") {
        return None;
    }
    let node = scan.innermost_component(b)?;
    let props = Props::read(before, node)?;
    if !matches!(props.node_type, Some("\"Text\"" | "\"Markdown\"")) {
        return None;
    }
    let Some(id_token) = props.id else {
        // No id: the tree diff gives no update either (the done item carries the text).
        return Some(Ok(Vec::new()));
    };
    // The id must name only this text node: one `"id":<id>` in the whole widget (any
    // other, even in a payload, lets the tree decide).
    let needle = format!("\"id\":{id_token}");
    let mut found = memmem::find_iter(a, needle.as_bytes());
    if found.next().is_none() || found.next().is_some() {
        return None;
    }
    let id: String = serde_json::from_str(id_token).ok()?;
    let streaming: Option<serde_json::Value> = match props.streaming {
        None => None,
        Some(token) => Some(serde_json::from_str(token).ok()?),
    };
    let delta = if appended.contains('\\') {
        serde_json::from_str(&format!("\"{appended}\"")).ok()?
    } else {
        appended.to_owned()
    };
    Some(Ok(vec![ThreadItemUpdate::WidgetStreamingTextValueDelta {
        component_id: id,
        delta,
        done: !truthy(streaming.as_ref()),
    }]))
}

/// The length of the common prefix, compared a block at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 256;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Where a byte position of canonical JSON stands: in which string, inside which
/// containers.
struct Scan {
    /// Offsets of the open containers (`{` or `[`), outermost first.
    open: Vec<usize>,
    /// The first content byte of the string holding the position.
    string_start: usize,
    /// The closing quote of that string.
    string_end: usize,
}

impl Scan {
    /// Scans `text` up to `at`, which must fall in a string's content or on its closing
    /// quote; `None` otherwise.
    fn to(text: &[u8], at: usize) -> Option<Scan> {
        let mut open = Vec::new();
        let mut i = 0;
        while i < at {
            match text[i] {
                b'"' => {
                    let end = string_end(text, i + 1)?;
                    if end >= at {
                        return Some(Scan {
                            open,
                            string_start: i + 1,
                            string_end: end,
                        });
                    }
                    i = end + 1;
                }
                b'{' | b'[' => {
                    open.push(i);
                    i += 1;
                }
                b'}' | b']' => {
                    open.pop();
                    i += 1;
                }
                _ => i += 1,
            }
        }
        None
    }

    /// The object holding the string, if it is a component: the root, or reached from
    /// it through `children` only.
    fn innermost_component(&self, text: &[u8]) -> Option<usize> {
        #[derive(PartialEq)]
        enum Kind {
            Component,
            ChildrenList,
        }
        let (&root, below) = self.open.split_first()?;
        if text[root] != b'{' {
            return None;
        }
        let mut kind = Kind::Component;
        for &container in below {
            let is_object = text[container] == b'{';
            kind = match kind {
                // Only a component's `children` holds components.
                Kind::Component if text[..container].ends_with(b"\"children\":") => {
                    if is_object {
                        Kind::Component
                    } else {
                        Kind::ChildrenList
                    }
                }
                Kind::ChildrenList if is_object => Kind::Component,
                _ => return None,
            };
        }
        (kind == Kind::Component).then(|| *self.open.last().unwrap_or(&root))
    }
}

/// The closing quote of the string whose content starts at `from`.
fn string_end(text: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let found = i + memchr::memchr2(b'"', b'\\', &text[i..])?;
        if text[found] == b'"' {
            return Some(found);
        }
        i = found + 2;
    }
}

/// The raw tokens of a component's `type`, `id` and `streaming`.
struct Props<'a> {
    node_type: Option<&'a str>,
    id: Option<&'a str>,
    streaming: Option<&'a str>,
}

impl<'a> Props<'a> {
    /// Reads the top-level props of the object at `start`, skipping their values.
    fn read(text: &'a str, start: usize) -> Option<Props<'a>> {
        let bytes = text.as_bytes();
        let mut props = Props {
            node_type: None,
            id: None,
            streaming: None,
        };
        let mut i = start + 1;
        if bytes.get(i) == Some(&b'}') {
            return Some(props);
        }
        loop {
            // A key, `:`, a value, then `,` or `}`.
            if bytes.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = string_end(bytes, i + 1)?;
            let key = &text[i + 1..key_end];
            let value_start = key_end + 2;
            let value_end = skip_value(bytes, value_start)?;
            let value = &text[value_start..value_end];
            match key {
                "type" => props.node_type = Some(value),
                "id" => props.id = Some(value),
                "streaming" => props.streaming = Some(value),
                _ => {}
            }
            match bytes.get(value_end) {
                Some(b',') => i = value_end + 1,
                Some(b'}') => return Some(props),
                _ => return None,
            }
        }
    }
}

/// The end of the JSON value starting at `start` (canonical: no whitespace).
fn skip_value(text: &[u8], start: usize) -> Option<usize> {
    match text.get(start)? {
        b'"' => Some(string_end(text, start + 1)? + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match text.get(i)? {
                    b'"' => i = string_end(text, i + 1)? + 1,
                    b'{' | b'[' => {
                        depth += 1;
                        i += 1;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        i += 1;
                        if depth == 0 {
                            return Some(i);
                        }
                    }
                    _ => i += 1,
                }
            }
        }
        _ => {
            let len = text[start..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']'))?;
            Some(start + len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::widgets::{diff_widget, WidgetTemplate};
    use serde_json::json;

    fn built(source: &str, data: serde_json::Value) -> crate::types::widget::WidgetRoot {
        WidgetTemplate::new(json!({"version": "1.0", "name": "t", "template": source}))
            .unwrap()
            .build(data)
            .unwrap()
    }

    /// The text diff, where it answers, is the tree diff.
    fn agrees(source: &str, before: serde_json::Value, after: serde_json::Value) -> bool {
        let (b, a) = (built(source, before), built(source, after));
        let fast = diff(b.canonical_json().unwrap(), a.canonical_json().unwrap());
        let tree = super::super::diff_trees(&b, &a);
        if let Some(fast) = &fast {
            assert_eq!(fast, &tree, "{source}");
        }
        assert_eq!(diff_widget(&b, &a), tree, "{source}");
        fast.is_some()
    }

    const MD: &str = r#"{"type":"Card","children":[{"type":"Row","children":[{"type":"Caption","value":"x"}]},{"type":"Markdown","id":{{ id | tojson }},"value":{{ t | tojson }},"streaming":{{ s | tojson }}}]}"#;

    #[test]
    fn appends_to_a_text_value_are_found_in_the_text() {
        for (before, after) in [
            ("", "a"),
            ("Hel", "Hello"),
            ("a\"b", "a\"b\\c\n\"d"),
            ("<é>", "<é> 😀 \u{1}"),
            ("ab", "abab"),
            ("a\\", "a\\\\n"),
        ] {
            for streaming in [json!(true), json!(false), json!(1), json!("")] {
                let d = |t: &str| json!({"id": "m", "t": t, "s": streaming});
                assert!(agrees(MD, d(before), d(after)), "{before:?} -> {after:?}");
            }
        }
    }

    #[test]
    fn every_other_difference_is_left_to_the_tree() {
        let d = |t: &str, s: bool| json!({"id": "m", "t": t, "s": s});
        // Not an append, streaming changed, shrunk, equal.
        assert!(!agrees(MD, d("abc", true), d("abXc", true)));
        assert!(!agrees(MD, d("abc", true), d("abcd", false)));
        assert!(!agrees(MD, d("abc", true), d("ab", true)));
        assert!(agrees(MD, d("abc", true), d("abc", true)));
        // A value that is not a text node's, a payload, a key, a number.
        let title =
            r#"{"type":"Card","children":[{"type":"Title","id":"m","value":{{ t | tojson }}}]}"#;
        assert!(!agrees(title, json!({"t": "a"}), json!({"t": "ab"})));
        let payload = r#"{"type":"Card","children":[{"type":"Button","onClickAction":{"type":"x","payload":{"type":"Text","id":"m","value":{{ t | tojson }}}}}]}"#;
        assert!(!agrees(payload, json!({"t": "a"}), json!({"t": "ab"})));
        let gap = r#"{"type":"Card","gap":{{ t }},"children":[]}"#;
        assert!(!agrees(gap, json!({"t": "2"}), json!({"t": "21"})));
        // A shared id.
        let twice = r#"{"type":"Card","children":[{"type":"Text","id":"m","value":{{ t | tojson }}},{"type":"Text","id":"m","value":"x"}]}"#;
        assert!(!agrees(twice, json!({"t": "a"}), json!({"t": "ab"})));
        // No id: no update, like the tree.
        let no_id = r#"{"type":"Card","children":[{"type":"Text","value":{{ t | tojson }}}]}"#;
        assert!(agrees(no_id, json!({"t": "a"}), json!({"t": "ab"})));
        // A single child through Transition.
        let single = r#"{"type":"Card","children":[{"type":"Transition","children":{"type":"Text","id":"m","value":{{ t | tojson }}}}]}"#;
        assert!(agrees(single, json!({"t": "a"}), json!({"t": "ab"})));
    }
}
