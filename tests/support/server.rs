//! A configurable test server: `respond` runs a closure, everything else is recorded.

use std::sync::{Arc, Mutex};

use chatkit_agents::async_trait;
use chatkit_agents::server::{
    process, ChatKitServer, EventStream, ProcessError, ProcessResult, ThreadHandle,
};
use chatkit_agents::store::{AttachmentError, AttachmentStore, MemoryStore, Store};
use chatkit_agents::types::*;
use futures::StreamExt;
use serde_json::Value;

pub type Responder = dyn Fn(ThreadHandle, Option<UserMessageItem>) -> EventStream + Send + Sync;

pub struct TestServer {
    pub store: Arc<MemoryStore>,
    pub responder: Box<Responder>,
    pub feedback: Mutex<Vec<(String, Vec<String>, FeedbackKind)>>,
    pub audio: Mutex<Vec<AudioInput>>,
    pub with_attachments: bool,
}

impl TestServer {
    pub fn new(
        responder: impl Fn(ThreadHandle, Option<UserMessageItem>) -> EventStream + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(TestServer {
            store: Arc::new(MemoryStore::new()),
            responder: Box::new(responder),
            feedback: Mutex::default(),
            audio: Mutex::default(),
            with_attachments: true,
        })
    }

    /// A server whose `respond` answers every message with one assistant message.
    pub fn replying(text: &'static str) -> Arc<Self> {
        Self::new(move |thread, _| {
            Box::pin(futures::stream::iter([Ok(ThreadStreamEvent::item_done(
                assistant(&thread, "msg_reply", text),
            ))]))
        })
    }
}

/// A server whose answers take `pause` between their two events (a progress update,
/// then the assistant's "slow answer").
pub fn pausing(pause: std::time::Duration) -> Arc<TestServer> {
    TestServer::new(move |thread, _| {
        Box::pin(async_stream::stream! {
            yield Ok(ThreadStreamEvent::progress("thinking"));
            tokio::time::sleep(pause).await;
            yield Ok(ThreadStreamEvent::item_done(assistant(&thread, "msg", "slow answer")));
        })
    })
}

pub fn assistant(thread: &ThreadHandle, id: &str, text: &str) -> AssistantMessageItem {
    AssistantMessageItem {
        id: format!("{id}_{}", uuid_like()),
        thread_id: thread.id().to_owned(),
        created_at: Timestamp::now(),
        content: vec![AssistantMessageContent::new(text)],
    }
}

fn uuid_like() -> String {
    default_generate_id(StoreItemType::Message)
}

/// Attachment bytes "stored" nowhere; uploads go to a fake URL.
pub struct FakeUploads;

#[async_trait]
impl AttachmentStore<()> for FakeUploads {
    async fn create_attachment(
        &self,
        input: &AttachmentCreateParams,
        ctx: &(),
    ) -> Result<Attachment, AttachmentError> {
        let id = self.generate_attachment_id(&input.mime_type, ctx);
        let upload = serde_json::json!({"url": format!("https://uploads.example.com/{id}"), "method": "PUT", "headers": {"x-token": "t"}});
        let mut value = serde_json::json!({
            "id": id, "name": input.name, "mime_type": input.mime_type, "upload_descriptor": upload,
            "metadata": {"size": input.size}, "type": "file"
        });
        if input.mime_type.starts_with("image/") {
            value["type"] = "image".into();
            value["preview_url"] = format!("https://uploads.example.com/{id}/preview").into();
        }
        Ok(serde_json::from_value(value).expect("valid attachment"))
    }

    async fn delete_attachment(&self, _: &str, _: &()) -> Result<(), AttachmentError> {
        Ok(())
    }
}

#[async_trait]
impl ChatKitServer for TestServer {
    type Context = ();

    fn store(&self) -> Arc<dyn Store<()>> {
        self.store.clone()
    }

    fn attachment_store(&self) -> Option<Arc<dyn AttachmentStore<()>>> {
        self.with_attachments
            .then(|| Arc::new(FakeUploads) as Arc<dyn AttachmentStore<()>>)
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        _: (),
    ) -> EventStream {
        (self.responder)(thread, input)
    }

    async fn add_feedback(
        &self,
        thread_id: &str,
        item_ids: &[String],
        kind: FeedbackKind,
        _: &(),
    ) -> Result<(), ProcessError> {
        self.feedback
            .lock()
            .unwrap()
            .push((thread_id.to_owned(), item_ids.to_vec(), kind));
        Ok(())
    }

    async fn transcribe(
        &self,
        audio: AudioInput,
        _: &(),
    ) -> Result<TranscriptionResult, ProcessError> {
        let text = format!("{} bytes of {}", audio.data.len(), audio.media_type());
        self.audio.lock().unwrap().push(audio);
        Ok(TranscriptionResult { text })
    }
}

/// Sends a request and returns its events (streaming) or its JSON (non-streaming).
pub enum Reply {
    Events(Vec<Value>),
    Json(Value),
}

pub async fn send<S: ChatKitServer<Context = ()>>(
    server: &Arc<S>,
    body: Value,
) -> Result<Reply, ProcessError> {
    match process(server, &serde_json::to_vec(&body).unwrap(), ()).await? {
        ProcessResult::Streaming(stream) => {
            let frames: Vec<_> = stream.collect().await;
            Ok(Reply::Events(
                frames
                    .iter()
                    .map(|f| {
                        let text = std::str::from_utf8(f).unwrap();
                        assert!(
                            text.starts_with("data: ") && text.ends_with("\n\n"),
                            "bad frame {text:?}"
                        );
                        serde_json::from_str(&text[6..text.len() - 2]).unwrap()
                    })
                    .collect(),
            ))
        }
        ProcessResult::Json(body) => Ok(Reply::Json(serde_json::from_slice(&body).unwrap())),
    }
}

pub async fn events<S: ChatKitServer<Context = ()>>(server: &Arc<S>, body: Value) -> Vec<Value> {
    match send(server, body).await.unwrap() {
        Reply::Events(e) => e,
        Reply::Json(j) => panic!("expected a stream, got {j}"),
    }
}

pub async fn json<S: ChatKitServer<Context = ()>>(server: &Arc<S>, body: Value) -> Value {
    match send(server, body).await.unwrap() {
        Reply::Json(j) => j,
        Reply::Events(e) => panic!("expected JSON, got {e:?}"),
    }
}

pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e["update"]["type"].as_str() {
            Some(update) => format!("{}:{update}", e["type"].as_str().unwrap()),
            None => e["type"].as_str().unwrap().to_owned(),
        })
        .collect()
}

pub fn create(text: &str) -> Value {
    serde_json::json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}})
}

pub fn add_message(thread_id: &str, text: &str) -> Value {
    serde_json::json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}})
}
