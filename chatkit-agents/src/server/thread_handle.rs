//! [`ThreadHandle`]: the thread a response works on, shared with the pipeline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::store::TokenUsage;
use crate::types::{ThreadMetadata, ThreadStatus};

/// The thread that `respond` or `action` works on.
///
/// Change the title, status, metadata or allowed image domains through it; the pipeline
/// saves the change and sends `thread.updated` right after the event during which it
/// happened (or at the end of the stream). Cheap to clone: clones share the thread.
///
/// ```
/// use chatkit_agents::server::ThreadHandle;
/// use chatkit_agents::types::{ThreadMetadata, Timestamp};
/// let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
/// thread.set_title("Greeting");
/// assert_eq!(thread.snapshot().title.as_deref(), Some("Greeting"));
/// ```
#[derive(Clone)]
pub struct ThreadHandle {
    inner: Arc<Inner>,
}

struct Inner {
    id: String,
    thread: Mutex<ThreadMetadata>,
    /// Bumped by every change, so the pipeline compares whole threads only when needed.
    version: AtomicU64,
    /// Tokens used per model since the pipeline last took them.
    usage: Mutex<Vec<(String, TokenUsage)>>,
}

impl std::fmt::Debug for ThreadHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ThreadHandle").field(&*self.lock()).finish()
    }
}

impl ThreadHandle {
    /// Wraps a thread.
    pub fn new(thread: ThreadMetadata) -> Self {
        ThreadHandle {
            inner: Arc::new(Inner {
                id: thread.id.clone(),
                thread: Mutex::new(thread),
                version: AtomicU64::new(0),
                usage: Mutex::new(Vec::new()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ThreadMetadata> {
        // Closures passed to `update` cannot leave the thread half-changed in a way that
        // matters (every field stays valid), so a poisoned lock is still usable.
        crate::locks::lock(&self.inner.thread)
    }

    /// The thread id (it never changes).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// A copy of the thread as it is now.
    pub fn snapshot(&self) -> ThreadMetadata {
        self.lock().clone()
    }

    /// The title.
    pub fn title(&self) -> Option<String> {
        self.lock().title.clone()
    }

    /// Sets the title.
    pub fn set_title(&self, title: impl Into<String>) {
        self.update(|t| t.title = Some(title.into()));
    }

    /// Sets the status (locked and closed threads are shown read-only by the client;
    /// the server does not enforce it).
    pub fn set_status(&self, status: ThreadStatus) {
        self.update(|t| t.status = status);
    }

    /// Sets the hosts images may be loaded from.
    pub fn set_allowed_image_domains(&self, domains: Option<Vec<String>>) {
        self.update(|t| t.allowed_image_domains = domains);
    }

    /// Sets one server-side metadata entry (never sent to clients, but persisted).
    pub fn set_metadata(&self, key: impl Into<String>, value: impl Into<Value>) {
        self.update(|t| {
            t.metadata.insert(key.into(), value.into());
        });
    }

    /// Changes the thread in any way; the id is kept whatever `change` does to it.
    pub fn update<R>(&self, change: impl FnOnce(&mut ThreadMetadata) -> R) -> R {
        let mut thread = self.lock();
        let result = change(&mut thread);
        if thread.id != self.inner.id {
            thread.id.clone_from(&self.inner.id);
        }
        self.inner.version.fetch_add(1, Ordering::Release);
        result
    }

    /// Counts tokens `model` used for this response. When the response ends (or is
    /// cancelled) the pipeline adds them to the store's usage of this thread and user
    /// ([`Store::add_usage`](crate::store::Store::add_usage)) and to the user's token
    /// limit; `stream_agent_response` calls it for every model response, so call it
    /// yourself only for model calls of your own.
    ///
    /// ```
    /// use chatkit_agents::server::ThreadHandle;
    /// use chatkit_agents::store::TokenUsage;
    /// use chatkit_agents::types::{ThreadMetadata, Timestamp};
    /// let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
    /// thread.add_usage("gpt-5-mini", TokenUsage { requests: 1, input_tokens: 300, output_tokens: 40, ..Default::default() });
    /// thread.add_usage("gpt-5-mini", TokenUsage { requests: 1, input_tokens: 350, output_tokens: 10, ..Default::default() });
    /// assert_eq!(thread.usage()[0].1.total_tokens(), 700);
    /// ```
    pub fn add_usage(&self, model: &str, usage: TokenUsage) {
        let mut counted = crate::locks::lock(&self.inner.usage);
        match counted.iter_mut().find(|(name, _)| name == model) {
            Some((_, total)) => total.add(&usage),
            None => counted.push((model.to_owned(), usage)),
        }
    }

    /// The tokens counted with [`add_usage`](Self::add_usage) and not yet saved, per
    /// model.
    pub fn usage(&self) -> Vec<(String, TokenUsage)> {
        crate::locks::lock(&self.inner.usage).clone()
    }

    /// Takes the tokens counted so far (the pipeline saves them).
    pub(crate) fn take_usage(&self) -> Vec<(String, TokenUsage)> {
        std::mem::take(&mut *crate::locks::lock(&self.inner.usage))
    }

    pub(crate) fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }
}
