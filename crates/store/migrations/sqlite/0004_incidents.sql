-- Incidents, inbound webhook deliveries, and patches found by their source.
-- One open incident per alert (source, fingerprint): a partial unique index,
-- so a repeated firing alert cannot open a second one even when two
-- deliveries race. Times are Unix ms.
CREATE TABLE incidents (
    id          BIGINT PRIMARY KEY,
    env         TEXT NOT NULL,
    release     TEXT,
    source      TEXT NOT NULL,
    fingerprint TEXT,
    is_open     BIGINT NOT NULL,
    opened_ms   BIGINT NOT NULL,
    rev         BIGINT NOT NULL,
    data        TEXT NOT NULL
);
CREATE UNIQUE INDEX incidents_open_alert ON incidents (source, fingerprint) WHERE is_open = 1;
CREATE INDEX incidents_env ON incidents (is_open, env, id);
CREATE INDEX incidents_release ON incidents (release, id);

-- Every webhook delivery handled, written in the transaction of its first
-- effect: a repeated delivery id is recognised and does nothing.
CREATE TABLE webhook_deliveries (
    source      TEXT NOT NULL,
    delivery    TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (source, delivery)
);

ALTER TABLE patches ADD COLUMN source_ref TEXT;
UPDATE patches SET source_ref = json_extract(data, '$.source.reference');
CREATE INDEX patches_source_ref ON patches (source_ref);
