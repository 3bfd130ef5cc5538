//! The store contract, as one async function that panics with a precise message on the
//! first violation. Run it against a fresh store.

use serde_json::json;

use crate::store::{Store, StoreContext, StoreError};
use crate::types::{
    AssistantMessageContent, AssistantMessageItem, Attachment, FileAttachment, ImageAttachment,
    SortOrder, StoreItemType, ThreadItem, ThreadMetadata, ThreadStatus, Timestamp,
};

/// The request context the conformance suite uses: a user id for scoping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUser(pub String);

impl StoreContext for TestUser {
    fn user_id(&self) -> Option<&str> {
        Some(&self.0)
    }
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_735_689_600.0)
        .map(|t| t.plus_seconds(second))
        .unwrap_or_else(Timestamp::now)
}

fn message(id: &str, thread_id: &str, second: i64) -> ThreadItem {
    AssistantMessageItem {
        id: id.to_owned(),
        thread_id: thread_id.to_owned(),
        created_at: at(second),
        content: vec![AssistantMessageContent::new(id)],
    }
    .into()
}

fn ids<T>(data: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    data.iter().map(|x| id(x).to_owned()).collect()
}

/// Runs the store contract against `store` (which must start empty):
///
/// - threads: save, load, overwrite, a missing title, status and metadata round-trip,
///   listing in both orders with `after`/`has_more`, delete (items go too);
/// - items: ordering by `created_at` in both orders, ties in insertion order, cursors,
///   `has_more` and `after`, upserts (`add_thread_item` twice, `save_item`), load,
///   missing items, deleting unknown ids;
/// - deleted threads stay deleted: adding or saving an item, or updating the thread,
///   after a delete is [`StoreError::NotFound`] and writes nothing; so is writing into
///   another user's thread;
/// - attachments: file and image round-trip with private `metadata` kept, delete;
///   unused ones (no `thread_id`) of every user are taken (deleted and returned) once
///   they were first saved before the cutoff, oldest first, at most the limit, each
///   once; a re-save keeps the first save's time;
/// - isolation: another user sees none of it;
/// - run states: none at first; a compare-and-swap from the right revision writes,
///   replaces and removes, one from a stale revision changes nothing; another user's or a
///   missing thread is [`StoreError::NotFound`]; deleting the thread deletes it;
/// - usage: added per thread, day and model (the same one twice adds up), read per
///   thread or for all of a user's threads between two days, summed per day and model,
///   another user's apart;
/// - ids: default prefixes `thr_`, `msg_`, `tc_`, `tsk_`, `wf_`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// chatkit_agents::testing::store_conformance(&chatkit_agents::store::MemoryStore::new()).await;
/// # });
/// ```
pub async fn store_conformance<S: Store<TestUser>>(store: &S) {
    let ada = TestUser("ada".into());
    let bob = TestUser("bob".into());
    threads(store, &ada).await;
    items(store, &ada).await;
    attachments(store, &ada).await;
    isolation(store, &ada, &bob).await;
    deleted_threads_stay_deleted(store, &ada, &bob).await;
    run_states(store, &ada, &bob).await;
    active_runs(store, &ada, &bob).await;
    unused_attachments(store, &ada, &bob).await;
    usage(store, &ada, &bob).await;
    id_prefixes(store, &ada);
}

async fn usage<S: Store<TestUser>>(store: &S, ada: &TestUser, bob: &TestUser) {
    use crate::store::{TokenUsage, UsageQuery};
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).expect("a date");
    let run = |n: u64| TokenUsage {
        requests: 1,
        input_tokens: 100 * n,
        cached_input_tokens: 10 * n,
        output_tokens: 20 * n,
        reasoning_tokens: n,
    };
    let add = |thread: &'static str, d, model: &'static str, n, user: &TestUser| {
        let user = user.clone();
        async move {
            store
                .add_usage(thread, day(d), model, &run(n), &user)
                .await
                .expect("add_usage")
        }
    };
    add("thr_u1", 5, "gpt-5", 1, ada).await;
    add("thr_u1", 5, "gpt-5", 2, ada).await; // added to the same row
    add("thr_u1", 5, "gpt-5-mini", 1, ada).await;
    add("thr_u2", 6, "gpt-5", 4, ada).await;
    add("thr_u1", 5, "gpt-5", 8, bob).await; // another user's, same thread id

    let rows = store
        .load_usage(&UsageQuery::thread("thr_u1"), ada)
        .await
        .expect("load_usage");
    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.day, r.model.as_str(), r.usage))
        .collect();
    let mut three = run(3);
    three.requests = 2;
    assert_eq!(
        seen,
        [(day(5), "gpt-5", three), (day(5), "gpt-5-mini", run(1))],
        "one thread: summed per day and model, ordered by day then model"
    );
    let all = store
        .load_usage(&UsageQuery::all_threads(), ada)
        .await
        .expect("load_usage");
    assert_eq!(all.len(), 3, "every thread of the user: {all:?}");
    assert_eq!(crate::store::total_usage(&all).input_tokens, 800);
    let sixth = UsageQuery::all_threads().from(day(6)).to(day(6));
    let only = store.load_usage(&sixth, ada).await.expect("load_usage");
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].usage, run(4), "days bound the query, both included");
    let before = UsageQuery::all_threads().to(day(4));
    assert!(store
        .load_usage(&before, ada)
        .await
        .expect("load_usage")
        .is_empty());
    let bobs = store
        .load_usage(&UsageQuery::all_threads(), bob)
        .await
        .expect("load_usage");
    assert_eq!(bobs.len(), 1, "users are apart");
    assert_eq!(bobs[0].usage.input_tokens, 800);
    let unknown = store
        .load_usage(&UsageQuery::thread("thr_nobody"), ada)
        .await
        .expect("load_usage");
    assert!(unknown.is_empty(), "an unknown thread has no usage");
}

fn file(id: &str, thread_id: Option<&str>) -> Attachment {
    Attachment::File(FileAttachment {
        id: id.into(),
        name: format!("{id}.txt"),
        mime_type: "text/plain".into(),
        upload_descriptor: None,
        thread_id: thread_id.map(Into::into),
        metadata: None,
    })
}

async fn unused_attachments<S: Store<TestUser>>(store: &S, ada: &TestUser, bob: &TestUser) {
    let tick = || tokio::time::sleep(std::time::Duration::from_millis(5));
    // What earlier checks left behind.
    let far = Timestamp::now().plus_seconds(3600);
    store
        .take_unused_attachments(far, usize::MAX)
        .await
        .expect("take_unused_attachments");
    store
        .save_attachment(&file("atc_old", None), ada)
        .await
        .expect("save_attachment");
    tick().await;
    store
        .save_attachment(&file("atc_bobs", None), bob)
        .await
        .expect("save_attachment");
    store
        .save_attachment(&file("atc_sent", Some("thr_x")), ada)
        .await
        .expect("save_attachment");
    tick().await;
    let cutoff = Timestamp::now();
    tick().await;
    // Saved again after the cutoff (a thread set and cleared): still first saved before.
    store
        .save_attachment(&file("atc_old", None), ada)
        .await
        .expect("save_attachment");
    store
        .save_attachment(&file("atc_new", None), ada)
        .await
        .expect("save_attachment");

    let first = store
        .take_unused_attachments(cutoff, 1)
        .await
        .expect("take_unused_attachments");
    assert_eq!(
        first,
        [file("atc_old", None)],
        "the oldest first, at most the limit"
    );
    let rest = store
        .take_unused_attachments(cutoff, 10)
        .await
        .expect("save_attachment");
    assert_eq!(rest, [file("atc_bobs", None)], "of every user");
    assert!(store
        .take_unused_attachments(cutoff, 10)
        .await
        .expect("take_unused_attachments")
        .is_empty());
    for (id, user) in [("atc_old", ada), ("atc_bobs", bob)] {
        assert!(matches!(
            store.load_attachment(id, user).await,
            Err(StoreError::NotFound { .. })
        ));
    }
    store
        .load_attachment("atc_sent", ada)
        .await
        .expect("a used one stays");
    store
        .load_attachment("atc_new", ada)
        .await
        .expect("a new one stays");
    let later = store
        .take_unused_attachments(far, 10)
        .await
        .expect("take_unused_attachments");
    assert_eq!(later, [file("atc_new", None)]);
    store
        .delete_attachment("atc_sent", ada)
        .await
        .expect("take_unused_attachments");
}

async fn active_runs<S: Store<TestUser>>(store: &S, ada: &TestUser, bob: &TestUser) {
    use crate::store::ActiveRun;
    use std::time::{Duration, UNIX_EPOCH};
    let lease = |run_id: &str, ms: u64| {
        ActiveRun::new(run_id, "owner-a", UNIX_EPOCH + Duration::from_millis(ms))
    };
    let thread = ThreadMetadata::new("thr_leases", at(0));
    store.save_thread(&thread, ada).await.expect("save_thread");
    let load = |ctx| store.load_active_run("thr_leases", ctx);
    assert_eq!(
        load(ada).await.expect("load_active_run"),
        None,
        "free at first"
    );

    let first = lease("run_1", 1_000);
    assert!(store
        .claim_active_run("thr_leases", &first, None, ada)
        .await
        .expect("claim"));
    assert_eq!(load(ada).await.expect("load"), Some(first.clone()));
    assert!(
        !store
            .claim_active_run("thr_leases", &lease("run_2", 5_000), None, ada)
            .await
            .expect("second claim"),
        "a held thread cannot be claimed as free"
    );
    assert!(
        !store
            .claim_active_run("thr_leases", &lease("run_2", 5_000), Some("run_9"), ada)
            .await
            .expect("stale takeover"),
        "a takeover names the run it replaces"
    );

    // Renewals move the lease and record the pending items; a cancel request sticks.
    let mut renewed = first
        .clone()
        .until(UNIX_EPOCH + Duration::from_millis(2_000));
    renewed.pending = vec!["msg_1".into()];
    assert!(store
        .renew_active_run("thr_leases", &renewed, ada)
        .await
        .expect("renew"));
    assert_eq!(load(ada).await.expect("load"), Some(renewed.clone()));
    assert!(!store
        .renew_active_run("thr_leases", &lease("run_2", 9_000), ada)
        .await
        .expect("renew of another run"));
    assert!(store
        .cancel_active_run("thr_leases", "run_1", ada)
        .await
        .expect("cancel"));
    assert!(!store
        .cancel_active_run("thr_leases", "run_2", ada)
        .await
        .expect("cancel another run"));
    assert!(
        !store
            .renew_active_run("thr_leases", &renewed, ada)
            .await
            .expect("renew after cancel"),
        "a run asked to stop is not renewed"
    );
    let held = load(ada).await.expect("load").expect("still held");
    assert!(held.cancel_requested && held.pending == ["msg_1"]);

    // Taking over an expired lease replaces it and clears the cancel request.
    let second = lease("run_2", 9_000);
    assert!(store
        .claim_active_run("thr_leases", &second, Some("run_1"), ada)
        .await
        .expect("takeover"));
    assert_eq!(load(ada).await.expect("load"), Some(second.clone()));
    store
        .release_active_run("thr_leases", "run_1", ada)
        .await
        .expect("release of a replaced run");
    assert_eq!(
        load(ada).await.expect("load"),
        Some(second),
        "releasing a replaced run leaves the new one"
    );

    // Another user's thread, and a missing one.
    assert!(
        is_thread_not_found(load(bob).await),
        "bob cannot see ada's lease"
    );
    assert!(
        is_thread_not_found(
            store
                .claim_active_run("thr_leases", &lease("run_3", 1), Some("run_2"), bob)
                .await
        ),
        "bob cannot take ada's thread"
    );
    assert!(is_thread_not_found(
        store
            .claim_active_run("thr_nowhere", &lease("run_3", 1), None, ada)
            .await
    ));

    store
        .release_active_run("thr_leases", "run_2", ada)
        .await
        .expect("release");
    assert_eq!(load(ada).await.expect("load"), None, "released");

    // Deleting the thread deletes its lease.
    assert!(store
        .claim_active_run("thr_leases", &lease("run_4", 1), None, ada)
        .await
        .expect("claim"));
    store
        .delete_thread("thr_leases", ada)
        .await
        .expect("delete_thread");
    store
        .release_active_run("thr_leases", "run_4", ada)
        .await
        .expect("releasing on a deleted thread is not an error");
    store
        .save_thread(&thread, ada)
        .await
        .expect("save_thread again");
    assert_eq!(
        load(ada).await.expect("load"),
        None,
        "the lease went with its thread"
    );
    store
        .delete_thread("thr_leases", ada)
        .await
        .expect("delete_thread");
}

async fn run_states<S: Store<TestUser>>(store: &S, ada: &TestUser, bob: &TestUser) {
    use crate::store::SavedRunState;
    let thread = ThreadMetadata::new("thr_runs", at(0));
    store.save_thread(&thread, ada).await.expect("save_thread");
    let load = |ctx| store.load_run_state("thr_runs", ctx);
    assert_eq!(
        load(ada).await.expect("load_run_state"),
        None,
        "none at first"
    );

    assert!(store
        .swap_run_state("thr_runs", None, Some("{\"a\":1}"), ada)
        .await
        .expect("insert"));
    let saved = |revision, data: &str| {
        Some(SavedRunState {
            revision,
            data: data.to_owned(),
        })
    };
    assert_eq!(load(ada).await.expect("load"), saved(1, "{\"a\":1}"));
    assert!(
        !store
            .swap_run_state("thr_runs", None, Some("{}"), ada)
            .await
            .expect("second insert"),
        "inserting over an existing run state changes nothing"
    );
    assert!(
        !store
            .swap_run_state("thr_runs", Some(7), Some("{}"), ada)
            .await
            .expect("stale"),
        "a stale revision changes nothing"
    );
    assert!(store
        .swap_run_state("thr_runs", Some(1), Some("{\"a\":2}"), ada)
        .await
        .expect("replace"));
    assert_eq!(load(ada).await.expect("load"), saved(2, "{\"a\":2}"));
    assert!(
        !store
            .swap_run_state("thr_runs", Some(1), None, ada)
            .await
            .expect("stale delete"),
        "a stale delete changes nothing"
    );
    assert_eq!(load(ada).await.expect("load").map(|s| s.revision), Some(2));

    // Another user's thread, and a missing one.
    assert!(
        is_thread_not_found(load(bob).await),
        "bob cannot read ada's run state"
    );
    assert!(
        is_thread_not_found(store.swap_run_state("thr_runs", Some(2), None, bob).await),
        "bob cannot remove ada's run state"
    );
    assert!(
        is_thread_not_found(
            store
                .swap_run_state("thr_nowhere", None, Some("{}"), ada)
                .await
        ),
        "no run state for a missing thread"
    );
    assert_eq!(load(ada).await.expect("load").map(|s| s.revision), Some(2));

    assert!(store
        .swap_run_state("thr_runs", Some(2), None, ada)
        .await
        .expect("remove"));
    assert_eq!(load(ada).await.expect("load"), None);
    assert!(store
        .swap_run_state("thr_runs", None, None, ada)
        .await
        .expect("none to none"));

    // Deleting the thread deletes its run state; a new thread of that id starts clean.
    assert!(store
        .swap_run_state("thr_runs", None, Some("{}"), ada)
        .await
        .expect("insert"));
    store
        .delete_thread("thr_runs", ada)
        .await
        .expect("delete_thread");
    assert!(is_thread_not_found(load(ada).await), "the thread is gone");
    store
        .save_thread(&thread, ada)
        .await
        .expect("save_thread again");
    assert_eq!(
        load(ada).await.expect("load"),
        None,
        "the run state went with its thread"
    );
    store
        .delete_thread("thr_runs", ada)
        .await
        .expect("delete_thread");
}

async fn threads<S: Store<TestUser>>(store: &S, ctx: &TestUser) {
    let mut thread = ThreadMetadata::new("thr_a", at(1));
    store.save_thread(&thread, ctx).await.expect("save_thread");
    let loaded = store.load_thread("thr_a", ctx).await.expect("load_thread");
    assert_eq!(
        loaded, thread,
        "a saved thread loads back unchanged (no title)"
    );
    assert!(loaded.title.is_none(), "a missing title stays missing");

    thread.title = Some("Renamed".into());
    thread.status = ThreadStatus::Locked {
        reason: Some("quota".into()),
    };
    thread.allowed_image_domains = Some(vec!["img.example.com".into()]);
    thread
        .metadata
        .insert("plan".into(), json!({"tier": "free", "n": null}));
    store
        .save_thread(&thread, ctx)
        .await
        .expect("save_thread overwrite");
    assert_eq!(
        store.load_thread("thr_a", ctx).await.expect("load_thread"),
        thread,
        "save_thread overwrites every field"
    );

    for (id, second) in [("thr_b", 2), ("thr_c", 3)] {
        store
            .save_thread(&ThreadMetadata::new(id, at(second)), ctx)
            .await
            .expect("save_thread");
    }
    let page = store
        .load_threads(2, None, SortOrder::Desc, ctx)
        .await
        .expect("load_threads");
    assert_eq!(
        ids(&page.data, |t| &t.id),
        ["thr_c", "thr_b"],
        "threads newest first"
    );
    assert!(page.has_more, "a third thread follows");
    assert_eq!(
        page.after.as_deref(),
        Some("thr_b"),
        "after is the last returned id"
    );
    let page = store
        .load_threads(2, Some("thr_b"), SortOrder::Desc, ctx)
        .await
        .expect("load_threads after");
    assert_eq!(
        ids(&page.data, |t| &t.id),
        ["thr_a"],
        "the page after the cursor"
    );
    assert!(
        !page.has_more && page.after.is_none(),
        "the last page has no more and no cursor"
    );
    let page = store
        .load_threads(10, None, SortOrder::Asc, ctx)
        .await
        .expect("load_threads asc");
    assert_eq!(
        ids(&page.data, |t| &t.id),
        ["thr_a", "thr_b", "thr_c"],
        "threads oldest first"
    );
    assert!(
        matches!(
            store
                .load_threads(10, Some("thr_nope"), SortOrder::Asc, ctx)
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "an unknown thread cursor is NotFound"
    );

    store
        .add_thread_item("thr_c", &message("msg_c1", "thr_c", 10), ctx)
        .await
        .expect("add_thread_item");
    store
        .delete_thread("thr_c", ctx)
        .await
        .expect("delete_thread");
    let err = store
        .load_thread("thr_c", ctx)
        .await
        .expect_err("a deleted thread is gone");
    assert_eq!(err.to_string(), "Thread thr_c not found");
    let items = store
        .load_thread_items("thr_c", None, 10, SortOrder::Asc, ctx)
        .await
        .expect("items of a deleted thread");
    assert!(items.data.is_empty(), "deleting a thread deletes its items");
}

async fn items<S: Store<TestUser>>(store: &S, ctx: &TestUser) {
    let thread = "thr_items";
    store
        .save_thread(&ThreadMetadata::new(thread, at(0)), ctx)
        .await
        .expect("save_thread");
    // Inserted out of time order; m3 and m4 share a timestamp (insertion order breaks the tie).
    for (id, second) in [("m2", 2), ("m1", 1), ("m3", 3), ("m4", 3), ("m5", 5)] {
        store
            .add_thread_item(thread, &message(id, thread, second), ctx)
            .await
            .expect("add_thread_item");
    }
    let page = store
        .load_thread_items(thread, None, 10, SortOrder::Asc, ctx)
        .await
        .expect("load_thread_items");
    assert_eq!(
        ids(&page.data, ThreadItem::id),
        ["m1", "m2", "m3", "m4", "m5"],
        "items by created_at, ties in insertion order"
    );
    assert!(!page.has_more && page.after.is_none());
    let page = store
        .load_thread_items(thread, None, 2, SortOrder::Desc, ctx)
        .await
        .expect("desc page");
    assert_eq!(
        ids(&page.data, ThreadItem::id),
        ["m5", "m4"],
        "newest first"
    );
    assert!(page.has_more);
    assert_eq!(page.after.as_deref(), Some("m4"));
    let page = store
        .load_thread_items(thread, Some("m4"), 2, SortOrder::Desc, ctx)
        .await
        .expect("desc after");
    assert_eq!(
        ids(&page.data, ThreadItem::id),
        ["m3", "m2"],
        "the cursor is exclusive"
    );
    let page = store
        .load_thread_items(thread, Some("m2"), 2, SortOrder::Asc, ctx)
        .await
        .expect("asc after");
    assert_eq!(ids(&page.data, ThreadItem::id), ["m3", "m4"]);
    assert!(page.has_more);
    assert!(
        matches!(
            store
                .load_thread_items(thread, Some("nope"), 2, SortOrder::Asc, ctx)
                .await,
            Err(StoreError::NotFound { .. })
        ),
        "an unknown item cursor is NotFound"
    );

    // Upserts: adding an existing id again, and save_item, replace in place.
    let mut replaced = message("m2", thread, 2);
    if let ThreadItem::AssistantMessage(m) = &mut replaced {
        m.content = vec![AssistantMessageContent::new("edited")];
    }
    store
        .add_thread_item(thread, &replaced, ctx)
        .await
        .expect("add_thread_item twice is an upsert");
    store
        .save_item(thread, &replaced, ctx)
        .await
        .expect("save_item");
    assert_eq!(
        store.load_item(thread, "m2", ctx).await.expect("load_item"),
        replaced
    );
    let page = store
        .load_thread_items(thread, None, 10, SortOrder::Asc, ctx)
        .await
        .expect("after upsert");
    assert_eq!(
        ids(&page.data, ThreadItem::id),
        ["m1", "m2", "m3", "m4", "m5"],
        "an upsert neither duplicates nor moves"
    );

    let err = store
        .load_item(thread, "missing", ctx)
        .await
        .expect_err("missing item");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    store
        .delete_thread_item(thread, "m3", ctx)
        .await
        .expect("delete_thread_item");
    store
        .delete_thread_item(thread, "never-stored", ctx)
        .await
        .expect("deleting an unknown item is fine");
    let page = store
        .load_thread_items(thread, None, 10, SortOrder::Asc, ctx)
        .await
        .expect("after delete");
    assert_eq!(ids(&page.data, ThreadItem::id), ["m1", "m2", "m4", "m5"]);
}

async fn attachments<S: Store<TestUser>>(store: &S, ctx: &TestUser) {
    let metadata = json!({"bucket": "b1"}).as_object().cloned();
    let file = Attachment::File(FileAttachment {
        id: "atc_file".into(),
        name: "notes.txt".into(),
        mime_type: "text/plain".into(),
        upload_descriptor: None,
        thread_id: Some("thr_a".into()),
        metadata: metadata.clone(),
    });
    let image = Attachment::Image(ImageAttachment {
        id: "atc_img".into(),
        name: "cat.png".into(),
        mime_type: "image/png".into(),
        upload_descriptor: None,
        thread_id: None,
        metadata,
        preview_url: "https://img.example.com/cat.png".into(),
    });
    for attachment in [&file, &image] {
        store
            .save_attachment(attachment, ctx)
            .await
            .expect("save_attachment");
        let loaded = store
            .load_attachment(attachment.id(), ctx)
            .await
            .expect("load_attachment");
        assert_eq!(
            &loaded, attachment,
            "attachments round-trip, private metadata included"
        );
    }
    store
        .delete_attachment("atc_file", ctx)
        .await
        .expect("delete_attachment");
    assert!(matches!(
        store.load_attachment("atc_file", ctx).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn isolation<S: Store<TestUser>>(store: &S, ada: &TestUser, bob: &TestUser) {
    assert!(
        matches!(
            store.load_thread("thr_a", bob).await,
            Err(StoreError::NotFound { .. })
        ),
        "threads are per user"
    );
    let page = store
        .load_threads(10, None, SortOrder::Asc, bob)
        .await
        .expect("load_threads for another user");
    assert!(page.data.is_empty(), "another user lists no threads");
    assert!(
        matches!(
            store.load_item("thr_items", "m1", bob).await,
            Err(StoreError::NotFound { .. })
        ),
        "items are per user"
    );
    assert!(
        matches!(
            store.load_attachment("atc_img", bob).await,
            Err(StoreError::NotFound { .. })
        ),
        "attachments are per user"
    );
    store
        .delete_thread("thr_a", bob)
        .await
        .expect("deleting as another user is a no-op");
    assert!(
        store.load_thread("thr_a", ada).await.is_ok(),
        "another user cannot delete ada's thread"
    );
}

fn is_thread_not_found<T>(result: Result<T, StoreError>) -> bool {
    matches!(
        result,
        Err(StoreError::NotFound {
            kind: crate::store::RecordKind::Thread,
            ..
        })
    )
}

async fn deleted_threads_stay_deleted<S: Store<TestUser>>(
    store: &S,
    ada: &TestUser,
    bob: &TestUser,
) {
    let thread = ThreadMetadata::new("thr_gone", at(0));
    store.save_thread(&thread, ada).await.expect("save_thread");
    store
        .add_thread_item("thr_gone", &message("g1", "thr_gone", 1), ada)
        .await
        .expect("add_thread_item");
    assert!(
        is_thread_not_found(
            store
                .add_thread_item("thr_gone", &message("b1", "thr_gone", 1), bob)
                .await
        ),
        "another user cannot add items to ada's thread"
    );
    let mut renamed = thread.clone();
    renamed.title = Some("Renamed by bob".into());
    assert!(
        is_thread_not_found(store.update_thread(&renamed, bob).await),
        "another user cannot update ada's thread"
    );
    renamed.title = Some("Renamed".into());
    store
        .update_thread(&renamed, ada)
        .await
        .expect("update_thread of an existing thread");
    assert_eq!(
        store
            .load_thread("thr_gone", ada)
            .await
            .expect("load_thread")
            .title
            .as_deref(),
        Some("Renamed")
    );

    store
        .delete_thread("thr_gone", ada)
        .await
        .expect("delete_thread");
    assert!(
        is_thread_not_found(
            store
                .add_thread_item("thr_gone", &message("g2", "thr_gone", 2), ada)
                .await
        ),
        "adding an item to a deleted thread is NotFound(thread)"
    );
    assert!(
        is_thread_not_found(
            store
                .save_item("thr_gone", &message("g1", "thr_gone", 3), ada)
                .await
        ),
        "saving an item of a deleted thread is NotFound(thread)"
    );
    assert!(
        is_thread_not_found(store.update_thread(&renamed, ada).await),
        "updating a deleted thread is NotFound(thread)"
    );
    assert!(
        matches!(
            store.load_thread("thr_gone", ada).await,
            Err(StoreError::NotFound { .. })
        ),
        "a deleted thread does not come back"
    );
    let items = store
        .load_thread_items("thr_gone", None, 10, SortOrder::Asc, ada)
        .await
        .expect("load_thread_items of a deleted thread");
    assert!(
        items.data.is_empty(),
        "no item of a deleted thread comes back"
    );
    let threads = store
        .load_threads(100, None, SortOrder::Asc, ada)
        .await
        .expect("load_threads");
    assert!(
        threads.data.iter().all(|t| t.id != "thr_gone"),
        "a deleted thread is not listed"
    );
}

fn id_prefixes<S: Store<TestUser>>(store: &S, ctx: &TestUser) {
    let thread = ThreadMetadata::new("thr_x", at(0));
    assert!(store.generate_thread_id(ctx).starts_with("thr_"));
    for (kind, prefix) in [
        (StoreItemType::Message, "msg_"),
        (StoreItemType::ToolCall, "tc_"),
        (StoreItemType::Task, "tsk_"),
        (StoreItemType::Workflow, "wf_"),
    ] {
        let id = store.generate_item_id(kind, &thread, ctx);
        assert!(id.starts_with(prefix), "{id} should start with {prefix}");
    }
}
