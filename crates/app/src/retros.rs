//! Retrospectives: listed, shown (the team's text, or the document Sluice
//! generates from the audit log: what happened, the timeline with the time
//! between steps, deadlines met or missed, who acted), edited and completed.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::decide;
use sluice_core::model::{Incident, Patch, Release, Retro};
use sluice_core::process::format_duration;

use crate::{App, AppError, Result};

const EMBEDDED: &str = include_str!("../templates/retro.md.j2");

/// A time as the document shows it, to the second.
fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A retrospective with its document and the actions filed from it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RetroView {
    pub retro: Retro,
    /// Markdown: the team's text once edited, else generated.
    pub document: String,
    /// Whether `document` is the team's.
    pub edited: bool,
    /// Patches reported with `--from-retro` this retrospective.
    pub actions: Vec<Patch>,
    pub overdue: bool,
}

fn unknown(id: &str) -> AppError {
    AppError::NotFound(format!("no retrospective `{id}`; see `sluice retro list`"))
}

impl App {
    /// Every retrospective, newest first; `open` keeps the open ones only.
    pub async fn retros(&self, open: bool) -> Result<Vec<Retro>> {
        let mut out: Vec<Retro> = self
            .store
            .releases()
            .await?
            .into_iter()
            .flat_map(|r| r.retros)
            .filter(|x| !open || x.is_open())
            .collect();
        out.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    async fn retro_release(&self, id: &str) -> Result<(Release, i64, usize)> {
        let v = decide::retro_release(id).ok_or_else(|| unknown(id))?;
        let (r, rev) = self.store.release(v).await?.ok_or_else(|| unknown(id))?;
        let i = r
            .retros
            .iter()
            .position(|x| x.id == id)
            .ok_or_else(|| unknown(id))?;
        Ok((r, rev, i))
    }

    /// `retro show`.
    pub async fn retro(&self, now: Timestamp, id: &str) -> Result<RetroView> {
        let (r, _, i) = self.retro_release(id).await?;
        let retro = r.retros[i].clone();
        let actions = self.store.patches_by_source(id).await?;
        let (document, edited) = match &retro.text {
            Some(t) => (t.clone(), true),
            None => (self.retro_document(&r, &retro, &actions).await?, false),
        };
        Ok(RetroView {
            overdue: retro.is_open() && retro.due < now,
            retro,
            document,
            edited,
            actions,
        })
    }

    /// `retro edit`: the team's text replaces the generated document.
    pub async fn edit_retro(
        &self,
        actor: &str,
        now: Timestamp,
        id: &str,
        text: &str,
    ) -> Result<Retro> {
        let (r, rev, i) = self.retro_release(id).await?;
        let (n, ev) = decide::edit_retro(&self.ctx(actor, now), &r, id, text)?;
        let out = n.retros[i].clone();
        self.save_release(actor, now, n, rev, vec![], vec![ev])
            .await?;
        Ok(out)
    }

    /// `retro complete`.
    pub async fn complete_retro(&self, actor: &str, now: Timestamp, id: &str) -> Result<Retro> {
        let (r, rev, i) = self.retro_release(id).await?;
        let (n, ev) = decide::complete_retro(&self.ctx(actor, now), &r, id)?;
        let out = n.retros[i].clone();
        self.save_release(actor, now, n, rev, vec![], vec![ev])
            .await?;
        Ok(out)
    }

    /// The document Sluice writes for a retrospective, from the audit log.
    async fn retro_document(
        &self,
        r: &Release,
        retro: &Retro,
        actions: &[Patch],
    ) -> Result<String> {
        let v = r.version.to_string();
        let patches: Vec<Patch> = self
            .release_patches(r)
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        let incidents: Vec<Incident> = self.incidents_on(&v, false).await?;
        // The steps, from every event about the release, its patches and its incidents.
        let mut subjects: Vec<String> = vec![v.clone()];
        subjects.extend(patches.iter().map(|p| p.key.clone()));
        subjects.extend(incidents.iter().map(|i| i.subject()));
        let mut steps: Vec<(i64, String, String)> = Vec::new();
        for s in &subjects {
            for e in self.store.events(Some(s), 0, 10_000).await? {
                let payload: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
                let env = payload["env"].as_str().unwrap_or_default();
                let what = match e.kind.as_str() {
                    "patch.reported" => format!("{} reported", e.subject),
                    "patch.triaged" => format!("{} triaged", e.subject),
                    "patch.started" => format!("{} started", e.subject),
                    "patch.ready" => format!("{} ready", e.subject),
                    "release.cut" => format!("{v} cut"),
                    "release.deployed" => format!("{v} entered `{env}`"),
                    "incident.opened" => format!("incident opened in `{env}` ({})", e.subject),
                    "incident.resolved" => format!("{} resolved", e.subject),
                    "release.rolled_back" => format!(
                        "`{env}` rolled back to {}{}",
                        payload["to"].as_str().unwrap_or_default(),
                        payload["reason"]
                            .as_str()
                            .map(|r| format!(" (automatically: {r})"))
                            .unwrap_or_default()
                    ),
                    "release.rollback_failed" => format!("rolling back `{env}` failed"),
                    "release.watch_ended" => format!(
                        "the monitoring window in `{env}` ended {}",
                        if payload["clean"] == true {
                            "clean"
                        } else {
                            "with problems"
                        }
                    ),
                    _ => continue,
                };
                steps.push((e.at_ms, what, e.actor));
            }
        }
        steps.sort_by_key(|s| s.0);
        let mut actors = BTreeSet::new();
        let mut timeline = Vec::new();
        let mut before: Option<i64> = None;
        for (at, what, actor) in steps {
            let after = before.map(|b| {
                format_duration(jiff::SignedDuration::from_secs(((at - b) / 1000).max(0)))
            });
            before = Some(at);
            actors.insert(actor.clone());
            timeline.push(serde_json::json!({
                "at": Timestamp::from_millisecond(at).map(when).unwrap_or_default(),
                "what": what, "actor": actor, "after": after,
            }));
        }
        let deadlines: Vec<Value> = patches
            .iter()
            .filter_map(|p| {
                let d = p.deadline?;
                let outcome = match (p.status.is_open(), p.updated_at <= d) {
                    (true, _) if r.status == sluice_core::model::ReleaseStatus::RolledBack => {
                        format!("reopened; due {}", when(d))
                    }
                    (true, _) => format!("not fixed yet; due {}", when(d)),
                    (false, true) => format!("met: fixed by {}", when(d)),
                    (false, false) => {
                        format!("missed: due {}, fixed {}", when(d), when(p.updated_at))
                    }
                };
                Some(
                    serde_json::json!({"key": p.key, "title": p.title, "severity": p.severity,
                    "deadline": d.to_string(), "outcome": outcome}),
                )
            })
            .collect();
        let source = match &self.process.retro.template {
            Some(t) => crate::repo_file(&self.root, &t.path)
                .and_then(|f| std::fs::read_to_string(f).map_err(|e| e.to_string()))
                .map_err(|e| {
                    AppError::Config(format!("cannot read the retro template `{}`: {e}", t.path))
                })?,
            None => EMBEDDED.to_string(),
        };
        let mut env = minijinja::Environment::new();
        env.add_filter("when", |v: String| -> String {
            v.parse::<Timestamp>().map(when).unwrap_or(v)
        });
        env.add_template_owned("retro", source)
            .map_err(|e| AppError::Config(format!("the retro template does not compile: {e}")))?;
        let ctx = minijinja::context! {
            retro => minijinja::Value::from(minijinja::value::Serde(retro)),
            release => minijinja::Value::from(minijinja::value::Serde(r)),
            timeline => minijinja::Value::from(minijinja::value::Serde(&timeline)),
            deadlines => minijinja::Value::from(minijinja::value::Serde(&deadlines)),
            incidents => minijinja::Value::from(minijinja::value::Serde(&incidents)),
            actors => actors.into_iter().collect::<Vec<_>>(),
            actions => minijinja::Value::from(minijinja::value::Serde(actions)),
        };
        let mut doc = env
            .get_template("retro")
            .and_then(|t| t.render(ctx))
            .map_err(|e| AppError::Config(format!("the retro template failed: {e:#}")))?;
        if !doc.ends_with('\n') {
            doc.push('\n');
        }
        Ok(doc)
    }

    /// Checks a `[retro] template` reads and compiles (`sluice check`).
    pub fn check_retro_template(
        p: &sluice_core::process::Process,
        root: &std::path::Path,
    ) -> std::result::Result<(), sluice_core::process::Diagnostics> {
        let Some(t) = &p.retro.template else {
            return Ok(());
        };
        let problem = match crate::repo_file(root, &t.path)
            .and_then(|f| std::fs::read_to_string(f).map_err(|e| e.to_string()))
        {
            Err(e) => Some((
                format!("cannot read the retro template `{}`: {e}", t.path),
                "create the file (the path is from the repository root) or remove the line",
            )),
            Ok(source) => minijinja::Environment::new()
                .template_from_str(&source)
                .err()
                .map(|e| {
                    (
                        format!("the retro template `{}` does not compile: {e}", t.path),
                        "fix the template syntax (minijinja, like Jinja2)",
                    )
                }),
        };
        match problem {
            None => Ok(()),
            Some((m, hint)) => Err(sluice_core::process::Diagnostics(vec![
                t.at.diagnostic(m, Some(hint.to_string())),
            ])),
        }
    }
}
