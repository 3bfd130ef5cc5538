//! [`WidgetTemplate`]: `.widget` files (Jinja2 templates that render widget JSON).

use std::path::Path;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use super::jinja;
use crate::types::widget::{WidgetError, WidgetRoot};

/// What went wrong loading or building a widget template. Every variant names the
/// template.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The file could not be read.
    #[error("cannot read widget template {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The definition is not a JSON object with string `name` and `template`.
    #[error("invalid widget definition {template}: {message}")]
    InvalidDefinition {
        /// The template (its name, or the file path when the name is unknown).
        template: String,
        /// What is wrong.
        message: String,
    },
    /// `version` is not `"1.0"`.
    #[error(
        "widget template {template}: unsupported widget spec version {version}; expected \"1.0\""
    )]
    UnsupportedVersion {
        /// The template.
        template: String,
        /// The version found (JSON).
        version: String,
    },
    /// The Jinja source does not compile.
    #[error("widget template {template}: syntax error on line {line}: {message}")]
    Syntax {
        /// The template.
        template: String,
        /// Line in the template source.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The template used a variable the data does not have.
    #[error("widget template {template}: `{variable}` is undefined (line {line})")]
    UndefinedVariable {
        /// The template.
        template: String,
        /// The variable (or attribute path, e.g. `user.name`).
        variable: String,
        /// Line in the template source.
        line: usize,
    },
    /// Rendering failed for another reason (a bad filter argument, a type error, ...).
    #[error("widget template {template}: rendering failed on line {line}: {message}")]
    Render {
        /// The template.
        template: String,
        /// Line in the template source (0 when unknown).
        line: usize,
        /// What failed.
        message: String,
    },
    /// The render used up its fuel ([`WidgetTemplate::fuel`]): too many instructions or
    /// too much memory, as an endless or exploding template does.
    #[error("widget template {template}: rendering stopped: it used more than its fuel of {fuel} (an endless loop or an exploding value?)")]
    OutOfFuel {
        /// The template.
        template: String,
        /// The budget it had.
        fuel: u64,
    },
    /// The rendered text grew past [`WidgetTemplate::max_output_bytes`].
    #[error(
        "widget template {template}: rendering stopped: the output is larger than {limit} bytes"
    )]
    OutputTooLarge {
        /// The template.
        template: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The data is not an object (or `None`).
    #[error("widget template {template}: data must be an object with one key per template variable, got {found}")]
    InvalidData {
        /// The template.
        template: String,
        /// What it was.
        found: String,
    },
    /// The template rendered something that is not JSON.
    #[error("widget template {template}: output is not JSON ({message}) near: {snippet}")]
    NotJson {
        /// The template.
        template: String,
        /// The JSON error.
        message: String,
        /// The rendered text around the error.
        snippet: String,
    },
    /// The rendered JSON is not a widget (e.g. the root is not a Card, ListView or Basic).
    #[error("widget template {template}: {source}")]
    InvalidWidget {
        /// The template.
        template: String,
        /// The structural problem.
        source: WidgetError,
    },
    /// The data does not match the template's `jsonSchema` (`WidgetTemplate::build_validated` (feature `json-schema`)).
    #[error("widget template {template}: data does not match its jsonSchema at {path}: {message}")]
    SchemaMismatch {
        /// The template.
        template: String,
        /// JSON pointer to the failing value (empty for the root).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The template has no `jsonSchema`, or it is not a valid JSON Schema.
    #[error("widget template {template}: cannot validate data: {message}")]
    InvalidSchema {
        /// The template.
        template: String,
        /// What is wrong.
        message: String,
    },
}

/// A compiled `.widget` template.
///
/// # The `.widget` file
///
/// A `.widget` file (what ChatKit Studio exports) is one JSON object:
///
/// | key | what it is | used here |
/// |---|---|---|
/// | `version` | the format version, `"1.0"` | checked: anything else is [`TemplateError::UnsupportedVersion`] |
/// | `name` | the widget's name | names the template in every error |
/// | `template` | the widget tree as Jinja2 source that renders to JSON: `{{ value \| tojson }}` for values, `{% for %}` / `{% if %}` for structure | compiled once, rendered by [`build`](Self::build) |
/// | `jsonSchema` | a JSON Schema of the data the template expects | optional; `build_validated` checks data against it (feature `json-schema`) |
/// | `outputJsonPreview` | the rendered tree for sample data | ignored (Studio's preview) |
/// | `encodedWidget` | Studio's own encoding of the design | ignored |
///
/// ## Writing one by hand
///
/// The `template` value is the Jinja source as one JSON string, so its quotes and line
/// breaks are escaped:
///
/// ```text
/// {
///   "version": "1.0",
///   "name": "greeting",
///   "template": "{\"type\":\"Card\",\"children\":[\n  {\"type\":\"Text\",\"value\":{{ name | tojson }}}\n]}",
///   "jsonSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
/// }
/// ```
///
/// Rather than escaping by hand, keep the template as a plain file and compile it with
/// [`from_jinja`](Self::from_jinja), or make the `.widget` file from it with
/// [`to_definition`](Self::to_definition) — the `widget_file` example does that:
/// `cargo run --example widget_file -- greeting greeting.jinja > greeting.widget`.
///
/// The rendered JSON must be a widget root (`Card`, `ListView` or `Basic`); `null`
/// values are dropped at any depth, as the reference does. The Jinja2 dialect is the
/// reference's: strict undefined variables, Jinja2's `tojson` (Python's `json.dumps` with
/// sorted keys, then HTML-safe escapes), `namespace()` with
/// appendable lists, and Jinja2's filters (`round`, `default`, `join`, ...).
///
/// The Jinja2 source is compiled once, when the template is created; [`build`](Self::build)
/// only renders, then checks the output and keeps it as canonical JSON text in one pass
/// (the widget's tree is parsed only when something reads it; sending and storing the
/// widget need no tree). Rendering follows Jinja2 with `StrictUndefined`, as
/// the reference does, so every one of the reference widgets renders to the same JSON.
///
/// Templates and their data are treated as untrusted: each build has a
/// [fuel](Self::fuel) budget ([`DEFAULT_FUEL`]) and an
/// [output cap](Self::max_output_bytes) ([`DEFAULT_MAX_OUTPUT_BYTES`]); values that
/// would contain themselves (`{% set ns.me = ns %}`) and values nested more than 128
/// levels deep are errors; printing a list or map of more than 100,000 elements is an
/// error; and a panic inside the engine becomes a [`TemplateError::Render`]. Whatever a
/// template does, the build returns in bounded time with a value or a typed error.
///
/// ```
/// use chatkit_agents::widgets::WidgetTemplate;
/// use serde_json::json;
///
/// let template = WidgetTemplate::new(json!({
///     "version": "1.0",
///     "name": "greeting",
///     "template": r#"{"type":"Card","children":[{"type":"Text","value":{{ name | tojson }}}]}"#,
/// }))
/// .unwrap();
/// let widget = template.build(json!({"name": "Ada"})).unwrap();
/// assert_eq!(
///     serde_json::to_string(&widget).unwrap(),
///     r#"{"type":"Card","children":[{"type":"Text","value":"Ada"}]}"#
/// );
/// let err = template.build(json!({})).unwrap_err();
/// assert_eq!(err.to_string(), "widget template greeting: `name` is undefined (line 1)");
/// ```
pub struct WidgetTemplate {
    name: String,
    version: String,
    source: String,
    data_schema: Option<Value>,
    env: minijinja::Environment<'static>,
    max_output_bytes: usize,
    #[cfg(feature = "json-schema")]
    validator: std::sync::OnceLock<Result<jsonschema::Validator, String>>,
}

impl std::fmt::Debug for WidgetTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetTemplate")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl WidgetTemplate {
    /// Compiles a widget definition (the parsed `.widget` JSON).
    pub fn new(definition: Value) -> Result<Self, TemplateError> {
        Self::from_definition(definition, None)
    }

    /// Compiles a plain Jinja template (what a `.widget` file holds under `template`)
    /// named `name`, with no data schema: for templates kept as `.jinja` files of their
    /// own, free of JSON escaping.
    ///
    /// ```
    /// use chatkit_agents::widgets::WidgetTemplate;
    /// use serde_json::json;
    ///
    /// let source = r#"{"type": "Card", "children": [
    ///   {"type": "Text", "value": {{ name | tojson }}}
    /// ]}"#;
    /// let template = WidgetTemplate::from_jinja("greeting", source).unwrap();
    /// let widget = template.build(json!({"name": "Ada"})).unwrap();
    /// assert_eq!(serde_json::to_value(&widget).unwrap()["children"][0]["value"], "Ada");
    /// ```
    pub fn from_jinja(
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> Result<Self, TemplateError> {
        let definition = serde_json::json!({
            "version": "1.0",
            "name": name.into(),
            "template": source.into(),
        });
        Self::from_definition(definition, None)
    }

    /// The `.widget` definition of this template (`version`, `name`, `template` and, if
    /// it has one, `jsonSchema`), as JSON to write to a file; [`new`](Self::new) reads
    /// it back.
    ///
    /// ```
    /// use chatkit_agents::widgets::WidgetTemplate;
    ///
    /// let template = WidgetTemplate::from_jinja("greeting", "{\"type\":\"Card\",\"children\":[]}").unwrap();
    /// let file = serde_json::to_string_pretty(&template.to_definition()).unwrap();
    /// assert!(file.contains(r#""template": "{\"type\":\"Card\",\"children\":[]}""#));
    /// let again = WidgetTemplate::new(serde_json::from_str(&file).unwrap()).unwrap();
    /// assert_eq!(again.source(), template.source());
    /// ```
    pub fn to_definition(&self) -> Value {
        let mut definition = serde_json::Map::new();
        definition.insert("version".into(), Value::String(self.version.clone()));
        definition.insert("name".into(), Value::String(self.name.clone()));
        definition.insert("template".into(), Value::String(self.source.clone()));
        if let Some(schema) = &self.data_schema {
            definition.insert("jsonSchema".into(), schema.clone());
        }
        Value::Object(definition)
    }

    /// Sets the `jsonSchema` of the data: `build_validated` (feature `json-schema`)
    /// checks data against it, and [`to_definition`](Self::to_definition) writes it.
    pub fn with_data_schema(mut self, schema: Value) -> Self {
        self.data_schema = Some(schema);
        #[cfg(feature = "json-schema")]
        {
            self.validator = std::sync::OnceLock::new();
        }
        self
    }

    /// Reads and compiles a `.widget` file. A relative path is resolved against the
    /// current directory (Rust has no "calling file"; use `concat!(env!("CARGO_MANIFEST_DIR"), ...)`
    /// for a path relative to your crate).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, TemplateError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
            path: shown.clone(),
            source,
        })?;
        let definition =
            serde_json::from_str(&text).map_err(|e| TemplateError::InvalidDefinition {
                template: shown.clone(),
                message: format!("not JSON: {e}"),
            })?;
        Self::from_definition(definition, Some(&shown))
    }

    fn from_definition(definition: Value, origin: Option<&str>) -> Result<Self, TemplateError> {
        let invalid = |template: &str, message: &str| TemplateError::InvalidDefinition {
            template: template.to_owned(),
            message: message.to_owned(),
        };
        let origin = origin.unwrap_or("<definition>");
        let Value::Object(mut definition) = definition else {
            return Err(invalid(origin, "must be a JSON object"));
        };
        let name = match definition.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(invalid(origin, "\"name\" must be a string")),
            None => return Err(invalid(origin, "missing \"name\"")),
        };
        let version = match definition.get("version") {
            Some(Value::String(v)) if v == "1.0" => v.clone(),
            Some(other) => {
                return Err(TemplateError::UnsupportedVersion {
                    template: name,
                    version: other.to_string(),
                })
            }
            None => {
                return Err(TemplateError::UnsupportedVersion {
                    template: name,
                    version: "(missing)".into(),
                })
            }
        };
        let source = match definition.remove("template") {
            Some(Value::String(source)) => source,
            Some(_) => {
                return Err(invalid(
                    &name,
                    "\"template\" must be a string of Jinja source",
                ))
            }
            None => return Err(invalid(&name, "missing \"template\"")),
        };
        let data_schema = definition.remove("jsonSchema").filter(|s| !s.is_null());
        let mut env = jinja::environment(Some(DEFAULT_FUEL));
        let compiled = jinja::rewrite_namespace_sets(&source).into_owned();
        env.add_template_owned(name.clone(), compiled)
            .map_err(|e| TemplateError::Syntax {
                template: name.clone(),
                line: e.line().unwrap_or(0),
                message: e.detail().unwrap_or("invalid syntax").to_owned(),
            })?;
        Ok(WidgetTemplate {
            name,
            version,
            source,
            data_schema,
            env,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            #[cfg(feature = "json-schema")]
            validator: std::sync::OnceLock::new(),
        })
    }

    /// Sets the fuel of each build ([`DEFAULT_FUEL`] unless changed; `None` for no limit).
    ///
    /// Fuel is minijinja's execution budget: every instruction, and every value it
    /// allocates, costs some. A build that runs out stops with
    /// [`TemplateError::OutOfFuel`], so a template with an endless loop or an exploding
    /// value (`range(100000)` inside `range(100000)`, `indent(10**9)`) fails in bounded
    /// time and memory instead of holding a worker. Raise it for unusually large
    /// widgets; the error names the budget that ran out.
    ///
    /// ```
    /// use chatkit_agents::widgets::{TemplateError, WidgetTemplate};
    /// use serde_json::json;
    ///
    /// let template = WidgetTemplate::new(json!({
    ///     "version": "1.0",
    ///     "name": "spin",
    ///     "template": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    /// }))
    /// .unwrap()
    /// .fuel(Some(100_000));
    /// assert!(matches!(template.build(json!({})), Err(TemplateError::OutOfFuel { fuel: 100_000, .. })));
    /// ```
    pub fn fuel(mut self, fuel: Option<u64>) -> Self {
        self.env.set_fuel(fuel);
        self
    }

    /// Sets the largest rendered text a build may produce, in bytes
    /// ([`DEFAULT_MAX_OUTPUT_BYTES`] unless changed). Past it the build stops with
    /// [`TemplateError::OutputTooLarge`].
    pub fn max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = bytes;
        self
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The spec version (always `"1.0"`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The Jinja source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The `jsonSchema` of the definition, if any.
    pub fn data_schema(&self) -> Option<&Value> {
        self.data_schema.as_ref()
    }

    /// Renders the template with `data` and returns the widget.
    ///
    /// `data` is anything serializable to an object (a `serde_json::Value`, a struct, a
    /// map) whose keys become template variables; `()` or `None` means no variables.
    pub fn build(&self, data: impl Serialize) -> Result<WidgetRoot, TemplateError> {
        let rendered = self.render(data)?;
        self.parse_rendered(&rendered)
    }

    /// Like [`build`](Self::build), but the root must be a `Basic` (entity previews).
    pub fn build_basic(&self, data: impl Serialize) -> Result<WidgetRoot, TemplateError> {
        let root = self.build(data)?;
        if root.root_type() == "Basic" {
            Ok(root)
        } else {
            Err(TemplateError::InvalidWidget {
                template: self.name.clone(),
                source: WidgetError::InvalidRootType {
                    found: root.root_type().to_owned(),
                },
            })
        }
    }

    /// Renders the template to text without parsing it (for debugging and benchmarks).
    pub fn render(&self, data: impl Serialize) -> Result<String, TemplateError> {
        let context = minijinja::Value::from(minijinja::value::Serde(&data));
        match context.kind() {
            minijinja::value::ValueKind::Map => {}
            minijinja::value::ValueKind::None | minijinja::value::ValueKind::Undefined => {
                return self.render_value(minijinja::context! {})
            }
            other => {
                return Err(TemplateError::InvalidData {
                    template: self.name.clone(),
                    found: other.to_string(),
                })
            }
        }
        self.render_value(context)
    }

    /// The largest rendered text a build may produce.
    pub(super) fn output_limit(&self) -> usize {
        self.max_output_bytes
    }

    /// Renders with a context already in minijinja's form.
    pub(super) fn render_value(&self, context: minijinja::Value) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(&self.name)
            .map_err(|e| self.render_error(&e))?;
        let mut output = CappedOutput::new(self.max_output_bytes);
        // The last line of defence: a panic inside the engine (a bug in minijinja or in
        // a filter) fails this build, not the process. The template and environment
        // are not mutated by rendering, so nothing is left half-done.
        let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            template.render_captured_to(context, &mut output).map(drop)
        }));
        match rendered {
            Ok(Ok(())) => String::from_utf8(output.bytes).map_err(|_| TemplateError::Render {
                template: self.name.clone(),
                line: 0,
                message: "the engine wrote invalid UTF-8".to_owned(),
            }),
            Ok(Err(_)) if output.overflowed => Err(TemplateError::OutputTooLarge {
                template: self.name.clone(),
                limit: self.max_output_bytes,
            }),
            Ok(Err(e)) => Err(self.render_error(&e)),
            Err(panic) => Err(TemplateError::Render {
                template: self.name.clone(),
                line: 0,
                message: format!(
                    "the template engine failed: {}",
                    crate::panics::panic_message(&*panic)
                ),
            }),
        }
    }

    fn render_error(&self, e: &minijinja::Error) -> TemplateError {
        if e.kind() == minijinja::ErrorKind::OutOfFuel {
            return TemplateError::OutOfFuel {
                template: self.name.clone(),
                fuel: self.env.fuel().unwrap_or_default(),
            };
        }
        let line = e.line().unwrap_or(0);
        let detail = e.detail().unwrap_or_default();
        // minijinja names the undefined expression in the detail ("`user.name` is
        // undefined"), also when an operation on it failed ("tried to use + ... (`index`
        // is undefined)"): either way the cause is the undefined variable.
        if let Some(variable) = undefined_expression(detail) {
            return TemplateError::UndefinedVariable {
                template: self.name.clone(),
                variable: variable.to_owned(),
                line,
            };
        }
        TemplateError::Render {
            template: self.name.clone(),
            line,
            message: if detail.is_empty() {
                e.kind().to_string()
            } else {
                detail.to_owned()
            },
        }
    }

    /// Parses rendered text into a widget.
    pub(super) fn parse_rendered(&self, rendered: &str) -> Result<WidgetRoot, TemplateError> {
        WidgetRoot::from_json_text(rendered).map_err(|error| match error {
            Err(e) => TemplateError::NotJson {
                template: self.name.clone(),
                message: e.to_string(),
                snippet: snippet(rendered, e.line(), e.column()),
            },
            Ok(source) => TemplateError::InvalidWidget {
                template: self.name.clone(),
                source,
            },
        })
    }

    /// Checks `data` against the template's `jsonSchema`, then builds the widget.
    ///
    /// The reference stores the schema but never uses it; this is the opt-in check it
    /// lacks. The error points at the first failing value with a JSON pointer.
    #[cfg(feature = "json-schema")]
    pub fn build_validated(&self, data: impl Serialize) -> Result<WidgetRoot, TemplateError> {
        let data = serde_json::to_value(&data).map_err(|e| TemplateError::InvalidData {
            template: self.name.clone(),
            found: e.to_string(),
        })?;
        self.validate(&data)?;
        self.build(data)
    }

    /// Checks `data` against the template's `jsonSchema`.
    #[cfg(feature = "json-schema")]
    pub fn validate(&self, data: &Value) -> Result<(), TemplateError> {
        let validator = self.validator.get_or_init(|| match &self.data_schema {
            None => Err("the definition has no jsonSchema".to_owned()),
            Some(schema) => {
                jsonschema::validator_for(schema).map_err(|e| format!("invalid jsonSchema: {e}"))
            }
        });
        let validator = validator
            .as_ref()
            .map_err(|message| TemplateError::InvalidSchema {
                template: self.name.clone(),
                message: message.clone(),
            })?;
        match validator.iter_errors(data).next() {
            None => Ok(()),
            Some(error) => Err(TemplateError::SchemaMismatch {
                template: self.name.clone(),
                path: error.instance_path().to_string(),
                message: error.to_string(),
            }),
        }
    }
}

/// The fuel of each build unless [`WidgetTemplate::fuel`] changes it: about a hundred
/// times what the largest reference widget uses, a few tens of milliseconds of work.
pub const DEFAULT_FUEL: u64 = 10_000_000;

/// The largest rendered text a build may produce unless
/// [`WidgetTemplate::max_output_bytes`] changes it: 4 MiB.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 4 << 20;

/// The render's output, refusing to grow past a limit.
struct CappedOutput {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl CappedOutput {
    fn new(limit: usize) -> Self {
        CappedOutput {
            bytes: Vec::with_capacity(limit.min(4096)),
            limit,
            overflowed: false,
        }
    }
}

impl std::io::Write for CappedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len().saturating_add(buf.len()) > self.limit {
            self.overflowed = true;
            return Err(std::io::Error::other(
                "widget template output limit reached",
            ));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl FromStr for WidgetTemplate {
    type Err = TemplateError;

    /// Compiles a `.widget` file's JSON text.
    fn from_str(json: &str) -> Result<Self, TemplateError> {
        let definition =
            serde_json::from_str(json).map_err(|e| TemplateError::InvalidDefinition {
                template: "<definition>".to_owned(),
                message: format!("not JSON: {e}"),
            })?;
        Self::new(definition)
    }
}

/// The expression in minijinja's "`expr` is undefined" detail.
fn undefined_expression(detail: &str) -> Option<&str> {
    let start = detail.find('`')? + 1;
    let len = detail[start..].find("` is undefined")?;
    Some(&detail[start..start + len])
}

/// Up to 80 characters of `text` around a 1-based line and column.
fn snippet(text: &str, line: usize, column: usize) -> String {
    let Some(line_text) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let chars: Vec<char> = line_text.chars().collect();
    let at = column.saturating_sub(1).min(chars.len());
    let start = at.saturating_sub(40);
    let end = (at + 40).min(chars.len());
    chars[start..end].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_the_engine_fails_the_build_not_the_process() {
        let mut template = WidgetTemplate::new(serde_json::json!({
            "version": "1.0",
            "name": "p",
            "template": "{{ 1 | explode }}",
        }));
        // No filter of ours panics; stand one in for an engine bug. Templates compile
        // lazily against the environment's filters, so adding one now takes effect.
        if let Ok(template) = &mut template {
            template
                .env
                .add_filter("explode", |_: i64| -> String { panic!("engine bug") });
        }
        let err = template.unwrap().render(()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "widget template p: rendering failed on line 0: the template engine failed: engine bug"
        );
    }
}
