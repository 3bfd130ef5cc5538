-- chatkit-agents PostgresStore, schema version 1.
--
-- Records are kept as the JSON the store wrote (TEXT, not JSONB: JSONB reorders keys,
-- and widget trees keep their key order). `created_at` is unix microseconds; `seq`
-- orders rows created in the same microsecond by insertion and survives upserts.
-- Every row carries the owner (`user_id`, '' when unscoped) and every query filters
-- by it.

CREATE TABLE chatkit_threads (
    user_id    TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    data       TEXT   NOT NULL,
    PRIMARY KEY (user_id, id)
);
-- threads.list: a user's threads by time.
CREATE INDEX chatkit_threads_by_time ON chatkit_threads (user_id, created_at, seq);

CREATE TABLE chatkit_items (
    user_id    TEXT   NOT NULL,
    thread_id  TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    data       TEXT   NOT NULL,
    PRIMARY KEY (user_id, thread_id, id),
    -- An item never outlives its thread, whichever replica deletes it.
    FOREIGN KEY (user_id, thread_id) REFERENCES chatkit_threads (user_id, id) ON DELETE CASCADE
);
-- items.list and the agent's history window: a thread's items by time.
CREATE INDEX chatkit_items_by_time ON chatkit_items (user_id, thread_id, created_at, seq);

CREATE TABLE chatkit_attachments (
    user_id TEXT NOT NULL,
    id      TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (user_id, id)
);
