//! `GET <path>/usage`: the request's user's token usage, for billing pages and quotas.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use super::{error_response, respond, ChatKitEndpoint};
use crate::server::ChatKitServer;
use crate::store::{total_usage, UsageQuery};

/// `?thread_id=&from=&to=` (days as `YYYY-MM-DD`, both included; all optional).
#[derive(serde::Deserialize)]
struct UsageParams {
    thread_id: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

/// Answers `{"data": [{"day", "model", "requests", "input_tokens", …}], "total": {…,
/// "total_tokens"}}`: one row per UTC day and model, of one thread (another user's or
/// an unknown one is 404) or of all of the user's threads.
pub(super) async fn usage<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    request: Request,
) -> Response {
    let (parts, _body) = request.into_parts();
    let context = match endpoint.context(&parts) {
        Ok(context) => context,
        Err(no) => return error_response(no.status, "rejected", &no.message),
    };
    let params = match axum::extract::Query::<UsageParams>::try_from_uri(&parts.uri) {
        Ok(query) => query.0,
        Err(rejection) => {
            let message = format!(
                "{} (expected ?thread_id=thr_…&from=YYYY-MM-DD&to=YYYY-MM-DD, each optional)",
                rejection.body_text()
            );
            return error_response(StatusCode::BAD_REQUEST, "invalid_query", &message);
        }
    };
    let query = UsageQuery {
        thread_id: params.thread_id,
        from: params.from,
        to: params.to,
    };
    let records = match crate::server::usage(&endpoint.server, &query, &context).await {
        Ok(records) => records,
        Err(error) => return respond(Err(error)),
    };
    let total = total_usage(&records);
    let mut total_json = serde_json::to_value(total).unwrap_or_default();
    if let Some(fields) = total_json.as_object_mut() {
        fields.insert("total_tokens".into(), total.total_tokens().into());
    }
    let body = serde_json::json!({ "data": records, "total": total_json });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}
