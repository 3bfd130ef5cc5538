//! `OPENAI_API_KEY` checked when a model is built: `new` warns without it, `try_new`
//! fails. One test in a binary of its own, since it changes the process environment.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chatkit_agents::agents::{ModelError, OpenAIChatCompletionsModel, OpenAIResponsesModel};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

#[test]
fn a_missing_key_is_said_when_the_model_is_built() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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
