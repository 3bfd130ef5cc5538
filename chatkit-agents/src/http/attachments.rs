//! The attachment routes next to the ChatKit endpoint (feature `object-store`):
//!
//! - `POST <path>/attachments`: the web component's **direct** upload strategy
//!   (`uploadStrategy: {type: "direct", uploadUrl: "<path>/attachments"}`): a
//!   `multipart/form-data` body with a `file` field, authenticated by the endpoint's
//!   extractor; answers the attachment JSON.
//! - `POST|PUT <path>/attachments/{id}/upload?token=…`: the upload URL that
//!   `attachments.create` hands out (**two-phase** strategy) when the attachment store
//!   has no presigned object-storage URLs; multipart with a `file` field, or the raw
//!   bytes. The signed token is the authorization. Answers 204.
//! - `GET <path>/attachments/{id}/preview?token=…`: an image's `preview_url`.
//!
//! Bodies stream to the attachment store (never whole in memory) within the
//! endpoint's upload timeout; the transfer runs in a task of its own, so a client that
//! disconnects mid-upload aborts it and nothing is stored.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};

use super::{error_response, ChatKitEndpoint};
use crate::server::ChatKitServer;
use crate::store::{AttachmentError, ByteStream, FileUpload, INLINE_IMAGE_TYPES};

/// The default [`ChatKitEndpoint::upload_timeout`]: 10 minutes (1 GB at 1.7 MB/s).
pub const DEFAULT_UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);

fn failure(error: &AttachmentError) -> Response {
    super::failure(error.status(), error.code(), error)
}

#[derive(serde::Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
}

fn token(query: &axum::http::Uri) -> Result<String, AttachmentError> {
    axum::extract::Query::<TokenQuery>::try_from_uri(query)
        .ok()
        .and_then(|q| q.0.token)
        .ok_or_else(|| AttachmentError::Forbidden("the URL carries no token".into()))
}

/// The body as a byte stream that fails once `timeout` has passed.
fn deadline<E: std::fmt::Display + Send + 'static>(
    stream: impl Stream<Item = Result<axum::body::Bytes, E>> + Send + 'static,
    timeout: Duration,
) -> ByteStream {
    let until = tokio::time::Instant::now() + timeout;
    async_stream::stream! {
        let mut stream = std::pin::pin!(stream);
        loop {
            match tokio::time::timeout_at(until, stream.next()).await {
                Err(_elapsed) => {
                    yield Err(AttachmentError::TimedOut(timeout));
                    return;
                }
                Ok(None) => return,
                Ok(Some(Ok(chunk))) => yield Ok(chunk),
                Ok(Some(Err(error))) => {
                    yield Err(AttachmentError::Invalid(format!("the upload broke off: {error}")));
                    return;
                }
            }
        }
    }
    .boxed()
}

/// The `file` field of a multipart body: its name, type and bytes.
async fn file_field(
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
) -> Result<(Option<String>, Option<String>, ByteStream), AttachmentError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        AttachmentError::Invalid("expected a multipart/form-data body with a `file` field".into())
    })?;
    // Fields besides `file` are skipped, at most 64 KiB each: a body cannot stream
    // anything but the file for long before the store's checks (and, on the two-phase
    // route, the token's) run.
    let limits = multer::SizeLimit::new()
        .per_field(SKIPPED_FIELD_LIMIT)
        .for_field("file", u64::MAX);
    let constraints = multer::Constraints::new().size_limit(limits);
    let mut multipart = multer::Multipart::with_constraints(paced(body), boundary, constraints);
    let broken = |error: multer::Error| {
        AttachmentError::Invalid(format!("the multipart body is malformed: {error}"))
    };
    // Fields before `file` are skipped (and bounded by the same deadline).
    let field = tokio::time::timeout(timeout, async {
        loop {
            match multipart.next_field().await.map_err(broken)? {
                None => {
                    return Err(AttachmentError::Invalid(
                        "the multipart body has no `file` field".into(),
                    ))
                }
                Some(field) if field.name() == Some("file") => return Ok(field),
                Some(_) => {}
            }
        }
    })
    .await
    .map_err(|_| AttachmentError::TimedOut(timeout))??;
    let name = field.file_name().map(str::to_owned);
    let mime = field.content_type().map(ToString::to_string);
    Ok((name, mime, deadline(field, timeout)))
}

/// The most a multipart field other than `file` may carry.
const SKIPPED_FIELD_LIMIT: u64 = 64 * 1024;

/// How much of a body [`paced`] passes on per poll.
const BYTES_PER_POLL: usize = 256 * 1024;

/// The body's chunks, with a pause (`Pending`, woken at once) after every
/// [`BYTES_PER_POLL`]: the multipart parser reads everything a body has ready before it
/// hands out a chunk, which on a fast link is the whole socket buffer (several MiB per
/// upload, measured); paced, it hands out at most this much at a time.
fn paced(
    body: Body,
) -> impl Stream<Item = Result<axum::body::Bytes, axum::Error>> + Send + 'static {
    let mut inner = body.into_data_stream();
    let mut budget = BYTES_PER_POLL;
    futures::stream::poll_fn(move |cx| {
        if budget == 0 {
            budget = BYTES_PER_POLL;
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        let next = inner.poll_next_unpin(cx);
        if let std::task::Poll::Ready(Some(Ok(chunk))) = &next {
            budget = budget.saturating_sub(chunk.len());
        }
        next
    })
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
}

/// Runs a transfer in a task of its own: when the client disconnects, the handler is
/// dropped but the task goes on, its body stream fails, and the store aborts the write.
async fn detached<T: Send + 'static>(
    transfer: impl std::future::Future<Output = Result<T, AttachmentError>> + Send + 'static,
) -> Result<T, AttachmentError> {
    tokio::spawn(transfer)
        .await
        .unwrap_or_else(|join| Err(AttachmentError::backend(join)))
}

/// `POST <path>/attachments`: the direct upload strategy.
pub(super) async fn direct_upload<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let context = match endpoint.context(&parts) {
        Ok(context) => context,
        Err(no) => return error_response(no.status, "rejected", &no.message),
    };
    let Some(attachments) = endpoint.server.attachment_store() else {
        return failure(&AttachmentError::Unsupported(
            "AttachmentStore is not configured; files cannot be uploaded".into(),
        ));
    };
    let (name, mime_type, bytes) =
        match file_field(&parts.headers, body, endpoint.upload_timeout).await {
            Ok(field) => field,
            Err(error) => return failure(&error),
        };
    let Some(name) = name else {
        return failure(&AttachmentError::Invalid(
            "the `file` field has no file name".into(),
        ));
    };
    let upload = FileUpload {
        name,
        mime_type: mime_type.unwrap_or_else(|| "application/octet-stream".into()),
        bytes,
    };
    let store = endpoint.server.store();
    let saved = detached(async move {
        let attachment = attachments.upload_attachment(upload, &context).await?;
        if let Err(error) = store.save_attachment(&attachment, &context).await {
            if let Err(delete) = attachments.delete_attachment(attachment.id(), &context).await {
                tracing::warn!(attachment_id = attachment.id(), %delete, "could not delete the bytes of an attachment whose metadata failed");
            }
            return Err(error.into());
        }
        Ok(attachment)
    })
    .await;
    match saved {
        Ok(attachment) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            serde_json::to_string(&attachment).unwrap_or_default(),
        )
            .into_response(),
        Err(error) => failure(&error),
    }
}

/// `POST|PUT <path>/attachments/{id}/upload?token=…`: a two-phase upload.
pub(super) async fn two_phase_upload<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Some(attachments) = endpoint.server.attachment_store() else {
        return failure(&AttachmentError::Unsupported(
            "AttachmentStore is not configured; files cannot be uploaded".into(),
        ));
    };
    let token = match token(&parts.uri) {
        Ok(token) => token,
        Err(error) => return failure(&error),
    };
    let bytes = if is_multipart(&parts.headers) {
        match file_field(&parts.headers, body, endpoint.upload_timeout).await {
            Ok((_, _, bytes)) => bytes,
            Err(error) => return failure(&error),
        }
    } else {
        deadline(body.into_data_stream(), endpoint.upload_timeout)
    };
    let received =
        detached(async move { attachments.receive_upload(&id, &token, bytes).await }).await;
    match received {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => failure(&error),
    }
}

/// `GET <path>/attachments/{id}/preview?token=…`: an image preview.
pub(super) async fn preview<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let Some(attachments) = endpoint.server.attachment_store() else {
        return failure(&AttachmentError::Unsupported(
            "AttachmentStore is not configured".into(),
        ));
    };
    let content = match token(request.uri()) {
        Ok(token) => attachments.read_preview(&id, &token).await,
        Err(error) => Err(error),
    };
    let content = match content {
        Ok(content) => content,
        Err(error) => return failure(&error),
    };
    // Images a browser shows are served inline; anything else is a download.
    let inline = INLINE_IMAGE_TYPES.contains(&content.mime_type.as_str());
    let mut response = Response::builder()
        .header(header::CONTENT_LENGTH, content.size)
        // An id's bytes never change: a preview may be cached as long as the browser
        // likes, but only by this user's browser.
        .header(
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        )
        // The ChatKit component renders in a frame of another origin.
        .header("cross-origin-resource-policy", "cross-origin");
    response = if inline {
        response.header(header::CONTENT_TYPE, content.mime_type.as_str())
    } else {
        response
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_DISPOSITION, "attachment")
    };
    let body = Body::from_stream(
        content
            .bytes
            .map(|chunk| chunk.map_err(std::io::Error::other)),
    );
    response.body(body).unwrap_or_else(|_| {
        error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "could not build the response",
        )
    })
}
