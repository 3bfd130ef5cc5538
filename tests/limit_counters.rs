//! The limit counters' contract (`testing::limit_counters_conformance`) on
//! `MemoryLimitCounters` and on `RedisLimitCounters` against a real Redis; and, for
//! Redis, the script loaded again after Redis forgets it, and requests let through (not
//! refused, not failed) when Redis goes away mid-service.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::server::{
    process, respond_with, ChatKitServer, EventStream, LimitCounters, LimitKind, Limits,
    ProcessResult, RedisLimitCounters, RespondWith, ThreadHandle, UserLimits,
};
use chatkit_agents::store::{MemoryStore, Store};
use chatkit_agents::testing::limit_counters_conformance;
use chatkit_agents::types::*;
use futures::StreamExt;
use support::own_redis::OwnRedis;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REDIS: &str = "redis://127.0.0.1:6379";

/// Counters under a prefix of this test run's own.
async fn counters(name: &str) -> RedisLimitCounters {
    RedisLimitCounters::connect(REDIS)
        .await
        .expect("Redis on 127.0.0.1:6379 (.ci/run starts it)")
        .prefix(format!(
            "test-{name}-{}-{}:",
            std::process::id(),
            default_generate_id(StoreItemType::Message)
        ))
}

fn settings(limits: &Limits) -> chatkit_agents::server::LimitSettings {
    limits.settings().clone()
}

#[tokio::test]
async fn the_memory_counters_keep_the_contract() {
    limit_counters_conformance(&chatkit_agents::server::MemoryLimitCounters::new()).await;
}

#[tokio::test]
async fn the_redis_counters_keep_the_contract() {
    limit_counters_conformance(&counters("contract").await).await;
}

#[tokio::test]
async fn the_script_is_loaded_again_when_redis_forgot_it() {
    let mut redis = OwnRedis::start().await;
    let counters = RedisLimitCounters::connect(&redis.url).await.unwrap();
    let requests = settings(&Limits::in_memory().requests(1, Duration::from_secs(60)));
    let t: u64 = 1_800_000_000_000;
    assert_eq!(
        counters.admit("ada", &requests, None, t).await.unwrap(),
        Ok(())
    );
    // SCRIPT FLUSH, spoken in RESP on a connection of its own.
    let address = redis.url.trim_start_matches("redis://").to_owned();
    let mut raw = tokio::net::TcpStream::connect(address).await.unwrap();
    raw.write_all(b"*2\r\n$6\r\nSCRIPT\r\n$5\r\nFLUSH\r\n")
        .await
        .unwrap();
    let mut reply = [0u8; 5];
    raw.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"+OK\r\n");
    let second = counters.admit("ada", &requests, None, t + 1).await.unwrap();
    assert_eq!(
        second.unwrap_err().kind,
        LimitKind::Requests,
        "counted as before the flush"
    );
    redis.kill();
}

type Answer = fn(ThreadHandle, Option<UserMessageItem>, ()) -> EventStream;

struct Limited {
    inner: Arc<RespondWith<(), Answer>>,
    limits: Limits,
}

impl ChatKitServer for Limited {
    type Context = ();
    fn store(&self) -> Arc<dyn Store<()>> {
        self.inner.store()
    }
    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        ctx: (),
    ) -> EventStream {
        self.inner.clone().respond(thread, input, ctx)
    }
    fn limits(&self, _: &()) -> Option<UserLimits> {
        Some(self.limits.for_user("ada"))
    }
}

fn answer(thread: ThreadHandle, _: Option<UserMessageItem>, _: ()) -> EventStream {
    let item = AssistantMessageItem {
        id: default_generate_id(StoreItemType::Message),
        thread_id: thread.id().to_owned(),
        created_at: Timestamp::now(),
        content: vec![AssistantMessageContent::new("Hi.")],
    };
    Box::pin(futures::stream::iter([Ok(ThreadStreamEvent::item_done(
        item,
    ))]))
}

#[tokio::test]
async fn requests_are_let_through_when_redis_goes_away() {
    let mut redis = OwnRedis::start().await;
    let counters = RedisLimitCounters::connect(&redis.url).await.unwrap();
    let limits = Limits::new(counters)
        .requests(1, Duration::from_secs(3600))
        .concurrent_streams(1);
    let server = Arc::new(Limited {
        inner: Arc::new(respond_with(Arc::new(MemoryStore::new()), answer as Answer)),
        limits,
    });
    let create = br#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}"#;
    let kinds = |frames: Vec<bytes::Bytes>| -> Vec<String> {
        frames
            .iter()
            .map(|f| {
                let data = std::str::from_utf8(f)
                    .unwrap()
                    .trim()
                    .trim_start_matches("data: ");
                serde_json::from_str::<serde_json::Value>(data).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let Ok(ProcessResult::Streaming(first)) = process(&server, create, ()).await else {
        panic!()
    };
    assert!(!kinds(first.collect().await).contains(&"error".to_owned()));
    let Ok(ProcessResult::Streaming(second)) = process(&server, create, ()).await else {
        panic!()
    };
    assert_eq!(
        kinds(second.collect().await),
        ["error"],
        "over the limit while Redis counts"
    );

    redis.kill();
    for _ in 0..3 {
        let Ok(ProcessResult::Streaming(through)) = process(&server, create, ()).await else {
            panic!()
        };
        let kinds = kinds(through.collect().await);
        assert!(
            kinds.contains(&"thread.item.done".to_owned()) && !kinds.contains(&"error".to_owned()),
            "{kinds:?}"
        );
    }
}
