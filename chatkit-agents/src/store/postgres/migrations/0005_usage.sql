-- chatkit-agents PostgresStore, schema version 5: token usage per thread, UTC day and
-- model. No foreign key to the thread: a user's usage outlives their deleted threads
-- (billing reads it). Days are `YYYY-MM-DD` text, as on SQLite.

CREATE TABLE chatkit_usage (
    user_id             TEXT   NOT NULL,
    thread_id           TEXT   NOT NULL,
    day                 TEXT   NOT NULL,
    model               TEXT   NOT NULL,
    requests            BIGINT NOT NULL,
    input_tokens        BIGINT NOT NULL,
    cached_input_tokens BIGINT NOT NULL,
    output_tokens       BIGINT NOT NULL,
    reasoning_tokens    BIGINT NOT NULL,
    PRIMARY KEY (user_id, thread_id, day, model)
);

CREATE INDEX chatkit_usage_by_day ON chatkit_usage (user_id, day);
