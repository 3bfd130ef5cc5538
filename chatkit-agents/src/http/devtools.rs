//! The devtools page (feature `devtools`): a ChatKit client for developers, served by
//! the endpoint itself with every asset embedded (no CDN, no network), behind the
//! endpoint's own authentication (`ChatKitEndpoint::devtools`).
//!
//! - `GET <path>/devtools`: the page, `GET <path>/devtools/app.js` and `app.css`, and
//!   `options.json` (`ChatKitEndpoint::devtools_options`: composer tools and models,
//!   entities to tag);
//! - `POST <path>/devtools/validate`: `{"events": [...]}` → `{"problems": [{"index",
//!   "error"}]}`, each event parsed as this crate's `ThreadStreamEvent`, so the page
//!   flags frames that are not the protocol without a copy of its shapes.
//!
//! The page is plain HTML, CSS and JavaScript (no build step, nothing to install, and
//! nothing that can go stale apart from the renderer itself): a thread list (paginated,
//! rename, delete), a thread as a user sees it (messages with Markdown and sources,
//! workflows and tasks as they stream, widgets rendered from their tree with every
//! component the web component knows and unknown ones as JSON, client tool calls,
//! hidden items marked), a composer (model and tool choice, `@name` tags, attachments
//! through the direct upload route, stop, retry, feedback), widget actions (streamed,
//! synchronous, forms, `handler: "client"` ones logged) and an inspector of every
//! request and frame with its time since the request and the gap since the last one.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{error_response, ChatKitEndpoint};
use crate::server::ChatKitServer;
use crate::types::ThreadStreamEvent;

const INDEX: &str = include_str!("devtools/index.html");
const APP_JS: &str = include_str!("devtools/app.js");
const APP_CSS: &str = include_str!("devtools/app.css");

/// The page's policy: its own script and styles only (widgets' inline styles aside),
/// requests to this origin only, images from anywhere (widgets, previews).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src * data: blob:; connect-src 'self'; form-action 'none'; base-uri 'none'";

/// How many events one validation request may carry.
const MAX_EVENTS: usize = 10_000;

/// One embedded asset, to a request the endpoint's extractor accepts.
fn asset<S: ChatKitServer>(
    endpoint: &ChatKitEndpoint<S>,
    parts: &Parts,
    content_type: &'static str,
    body: impl IntoResponse,
) -> Response {
    if let Err(no) = endpoint.context(parts) {
        return error_response(no.status, "rejected", &no.message);
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET <path>/devtools`: the page.
pub(super) async fn page<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    request: Request,
) -> Response {
    asset(
        &endpoint,
        &request.into_parts().0,
        "text/html; charset=utf-8",
        INDEX,
    )
}

/// `GET <path>/devtools/{file}`: the script and the styles.
pub(super) async fn file<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    Path(file): Path<String>,
    request: Request,
) -> Response {
    let (content_type, body) = match file.as_str() {
        "app.js" => (
            "text/javascript; charset=utf-8",
            Bytes::from_static(APP_JS.as_bytes()),
        ),
        "app.css" => (
            "text/css; charset=utf-8",
            Bytes::from_static(APP_CSS.as_bytes()),
        ),
        "options.json" => ("application/json", endpoint.devtools_options.clone()),
        _ => return error_response(StatusCode::NOT_FOUND, "not_found", "no such devtools file"),
    };
    asset(&endpoint, &request.into_parts().0, content_type, body)
}

#[derive(serde::Deserialize)]
struct Events {
    events: Vec<serde_json::Value>,
}

/// `POST <path>/devtools/validate`: which events do not parse as `ThreadStreamEvent`.
pub(super) async fn validate<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    request: Request,
) -> Response {
    let (_context, body) = match endpoint.read(request, endpoint.body_limit).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let events = match serde_json::from_slice::<Events>(&body) {
        Ok(events) if events.events.len() <= MAX_EVENTS => events.events,
        Ok(_) => {
            let message = format!("at most {MAX_EVENTS} events at a time");
            return error_response(StatusCode::BAD_REQUEST, "invalid_body", &message);
        }
        Err(error) => {
            let message = format!("expected {{\"events\": [...]}}: {error}");
            return error_response(StatusCode::BAD_REQUEST, "invalid_body", &message);
        }
    };
    let problems: Vec<serde_json::Value> = events
        .into_iter()
        .enumerate()
        .filter_map(|(index, event)| {
            serde_json::from_value::<ThreadStreamEvent>(event)
                .err()
                .map(|error| serde_json::json!({"index": index, "error": error.to_string()}))
        })
        .collect();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        serde_json::json!({ "problems": problems }).to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod icon_tests {
    use super::APP_JS;
    use crate::types::BuiltinIcon;

    #[test]
    fn every_builtin_icon_has_a_glyph_in_the_page() {
        let missing: Vec<&str> = BuiltinIcon::NAMES
            .iter()
            .copied()
            .filter(|name| !APP_JS.contains(&format!("\n  \"{name}\": \"")))
            .collect();
        assert!(
            missing.is_empty(),
            "icons without a glyph in app.js: {missing:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ThreadItem, ThreadItemUpdate};

    /// The tags of a serde enum tagged by `type`, from the error serde gives for an
    /// unknown one ("expected one of `a`, `b`, …"): the type's own list, not a copy.
    fn tags<T: serde::de::DeserializeOwned>() -> Vec<String> {
        let error = serde_json::from_value::<T>(serde_json::json!({"type": "?"}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let list = error.split("expected one of ").nth(1).unwrap_or_default();
        list.split(", ")
            .map(|tag| tag.trim_matches(|c: char| c == '`' || c.is_whitespace()))
            .map(|tag| tag.split('`').next().unwrap_or_default().to_owned())
            .filter(|tag| !tag.is_empty())
            .collect()
    }

    #[test]
    fn the_script_handles_every_event_update_and_item_type_of_the_protocol() {
        let events = tags::<ThreadStreamEvent>();
        let updates = tags::<ThreadItemUpdate>();
        assert!(
            events.len() >= 12 && updates.len() >= 10,
            "{events:?} {updates:?}"
        );
        let items = ThreadItem::TYPE_NAMES.iter().map(|t| (*t).to_owned());
        for name in events.into_iter().chain(updates).chain(items) {
            assert!(
                APP_JS.contains(&format!("\"{name}\"")),
                "app.js does not handle {name}"
            );
        }
    }
}
