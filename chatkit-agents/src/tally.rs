//! [`Tally`]: how many of something are in flight, and a wait for none.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// A count of things in flight (saves of cancelled streams, detached runs), kept in a
/// `static`, with a wait until it is zero.
#[derive(Debug)]
pub(crate) struct Tally {
    count: AtomicUsize,
    zero: Notify,
}

/// One thing counted by a [`Tally`] until dropped.
#[derive(Debug)]
pub(crate) struct Counted(&'static Tally);

impl Tally {
    pub(crate) const fn new() -> Self {
        Tally {
            count: AtomicUsize::new(0),
            zero: Notify::const_new(),
        }
    }

    /// Counts one more until the returned guard is dropped.
    pub(crate) fn enter(&'static self) -> Counted {
        self.count.fetch_add(1, Ordering::AcqRel);
        Counted(self)
    }

    /// How many are in flight now.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Resolves once none is in flight.
    pub(crate) async fn zero(&self) {
        loop {
            let zero = self.zero.notified();
            let mut zero = std::pin::pin!(zero);
            // Registered before the check, so one ending in between still wakes us.
            zero.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            zero.await;
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.zero.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static TALLY: Tally = Tally::new();

    #[tokio::test]
    async fn zero_waits_for_every_guard() {
        TALLY.zero().await;
        let guards: Vec<Counted> = (0..3).map(|_| TALLY.enter()).collect();
        assert_eq!(TALLY.count(), 3);
        let waiter = tokio::spawn(TALLY.zero());
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(guards);
        waiter.await.unwrap();
        assert_eq!(TALLY.count(), 0);
    }
}
