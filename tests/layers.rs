//! The library's rooms import only downward: `types` <- `widgets` <- `store` <- `runs`
//! <- `server` <- `agents` <- `http`, and inside `agents` the runtime imports nothing of ChatKit (only
//! the `chatkit/` bridge does); `telemetry` imports none of them. Checked on the source,
//! so a new arrow upward fails here rather than in review.

use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chatkit-agents/src");

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::<room>` paths a file's code (not its comments) names.
fn rooms_used(text: &str) -> Vec<String> {
    let mut rooms = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let room: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rooms.push(room);
        }
    }
    rooms
}

/// `(file, room)` for every use of a room in `dir` that is in `forbidden`.
fn violations(dir: &str, forbidden: &[&str], skip: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&Path::new(SRC).join(dir), &mut files);
    let mut found = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(SRC)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if skip.iter().any(|s| relative.starts_with(s)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for room in rooms_used(&text) {
            if forbidden.contains(&room.as_str()) {
                found.push(format!("{relative} uses crate::{room}"));
            }
        }
    }
    found
}

#[test]
fn each_room_imports_only_the_rooms_below_it() {
    let mut all = Vec::new();
    all.extend(violations(
        "types",
        &[
            "widgets", "store", "runs", "server", "agents", "http", "testing",
        ],
        &[],
    ));
    all.extend(violations(
        "widgets",
        &["store", "runs", "server", "agents", "http", "testing"],
        &[],
    ));
    all.extend(violations(
        "store",
        &["runs", "server", "agents", "http", "testing"],
        &[],
    ));
    // The seam between a response's producer and its delivery: it moves frames and
    // knows no server, agent or HTTP.
    all.extend(violations(
        "runs",
        &["server", "agents", "http", "testing"],
        &[],
    ));
    // Telemetry is a leaf every room may use: it knows none of them.
    all.extend(violations(
        "telemetry",
        &[
            "types", "widgets", "store", "runs", "server", "agents", "http", "testing",
        ],
        &[],
    ));
    all.extend(violations("server", &["agents", "http", "testing"], &[]));
    all.extend(violations("agents", &["http", "testing"], &[]));
    assert!(all.is_empty(), "imports upward:\n{}", all.join("\n"));
}

#[test]
fn the_agent_runtime_knows_nothing_of_chatkit() {
    // Everything in agents/ but the bridge (and the module root that re-exports it).
    let found = violations(
        "agents",
        &["types", "widgets", "store", "server", "http"],
        &["agents/chatkit/", "agents/mod.rs"],
    );
    let bridge_users: Vec<String> = {
        let mut files = Vec::new();
        rust_files(&Path::new(SRC).join("agents"), &mut files);
        files
            .into_iter()
            .filter(|f| !f.starts_with(Path::new(SRC).join("agents/chatkit")))
            .filter(|f| {
                std::fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .any(|l| !l.trim_start().starts_with("//") && l.contains("agents::chatkit"))
            })
            .map(|f| f.strip_prefix(SRC).unwrap().to_string_lossy().into_owned())
            .filter(|f| f != "agents/mod.rs")
            .collect()
    };
    assert!(
        found.is_empty() && bridge_users.is_empty(),
        "the runtime reaches into ChatKit:\n{}\n{}",
        found.join("\n"),
        bridge_users.join("\n")
    );
}

/// The module path of a source file below `src/` (`agents/chatkit/mod.rs` is
/// `["agents", "chatkit"]`).
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(SRC).unwrap();
    let mut path: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if path
        .last()
        .is_some_and(|last| last == "mod" || last == "lib")
    {
        path.pop();
    }
    path
}

/// The module paths `text` (the file of module `here`) refers to, through `crate::` and
/// `super::` paths outside comments.
fn references(here: &[String], text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find(['c', 's']) {
            rest = &rest[at..];
            let (mut base, tail) = if let Some(tail) = rest.strip_prefix("crate::") {
                (Vec::new(), tail)
            } else if rest.starts_with("super::") {
                let mut base = here.to_vec();
                let mut tail = rest;
                while let Some(next) = tail.strip_prefix("super::") {
                    base.pop();
                    tail = next;
                }
                (base, tail)
            } else {
                rest = &rest[1..];
                continue;
            };
            let words: Vec<String> = tail
                .split("::")
                .map(|w| {
                    w.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                .take_while(|w| !w.is_empty())
                .collect();
            base.extend(words);
            found.push(base);
            rest = &tail[tail.len().min(1)..];
        }
    }
    found
}

#[test]
fn no_import_circle_inside_agents() {
    // Edges between sibling modules: a file of `a` naming `b` (both children of the same
    // module) is an edge a -> b of that module's graph.
    let mut files = Vec::new();
    rust_files(&Path::new(SRC).join("agents"), &mut files);
    let mut edges: std::collections::BTreeMap<
        Vec<String>,
        std::collections::BTreeSet<(String, String)>,
    > = Default::default();
    for file in &files {
        let here = module_path(file);
        let text = std::fs::read_to_string(file).unwrap();
        for target in references(&here, &text) {
            let common = here.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == 0 || !here[..common].starts_with(&["agents".to_owned()]) {
                continue;
            }
            if let (Some(from), Some(to)) = (here.get(common), target.get(common)) {
                if from != to {
                    edges
                        .entry(here[..common].to_vec())
                        .or_default()
                        .insert((from.clone(), to.clone()));
                }
            }
        }
    }
    let mut circles = Vec::new();
    for (parent, pairs) in &edges {
        // A circle: a module that reaches itself through its sibling edges.
        for (start, _) in pairs {
            let mut seen = std::collections::BTreeSet::new();
            let mut stack: Vec<&String> = pairs
                .iter()
                .filter(|(a, _)| a == start)
                .map(|(_, b)| b)
                .collect();
            while let Some(module) = stack.pop() {
                if module == start {
                    circles.push(format!("{}: {start} reaches itself", parent.join("::")));
                    break;
                }
                if seen.insert(module.clone()) {
                    stack.extend(pairs.iter().filter(|(a, _)| a == module).map(|(_, b)| b));
                }
            }
        }
    }
    circles.dedup();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
    // The check sees the bridge's edges (it is not vacuous).
    let bridge = &edges[&vec!["agents".to_owned(), "chatkit".to_owned()]];
    assert!(bridge.contains(&("approvals".to_owned(), "response_stream".to_owned())));
}
