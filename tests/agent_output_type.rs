//! Agents with an output type (structured outputs) and `Runner::run`: the response
//! format each model call carries, the typed final answer, and the errors for answers
//! that are not of the type and for types that cannot be strict.

use std::collections::HashMap;
use std::sync::Arc;

use chatkit_agents::agents::{Agent, RunError, Runner};
use chatkit_agents::testing::{ScriptedModel, Step};
use serde_json::json;

#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema)]
struct Weather {
    city: String,
    celsius: i32,
}

#[tokio::test]
async fn the_answer_is_read_as_the_output_type() {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text(
        r#"{"city": "Oslo", "celsius": -3}"#,
    )]]));
    let agent: Agent<()> = Agent::new("Forecaster", model.clone()).output_type::<Weather>();
    let result = Runner::new()
        .run(&agent, "Weather in Oslo?", ())
        .await
        .unwrap();
    assert_eq!(
        result.final_output_as::<Weather>().unwrap(),
        Weather {
            city: "Oslo".into(),
            celsius: -3
        }
    );
    assert_eq!(
        result.final_value,
        Some(json!({"city": "Oslo", "celsius": -3}))
    );
    assert!(!result.events.is_empty());

    let schema = model.requests()[0].output_schema.clone().unwrap();
    assert_eq!(schema.name, "final_output");
    assert!(schema.strict);
    assert_eq!(schema.schema["required"], json!(["city", "celsius"]));
    assert_eq!(schema.schema["additionalProperties"], false);
}

#[tokio::test]
async fn an_answer_of_another_shape_fails_the_run() {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("It is cold.")]]));
    let agent: Agent<()> = Agent::new("Forecaster", model).output_type::<Weather>();
    let error = Runner::new().run(&agent, "Weather?", ()).await.unwrap_err();
    match error {
        RunError::InvalidOutput { agent, message } => {
            assert_eq!(agent, "Forecaster");
            assert!(
                message.starts_with("Invalid JSON when parsing"),
                "{message}"
            );
        }
        other => panic!("expected InvalidOutput, got {other:?}"),
    }

    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text(
        r#"{"city": "Oslo"}"#,
    )]]));
    let agent: Agent<()> = Agent::new("Forecaster", model).output_type::<Weather>();
    let error = Runner::new().run(&agent, "Weather?", ()).await.unwrap_err();
    assert!(
        error.to_string().contains("missing field `celsius`"),
        "{error}"
    );
}

#[tokio::test]
async fn a_type_that_cannot_be_strict_fails_before_any_model_call() {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("{}")]]));
    let agent: Agent<()> =
        Agent::new("Counter", model.clone()).output_type::<HashMap<String, i32>>();
    let error = Runner::new().run(&agent, "count", ()).await.unwrap_err();
    assert!(matches!(error, RunError::ToolSchema(_)), "{error:?}");
    assert!(model.requests().is_empty());
}

#[tokio::test]
async fn plain_agents_keep_their_text_and_run_reports_errors() {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("[1, 2]")]]));
    let agent: Agent<()> = Agent::new("Plain", model.clone());
    let result = Runner::new().run(&agent, "list", ()).await.unwrap();
    assert_eq!(result.final_output, "[1, 2]");
    assert_eq!(result.final_value, None);
    assert_eq!(result.final_output_as::<Vec<i32>>().unwrap(), [1, 2]);
    assert_eq!(model.requests()[0].output_schema, None);

    let agent: Agent<()> = Agent::new("Empty", Arc::new(ScriptedModel::new(vec![])));
    assert!(Runner::new().run(&agent, "hi", ()).await.is_err());
}
