-- The transactional outbox: one row per message to one address, written in
-- the same transaction as the event that causes it. `id` is the message id,
-- kept on every retry (webhook-id, CloudEvents id). `address` is the ${VAR}
-- reference or the email address, never a resolved secret. Times are Unix ms.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    event_seq BIGINT NOT NULL,
    event_kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    transport TEXT NOT NULL,
    address TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    delivered_ms BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_at_ms);
