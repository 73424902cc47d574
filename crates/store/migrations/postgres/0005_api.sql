-- The server's API: bearer tokens and idempotency keys. Times are Unix ms.
-- A token is stored only as the SHA-256 of its secret; `id` names it in
-- listings, the audit log and `token revoke`.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    expires_ms BIGINT,
    revoked_ms BIGINT
);
-- One row per (actor, Idempotency-Key): the first answer to a write, replayed
-- for a repeated key. `status` 0 means the first request is still running.
CREATE TABLE idempotency (
    actor TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (actor, idem_key)
);
-- The board reads candidates and the newest releases without a scan.
CREATE INDEX releases_status ON releases (status, major, minor, patch);
CREATE INDEX releases_created ON releases (created_ms);
-- The audit page filters by event kind; closed patch lists read newest first.
CREATE INDEX events_kind ON events (kind, seq);
CREATE INDEX patches_status_number ON patches (status, number);
