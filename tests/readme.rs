//! The README's code cannot drift from code that builds: its quick start is the crate
//! docs' compiled `no_run` doctest, and its testing example a test of
//! `tests/mock_model_test.rs`, character for character.

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

#[test]
fn the_readme_testing_example_is_a_test_that_runs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let tests = std::fs::read_to_string(format!("{root}/tests/mock_model_test.rs")).unwrap();
    let snippet = between(&readme, "```rust,ignore\n", "```\n");
    // The `use` lines differ (the test file imports more); the test itself must not.
    let body: Vec<&str> = snippet
        .into_iter()
        .skip_while(|line| !line.starts_with("#[tokio::test]"))
        .collect();
    assert!(body.len() > 5, "the README's testing example is missing");
    assert!(
        tests.contains(&body.join("\n")),
        "the README's testing example is not in tests/mock_model_test.rs"
    );
}
