-- Leases, so that work a crashed server left behind is taken over soon, not never.
-- An idempotency claim is renewed while its request runs (`renewed_ms`), and
-- marked by the request's own write transaction when its effect commits
-- (`committed_ms`). A running deployment is renewed by the server whose
-- command runs it (`heartbeat_ms`), named in `runner` (host/pid/start).
ALTER TABLE idempotency ADD COLUMN renewed_ms BIGINT;
ALTER TABLE idempotency ADD COLUMN committed_ms BIGINT;
ALTER TABLE deployments ADD COLUMN heartbeat_ms BIGINT;
ALTER TABLE deployments ADD COLUMN runner TEXT;
CREATE INDEX deployments_outcome ON deployments (outcome, env);
