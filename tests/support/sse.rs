//! An SSE reader for tests over real HTTP: frames as a client parses them, whatever the
//! chunking, with their `id:` lines.

use futures::stream::{BoxStream, StreamExt};
use serde_json::Value;

/// One frame: its event id (on a detached run's frames) and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Value,
}

/// The frames of a response body, read as they arrive.
pub struct Frames {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
    /// Whether the body ended with an error (cut) rather than cleanly.
    pub broke: bool,
}

impl Frames {
    pub fn new(response: reqwest::Response) -> Frames {
        Frames {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
            broke: false,
        }
    }

    /// The next frame, or `None` at the end of the body (or where it broke).
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame {
                    id: None,
                    event: Value::Null,
                };
                for line in raw.lines() {
                    if let Some(id) = line.strip_prefix("id: ") {
                        frame.id = Some(id.to_owned());
                    } else if let Some(data) = line.strip_prefix("data: ") {
                        frame.event = serde_json::from_str(data).unwrap();
                    }
                }
                return Some(frame);
            }
            match self.body.next().await? {
                Ok(chunk) => self.buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
                Err(_) => {
                    self.broke = true;
                    return None;
                }
            }
        }
    }

    /// The next `n` frames.
    pub async fn take(&mut self, n: usize) -> Vec<Frame> {
        let mut frames = Vec::new();
        while frames.len() < n {
            frames.push(self.next().await.expect("the stream goes on"));
        }
        frames
    }

    /// Frames up to and including the first that `stop` accepts (or to the end).
    pub async fn until(&mut self, mut stop: impl FnMut(&Value) -> bool) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next().await {
            let done = stop(&frame.event);
            frames.push(frame);
            if done {
                break;
            }
        }
        frames
    }

    /// Reads (and drops) frames for `duration`, or to the end.
    pub async fn read_for(&mut self, duration: std::time::Duration) {
        let until = tokio::time::Instant::now() + duration;
        while let Ok(Some(_)) = tokio::time::timeout_at(until, self.next()).await {}
    }

    /// Every frame left.
    pub async fn rest(mut self) -> Vec<Frame> {
        self.until(|_| false).await
    }
}
