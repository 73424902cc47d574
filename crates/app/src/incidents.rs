//! Incident commands: open, resolve, list, show.

use jiff::Timestamp;
use serde::Serialize;
use sluice_core::audit::StoredEvent;
use sluice_core::decide::{self, IncidentInput};
use sluice_core::model::{Incident, incident_subject};
use sluice_store::IncidentQuery;

use crate::outbox::Lookup;
use crate::{App, AppError, Result};

/// An incident with its history.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct IncidentView {
    pub incident: Incident,
    pub events: Vec<StoredEvent>,
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("no incident {id}; see `sluice incident list`"))
}

impl App {
    /// `incident open`: on the release `input.env` holds now. Anyone may open
    /// one; an alert may have only one open incident (same source and fingerprint).
    pub async fn open_incident(
        &self,
        actor: &str,
        now: Timestamp,
        input: IncidentInput,
    ) -> Result<Incident> {
        let release = self
            .store
            .environment(&input.env)
            .await?
            .and_then(|(e, _)| e.release);
        // Read what the notification facts need (release type, severities).
        let mut l = Lookup::default();
        if let Some(v) = &release
            && let Some((r, _)) = self.store.release(v).await?
        {
            for (p, _) in self.store.patches_by_key(&r.patches).await? {
                l.patches.insert(p.key.clone(), p);
            }
            l.releases.insert(v.clone(), r);
        }
        let ctx = self.ctx(actor, now);
        let done = self
            .store
            .commit_new_incident(|id| {
                let (i, e) = decide::open_incident(&ctx, id, release, input)?;
                let mut c = self.change(actor, now);
                c.incidents.push((i, None));
                c.events.push(e);
                Ok::<_, decide::Denied>(self.with_outbox_from(c, &l))
            })
            .await?;
        let (c, _) = done?;
        let incident = c
            .incidents
            .into_iter()
            .next()
            .map(|(i, _)| i)
            .expect("the change holds the new incident");
        // Inside a monitoring window, a critical one is acted on at once.
        if let Some(v) = &incident.release {
            self.react(now, v, &decide::Trigger::Incident(&incident))
                .await;
        }
        Ok(incident)
    }

    /// `incident resolve`: by whoever opened it, or the `monitor` role.
    pub async fn resolve_incident(
        &self,
        actor: &str,
        now: Timestamp,
        id: i64,
        comment: Option<String>,
    ) -> Result<Incident> {
        let (i, rev) = self
            .store
            .incident(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let (n, e) = decide::resolve_incident(&self.ctx(actor, now), &i, comment)?;
        let mut c = self.change(actor, now);
        c.incidents.push((n.clone(), Some(rev)));
        c.events.push(e);
        self.commit(c).await?;
        Ok(n)
    }

    /// The open incidents on a release (they may hold its gates).
    pub(crate) async fn open_incidents_on(&self, version: &str) -> Result<Vec<Incident>> {
        self.incidents_on(version, true).await
    }

    /// Every incident opened on a release (`open`: the open ones only), newest first.
    pub(crate) async fn incidents_on(&self, version: &str, open: bool) -> Result<Vec<Incident>> {
        Ok(self
            .store
            .incidents(&IncidentQuery {
                open,
                env: None,
                release: Some(version.to_string()),
                limit: 0,
            })
            .await?)
    }

    /// `incident list`: newest first.
    pub async fn incidents(&self, q: IncidentQuery) -> Result<Vec<Incident>> {
        if let Some(env) = &q.env {
            self.process
                .known_environment(env)
                .map_err(AppError::Invalid)?;
        }
        Ok(self.store.incidents(&q).await?)
    }

    /// `incident show`.
    pub async fn incident(&self, id: i64) -> Result<IncidentView> {
        let (incident, _) = self
            .store
            .incident(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let events = self
            .store
            .events(Some(&incident_subject(id)), 0, 1000)
            .await?;
        Ok(IncidentView { incident, events })
    }
}
