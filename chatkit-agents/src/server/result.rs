//! What [`super::process`] returns.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};

use super::frame::sse_frame;
use crate::spans::InSpan;
use crate::types::ThreadStreamEvent;

/// The outcome of a request: a JSON body, or a stream of SSE frames.
#[derive(Debug)]
pub enum ProcessResult {
    /// An SSE stream (`text/event-stream`).
    Streaming(StreamingResult),
    /// One JSON document (`application/json`).
    Json(Bytes),
}

/// A stream of SSE frames, `data: <compact json>\n\n` per event, with nothing else (no
/// `event:` or `id:` lines, no keep-alives). Dropping it before the end cancels the
/// response (see [`super::ChatKitServer::handle_stream_cancelled`]).
pub struct StreamingResult {
    events: InSpan<Events>,
}

/// The pipeline's event stream. Events travel boxed: a `ThreadStreamEvent` is a few
/// hundred bytes and each stream layer between `respond` and the SSE framing moves it,
/// which cost more than the serialization itself; a box moves as one pointer.
pub(crate) type Events = BoxStream<'static, Box<ThreadStreamEvent>>;

impl std::fmt::Debug for StreamingResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamingResult(..)")
    }
}

impl StreamingResult {
    pub(crate) fn new(events: Events) -> Self {
        StreamingResult {
            events: InSpan::new(events, tracing::Span::none()),
        }
    }

    pub(crate) fn in_span(mut self, span: tracing::Span) -> Self {
        self.events.span = span;
        self
    }

    /// The events themselves, before SSE framing.
    pub fn into_events(self) -> BoxStream<'static, ThreadStreamEvent> {
        self.events.map(|event| *event).boxed()
    }
}

impl Stream for StreamingResult {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        Pin::new(&mut self.events)
            .poll_next(cx)
            .map(|event| event.map(|e| sse_frame(&e)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.events.size_hint()
    }
}
