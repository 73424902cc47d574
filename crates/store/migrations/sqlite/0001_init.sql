-- Sluice schema, SQLite. Times are Unix milliseconds (UTC); booleans are 0/1;
-- `data` holds the full JSON of the row's value, the other columns are for queries.
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE events (
    seq       BIGINT PRIMARY KEY,
    at_ms     BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject, seq);

CREATE TABLE patches (
    key         TEXT PRIMARY KEY,
    number      BIGINT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    is_open     BIGINT NOT NULL,
    severity    TEXT,
    kind        TEXT,
    owner       TEXT,
    targets     TEXT NOT NULL,
    release     TEXT,
    deadline_ms BIGINT,
    reported_ms BIGINT NOT NULL,
    rev         BIGINT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX patches_queue ON patches (is_open, deadline_ms, number);
CREATE INDEX patches_status ON patches (status);

CREATE TABLE releases (
    version    TEXT PRIMARY KEY,
    major      BIGINT NOT NULL,
    minor      BIGINT NOT NULL,
    patch      BIGINT NOT NULL,
    status     TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    rev        BIGINT NOT NULL,
    data       TEXT NOT NULL
);
CREATE INDEX releases_line ON releases (major, minor, patch);

CREATE TABLE deployments (
    id          TEXT PRIMARY KEY,
    release     TEXT NOT NULL,
    env         TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    started_ms  BIGINT NOT NULL,
    finished_ms BIGINT,
    data        TEXT NOT NULL
);
CREATE INDEX deployments_env ON deployments (env, started_ms);
CREATE INDEX deployments_release ON deployments (release, started_ms);

CREATE TABLE environments (
    name     TEXT PRIMARY KEY,
    release  TEXT,
    since_ms BIGINT,
    rev      BIGINT NOT NULL
);
