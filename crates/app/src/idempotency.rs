//! Idempotency keys of API writes: a repeated key replays the first answer.
//! The server's layer asks here; the rule of what an answer settles is
//! decided once, in [`App::idempotency_settle`].

use sluice_store::Claim;

use crate::{App, Result};

impl App {
    /// Claims `key` for this request (`hash` names its method, path and body).
    pub async fn idempotency_claim(
        &self,
        actor: &str,
        key: &str,
        hash: &str,
        now_ms: i64,
    ) -> Result<Claim> {
        Ok(self
            .store
            .idempotency_claim(actor, key, hash, now_ms)
            .await?)
    }

    /// Keeps a running request's claim alive (its lease is
    /// [`crate::IDEMPOTENCY_LEASE_MS`]; renew at a third of it).
    pub async fn idempotency_renew(&self, actor: &str, key: &str, now_ms: i64) -> Result<()> {
        Ok(self.store.idempotency_renew(actor, key, now_ms).await?)
    }

    /// Records the answer a claimed request gave. A server error decided
    /// nothing: the claim is released so the same key may be tried again,
    /// unless the request's write committed; then, and for every other
    /// answer, the answer is stored and replayed to a repeat.
    pub async fn idempotency_settle(
        &self,
        actor: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<()> {
        if (500..600).contains(&status) {
            self.store.idempotency_release(actor, key).await?;
        }
        Ok(self
            .store
            .idempotency_finish(actor, key, status, body)
            .await?)
    }
}
