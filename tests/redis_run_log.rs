//! `RedisRunLog` against the project's Redis (127.0.0.1:6379; `.ci/run` starts it):
//! frames numbered as written, bounds, blocking reads woken by appends, trimming to the
//! retention, the end mark and its expiry. Each test uses run ids of its own under a
//! key prefix of its own.

use std::time::Duration;

use bytes::Bytes;
use chatkit_agents::runs::{RedisRunLog, RunLogBackend};

fn redis_url() -> String {
    std::env::var("CHATKIT_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn log(test: &str) -> RedisRunLog {
    RedisRunLog::connect(&redis_url())
        .await
        .expect("Redis on 127.0.0.1:6379 (.ci/run starts it)")
        .prefix(format!("chatkit-test-{}-{test}:", std::process::id()))
}

fn frames(range: std::ops::RangeInclusive<u64>) -> Vec<Bytes> {
    range
        .map(|n| Bytes::from(format!("id: run_x.{n}\ndata: {{\"n\":{n}}}\n\n")))
        .collect()
}

#[tokio::test]
async fn frames_come_back_numbered_after_any_cursor_then_the_end() {
    let log = log("numbered").await;
    let run = "run_numbered";
    assert_eq!(log.bounds(run).await.unwrap(), None, "unknown at first");
    log.start(run, "thr_1").await.unwrap();
    let started = log.bounds(run).await.unwrap().unwrap();
    assert_eq!((started.first, started.last, started.ended), (1, 0, false));

    log.append(run, 1, &frames(1..=3), 1).await.unwrap();
    log.append(run, 4, &frames(4..=5), 1).await.unwrap();
    let mut reader = log.reader(run).await.unwrap();
    let read = reader.read(2, Duration::from_millis(10)).await.unwrap();
    let numbers: Vec<u64> = read.frames.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [3, 4, 5]);
    assert_eq!(read.frames[0].1, frames(3..=3)[0], "as written");
    assert!(!read.ended);

    log.end(run, 5, Duration::from_secs(60)).await.unwrap();
    let read = reader.read(5, Duration::from_millis(10)).await.unwrap();
    assert!(read.frames.is_empty() && read.ended);
    let bounds = log.bounds(run).await.unwrap().unwrap();
    assert_eq!(
        (
            bounds.thread_id.as_str(),
            bounds.first,
            bounds.last,
            bounds.ended
        ),
        ("thr_1", 1, 5, true)
    );
}

#[tokio::test]
async fn a_blocked_reader_wakes_when_a_frame_is_appended() {
    let log = log("blocking").await;
    let run = "run_blocking";
    log.start(run, "thr_1").await.unwrap();
    let mut reader = log.reader(run).await.unwrap();
    let waiting = tokio::spawn(async move { reader.read(0, Duration::from_secs(10)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let appended = std::time::Instant::now();
    log.append(run, 1, &frames(1..=1), 1).await.unwrap();
    let read = waiting.await.unwrap().unwrap();
    assert_eq!(read.frames.len(), 1);
    assert!(
        appended.elapsed() < Duration::from_secs(2),
        "woken, not timed out"
    );
    // An idle wait returns empty when nothing comes.
    let mut idle = log.reader(run).await.unwrap();
    let read = idle.read(1, Duration::from_millis(50)).await.unwrap();
    assert!(read.frames.is_empty() && !read.ended);
}

#[tokio::test]
async fn frames_before_the_retention_are_trimmed_and_the_log_expires_after_its_end() {
    let log = log("trim").await;
    let run = "run_trim";
    log.start(run, "thr_1").await.unwrap();
    // A batch is one entry: trimming drops whole batches before the retention.
    log.append(run, 1, &frames(1..=2), 1).await.unwrap();
    log.append(run, 3, &frames(3..=4), 1).await.unwrap();
    log.append(run, 5, &frames(5..=6), 4).await.unwrap();
    let bounds = log.bounds(run).await.unwrap().unwrap();
    assert_eq!(
        (bounds.first, bounds.last),
        (3, 6),
        "the batch of 1-2 dropped"
    );
    let mut reader = log.reader(run).await.unwrap();
    let read = reader.read(3, Duration::from_millis(10)).await.unwrap();
    let numbers: Vec<u64> = read.frames.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        [4, 5, 6],
        "a cursor inside a batch reads from the next frame"
    );
    log.end(run, 6, Duration::from_secs(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        log.bounds(run).await.unwrap(),
        None,
        "gone a TTL after the end"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_hang() {
    let error = RedisRunLog::connect("redis://127.0.0.1:1")
        .await
        .expect_err("nothing listens on port 1");
    assert!(error.to_string().contains("run log backend"), "{error}");
}
