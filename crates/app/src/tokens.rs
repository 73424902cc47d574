//! API tokens: `sluice token create|list|revoke`, and the check every API
//! request goes through. A token's secret is shown once and stored only as its
//! SHA-256; creating and revoking one are audited events.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sluice_core::audit::hex;
use sluice_core::event::Event;
use sluice_store::ApiToken;

use crate::{App, AppError, Result};

/// The prefix of every token secret, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "sluice_";

/// A token just created: the only time its secret exists outside the caller.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    #[serde(flatten)]
    pub token: ApiToken,
    pub secret: String,
}

/// Why a bearer token was not accepted. The messages never echo the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no bearer token; send `Authorization: Bearer <token>` (create one with `sluice token create --user EMAIL`)"
    )]
    Missing,
    #[error("the bearer token is not known here")]
    Unknown,
    #[error("token {0} was revoked")]
    Revoked(String),
    #[error("token {0} expired; create a new one with `sluice token create`")]
    Expired(String),
    #[error("cannot check the token: {0}")]
    Store(String),
}

/// Hex SHA-256 of a secret: what is stored and looked up.
pub fn token_hash(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

/// Hex SHA-256 of any bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| AppError::Io(format!("no randomness from the system: {e}")))?;
    Ok(b)
}

/// `N` random bytes from the system, as hex: token ids, session ids,
/// idempotency keys. Fails rather than return anything guessable.
pub fn random_hex<const N: usize>() -> Result<String> {
    Ok(hex(&random_bytes::<N>()?))
}

impl App {
    /// `token create`: a new token for `user`, valid for `valid_for` (forever if none).
    pub async fn create_token(
        &self,
        actor: &str,
        now: Timestamp,
        user: &str,
        valid_for: Option<SignedDuration>,
    ) -> Result<NewToken> {
        let user = user.trim();
        if user.is_empty() {
            return Err(AppError::Invalid(
                "a token needs a user: --user EMAIL".into(),
            ));
        }
        if let Some(d) = valid_for
            && d <= SignedDuration::ZERO
        {
            return Err(AppError::Invalid(
                "--expires must be a positive duration such as 90d".into(),
            ));
        }
        use base64::Engine;
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
        );
        let id = format!("tok_{}", random_hex::<6>()?);
        let expires_ms = match valid_for {
            Some(d) => Some(
                now.checked_add(d)
                    .map_err(|_| AppError::Invalid("--expires is too far in the future".into()))?
                    .as_millisecond(),
            ),
            None => None,
        };
        let token = ApiToken {
            id: id.clone(),
            user: user.to_string(),
            hash: token_hash(&secret),
            created_ms: now.as_millisecond(),
            created_by: actor.to_string(),
            expires_ms,
            revoked_ms: None,
        };
        let mut change = self.change(actor, now);
        change.events.push(Event::new(
            "token.created",
            id,
            serde_json::json!({"user": user, "expires_ms": expires_ms}),
        ));
        change.tokens.push(token.clone());
        self.commit(change).await?;
        Ok(NewToken { token, secret })
    }

    /// `token revoke ID`: the token stops working at once.
    pub async fn revoke_token(&self, actor: &str, now: Timestamp, id: &str) -> Result<ApiToken> {
        let Some(mut t) = self.store.token(id).await? else {
            return Err(AppError::NotFound(format!(
                "no token `{id}`; see `sluice token list`"
            )));
        };
        if t.revoked_ms.is_some() {
            return Err(AppError::Invalid(format!(
                "token `{id}` is already revoked"
            )));
        }
        t.revoked_ms = Some(now.as_millisecond());
        let mut change = self.change(actor, now);
        change.events.push(Event::new(
            "token.revoked",
            id,
            serde_json::json!({"user": t.user}),
        ));
        change.tokens.push(t.clone());
        self.commit(change).await?;
        Ok(t)
    }

    /// `token list`.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>> {
        Ok(self.store.tokens().await?)
    }

    /// The user a bearer token acts for, if it is known, live and unexpired.
    pub async fn authenticate(
        &self,
        now: Timestamp,
        secret: &str,
    ) -> std::result::Result<String, AuthError> {
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(AuthError::Missing);
        }
        // Looked up by hash: the comparison is an index probe on a digest, so
        // its timing says nothing about the secret.
        let t = self
            .store
            .token_by_hash(&token_hash(secret))
            .await
            .map_err(|e| AuthError::Store(e.to_string()))?
            .ok_or(AuthError::Unknown)?;
        if t.revoked_ms.is_some() {
            return Err(AuthError::Revoked(t.id));
        }
        if t.expires_ms.is_some_and(|e| e <= now.as_millisecond()) {
            return Err(AuthError::Expired(t.id));
        }
        Ok(t.user)
    }
}

/// A web session: who, the token it came from, its CSRF token and its end.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    /// The hash of the token it was made from: revoking the token ends it.
    pub token_hash: String,
    pub csrf: String,
    pub expires_ms: i64,
}

/// The longest a web session lasts; never longer than its token.
pub const SESSION_HOURS: i64 = 12;

impl App {
    /// Signs in with an API token: a new session, kept in the database (only
    /// the hash of its id), so every server on the database knows it. Returns
    /// the session id for the cookie, and the session.
    pub async fn open_session(
        &self,
        now: Timestamp,
        secret: &str,
    ) -> std::result::Result<(String, Session), AuthError> {
        let user = self.authenticate(now, secret).await?;
        let hash = token_hash(secret.trim());
        let store = |e: sluice_store::StoreError| AuthError::Store(e.to_string());
        let mut expires_ms = now.as_millisecond() + SESSION_HOURS * 3_600_000;
        if let Some(e) = self
            .store
            .token_by_hash(&hash)
            .await
            .map_err(store)?
            .and_then(|t| t.expires_ms)
        {
            expires_ms = expires_ms.min(e);
        }
        let (id, csrf) = match (random_hex::<32>(), random_hex::<32>()) {
            (Ok(id), Ok(csrf)) => (id, csrf),
            _ => return Err(AuthError::Store("no randomness for a session".into())),
        };
        let s = Session {
            user,
            token_hash: hash,
            csrf,
            expires_ms,
        };
        let stored = sluice_store::StoredSession {
            user: s.user.clone(),
            token_hash: s.token_hash.clone(),
            csrf: s.csrf.clone(),
            expires_ms: s.expires_ms,
        };
        self.store
            .session_insert(&sha256_hex(id.as_bytes()), &stored, now.as_millisecond())
            .await
            .map_err(store)?;
        Ok((id, s))
    }

    /// The live session with this id: unexpired, and its token still live.
    pub async fn session(&self, now: Timestamp, id: &str) -> Result<Option<Session>> {
        let id_hash = sha256_hex(id.as_bytes());
        let now_ms = now.as_millisecond();
        let Some(s) = self.store.session(&id_hash, now_ms).await? else {
            return Ok(None);
        };
        let live = self
            .store
            .token_by_hash(&s.token_hash)
            .await?
            .is_some_and(|t| t.revoked_ms.is_none() && t.expires_ms.is_none_or(|e| e > now_ms));
        if !live {
            self.store.session_delete(&id_hash).await?;
            return Ok(None);
        }
        Ok(Some(Session {
            user: s.user,
            token_hash: s.token_hash,
            csrf: s.csrf,
            expires_ms: s.expires_ms,
        }))
    }

    /// Signs out.
    pub async fn close_session(&self, id: &str) -> Result<()> {
        Ok(self
            .store
            .session_delete(&sha256_hex(id.as_bytes()))
            .await?)
    }
}
