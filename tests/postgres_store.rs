//! `PostgresStore` on the real PostgreSQL server of this project's machines
//! (127.0.0.1:5432, trust authentication, database `test`; `CHATKIT_TEST_POSTGRES`
//! overrides the URL). Each test works in a schema of its own, dropped at the end, so
//! parallel tests and reruns never see each other's rows. An unreachable server fails
//! these tests: they are never skipped.

use std::time::Duration;

use chatkit_agents::store::{PostgresStore, PostgresStoreOptions, Store, StoreError};
use chatkit_agents::testing::{store_conformance, TestUser};
use chatkit_agents::types::{
    AssistantMessageContent, AssistantMessageItem, SortOrder, ThreadItem, ThreadMetadata, Timestamp,
};

fn url() -> String {
    std::env::var("CHATKIT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema name for one test.
fn schema_name() -> String {
    format!("ck_test_{}", uuid_hex())
}

fn uuid_hex() -> String {
    // Time and process id are enough to keep concurrent test binaries apart.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}_{:x}_{:x}", std::process::id(), nanos, rand_bits())
}

fn rand_bits() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish() & 0xffff_ffff
}

/// A store in a new schema of its own, or a panic that says how to get PostgreSQL.
async fn store_in(schema: &str) -> PostgresStore {
    let options = PostgresStoreOptions::default()
        .schema(schema)
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10));
    match PostgresStore::connect_with(&url(), options).await {
        Ok(store) => store,
        Err(error) => panic!(
            "could not open a PostgresStore at {} ({error}); these tests need PostgreSQL: start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set \
             CHATKIT_TEST_POSTGRES to a database URL",
            url()
        ),
    }
}

async fn drop_schema(store: &PostgresStore, schema: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(store.pool())
    .await
    .unwrap();
    store.pool().close().await;
}

fn message(thread: &str, id: &str, created_at: Timestamp) -> ThreadItem {
    ThreadItem::AssistantMessage(AssistantMessageItem {
        id: id.into(),
        thread_id: thread.into(),
        created_at,
        content: vec![AssistantMessageContent::new(id)],
    })
}

#[tokio::test]
async fn postgres_store_conforms() {
    let schema = schema_name();
    let store = store_in(&schema).await;
    store_conformance(&store).await;
    drop_schema(&store, &schema).await;
}

#[tokio::test]
async fn replicas_opening_together_migrate_once_and_share_their_rows() {
    let schema = schema_name();
    let (a, b) = tokio::join!(store_in(&schema), store_in(&schema));
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM chatkit_schema_migrations")
        .fetch_all(a.pool())
        .await
        .unwrap();
    assert_eq!(versions, [1, 2, 3, 4, 5], "each migration, applied once");
    // Opening again is a no-op.
    let c = store_in(&schema).await;

    let ada = TestUser("ada".into());
    let thread = ThreadMetadata::new("thr_shared", Timestamp::now());
    Store::save_thread(&a, &thread, &ada).await.unwrap();
    Store::add_thread_item(
        &b,
        "thr_shared",
        &message("thr_shared", "m1", Timestamp::now()),
        &ada,
    )
    .await
    .unwrap();
    let items = Store::load_thread_items(&c, "thr_shared", None, 10, SortOrder::Asc, &ada)
        .await
        .unwrap();
    assert_eq!(items.data.len(), 1);
    Store::delete_thread(&c, "thr_shared", &ada).await.unwrap();
    assert!(matches!(
        Store::load_thread(&a, "thr_shared", &ada).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        Store::add_thread_item(
            &b,
            "thr_shared",
            &message("thr_shared", "m2", Timestamp::now()),
            &ada
        )
        .await,
        Err(StoreError::NotFound { .. })
    ));
    let orphans: i64 = sqlx::query_scalar("SELECT count(*) FROM chatkit_items")
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert_eq!(orphans, 0, "a deleted thread takes its items with it");
    b.pool().close().await;
    c.pool().close().await;
    drop_schema(&a, &schema).await;
}

#[tokio::test]
async fn items_of_one_microsecond_keep_insertion_order_and_upserts_keep_their_place() {
    let schema = schema_name();
    let store = store_in(&schema).await;
    let now = Timestamp::now();
    Store::<()>::save_thread(&store, &ThreadMetadata::new("thr_1", now), &())
        .await
        .unwrap();
    for id in ["c", "a", "b"] {
        Store::<()>::add_thread_item(&store, "thr_1", &message("thr_1", id, now), &())
            .await
            .unwrap();
    }
    // Saving "c" again (an update) does not move it to the end.
    Store::<()>::save_item(&store, "thr_1", &message("thr_1", "c", now), &())
        .await
        .unwrap();
    let ids = |page: chatkit_agents::types::Page<ThreadItem>| -> Vec<String> {
        page.data.iter().map(|i| i.id().to_owned()).collect()
    };
    let first = Store::<()>::load_thread_items(&store, "thr_1", None, 2, SortOrder::Asc, &())
        .await
        .unwrap();
    assert!(first.has_more);
    assert_eq!(first.after.as_deref(), Some("a"));
    assert_eq!(ids(first), ["c", "a"]);
    let rest = Store::<()>::load_thread_items(&store, "thr_1", Some("a"), 2, SortOrder::Asc, &())
        .await
        .unwrap();
    assert_eq!(ids(rest), ["b"]);
    let desc = Store::<()>::load_thread_items(&store, "thr_1", None, 10, SortOrder::Desc, &())
        .await
        .unwrap();
    assert_eq!(ids(desc), ["b", "a", "c"]);
    drop_schema(&store, &schema).await;
}

#[tokio::test]
async fn the_server_queries_are_served_by_indexes() {
    let schema = schema_name();
    let store = store_in(&schema).await;
    let mut connection = store.pool().acquire().await.unwrap();
    // Tiny tables are cheaper to scan and sort; forbid both to see whether an index
    // can serve each query, order included.
    for setting in ["enable_seqscan", "enable_bitmapscan", "enable_sort"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("SET {setting} = off")))
            .execute(&mut *connection)
            .await
            .unwrap();
    }
    let plans = [
        "EXPLAIN SELECT id, data FROM chatkit_items WHERE user_id = 'u' AND thread_id = 't' ORDER BY created_at DESC, seq DESC LIMIT 21",
        "EXPLAIN SELECT id, data FROM chatkit_items WHERE user_id = 'u' AND thread_id = 't' AND (created_at, seq) > (1, 2) ORDER BY created_at ASC, seq ASC LIMIT 21",
        "EXPLAIN SELECT id, data FROM chatkit_threads WHERE user_id = 'u' ORDER BY created_at DESC, seq DESC LIMIT 21",
        "EXPLAIN SELECT id, data FROM chatkit_items WHERE user_id = 'u' AND thread_id = 't' AND id = 'i'",
    ];
    for sql in plans {
        let lines: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(&mut *connection)
            .await
            .unwrap();
        let plan = lines.join("\n");
        assert!(
            plan.contains("Index") && !plan.contains("Seq Scan") && !plan.contains("Sort"),
            "{sql}\n{plan}"
        );
    }
    drop(connection);
    drop_schema(&store, &schema).await;
}

#[tokio::test]
async fn corrupt_rows_and_unreachable_servers_are_typed_errors() {
    let schema = schema_name();
    let store = store_in(&schema).await;
    sqlx::query("INSERT INTO chatkit_threads (user_id, id, created_at, data) VALUES ('', 'thr_bad', 0, '{not json')")
        .execute(store.pool())
        .await
        .unwrap();
    let err = Store::<()>::load_thread(&store, "thr_bad", &())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("thr_bad"), "{err}");
    drop_schema(&store, &schema).await;

    let nowhere = PostgresStore::connect_with(
        "postgres://postgres@127.0.0.1:1/test",
        PostgresStoreOptions::default().acquire_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap_err();
    assert!(matches!(nowhere, StoreError::Backend(_)), "{nowhere}");

    let hostile = PostgresStore::connect_with(
        &url(),
        PostgresStoreOptions::default().schema("x\"; DROP TABLE y; --"),
    )
    .await
    .unwrap_err();
    assert!(
        hostile.to_string().contains("not a plain identifier"),
        "{hostile}"
    );
}

#[tokio::test]
async fn tls_connections_work_with_sslmode_require() {
    // The machine's PostgreSQL has TLS on (Debian's snakeoil certificate), so `require`
    // (encrypt, do not verify) must connect, and the session must be encrypted.
    let schema = schema_name();
    let url = format!("{}?sslmode=require", url());
    let options = PostgresStoreOptions::default()
        .schema(&schema)
        .max_connections(1);
    let store = PostgresStore::connect_with(&url, options).await.unwrap();
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(encrypted);
    store_conformance(&store).await;
    drop_schema(&store, &schema).await;
}
