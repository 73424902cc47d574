//! Stage two, continued: environments and their gates, the checklist,
//! notification channels and the notification matrix.

use std::collections::BTreeMap;

use jiff::SignedDuration;

use super::diag::{Sink, list, suggest};
use super::model::*;
use super::raw::*;
use super::template::split_command;
use super::validate::{Names, check_template, duration};
use super::walk::Sp;
use super::window::{parse_date, parse_window};

pub use crate::event::NOTIFIABLE as EVENTS;

const COMMAND_PLACEHOLDERS: &[&str] = &["version", "previous", "env"];

fn command(s: &mut Sink<'_>, t: &Option<Sp<String>>, key: &str) -> Option<CommandTemplate> {
    let t = t.as_ref()?;
    let placeholders_ok = check_template(s, t, key, COMMAND_PLACEHOLDERS);
    match split_command(&t.v) {
        Err(e) => {
            s.error(
                t.span.clone(),
                format!("`{key}` command cannot be split into arguments: {e}"),
                Some("close the quote, or escape it with a backslash".to_string()),
            );
            None
        }
        Ok(argv) if argv.is_empty() => {
            s.error(
                t.span.clone(),
                format!("`{key}` command is empty"),
                Some(format!("write a command, for example {key} = \"./deploy.sh {{version}} prod\", or remove the line")),
            );
            None
        }
        Ok(argv) => placeholders_ok.then(|| CommandTemplate {
            text: t.v.clone(),
            argv,
        }),
    }
}

pub(crate) fn environments(
    s: &mut Sink<'_>,
    names: &Names,
    raw: &[RawEnvironment],
    roles: &BTreeMap<String, Vec<String>>,
) -> Vec<Environment> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    for e in raw {
        if let Some(n) = &e.name {
            if let Some((_, at)) = seen.iter().find(|(x, _)| *x == n.v) {
                let first = s.src.line_of(*at);
                s.error(
                    n.span.clone(),
                    format!("environment `{}` is defined twice", n.v),
                    Some(format!(
                        "the first `{}` is on line {first}; environment names must be unique",
                        n.v
                    )),
                );
            } else {
                seen.push((n.v.clone(), n.span.start));
            }
            if n.v.trim().is_empty() {
                s.error(
                    n.span.clone(),
                    "environment name is empty",
                    Some("write name = \"prod\"".to_string()),
                );
            }
        }
        let approvals = names.check_roles(s, &e.approvals);
        let quorum = match &e.quorum {
            Some(q) if q.v == 0 => {
                s.error(
                    q.span.clone(),
                    "quorum must be at least 1",
                    Some("write quorum = 1 or more, or drop approvals to need none".to_string()),
                );
                1
            }
            Some(q) => {
                for a in &e.approvals {
                    let have = roles.get(&a.v).map_or(0, Vec::len);
                    if roles.contains_key(&a.v) && have < q.v as usize {
                        s.error(
                            q.span.clone(),
                            format!(
                                "quorum {} can never be met: role `{}` has {have} member{}",
                                q.v,
                                a.v,
                                if have == 1 { "" } else { "s" }
                            ),
                            Some(format!("lower the quorum or add members to role `{}`", a.v)),
                        );
                    }
                }
                q.v
            }
            None => 1,
        };
        let windows = e
            .windows
            .iter()
            .filter_map(|w| {
                parse_window(&w.v)
                    .map_err(|m| s.error(w.span.clone(), format!("bad window `{}`", w.v), Some(m)))
                    .ok()
            })
            .collect();
        let freezes = e.freezes.iter().filter_map(|f| freeze(s, f)).collect();
        let emergency_approvals = names.check_roles(s, &e.emergency_approvals);
        let auto_rollback = match &e.auto_rollback {
            Some(a) if a.v && (e.rollback.is_none() || e.monitor_for.is_none()) => {
                let missing: Vec<&str> = [
                    e.rollback.is_none().then_some("a `rollback` command"),
                    e.monitor_for.is_none().then_some("a `monitor_for` window"),
                ]
                .into_iter()
                .flatten()
                .collect();
                s.error(
                    a.span.clone(),
                    format!(
                        "auto_rollback needs {} in the same environment",
                        missing.join(" and ")
                    ),
                    Some(
                        "add rollback = \"./deploy.sh {previous} prod\" and monitor_for = \"2h\", or remove auto_rollback"
                            .to_string(),
                    ),
                );
                false
            }
            Some(a) => a.v,
            None => false,
        };
        out.push(Environment {
            name: e.name.as_ref().map(|n| n.v.clone()).unwrap_or_default(),
            tests: e.tests.iter().map(|t| t.v.clone()).collect(),
            approvals,
            quorum,
            windows,
            freezes,
            emergency_approvals,
            deploy: command(s, &e.deploy, "deploy"),
            rollback: command(s, &e.rollback, "rollback"),
            deploy_timeout: duration(s, &e.deploy_timeout).unwrap_or(SignedDuration::from_mins(10)),
            env: e.env.iter().filter_map(|v| variable_name(s, v)).collect(),
            after_deploy_tests: e.after_deploy_tests.iter().map(|t| t.v.clone()).collect(),
            monitor_for: duration(s, &e.monitor_for),
            gate_waiting_after: duration(s, &e.gate_waiting_after)
                .unwrap_or(SignedDuration::from_hours(4)),
            freeze_notice: duration(s, &e.freeze_notice).unwrap_or(SignedDuration::from_hours(24)),
            auto_rollback,
        });
    }
    out
}

/// A variable name that deploy commands may receive: `NAME` of letters,
/// digits and `_`, not Sluice's own `SLUICE_*` (those are set by Sluice).
fn variable_name(s: &mut Sink<'_>, v: &Sp<String>) -> Option<String> {
    let n = v.v.as_str();
    let shaped = n
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !shaped {
        s.error(
            v.span.clone(),
            format!("`{}` is not a variable name", n.escape_debug()),
            Some("name variables as letters, digits and `_`, for example \"KUBECONFIG\"".into()),
        );
        return None;
    }
    if n.starts_with("SLUICE_") {
        s.error(
            v.span.clone(),
            format!("`{n}` is Sluice's own variable"),
            Some("deploy commands get SLUICE_VERSION, SLUICE_PREVIOUS, SLUICE_ENV and SLUICE_DEPLOYMENT from Sluice; never its database URL or tokens".into()),
        );
        return None;
    }
    Some(n.to_string())
}

fn freeze(s: &mut Sink<'_>, f: &RawFreeze) -> Option<Freeze> {
    let mut date = |d: &Option<Sp<String>>| {
        let d = d.as_ref()?;
        parse_date(&d.v)
            .map_err(|e| s.error(d.span.clone(), format!("bad date `{}`", d.v), Some(e)))
            .ok()
            .map(|x| (x, d.span.clone()))
    };
    let from = date(&f.from);
    let to = date(&f.to);
    let ((from, from_span), (to, _)) = (from?, to?);
    if from > to {
        s.error(
            from_span,
            format!("freeze starts on {from}, after it ends on {to}"),
            Some("swap `from` and `to`: both days are included, `from` comes first".to_string()),
        );
        return None;
    }
    Some(Freeze {
        from,
        to,
        reason: f.reason.as_ref().map(|r| r.v.clone())?,
    })
}

pub(crate) fn checklist(s: &mut Sink<'_>, names: &Names, raw: &[RawCheck]) -> Vec<ChecklistItem> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    for c in raw {
        if let Some(id) = &c.id {
            let valid = !id.v.is_empty()
                && id.v.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !valid {
                s.error(
                    id.span.clone(),
                    format!("bad checklist id `{}`", id.v),
                    Some("an id is lowercase letters, digits, `_` and `-`, for example `release-notes`".to_string()),
                );
            }
            if let Some((_, at)) = seen.iter().find(|(x, _)| *x == id.v) {
                let first = s.src.line_of(*at);
                s.error(
                    id.span.clone(),
                    format!("checklist id `{}` is used twice", id.v),
                    Some(format!(
                        "the first `{}` is on line {first}; give each item its own id",
                        id.v
                    )),
                );
            } else {
                seen.push((id.v.clone(), id.span.start));
            }
        }
        if let Some(by) = &c.by {
            names.check_role(s, by);
        }
        if let Some(b) = &c.before {
            Names::check_in(s, &names.environments, b, "environment", "[[environments]]");
        }
        out.push(ChecklistItem {
            id: c.id.as_ref().map(|x| x.v.clone()).unwrap_or_default(),
            text: c.text.as_ref().map(|x| x.v.clone()).unwrap_or_default(),
            by: c.by.as_ref().map(|x| x.v.clone()),
            before: c.before.as_ref().map(|x| x.v.clone()).unwrap_or_default(),
        });
    }
    out
}

/// `${NAME}` with NAME an environment variable name.
pub(crate) fn is_var_ref(s: &str) -> bool {
    s.strip_prefix("${")
        .and_then(|x| x.strip_suffix('}'))
        .is_some_and(|n| {
            n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

pub(crate) fn channels(s: &mut Sink<'_>, raw: &[RawChannel]) -> Vec<Channel> {
    let secret_hint = |var: &str, key: &str| {
        format!("put the URL in an environment variable and write {key} = \"${{{var}}}\"")
    };
    let mut out = Vec::new();
    for c in raw {
        let var = format!(
            "{}_WEBHOOK",
            c.name.v.to_ascii_uppercase().replace('-', "_")
        );
        if let Some(sl) = &c.slack
            && !is_var_ref(&sl.v)
        {
            s.error(
                sl.span.clone(),
                "secrets must be ${VAR} references: a Slack webhook URL is a secret",
                Some(secret_hint(&format!("SLACK_{var}"), "slack")),
            );
        }
        if let Some(w) = &c.webhook
            && !is_var_ref(&w.v)
        {
            let url =
                w.v.strip_prefix("https://")
                    .or_else(|| w.v.strip_prefix("http://"));
            match url {
                None => s.error(
                    w.span.clone(),
                    format!("bad webhook `{}`", w.v),
                    Some("write an http(s) URL or a ${VAR} reference".to_string()),
                ),
                Some(rest) if rest.contains(['?', '@']) => s.error(
                    w.span.clone(),
                    "secrets must be ${VAR} references: this webhook URL carries credentials",
                    Some(secret_hint(&var, "webhook")),
                ),
                Some(_) => {}
            }
        }
        if let Some(sec) = &c.secret {
            if !is_var_ref(&sec.v) {
                s.error(
                    sec.span.clone(),
                    "secrets must be ${VAR} references: a webhook signing secret is a secret",
                    Some(format!(
                        "put it in an environment variable and write secret = \"${{{var}_SECRET}}\""
                    )),
                );
            } else if c.webhook.is_none() {
                s.error(
                    sec.span.clone(),
                    format!("channel `{}` has a secret but no webhook", c.name.v),
                    Some(
                        "the secret signs webhook deliveries; add webhook = \"...\" or remove it"
                            .to_string(),
                    ),
                );
            }
        }
        let format = webhook_format(s, c);
        for e in &c.email {
            if !e.v.contains('@') {
                s.error(
                    e.span.clone(),
                    format!("`{}` is not an email address", e.v),
                    Some("write name@example.com".to_string()),
                );
            }
        }
        if c.slack.is_none() && c.webhook.is_none() && c.email.is_empty() {
            s.error(
                c.name.span.clone(),
                format!("channel `{}` has no destination", c.name.v),
                Some("give it slack = \"${VAR}\", email = [...] or webhook = \"...\"".to_string()),
            );
        }
        out.push(Channel {
            name: c.name.v.clone(),
            slack: c.slack.as_ref().map(|x| x.v.clone()),
            email: c.email.iter().map(|x| x.v.clone()).collect(),
            webhook: c.webhook.as_ref().map(|x| x.v.clone()),
            secret: c.secret.as_ref().map(|x| x.v.clone()),
            format,
            rate: super::validate_notify::rate(s, &c.rate),
        });
    }
    out
}

/// A channel's `format`: one of [`WebhookFormat::NAMES`], and only beside a
/// webhook, since it says what the webhook sends.
fn webhook_format(s: &mut Sink<'_>, c: &RawChannel) -> WebhookFormat {
    let Some(f) = &c.format else {
        return WebhookFormat::default();
    };
    let Some(format) = WebhookFormat::parse(&f.v) else {
        let rest = format!(
            "format is \"cloudevents\" (the default: Sluice's events as CloudEvents) or \"cdevents\" (CDEvents {} in CloudEvents)",
            crate::cdevents::SPEC_VERSION
        );
        s.error(
            f.span.clone(),
            format!("channel `{}` has an unknown format `{}`", c.name.v, f.v),
            Some(suggest(&f.v, WebhookFormat::NAMES, rest)),
        );
        return WebhookFormat::default();
    };
    if c.webhook.is_none() {
        s.error(
            f.span.clone(),
            format!("channel `{}` has a format but no webhook", c.name.v),
            Some(
                "format chooses what the webhook sends; add webhook = \"...\" or remove it"
                    .to_string(),
            ),
        );
    }
    format
}

pub(crate) fn notify(s: &mut Sink<'_>, names: &Names, raw: &[RawNotify]) -> Vec<NotifyRule> {
    let mut out = Vec::new();
    for n in raw {
        if let Some(on) = &n.on {
            if on.v.is_empty() {
                s.error(
                    on.span.clone(),
                    "`on` names no event",
                    Some(format!("events are: {}", list(EVENTS))),
                );
            }
            for ev in &on.v {
                if !EVENTS.contains(&ev.v.as_str()) {
                    let rest = format!("events are: {}", list(EVENTS));
                    s.error(
                        ev.span.clone(),
                        format!("unknown event `{}`", ev.v),
                        Some(suggest(&ev.v, EVENTS, rest)),
                    );
                }
            }
        }
        for e in &n.environments {
            Names::check_in(s, &names.environments, e, "environment", "[[environments]]");
        }
        for sev in &n.severities {
            Names::check_in(s, &names.severities, sev, "severity", "[severities]");
        }
        let mut release_types = Vec::new();
        for rt in &n.release_types {
            match rt.v.as_str() {
                "patch" => release_types.push(Bump::Patch),
                "minor" => release_types.push(Bump::Minor),
                "major" => release_types.push(Bump::Major),
                _ => {
                    let known = ["patch", "minor", "major"];
                    let rest = "release types are: patch, minor, major".to_string();
                    s.error(
                        rt.span.clone(),
                        format!("unknown release type `{}`", rt.v),
                        Some(suggest(&rt.v, &known, rest)),
                    );
                }
            }
        }
        if let Some(to) = &n.to {
            if to.v.is_empty() {
                s.error(
                    to.span.clone(),
                    "`to` names no recipient",
                    Some("list channel names or role:NAME".to_string()),
                );
            }
            for r in &to.v {
                match r.v.strip_prefix("role:") {
                    Some(role) => {
                        names.check_role(s, &Sp::new(role.to_string(), r.span.clone()));
                    }
                    None => {
                        if !names.channels.contains(&r.v) {
                            let known: Vec<&str> =
                                names.channels.iter().map(String::as_str).collect();
                            let rest = if known.is_empty() {
                                "define channels under [channels], or write role:NAME".to_string()
                            } else {
                                format!(
                                    "channels are defined under [channels]: {}; or write role:NAME",
                                    list(&known)
                                )
                            };
                            s.error(
                                r.span.clone(),
                                format!("unknown channel `{}`", r.v),
                                Some(suggest(&r.v, &known, rest)),
                            );
                        }
                    }
                }
            }
        }
        let strings = |l: &[Sp<String>]| l.iter().map(|x| x.v.clone()).collect::<Vec<_>>();
        out.push(NotifyRule {
            on: n.on.as_ref().map(|l| strings(&l.v)).unwrap_or_default(),
            environments: strings(&n.environments),
            severities: strings(&n.severities),
            release_types,
            to: n.to.as_ref().map(|l| strings(&l.v)).unwrap_or_default(),
        });
    }
    out
}
