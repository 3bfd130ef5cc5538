//! The shared store contract passes on every store this crate ships.

use chatkit_agents::store::{MemoryStore, SqliteStore};
use chatkit_agents::testing::store_conformance;

#[tokio::test]
async fn memory_store_conforms() {
    store_conformance(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_in_memory_store_conforms() {
    store_conformance(&SqliteStore::open_in_memory().await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_file_store_conforms_and_persists_across_opens() {
    let dir = std::env::temp_dir().join(format!("chatkit-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.sqlite");
    let _ = std::fs::remove_file(&path);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store_conformance(&store).await;
        store.pool().close().await;
    }
    use chatkit_agents::store::Store;
    use chatkit_agents::testing::TestUser;
    let reopened = SqliteStore::open(&path).await.unwrap();
    let thread = Store::<TestUser>::load_thread(&reopened, "thr_a", &TestUser("ada".into()))
        .await
        .unwrap();
    assert_eq!(thread.title.as_deref(), Some("Renamed"));
    reopened.pool().close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sqlite_reports_corrupt_rows_instead_of_panicking() {
    use chatkit_agents::store::{Store, StoreError};
    let store = SqliteStore::open_in_memory().await.unwrap();
    sqlx::query("INSERT INTO chatkit_threads (user_id, id, created_at, data) VALUES ('', 'thr_bad', 0, '{not json')")
        .execute(store.pool())
        .await
        .unwrap();
    let err = Store::<()>::load_thread(&store, "thr_bad", &())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("thr_bad"), "{err}");
}

#[tokio::test]
async fn sqlite_listings_are_served_by_indexes() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let plans = [
        "EXPLAIN QUERY PLAN SELECT id, data FROM chatkit_items WHERE user_id = 'u' AND thread_id = 't' ORDER BY created_at DESC, rowid DESC LIMIT 21",
        "EXPLAIN QUERY PLAN SELECT id, data FROM chatkit_items WHERE user_id = 'u' AND thread_id = 't' AND (created_at, rowid) > (1, 2) ORDER BY created_at ASC, rowid ASC LIMIT 21",
        "EXPLAIN QUERY PLAN SELECT id, data FROM chatkit_threads WHERE user_id = 'u' ORDER BY created_at DESC, rowid DESC LIMIT 21",
    ];
    for sql in plans {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sql).fetch_all(store.pool()).await.unwrap();
        let plan: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains("USING INDEX") && !plan.contains("TEMP B-TREE"),
            "{sql}\n{plan}"
        );
    }
}
