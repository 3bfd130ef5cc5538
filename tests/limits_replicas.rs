//! Per-user limits across two demo processes on one PostgreSQL database, counted in the
//! project's Redis: a stream open on one replica holds the user's one slot on the other,
//! tokens spent on one refuse the next answer on the other, and requests add up over
//! both. Usage is read back from either replica.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::demo_process::{Demo, PgDatabase};
use support::slow_model::SlowModel;
use support::sse::Frames;

const REDIS: &str = "redis://127.0.0.1:6379";

fn replica(db: &str, model: &SlowModel) -> Demo {
    Demo::start_with(
        db,
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", model.url()),
            // The recorded answer uses 425 tokens: one answer spends the allowance.
            ("CHATKIT_LIMITS", "requests=7/1h,streams=1,tokens=400/1d"),
            ("CHATKIT_LIMITS_REDIS", REDIS),
        ],
    )
}

async fn post(url: &str, user: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/chatkit"))
        .header("x-user-id", user)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn create(text: &str) -> Value {
    json!({"type": "threads.create", "params": {"input": {
        "content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}})
}

async fn all_events(response: reqwest::Response) -> Vec<Value> {
    assert_eq!(response.status(), 200);
    let mut frames = Frames::new(response);
    frames
        .until(|_| false)
        .await
        .into_iter()
        .map(|f| f.event)
        .collect()
}

fn only_error(events: &[Value]) -> &str {
    assert_eq!(
        events.len(),
        1,
        "one error event and nothing else: {events:?}"
    );
    assert_eq!(events[0]["type"], "error");
    events[0]["message"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_two_replicas_sharing_redis() {
    // All of the test's requests in one hour and one day (windows follow the clock).
    for window in [3600, 86_400] {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if window - now % window < 30 {
            tokio::time::sleep(Duration::from_secs(window - now % window + 1)).await;
        }
    }
    let model = SlowModel::start(Duration::from_millis(4)).await;
    let db = PgDatabase::create("limits_replicas").await;
    let (a, b) = (replica(&db.url, &model), replica(&db.url, &model));
    // A user of this run only: the counters in Redis outlive it.
    let user = format!(
        "limits-{}-{}",
        std::process::id(),
        chatkit_agents::types::default_generate_id(chatkit_agents::types::StoreItemType::Message)
    );

    // 1. An answer streams on replica a…
    let mut answer = Frames::new(post(&a.url, &user, create("Tell me a long story.")).await);
    answer.until(|e| e["type"] == "thread.item.updated").await;
    // …so the user's one stream slot is taken on b too.
    let refused = all_events(post(&b.url, &user, create("And another one.")).await).await;
    let message = only_error(&refused);
    assert!(
        message.starts_with("Too many answers at once: the limit is 1 at a time."),
        "{message}"
    );
    // Another user is not held by it.
    let other = format!("{user}-other");
    let list = json!({"type": "threads.list", "params": {"limit": 10}});
    assert_eq!(post(&b.url, &other, list.clone()).await.status(), 200);

    // 2. The answer ends on a: its 425 tokens spend the day's 400 for the next answer
    // on b (the slot is free again, so it is the tokens that refuse it).
    let rest = answer.until(|_| false).await;
    assert!(
        rest.iter().all(|f| f.event["type"] != "error"),
        "the first answer is whole"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spent = all_events(post(&b.url, &user, create("One more?")).await).await;
    let message = only_error(&spent);
    assert!(
        message.starts_with("Token limit reached: the limit is 400 tokens per day. Try again in "),
        "{message}"
    );

    // 3. Requests add up over both: 3 so far, 4 more reads pass, the 8th is refused.
    for url in [&a.url, &b.url, &a.url, &b.url] {
        assert_eq!(post(url, &user, list.clone()).await.status(), 200);
    }
    let over = post(&a.url, &user, list.clone()).await;
    assert_eq!(over.status(), 429);
    assert!(over.headers().contains_key("retry-after"));

    // 4. Only the first answer was stored, and its usage reads the same on either side
    // (the usage route is not a ChatKit request: it is not limited).
    let usage = |url: String| {
        let user = user.clone();
        async move {
            let response = reqwest::Client::new()
                .get(format!("{url}/chatkit/usage"))
                .header("x-user-id", user)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let (from_a, from_b) = (usage(a.url.clone()).await, usage(b.url.clone()).await);
    assert_eq!(from_a, from_b);
    assert_eq!(from_a["total"]["total_tokens"], 425);
    assert_eq!(from_a["total"]["requests"], 1);
    assert_eq!(from_a["data"][0]["model"], "gpt-4.1-2025-04-14");

    drop((a, b));
    db.drop_now().await;
}
