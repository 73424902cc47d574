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
    /// Releases this environment can be rolled back to, newest first.
    pub rollback_to: Vec<String>,
}

/// A release's row on the board.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub card: Card,
    /// One per environment, in promotion order.
    pub cells: Vec<Cell>,
    /// The next gate's environment.
    pub next_env: Option<String>,
    /// What the next gate still needs, each with the people who can meet it.
    pub needs: Vec<Need>,
    /// Open incidents on this release.
    pub incidents: Vec<OpenIncident>,
}

/// A release in one environment.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub env: String,
    /// `running` (the environment holds it), `watching` (holds it inside its
    /// monitoring window), `passed` (it was there; a later release is now),
    /// `rolled_back`, `failed` (its last deploy there failed), `ready` (its
    /// next gate, open), `blocked` (its next gate, requirements unmet), or
    /// empty.
    pub state: String,
    /// Since when (entered, failed, or waiting since the previous environment).
    pub at: Option<Timestamp>,
    /// `3h 5m ago`.
    pub ago: Option<String>,
}

/// One unmet requirement of a release's next gate.
#[derive(Debug, Clone, Serialize)]
pub struct Need {
    /// The requirement, in words (no markup).
    pub requirement: String,
    pub roles: Vec<String>,
    /// The people who can meet it (members of those roles).
    pub people: Vec<String>,
    /// What meets it, for a button.
    pub action: Option<decide::Action>,
    /// For a window or a freeze: when it opens, in the process time zone.
    pub opens: Option<String>,
}

/// How long something has lasted, to the minute: `2h 5m`, or `under a minute`.
pub fn age(d: jiff::SignedDuration) -> String {
    match d.as_secs().max(0) / 60 {
        0 => "under a minute".to_string(),
        m => sluice_core::process::format_duration(jiff::SignedDuration::from_mins(m)),
    }
}

/// A duration in seconds for people: its two largest units, `3d 4h`,
/// `2h 5m`, `40s` (`0s` for nothing).
pub fn human_secs(secs: i64) -> String {
    let mut left = secs.max(0);
    let mut parts = Vec::new();
    for (size, name) in [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")] {
        if left >= size {
            parts.push(format!("{}{name}", left / size));
            left %= size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
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
    /// One row per release in flight (a candidate, or held by an
    /// environment), newest version first; one cell per environment.
    pub rows: Vec<Row>,
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
                rollback_to: Vec::new(),
            });
        }
        let mut recent_cards = Vec::new();
        for r in self.store.recent_releases(recent).await? {
            recent_cards.push(self.card_for(now, &r).await?);
        }
        // Rows: the candidates and what the environments hold.
        let mut flight: Vec<Release> = candidates.clone();
        for s in &states {
            if let Some(v) = &s.release
                && !flight.iter().any(|r| r.version.to_string() == *v)
                && let Some((r, _)) = self.store.release(v).await?
            {
                flight.push(r);
            }
        }
        flight.sort_by(|a, b| b.version.cmp(&a.version));
        let mut rows = Vec::new();
        for r in &flight {
            let card = match cards.iter().find(|(c, _)| c.version == r.version) {
                Some((_, c)) => c.clone(),
                None => self.card_for(now, r).await?,
            };
            rows.push(self.row(now, r, card, &states, &open).await?);
        }
        for c in &mut columns {
            if c.holds.is_none() {
                continue;
            }
            let current = c
                .holds
                .as_ref()
                .map(|h| h.version.clone())
                .unwrap_or_default();
            c.rollback_to = self.rollback_targets(&c.env, &current).await?;
        }
        Ok(Board {
            columns,
            rows,
            recent: recent_cards,
        })
    }

    /// Releases `env` could go back to, newest first, the current one left
    /// out: its history (`env_history`, the rule rollbacks plan from) over
    /// its last 50 deployments.
    async fn rollback_targets(&self, env: &str, current: &str) -> Result<Vec<String>> {
        let mut deps = self.store.recent_deployments(env, 50).await?;
        deps.reverse();
        // Which of the releases named there were rolled back (read once each).
        let mut rolled = std::collections::HashSet::new();
        let named = Self::env_history(&deps, |_| false);
        for v in named.iter().collect::<std::collections::BTreeSet<_>>() {
            if let Some((r, _)) = self.store.release(v).await?
                && r.status == ReleaseStatus::RolledBack
            {
                rolled.insert(v.clone());
            }
        }
        let mut out: Vec<String> = Vec::new();
        for v in Self::env_history(&deps, |v| rolled.contains(v))
            .into_iter()
            .rev()
        {
            if v != current && !out.contains(&v) {
                out.push(v);
            }
        }
        out.truncate(10);
        Ok(out)
    }

    /// A release's row: its state in each environment and what its next
    /// gate needs, from whom.
    async fn row(
        &self,
        now: Timestamp,
        r: &Release,
        card: Card,
        states: &[sluice_core::model::EnvState],
        open: &[sluice_core::model::Incident],
    ) -> Result<Row> {
        let v = r.version.to_string();
        let deps = self.store.deployments(None, Some(&v)).await?;
        let ago = |t: Timestamp| format!("{} ago", age(now.duration_since(t)));
        let entered = |env: &str| {
            deps.iter()
                .filter(|d| d.env == env && d.action == DeploymentAction::Deploy)
                .filter(|d| d.outcome == Outcome::Succeeded)
                .filter_map(|d| d.finished_at)
                .max()
        };
        let next = card.gate.as_ref().map(|g| g.env.clone());
        let mut cells = Vec::new();
        for (i, e) in self.process.environments.iter().enumerate() {
            let holds = states
                .iter()
                .any(|s| s.env == e.name && s.release.as_deref() == Some(v.as_str()));
            let last = deps.iter().rev().find(|d| d.env == e.name);
            let (state, at) = if holds {
                let at = states
                    .iter()
                    .find(|s| s.env == e.name)
                    .and_then(|s| s.since);
                let st = if r.watching(&e.name, now).is_some() {
                    "watching"
                } else {
                    "running"
                };
                (st, at)
            } else if last.is_some_and(|d| {
                d.action == DeploymentAction::Rollback && d.outcome == Outcome::Succeeded
            }) {
                ("rolled_back", last.and_then(|d| d.finished_at))
            } else if r.has_reached(&e.name) {
                ("passed", entered(&e.name))
            } else if last.is_some_and(|d| {
                d.action == DeploymentAction::Deploy
                    && matches!(
                        d.outcome,
                        Outcome::Failed | Outcome::TimedOut | Outcome::Abandoned
                    )
            }) {
                ("failed", last.and_then(|d| d.finished_at))
            } else if next.as_deref() == Some(e.name.as_str()) {
                let since = if i == 0 {
                    Some(r.created_at)
                } else {
                    entered(&self.process.environments[i - 1].name)
                };
                let open = card.gate.as_ref().is_some_and(|g| g.unmet.is_empty());
                (if open { "ready" } else { "blocked" }, since)
            } else {
                ("", None)
            };
            cells.push(Cell {
                env: e.name.clone(),
                state: state.to_string(),
                at,
                ago: at.map(ago),
            });
        }
        let tz = &self.process.cadence.timezone;
        let needs = card
            .gate
            .iter()
            .flat_map(|g| g.unmet.iter())
            .map(|u| {
                let mut people: Vec<String> = u
                    .responsible
                    .iter()
                    .flat_map(|role| self.process.members(role).iter().cloned())
                    .collect();
                people.sort();
                people.dedup();
                // An author may not approve their own release when the
                // process says so: they are not among who can.
                if u.action.as_ref().is_some_and(|a| a.kind == "approve")
                    && !self.process.review.author_may_approve
                {
                    people.retain(|x| !r.authors.contains(x));
                }
                let waits = u.action.as_ref().is_some_and(|a| a.kind == "wait");
                Need {
                    requirement: u.requirement.replace('`', ""),
                    roles: if waits {
                        Vec::new()
                    } else {
                        u.responsible.clone()
                    },
                    people: if waits { Vec::new() } else { people },
                    opens: u
                        .action
                        .as_ref()
                        .filter(|a| a.kind == "wait")
                        .and_then(|a| a.at)
                        .map(|t| {
                            t.to_zoned_datetime(tz.clone())
                                .strftime(sluice_core::window::SHOWN)
                                .to_string()
                        }),
                    action: u.action.clone(),
                }
            })
            .collect();
        Ok(Row {
            card,
            cells,
            next_env: next,
            needs,
            incidents: open
                .iter()
                .filter(|i| i.release.as_deref() == Some(v.as_str()))
                .map(|i| OpenIncident {
                    id: i.id,
                    severity: i.severity.clone(),
                    title: i.title.clone(),
                    release: i.release.clone(),
                    age: age(now.duration_since(i.opened_at)),
                })
                .collect(),
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
