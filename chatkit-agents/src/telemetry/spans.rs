//! Streams polled inside a `tracing` span, so that what is logged (and the spans opened)
//! while a stream is read belong to the work it stands for: a request, an agent run, a
//! model call.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::Stream;

/// `inner`, each poll inside `span`.
pub(crate) struct InSpan<S> {
    pub(crate) inner: S,
    pub(crate) span: tracing::Span,
}

impl<S> InSpan<S> {
    pub(crate) fn new(inner: S, span: tracing::Span) -> Self {
        InSpan { inner, span }
    }
}

impl<S: Stream + Unpin> Stream for InSpan<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        // Without a subscriber the span is disabled: skip entering it per item.
        let _entered = (!this.span.is_disabled()).then(|| this.span.enter());
        Pin::new(&mut this.inner).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
