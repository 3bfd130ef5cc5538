//! The two kinds of failure: [`StreamError`] inside a stream (it becomes an `error`
//! event) and [`ProcessError`] before any stream starts (the HTTP layer maps it to a
//! status code).

use std::fmt;

use crate::runs::ResumeError;
use crate::store::{AttachmentError, RecordKind, StoreError};
use crate::types::{ErrorCode, ErrorEvent, RequestParseError};

/// A failure inside `respond` or `action`: the pipeline turns it into the stream's
/// final `error` event, exactly as the reference does.
///
/// - [`StreamError::custom`]: `{"code":"custom","message":...,"allow_retry":...}`, a
///   message of your own for the user;
/// - [`StreamError::code`]: `{"code":...,"allow_retry":...}` without a message;
/// - any other error (`?` on anything that implements `std::error::Error`):
///   `{"code":"stream.error","allow_retry":true}`, and the error is logged;
/// - [`StreamError::reported`]: an internal failure the user should hear about (the
///   model service refused the server's key, a tool service is down): logged like any
///   other, and sent as `{"code":"custom","message":...,"allow_retry":...}` with a
///   message of yours that names no secret and no internals.
///
/// Like `anyhow::Error`, it does not implement `std::error::Error` itself, so that `?`
/// converts every error into it.
pub struct StreamError(Repr);

enum Repr {
    Custom {
        message: String,
        allow_retry: bool,
    },
    Code {
        code: ErrorCode,
        allow_retry: Option<bool>,
    },
    Internal {
        error: Box<dyn std::error::Error + Send + Sync>,
        /// What the user reads, and whether a retry may help.
        public: Option<(String, bool)>,
    },
}

impl StreamError {
    /// A message for the user (`code: "custom"`).
    pub fn custom(message: impl Into<String>, allow_retry: bool) -> Self {
        StreamError(Repr::Custom {
            message: message.into(),
            allow_retry,
        })
    }

    /// An error code without message. `allow_retry: None` uses the code's default
    /// (`true` for `stream.error`, `false` otherwise).
    pub fn code(code: ErrorCode, allow_retry: Option<bool>) -> Self {
        StreamError(Repr::Code { code, allow_retry })
    }

    /// An internal failure described by `message` (shown only in logs).
    pub fn internal(message: impl Into<String>) -> Self {
        StreamError(Repr::Internal {
            error: message.into().into(),
            public: None,
        })
    }

    /// An internal failure (`error`, logged with its causes) that the user is told about
    /// with `message`: `{"code":"custom","message":...,"allow_retry":...}`. Say
    /// `allow_retry: false` when trying again cannot help (a refused key, a missing
    /// model), `true` for transient failures. [`downcast_ref`](Self::downcast_ref) still
    /// finds `error`.
    ///
    /// ```
    /// use chatkit_agents::server::StreamError;
    ///
    /// let io = std::io::Error::other("connection refused (10.0.0.7:5432)");
    /// let error = StreamError::reported(io, "The order service is unavailable.", true);
    /// let event = serde_json::to_string(&error.to_event()).unwrap();
    /// assert_eq!(event, r#"{"code":"custom","message":"The order service is unavailable.","allow_retry":true}"#);
    /// assert!(error.is_internal()); // logged at ERROR, with the address
    /// assert!(error.downcast_ref::<std::io::Error>().is_some());
    /// ```
    pub fn reported(
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
        message: impl Into<String>,
        allow_retry: bool,
    ) -> Self {
        StreamError(Repr::Internal {
            error: error.into(),
            public: Some((message.into(), allow_retry)),
        })
    }

    /// The `error` event this failure becomes.
    pub fn to_event(&self) -> ErrorEvent {
        match &self.0 {
            Repr::Custom {
                message,
                allow_retry,
            } => ErrorEvent::custom(message.clone(), *allow_retry),
            Repr::Code { code, allow_retry } => ErrorEvent {
                allow_retry: allow_retry.unwrap_or(*code == ErrorCode::StreamError),
                code: code.clone(),
                message: None,
            },
            Repr::Internal {
                public: Some((message, allow_retry)),
                ..
            } => ErrorEvent::custom(message.clone(), *allow_retry),
            Repr::Internal { public: None, .. } => ErrorEvent::stream_error(true),
        }
    }

    /// Whether this is an internal failure (logged as an error by the pipeline).
    pub fn is_internal(&self) -> bool {
        matches!(self.0, Repr::Internal { .. })
    }

    /// The error and every cause below it, joined with `: `, for logs (the
    /// user-facing kinds show their message).
    pub fn with_causes(&self) -> String {
        let Repr::Internal { error, .. } = &self.0 else {
            return self.to_string();
        };
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let cause = cause.to_string();
            // thiserror's `#[error("...: {0}")]` often repeats its source already.
            if !text.ends_with(&cause) {
                text.push_str(": ");
                text.push_str(&cause);
            }
            source = cause_source(source);
        }
        text
    }

    /// The error an internal failure was made from, if it is an `E`: e.g. the
    /// [`RunError`](crate::agents::RunError) that ended a `stream_agent_response`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match &self.0 {
            Repr::Internal { error, .. } => error.downcast_ref::<E>(),
            _ => None,
        }
    }
}

fn cause_source<'a>(
    error: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    error.and_then(std::error::Error::source)
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for StreamError {
    fn from(e: E) -> Self {
        StreamError(Repr::Internal {
            error: Box::new(e),
            public: None,
        })
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Custom { message, .. } => write!(f, "custom stream error: {message}"),
            Repr::Code { code, .. } => write!(f, "stream error {code}"),
            Repr::Internal { error, .. } => write!(f, "{error}"),
        }
    }
}

impl fmt::Debug for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamError({self})")
    }
}

/// A request that failed before any response was started. [`ProcessError::status`]
/// gives the HTTP status to answer with.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The body is not a valid request (400).
    #[error(transparent)]
    InvalidRequest(#[from] RequestParseError),
    /// A thread, item or attachment named by the request does not exist (404).
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked up.
        kind: RecordKind,
        /// Its id.
        id: String,
    },
    /// The request is well formed but cannot apply to the thread's current state (400),
    /// e.g. tool output when no client tool call is pending.
    #[error("{0}")]
    BadRequest(String),
    /// The server does not implement this operation (501), e.g. `transcribe`.
    #[error("{0}")]
    NotImplemented(String),
    /// The store failed (500).
    #[error(transparent)]
    Store(StoreError),
    /// Something else failed on the server (500).
    #[error("{0}")]
    Internal(String),
    /// A detached run cannot be joined (400, 404 or 410; see [`ResumeError::status`]).
    #[error(transparent)]
    Resume(#[from] ResumeError),
    /// An attachment cannot be created, deleted or used (400, 403, 404, 409, 413, 415,
    /// 501; see [`AttachmentError::status`]).
    #[error(transparent)]
    Attachment(AttachmentError),
    /// The request is over one of its user's limits (429; see
    /// [`super::ChatKitServer::limits`]). Streaming requests get an `error` event instead.
    #[error(transparent)]
    LimitExceeded(super::LimitExceeded),
    /// Another run answers in the thread ([`super::ChatKitServer::run_leases`]).
    #[error("thread {thread_id} is still answering (run {run_id})")]
    ThreadBusy {
        /// The thread.
        thread_id: String,
        /// The run answering in it.
        run_id: String,
    },
}

impl From<StoreError> for ProcessError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => ProcessError::NotFound { kind, id },
            other => ProcessError::Store(other),
        }
    }
}

impl From<AttachmentError> for ProcessError {
    fn from(e: AttachmentError) -> Self {
        match e {
            AttachmentError::Store(store) => store.into(),
            other => ProcessError::Attachment(other),
        }
    }
}

impl ProcessError {
    /// The HTTP status code for this error.
    pub fn status(&self) -> u16 {
        match self {
            ProcessError::InvalidRequest(_) | ProcessError::BadRequest(_) => 400,
            ProcessError::NotFound { .. } => 404,
            ProcessError::NotImplemented(_) => 501,
            ProcessError::Store(_) | ProcessError::Internal(_) => 500,
            ProcessError::Resume(e) => e.status(),
            ProcessError::Attachment(e) => e.status(),
            ProcessError::ThreadBusy { .. } => 409,
            ProcessError::LimitExceeded(_) => 429,
        }
    }

    /// A short machine-readable name for the error body (`invalid_request`, `not_found`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            ProcessError::InvalidRequest(_) => "invalid_request",
            ProcessError::BadRequest(_) => "bad_request",
            ProcessError::NotFound { .. } => "not_found",
            ProcessError::NotImplemented(_) => "not_implemented",
            ProcessError::Store(_) | ProcessError::Internal(_) => "internal_error",
            ProcessError::Resume(e) => e.code(),
            ProcessError::Attachment(e) => e.code(),
            ProcessError::ThreadBusy { .. } => "thread_busy",
            ProcessError::LimitExceeded(_) => "rate_limited",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_errors_become_the_reference_events() {
        let event = |e: StreamError| serde_json::to_string(&e.to_event()).unwrap();
        assert_eq!(
            event(StreamError::custom("Nope", true)),
            r#"{"code":"custom","message":"Nope","allow_retry":true}"#
        );
        assert_eq!(
            event(StreamError::code(ErrorCode::StreamError, None)),
            r#"{"code":"stream.error","allow_retry":true}"#
        );
        assert_eq!(
            event(StreamError::code(ErrorCode::StreamError, Some(false))),
            r#"{"code":"stream.error","allow_retry":false}"#
        );
        assert_eq!(
            event(StreamError::code(ErrorCode::Other("x".into()), None)),
            r#"{"code":"x","allow_retry":false}"#
        );
        let io = std::io::Error::other("disk");
        assert_eq!(
            event(io.into()),
            r#"{"code":"stream.error","allow_retry":true}"#
        );
    }

    #[test]
    fn process_errors_map_to_statuses() {
        assert_eq!(
            ProcessError::from(StoreError::not_found(RecordKind::Thread, "t")).status(),
            404
        );
        assert_eq!(
            ProcessError::from(StoreError::Backend("x".into())).status(),
            500
        );
        assert_eq!(ProcessError::BadRequest("x".into()).status(), 400);
        assert_eq!(ProcessError::NotImplemented("x".into()).status(), 501);
    }
}
