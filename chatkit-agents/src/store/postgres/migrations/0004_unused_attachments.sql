-- chatkit-agents PostgresStore, schema version 4: sweeping attachments never sent.
--
-- `saved_at` (unix µs) is when an attachment's metadata was first saved (an upsert
-- keeps it); `used` is 1 once a message uses it (its `thread_id` is set). Rows from
-- before this version count as saved now, so none is swept before its time.

ALTER TABLE chatkit_attachments
    ADD COLUMN saved_at BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN used     BIGINT NOT NULL DEFAULT 0;

UPDATE chatkit_attachments
SET used = CASE WHEN (data::jsonb ->> 'thread_id') IS NULL THEN 0 ELSE 1 END,
    saved_at = (extract(epoch FROM now()) * 1000000)::bigint;

CREATE INDEX chatkit_attachments_unused ON chatkit_attachments (used, saved_at);
