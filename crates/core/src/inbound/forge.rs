//! GitHub and GitLab: issues, merged pull (merge) requests, CI results.

use serde_json::Value;

use super::{InboundError, Intent, RunRef, field, forge_time, id_text, object, text};
use crate::commits::{key_in_branch, patch_keys};
use crate::process::{ForgeHooks, Process};

/// GitHub events Sluice receives without acting on them.
const GITHUB_QUIET: &[&str] = &[
    "ping",
    "push",
    "create",
    "delete",
    "release",
    "deployment",
    "deployment_status",
    "issue_comment",
    "check_run",
    "workflow_job",
    "workflow_dispatch",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_review_thread",
    "status",
    "label",
    "milestone",
    "member",
    "fork",
    "watch",
    "star",
    "public",
    "repository",
    "discussion",
    "discussion_comment",
    "merge_group",
];

/// GitLab `object_kind`s Sluice receives without acting on them.
const GITLAB_QUIET: &[&str] = &[
    "push",
    "tag_push",
    "note",
    "build",
    "deployment",
    "release",
    "wiki_page",
    "feature_flag",
    "emoji",
    "member",
    "project",
    "access_token",
    "vulnerability",
];

/// The issue labels that map through `map`, first label of the issue first.
fn mapped(labels: &[String], map: &[(String, String)]) -> Option<String> {
    labels
        .iter()
        .find_map(|l| map.iter().find(|(k, _)| k == l).map(|(_, v)| v.clone()))
}

fn report(
    cfg: &ForgeHooks,
    labels: &[String],
    source_ref: Option<String>,
    title: Option<String>,
    description: Option<String>,
) -> Result<Intent, InboundError> {
    let source_ref =
        source_ref.ok_or_else(|| InboundError::Malformed("the issue has no URL".into()))?;
    let title = title.ok_or_else(|| InboundError::Malformed("the issue has no title".into()))?;
    Ok(Intent::ReportPatch {
        source_ref,
        title,
        description,
        severity: mapped(labels, &cfg.severity_labels),
        kind: mapped(labels, &cfg.kind_labels),
    })
}

/// Every patch key a merged request names: in its title, branch or body.
fn keys(p: &Process, title: Option<&str>, branch: Option<&str>, body: Option<&str>) -> Vec<String> {
    let prefix = &p.project.key;
    let mut keys = Vec::new();
    let mut add = |k: String| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    for k in patch_keys(title.unwrap_or(""), prefix) {
        add(k);
    }
    if let Some(k) = branch.and_then(|b| key_in_branch(b, prefix)) {
        add(k);
    }
    for line in body.unwrap_or("").lines().take(200) {
        for k in patch_keys(line, prefix) {
            add(k);
        }
    }
    keys
}

fn progress(keys: Vec<String>, merged_by: Option<String>, url: Option<String>) -> Vec<Intent> {
    if keys.is_empty() {
        return vec![Intent::ignored("the merged request names no patch key")];
    }
    keys.into_iter()
        .map(|key| Intent::PatchProgress {
            key,
            merged_by: merged_by.clone(),
            url: url.clone(),
        })
        .collect()
}

/// A finished CI run: `passed` is `None` for outcomes that are no result
/// (cancelled, skipped, neutral).
fn test_run(
    cfg: &ForgeHooks,
    name: &str,
    passed: Option<bool>,
    git_ref: Option<String>,
    sha: Option<String>,
    url: Option<String>,
    run: Option<RunRef>,
) -> Intent {
    let Some(m) = cfg.workflow(name) else {
        return Intent::ignored(format!("workflow `{name}` is not mapped to a suite"));
    };
    let Some(passed) = passed else {
        return Intent::ignored(format!("workflow `{name}` finished without a result"));
    };
    Intent::TestReport {
        suite: m.suite.clone(),
        env: m.env.clone(),
        git_ref,
        sha,
        passed,
        url,
        run,
    }
}

fn github_conclusion(c: Option<&str>) -> Option<bool> {
    match c? {
        "success" => Some(true),
        "failure" | "timed_out" | "action_required" | "startup_failure" => Some(false),
        _ => None,
    }
}

/// A GitHub delivery: `event` is the `X-GitHub-Event` header.
pub fn github(
    p: &Process,
    cfg: &ForgeHooks,
    event: &str,
    body: &[u8],
) -> Result<Vec<Intent>, InboundError> {
    let v = object(body)?;
    let action = text(&v, "action");
    let need = |name: &str| {
        field(&v, name)
            .filter(|x| x.is_object())
            .ok_or_else(|| InboundError::Malformed(format!("a `{event}` event without `{name}`")))
    };
    match event {
        "issues" => {
            let issue = need("issue")?;
            let labels: Vec<String> = field(issue, "labels")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|l| text(l, "name")).collect())
                .unwrap_or_default();
            let trigger = match action.as_deref() {
                Some("opened") => labels.iter().find(|l| cfg.labels.contains(l)).cloned(),
                Some("labeled") => field(&v, "label")
                    .and_then(|l| text(l, "name"))
                    .filter(|l| cfg.labels.contains(l)),
                other => {
                    return Ok(vec![Intent::ignored(format!(
                        "issue {} is not reported",
                        other.unwrap_or("event")
                    ))]);
                }
            };
            if trigger.is_none() {
                return Ok(vec![Intent::ignored(
                    "the issue has none of the configured labels",
                )]);
            }
            Ok(vec![report(
                cfg,
                &labels,
                text(issue, "html_url"),
                text(issue, "title"),
                text(issue, "body"),
            )?])
        }
        "pull_request" => {
            let pr = need("pull_request")?;
            let merged = field(pr, "merged").and_then(Value::as_bool) == Some(true);
            if action.as_deref() != Some("closed") || !merged {
                return Ok(vec![Intent::ignored("the pull request is not merged")]);
            }
            let branch = field(pr, "head").and_then(|h| text(h, "ref"));
            let keys = keys(
                p,
                text(pr, "title").as_deref(),
                branch.as_deref(),
                text(pr, "body").as_deref(),
            );
            let merged_by = field(pr, "merged_by").and_then(|u| text(u, "login"));
            Ok(progress(keys, merged_by, text(pr, "html_url")))
        }
        "workflow_run" => {
            let run = need("workflow_run")?;
            if action.as_deref() != Some("completed") {
                return Ok(vec![Intent::ignored("the workflow run has not completed")]);
            }
            let name = text(run, "name")
                .or_else(|| field(&v, "workflow").and_then(|w| text(w, "name")))
                .unwrap_or_default();
            let passed = github_conclusion(text(run, "conclusion").as_deref());
            let at = text(run, "updated_at").and_then(|t| forge_time(&t));
            let identity = id_text(run, "id").map(|id| RunRef {
                id: format!(
                    "github/workflow_run/{id}/{}",
                    id_text(run, "run_attempt").unwrap_or_else(|| "1".into())
                ),
                at,
            });
            Ok(vec![test_run(
                cfg,
                &name,
                passed,
                text(run, "head_branch"),
                text(run, "head_sha"),
                text(run, "html_url"),
                identity,
            )])
        }
        "check_suite" => {
            let cs = need("check_suite")?;
            if action.as_deref() != Some("completed") {
                return Ok(vec![Intent::ignored("the check suite has not completed")]);
            }
            let name = field(cs, "app")
                .and_then(|a| text(a, "name"))
                .unwrap_or_default();
            let passed = github_conclusion(text(cs, "conclusion").as_deref());
            // A suite re-requested completes again under the same id, later.
            let updated = text(cs, "updated_at");
            let identity = id_text(cs, "id").map(|id| RunRef {
                id: format!(
                    "github/check_suite/{id}/{}",
                    updated.as_deref().unwrap_or("")
                ),
                at: updated.as_deref().and_then(forge_time),
            });
            Ok(vec![test_run(
                cfg,
                &name,
                passed,
                text(cs, "head_branch"),
                text(cs, "head_sha"),
                text(cs, "url"),
                identity,
            )])
        }
        e if GITHUB_QUIET.contains(&e) => {
            Ok(vec![Intent::ignored(format!("`{e}` events are not used"))])
        }
        e => Err(InboundError::UnknownEvent(e.to_string())),
    }
}

/// A GitLab delivery; the kind comes from the body's `object_kind`.
pub fn gitlab(p: &Process, cfg: &ForgeHooks, body: &[u8]) -> Result<Vec<Intent>, InboundError> {
    let v = object(body)?;
    let kind = text(&v, "object_kind")
        .ok_or_else(|| InboundError::Malformed("the body has no `object_kind`".into()))?;
    let oa = field(&v, "object_attributes").filter(|x| x.is_object());
    let need = || {
        oa.ok_or_else(|| {
            InboundError::Malformed(format!("a `{kind}` hook without `object_attributes`"))
        })
    };
    match kind.as_str() {
        "issue" => {
            let oa = need()?;
            let labels: Vec<String> = field(&v, "labels")
                .or_else(|| field(oa, "labels"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|l| text(l, "title")).collect())
                .unwrap_or_default();
            let action = text(oa, "action");
            let trigger = match action.as_deref() {
                Some("open") => labels.iter().any(|l| cfg.labels.contains(l)),
                Some("update") => field(&v, "changes")
                    .and_then(|c| field(c, "labels"))
                    .and_then(|c| field(c, "current"))
                    .and_then(Value::as_array)
                    .is_some_and(|cur| {
                        cur.iter()
                            .filter_map(|l| text(l, "title"))
                            .any(|l| cfg.labels.contains(&l))
                    }),
                other => {
                    return Ok(vec![Intent::ignored(format!(
                        "issue {} is not reported",
                        other.unwrap_or("event")
                    ))]);
                }
            };
            if !trigger {
                return Ok(vec![Intent::ignored(
                    "the issue has none of the configured labels",
                )]);
            }
            Ok(vec![report(
                cfg,
                &labels,
                text(oa, "url"),
                text(oa, "title"),
                text(oa, "description"),
            )?])
        }
        "merge_request" => {
            let oa = need()?;
            let merged = text(oa, "action").as_deref() == Some("merge")
                || text(oa, "state").as_deref() == Some("merged");
            if !merged {
                return Ok(vec![Intent::ignored("the merge request is not merged")]);
            }
            let keys = keys(
                p,
                text(oa, "title").as_deref(),
                text(oa, "source_branch").as_deref(),
                text(oa, "description").as_deref(),
            );
            let by = field(&v, "user").and_then(|u| text(u, "username"));
            Ok(progress(keys, by, text(oa, "url")))
        }
        "pipeline" => {
            let oa = need()?;
            let passed = match text(oa, "status").as_deref() {
                Some("success") => Some(true),
                Some("failed") => Some(false),
                Some("canceled" | "skipped") => None,
                _ => return Ok(vec![Intent::ignored("the pipeline has not finished")]),
            };
            let name = text(oa, "name").unwrap_or_default();
            let url = text(oa, "url").or_else(|| {
                let web = field(&v, "project").and_then(|p| text(p, "web_url"))?;
                Some(format!("{web}/-/pipelines/{}", id_text(oa, "id")?))
            });
            // A retried pipeline finishes again under the same id, later.
            let finished = text(oa, "finished_at");
            let identity = id_text(oa, "id").map(|id| RunRef {
                id: format!("gitlab/pipeline/{id}/{}", finished.as_deref().unwrap_or("")),
                at: finished.as_deref().and_then(forge_time),
            });
            Ok(vec![test_run(
                cfg,
                &name,
                passed,
                text(oa, "ref"),
                text(oa, "sha"),
                url,
                identity,
            )])
        }
        k if GITLAB_QUIET.contains(&k) => {
            Ok(vec![Intent::ignored(format!("`{k}` hooks are not used"))])
        }
        k => Err(InboundError::UnknownEvent(k.to_string())),
    }
}
