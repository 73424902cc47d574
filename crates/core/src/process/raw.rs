//! Stage one of loading: the TOML tree walked against the schema into raw,
//! span-carrying values. Unknown keys and values of the wrong type are
//! reported here; meaning (roles exist, windows parse...) is checked by
//! `validate`.

use toml::Spanned;
use toml::de::DeTable;

use super::diag::{Sink, Span};
use super::raw_hooks;
use super::walk::{Obj, Sp, as_table};

pub(crate) struct RawProcess {
    pub project: Option<RawProject>,
    /// Span of the `[kinds]` header, when present.
    pub kinds: Option<(Span, Vec<RawKind>)>,
    pub severities: Option<(Span, Vec<RawSeverity>)>,
    pub roles: Vec<RawRole>,
    /// Step name (as written) -> responsible roles.
    pub responsibilities: Vec<(Sp<String>, RoleList)>,
    pub review: RawReview,
    pub cadence: RawCadence,
    pub environments: Vec<RawEnvironment>,
    pub checklist: Vec<RawCheck>,
    pub channels: Vec<RawChannel>,
    pub notify: Vec<RawNotify>,
    pub changelog: RawChangelog,
    pub notes: RawNotes,
    pub webhooks: super::raw_hooks::RawWebhooks,
    pub smtp: Option<RawSmtp>,
    pub delivery: RawDelivery,
    pub emergency: RawEmergency,
    pub server: RawServer,
    pub retro: RawRetro,
    /// Templates for every event, then per-event ones (event name as written).
    pub messages: (RawMessages, Vec<(Sp<String>, RawMessages)>),
}

pub(crate) struct RawSmtp {
    pub host: Option<Sp<String>>,
    pub port: Option<Sp<u32>>,
    pub tls: Option<Sp<String>>,
    pub from: Option<Sp<String>>,
    pub username: Option<Sp<String>>,
    pub password: Option<Sp<String>>,
}

#[derive(Default)]
pub(crate) struct RawDelivery {
    pub max_age: Option<Sp<String>>,
}

#[derive(Default)]
pub(crate) struct RawEmergency {
    pub follow_up_within: Option<Sp<String>>,
}

#[derive(Default)]
pub(crate) struct RawServer {
    pub metrics_token: Option<Sp<String>>,
}

#[derive(Default)]
pub(crate) struct RawRetro {
    pub on_severity: Option<Sp<bool>>,
    pub on_emergency: Option<Sp<bool>>,
    pub on_rollback: Option<Sp<bool>>,
    pub due_within: Option<Sp<String>>,
    pub owner: Option<Sp<String>>,
    pub template: Option<Sp<String>>,
}

#[derive(Default)]
pub(crate) struct RawMessages {
    pub subject: Option<Sp<String>>,
    pub text: Option<Sp<String>>,
    pub html: Option<Sp<String>>,
    pub slack: Option<Sp<String>>,
}

#[derive(Default)]
pub(crate) struct RawChangelog {
    pub file: Option<Sp<String>>,
    pub compare_url: Option<Sp<String>>,
}

#[derive(Default)]
pub(crate) struct RawNotes {
    pub markdown: Option<Sp<String>>,
    pub html: Option<Sp<String>>,
    pub text: Option<Sp<String>>,
    pub slack: Option<Sp<String>>,
}

/// Names listed in a value, with the span of the whole value.
pub(crate) type RoleList = Sp<Vec<Sp<String>>>;

pub(crate) struct RawProject {
    pub name: Option<Sp<String>>,
    pub key: Option<Sp<String>>,
    pub purpose: Option<Sp<String>>,
    pub scope: Option<Sp<String>>,
    pub tag: Option<Sp<String>>,
    pub release_branch: Option<Sp<String>>,
    pub patch_branch: Option<Sp<String>>,
    pub maintained_lines: Vec<Sp<String>>,
}

pub(crate) struct RawKind {
    pub name: Sp<String>,
    pub bump: Option<Sp<String>>,
    pub section: Option<Sp<String>>,
    pub patch_release: Option<Sp<bool>>,
    pub breaking: Option<Sp<bool>>,
}

pub(crate) struct RawSeverity {
    pub name: Sp<String>,
    pub fix_within: Option<Sp<String>>,
    pub emergency: bool,
    pub retrospective: bool,
    pub block_promotion: bool,
}

pub(crate) struct RawRole {
    pub name: Sp<String>,
    pub members: Sp<Vec<Sp<String>>>,
}

#[derive(Default)]
pub(crate) struct RawReview {
    pub min_approvals: Option<u32>,
    pub author_may_approve: Option<bool>,
}

#[derive(Default)]
pub(crate) struct RawCadence {
    pub span: Option<Span>,
    pub kind: Option<Sp<String>>,
    pub day: Option<Sp<String>>,
    pub time: Option<Sp<String>>,
    pub timezone: Option<Sp<String>>,
}

pub(crate) struct RawEnvironment {
    pub name: Option<Sp<String>>,
    pub tests: Vec<Sp<String>>,
    pub approvals: Vec<Sp<String>>,
    pub quorum: Option<Sp<u32>>,
    pub windows: Vec<Sp<String>>,
    pub freezes: Vec<RawFreeze>,
    pub emergency_approvals: Vec<Sp<String>>,
    pub deploy: Option<Sp<String>>,
    pub rollback: Option<Sp<String>>,
    pub deploy_timeout: Option<Sp<String>>,
    pub env: Vec<Sp<String>>,
    pub after_deploy_tests: Vec<Sp<String>>,
    pub monitor_for: Option<Sp<String>>,
    pub gate_waiting_after: Option<Sp<String>>,
    pub freeze_notice: Option<Sp<String>>,
    pub auto_rollback: Option<Sp<bool>>,
}

pub(crate) struct RawFreeze {
    pub from: Option<Sp<String>>,
    pub to: Option<Sp<String>>,
    pub reason: Option<Sp<String>>,
}

pub(crate) struct RawCheck {
    pub id: Option<Sp<String>>,
    pub text: Option<Sp<String>>,
    pub by: Option<Sp<String>>,
    pub before: Option<Sp<String>>,
}

pub(crate) struct RawChannel {
    pub name: Sp<String>,
    pub slack: Option<Sp<String>>,
    pub email: Vec<Sp<String>>,
    pub webhook: Option<Sp<String>>,
    pub secret: Option<Sp<String>>,
    pub format: Option<Sp<String>>,
    pub rate: Option<Sp<String>>,
}

pub(crate) struct RawNotify {
    pub on: Option<Sp<Vec<Sp<String>>>>,
    pub environments: Vec<Sp<String>>,
    pub severities: Vec<Sp<String>>,
    pub release_types: Vec<Sp<String>>,
    pub to: Option<Sp<Vec<Sp<String>>>>,
}

// The schema: the keys each table accepts. Loading rejects any other key, and a
// test checks that the embedded default documents every one of them.
const PROJECT_KEYS: &[&str] = &[
    "name",
    "key",
    "purpose",
    "scope",
    "tag",
    "release_branch",
    "patch_branch",
    "maintained_lines",
];
const KIND_KEYS: &[&str] = &["bump", "section", "patch_release", "breaking"];
const SEVERITY_KEYS: &[&str] = &[
    "fix_within",
    "emergency",
    "retrospective",
    "block_promotion",
];
const REVIEW_KEYS: &[&str] = &["min_approvals", "author_may_approve"];
const CHANGELOG_KEYS: &[&str] = &["file", "compare_url"];
const NOTES_KEYS: &[&str] = &["markdown", "html", "text", "slack"];
const CADENCE_KEYS: &[&str] = &["kind", "day", "time", "timezone"];
const ENVIRONMENT_KEYS: &[&str] = &[
    "name",
    "tests",
    "approvals",
    "quorum",
    "windows",
    "freezes",
    "emergency_approvals",
    "deploy",
    "rollback",
    "deploy_timeout",
    "env",
    "after_deploy_tests",
    "monitor_for",
    "gate_waiting_after",
    "freeze_notice",
    "auto_rollback",
];
const FREEZE_KEYS: &[&str] = &["from", "to", "reason"];
const CHECK_KEYS: &[&str] = &["id", "text", "by", "before"];
const CHANNEL_KEYS: &[&str] = &["slack", "email", "webhook", "secret", "format", "rate"];
const SMTP_KEYS: &[&str] = &["host", "port", "tls", "from", "username", "password"];
const DELIVERY_KEYS: &[&str] = &["max_age"];
const EMERGENCY_KEYS: &[&str] = &["follow_up_within"];
const SERVER_KEYS: &[&str] = &["metrics_token"];
const RETRO_KEYS: &[&str] = &[
    "on_severity",
    "on_emergency",
    "on_rollback",
    "due_within",
    "owner",
    "template",
];
const MESSAGE_KEYS: &[&str] = &["subject", "text", "html", "slack"];
const NOTIFY_KEYS: &[&str] = &["on", "environments", "severities", "release_types", "to"];

/// Every table of the process file and the keys it accepts.
pub(crate) const SCHEMA: &[(&str, &[&str])] = &[
    ("[project]", PROJECT_KEYS),
    ("[kinds.NAME]", KIND_KEYS),
    ("[severities.NAME]", SEVERITY_KEYS),
    ("[review]", REVIEW_KEYS),
    ("[changelog]", CHANGELOG_KEYS),
    ("[notes]", NOTES_KEYS),
    ("[cadence]", CADENCE_KEYS),
    ("[[environments]]", ENVIRONMENT_KEYS),
    ("environments.freezes", FREEZE_KEYS),
    ("[[checklist]]", CHECK_KEYS),
    ("[channels.NAME]", CHANNEL_KEYS),
    ("[[notify]]", NOTIFY_KEYS),
    ("[webhooks.github]", raw_hooks::GITHUB_KEYS),
    ("[webhooks.gitlab]", raw_hooks::GITLAB_KEYS),
    ("webhooks.*.workflows.NAME", raw_hooks::WORKFLOW_KEYS),
    ("[webhooks.alertmanager]", raw_hooks::ALERT_KEYS),
    ("[webhooks.grafana]", raw_hooks::ALERT_KEYS),
    ("[webhooks.sentry]", raw_hooks::SENTRY_KEYS),
    ("[smtp]", SMTP_KEYS),
    ("[delivery]", DELIVERY_KEYS),
    ("[emergency]", EMERGENCY_KEYS),
    ("[server]", SERVER_KEYS),
    ("[retro]", RETRO_KEYS),
    ("[messages]", MESSAGE_KEYS),
    ("[messages.EVENT]", MESSAGE_KEYS),
];

const TOP: &[&str] = &[
    "project",
    "kinds",
    "severities",
    "roles",
    "responsibilities",
    "review",
    "cadence",
    "environments",
    "checklist",
    "channels",
    "notify",
    "changelog",
    "notes",
    "webhooks",
    "smtp",
    "delivery",
    "emergency",
    "server",
    "retro",
    "messages",
];

fn list_or_empty(v: Option<Sp<Vec<Sp<String>>>>) -> Vec<Sp<String>> {
    v.map(|l| l.v).unwrap_or_default()
}

/// Walk the parsed document into raw values, reporting shape problems.
pub(crate) fn walk(s: &mut Sink<'_>, root: &Spanned<DeTable<'_>>) -> RawProcess {
    let top = Obj {
        t: root.get_ref(),
        span: 0..0,
        name: "the process file".to_string(),
    };
    top.known_keys(s, TOP);
    let section =
        |s: &mut Sink<'_>, key: &str, example: &str| top.table(s, key, format!("[{key}]"), example);

    let project = section(s, "project", "[project]").map(|o| project(s, &o));
    if top.get("project").is_none() {
        s.error(
            0..0,
            "the process file has no [project] table",
            Some("add [project] with name = \"...\" and key = \"...\"".to_string()),
        );
    }

    let kinds = section(s, "kinds", "[kinds]").map(|o| {
        let kinds = o
            .entries()
            .into_iter()
            .filter_map(|(k, v)| {
                let name = k.get_ref().to_string();
                let ex = "{ bump = \"patch\", section = \"Fixed\" }";
                let t = as_table(s, v, format!("[kinds.{name}]"), ex)?;
                t.known_keys(s, KIND_KEYS);
                Some(RawKind {
                    bump: t.req_str(s, "bump", "\"patch\""),
                    section: t.req_str(s, "section", "\"Fixed\""),
                    patch_release: t.bool(s, "patch_release"),
                    breaking: t.bool(s, "breaking"),
                    name: Sp::new(name, k.span()),
                })
            })
            .collect();
        (o.span.clone(), kinds)
    });

    let severities = section(s, "severities", "[severities]").map(|o| {
        let list = o
            .entries()
            .into_iter()
            .filter_map(|(k, v)| {
                let name = k.get_ref().to_string();
                let ex = "{ fix_within = \"5d\" }";
                let t = as_table(s, v, format!("[severities.{name}]"), ex)?;
                t.known_keys(s, SEVERITY_KEYS);
                Some(RawSeverity {
                    fix_within: t.str(s, "fix_within", "\"24h\""),
                    emergency: t.bool(s, "emergency").is_some_and(|b| b.v),
                    retrospective: t.bool(s, "retrospective").is_some_and(|b| b.v),
                    block_promotion: t.bool(s, "block_promotion").is_some_and(|b| b.v),
                    name: Sp::new(name, k.span()),
                })
            })
            .collect();
        (o.span.clone(), list)
    });

    let mut roles = Vec::new();
    if let Some(o) = section(s, "roles", "[roles]") {
        for (k, _) in o.entries() {
            let name: &str = k.get_ref();
            let example = "[\"alice@example.com\"]";
            if let Some(members) = o.strings(s, name, example) {
                roles.push(RawRole {
                    name: Sp::new(name.to_string(), k.span()),
                    members,
                });
            }
        }
    }

    let mut responsibilities = Vec::new();
    if let Some(o) = section(s, "responsibilities", "[responsibilities]") {
        for (k, _) in o.entries() {
            let step: &str = k.get_ref();
            if let Some(r) = o.one_or_many(s, step, "\"release_manager\"") {
                responsibilities.push((Sp::new(step.to_string(), k.span()), r));
            }
        }
    }

    let mut review = RawReview::default();
    if let Some(o) = section(s, "review", "[review]") {
        o.known_keys(s, REVIEW_KEYS);
        review.min_approvals = o.u32(s, "min_approvals", "1").map(|n| n.v);
        review.author_may_approve = o.bool(s, "author_may_approve").map(|b| b.v);
    }

    let mut changelog = RawChangelog::default();
    if let Some(o) = section(s, "changelog", "[changelog]") {
        o.known_keys(s, CHANGELOG_KEYS);
        changelog = RawChangelog {
            file: o.str(s, "file", "\"CHANGELOG.md\""),
            compare_url: o.str(
                s,
                "compare_url",
                "\"https://example.com/shop/compare/{previous_tag}...{tag}\"",
            ),
        };
    }

    let mut notes = RawNotes::default();
    if let Some(o) = section(s, "notes", "[notes]") {
        o.known_keys(s, NOTES_KEYS);
        notes = RawNotes {
            markdown: o.str(s, "markdown", "\"docs/notes.md.j2\""),
            html: o.str(s, "html", "\"docs/notes.html.j2\""),
            text: o.str(s, "text", "\"docs/notes.txt.j2\""),
            slack: o.str(s, "slack", "\"docs/notes.slack.j2\""),
        };
    }

    let mut cadence = RawCadence::default();
    if let Some(o) = section(s, "cadence", "[cadence]") {
        o.known_keys(s, CADENCE_KEYS);
        cadence = RawCadence {
            span: Some(o.span.clone()),
            kind: o.str(s, "kind", "\"weekly\""),
            day: o.str(s, "day", "\"tue\""),
            time: o.str(s, "time", "\"10:00\""),
            timezone: o.str(s, "timezone", "\"Europe/Oslo\""),
        };
    }

    if top.get("environments").is_none() {
        s.error(
            0..0,
            "the process file has no [[environments]]",
            Some("add at least one: [[environments]] with name = \"prod\"".to_string()),
        );
    }
    let environments = top
        .tables(s, "environments", "[[environments]]")
        .iter()
        .map(|o| environment(s, o))
        .collect();

    let checklist = top
        .tables(s, "checklist", "[[checklist]]")
        .iter()
        .map(|o| {
            o.known_keys(s, CHECK_KEYS);
            RawCheck {
                id: o.req_str(s, "id", "\"notes\""),
                text: o.req_str(s, "text", "\"Release notes reviewed\""),
                by: o.str(s, "by", "\"release_manager\""),
                before: o.req_str(s, "before", "\"prod\""),
            }
        })
        .collect();

    let mut channels = Vec::new();
    if let Some(o) = section(s, "channels", "[channels]") {
        for (k, v) in o.entries() {
            let name = k.get_ref().to_string();
            let ex = "{ email = [\"team@example.com\"] }";
            if let Some(t) = as_table(s, v, format!("[channels.{name}]"), ex) {
                t.known_keys(s, CHANNEL_KEYS);
                channels.push(RawChannel {
                    slack: t.str(s, "slack", "\"${SLACK_WEBHOOK}\""),
                    email: list_or_empty(t.strings(s, "email", "[\"team@example.com\"]")),
                    webhook: t.str(s, "webhook", "\"${RELEASE_WEBHOOK}\""),
                    secret: t.str(s, "secret", "\"${RELEASE_WEBHOOK_SECRET}\""),
                    format: t.str(s, "format", "\"cdevents\""),
                    rate: t.str(s, "rate", "\"1/s\""),
                    name: Sp::new(name, k.span()),
                });
            }
        }
    }

    let notify = top
        .tables(s, "notify", "[[notify]]")
        .iter()
        .map(|o| {
            o.known_keys(s, NOTIFY_KEYS);
            if o.get("on").is_none() {
                s.error(
                    o.span.clone(),
                    "[[notify]] is missing `on`",
                    Some("add on = [\"release.deployed\"]".to_string()),
                );
            }
            if o.get("to").is_none() {
                s.error(
                    o.span.clone(),
                    "[[notify]] is missing `to`",
                    Some("add to = [\"a channel name\", \"role:NAME\"]".to_string()),
                );
            }
            RawNotify {
                on: o.strings(s, "on", "[\"release.deployed\"]"),
                environments: list_or_empty(o.strings(s, "environments", "[\"prod\"]")),
                severities: list_or_empty(o.strings(s, "severities", "[\"critical\"]")),
                release_types: list_or_empty(o.strings(
                    s,
                    "release_types",
                    "[\"minor\", \"major\"]",
                )),
                to: o.strings(s, "to", "[\"releases\"]"),
            }
        })
        .collect();

    let webhooks = section(s, "webhooks", "[webhooks]")
        .map(|o| raw_hooks::walk(s, &o))
        .unwrap_or_default();

    let smtp = section(s, "smtp", "[smtp]").map(|o| {
        o.known_keys(s, SMTP_KEYS);
        RawSmtp {
            host: o.req_str(s, "host", "\"smtp.example.com\""),
            port: o.u32(s, "port", "587"),
            tls: o.str(s, "tls", "\"starttls\""),
            from: o.req_str(s, "from", "\"Sluice <sluice@example.com>\""),
            username: o.str(s, "username", "\"${SMTP_USERNAME}\""),
            password: o.str(s, "password", "\"${SMTP_PASSWORD}\""),
        }
    });

    let mut delivery = RawDelivery::default();
    if let Some(o) = section(s, "delivery", "[delivery]") {
        o.known_keys(s, DELIVERY_KEYS);
        delivery.max_age = o.str(s, "max_age", "\"24h\"");
    }

    let mut emergency = RawEmergency::default();
    if let Some(o) = section(s, "emergency", "[emergency]") {
        o.known_keys(s, EMERGENCY_KEYS);
        emergency.follow_up_within = o.str(s, "follow_up_within", "\"2d\"");
    }

    let mut server = RawServer::default();
    if let Some(o) = section(s, "server", "[server]") {
        o.known_keys(s, SERVER_KEYS);
        server.metrics_token = o.str(s, "metrics_token", "\"${SLUICE_METRICS_TOKEN}\"");
    }

    let mut retro = RawRetro::default();
    if let Some(o) = section(s, "retro", "[retro]") {
        o.known_keys(s, RETRO_KEYS);
        retro.on_severity = o.bool(s, "on_severity");
        retro.on_emergency = o.bool(s, "on_emergency");
        retro.on_rollback = o.bool(s, "on_rollback");
        retro.due_within = o.str(s, "due_within", "\"5d\"");
        retro.owner = o.str(s, "owner", "\"devops\"");
        retro.template = o.str(s, "template", "\"docs/retro.md.j2\"");
    }

    let mut messages = (RawMessages::default(), Vec::new());
    if let Some(o) = section(s, "messages", "[messages]") {
        for (k, v) in o.entries() {
            let key: &str = k.get_ref();
            if MESSAGE_KEYS.contains(&key) {
                continue;
            }
            if v.get_ref().as_table().is_none() {
                let rest = format!(
                    "[messages] accepts {} (template paths) and per-event tables such as [messages.\"release.deployed\"]",
                    super::diag::list(MESSAGE_KEYS)
                );
                s.error(
                    k.span(),
                    format!("unknown key `{key}` in [messages]"),
                    Some(super::diag::suggest(key, MESSAGE_KEYS, rest)),
                );
                continue;
            }
            let ex = "{ text = \"notify/deployed.txt.j2\" }";
            if let Some(t) = as_table(s, v, format!("[messages.\"{key}\"]"), ex) {
                t.known_keys(s, MESSAGE_KEYS);
                messages
                    .1
                    .push((Sp::new(key.to_string(), k.span()), message_paths(s, &t)));
            }
        }
        messages.0 = message_paths(s, &o);
    }

    RawProcess {
        webhooks,
        smtp,
        delivery,
        emergency,
        server,
        retro,
        messages,
        project,
        kinds,
        severities,
        roles,
        responsibilities,
        review,
        cadence,
        environments,
        checklist,
        channels,
        notify,
        changelog,
        notes,
    }
}

fn message_paths(s: &mut Sink<'_>, o: &Obj<'_, '_>) -> RawMessages {
    RawMessages {
        subject: o.str(s, "subject", "\"notify/subject.j2\""),
        text: o.str(s, "text", "\"notify/text.j2\""),
        html: o.str(s, "html", "\"notify/html.j2\""),
        slack: o.str(s, "slack", "\"notify/slack.j2\""),
    }
}

fn project(s: &mut Sink<'_>, o: &Obj<'_, '_>) -> RawProject {
    o.known_keys(s, PROJECT_KEYS);
    RawProject {
        name: o.req_str(s, "name", "\"shop\""),
        key: o.req_str(s, "key", "\"SHOP\""),
        purpose: o.str(s, "purpose", "\"...\""),
        scope: o.str(s, "scope", "\"...\""),
        tag: o.str(s, "tag", "\"v{version}\""),
        release_branch: o.str(s, "release_branch", "\"release/{major}.{minor}\""),
        patch_branch: o.str(s, "patch_branch", "\"hotfix/{key}-{slug}\""),
        maintained_lines: list_or_empty(o.strings(s, "maintained_lines", "[\"1.2\", \"1.3\"]")),
    }
}

fn environment(s: &mut Sink<'_>, o: &Obj<'_, '_>) -> RawEnvironment {
    o.known_keys(s, ENVIRONMENT_KEYS);
    let mut freezes = Vec::new();
    if let Some(v) = o.get("freezes") {
        match v.get_ref().as_array() {
            None => s.error(
                v.span(),
                format!(
                    "`freezes` in [[environments]] must be an array of tables, not {}",
                    super::walk::describe(v.get_ref())
                ),
                Some("write freezes = [{ from = \"2026-12-20\", to = \"2027-01-04\", reason = \"holidays\" }]".to_string()),
            ),
            Some(items) => {
                let ex = "{ from = \"2026-12-20\", to = \"2027-01-04\", reason = \"holidays\" }";
                for item in items.iter() {
                    if let Some(f) = as_table(s, item, "a freeze".to_string(), ex) {
                        f.known_keys(s, FREEZE_KEYS);
                        freezes.push(RawFreeze {
                            from: f.req_date_text(s, "from", "\"2026-12-20\""),
                            to: f.req_date_text(s, "to", "\"2027-01-04\""),
                            reason: f.req_str(s, "reason", "\"holidays\""),
                        });
                    }
                }
            }
        }
    }
    let roles_ex = "[\"qa\"]";
    RawEnvironment {
        name: o.req_str(s, "name", "\"prod\""),
        tests: list_or_empty(o.strings(s, "tests", "[\"unit\", \"integration\"]")),
        approvals: list_or_empty(o.strings(s, "approvals", roles_ex)),
        quorum: o.u32(s, "quorum", "1"),
        windows: list_or_empty(o.strings(s, "windows", "[\"tue,thu 10:00-12:00\"]")),
        freezes,
        emergency_approvals: list_or_empty(o.strings(s, "emergency_approvals", roles_ex)),
        deploy: o.str(s, "deploy", "\"./deploy.sh {version} prod\""),
        rollback: o.str(s, "rollback", "\"./deploy.sh {previous} prod\""),
        deploy_timeout: o.str(s, "deploy_timeout", "\"10m\""),
        env: list_or_empty(o.strings(s, "env", "[\"KUBECONFIG\", \"AWS_PROFILE\"]")),
        after_deploy_tests: list_or_empty(o.strings(s, "after_deploy_tests", "[\"smoke\"]")),
        monitor_for: o.str(s, "monitor_for", "\"2h\""),
        gate_waiting_after: o.str(s, "gate_waiting_after", "\"4h\""),
        freeze_notice: o.str(s, "freeze_notice", "\"24h\""),
        auto_rollback: o.bool(s, "auto_rollback"),
    }
}
