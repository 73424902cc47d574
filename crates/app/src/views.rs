//! Read models for the web UI: the pipeline board and the release page. They
//! are built from the same reads and the same gate evaluation as the CLI's
//! `status` and `release show`, so the board never disagrees with a command.

use jiff::Timestamp;
use serde::Serialize;
use sluice_core::audit::StoredEvent;
use sluice_core::decide::{self, GateReport, evaluate_gate, next_env};
use sluice_core::model::{
    Deployment, DeploymentAction, Outcome, Patch, PatchStatus, Release, ReleaseStatus,
};
use sluice_core::process::Step;
use sluice_store::PatchQuery;

use crate::{App, ChecklistView, Result};

/// One release as a card on the board.
#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub version: String,
    pub status: String,
    pub line: String,
    pub patches: usize,
    /// The gate into the next environment, for candidates.
    pub gate: Option<GateReport>,
    /// Entered some environment through the emergency lane.
    pub emergency: bool,
    /// An open follow-up review (after an emergency change).
    pub follow_up_open: bool,
    /// Rolled back somewhere, or its status is rolled back.
    pub rolled_back: bool,
    /// Roles the next gate waits on.
    pub waiting_on: Vec<String>,
}

/// One environment column.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub env: String,
    pub holds: Option<Card>,
    pub since: Option<Timestamp>,
    /// The monitoring window the release it holds is in.
    pub watching: Option<crate::WatchStatus>,
    /// Open incidents in this environment, newest first.
    pub incidents: Vec<OpenIncident>,
    /// Candidates whose next environment this is.
    pub waiting: Vec<Card>,
}

/// How long something has lasted, to the minute: `2h 5m`, or `under a minute`.
pub fn age(d: jiff::SignedDuration) -> String {
    match d.as_secs().max(0) / 60 {
        0 => "under a minute".to_string(),
        m => sluice_core::process::format_duration(jiff::SignedDuration::from_mins(m)),
    }
}

/// An open incident as the board marks it.
#[derive(Debug, Clone, Serialize)]
pub struct OpenIncident {
    pub id: i64,
    pub severity: Option<String>,
    pub title: String,
    pub release: Option<String>,
    /// How long it has been open, e.g. `2h 5m`.
    pub age: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub columns: Vec<Column>,
    /// The newest releases, whatever their status.
    pub recent: Vec<Card>,
}

/// Everything the release page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReleasePage {
    pub release: Release,
    pub patches: Vec<Patch>,
    /// The gate into every environment not yet entered, in order.
    pub gates: Vec<GateReport>,
    pub checklist: ChecklistView,
    pub deployments: Vec<Deployment>,
    pub events: Vec<StoredEvent>,
    /// The release notes as HTML (escaped by the template).
    pub notes_html: String,
}

impl App {
    fn card(
        &self,
        now: Timestamp,
        r: &Release,
        patches: &[&Patch],
        deps: &[Deployment],
        incidents: &[sluice_core::model::Incident],
    ) -> Card {
        let gate = if r.status == ReleaseStatus::Candidate {
            self.gate_for(now, r, patches, incidents)
        } else {
            None
        };
        let mut waiting_on: Vec<String> = gate
            .iter()
            .flat_map(|g| g.unmet.iter().flat_map(|u| u.responsible.iter().cloned()))
            .collect();
        waiting_on.sort();
        waiting_on.dedup();
        Card {
            version: r.version.to_string(),
            status: r.status.to_string(),
            line: r.line.to_string(),
            patches: r.patches.len(),
            gate,
            emergency: deps.iter().any(|d| d.emergency),
            follow_up_open: r.follow_ups.iter().any(|f| f.closed_at.is_none()),
            rolled_back: r.status == ReleaseStatus::RolledBack
                || deps.iter().any(|d| {
                    d.action == DeploymentAction::Rollback && d.outcome == Outcome::Succeeded
                }),
            waiting_on,
        }
    }

    async fn card_for(&self, now: Timestamp, r: &Release) -> Result<Card> {
        let patches: Vec<Patch> = self
            .release_patches(r)
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        let refs: Vec<&Patch> = patches.iter().collect();
        let deps = self
            .store
            .deployments(None, Some(&r.version.to_string()))
            .await?;
        let incidents = if r.status == ReleaseStatus::Candidate {
            self.open_incidents_on(&r.version.to_string()).await?
        } else {
            Vec::new()
        };
        Ok(self.card(now, r, &refs, &deps, &incidents))
    }

    /// The pipeline board: environments as columns, releases as cards.
    pub async fn board(&self, now: Timestamp, recent: i64) -> Result<Board> {
        let ctx = self.ctx("", now);
        let states = self.store.environments().await?;
        let status = self.status(now).await?;
        let open = self
            .store
            .incidents(&sluice_store::IncidentQuery {
                open: true,
                env: None,
                release: None,
                limit: 0,
            })
            .await?;
        let candidates = self
            .store
            .releases_with_status(ReleaseStatus::Candidate, 200)
            .await?;
        let mut columns = Vec::new();
        let mut cards = Vec::new();
        for r in &candidates {
            cards.push((r.clone(), self.card_for(now, r).await?));
        }
        for e in &self.process.environments {
            let st = states.iter().find(|s| s.env == e.name);
            let holds = match st.and_then(|s| s.release.clone()) {
                Some(v) => match cards.iter().find(|(r, _)| r.version.to_string() == v) {
                    Some((_, c)) => Some(c.clone()),
                    None => match self.store.release(&v).await? {
                        Some((r, _)) => Some(self.card_for(now, &r).await?),
                        None => None,
                    },
                },
                None => None,
            };
            let waiting = cards
                .iter()
                .filter(|(r, _)| next_env(&ctx, r).is_some_and(|x| x.name == e.name))
                .map(|(_, c)| c.clone())
                .collect();
            columns.push(Column {
                env: e.name.clone(),
                holds,
                since: st.and_then(|s| s.since),
                watching: status
                    .iter()
                    .find(|s| s.env == e.name)
                    .and_then(|s| s.watching.clone()),
                incidents: open
                    .iter()
                    .filter(|i| i.env == e.name)
                    .map(|i| OpenIncident {
                        id: i.id,
                        severity: i.severity.clone(),
                        title: i.title.clone(),
                        release: i.release.clone(),
                        age: age(now.duration_since(i.opened_at)),
                    })
                    .collect(),
                waiting,
            });
        }
        let mut recent_cards = Vec::new();
        for r in self.store.recent_releases(recent).await? {
            recent_cards.push(self.card_for(now, &r).await?);
        }
        Ok(Board {
            columns,
            recent: recent_cards,
        })
    }

    /// The release page: content, gates into every environment ahead, checklist,
    /// approvals, tests, deployments, notes and the release's audit trail.
    pub async fn release_page(&self, now: Timestamp, version: &str) -> Result<ReleasePage> {
        let view = self.show_release(now, version).await?;
        let r = &view.release;
        let refs: Vec<&Patch> = view.patches.iter().collect();
        let ctx = self.ctx("", now);
        let eligible = decide::emergency_eligible(&ctx, &refs);
        let gates = if r.status == ReleaseStatus::Candidate {
            let incidents = self.open_incidents_on(&r.version.to_string()).await?;
            self.process
                .environments
                .iter()
                .filter(|e| !r.has_reached(&e.name))
                .map(|e| evaluate_gate(&ctx, r, e, false, eligible, &incidents))
                .collect()
        } else {
            Vec::new()
        };
        let checklist = self.checklist(version).await?;
        let events = self
            .store
            .events(Some(&r.version.to_string()), 0, 500)
            .await?;
        let notes_html = self
            .release_notes(version, crate::notes::NotesFormat::Html)
            .await
            .unwrap_or_default();
        Ok(ReleasePage {
            release: view.release,
            patches: view.patches,
            gates,
            checklist,
            deployments: view.deployments,
            events,
            notes_html,
        })
    }
}

/// One thing the user can do now.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct InboxItem {
    /// `approve`, `test`, `checklist`, `promote`, `incident`, `review`,
    /// `overdue`, `follow-up`, `retro`.
    pub kind: String,
    /// The release version, patch key or retrospective id.
    pub subject: String,
    pub what: String,
    /// The command that does it, when there is one.
    pub command: Option<String>,
}

/// What waits on one user, across every release and patch.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Inbox {
    pub user: String,
    pub roles: Vec<String>,
    pub items: Vec<InboxItem>,
}

/// The kind of a gate requirement, from its hint.
fn gate_kind(hint: Option<&str>) -> &'static str {
    match hint.and_then(|h| h.split_whitespace().nth(1)) {
        Some("approve") => "approve",
        Some("test") => "test",
        Some("checklist") => "checklist",
        Some("promote") => "promote",
        Some("incident") => "incident",
        _ => "gate",
    }
}

impl App {
    /// `inbox`: what `user` can do now: the gate requirements their roles
    /// meet, reviews they may give, their overdue patches, follow-up reviews
    /// to close, retrospectives their role owns.
    pub async fn inbox(&self, user: &str, now: Timestamp) -> Result<Inbox> {
        let p = &self.process;
        let roles: Vec<String> = p.roles_of(user).into_iter().map(String::from).collect();
        let mine = |wanted: &[String]| wanted.iter().any(|r| roles.contains(r));
        let mut items = Vec::new();
        let candidates = self
            .store
            .releases_with_status(ReleaseStatus::Candidate, 0)
            .await?;
        for r in &candidates {
            let v = r.version.to_string();
            let ps = self.release_patches(r).await?;
            let refs: Vec<&Patch> = ps.iter().map(|(p, _)| p).collect();
            let incidents = self.open_incidents_on(&v).await?;
            let Some(g) = self.gate_for(now, r, &refs, &incidents) else {
                continue;
            };
            for u in g.unmet.iter().filter(|u| mine(&u.responsible)) {
                // The hint names this user already; in their own inbox `--as` is noise.
                let command = u
                    .hint
                    .as_ref()
                    .map(|h| h.replace(&format!(" --as {user}"), ""));
                items.push(InboxItem {
                    kind: gate_kind(u.hint.as_deref()).to_string(),
                    subject: v.clone(),
                    what: format!("{v} into `{}`: {}", g.env, u.requirement),
                    command,
                });
            }
            if g.unmet.is_empty()
                && (p.responsible(Step::Release).is_empty() || mine(p.responsible(Step::Release)))
            {
                items.push(InboxItem {
                    kind: "promote".into(),
                    subject: v.clone(),
                    what: format!("{v} may enter `{}` now", g.env),
                    command: Some(format!("sluice promote {v} --to {}", g.env)),
                });
            }
        }
        let reviewers = p.responsible(Step::Review);
        if reviewers.is_empty() || mine(reviewers) {
            let waiting = self
                .store
                .patches(&PatchQuery {
                    statuses: vec![PatchStatus::InReview],
                    limit: 0,
                    ..Default::default()
                })
                .await?
                .patches;
            for x in waiting
                .iter()
                .filter(|x| p.review.author_may_approve || !x.makers().contains(&user))
            {
                items.push(InboxItem {
                    kind: "review".into(),
                    subject: x.key.clone(),
                    what: format!("review {}: {}", x.key, x.title),
                    command: Some(format!("sluice patch review {} --approve", x.key)),
                });
            }
        }
        let owned = self
            .store
            .patches(&PatchQuery {
                owner: Some(user.to_string()),
                limit: 0,
                ..Default::default()
            })
            .await?
            .patches;
        for x in owned.iter().filter(|x| x.is_overdue(now)) {
            items.push(InboxItem {
                kind: "overdue".into(),
                subject: x.key.clone(),
                what: format!(
                    "{} is overdue ({}): {}",
                    x.key,
                    x.severity.as_deref().unwrap_or("no severity"),
                    x.title
                ),
                command: Some(format!("sluice patch show {}", x.key)),
            });
        }
        let released = self
            .store
            .releases_with_status(ReleaseStatus::Released, 200)
            .await?;
        let release_role = p.responsible(Step::Release);
        for r in candidates.iter().chain(&released) {
            let v = r.version.to_string();
            if release_role.is_empty() || mine(release_role) {
                for f in r.follow_ups.iter().filter(|f| f.closed_at.is_none()) {
                    items.push(InboxItem {
                        kind: "follow-up".into(),
                        subject: v.clone(),
                        what: format!(
                            "close the follow-up review of {v}'s emergency promotion into `{}`",
                            f.env
                        ),
                        command: Some(format!(
                            "sluice release follow-up {v} --env {} --comment TEXT",
                            f.env
                        )),
                    });
                }
            }
        }
        for x in self.retros(true).await? {
            if x.owner.is_empty() || roles.contains(&x.owner) {
                items.push(InboxItem {
                    kind: "retro".into(),
                    subject: x.id.clone(),
                    what: format!(
                        "retrospective {}{}: {}",
                        x.id,
                        if x.due < now { " (overdue)" } else { "" },
                        x.reason
                    ),
                    command: Some(if x.text.is_some() {
                        format!("sluice retro complete {}", x.id)
                    } else {
                        format!("sluice retro edit {}", x.id)
                    }),
                });
            }
        }
        Ok(Inbox {
            user: user.to_string(),
            roles,
            items,
        })
    }
}
