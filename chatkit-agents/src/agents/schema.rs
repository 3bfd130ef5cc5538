//! Tool parameter schemas: schemars output shaped like the Python Agents SDK's, and
//! OpenAI's strict mode.
//!
//! Normalization (always): `$schema` and every `title` are removed (the Python SDK keeps
//! titles; we drop them everywhere, consistently), Rust integer `format`s (`int64`,
//! `uint32`, ...) are removed, `"type": [T, "null"]` becomes
//! `"anyOf": [{"type": T, ...}, {"type": "null"}]`, and references to non-object
//! definitions (enums, aliases) are inlined, as pydantic inlines `Literal`s. Object
//! definitions stay in `$defs` behind a bare `$ref`, as pydantic keeps models.
//!
//! Strict mode (Python's `ensure_strict_json_schema`): every object gets
//! `additionalProperties: false` and all its properties become required; objects that
//! already allow additional properties (maps) are an error; `default: null` is removed;
//! `oneOf` becomes `anyOf`; a one-entry `allOf` is merged into its parent; a `$ref` with
//! sibling keywords is inlined (the siblings win); a schema that accepts any value
//! (`serde_json::Value`) is an error; and the root must be an object.

use schemars::JsonSchema;
use serde_json::{Map, Value};

/// A tool's parameters cannot be expressed as requested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolSchemaError {
    /// Strict mode cannot express an open object (a map) or an arbitrary value.
    #[error("tool {tool}: {path} {problem}; strict mode cannot express it (use a struct, or `strict = false`)")]
    NotStrict {
        /// The tool.
        tool: String,
        /// Where in the schema (`/properties/tags`).
        path: String,
        /// What it is.
        problem: &'static str,
    },
    /// The parameters are not an object (the root of a tool schema must be one).
    #[error("tool {tool}: the parameters schema must be an object")]
    NotAnObject {
        /// The tool.
        tool: String,
    },
    /// A `$ref` points nowhere.
    #[error("tool {tool}: unresolved reference {reference}")]
    UnresolvedRef {
        /// The tool.
        tool: String,
        /// The reference.
        reference: String,
    },
}

/// The parameters schema of a tool whose arguments deserialize into `T`.
pub fn parameters_schema<T: JsonSchema>(
    tool: &str,
    strict: bool,
) -> Result<Value, ToolSchemaError> {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    shape_schema(tool, schema.to_value(), strict)
}

/// Normalizes a schema (and makes it strict when `strict`). Exposed for hand-written
/// tools that build their schema themselves.
pub fn shape_schema(tool: &str, mut schema: Value, strict: bool) -> Result<Value, ToolSchemaError> {
    if let Value::Object(root) = &mut schema {
        root.remove("$schema");
    }
    if schema == Value::Bool(true) || schema.as_object().is_some_and(Map::is_empty) {
        schema = serde_json::json!({"type": "object", "properties": {}});
    }
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    normalize(&mut schema, &defs, tool, 0)?;
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) {
        defs.retain(|_, def| is_object_schema(def));
        if defs.is_empty() {
            schema.as_object_mut().map(|root| root.remove("$defs"));
        }
    }
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(ToolSchemaError::NotAnObject {
            tool: tool.to_owned(),
        });
    }
    if strict {
        let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
        make_strict(&mut schema, &defs, tool, "")?;
    }
    drop_unreferenced_defs(&mut schema);
    Ok(schema)
}

/// Removes the `$defs` that nothing outside them refers to (directly or through other
/// definitions that are used). Inlining a `$ref` that has siblings (a described struct
/// argument) leaves its definition unused, and the model would be sent it twice. The
/// Python SDK keeps such definitions; they change nothing but the prompt's length.
fn drop_unreferenced_defs(schema: &mut Value) {
    let Some(root) = schema.as_object_mut() else {
        return;
    };
    let Some(Value::Object(defs)) = root.remove("$defs") else {
        return;
    };
    let mut used = std::collections::HashSet::new();
    let mut pending = Vec::new();
    collect_refs(&Value::Object(root.clone()), &mut pending, 0);
    while let Some(name) = pending.pop() {
        if used.insert(name.clone()) {
            if let Some(def) = defs.get(&name) {
                collect_refs(def, &mut pending, 0);
            }
        }
    }
    let kept: Map<String, Value> = defs
        .into_iter()
        .filter(|(name, _)| used.contains(name))
        .collect();
    if !kept.is_empty() {
        root.insert("$defs".into(), Value::Object(kept));
    }
}

/// The definition names `schema` refers to with `#/$defs/<name>`.
fn collect_refs(schema: &Value, names: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => {
                        if let Some(name) = reference.strip_prefix("#/$defs/") {
                            names.push(name.to_owned());
                        }
                    }
                    _ => collect_refs(value, names, depth + 1),
                }
            }
        }
        Value::Array(values) => values
            .iter()
            .for_each(|value| collect_refs(value, names, depth + 1)),
        _ => {}
    }
}

const MAX_DEPTH: usize = 100;

fn is_object_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
}

fn resolve<'a>(defs: &'a Value, reference: &str, tool: &str) -> Result<&'a Value, ToolSchemaError> {
    reference
        .strip_prefix("#/$defs/")
        .and_then(|name| defs.get(name))
        .ok_or_else(|| ToolSchemaError::UnresolvedRef {
            tool: tool.to_owned(),
            reference: reference.to_owned(),
        })
}

/// The normalization pass (see the module docs).
fn normalize(
    schema: &mut Value,
    defs: &Value,
    tool: &str,
    depth: usize,
) -> Result<(), ToolSchemaError> {
    let Value::Object(map) = schema else {
        return Ok(());
    };
    if depth > MAX_DEPTH {
        return Ok(());
    }
    map.remove("title");
    if map.get("type").and_then(Value::as_str) == Some("integer") {
        map.remove("format");
    }
    // Inline references to non-object definitions (their siblings win).
    if let Some(Value::String(reference)) = map.get("$ref").cloned() {
        let target = resolve(defs, &reference, tool)?;
        if !is_object_schema(target) {
            map.remove("$ref");
            if let Value::Object(target) = target.clone() {
                for (key, value) in target {
                    map.entry(key).or_insert(value);
                }
            }
            return normalize(schema, defs, tool, depth + 1);
        }
    }
    // `"type": [T, "null"]` → `anyOf: [{type: T, ...}, {type: null}]`.
    if let Some(Value::Array(types)) = map.get("type") {
        if types.len() == 2 && types.iter().any(|t| t == "null") {
            let non_null = types
                .iter()
                .find(|t| *t != "null")
                .cloned()
                .unwrap_or(Value::Null);
            map.remove("type");
            let mut inner = Map::new();
            inner.insert("type".into(), non_null);
            // Keywords that describe the value move inside; annotations stay outside.
            let moved: Vec<String> = map
                .keys()
                .filter(|k| {
                    !matches!(
                        k.as_str(),
                        "description" | "default" | "examples" | "deprecated"
                    )
                })
                .cloned()
                .collect();
            for key in moved {
                if let Some(value) = map.remove(&key) {
                    inner.insert(key, value);
                }
            }
            map.insert(
                "anyOf".into(),
                Value::Array(vec![
                    Value::Object(inner),
                    serde_json::json!({"type": "null"}),
                ]),
            );
        }
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "properties" | "$defs" | "definitions" => {
                if let Value::Object(children) = value {
                    for child in children.values_mut() {
                        normalize(child, defs, tool, depth + 1)?;
                    }
                }
            }
            "items" | "additionalProperties" | "not" => normalize(value, defs, tool, depth + 1)?,
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(children) = value {
                    for child in children {
                        normalize(child, defs, tool, depth + 1)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The strict pass (see the module docs).
fn make_strict(
    schema: &mut Value,
    defs: &Value,
    tool: &str,
    path: &str,
) -> Result<(), ToolSchemaError> {
    let not_strict = |problem| ToolSchemaError::NotStrict {
        tool: tool.to_owned(),
        path: path.to_owned(),
        problem,
    };
    if schema == &Value::Bool(true) || schema.as_object().is_some_and(Map::is_empty) {
        return Err(not_strict("accepts any JSON value"));
    }
    let Value::Object(map) = schema else {
        return Ok(());
    };
    if path.matches('/').count() > MAX_DEPTH {
        return Ok(());
    }
    if map.get("default") == Some(&Value::Null) {
        map.remove("default");
    }
    if let Some(one_of) = map.remove("oneOf") {
        let any_of = map
            .entry("anyOf")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let (Value::Array(any_of), Value::Array(one_of)) = (any_of, one_of) {
            any_of.extend(one_of);
        }
    }
    if let Some(Value::Array(all_of)) = map.get("allOf") {
        if all_of.len() == 1 {
            if let Some(Value::Object(only)) = map
                .remove("allOf")
                .and_then(|a| a.as_array().and_then(|a| a.first().cloned()))
            {
                for (key, value) in only {
                    map.entry(key).or_insert(value);
                }
            }
        }
    }
    if let Some(Value::String(reference)) = map.get("$ref").cloned() {
        if map.len() > 1 {
            let target = resolve(defs, &reference, tool)?.clone();
            map.remove("$ref");
            if let Value::Object(target) = target {
                for (key, value) in target {
                    map.entry(key).or_insert(value);
                }
            }
            return make_strict(schema, defs, tool, path);
        }
    }
    if map.get("type").and_then(Value::as_str) == Some("object") {
        match map.get("additionalProperties") {
            None | Some(Value::Bool(false)) => {}
            Some(_) => return Err(not_strict("is a map (an object with arbitrary keys)")),
        }
        map.insert("additionalProperties".into(), Value::Bool(false));
        let keys: Vec<Value> = match map.get("properties") {
            Some(Value::Object(properties)) => {
                properties.keys().cloned().map(Value::String).collect()
            }
            _ => {
                map.insert("properties".into(), Value::Object(Map::new()));
                Vec::new()
            }
        };
        map.insert("required".into(), Value::Array(keys));
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "properties" | "$defs" | "definitions" => {
                if let Value::Object(children) = value {
                    for (name, child) in children.iter_mut() {
                        make_strict(child, defs, tool, &format!("{path}/{key}/{name}"))?;
                    }
                }
            }
            "items" => make_strict(value, defs, tool, &format!("{path}/items"))?,
            "anyOf" | "allOf" | "prefixItems" => {
                if let Value::Array(children) = value {
                    for (i, child) in children.iter_mut().enumerate() {
                        make_strict(child, defs, tool, &format!("{path}/{key}/{i}"))?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_schema_becomes_an_empty_strict_object() {
        assert_eq!(
            shape_schema("ping", json!({}), true).unwrap(),
            json!({"type": "object", "properties": {}, "additionalProperties": false, "required": []})
        );
    }

    #[test]
    fn nullable_types_become_any_of() {
        let schema = json!({"type": "object", "properties": {"n": {"type": ["string", "null"], "description": "d", "maxLength": 3}}});
        assert_eq!(
            shape_schema("t", schema, false).unwrap()["properties"]["n"],
            json!({"description": "d", "anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]})
        );
    }

    #[test]
    fn strict_rejects_maps_and_any_values() {
        let map = json!({"type": "object", "properties": {"m": {"type": "object", "additionalProperties": {"type": "integer"}}}});
        let err = shape_schema("t", map.clone(), true).unwrap_err();
        assert_eq!(err.to_string(), "tool t: /properties/m is a map (an object with arbitrary keys); strict mode cannot express it (use a struct, or `strict = false`)");
        assert!(shape_schema("t", map, false).is_ok());
        let any = json!({"type": "object", "properties": {"v": true}});
        assert!(matches!(
            shape_schema("t", any, true),
            Err(ToolSchemaError::NotStrict {
                problem: "accepts any JSON value",
                ..
            })
        ));
    }

    #[test]
    fn strict_merges_single_all_of_and_rewrites_one_of() {
        let schema = json!({"type": "object", "properties": {
            "a": {"allOf": [{"type": "string"}], "description": "x"},
            "b": {"oneOf": [{"type": "string"}, {"type": "integer"}], "default": null}
        }});
        let strict = shape_schema("t", schema, true).unwrap();
        assert_eq!(
            strict["properties"]["a"],
            json!({"description": "x", "type": "string"})
        );
        assert_eq!(
            strict["properties"]["b"],
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}]})
        );
        assert_eq!(strict["required"], json!(["a", "b"]));
    }

    #[test]
    fn the_root_must_be_an_object() {
        assert!(matches!(
            shape_schema("t", json!({"type": "string"}), true),
            Err(ToolSchemaError::NotAnObject { .. })
        ));
    }

    #[test]
    fn definitions_nothing_refers_to_are_dropped() {
        let schema = json!({
            "type": "object",
            "properties": {
                "order": {"$ref": "#/$defs/Order", "description": "The order."},
                "note": {"$ref": "#/$defs/Note"}
            },
            "required": ["order", "note"],
            "$defs": {
                "Order": {"type": "object", "properties": {"line": {"$ref": "#/$defs/Line"}}, "required": ["line"]},
                "Line": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]},
                "Note": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
                "Unused": {"type": "object", "properties": {}}
            }
        });
        let strict = shape_schema("t", schema, true).unwrap();
        // `order` had a sibling keyword, so it was inlined: only what is still referred
        // to stays (Line through the inlined Order, Note directly).
        let defs = strict["$defs"].as_object().unwrap();
        assert_eq!(defs.keys().collect::<Vec<_>>(), ["Line", "Note"]);
        assert_eq!(strict["properties"]["order"]["description"], "The order.");

        let flat = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A", "description": "d"}},
                          "$defs": {"A": {"type": "object", "properties": {}}}});
        let strict = shape_schema("t", flat, true).unwrap();
        assert!(strict.get("$defs").is_none(), "{strict}");
    }

    #[test]
    fn unresolved_refs_are_errors() {
        let schema = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/Nope"}}});
        assert!(matches!(
            shape_schema("t", schema, true),
            Err(ToolSchemaError::UnresolvedRef { .. })
        ));
    }
}
