//! The audit log and its verification.

use serde::Serialize;
use sluice_core::audit::{Break, StoredEvent};

use crate::{App, Result};

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AuditReport {
    pub events: Vec<StoredEvent>,
}

/// The outcome of `audit verify`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AuditVerify {
    pub ok: bool,
    pub checked: u64,
    pub first_break: Option<Break>,
}

impl App {
    /// `audit`: events in order, optionally about one patch or release.
    pub async fn audit(
        &self,
        subject: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<AuditReport> {
        Ok(AuditReport {
            events: self.store.events(subject, after, limit).await?,
        })
    }

    /// `audit verify`: recomputes the chain and names the first altered event.
    pub async fn audit_verify(&self) -> Result<AuditVerify> {
        Ok(match self.store.verify_chain().await? {
            Ok(n) => AuditVerify {
                ok: true,
                checked: n,
                first_break: None,
            },
            Err(b) => AuditVerify {
                ok: false,
                checked: 0,
                first_break: Some(b),
            },
        })
    }
}
