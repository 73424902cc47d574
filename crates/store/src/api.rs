//! The server's own tables: API tokens (stored as hashes) and idempotency keys.
//! Tokens are written through [`crate::Change`] so that creating and revoking
//! one is an audited event in the same transaction.

use sqlx::Row;

use crate::{Result, Store};

/// An API token as stored: never the secret, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiToken {
    pub id: String,
    pub user: String,
    /// Hex SHA-256 of the secret.
    #[serde(skip_serializing)]
    pub hash: String,
    pub created_ms: i64,
    pub created_by: String,
    pub expires_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

/// A web session as stored: the hash of its id, never the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub user: String,
    /// The hash of the token it was made from: revoking the token ends it.
    pub token_hash: String,
    pub csrf: String,
    pub expires_ms: i64,
}

/// How long a claim stays held without renewal. The server renews the claims
/// of the requests it runs every third of this.
pub const IDEMPOTENCY_LEASE_MS: i64 = 15_000;

/// The outcome of claiming an idempotency key before running a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: run the write, then [`Store::idempotency_finish`].
    Fresh,
    /// The key answered before: replay this.
    Replay(Replay),
    /// The first request with this key is still running (its lease is renewed).
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pub status: u16,
    pub body: String,
}

pub(crate) async fn upsert_token(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    t: &ApiToken,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (id, user_name, hash, created_ms, created_by, expires_ms, revoked_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET revoked_ms = excluded.revoked_ms",
    )
    .bind(t.id.clone())
    .bind(t.user.clone())
    .bind(t.hash.clone())
    .bind(t.created_ms)
    .bind(t.created_by.clone())
    .bind(t.expires_ms)
    .bind(t.revoked_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn token_of(r: &sqlx::any::AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.try_get(0)?,
        user: r.try_get(1)?,
        hash: r.try_get(2)?,
        created_ms: r.try_get(3)?,
        created_by: r.try_get(4)?,
        expires_ms: r.try_get(5)?,
        revoked_ms: r.try_get(6)?,
    })
}

macro_rules! token_cols {
    () => {
        "SELECT id, user_name, hash, created_ms, created_by, expires_ms, revoked_ms FROM api_tokens "
    };
}

impl Store {
    /// The token whose secret hashes to `hash`, revoked or not.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query(concat!(token_cols!(), "WHERE hash = $1"))
            .bind(hash.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_of).transpose()
    }

    pub async fn token(&self, id: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query(concat!(token_cols!(), "WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_of).transpose()
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(concat!(token_cols!(), "ORDER BY created_ms DESC, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_of).collect()
    }

    /// Claims `key` for `actor` before a write runs. A second claim of the same
    /// key returns the first answer, or says it is still running. A claim
    /// whose lease ran out (not renewed for [`IDEMPOTENCY_LEASE_MS`]: its server
    /// died) is taken over when its write never committed, and answered with
    /// what is known when it did.
    pub async fn idempotency_claim(
        &self,
        actor: &str,
        key: &str,
        request_hash: &str,
        now_ms: i64,
    ) -> Result<Claim> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency (actor, idem_key, request_hash, status, body, created_ms)
             VALUES ($1, $2, $3, 0, NULL, $4) ON CONFLICT DO NOTHING",
        )
        .bind(actor.to_string())
        .bind(key.to_string())
        .bind(request_hash.to_string())
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::Fresh);
        }
        let row = sqlx::query(
            "SELECT request_hash, status, body, COALESCE(renewed_ms, created_ms), committed_ms
             FROM idempotency WHERE actor = $1 AND idem_key = $2",
        )
        .bind(actor.to_string())
        .bind(key.to_string())
        .fetch_one(&self.pool)
        .await?;
        let hash: String = row.try_get(0)?;
        let status: i64 = row.try_get(1)?;
        let body: Option<String> = row.try_get(2)?;
        let heard_ms: i64 = row.try_get(3)?;
        let committed_ms: Option<i64> = row.try_get(4)?;
        let lapsed = now_ms - heard_ms > IDEMPOTENCY_LEASE_MS;
        Ok(if hash != request_hash {
            Claim::Mismatch
        } else if status == 0 && !lapsed {
            Claim::InProgress
        } else if status == 0 && committed_ms.is_none() {
            // Its server died before the write committed: nothing happened, so
            // this request takes the key over (one taker: the update is conditional).
            let taken = sqlx::query(
                "UPDATE idempotency SET renewed_ms = $1
                 WHERE actor = $2 AND idem_key = $3 AND status = 0 AND committed_ms IS NULL
                   AND COALESCE(renewed_ms, created_ms) = $4",
            )
            .bind(now_ms)
            .bind(actor.to_string())
            .bind(key.to_string())
            .bind(heard_ms)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if taken == 1 {
                Claim::Fresh
            } else {
                Claim::InProgress
            }
        } else if status == 0 {
            // Its write committed but the answer was lost with its server: the
            // effect stands and is not repeated; the answer says so.
            let answer = Replay {
                status: 200,
                body: serde_json::json!({
                    "committed": true,
                    "committed_ms": committed_ms,
                    "message": format!(
                        "the first request with Idempotency-Key `{key}` was carried out (its change is recorded) but its server stopped before answering; read the result instead of sending it again"
                    ),
                })
                .to_string(),
            };
            sqlx::query(
                "UPDATE idempotency SET status = $1, body = $2 WHERE actor = $3 AND idem_key = $4 AND status = 0",
            )
            .bind(i64::from(answer.status))
            .bind(answer.body.clone())
            .bind(actor.to_string())
            .bind(key.to_string())
            .execute(&self.pool)
            .await?;
            Claim::Replay(answer)
        } else {
            Claim::Replay(Replay {
                status: status as u16,
                body: body.unwrap_or_default(),
            })
        })
    }

    /// Renews the lease of a claim whose request still runs.
    pub async fn idempotency_renew(&self, actor: &str, key: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency SET renewed_ms = $1 WHERE actor = $2 AND idem_key = $3 AND status = 0",
        )
        .bind(now_ms)
        .bind(actor.to_string())
        .bind(key.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the answer to a claimed key.
    pub async fn idempotency_finish(
        &self,
        actor: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency SET status = $1, body = $2 WHERE actor = $3 AND idem_key = $4",
        )
        .bind(i64::from(status))
        .bind(body.to_string())
        .bind(actor.to_string())
        .bind(key.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a claim whose request failed before its write committed, so
    /// the client may try again. (One whose write committed stays.)
    pub async fn idempotency_release(&self, actor: &str, key: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM idempotency WHERE actor = $1 AND idem_key = $2 AND status = 0 AND committed_ms IS NULL",
        )
            .bind(actor.to_string())
            .bind(key.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a web session under the hash of its id.
    pub async fn session_insert(
        &self,
        id_hash: &str,
        s: &StoredSession,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO ui_sessions (id_hash, user_name, token_hash, csrf, created_ms, expires_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id_hash.to_string())
        .bind(s.user.clone())
        .bind(s.token_hash.clone())
        .bind(s.csrf.clone())
        .bind(now_ms)
        .bind(s.expires_ms)
        .execute(&self.pool)
        .await?;
        // Expired sessions go as new ones come.
        sqlx::query("DELETE FROM ui_sessions WHERE expires_ms <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The session whose id hashes to `id_hash`, if it has not expired.
    pub async fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<StoredSession>> {
        let row = sqlx::query(
            "SELECT user_name, token_hash, csrf, expires_ms FROM ui_sessions
             WHERE id_hash = $1 AND expires_ms > $2",
        )
        .bind(id_hash.to_string())
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StoredSession {
                user: r.try_get(0)?,
                token_hash: r.try_get(1)?,
                csrf: r.try_get(2)?,
                expires_ms: r.try_get(3)?,
            })
        })
        .transpose()
    }

    /// Ends a session.
    pub async fn session_delete(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM ui_sessions WHERE id_hash = $1")
            .bind(id_hash.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
