//! The README's quick start is the crate docs' compiled `no_run` doctest, character for
//! character, so the README cannot drift from code that builds.

fn between<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let start = text.find(open).unwrap_or_else(|| panic!("no {open:?}")) + open.len();
    let len = text[start..]
        .find(close)
        .unwrap_or_else(|| panic!("no {close:?}"));
    text[start..start + len].lines().collect()
}

#[test]
fn the_readme_quick_start_is_the_compiled_doctest() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let lib = std::fs::read_to_string(format!("{root}/chatkit-agents/src/lib.rs")).unwrap();
    let in_readme = between(&readme, "```rust\n", "```\n");
    let in_docs: Vec<&str> = between(&lib, "//! ```no_run\n", "//! ```\n")
        .into_iter()
        .map(|line| {
            line.strip_prefix("//! ")
                .unwrap_or(line.trim_start_matches("//!"))
        })
        .collect();
    assert!(
        in_readme.len() > 10,
        "the quick start is missing from the README"
    );
    assert_eq!(in_readme, in_docs);
}
