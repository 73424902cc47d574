-- What every server on the database shares: web sessions and rate limits.
-- Web sessions: only the SHA-256 of a
-- session id is stored; a session lasts until `expires_ms` and ends with the
-- token it was made from (`token_hash`).
CREATE TABLE ui_sessions (
    id_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_ms);
-- Notification rate limits, shared by every server's dispatcher: the
-- theoretical arrival time of the next message per channel and transport
-- (a generic cell rate algorithm), and the slot a deferred message was given.
CREATE TABLE rate_limits (
    channel TEXT NOT NULL,
    transport TEXT NOT NULL,
    tat_ms BIGINT NOT NULL,
    PRIMARY KEY (channel, transport)
);
ALTER TABLE outbox ADD COLUMN slot_ms BIGINT;
