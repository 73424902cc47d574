-- Web sessions, shared by every server on the database. Only the SHA-256 of a
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
