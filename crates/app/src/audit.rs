//! The audit log and its verification.

use serde::Serialize;
use sluice_core::audit::{Break, StoredEvent};

use crate::{App, AppError, Result};

/// Where anchors of the audit chain are written in git, besides each
/// release's evidence note.
pub const ANCHOR_REF: &str = "refs/notes/sluice-audit";

/// The audit chain's head at a moment, as written into git.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
    /// When it was written (RFC 3339).
    pub at: String,
}

/// What `audit anchor` did.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Anchored {
    /// False when this head was anchored on this commit already.
    pub written: bool,
    /// The commit the note is on.
    pub commit: String,
    pub anchor: Anchor,
}

/// One anchor found in git and what the database says about it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AnchorCheck {
    /// Where it was found: `refs/notes/sluice-audit on <commit>` or `evidence of <tag>`.
    pub source: String,
    pub anchor: Anchor,
    /// `None` when the chain still holds it; else what is wrong.
    pub problem: Option<String>,
}

/// The outcome of `audit verify --against-git`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AnchorReport {
    pub ok: bool,
    pub chain: AuditVerify,
    pub anchors: Vec<AnchorCheck>,
}

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

    /// The log oldest first after `after`, optionally of one subject and
    /// one kind.
    pub async fn audit_kind(
        &self,
        subject: Option<&str>,
        kind: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<AuditReport> {
        let Some(kind) = kind else {
            return self.audit(subject, after, limit).await;
        };
        // The kind index walks oldest first; filter the subject on the way.
        let mut events = Vec::new();
        let mut from = after;
        while (events.len() as i64) < limit {
            let page = self.store.events_of_kind(kind, from, limit).await?;
            let Some(last) = page.last().map(|e| e.seq) else {
                break;
            };
            from = last;
            events.extend(
                page.into_iter()
                    .filter(|e| subject.is_none_or(|s| e.subject == s)),
            );
        }
        events.truncate(limit.max(0) as usize);
        Ok(AuditReport { events })
    }

    /// The log newest first, optionally of one subject and kind, before a
    /// sequence number (0: from the newest): the audit page.
    pub async fn audit_newest(
        &self,
        subject: Option<&str>,
        kind: Option<&str>,
        before: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        Ok(self
            .store
            .events_newest(subject, kind, before, limit)
            .await?)
    }

    /// Verifies the chain from where `v` stopped (a fresh one: from the
    /// first event), so a page shown often checks only what is new.
    pub async fn audit_verify_from(
        &self,
        v: sluice_core::audit::Verifier,
    ) -> Result<(
        sluice_core::audit::Verifier,
        std::result::Result<u64, Break>,
    )> {
        Ok(self.store.verify_chain_from(v).await?)
    }

    /// The chain's head now, as an anchor.
    pub async fn audit_head(&self, now: jiff::Timestamp) -> Result<Anchor> {
        let (seq, hash) = self.store.chain_head().await?;
        Ok(Anchor {
            seq,
            hash,
            at: now.to_string(),
        })
    }

    /// `audit anchor`: appends the chain's head to the note on the checked-out
    /// commit under [`ANCHOR_REF`]. Pushed to the forge, git then witnesses
    /// that the database held this chain: deleting its tail and rewinding the
    /// head no longer verifies. Writes nothing when this head is anchored on
    /// that commit already.
    pub async fn audit_anchor(&self, now: jiff::Timestamp) -> Result<Anchored> {
        let repo = self.git.as_ref().ok_or_else(|| {
            AppError::Config("anchoring the audit chain needs a git repository".into())
        })?;
        let head = self.audit_head(now).await?;
        let at = repo.resolve("HEAD").map_err(|e| {
            AppError::Config(format!("the repository has no commit to anchor on: {e}"))
        })?;
        let known = repo.note(ANCHOR_REF, &at)?.unwrap_or_default();
        let written = !parse_anchors(&known)
            .iter()
            .any(|a| a.seq == head.seq && a.hash == head.hash);
        if written {
            let line = serde_json::to_string(&head).expect("an anchor serializes");
            repo.append_note(ANCHOR_REF, &at, &line)?;
        }
        Ok(Anchored {
            written,
            commit: at.to_string(),
            anchor: head,
        })
    }

    /// `audit verify --against-git`: the chain verifies, and every head that
    /// git witnessed (anchors under [`ANCHOR_REF`], and each release's evidence
    /// note) is still in it: the event at that sequence number has that hash.
    pub async fn audit_verify_against_git(&self) -> Result<AnchorReport> {
        let chain = self.audit_verify().await?;
        let repo = self.git.as_ref().ok_or_else(|| {
            AppError::Config("checking the audit chain against git needs a git repository".into())
        })?;
        let mut found: Vec<(String, Anchor)> = Vec::new();
        for (object, text) in repo.notes(ANCHOR_REF)? {
            for a in parse_anchors(&text) {
                found.push((format!("{ANCHOR_REF} on {}", short(&object)), a));
            }
        }
        for (object, text) in repo.notes(crate::vcs::NOTES_REF)? {
            if let Ok(ev) = serde_json::from_str::<crate::vcs::Evidence>(&text)
                && let Some(a) = ev.audit_head
            {
                found.push((format!("evidence of {} ({})", ev.tag, short(&object)), a));
            }
        }
        let (head_seq, _) = self.store.chain_head().await?;
        let mut anchors = Vec::with_capacity(found.len());
        for (source, anchor) in found {
            let problem = if anchor.seq == 0 {
                None
            } else {
                match self.store.event_hash(anchor.seq).await? {
                    Some(h) if h == anchor.hash => None,
                    Some(h) => Some(format!(
                        "event {} has hash {} in the database, but git witnessed {} at {}: the event was rewritten",
                        anchor.seq,
                        short(&h),
                        short(&anchor.hash),
                        anchor.at
                    )),
                    None => Some(format!(
                        "git witnessed event {} at {}, but the database's chain ends at {head_seq}: events were removed",
                        anchor.seq, anchor.at
                    )),
                }
            };
            anchors.push(AnchorCheck {
                source,
                anchor,
                problem,
            });
        }
        anchors.sort_by_key(|a| a.anchor.seq);
        Ok(AnchorReport {
            ok: chain.ok && anchors.iter().all(|a| a.problem.is_none()),
            chain,
            anchors,
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

/// The anchors in a note: one JSON object per line; other lines are skipped.
fn parse_anchors(text: &str) -> Vec<Anchor> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Anchor>(l.trim()).ok())
        .collect()
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}
