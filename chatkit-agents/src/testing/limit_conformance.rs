//! [`limit_counters_conformance`]: the contract of a
//! [`LimitCounters`](crate::server::LimitCounters) backend, checked the same way for the
//! memory counters, the Redis ones and yours.

use std::time::Duration;

use crate::server::{LimitCounters, LimitKind, LimitSettings, Limits, Rate};

fn settings(limits: Limits) -> LimitSettings {
    limits.settings().clone()
}

/// Runs the limit counters' contract against `counters` (fresh: no counts for the users
/// `ada`, `bob` and `cy`), at fixed instants far from now so that it takes no time:
///
/// - requests: counted per user in fixed windows; past the limit refused with
///   [`LimitKind::Requests`] and the rest of the window as `retry_after`; the next
///   window starts over;
/// - streams: a slot per stream up to the limit, then [`LimitKind::ConcurrentStreams`];
///   a request without a stream takes none; a freed slot is free again; if the backend
///   says its slots expire ([`LimitCounters::slots_expire`]), an unrenewed one is gone
///   after the slot TTL and a renewed one is not; otherwise a slot lasts until freed;
/// - tokens: added per window; a response (a request with a stream) is refused once the
///   window's tokens reach the limit, a read is not; the next window starts over.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// chatkit_agents::testing::limit_counters_conformance(&chatkit_agents::server::MemoryLimitCounters::new()).await;
/// # });
/// ```
pub async fn limit_counters_conformance<L: LimitCounters>(counters: &L) {
    let minute = Duration::from_secs(60);
    // The start of a window of every length used here.
    let t: u64 = 1_800_000_000_000 / 3_600_000 * 3_600_000;
    let admit =
        |user: &'static str, settings: &LimitSettings, stream: Option<&'static str>, at: u64| {
            let settings = settings.clone();
            async move {
                counters
                    .admit(user, &settings, stream, at)
                    .await
                    .expect("the counters answer")
            }
        };

    let requests = settings(Limits::in_memory().requests(2, minute));
    assert_eq!(admit("ada", &requests, None, t).await, Ok(()));
    assert_eq!(admit("ada", &requests, None, t + 5).await, Ok(()));
    let refused = admit("ada", &requests, None, t + 20_000)
        .await
        .expect_err("the third request of two");
    assert_eq!(
        (refused.kind, refused.limit, refused.retry_after),
        (LimitKind::Requests, 2, Some(Duration::from_secs(40)))
    );
    assert_eq!(
        admit("bob", &requests, None, t).await,
        Ok(()),
        "users apart"
    );
    assert_eq!(
        admit("ada", &requests, None, t + 60_000).await,
        Ok(()),
        "the next window"
    );

    let streams = settings(Limits::in_memory().concurrent_streams(2));
    assert_eq!(admit("ada", &streams, Some("s1"), t).await, Ok(()));
    assert_eq!(admit("ada", &streams, Some("s2"), t).await, Ok(()));
    let full = admit("ada", &streams, Some("s3"), t)
        .await
        .expect_err("a third stream of two");
    assert_eq!(
        (full.kind, full.limit, full.retry_after),
        (LimitKind::ConcurrentStreams, 2, None)
    );
    assert_eq!(
        admit("ada", &streams, None, t).await,
        Ok(()),
        "no stream, no slot"
    );
    counters.end_stream("ada", "s1").await.expect("end_stream");
    assert_eq!(
        admit("ada", &streams, Some("s4"), t).await,
        Ok(()),
        "a freed slot"
    );
    let ttl = streams.stream_slot_ttl.as_millis() as u64;
    if counters.slots_expire() {
        // s2 renewed, s4 not: after the TTL only s4 is gone.
        counters
            .renew_stream("ada", "s2", t + 10 * ttl)
            .await
            .expect("renew_stream");
        assert_eq!(
            admit("ada", &streams, Some("s5"), t + ttl + 1).await,
            Ok(())
        );
        assert!(admit("ada", &streams, Some("s6"), t + ttl + 1)
            .await
            .is_err());
    } else {
        let later = admit("ada", &streams, Some("s5"), t + 100 * ttl).await;
        assert!(
            later.is_err(),
            "a slot lasts until freed, however long its stream"
        );
    }

    let rate = Rate {
        limit: 100,
        window: minute,
    };
    let tokens = settings(Limits::in_memory().tokens(100, minute));
    counters
        .add_tokens("cy", 99, rate, t)
        .await
        .expect("add_tokens");
    assert_eq!(admit("cy", &tokens, Some("a"), t).await, Ok(()));
    counters
        .add_tokens("cy", 1, rate, t)
        .await
        .expect("add_tokens");
    let spent = admit("cy", &tokens, Some("b"), t + 1_000)
        .await
        .expect_err("a response past the tokens");
    assert_eq!(
        (spent.kind, spent.limit, spent.retry_after),
        (LimitKind::Tokens, 100, Some(Duration::from_secs(59)))
    );
    assert_eq!(
        admit("cy", &tokens, None, t + 1_000).await,
        Ok(()),
        "reads go on"
    );
    assert_eq!(
        admit("cy", &tokens, Some("c"), t + 60_000).await,
        Ok(()),
        "the next window"
    );
}
