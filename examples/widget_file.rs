//! Makes a `.widget` file from a plain Jinja template, so the template can be written
//! without JSON escaping:
//!
//! ```sh
//! cargo run --example widget_file -- greeting greeting.jinja [schema.json] > greeting.widget
//! ```
//!
//! The template is compiled first: a syntax error is reported with its line, and no file
//! is written.

use chatkit_agents::widgets::WidgetTemplate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("{}", run(&args)?);
    Ok(())
}

/// The `.widget` file (pretty JSON) for the arguments `<name> <template> [schema]`.
pub fn run(args: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    let (name, template, schema) = match args {
        [name, template] => (name, template, None),
        [name, template, schema] => (name, template, Some(schema)),
        _ => {
            return Err(
                "usage: widget_file <name> <template.jinja> [schema.json] > <name>.widget".into(),
            )
        }
    };
    let source =
        std::fs::read_to_string(template).map_err(|e| format!("cannot read {template}: {e}"))?;
    let mut widget = WidgetTemplate::from_jinja(name.as_str(), source)?;
    if let Some(schema) = schema {
        let text =
            std::fs::read_to_string(schema).map_err(|e| format!("cannot read {schema}: {e}"))?;
        let schema = serde_json::from_str(&text).map_err(|e| format!("{schema}: {e}"))?;
        widget = widget.with_data_schema(schema);
    }
    Ok(serde_json::to_string_pretty(&widget.to_definition())?)
}
