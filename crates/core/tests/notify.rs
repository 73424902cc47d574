//! The stakeholder matrix: `notify::route` against a deliberately simple
//! oracle over every combination of event × environment × severities ×
//! release type, plus hand-written expectations and the `release_types`
//! filter's validation.

use std::collections::{BTreeMap, BTreeSet};

use sluice_core::notify::{Delivery, Facts, Transport, route};
use sluice_core::process::{Bump, DEFAULT_PROCESS, DocFormat, EVENTS, Process, load, render};

/// One `[[notify]]` rule as the test writes it (the oracle reads this, not
/// the loaded process).
struct Rule {
    on: &'static [&'static str],
    environments: &'static [&'static str],
    severities: &'static [&'static str],
    release_types: &'static [&'static str],
    to: &'static [&'static str],
}

const ENVS: &[&str] = &["dev", "test", "prod"];
const SEVERITIES: &[&str] = &["critical", "major", "minor"];

const RULES: &[Rule] = &[
    Rule {
        on: &["release.deployed", "release.rolled_back"],
        environments: &["prod"],
        severities: &[],
        release_types: &[],
        to: &["releases", "stakeholders"],
    },
    Rule {
        on: &["patch.reported"],
        environments: &[],
        severities: &["critical"],
        release_types: &[],
        to: &["role:dev_lead", "releases"],
    },
    Rule {
        on: &["release.cut", "release.deployed"],
        environments: &[],
        severities: &[],
        release_types: &["major"],
        to: &["everyone"],
    },
    Rule {
        on: &["release.deployed", "release.failed"],
        environments: &["test", "prod"],
        severities: &[],
        release_types: &["minor", "major"],
        to: &["role:qa", "ops"],
    },
    Rule {
        on: &["patch.reported", "patch.triaged"],
        environments: &[],
        severities: &["critical", "major"],
        release_types: &[],
        to: &["role:qa", "stakeholders"],
    },
    Rule {
        on: &["gate.waiting"],
        environments: &["prod"],
        severities: &["critical"],
        release_types: &["patch"],
        to: &["role:product_owner"],
    },
    Rule {
        on: &["gate.waiting", "freeze.starting"],
        environments: &[],
        severities: &[],
        release_types: &[],
        to: &["releases"],
    },
];

/// What each recipient expands to, written out by hand.
fn expansion(recipient: &str) -> Vec<(Transport, &'static str)> {
    use Transport::*;
    match recipient {
        "releases" => vec![(Slack, "${SLACK_RELEASES}")],
        "stakeholders" => vec![
            (Email, "stakeholders@example.com"),
            (Email, "carol@example.com"),
        ],
        "everyone" => vec![
            (Slack, "${SLACK_EVERYONE}"),
            (Email, "all@example.com"),
            (Email, "stakeholders@example.com"),
            (Webhook, "${EVERYONE_WEBHOOK}"),
        ],
        "ops" => vec![
            (Slack, "${SLACK_RELEASES}"),
            (Webhook, "https://hooks.example.com/ops"),
        ],
        // "bob" is a user name, not an email address: skipped.
        "role:dev_lead" => vec![(Email, "bob@example.com")],
        // "dave" likewise.
        "role:qa" => vec![(Email, "alice@example.com"), (Email, "carol@example.com")],
        "role:product_owner" => vec![(Email, "carol@example.com")],
        other => panic!("no expansion for {other}"),
    }
}

fn quoted(l: &[&str]) -> String {
    let q: Vec<String> = l.iter().map(|x| format!("{x:?}")).collect();
    format!("[{}]", q.join(", "))
}

fn process_text() -> String {
    let mut s = String::from(
        r#"
[project]
name = "matrix"
key = "MX"

[kinds]
fix = { bump = "patch", section = "Fixed" }

[severities]
critical = { fix_within = "24h" }
major = { fix_within = "5d" }
minor = { fix_within = "30d" }

[roles]
dev_lead = ["bob@example.com", "bob"]
qa = ["alice@example.com", "dave", "carol@example.com"]
product_owner = ["carol@example.com"]

[[environments]]
name = "dev"

[[environments]]
name = "test"

[[environments]]
name = "prod"

[channels]
releases = { slack = "${SLACK_RELEASES}" }
stakeholders = { email = ["stakeholders@example.com", "carol@example.com"] }
everyone = { slack = "${SLACK_EVERYONE}", email = ["all@example.com", "stakeholders@example.com"], webhook = "${EVERYONE_WEBHOOK}" }
ops = { slack = "${SLACK_RELEASES}", webhook = "https://hooks.example.com/ops" }
"#,
    );
    for r in RULES {
        s.push_str("\n[[notify]]\n");
        s.push_str(&format!("on = {}\n", quoted(r.on)));
        if !r.environments.is_empty() {
            s.push_str(&format!("environments = {}\n", quoted(r.environments)));
        }
        if !r.severities.is_empty() {
            s.push_str(&format!("severities = {}\n", quoted(r.severities)));
        }
        if !r.release_types.is_empty() {
            s.push_str(&format!("release_types = {}\n", quoted(r.release_types)));
        }
        s.push_str(&format!("to = {}\n", quoted(r.to)));
    }
    s
}

fn matrix() -> Process {
    match load("sluice.toml", &process_text()) {
        Ok(p) => p,
        Err(d) => panic!("test process has problems:\n{d}"),
    }
}

fn bump_name(b: Bump) -> &'static str {
    match b {
        Bump::Patch => "patch",
        Bump::Minor => "minor",
        Bump::Major => "major",
    }
}

/// The oracle: (rule, channel, transport, address), each (transport,
/// address) credited to the first rule (then recipient) that reaches it.
fn oracle(f: &Facts) -> BTreeSet<(usize, String, Transport, String)> {
    let mut first: BTreeMap<(Transport, String), (usize, String)> = BTreeMap::new();
    for (i, r) in RULES.iter().enumerate() {
        let mut fires = r.on.contains(&f.event.as_str());
        if !r.environments.is_empty() {
            fires &= match &f.env {
                Some(e) => r.environments.contains(&e.as_str()),
                None => false,
            };
        }
        if !r.severities.is_empty() {
            let mut any = false;
            for s in &f.severities {
                if r.severities.contains(&s.as_str()) {
                    any = true;
                }
            }
            fires &= any;
        }
        if !r.release_types.is_empty() {
            fires &= match f.release_type {
                Some(t) => r.release_types.contains(&bump_name(t)),
                None => false,
            };
        }
        if !fires {
            continue;
        }
        for to in r.to {
            for (t, a) in expansion(to) {
                first
                    .entry((t, a.to_string()))
                    .or_insert((i + 1, to.to_string()));
            }
        }
    }
    first
        .into_iter()
        .map(|((t, a), (rule, ch))| (rule, ch, t, a))
        .collect()
}

fn as_set(d: &[Delivery]) -> BTreeSet<(usize, String, Transport, String)> {
    d.iter()
        .map(|d| (d.rule, d.channel.clone(), d.transport, d.address.clone()))
        .collect()
}

/// Every subset of the severities, the empty one included.
fn severity_sets() -> Vec<Vec<String>> {
    (0..1u32 << SEVERITIES.len())
        .map(|mask| {
            SEVERITIES
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, s)| s.to_string())
                .collect()
        })
        .collect()
}

#[test]
fn every_combination_lands_where_the_process_says() {
    let p = matrix();
    let envs: Vec<Option<String>> = std::iter::once(None)
        .chain(ENVS.iter().map(|e| Some(e.to_string())))
        .collect();
    let types = [
        None,
        Some(Bump::Patch),
        Some(Bump::Minor),
        Some(Bump::Major),
    ];
    let mut combos = 0;
    let mut nonempty = 0;
    for event in EVENTS {
        for env in &envs {
            for sevs in severity_sets() {
                for rt in types {
                    let f = Facts {
                        event: event.to_string(),
                        env: env.clone(),
                        severities: sevs.clone(),
                        release_type: rt,
                    };
                    let got = route(&p, &f);
                    let set = as_set(&got);
                    assert_eq!(set.len(), got.len(), "duplicate delivery for {f:?}");
                    let pairs: BTreeSet<_> =
                        got.iter().map(|d| (d.transport, &d.address)).collect();
                    assert_eq!(pairs.len(), got.len(), "address told twice for {f:?}");
                    assert_eq!(set, oracle(&f), "wrong recipients for {f:?}");
                    assert_eq!(got, route(&p, &f), "route is not deterministic");
                    combos += 1;
                    nonempty += usize::from(!got.is_empty());
                }
            }
        }
    }
    assert_eq!(combos, EVENTS.len() * 4 * 8 * 4);
    // The matrix is not trivially empty (or trivially full).
    assert!(
        nonempty > 100 && nonempty < combos,
        "{nonempty} of {combos}"
    );
}

fn facts(event: &str, env: Option<&str>, sevs: &[&str], rt: Option<Bump>) -> Facts {
    Facts {
        event: event.to_string(),
        env: env.map(str::to_string),
        severities: sevs.iter().map(|s| s.to_string()).collect(),
        release_type: rt,
    }
}

fn tuples(d: &[Delivery]) -> Vec<(usize, &str, Transport, &str)> {
    d.iter()
        .map(|d| (d.rule, d.channel.as_str(), d.transport, d.address.as_str()))
        .collect()
}

#[test]
fn hand_written_expectations() {
    use Transport::*;
    let p = matrix();

    // A major release deployed to prod: rule 1, then 3 and 4; the shared
    // Slack webhook and stakeholder address are told once, by the first rule.
    let got = route(
        &p,
        &facts("release.deployed", Some("prod"), &[], Some(Bump::Major)),
    );
    assert_eq!(
        tuples(&got),
        [
            (1, "releases", Slack, "${SLACK_RELEASES}"),
            (1, "stakeholders", Email, "stakeholders@example.com"),
            (1, "stakeholders", Email, "carol@example.com"),
            (3, "everyone", Slack, "${SLACK_EVERYONE}"),
            (3, "everyone", Email, "all@example.com"),
            (3, "everyone", Webhook, "${EVERYONE_WEBHOOK}"),
            (4, "role:qa", Email, "alice@example.com"),
            (4, "ops", Webhook, "https://hooks.example.com/ops"),
        ]
    );

    // Without a release type, the release_types rules stay silent.
    let got = route(&p, &facts("release.deployed", Some("prod"), &[], None));
    assert_eq!(
        tuples(&got),
        [
            (1, "releases", Slack, "${SLACK_RELEASES}"),
            (1, "stakeholders", Email, "stakeholders@example.com"),
            (1, "stakeholders", Email, "carol@example.com"),
        ]
    );

    // A critical patch: the dev lead (an email member only) and Slack, then
    // QA and the stakeholders.
    let got = route(&p, &facts("patch.reported", None, &["critical"], None));
    assert_eq!(
        tuples(&got),
        [
            (2, "role:dev_lead", Email, "bob@example.com"),
            (2, "releases", Slack, "${SLACK_RELEASES}"),
            (5, "role:qa", Email, "alice@example.com"),
            (5, "role:qa", Email, "carol@example.com"),
            (5, "stakeholders", Email, "stakeholders@example.com"),
        ]
    );

    // A severity filter is not met by an event without severities.
    assert!(route(&p, &facts("patch.reported", None, &[], None)).is_empty());
    // Nothing for unmatched events or facts.
    assert!(
        route(
            &p,
            &facts("incident.opened", Some("prod"), &["critical"], None)
        )
        .is_empty()
    );
    assert!(
        route(
            &p,
            &facts("release.deployed", Some("dev"), &[], Some(Bump::Patch))
        )
        .is_empty()
    );
    assert!(route(&p, &facts("no.such.event", None, &[], None)).is_empty());
}

#[test]
fn default_process_matrix() {
    use Transport::*;
    let p = load("sluice.toml", DEFAULT_PROCESS).unwrap();
    let got = route(&p, &facts("release.deployed", Some("prod"), &[], None));
    assert_eq!(
        tuples(&got),
        [
            (1, "releases", Slack, "${SLACK_RELEASES_WEBHOOK}"),
            (1, "stakeholders", Email, "stakeholders@example.com"),
        ]
    );
    let got = route(&p, &facts("patch.reported", None, &["critical"], None));
    assert_eq!(
        tuples(&got),
        [
            (2, "role:dev_lead", Email, "bob@example.com"),
            (2, "releases", Slack, "${SLACK_RELEASES_WEBHOOK}"),
        ]
    );
    assert!(route(&p, &facts("patch.reported", None, &["minor"], None)).is_empty());
    assert!(route(&p, &facts("release.deployed", Some("dev"), &[], None)).is_empty());
    assert!(
        DEFAULT_PROCESS.contains("#   release_types:"),
        "release_types is documented in default.toml"
    );
}

#[test]
fn release_types_are_validated() {
    let text = process_text().replace(
        "release_types = [\"minor\", \"major\"]",
        "release_types = [\"minor\", \"mayor\"]",
    );
    let d = load("sluice.toml", &text).unwrap_err().to_string();
    assert!(d.contains("unknown release type `mayor`"), "{d}");
    assert!(d.contains("did you mean `major`?"), "{d}");
    assert!(d.contains("patch, minor, major"), "{d}");
    let p = matrix();
    assert_eq!(p.notify[3].release_types, [Bump::Minor, Bump::Major]);
    assert!(p.notify[0].release_types.is_empty());
    let doc = render(&p, DocFormat::Text);
    assert!(doc.contains("release types: minor, major"), "{doc}");
    assert!(
        doc.contains("environments: prod, severities: critical, release types: patch"),
        "{doc}"
    );
}

#[test]
fn webhook_secrets_are_var_references() {
    let base = process_text();
    let with = |chan: &str| format!("{base}\n[channels.signed]\n{chan}\n");
    let p = load(
        "sluice.toml",
        &with("webhook = \"${HOOK}\"\nsecret = \"${HOOK_SECRET}\""),
    )
    .unwrap();
    let c = p.channels.iter().find(|c| c.name == "signed").unwrap();
    assert_eq!(c.secret.as_deref(), Some("${HOOK_SECRET}"));

    let d = load(
        "sluice.toml",
        &with("webhook = \"${HOOK}\"\nsecret = \"whsec_abc\""),
    )
    .unwrap_err()
    .to_string();
    assert!(d.contains("secrets must be ${VAR} references"), "{d}");

    let d = load(
        "sluice.toml",
        &with("email = [\"a@example.com\"]\nsecret = \"${S}\""),
    )
    .unwrap_err()
    .to_string();
    assert!(d.contains("has a secret but no webhook"), "{d}");
    assert!(DEFAULT_PROCESS.contains("#   secret:"));
}

#[test]
fn delivery_settings_are_validated_all_at_once() {
    let p = load("sluice.toml", DEFAULT_PROCESS).unwrap();
    let smtp = p.smtp.as_ref().expect("the default names a relay");
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.tls),
        (
            "smtp.example.com",
            587,
            sluice_core::process::SmtpTls::Starttls
        )
    );
    assert_eq!(smtp.password.as_deref(), Some("${SMTP_PASSWORD}"));
    assert_eq!(p.delivery.max_age, jiff::SignedDuration::from_hours(24));
    // Slack defaults to one a second; other transports are unlimited.
    let slack = p.rate_for("releases", Transport::Slack).unwrap();
    assert_eq!((slack.count, slack.per.as_secs()), (1, 1));
    assert!(p.rate_for("stakeholders", Transport::Email).is_none());

    let text = format!(
        "{}\n{}",
        process_text(),
        r#"
[channels.pager]
webhook = "${PAGER}"
rate = "20/m"

[channels.noisy]
slack = "${NOISY}"
rate = "fast"

[smtp]
host = "mail.example.com"
tls = "ssl"
port = 70000
from = "nobody"
username = "${SMTP_USER}"
password = "hunter2"

[delivery]
max_age = "10s"

[messages]
subject = ""
footer = "x.j2"

[messages."release.deploy"]
text = "a.j2"

[messages."release.failed"]
html = "../outside.html.j2"
"#
    );
    let d = load("sluice.toml", &text).unwrap_err();
    let all = d.to_string();
    for want in [
        "bad rate `fast`",
        "unknown SMTP security `ssl`",
        "did you mean `tls`?",
        "bad SMTP port 70000",
        "`nobody` is not a sender address",
        "secrets must be ${VAR} references: the SMTP password is a credential",
        "max_age is shorter than a minute",
        "empty template path",
        "unknown key `footer` in [messages]",
        "unknown event `release.deploy` in [messages]",
        "did you mean `release.deployed`?",
        "leaves the repository",
    ] {
        assert!(all.contains(want), "missing `{want}` in:\n{all}");
    }
    assert!(!all.contains("hunter2 "), "the hint never repeats a secret");
    for x in &d.0 {
        assert!(x.line > 0 && x.column > 0 && x.hint.is_some(), "{x}");
    }

    let ok = format!(
        "{}\n{}",
        process_text(),
        "[channels.pager]\nwebhook = \"${PAGER}\"\nrate = \"20/m\"\n\n[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nfrom = \"Sluice <s@example.com>\"\n\n[messages.\"release.deployed\"]\nhtml = \"ops/deployed.html.j2\"\n"
    );
    let p = load("sluice.toml", &ok).unwrap();
    let r = p.rate_for("pager", Transport::Webhook).unwrap();
    assert_eq!((r.count, r.per.as_secs()), (20, 60));
    assert_eq!(p.smtp.as_ref().unwrap().port, 25, "port follows tls");
    let (ev, set) = &p.messages.events[0];
    assert_eq!(ev, "release.deployed");
    let html = set.html.as_ref().unwrap();
    assert_eq!(html.path, "ops/deployed.html.j2");
    assert!(html.at.line > 1 && html.at.source_line.contains("deployed.html.j2"));
}

/// A `format = "cdevents"` webhook is routed only the events that have a
/// CDEvents equivalent; the channel's other destinations get every event,
/// and a `cloudevents` webhook (the default) gets every event too.
#[test]
fn cdevents_webhooks_take_only_events_with_an_equivalent() {
    use Transport::*;
    let text = format!(
        r#"
[project]
name = "matrix"
key = "MX"

[kinds]
fix = {{ bump = "patch", section = "Fixed" }}

[severities]
critical = {{}}

[[environments]]
name = "prod"

[channels]
cd = {{ slack = "${{SLACK_CD}}", webhook = "${{CD_HOOK}}", format = "cdevents" }}
ce = {{ webhook = "${{CE_HOOK}}", format = "cloudevents" }}
plain = {{ webhook = "${{PLAIN_HOOK}}" }}

[[notify]]
on = {}
to = ["cd", "ce", "plain"]
"#,
        quoted(EVENTS)
    );
    let p = match load("sluice.toml", &text) {
        Ok(p) => p,
        Err(d) => panic!("test process has problems:\n{d}"),
    };
    let mut sent = Vec::new();
    for event in EVENTS {
        let got = route(&p, &facts(event, Some("prod"), &["critical"], None));
        let mut want = vec![(1, "cd", Slack, "${SLACK_CD}")];
        if sluice_core::cdevents::event_type(event).is_some() {
            want.push((1, "cd", Webhook, "${CD_HOOK}"));
            sent.push(*event);
        }
        want.push((1, "ce", Webhook, "${CE_HOOK}"));
        want.push((1, "plain", Webhook, "${PLAIN_HOOK}"));
        assert_eq!(tuples(&got), want, "{event}");
    }
    assert_eq!(
        sent,
        [
            "patch.ready",
            "release.deployed",
            "release.rolled_back",
            "incident.opened",
            "incident.resolved"
        ]
    );
    let formats: Vec<&str> = p.channels.iter().map(|c| c.format.as_str()).collect();
    assert_eq!(formats, ["cdevents", "cloudevents", "cloudevents"]);
    // The process document says what the CDEvents webhook sends.
    let doc = render(&p, DocFormat::Markdown);
    assert!(
        doc.contains("(CDEvents 0.4.1: release.deployed, release.rolled_back, incident.opened, incident.resolved, patch.ready only)"),
        "{doc}"
    );
}
