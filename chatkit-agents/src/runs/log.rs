//! [`RunLog`]: one run's SSE frames in memory, numbered, and readers that follow it from
//! any point.

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures::Stream;
use tokio::sync::futures::OwnedNotified;
use tokio::sync::Notify;

use super::{RunRetention, READER_BEHIND_MESSAGE};
use crate::locks::lock;

/// A run's frames, `id: <run>.<seq>` line included, numbered from 1. The oldest are
/// dropped once the run keeps more than its retention's bytes.
#[derive(Debug)]
pub(crate) struct RunLog {
    pub(crate) run_id: String,
    pub(crate) thread_id: String,
    state: Mutex<LogState>,
    /// Woken on every frame and at the end.
    changed: Arc<Notify>,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct LogState {
    /// The sequence number of `frames[0]`.
    first: u64,
    frames: VecDeque<Bytes>,
    bytes: usize,
    ended: bool,
}

/// Where a reader starts, checked against what the log holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// After this sequence number (0: from the first frame).
    After(u64),
    /// The frames after the cursor were dropped (the run went past its retention).
    Dropped,
    /// The cursor names a frame the run has not produced.
    Future,
}

impl RunLog {
    pub(crate) fn new(run_id: String, thread_id: String, retention: &RunRetention) -> Self {
        RunLog {
            run_id,
            thread_id,
            state: Mutex::new(LogState {
                first: 1,
                ..LogState::default()
            }),
            changed: Arc::new(Notify::new()),
            max_bytes: retention.max_bytes,
        }
    }

    /// Appends a frame (`data: …\n\n`), prefixed with its `id:` line.
    pub(crate) fn push(&self, frame: &[u8]) {
        let mut state = lock(&self.state);
        let seq = state.first + state.frames.len() as u64;
        let mut digits = itoa::Buffer::new();
        let seq = digits.format(seq);
        let mut framed =
            BytesMut::with_capacity(4 + self.run_id.len() + 1 + seq.len() + 1 + frame.len());
        framed.put_slice(b"id: ");
        framed.put_slice(self.run_id.as_bytes());
        framed.put_u8(b'.');
        framed.put_slice(seq.as_bytes());
        framed.put_u8(b'\n');
        framed.put_slice(frame);
        state.bytes += framed.len();
        state.frames.push_back(framed.freeze());
        while state.bytes > self.max_bytes && state.frames.len() > 1 {
            if let Some(old) = state.frames.pop_front() {
                state.bytes -= old.len();
                state.first += 1;
            }
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// Marks the run finished: readers end after its last frame.
    pub(crate) fn end(&self) {
        lock(&self.state).ended = true;
        self.changed.notify_waiters();
    }

    pub(crate) fn ended(&self) -> bool {
        lock(&self.state).ended
    }

    /// The bytes of frames kept.
    pub(crate) fn bytes(&self) -> usize {
        lock(&self.state).bytes
    }

    /// The number of the oldest frame kept.
    pub(crate) fn first(&self) -> u64 {
        lock(&self.state).first
    }

    /// The number the next frame gets.
    pub(crate) fn next_seq(&self) -> u64 {
        let state = lock(&self.state);
        state.first + state.frames.len() as u64
    }

    /// Where a reader that saw frame `after` would start.
    pub(crate) fn start(&self, after: u64) -> Start {
        let state = lock(&self.state);
        let last = state.first + state.frames.len() as u64 - 1;
        if after > last {
            Start::Future
        } else if after + 1 < state.first {
            Start::Dropped
        } else {
            Start::After(after)
        }
    }

    /// The frames after `after`, then the live ones until the run ends.
    pub(crate) fn follow(self: &Arc<Self>, after: u64) -> Follow {
        Follow {
            log: self.clone(),
            next: after + 1,
            waiting: None,
            behind: Behind::Tell,
        }
    }
}

/// A reader of a [`RunLog`]: dropping it leaves the run going.
pub(crate) struct Follow {
    log: Arc<RunLog>,
    /// The sequence number of the next frame to send.
    next: u64,
    waiting: Option<Pin<Box<OwnedNotified>>>,
    behind: Behind,
}

/// What a reader that fell behind the log's retention does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behind {
    /// Sends an error event ([`READER_BEHIND_MESSAGE`]) and ends (a client).
    Tell,
    /// Ends (the copy to a backend, whose readers find the gap themselves).
    End,
    /// Told already: ends.
    Told,
}

impl Follow {
    /// This reader ends without an error event if it falls behind.
    pub(crate) fn quiet(mut self) -> Self {
        self.behind = Behind::End;
        self
    }
}

impl Stream for Follow {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = &mut *self;
        loop {
            // Registered before the log is read, so a frame pushed in between wakes us.
            let waiting = this
                .waiting
                .get_or_insert_with(|| Box::pin(this.log.changed.clone().notified_owned()));
            waiting.as_mut().enable();
            {
                let state = lock(&this.log.state);
                if this.next < state.first || this.behind == Behind::Told {
                    // Fell behind the retention while reading: end rather than skip.
                    if this.behind != Behind::Tell {
                        return Poll::Ready(None);
                    }
                    tracing::warn!(run_id = %this.log.run_id, "a reader fell behind the run's retention; its stream ends");
                    this.behind = Behind::Told;
                    return Poll::Ready(Some(super::error_frame(READER_BEHIND_MESSAGE)));
                }
                let index = (this.next - state.first) as usize;
                if let Some(frame) = state.frames.get(index) {
                    this.next += 1;
                    return Poll::Ready(Some(frame.clone()));
                }
                if state.ended {
                    return Poll::Ready(None);
                }
            }
            match this.waiting.as_mut().map(|w| w.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => this.waiting = None,
                _ => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn log(max_bytes: usize) -> Arc<RunLog> {
        Arc::new(RunLog::new(
            "run_1".into(),
            "thr_1".into(),
            &RunRetention {
                max_bytes,
                ..RunRetention::default()
            },
        ))
    }

    #[tokio::test]
    async fn readers_get_numbered_frames_from_their_cursor_then_live_ones() {
        let log = log(1 << 20);
        log.push(b"data: 1\n\n");
        log.push(b"data: 2\n\n");
        let reader = log.follow(1);
        log.push(b"data: 3\n\n");
        log.end();
        let frames: Vec<Bytes> = reader.collect().await;
        assert_eq!(
            frames,
            [
                Bytes::from_static(b"id: run_1.2\ndata: 2\n\n"),
                Bytes::from_static(b"id: run_1.3\ndata: 3\n\n")
            ]
        );
    }

    #[tokio::test]
    async fn a_reader_waits_for_frames_and_the_end() {
        let log = log(1 << 20);
        let reader = tokio::spawn({
            let log = log.clone();
            async move { log.follow(0).collect::<Vec<_>>().await }
        });
        tokio::task::yield_now().await;
        for n in 0..100 {
            log.push(format!("data: {n}\n\n").as_bytes());
            if n % 10 == 0 {
                tokio::task::yield_now().await;
            }
        }
        log.end();
        let frames = reader.await.unwrap();
        assert_eq!(frames.len(), 100);
        assert!(frames[99].starts_with(b"id: run_1.100\n"));
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_the_retention_is_told_then_ends() {
        let log = log(60);
        let mut reader = log.follow(0);
        let mut quiet = log.follow(0).quiet();
        for _ in 0..5 {
            log.push(b"data: 0123456789\n\n");
        }
        log.end();
        let told: Vec<Bytes> = (&mut reader).collect().await;
        assert_eq!(told.len(), 1, "the error event, nothing else: {told:?}");
        assert!(String::from_utf8_lossy(&told[0]).contains(READER_BEHIND_MESSAGE));
        assert!(quiet.next().await.is_none(), "the quiet one just ends");
    }

    #[test]
    fn cursors_are_checked_against_what_the_log_holds() {
        let log = log(60);
        for _ in 0..5 {
            log.push(b"data: 0123456789\n\n");
        }
        // Each framed frame is 30 bytes: two are kept.
        assert_eq!(log.start(3), Start::After(3));
        assert_eq!(log.start(2), Start::Dropped);
        assert_eq!(log.start(5), Start::After(5));
        assert_eq!(log.start(6), Start::Future);
    }
}
