//! The library's rooms import only downward: `types` <- `widgets` <- `store` <- `server`
//! <- `agents` <- `http`, and inside `agents` the runtime imports nothing of ChatKit (only
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
        &["widgets", "store", "server", "agents", "http", "testing"],
        &[],
    ));
    all.extend(violations(
        "widgets",
        &["store", "server", "agents", "http", "testing"],
        &[],
    ));
    all.extend(violations(
        "store",
        &["server", "agents", "http", "testing"],
        &[],
    ));
    // Telemetry is a leaf every room may use: it knows none of them.
    all.extend(violations(
        "telemetry",
        &[
            "types", "widgets", "store", "server", "agents", "http", "testing",
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
