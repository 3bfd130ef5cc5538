//! Every reference `.widget` file renders exactly like the Python reference
//! (`tests/golden/reference-widgets/python-sdk-golden-outputs.json`), and the reference's
//! failures are failures here too, with the same cause.

use std::path::PathBuf;

use chatkit_agents::widgets::{TemplateError, WidgetRoot, WidgetTemplate};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/reference-widgets")
}

fn golden() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixtures().join("python-sdk-golden-outputs.json")).unwrap();
    let golden: Value = serde_json::from_str(&text).unwrap();
    golden["widgets"].as_object().unwrap().clone()
}

fn build(name: &str, data: &Value) -> Result<WidgetRoot, TemplateError> {
    WidgetTemplate::from_file(fixtures().join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .build(data)
}

#[test]
fn every_renderable_reference_widget_matches_the_reference() {
    let mut rendered = 0;
    for (name, case) in golden() {
        let (data, expected) = match (&case.get("output"), case.get("with_undefined_as_none")) {
            (Some(output), _) => (case["data"].clone(), (*output).clone()),
            (None, Some(retry)) if retry.get("output").is_some() => {
                let mut data = case["data"].clone();
                data["undefined"] = Value::Null;
                (data, retry["output"].clone())
            }
            _ => continue,
        };
        let widget = build(&name, &data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(serde_json::to_value(&widget).unwrap(), expected, "{name}");
        rendered += 1;
    }
    assert_eq!(rendered, 32, "renderable reference widgets");
}

/// The default fuel leaves a hundredfold headroom over the largest reference widget.
#[test]
fn every_reference_widget_builds_with_a_hundredth_of_the_default_fuel() {
    let fuel = chatkit_agents::widgets::DEFAULT_FUEL / 100;
    for (name, case) in golden() {
        let Some(data) = case.get("output").map(|_| case["data"].clone()) else {
            continue;
        };
        WidgetTemplate::from_file(fixtures().join(&name))
            .unwrap()
            .fuel(Some(fuel))
            .build(&data)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn reference_failures_fail_here_with_the_same_cause() {
    let mut failures = 0;
    for (name, case) in golden() {
        let Some(python_error) = case.get("error").and_then(Value::as_str) else {
            continue;
        };
        let err = build(&name, &case["data"]).expect_err(&name);
        let TemplateError::UndefinedVariable { variable, .. } = &err else {
            panic!(
                "{name}: want an undefined variable like the reference ({python_error}), got {err}"
            );
        };
        if let Some(want) = python_error
            .strip_prefix("UndefinedError: '")
            .and_then(|s| s.strip_suffix("' is undefined"))
        {
            assert_eq!(variable, want, "{name}");
        } else if let Some(attr) = python_error.split("has no attribute '").nth(1) {
            assert!(
                variable.ends_with(&format!(".{}", attr.trim_end_matches('\''))),
                "{name}: {variable}"
            );
        } else {
            // Jinja2 only says "Object of type StrictUndefined is not JSON serializable";
            // we name the undefined expression instead.
            assert!(
                python_error.contains("not JSON serializable"),
                "{name}: {python_error}"
            );
        }
        failures += 1;
    }
    assert_eq!(failures, 4);
}

#[test]
fn the_python_test_templates_match_their_expected_json() {
    let dir = fixtures().join("chatkit-python-tests");
    let inputs = golden();
    for stem in [
        "basic_root",
        "card_no_data",
        "card_with_data",
        "list_view_no_data",
        "list_view_with_data",
    ] {
        let template = WidgetTemplate::from_file(dir.join(format!("{stem}.widget"))).unwrap();
        let data = &inputs[&format!("chatkit-python-tests/{stem}.widget")]["data"];
        let widget = if stem == "basic_root" {
            template.build_basic(data)
        } else {
            template.build(data)
        }
        .unwrap();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(serde_json::to_value(&widget).unwrap(), expected, "{stem}");
    }
}

fn template(source: &str) -> WidgetTemplate {
    WidgetTemplate::new(json!({"version": "1.0", "name": "t", "template": source})).unwrap()
}

#[test]
fn build_accepts_structs_maps_and_nothing() {
    #[derive(serde::Serialize)]
    struct Data {
        title: String,
    }
    let t =
        template(r#"{"type":"Card","children":[{"type":"Title","value":{{ title | tojson }}}]}"#);
    let from_struct = t.build(Data { title: "Hi".into() }).unwrap();
    let from_map = t
        .build(std::collections::BTreeMap::from([("title", "Hi")]))
        .unwrap();
    assert_eq!(from_struct, from_map);
    let static_card = template(r#"{"type":"Card","children":[]}"#);
    assert!(static_card.build(()).is_ok());
    assert!(static_card.build(None::<Value>).is_ok());
}

#[test]
fn each_error_kind_is_typed_and_named() {
    // Version.
    let err =
        WidgetTemplate::new(json!({"version": "2.0", "name": "v", "template": "{}"})).unwrap_err();
    assert!(
        matches!(err, TemplateError::UnsupportedVersion { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "widget template v: unsupported widget spec version \"2.0\"; expected \"1.0\""
    );
    let err = WidgetTemplate::new(json!({"name": "v", "template": "{}"})).unwrap_err();
    assert!(
        matches!(err, TemplateError::UnsupportedVersion { .. }),
        "{err}"
    );

    // Definition shape.
    let err = WidgetTemplate::new(json!({"version": "1.0", "name": "d"})).unwrap_err();
    assert!(
        matches!(err, TemplateError::InvalidDefinition { .. })
            && err.to_string().contains("missing \"template\""),
        "{err}"
    );
    let err = "not json".parse::<WidgetTemplate>().unwrap_err();
    assert!(
        matches!(err, TemplateError::InvalidDefinition { .. }),
        "{err}"
    );
    let err = WidgetTemplate::from_file("/nonexistent/x.widget").unwrap_err();
    assert!(
        matches!(err, TemplateError::Io { .. })
            && err.to_string().contains("/nonexistent/x.widget"),
        "{err}"
    );

    // Syntax, with its line.
    let err =
        WidgetTemplate::new(json!({"version": "1.0", "name": "s", "template": "{\n\n{{ foo( }"}))
            .unwrap_err();
    assert!(
        matches!(err, TemplateError::Syntax { line: 3, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("widget template s: syntax error on line 3:"),
        "{err}"
    );

    // Undefined variable, with its name.
    let err = template("{\n{{ user.name | tojson }}")
        .build(json!({"user": {}}))
        .unwrap_err();
    assert!(
        matches!(&err, TemplateError::UndefinedVariable { variable, line: 2, .. } if variable == "user.name"),
        "{err}"
    );

    // Output that is not JSON, with a snippet.
    let err = template(r#"{"type":"Card","children":[{{ x }}]}"#)
        .build(json!({"x": "oops"}))
        .unwrap_err();
    assert!(matches!(err, TemplateError::NotJson { .. }), "{err}");
    assert!(err.to_string().contains("near: "), "{err}");
    assert!(err.to_string().contains("oops"), "{err}");

    // A root that is not Card/ListView/Basic.
    let err = template(r#"{"type":"Text","value":"x"}"#)
        .build(())
        .unwrap_err();
    assert!(matches!(err, TemplateError::InvalidWidget { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "widget template t: widget root must be a Card, ListView or Basic, got \"Text\""
    );
    let err = template(r#"{"type":"Card","children":[]}"#)
        .build_basic(())
        .unwrap_err();
    assert!(matches!(err, TemplateError::InvalidWidget { .. }), "{err}");

    // Data that is not an object.
    let err = template(r#"{"type":"Card"}"#)
        .build(json!([1, 2]))
        .unwrap_err();
    assert!(matches!(err, TemplateError::InvalidData { .. }), "{err}");

    // Other render failures.
    let err = template(r#"{{ x | tojson(1, 2) }}"#)
        .build(json!({"x": 1}))
        .unwrap_err();
    assert!(matches!(err, TemplateError::Render { .. }), "{err}");
}

#[test]
fn build_validated_checks_the_json_schema_and_points_at_the_failure() {
    let t = WidgetTemplate::new(json!({
        "version": "1.0",
        "name": "person",
        "template": r#"{"type":"Card","children":[{"type":"Text","value":{{ user.name | tojson }}}]}"#,
        "jsonSchema": {
            "type": "object",
            "properties": {"user": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
            "required": ["user"]
        }
    }))
    .unwrap();
    assert!(t.build_validated(json!({"user": {"name": "Ada"}})).is_ok());
    let err = t.build_validated(json!({"user": {"name": 5}})).unwrap_err();
    assert!(
        matches!(&err, TemplateError::SchemaMismatch { path, .. } if path == "/user/name"),
        "{err}"
    );
    let no_schema = template(r#"{"type":"Card"}"#);
    assert!(matches!(
        no_schema.build_validated(()),
        Err(TemplateError::InvalidSchema { .. })
    ));
}

#[test]
fn every_reference_widget_with_a_schema_accepts_its_own_data() {
    for (name, case) in golden() {
        if case.get("output").is_none() {
            continue;
        }
        let t = WidgetTemplate::from_file(fixtures().join(&name)).unwrap();
        if t.data_schema().is_some() && !case["data"].is_null() {
            if let Err(e) = t.validate(&case["data"]) {
                // Studio exports' own default data does not always match their schema;
                // the error must still be a precise mismatch, never a panic.
                assert!(
                    matches!(
                        e,
                        TemplateError::SchemaMismatch { .. } | TemplateError::InvalidSchema { .. }
                    ),
                    "{name}: {e}"
                );
            }
        }
    }
}
