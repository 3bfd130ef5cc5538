//! The saves of cancelled streams still running, so that a server stopping can wait for
//! them before its process exits.
//!
//! A stream cancelled by dropping it (a client gone, or a draining server closing the
//! connection) saves its pending items in a task of its own: dropping cannot await. A
//! process that returned from `main` right after would drop those tasks half done;
//! [`cancelled_streams_saved`] waits for them.

use std::future::Future;

use crate::tally::Tally;

/// Saves started and not finished, in this process.
static SAVES: Tally = Tally::new();

/// Runs a cancelled stream's save on `runtime`, counted until it ends (or panics).
pub(crate) fn spawn_save(
    runtime: &tokio::runtime::Handle,
    save: impl Future<Output = ()> + Send + 'static,
) {
    let counted = SAVES.enter();
    runtime.spawn(async move {
        let _counted = counted;
        save.await;
    });
}

/// Waits until every cancelled stream of this process has saved its pending items (its
/// [`handle_stream_cancelled`](super::ChatKitServer::handle_stream_cancelled) has
/// returned). `http::Server` calls it before it returns from a
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
    SAVES.zero().await;
}

/// How many cancelled streams are saving now (for logs).
#[cfg(feature = "axum")]
pub(crate) fn saving() -> usize {
    SAVES.count()
}
