//! Patch commands: report, triage, start, review, ready, reject, defer, list, show.

use jiff::Timestamp;
use serde::Serialize;
use sluice_core::audit::StoredEvent;
use sluice_core::decide::{self, ReportInput, TriageInput};
use sluice_core::event::Event;
use sluice_core::model::Patch;
use sluice_store::PatchQuery;

use crate::{App, Result, not_found_patch};

/// A patch with its history.
#[derive(Debug, Clone, Serialize)]
pub struct PatchView {
    pub patch: Patch,
    pub overdue: bool,
    pub events: Vec<StoredEvent>,
}

/// A page of `patch list`.
#[derive(Debug, Clone, Serialize)]
pub struct PatchList {
    pub patches: Vec<Patch>,
    /// How many matched in all, when known (see `PatchQuery::count`).
    pub total: Option<i64>,
    pub overdue: Vec<String>,
}

impl App {
    /// `patch report`.
    pub async fn report_patch(
        &self,
        actor: &str,
        now: Timestamp,
        input: ReportInput,
    ) -> Result<Patch> {
        let ctx = self.ctx(actor, now);
        let done = self
            .store
            .commit_new_patch(|n| {
                let (p, e) = decide::report(&ctx, n, input)?;
                let mut c = self.change(actor, now);
                c.patches.push((p, None));
                c.events.push(e);
                Ok::<_, decide::Denied>(c)
            })
            .await?;
        let (c, _) = done?;
        Ok(c.patches
            .into_iter()
            .next()
            .map(|(p, _)| p)
            .expect("the change holds the new patch"))
    }

    async fn patch_rev(&self, key: &str) -> Result<(Patch, i64)> {
        self.store
            .patch(key)
            .await?
            .ok_or_else(|| not_found_patch(key))
    }

    async fn save_patch(
        &self,
        actor: &str,
        now: Timestamp,
        p: Patch,
        rev: i64,
        e: Event,
    ) -> Result<Patch> {
        let mut c = self.change(actor, now);
        c.patches.push((p.clone(), Some(rev)));
        c.events.push(e);
        self.store.commit(&c).await?;
        Ok(p)
    }

    /// `patch triage`.
    pub async fn triage_patch(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        input: TriageInput,
    ) -> Result<Patch> {
        let (p, rev) = self.patch_rev(key).await?;
        let (n, e) = decide::triage(&self.ctx(actor, now), &p, input)?;
        self.save_patch(actor, now, n, rev, e).await
    }

    /// `patch start`.
    pub async fn start_patch(&self, actor: &str, now: Timestamp, key: &str) -> Result<Patch> {
        let (p, rev) = self.patch_rev(key).await?;
        let (n, e) = decide::start(&self.ctx(actor, now), &p)?;
        self.save_patch(actor, now, n, rev, e).await
    }

    /// `patch review`: `verdict` None asks for review.
    pub async fn review_patch(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        verdict: Option<bool>,
        comment: Option<String>,
    ) -> Result<Patch> {
        let (p, rev) = self.patch_rev(key).await?;
        let (n, e) = decide::review(&self.ctx(actor, now), &p, verdict, comment)?;
        self.save_patch(actor, now, n, rev, e).await
    }

    /// `patch ready`.
    pub async fn ready_patch(&self, actor: &str, now: Timestamp, key: &str) -> Result<Patch> {
        let (p, rev) = self.patch_rev(key).await?;
        let (n, e) = decide::ready(&self.ctx(actor, now), &p)?;
        self.save_patch(actor, now, n, rev, e).await
    }

    /// `patch reject`.
    pub async fn reject_patch(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        reason: String,
    ) -> Result<Patch> {
        let (p, rev) = self.patch_rev(key).await?;
        let (n, e) = decide::reject(&self.ctx(actor, now), &p, reason)?;
        self.save_patch(actor, now, n, rev, e).await
    }

    /// `patch defer`.
    pub async fn defer_patch(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        reason: String,
    ) -> Result<Patch> {
        let (p, rev) = self.patch_rev(key).await?;
        let (n, e) = decide::defer(&self.ctx(actor, now), &p, reason)?;
        self.save_patch(actor, now, n, rev, e).await
    }

    /// `patch list`: overdue first.
    pub async fn list_patches(&self, now: Timestamp, mut q: PatchQuery) -> Result<PatchList> {
        q.now_ms = now.as_millisecond();
        let page = self.store.patches(&q).await?;
        let overdue = page
            .patches
            .iter()
            .filter(|p| p.is_overdue(now))
            .map(|p| p.key.clone())
            .collect();
        Ok(PatchList {
            patches: page.patches,
            total: page.total,
            overdue,
        })
    }

    /// `patch show`.
    pub async fn show_patch(&self, now: Timestamp, key: &str) -> Result<PatchView> {
        let (p, _) = self.patch_rev(key).await?;
        let events = self.store.events(Some(key), 0, 1000).await?;
        Ok(PatchView {
            overdue: p.is_overdue(now),
            patch: p,
            events,
        })
    }
}
