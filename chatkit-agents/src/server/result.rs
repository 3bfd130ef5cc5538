//! What [`super::process`] returns.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};

use super::frame::sse_frame;
use crate::telemetry::metrics::RequestMeter;
use crate::telemetry::InSpan;
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
    events: Events,
    /// The request's span, entered while the pipeline runs.
    span: tracing::Span,
    meter: Option<RequestMeter>,
    /// Frames read ahead while the span was entered (see `poll_next`).
    ready: VecDeque<Bytes>,
    ended: bool,
}

/// The pipeline's event stream. Events travel boxed: a `ThreadStreamEvent` is a few
/// hundred bytes and each stream layer between `respond` and the SSE framing moves it,
/// which cost more than the serialization itself; a box moves as one pointer.
pub(crate) type Events = BoxStream<'static, Box<ThreadStreamEvent>>;

/// At most this many frames are read ahead in one entry of the request's span.
const READ_AHEAD: usize = 32;

impl std::fmt::Debug for StreamingResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamingResult(..)")
    }
}

impl StreamingResult {
    pub(crate) fn new(events: Events) -> Self {
        StreamingResult {
            events,
            span: tracing::Span::none(),
            meter: None,
            ready: VecDeque::new(),
            ended: false,
        }
    }

    /// The stream, read inside `span` and measured by `meter`.
    pub(crate) fn in_span(mut self, span: tracing::Span, meter: RequestMeter) -> Self {
        self.span = span;
        self.meter = Some(meter);
        self
    }

    /// The events themselves, before SSE framing.
    pub fn into_events(mut self) -> BoxStream<'static, ThreadStreamEvent> {
        let span = std::mem::replace(&mut self.span, tracing::Span::none());
        let events = futures::stream::poll_fn(move |cx| match self.ended {
            true => Poll::Ready(None),
            false => self.poll_event(cx).map(|event| event.map(|e| *e)),
        });
        InSpan::new(events, span).boxed()
    }

    /// The next event from the pipeline, counted by the meter.
    #[inline]
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Box<ThreadStreamEvent>>> {
        let polled = Pin::new(&mut self.events).poll_next(cx);
        match (&polled, &mut self.meter) {
            (Poll::Ready(Some(event)), Some(meter)) => {
                meter.event(matches!(**event, ThreadStreamEvent::Error(_)))
            }
            (Poll::Ready(None), Some(meter)) => meter.end_of_stream(),
            _ => {}
        }
        if let Poll::Ready(None) = polled {
            self.ended = true;
        }
        polled
    }
}

impl Stream for StreamingResult {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = &mut *self;
        // Without a subscriber: one frame per event, nothing read ahead.
        if this.span.is_disabled() && this.ready.is_empty() && !this.ended {
            return this
                .poll_event(cx)
                .map(|event| event.map(|e| sse_frame(&e)));
        }
        this.poll_read_ahead(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.events.size_hint();
        let ready = self.ready.len();
        (low + ready, high.map(|high| high + ready))
    }
}

impl StreamingResult {
    /// The next frame when a subscriber listens. Entering a span costs it some hundreds
    /// of instructions, as much as writing a text delta's frame: the span is entered once
    /// for all the events that are ready now (the pipeline does not wait for the reader,
    /// and nothing not yet produced is waited for).
    fn poll_read_ahead(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(frame) = self.ready.pop_front() {
            return Poll::Ready(Some(frame));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        let span = self.span.clone();
        let _entered = span.enter();
        while self.ready.len() < READ_AHEAD {
            match self.poll_event(cx) {
                Poll::Ready(Some(event)) => self.ready.push_back(sse_frame(&event)),
                Poll::Ready(None) => break,
                Poll::Pending if self.ready.is_empty() => return Poll::Pending,
                Poll::Pending => break,
            }
        }
        Poll::Ready(self.ready.pop_front())
    }
}
