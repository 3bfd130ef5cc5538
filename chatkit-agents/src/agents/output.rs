//! Structured outputs: an agent whose final answer is JSON of a given type, as the
//! Python Agents SDK's `Agent(output_type=...)`.
//!
//! The type's schema (strict, shaped like tool schemas) is sent with each model call as
//! the response format named `final_output`. A type whose schema is not an object (a
//! string, a list, an enum) is wrapped in `{"response": ...}`, as the Python SDK wraps
//! it, and unwrapped again when the answer is read. The final message must parse as the
//! type, or the run ends with [`RunError::InvalidOutput`](super::RunError::InvalidOutput).

use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::schema::{parameters_schema, ToolSchemaError};

/// The response format of a model call: the JSON schema its answer must follow.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSchema {
    /// The format's name (`final_output`).
    pub name: String,
    /// The JSON schema.
    pub schema: Value,
    /// Whether the model must follow it exactly (OpenAI's strict mode).
    pub strict: bool,
}

/// The name the Python SDK gives the response format.
const FORMAT_NAME: &str = "final_output";
/// The key a non-object output is wrapped in.
const WRAPPER_KEY: &str = "response";

type Check = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// The output type of an agent: its schema, and how to check an answer against it.
#[derive(Clone)]
pub struct OutputType {
    type_name: String,
    schema: Result<OutputSchema, ToolSchemaError>,
    wrapped: bool,
    check: Check,
}

impl std::fmt::Debug for OutputType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputType")
            .field("type_name", &self.type_name)
            .field("schema", &self.schema)
            .field("wrapped", &self.wrapped)
            .finish_non_exhaustive()
    }
}

impl OutputType {
    /// The output type `T`.
    pub fn of<T: JsonSchema + DeserializeOwned + 'static>() -> Self {
        let type_name = std::any::type_name::<T>().to_owned();
        let (schema, wrapped) = match parameters_schema::<T>(FORMAT_NAME, true) {
            Ok(schema) => (Ok(schema), false),
            // A string, a list or an enum: wrapped in an object, as the Python SDK does.
            Err(ToolSchemaError::NotAnObject { .. }) => {
                let inner = schemars::generate::SchemaSettings::draft2020_12()
                    .into_generator()
                    .into_root_schema_for::<T>()
                    .to_value();
                (wrap(inner), true)
            }
            Err(error) => (Err(error), false),
        };
        let schema = schema.map(|schema| OutputSchema {
            name: FORMAT_NAME.to_owned(),
            schema,
            strict: true,
        });
        OutputType {
            type_name,
            schema,
            wrapped,
            check: Arc::new(|value| {
                serde_json::from_value::<T>(value.clone())
                    .map(drop)
                    .map_err(|e| e.to_string())
            }),
        }
    }

    /// The response format to send, or why the type cannot be one.
    pub fn schema(&self) -> Result<&OutputSchema, &ToolSchemaError> {
        self.schema.as_ref()
    }

    /// Reads a final answer: the JSON value of the output type (unwrapped), or what is
    /// wrong with it.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format!("Invalid JSON when parsing {} ({e})", self.type_name))?;
        let value = if self.wrapped {
            match value {
                Value::Object(mut object) => object.remove(WRAPPER_KEY).ok_or_else(|| {
                    format!(
                        "the answer has no \"{WRAPPER_KEY}\" key around the {} value",
                        self.type_name
                    )
                })?,
                _ => {
                    return Err(format!(
                        "the answer is not an object wrapping the {} value",
                        self.type_name
                    ))
                }
            }
        } else {
            value
        };
        (self.check)(&value)
            .map_err(|e| format!("the answer does not match {}: {e}", self.type_name))?;
        Ok(value)
    }
}

/// A non-object schema inside `{"response": ...}`, strict, with its definitions kept at
/// the root.
fn wrap(mut inner: Value) -> Result<Value, ToolSchemaError> {
    let defs = inner.as_object_mut().and_then(|schema| {
        schema.remove("$schema");
        schema.remove("$defs")
    });
    let mut wrapper = json!({
        "type": "object",
        "properties": {WRAPPER_KEY: inner},
        "required": [WRAPPER_KEY],
        "additionalProperties": false,
    });
    if let Some(defs) = defs {
        wrapper["$defs"] = defs;
    }
    super::schema::shape_schema(FORMAT_NAME, wrapper, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Verdict {
        is_homework: bool,
        reasoning: String,
    }

    #[test]
    fn objects_are_sent_as_they_are_and_checked() {
        let output = OutputType::of::<Verdict>();
        let schema = output.schema().unwrap();
        assert_eq!(schema.name, "final_output");
        assert_eq!(schema.schema["additionalProperties"], false);
        assert_eq!(
            schema.schema["required"],
            json!(["is_homework", "reasoning"])
        );
        assert_eq!(
            output
                .parse(r#"{"is_homework": true, "reasoning": "math"}"#)
                .unwrap(),
            json!({"is_homework": true, "reasoning": "math"})
        );
        let err = output.parse(r#"{"is_homework": "yes"}"#).unwrap_err();
        assert!(
            err.contains("does not match") && err.contains("Verdict"),
            "{err}"
        );
        let err = output.parse("not json").unwrap_err();
        assert!(err.starts_with("Invalid JSON when parsing"), "{err}");
    }

    #[test]
    fn other_types_are_wrapped_in_response() {
        let output = OutputType::of::<Vec<String>>();
        let schema = &output.schema().unwrap().schema;
        assert_eq!(schema["required"], json!(["response"]));
        assert_eq!(
            schema["properties"]["response"],
            json!({"type": "array", "items": {"type": "string"}})
        );
        assert_eq!(
            output.parse(r#"{"response": ["a", "b"]}"#).unwrap(),
            json!(["a", "b"])
        );
        assert!(output.parse(r#"["a"]"#).is_err());
    }

    #[derive(serde::Deserialize, JsonSchema, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mood {
        Happy,
        Sad,
    }

    #[test]
    fn enums_are_wrapped_and_checked() {
        let output = OutputType::of::<Mood>();
        let schema = &output.schema().unwrap().schema;
        assert_eq!(
            schema["properties"]["response"]["enum"],
            json!(["happy", "sad"])
        );
        assert_eq!(
            output.parse(r#"{"response": "sad"}"#).unwrap(),
            json!("sad")
        );
        assert!(output.parse(r#"{"response": "angry"}"#).is_err());
    }

    #[test]
    fn maps_cannot_be_strict() {
        let output = OutputType::of::<std::collections::HashMap<String, i32>>();
        assert!(output.schema().is_err());
    }
}
