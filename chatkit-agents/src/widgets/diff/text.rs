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

/// What the last diff of a stream learned about its `after` text: where the streamed
/// string is and what its node says. The next diff, whose `before` is that text, then
/// skips the scan ([`diff`] with a cache, as `stream_widget` calls it).
#[derive(Default)]
pub(crate) struct Cache {
    entry: Option<Entry>,
}

struct Entry {
    /// The text this was learned on: its address and length (the text is held, as the
    /// stream's last state, until the next diff).
    text: (usize, usize),
    found: Found,
}

fn identity(text: &str) -> (usize, usize) {
    (text.as_ptr() as usize, text.len())
}

/// The streamed string found in a text: where it is and what its node says.
struct Found {
    string_start: usize,
    string_end: usize,
    /// The node's id (`None`: appends give no update), unique in the widget.
    id: Option<String>,
    done: bool,
}

/// The updates from `before` to `after`, or `None` when the tree diff must decide.
pub(super) fn diff(
    before: &str,
    after: &str,
    mut cache: Option<&mut Cache>,
) -> Option<Result<Vec<ThreadItemUpdate>, DiffError>> {
    let (b, a) = (before.as_bytes(), after.as_bytes());
    if a.len() < b.len() {
        return None;
    }
    let inserted = a.len() - b.len();
    if inserted == 0 {
        return (a == b).then(|| Ok(Vec::new()));
    }
    // The insertion point: after the longest common suffix, if all before it is equal
    // (one memcmp). An append's bytes may match the text before them, so the point can
    // lie inside the string's old content; it cannot reach past its opening quote.
    let at = b.len() - common_suffix(b, a);
    if a[..at] != b[..at] {
        return None;
    }
    let cached = cache
        .as_deref_mut()
        .and_then(|c| c.entry.take())
        .filter(|e| {
            let found = &e.found;
            e.text == identity(before)
                && (found.string_start..=found.string_end).contains(&at)
                // Cheap guards that the entry still describes this text.
                && b.get(..found.string_start).is_some_and(|head| head.ends_with(b"\"value\":\""))
                && b.get(found.string_end) == Some(&b'"')
        });
    let mut found = match cached {
        Some(entry) => entry.found,
        None => find(before, at)?,
    };
    // An append: the old content is a prefix of the new one, and the inserted bytes are
    // content too (the string now ends right after them, not somewhere in them).
    let end = found.string_end;
    if a[at..end] != b[at..end] || string_end(a, end) != Some(end + inserted) {
        return None;
    }
    let appended = after.get(end..end + inserted)?;
    let updates = match &found.id {
        // No id: the tree diff gives no update either (the done item carries the text).
        None => Vec::new(),
        Some(id) => vec![ThreadItemUpdate::WidgetStreamingTextValueDelta {
            component_id: id.clone(),
            delta: decode(appended)?,
            done: found.done,
        }],
    };
    if let Some(cache) = cache {
        found.string_end = end + inserted;
        cache.entry = Some(Entry {
            text: identity(after),
            found,
        });
    }
    Some(Ok(updates))
}

/// Finds the string holding `at` in `text` and checks that it is the `value` of a
/// `Text`/`Markdown` component whose id (if any) no other node of the widget has.
fn find(text: &str, at: usize) -> Option<Found> {
    let bytes = text.as_bytes();
    let scan = Scan::to(bytes, at)?;
    if !bytes[..scan.string_start].ends_with(b"\"value\":\"") {
        return None;
    }
    let node = scan.innermost_component(bytes)?;
    let props = Props::read(text, node)?;
    if !matches!(props.node_type, Some("\"Text\"" | "\"Markdown\"")) {
        return None;
    }
    let id = match props.id {
        None => None,
        Some(token) => {
            // One `"id":<id>` in the widget: no other node, even in a payload, has it
            // (else the tree decides). The streamed string cannot hold it (its quotes
            // are escaped), so only the text around it is searched.
            let needle = format!("\"id\":{token}");
            let finder = memmem::Finder::new(needle.as_bytes());
            let count = finder.find_iter(&bytes[..scan.string_start]).count()
                + finder.find_iter(&bytes[scan.string_end..]).count();
            if count != 1 {
                return None;
            }
            Some(serde_json::from_str::<String>(token).ok()?)
        }
    };
    let streaming = match props.streaming {
        None => None,
        Some(token) => Some(serde_json::from_str::<serde_json::Value>(token).ok()?),
    };
    Some(Found {
        string_start: scan.string_start,
        string_end: scan.string_end,
        id,
        done: !truthy(streaming.as_ref()),
    })
}

/// The text of escaped string content.
fn decode(content: &str) -> Option<String> {
    if content.contains('\\') {
        serde_json::from_str(&format!("\"{content}\"")).ok()
    } else {
        Some(content.to_owned())
    }
}

/// The length of the common suffix, at most `a.len()`.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
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
        let found = i + memchr::memchr2(b'"', b'\\', text.get(i..)?)?;
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
        let fast = diff(
            b.canonical_json().unwrap(),
            a.canonical_json().unwrap(),
            None,
        );
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

    #[test]
    fn a_stream_of_states_reuses_what_the_last_diff_found() {
        let two = r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ a | tojson }}},{"type":"Markdown","id":"b","value":{{ b | tojson }},"streaming":true}]}"#;
        let steps = [
            ("", ""),
            ("x", ""),
            ("x", "ab"),
            ("x", "abab"),
            ("x", "ababa\\"),
            ("xy", "ababa\\"),
            ("xy", "ababa\\\\n"),
            ("xy", "b"),
            ("xy", "bc"),
        ];
        let mut states: Vec<_> = steps
            .iter()
            .map(|(a, b)| built(two, json!({"a": a, "b": b})))
            .collect();
        // A tree among the texts: the cache must not outlive the text it was about.
        let tree = crate::types::widget::WidgetRoot::from_value(states[4].to_value()).unwrap();
        states.insert(5, tree);
        let mut cache = Cache::default();
        for pair in states.windows(2) {
            let tree = super::super::diff_trees(&pair[0], &pair[1]);
            let cached = super::super::diff_states(&pair[0], &pair[1], Some(&mut cache));
            assert_eq!(cached, tree);
        }
    }

    #[test]
    fn an_insertion_that_closes_the_string_is_structure_not_text() {
        // Found by the fuzz property: the insertion point is the end of "Hel", but the
        // inserted bytes end the string and add a node.
        let parse = |text: &str| {
            crate::types::widget::WidgetRoot::from_json_text(text)
                .ok()
                .unwrap()
        };
        let before = parse(
            r#"{"type":"Card","children":[{"id":"a","type":"Text","value":"Hel","streaming":true}]}"#,
        );
        let after = parse(
            r#"{"type":"Card","children":[{"id":"a","type":"Text","value":"Hello","streaming":"x"},{"id":"b","type":"Text","value":"x","streaming":true}]}"#,
        );
        assert!(diff(
            before.canonical_json().unwrap(),
            after.canonical_json().unwrap(),
            None
        )
        .is_none());
        assert_eq!(
            diff_widget(&before, &after),
            Ok(vec![ThreadItemUpdate::root_updated(after.clone())])
        );
    }
}
