//! Actions: [`ActionConfig`] (outbound, inside widgets) and [`Action`] (inbound, sent back
//! by the client when a widget is used).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json_text::{without_position, JsonText};

string_enum! {
    /// Who handles an action: the server (a `threads.custom_action` request) or the client
    /// (the `onAction` callback in the page).
    #[derive(Default)]
    pub enum Handler {
        /// Handled in the browser.
        Client = "client",
        /// Sent to the server (the default).
        #[default]
        Server = "server",
    }
}

string_enum! {
    /// What the client shows while an action runs.
    #[derive(Default)]
    pub enum LoadingBehavior {
        /// Let the client decide (the default).
        #[default]
        Auto = "auto",
        /// No loading state.
        None = "none",
        /// The control that fired the action shows it.
        SelfOnly = "self",
        /// The whole widget shows it.
        Container = "container",
    }
}

fn default_streaming() -> bool {
    true
}

/// The action descriptor embedded in a widget (`onClickAction`, `onSubmitAction`,
/// `onChangeAction`, card confirm/cancel).
///
/// `handler`, `loadingBehavior` and `streaming` are always written, even at their defaults,
/// as the reference writes them. `streaming: false` makes the client call
/// `threads.sync_custom_action` instead of `threads.custom_action`.
///
/// ```
/// use chatkit_agents::types::{ActionConfig, Handler};
/// let action = ActionConfig::new("open").payload(serde_json::json!({"id": 7})).handler(Handler::Client);
/// assert_eq!(
///     serde_json::to_string(&action).unwrap(),
///     r#"{"type":"open","payload":{"id":7},"handler":"client","loadingBehavior":"auto","streaming":true}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionConfig {
    /// The action type your server (or client) dispatches on.
    #[serde(rename = "type")]
    pub action_type: String,
    /// Free-form data sent back with the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// Who handles the action.
    #[serde(default)]
    pub handler: Handler,
    /// What the client shows while the action runs.
    #[serde(default, rename = "loadingBehavior")]
    pub loading_behavior: LoadingBehavior,
    /// Whether the server answers with a stream (`true`) or a single JSON response.
    #[serde(default = "default_streaming")]
    pub streaming: bool,
}

impl ActionConfig {
    /// An action of the given type with every default (server handled, streaming).
    pub fn new(action_type: impl Into<String>) -> Self {
        ActionConfig {
            action_type: action_type.into(),
            payload: None,
            handler: Handler::Server,
            loading_behavior: LoadingBehavior::Auto,
            streaming: true,
        }
    }

    /// Sets the payload (any serializable value; a JSON `null` means none).
    pub fn payload(mut self, payload: impl Into<Value>) -> Self {
        let payload = payload.into();
        self.payload = (!payload.is_null()).then_some(payload);
        self
    }

    /// Sets who handles the action.
    pub fn handler(mut self, handler: Handler) -> Self {
        self.handler = handler;
        self
    }

    /// Sets the loading behaviour.
    pub fn loading_behavior(mut self, loading_behavior: LoadingBehavior) -> Self {
        self.loading_behavior = loading_behavior;
        self
    }

    /// Sets whether the action is answered with a stream (`false`: `threads.sync_custom_action`).
    pub fn streaming(mut self, streaming: bool) -> Self {
        self.streaming = streaming;
        self
    }
}

/// An action sent by the client (`params.action` of `threads.custom_action` and
/// `threads.sync_custom_action`).
///
/// The payload comes from the browser: treat it as untrusted. [`Action::parse_payload`]
/// checks it against your own type and tells exactly what did not fit.
///
/// ```
/// use chatkit_agents::types::Action;
/// #[derive(Debug, serde::Deserialize)]
/// struct Select { id: u32 }
/// let action: Action = serde_json::from_str(r#"{"type":"select","payload":{"id":3}}"#).unwrap();
/// assert_eq!(action.parse_payload::<Select>().unwrap().id, 3);
/// let bad: Action = serde_json::from_str(r#"{"type":"select","payload":{"id":"x"}}"#).unwrap();
/// assert!(bad.parse_payload::<Select>().unwrap_err().to_string().contains("id"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// The action type (required; the reference accepts its absence but then cannot use it).
    #[serde(rename = "type")]
    pub action_type: String,
    /// The payload as sent (its JSON text; `null` when absent): read it with
    /// [`parse_payload`](Self::parse_payload), or [`JsonText::get`] for one key.
    #[serde(default, skip_serializing_if = "JsonText::is_null")]
    pub payload: JsonText,
}

/// An action payload that does not have the shape the handler expects.
#[derive(Debug, thiserror::Error)]
#[error("invalid payload for action {action_type:?} at {path}: {message}")]
pub struct ActionPayloadError {
    /// The action's type.
    pub action_type: String,
    /// Where in the payload the problem is (`.` for the payload itself).
    pub path: String,
    /// What was wrong.
    pub message: String,
}

impl Action {
    /// An action of the given type with the given payload.
    pub fn new(action_type: impl Into<String>, payload: impl Into<Value>) -> Self {
        Action {
            action_type: action_type.into(),
            payload: JsonText::from(payload.into()),
        }
    }

    /// Parses the payload into `T`, naming the failing path on error.
    pub fn parse_payload<T: DeserializeOwned>(&self) -> Result<T, ActionPayloadError> {
        let mut text = serde_json::Deserializer::from_str(self.payload.as_str());
        serde_path_to_error::deserialize(&mut text).map_err(|e| ActionPayloadError {
            action_type: self.action_type.clone(),
            path: e.path().to_string(),
            message: without_position(e.into_inner()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn action_config_defaults_are_always_written() {
        let parsed: ActionConfig = serde_json::from_value(json!({"type": "x"})).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            json!({"type":"x","handler":"server","loadingBehavior":"auto","streaming":true})
        );
    }

    #[test]
    fn action_config_rejects_unknown_tokens() {
        let err = serde_json::from_value::<ActionConfig>(json!({"type":"x","handler":"browser"}))
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `browser`"),
            "{err}"
        );
    }

    #[test]
    fn inbound_action_requires_a_type() {
        let err = serde_json::from_value::<Action>(json!({"payload": {"a": 1}})).unwrap_err();
        assert!(err.to_string().contains("missing field `type`"), "{err}");
        let err = serde_json::from_value::<Action>(json!({"type": 3})).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn payload_errors_name_the_path() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Form {
            name: String,
            age: u8,
        }
        let action = Action::new("submit", json!({"name": "Ada", "age": 300}));
        let err = action.parse_payload::<Form>().unwrap_err();
        assert_eq!(err.path, "age");
        assert!(err.to_string().contains("\"submit\""));
    }
}
