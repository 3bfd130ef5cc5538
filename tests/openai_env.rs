//! `OPENAI_API_KEY` checked when a model is built: `new` warns without it, `try_new`
//! fails. One test in a binary of its own, since it changes the process environment.

mod support;

use chatkit_agents::agents::{
    model::ModelError,
    providers::openai::{OpenAIChatCompletionsModel, OpenAIResponsesModel},
};
use support::logs::capture;

#[test]
fn a_missing_key_is_said_when_the_model_is_built() {
    let (captured, _guard) = capture();

    std::env::remove_var("OPENAI_API_KEY");
    let _model = OpenAIResponsesModel::new("gpt-4.1-mini");
    let logged = captured.take();
    assert!(
        logged.contains("WARN") && logged.contains("OPENAI_API_KEY is not set"),
        "{logged}"
    );
    let refused = OpenAIChatCompletionsModel::try_new("gpt-4.1-mini").unwrap_err();
    assert!(
        matches!(refused, ModelError::Configuration(_)),
        "{refused:?}"
    );
    assert!(!refused.is_transient());

    std::env::set_var("OPENAI_API_KEY", " ");
    assert!(OpenAIResponsesModel::try_new("m")
        .unwrap_err()
        .to_string()
        .contains("empty"));

    std::env::set_var("OPENAI_API_KEY", "sk-test");
    captured.take();
    let model = OpenAIResponsesModel::try_new("gpt-4.1-mini").unwrap();
    assert_eq!(model.model_name(), "gpt-4.1-mini");
    assert_eq!(captured.take(), "", "no warning with a key");
    std::env::remove_var("OPENAI_API_KEY");
}
