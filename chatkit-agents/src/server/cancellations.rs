//! The saves of cancelled streams still running, so that a server stopping can wait for
//! them before its process exits.
//!
//! A stream cancelled by dropping it (a client gone, or a draining server closing the
//! connection) saves its pending items in a task of its own: dropping cannot await. A
//! process that returned from `main` right after would drop those tasks half done;
//! [`cancelled_streams_saved`] waits for them.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Saves started and not finished, in this process.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
/// Woken when `RUNNING` drops to zero.
static SETTLED: Notify = Notify::const_new();

/// Runs a cancelled stream's save on `runtime`, counted until it ends (or panics).
pub(crate) fn spawn_save(
    runtime: &tokio::runtime::Handle,
    save: impl Future<Output = ()> + Send + 'static,
) {
    RUNNING.fetch_add(1, Ordering::AcqRel);
    let done = Done;
    runtime.spawn(async move {
        let _done = done;
        save.await;
    });
}

/// Counts a save as finished when dropped: after it ran, or with its task if the runtime
/// shuts down first.
struct Done;

impl Drop for Done {
    fn drop(&mut self) {
        if RUNNING.fetch_sub(1, Ordering::AcqRel) == 1 {
            SETTLED.notify_waiters();
        }
    }
}

/// Waits until every cancelled stream of this process has saved its pending items (its
/// [`handle_stream_cancelled`](super::ChatKitServer::handle_stream_cancelled) has
/// returned). [`http::Server`](crate::http::Server) calls it before it returns from a
/// shutdown; call it yourself before your process exits if you serve with something
/// else.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // … stop accepting requests, let responses finish or drop them …
/// chatkit_agents::server::cancelled_streams_saved().await;
/// # });
/// ```
pub async fn cancelled_streams_saved() {
    loop {
        let settled = SETTLED.notified();
        let mut settled = std::pin::pin!(settled);
        // Registered before the check, so a save finishing in between still wakes us.
        settled.as_mut().enable();
        if RUNNING.load(Ordering::Acquire) == 0 {
            return;
        }
        settled.await;
    }
}

/// How many cancelled streams are saving now (for logs).
pub(crate) fn saving() -> usize {
    RUNNING.load(Ordering::Acquire)
}
