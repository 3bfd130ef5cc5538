-- chatkit-agents PostgresStore, schema version 3: the lease of the run answering in a
-- thread.
--
-- At most one per thread: claimed by inserting (or by replacing an expired one by its
-- `run_id`), renewed while the run goes on, deleted when it ends and with its thread.
-- `cancel_requested` is its own column so that a renewal never clears it.

CREATE TABLE chatkit_active_runs (
    user_id          TEXT   NOT NULL,
    thread_id        TEXT   NOT NULL,
    run_id           TEXT   NOT NULL,
    cancel_requested BIGINT NOT NULL,
    data             TEXT   NOT NULL,
    PRIMARY KEY (user_id, thread_id),
    FOREIGN KEY (user_id, thread_id) REFERENCES chatkit_threads (user_id, id) ON DELETE CASCADE
);
