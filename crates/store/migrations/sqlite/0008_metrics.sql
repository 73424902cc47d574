-- Metrics read a period's deployments by when they finished, incidents by
-- when they opened, and count what the Prometheus endpoint reports from
-- covering indexes (no scan of the log, no decoding of rows).
CREATE INDEX deployments_finished ON deployments (finished_ms, release);
CREATE INDEX deployments_counts ON deployments (env, action, outcome);
ALTER TABLE incidents ADD COLUMN severity TEXT;
UPDATE incidents SET severity = json_extract(data, '$.severity');
CREATE INDEX incidents_opened ON incidents (opened_ms);
CREATE INDEX incidents_counts ON incidents (env, severity, is_open);
CREATE INDEX patches_counts ON patches (severity, is_open, deadline_ms);
-- The patch.reopened events of given patches: one index search per key.
CREATE INDEX events_kind_subject ON events (kind, subject, at_ms);
