-- chatkit-agents PostgresStore, schema version 2: runs waiting for approvals.
--
-- At most one per thread, replaced only by a compare-and-swap on `revision` (so that
-- a decision taken on two replicas at once counts once), and deleted with its thread.

CREATE TABLE chatkit_run_states (
    user_id   TEXT   NOT NULL,
    thread_id TEXT   NOT NULL,
    revision  BIGINT NOT NULL,
    data      TEXT   NOT NULL,
    PRIMARY KEY (user_id, thread_id),
    FOREIGN KEY (user_id, thread_id) REFERENCES chatkit_threads (user_id, id) ON DELETE CASCADE
);
