//! A bounded randomized run of the fuzz targets' properties (`src/fuzzing.rs`) on stable
//! Rust, so that every test run exercises them: inputs are the golden records and
//! reference widgets mutated byte-wise and value-wise, random bytes, and templates
//! assembled from Jinja fragments that include every known hostile construct. The seed
//! is fixed (override with `FUZZ_SEED`, scale with `FUZZ_ITERATIONS`), so a failure
//! reproduces; the failing input is printed.

use std::panic::AssertUnwindSafe;
use std::path::Path;

use chatkit_agents_workspace::fuzzing;
use serde_json::Value;

/// xorshift64*: small, fast, and reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c4a7_1c17_0001)
}

fn iterations(default: usize) -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn golden(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(path),
    )
    .unwrap()
}

/// The `field` of every line of a golden JSON-lines file, as JSON text.
fn golden_field(path: &str, field: &str) -> Vec<Vec<u8>> {
    golden(path)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|record| match &record[field] {
            Value::Null => None,
            Value::String(s) if field == "body" => Some(s.clone().into_bytes()),
            value => Some(value.to_string().into_bytes()),
        })
        .collect()
}

/// Strings that break naive code: escapes, controls, astral characters, huge numbers.
const NASTY: &[&str] = &[
    "",
    "\"",
    "\\",
    "\n",
    "\u{0}",
    "\u{7f}",
    "é",
    "😀",
    "\u{2028}",
    "</script>",
    "{{",
    "{%",
    "-1",
    "1e400",
    "18446744073709551616",
    "-0",
    "NaN",
    "null",
    "[]",
    "{}",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(2)),
        2 => Value::from(rng.next() as i64 >> rng.below(64)),
        3 => serde_json::Number::from_f64((rng.next() as f64) / 7.0 - 1e18)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        4 | 5 => Value::String(
            (0..rng.below(4))
                .map(|_| *rng.pick(NASTY))
                .collect::<String>(),
        ),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|i| (format!("k{i}"), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

/// `value` with one random position replaced by a random value.
fn mutate_value(rng: &mut Rng, value: &mut Value) {
    match value {
        Value::Object(map) if !map.is_empty() && !rng.chance(4) => {
            let key = map
                .keys()
                .nth(rng.below(map.len()))
                .cloned()
                .unwrap_or_default();
            if let Some(child) = map.get_mut(&key) {
                mutate_value(rng, child);
            }
        }
        Value::Array(list) if !list.is_empty() && !rng.chance(4) => {
            let at = rng.below(list.len());
            mutate_value(rng, &mut list[at]);
        }
        _ => *value = random_value(rng, 0),
    }
}

/// A byte-level mutation of `seed`, or a value-level one when it is JSON.
fn mutate(rng: &mut Rng, seed: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seed.to_vec();
    match rng.below(6) {
        0 => data.truncate(rng.below(data.len() + 1)),
        1 if !data.is_empty() => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(data.len());
                data[at] = rng.next() as u8;
            }
        }
        2 => {
            let at = rng.below(data.len() + 1);
            let insert = rng.pick(NASTY).as_bytes().to_vec();
            data.splice(at..at, insert);
        }
        3 => {
            let other = rng.pick(others);
            let cut = rng.below(data.len() + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        _ => {
            if let Ok(mut value) = serde_json::from_slice::<Value>(&data) {
                for _ in 0..1 + rng.below(3) {
                    mutate_value(rng, &mut value);
                }
                data = value.to_string().into_bytes();
            } else if !data.is_empty() {
                let at = rng.below(data.len());
                data.remove(at);
            }
        }
    }
    data
}

/// Runs `property` on `count` inputs from `generate`, printing the input that fails,
/// and checks that at least a tenth of the inputs got past parsing.
fn run(
    name: &str,
    count: usize,
    mut generate: impl FnMut(&mut Rng) -> Vec<u8>,
    property: fn(&[u8]) -> bool,
) {
    let mut rng = Rng(seed() ^ name.len() as u64 ^ 0x9e37_79b9_7f4a_7c15);
    let mut exercised = 0;
    for i in 0..count {
        let input = generate(&mut rng);
        match std::panic::catch_unwind(AssertUnwindSafe(|| property(&input))) {
            Ok(true) => exercised += 1,
            Ok(false) => {}
            Err(_) => panic!(
                "{name}: property failed on input {i} (FUZZ_SEED={}): {:?}",
                seed(),
                String::from_utf8_lossy(&input)
            ),
        }
    }
    println!("{name}: {count} inputs, {exercised} past parsing");
    assert!(
        exercised * 10 >= count,
        "{name}: only {exercised} of {count} inputs parsed"
    );
}

fn corpus(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let seed = rng.pick(seeds).clone();
    let rounds = rng.below(3);
    (0..rounds).fold(seed, |data, _| mutate(rng, &data, seeds))
}

#[test]
fn request_parsing_never_panics_and_round_trips() {
    let mut seeds = golden_field("invalid-requests.jsonl", "body");
    seeds.extend(golden_field("lenient-requests.jsonl", "body"));
    // The valid requests of every captured stream (their `body` is the JSON itself).
    let streams = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/streams");
    for entry in std::fs::read_dir(streams).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".requests.jsonl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let record: Value = serde_json::from_str(line).unwrap();
                // Valid bodies are weighted up: most mutations of them still parse.
                for _ in 0..4 {
                    seeds.push(record["body"].to_string().into_bytes());
                }
            }
        }
    }
    assert!(seeds.len() > 50);
    run(
        "request_parsing",
        iterations(20_000),
        |rng| corpus(rng, &seeds),
        fuzzing::request_parsing,
    );
}

/// Fragments templates are assembled from, hostile ones included.
const FRAGMENTS: &[&str] = &[
    r#"{"type":"Card","children":["#,
    r#"{"type":"Text","value":{{ name | tojson }}}"#,
    r#"{"type":"Text","value":{{ (name ~ "!") | tojson }}}"#,
    "]}",
    ",",
    "{{ name[::-1] }}",
    "{{ items[::-1] }}",
    "{{ items | reverse | list | tojson }}",
    "{% for i in range(100000) %}",
    "{% for j in range(100000) %}",
    "{% for x in items %}",
    "{% endfor %}",
    "{% if name %}",
    "{% else %}",
    "{% endif %}",
    "{% set ns = namespace(items=[], n=0) %}",
    "{% set _ = ns.items.append(ns.items) %}",
    "{% set _ = ns.items.append(name) %}",
    "{% set ns.me = ns %}",
    "{% set ns.n = ns.n + 1 %}",
    "{% set ns.items = [ns.items | list] %}",
    "{% set ns.view = ns.items | reverse %}",
    "{{ ns }}",
    "{{ ns | tojson }}",
    "{{ ns.items | tojson }}",
    "{{ name | indent(10**9) }}",
    "{{ items | slice(10**9) }}",
    "{{ items | batch(10**9, 'x') }}",
    "{{ name | center(10**9) }}",
    "{{ 'x' * 10**7 }}",
    "{{ [1] * 10**7 }}",
    "{{ 46 | round(method='floor') }}",
    "{{ deep | tojson }}",
    "{{ missing }}",
    "{{ name.attr.other }}",
    "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "{% raw %}{% set ns.a = 1 %}{% endraw %}",
    "{# comment #}",
    "{{ '%}' }}",
    "{% set x %}block{% endset %}{{ x }}",
    "{%",
    "}}",
    "{{ 1 / 0 }}",
    "{{ 2 ** 100000 }}",
    "{{ name | wordwrap(1) }}",
    "{{ items | join(name) }}",
    "{{ {'a': ns} | tojson }}",
    "{{ range(10) | list | tojson }}",
    "\n",
];

#[test]
fn templates_never_panic_and_stay_in_budget() {
    let mut deep = Value::from(1);
    for _ in 0..200 {
        deep = Value::Array(vec![deep]);
    }
    let datas = [
        serde_json::json!({"name": "", "items": []}),
        serde_json::json!({"name": "Ada", "items": [1, "two", null, {"a": []}]}),
        serde_json::json!({"name": "😀\n\"", "items": ["x"], "deep": deep}),
    ];
    run(
        "template_build",
        iterations(5_000),
        |rng| {
            let mut source = String::new();
            for _ in 0..1 + rng.below(8) {
                let fragment: &&str = rng.pick(FRAGMENTS);
                source.push_str(fragment);
            }
            let mut input = source.into_bytes();
            input.push(0);
            input.extend(rng.pick(&datas).to_string().into_bytes());
            input
        },
        fuzzing::template_build,
    );
}

/// Every reference widget's golden output, as widget JSON.
fn widget_seeds() -> Vec<Vec<u8>> {
    let outputs: Value =
        serde_json::from_str(&golden("reference-widgets/python-sdk-golden-outputs.json")).unwrap();
    let mut seeds: Vec<Vec<u8>> = outputs["widgets"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|case| case.get("output"))
        .map(|output| output.to_string().into_bytes())
        .collect();
    for line in golden("widget-diff.jsonl").lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        for side in ["before", "after"] {
            if record[side].is_object() {
                seeds.push(record[side].to_string().into_bytes());
            }
        }
    }
    seeds
}

#[test]
fn widget_parsing_never_panics_and_round_trips() {
    let seeds = widget_seeds();
    run(
        "widget_parsing",
        iterations(10_000),
        |rng| corpus(rng, &seeds),
        fuzzing::widget_parsing,
    );
}

/// How many string `value` props the JSON holds, at any depth.
fn count_values(value: &Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| usize::from(k == "value" && v.is_string()) + count_values(v))
            .sum(),
        Value::Array(list) => list.iter().map(count_values).sum(),
        _ => 0,
    }
}

/// Appends `piece` to the `target`-th string `value` prop (counting with `seen`).
fn append_to_value(value: &mut Value, target: usize, piece: &str, seen: &mut usize) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "value" {
                    if let Value::String(text) = v {
                        if *seen == target {
                            text.push_str(piece);
                        }
                        *seen += 1;
                        continue;
                    }
                }
                append_to_value(v, target, piece, seen);
            }
        }
        Value::Array(list) => list
            .iter_mut()
            .for_each(|v| append_to_value(v, target, piece, seen)),
        _ => {}
    }
}

#[test]
fn widget_diff_never_panics_and_names_real_components() {
    let seeds = widget_seeds();
    let pairs: Vec<Vec<u8>> = golden("widget-diff.jsonl")
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            let mut pair = record["before"].to_string().into_bytes();
            pair.push(0);
            pair.extend(record["after"].to_string().into_bytes());
            pair
        })
        .collect();
    run(
        "widget_diff",
        iterations(10_000),
        |rng| {
            if rng.chance(3) {
                // Two (mutated) widgets.
                let mut input = corpus(rng, &seeds);
                input.push(0);
                input.extend(corpus(rng, &seeds));
                input
            } else if rng.chance(2) {
                // A streaming step: a golden `before` with text appended to one `value`.
                let pair = rng.pick(&pairs);
                let at = pair.iter().position(|&b| b == 0).unwrap_or(pair.len());
                let mut before: Value = serde_json::from_slice(&pair[..at]).unwrap();
                let mut after = before.clone();
                let pieces = ["x", " more words", "\n", "\"", "\\", "é😀", "<&>", ""];
                let piece = *rng.pick(&pieces);
                let count = count_values(&after);
                if count > 0 {
                    append_to_value(&mut after, rng.below(count), piece, &mut 0);
                }
                if rng.chance(4) {
                    // Or the step before it: both sides shorter by the same text.
                    std::mem::swap(&mut before, &mut after);
                }
                let mut input = before.to_string().into_bytes();
                input.push(0);
                input.extend(after.to_string().into_bytes());
                input
            } else {
                // A golden pair with its `after` side mutated.
                let pair = rng.pick(&pairs).clone();
                let at = pair.iter().position(|&b| b == 0).unwrap_or(pair.len());
                let mut input = pair[..at + 1].to_vec();
                input.extend(mutate(rng, &pair[at + 1..], &seeds));
                input
            }
        },
        fuzzing::widget_diff,
    );
}

#[test]
fn sse_frames_are_exactly_serdes_json_on_one_line() {
    let mut seeds: Vec<Vec<u8>> = golden("wire.jsonl")
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record["kind"] == "ThreadStreamEvent")
        .map(|record| record["json"].to_string().into_bytes())
        .collect();
    // Text deltas take the framer's fast path: give it many.
    for delta in NASTY {
        seeds.push(
            serde_json::json!({"type": "thread.item.updated", "item_id": "m", "update": {"type": "assistant_message.content_part.text_delta", "content_index": 0, "delta": delta}})
                .to_string()
                .into_bytes(),
        );
    }
    assert!(seeds.len() > 20);
    run(
        "sse_framing",
        iterations(20_000),
        |rng| corpus(rng, &seeds),
        fuzzing::sse_framing,
    );
}
