//! How a model call fails: [`ModelError`], and which failures another attempt may fix.

/// A model call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The service answered with an HTTP error.
    #[error("model HTTP error {status}: {message}")]
    Http {
        /// The status.
        status: u16,
        /// The body or reason.
        message: String,
    },
    /// The service reported an error (in the stream or as a failed response).
    #[error("model error{}: {message}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api {
        /// The error code.
        code: Option<String>,
        /// The message.
        message: String,
        /// The HTTP status of a response refused with an error body; `None` for an
        /// error reported inside the stream.
        status: Option<u16>,
    },
    /// The connection failed or broke off.
    #[error("model connection error: {0}")]
    Connection(String),
    /// The request could not be built.
    #[error("invalid model request: {0}")]
    InvalidRequest(String),
    /// The model is not configured to work (no API key, for example): found when it
    /// is built, or by its first request.
    #[error("model configuration: {0}")]
    Configuration(String),
    /// Any other failure of a model implementation (your own [`Model`](super::Model), or a
    /// `testing::ScriptedModel` that has no turn left).
    #[error("model error: {0}")]
    Other(String),
}

/// In-stream error codes of the Responses API that another attempt may not repeat.
const TRANSIENT_API_CODES: [&str; 4] = [
    "server_error",
    "rate_limit_exceeded",
    "vector_store_timeout",
    "server_is_overloaded",
];

impl ModelError {
    /// Whether another attempt later may succeed: the service could not be reached, was
    /// busy (408, 409, 429) or failed on its side (5xx, `server_error`). A refused key,
    /// an unknown model, a request the service rejects (a conversation too long, an
    /// image it cannot read) fail again the same way.
    ///
    /// ```
    /// use chatkit_agents::agents::model::ModelError;
    ///
    /// assert!(ModelError::Http { status: 503, message: "unavailable".into() }.is_transient());
    /// assert!(!ModelError::Http { status: 401, message: "no key".into() }.is_transient());
    /// assert!(ModelError::Connection("reset".into()).is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            ModelError::Http { status, .. } => transient_status(*status),
            ModelError::Api {
                status: Some(status),
                ..
            } => transient_status(*status),
            ModelError::Api {
                status: None, code, ..
            } => code
                .as_deref()
                .is_none_or(|code| TRANSIENT_API_CODES.contains(&code)),
            ModelError::Connection(_) | ModelError::Other(_) => true,
            ModelError::InvalidRequest(_) | ModelError::Configuration(_) => false,
        }
    }

    /// A sentence for the user of a chat whose answer failed with this error: what
    /// happened in words a user understands, naming no key, address or internal detail
    /// (the server log keeps those).
    ///
    /// ```
    /// use chatkit_agents::agents::model::ModelError;
    ///
    /// let refused = ModelError::Http { status: 401, message: "Incorrect API key provided: sk-...".into() };
    /// assert!(!refused.user_message().contains("sk-"));
    /// ```
    pub fn user_message(&self) -> &'static str {
        let (status, code) = match self {
            ModelError::Http { status, .. } => (Some(*status), None),
            ModelError::Api { status, code, .. } => (*status, code.as_deref()),
            ModelError::Connection(_) => {
                return "The AI model service could not be reached. Please try again."
            }
            ModelError::InvalidRequest(_) => {
                return "This conversation cannot be sent to the AI model as it is."
            }
            ModelError::Other(_) => return "The AI model failed to answer. Please try again.",
            ModelError::Configuration(_) => {
                return "The assistant is unavailable: its AI model is not configured."
            }
        };
        match (status, code) {
            (_, Some("invalid_api_key")) | (Some(401 | 403), _) => {
                "The assistant is unavailable: the AI model service refused this server's credentials."
            }
            (_, Some("model_not_found")) | (Some(404), _) => {
                "The assistant is unavailable: the AI model service does not offer the configured model."
            }
            (_, Some("context_length_exceeded")) => {
                "This conversation is too long for the AI model. Please start a new thread."
            }
            (_, Some("rate_limit_exceeded")) | (Some(429), _) => {
                "The AI model service is busy right now. Please try again in a moment."
            }
            _ if self.is_transient() => {
                "The AI model service had a problem answering. Please try again."
            }
            _ => "The AI model service could not process this request.",
        }
    }
}

/// Statuses after which the same request may succeed later.
fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}
