//! Templates are untrusted code: every hostile or buggy template below fails with a
//! typed error in bounded time, and the process survives.

use std::time::{Duration, Instant};

use chatkit_agents::widgets::{TemplateError, WidgetTemplate};
use serde_json::{json, Value};

fn template(source: &str) -> WidgetTemplate {
    WidgetTemplate::new(json!({"version": "1.0", "name": "hostile", "template": source})).unwrap()
}

/// Renders `source` with `data`, asserting the answer comes within a few seconds.
fn render(source: &str, data: Value) -> Result<String, TemplateError> {
    let started = Instant::now();
    let result = template(source).render(data);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{source} took {:?}",
        started.elapsed()
    );
    result
}

#[test]
fn reverse_slicing_an_empty_value_renders_empty() {
    assert_eq!(render("{{ name[::-1] }}", json!({"name": ""})).unwrap(), "");
    assert_eq!(
        render("{{ items[::-1] }}", json!({"items": []})).unwrap(),
        "[]"
    );
    assert_eq!(
        render("{{ name[::-1] }}", json!({"name": "abc"})).unwrap(),
        "cba"
    );
}

#[test]
fn a_list_appended_to_itself_is_refused() {
    let err = render(
        "{% set ns = namespace(items=[]) %}{% set _ = ns.items.append(ns.items) %}{{ ns.items | tojson }}",
        json!({}),
    )
    .unwrap_err();
    assert!(matches!(err, TemplateError::Render { .. }), "{err}");
    assert!(
        err.to_string().contains("cannot be stored inside another"),
        "{err}"
    );
}

#[test]
fn a_namespace_stored_in_itself_is_refused() {
    for source in [
        "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}",
        "{% set ns = namespace() %}{% set ns.me = [ns] %}{{ ns }}",
        "{% set ns = namespace() %}{% set ns.me = {'a': ns} %}{{ ns | tojson }}",
        "{% set a = namespace() %}{% set b = namespace(x=a) %}{{ b }}",
        "{% set ns = namespace(items=[]) %}{% set ns.view = ns.items | reverse %}{% set _ = ns.items.append(ns) %}{{ ns }}",
        "{% set ns = namespace() %}{% set ns.me %}{{ ns }}{% endset %}{% set ns.me2 = ns %}",
    ] {
        let err = render(source, json!({})).unwrap_err();
        assert!(
            err.to_string().contains("cannot be stored inside another"),
            "{source}: {err}"
        );
    }
}

#[test]
fn views_stored_in_a_namespace_are_copied_so_no_cycle_forms() {
    let source = "{% set ns = namespace(items=[1, 2]) %}{% set ns.view = ns.items | reverse %}\
                  {% set _ = ns.items.append(3) %}{{ ns.view | tojson }} {{ ns.items | tojson }}";
    assert_eq!(render(source, json!({})).unwrap(), "[2, 1] [1, 2, 3]");
}

#[test]
fn nesting_built_in_a_loop_stops_at_the_depth_limit() {
    let err = render(
        "{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x | list] %}{% endfor %}{{ ns.x }}",
        json!({}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("levels deep"), "{err}");
}

#[test]
fn namespace_assignments_behave_as_in_jinja2() {
    let source = "{%- set ns = namespace(count=0, items=[]) -%}\
                  {%- for x in xs -%}{%- set ns.count = ns.count + x -%}{%- set _ = ns.items.append(x * 2) -%}{%- endfor -%}\
                  {%- set ns.later = [] -%}{%- set _ = ns.later.append('a') -%}\
                  {%- set ns.block -%}b{{ ns.count }}{%- endset -%}\
                  {{ ns.count }} {{ ns.items | tojson }} {{ ns.later | tojson }} {{ ns.block }}";
    assert_eq!(
        render(source, json!({"xs": [1, 2, 3]})).unwrap(),
        "6 [2, 4, 6] [\"a\"] b6"
    );
    let err = render("{% set x = 1 %}{% set x.a = 2 %}", json!({})).unwrap_err();
    assert!(
        err.to_string().contains("can only assign to namespaces"),
        "{err}"
    );
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let err = render(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        json!({}),
    )
    .unwrap_err();
    assert!(matches!(err, TemplateError::OutOfFuel { .. }), "{err}");
}

#[test]
fn exploding_values_run_out_of_fuel() {
    for source in [
        "{{ text | indent(10**9) }}",
        "{{ text | indent(10**9, true) }}",
        "{{ items | slice(10**9) }}",
        "{{ items | batch(10**9, 'x') }}",
        "{{ text | center(10**9) }}",
        "{{ 'x' * 10**8 }}",
        // A lazy sequence of 10^8: minijinja formats a printed value whole, so this
        // took 20 s and 2.4 GB before printing was measured first.
        "{{ [1] * 10**8 }}",
        "{{ [[1] * 10**8] }}",
    ] {
        let err = render(source, json!({"text": "a\nb\nc", "items": [1, 2]})).unwrap_err();
        assert!(
            matches!(
                err,
                TemplateError::OutOfFuel { .. }
                    | TemplateError::Render { .. }
                    | TemplateError::OutputTooLarge { .. }
            ),
            "{source}: {err}"
        );
    }
}

#[test]
fn the_output_is_capped() {
    let source = "{% for i in range(1000) %}xxxxxxxxxx{% endfor %}";
    let err = template(source)
        .max_output_bytes(1000)
        .render(json!({}))
        .unwrap_err();
    assert!(
        matches!(err, TemplateError::OutputTooLarge { limit: 1000, .. }),
        "{err}"
    );
    assert_eq!(template(source).render(json!({})).unwrap().len(), 10_000);
}

#[test]
fn fuel_is_configurable() {
    let source = "{% for i in range(20000) %}{{ i }}{% endfor %}";
    assert!(template(source).render(json!({})).is_ok());
    let err = template(source)
        .fuel(Some(1000))
        .render(json!({}))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "widget template hostile: rendering stopped: it used more than its fuel of 1000 (an endless loop or an exploding value?)"
    );
    assert!(template(source).fuel(None).render(json!({})).is_ok());
}

#[test]
fn deeply_nested_data_is_an_error_in_tojson() {
    let mut data = json!(1);
    for _ in 0..200 {
        data = json!([data]);
    }
    let err = render("{{ deep | tojson }}", json!({"deep": data})).unwrap_err();
    assert!(err.to_string().contains("levels deep"), "{err}");
}
