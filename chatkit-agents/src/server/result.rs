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
/// `event:` lines, no keep-alives). Dropping it before the end cancels the response (see
/// [`super::ChatKitServer::handle_stream_cancelled`]), unless the server detaches its
/// runs ([`crate::runs::DisconnectPolicy::Detach`]): then each frame starts with an
/// `id: <run id>.<n>` line, and dropping the stream only stops reading.
pub struct StreamingResult {
    events: Events,
    /// A detached run's frames (see [`crate::runs`]), read instead of `events`.
    run: Option<BoxStream<'static, Bytes>>,
    /// The thread the response is about and its run's id (what a detached run is
    /// filed under).
    thread_run: Option<(String, String)>,
    /// The request's span, entered while the pipeline runs.
    span: tracing::Span,
    meter: Option<RequestMeter>,
    /// Frames read ahead while the span was entered (see `poll_next`).
    ready: VecDeque<Bytes>,
    ended: bool,
    /// Held until the response is dropped (a stream slot of the user's limits).
    _held: Option<Box<dyn Send>>,
}

/// The pipeline's event stream. Events travel boxed: a `ThreadStreamEvent` is a few
/// hundred bytes and each stream layer between `respond` and the SSE framing moves it,
/// which cost more than the serialization itself; a box moves as one pointer.
pub(crate) type Events = BoxStream<'static, Box<ThreadStreamEvent>>;

/// The event of an SSE frame this crate wrote (`id:` line or not).
fn event_of_frame(frame: &[u8]) -> Option<ThreadStreamEvent> {
    let data = frame
        .split(|b| *b == b'\n')
        .find_map(|line| line.strip_prefix(b"data: "))?;
    match serde_json::from_slice(data) {
        Ok(event) => Some(event),
        Err(error) => {
            tracing::error!(%error, "a run's frame does not parse as an event");
            None
        }
    }
}

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
            run: None,
            thread_run: None,
            span: tracing::Span::none(),
            meter: None,
            ready: VecDeque::new(),
            _held: None,
            ended: false,
        }
    }

    /// The response of the run `run_id` on `thread_id`.
    pub(crate) fn of_thread(mut self, thread_id: &str, run_id: String) -> Self {
        self.thread_run = Some((thread_id.to_owned(), run_id));
        self
    }

    /// The frames of a run being produced elsewhere (a detached run's log).
    pub(crate) fn of_run(frames: BoxStream<'static, Bytes>) -> Self {
        let mut result = StreamingResult::new(futures::stream::empty().boxed());
        result.run = Some(frames);
        result
    }

    /// Runs this response as a detached run (see [`crate::runs`]): the pipeline goes on
    /// in a task of its own, writing the run's log; the result reads that log. A
    /// response that names no thread stays as it is.
    pub(crate) fn detach(
        mut self,
        retention: crate::runs::RunRetention,
        backend: Option<std::sync::Arc<dyn crate::runs::RunLogBackend>>,
    ) -> Self {
        let Some(thread_run) = self.thread_run.take() else {
            return self;
        };
        let reader = crate::runs::detach(self.boxed(), thread_run, retention, backend);
        StreamingResult::of_run(reader)
    }

    /// Keeps `value` until the response ends or is dropped.
    pub(crate) fn holding(mut self, value: Option<impl Send + 'static>) -> Self {
        if let Some(value) = value {
            self._held = Some(Box::new(value));
        }
        self
    }

    /// The stream, read inside `span` and measured by `meter`.
    pub(crate) fn in_span(mut self, span: tracing::Span, meter: RequestMeter) -> Self {
        self.span = span;
        self.meter = Some(meter);
        self
    }

    /// The events themselves, before SSE framing (a detached run's are read back from
    /// its frames).
    pub fn into_events(mut self) -> BoxStream<'static, ThreadStreamEvent> {
        if let Some(frames) = self.run.take() {
            return frames
                .filter_map(|frame| async move { event_of_frame(&frame) })
                .boxed();
        }
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
        if let Some(run) = &mut this.run {
            return run.poll_next_unpin(cx);
        }
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
