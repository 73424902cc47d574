//! The team's process document (`sluice process show`), built from the
//! validated process so it always says what is enforced.

use super::doc::{Block, code};
use super::duration::format_duration;
use super::model::*;

fn day_name(d: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match d {
        Monday => "Monday",
        Tuesday => "Tuesday",
        Wednesday => "Wednesday",
        Thursday => "Thursday",
        Friday => "Friday",
        Saturday => "Saturday",
        Sunday => "Sunday",
    }
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn or_none(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items.join(", ")
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `qa (alice@example.com)`, or `anyone` when no role is named.
fn who(p: &Process, roles: &[String]) -> String {
    if roles.is_empty() {
        return "anyone (no role named)".to_string();
    }
    roles
        .iter()
        .map(|r| format!("{r} ({})", p.members(r).join(", ")))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn window_text(w: &Window) -> String {
    w.text.clone()
}

fn freeze_text(f: &Freeze) -> String {
    format!("{} to {} ({})", f.from, f.to, f.reason)
}

fn step_title(s: Step) -> &'static str {
    match s {
        Step::Identify => "Identify and prioritise",
        Step::Develop => "Create the patch branch and develop",
        Step::Review => "Review",
        Step::Test => "Test",
        Step::Approve => "Approve",
        Step::Release => "Release",
        Step::Communicate => "Communicate",
        Step::Monitor => "Monitor",
    }
}

fn step_text(p: &Process, s: Step) -> String {
    let names = |v: Vec<&str>| v.join(", ");
    let envs: Vec<&str> = p.environments.iter().map(|e| e.name.as_str()).collect();
    match s {
        Step::Identify => {
            let sev = names(p.severities.iter().map(|x| x.name.as_str()).collect());
            let kinds = names(p.kinds.iter().map(|x| x.name.as_str()).collect());
            let lines: Vec<String> = p
                .project
                .maintained_lines
                .iter()
                .map(|l| l.to_string())
                .collect();
            format!(
                "A patch is reported from a bug report, user feedback, a monitoring alert or a security advisory, with a reference to its source. It is triaged: severity ({sev}), priority, kind ({kinds}), owner and affected release line (maintained: {}). Patches are keyed {}.",
                or_none(&lines, "none listed"),
                code(&format!("{}-N", p.project.key))
            )
        }
        Step::Develop => format!(
            "The patch branch is cut off the latest release of the affected line (tag {}, or branch {}) and named {}. The change is minimal and targeted; anything that does not belong in a patch is flagged.",
            code(&p.project.tag),
            code(&p.project.release_branch),
            code(&p.project.patch_branch)
        ),
        Step::Review => {
            let n = p.review.min_approvals;
            if n == 0 {
                "No review is required.".to_string()
            } else if p.review.author_may_approve {
                format!(
                    "At least {}; the author may review their own patch.",
                    plural(n, "reviewer", "reviewers")
                )
            } else {
                format!(
                    "At least {} who {} not the author.",
                    plural(n, "reviewer", "reviewers"),
                    if n == 1 { "is" } else { "are" }
                )
            }
        }
        Step::Test => {
            let per: Vec<String> = p
                .environments
                .iter()
                .filter(|e| !e.tests.is_empty())
                .map(|e| format!("{}: {}", e.name, e.tests.join(", ")))
                .collect();
            let after: Vec<String> = p
                .environments
                .iter()
                .filter(|e| !e.after_deploy_tests.is_empty())
                .map(|e| {
                    format!(
                        "{} after deploy: {}",
                        e.name,
                        e.after_deploy_tests.join(", ")
                    )
                })
                .collect();
            let per = if per.is_empty() {
                "none".to_string()
            } else {
                per.join("; ")
            };
            let mut t = format!("Required suites per environment: {per}.");
            if !after.is_empty() {
                t.push_str(&format!(" Verification: {}.", after.join("; ")));
            }
            t + " Results come from CI or people; the latest result per suite counts."
        }
        Step::Approve => {
            let per: Vec<String> = p
                .environments
                .iter()
                .filter(|e| !e.approvals.is_empty())
                .map(|e| {
                    format!(
                        "{}: {} (quorum {})",
                        e.name,
                        e.approvals.join(" and "),
                        e.quorum
                    )
                })
                .collect();
            let sod = if p.review.author_may_approve {
                ""
            } else {
                " The author of a patch may not approve a release that contains it."
            };
            let per = if per.is_empty() {
                "none".to_string()
            } else {
                per.join("; ")
            };
            format!(
                "Approvals before entering: {per}. Approvals are bound to the exact content of the release and void when it changes.{sod}"
            )
        }
        Step::Release => {
            let patchable: Vec<&str> = p
                .kinds
                .iter()
                .filter(|k| k.patch_release)
                .map(|k| k.name.as_str())
                .collect();
            let emergency: Vec<&str> = p
                .severities
                .iter()
                .filter(|x| x.emergency)
                .map(|x| x.name.as_str())
                .collect();
            let mut t = format!(
                "The version is computed from the patches' kinds by SemVer rules; a patch release may only hold {}. The release is tagged {} and promoted through the environments in order: {}.",
                if patchable.is_empty() {
                    "nothing".to_string()
                } else {
                    names(patchable)
                },
                code(&p.project.tag),
                envs.join(" → ")
            );
            if p.environments
                .iter()
                .any(|e| !e.windows.is_empty() || !e.freezes.is_empty())
            {
                t.push_str(" Guarded environments are entered only inside their windows and outside freezes");
                if emergency.is_empty() {
                    t.push('.');
                } else {
                    t.push_str(&format!(
                        ", unless the emergency lane is used (severities: {}; extra approval, recorded, follow-up review required).",
                        names(emergency)
                    ));
                }
            }
            t + " The environment's deploy command runs; its output and outcome are recorded."
        }
        Step::Communicate => format!(
            "The changelog (Keep a Changelog) and release notes are generated and may be edited before publishing; stakeholders are notified per the notification matrix ({}).",
            plural(p.notify.len() as u32, "rule", "rules")
        ),
        Step::Monitor => {
            let mon: Vec<String> = p
                .environments
                .iter()
                .filter_map(|e| {
                    e.monitor_for
                        .map(|d| format!("{} for {}", e.name, format_duration(d)))
                })
                .collect();
            let retro: Vec<&str> = p
                .severities
                .iter()
                .filter(|x| x.retrospective)
                .map(|x| x.name.as_str())
                .collect();
            let auto: Vec<&str> = p
                .environments
                .iter()
                .filter(|e| e.auto_rollback)
                .map(|e| e.name.as_str())
                .collect();
            let mut t = format!(
                "After a deploy a monitoring window opens ({}); it closes clean when the after-deploy suites passed and no blocking incident was opened on the release meanwhile, and only then are the release's patches verified. Alerts open incidents linked to the release; a rollback runs the environment's rollback command, is recorded and announced, and counts as a change failure.",
                or_none(&mon, "none configured")
            );
            if mon.is_empty() {
            } else if auto.is_empty() {
                t.push_str(" A blocking incident or a failed after-deploy suite inside a window asks the monitor role to roll back.");
            } else {
                t.push_str(&format!(
                    " A blocking incident or a failed after-deploy suite inside a window rolls back at once in {}, and asks the monitor role to elsewhere.",
                    names(auto)
                ));
            }
            let rs = &p.retro;
            let mut on: Vec<String> = Vec::new();
            if rs.on_rollback {
                on.push("every rollback".to_string());
            }
            if rs.on_emergency {
                on.push("every emergency promotion".to_string());
            }
            if rs.on_severity && !retro.is_empty() {
                on.push(format!(
                    "a {} patch reaching the last environment",
                    names(retro)
                ));
            }
            if !on.is_empty() {
                let owner = rs
                    .owner
                    .clone()
                    .or_else(|| p.responsible(Step::Monitor).first().cloned())
                    .unwrap_or_else(|| "anyone".to_string());
                t.push_str(&format!(
                    " A retrospective opens on {}, drafted from the audit log, owned by {owner} and due {} later.",
                    on.join(", "),
                    format_duration(rs.due_within)
                ));
            }
            t
        }
    }
}

fn gate(p: &Process, i: usize, e: &Environment) -> Vec<String> {
    let mut b = Vec::new();
    match i.checked_sub(1).map(|j| &p.environments[j]) {
        None => b.push("Entry: first environment, no previous environment to reach.".to_string()),
        Some(prev) => {
            b.push(format!(
                "Entry: the release has reached {}.",
                code(&prev.name)
            ));
            if !prev.tests.is_empty() {
                b.push(format!(
                    "Suites that must pass in {}: {}.",
                    code(&prev.name),
                    prev.tests.join(", ")
                ));
            }
        }
    }
    if !e.tests.is_empty() {
        b.push(format!(
            "Suites run here (must pass before leaving): {}.",
            e.tests.join(", ")
        ));
    }
    if !e.approvals.is_empty() {
        let n = plural(e.quorum, "approval", "approvals");
        let each: Vec<String> = e
            .approvals
            .iter()
            .map(|r| who(p, std::slice::from_ref(r)))
            .collect();
        b.push(if each.len() == 1 {
            format!("Approvals: {n} by {}.", each[0])
        } else {
            format!("Approvals: {n} by each of {}.", each.join("; "))
        });
    }
    for c in p.checklist.iter().filter(|c| c.before == e.name) {
        let by =
            c.by.as_ref()
                .map(|r| format!(", ticked by {r}"))
                .unwrap_or_default();
        b.push(format!("Checklist: {} ({}{by}).", c.text, code(&c.id)));
    }
    if !e.windows.is_empty() {
        let w: Vec<String> = e.windows.iter().map(window_text).collect();
        b.push(format!(
            "Windows: {} ({}).",
            w.join("; "),
            p.cadence.timezone_name
        ));
    }
    if !e.freezes.is_empty() {
        let f: Vec<String> = e.freezes.iter().map(freeze_text).collect();
        b.push(format!("Freezes: {}.", f.join("; ")));
    }
    if !e.emergency_approvals.is_empty() {
        b.push(format!(
            "Emergency lane: approval by {}; recorded, follow-up review required.",
            who(p, &e.emergency_approvals)
        ));
    }
    let blocking: Vec<String> = p
        .severities
        .iter()
        .filter(|s| s.block_promotion)
        .map(|s| s.name.clone())
        .collect();
    if !blocking.is_empty() {
        b.push(format!(
            "No open incident of severity {} on the release.",
            blocking.join(" or ")
        ));
    }
    if let Some(d) = &e.deploy {
        b.push(format!(
            "Deploy: {} (timeout {}).",
            code(&d.text),
            format_duration(e.deploy_timeout)
        ));
    }
    if let Some(r) = &e.rollback {
        b.push(format!("Rollback: {}.", code(&r.text)));
    }
    if e.deploy.is_some() || e.rollback.is_some() {
        let mut given: Vec<String> = ["PATH", "HOME", "LANG", "TZ"]
            .iter()
            .map(|v| v.to_string())
            .chain(e.env.iter().cloned())
            .collect();
        given.push("SLUICE_VERSION, SLUICE_PREVIOUS, SLUICE_ENV, SLUICE_DEPLOYMENT".into());
        b.push(format!(
            "The commands receive only these variables: {}.",
            given.join(", ")
        ));
    }
    if !e.after_deploy_tests.is_empty() {
        b.push(format!(
            "After deploy: {} must pass.",
            e.after_deploy_tests.join(", ")
        ));
    }
    if let Some(m) = e.monitor_for {
        b.push(format!(
            "Monitoring window: {} after deploy{}.",
            format_duration(m),
            if e.auto_rollback {
                "; a blocking incident or a failed after-deploy suite inside it rolls back at once"
            } else {
                ""
            }
        ));
    }
    b
}

fn cadence_text(p: &Process) -> String {
    let c = &p.cadence;
    let when = match (c.day, c.time) {
        (Some(d), Some(t)) => format!(" on {} at {}", day_name(d), t.strftime("%H:%M")),
        _ => String::new(),
    };
    match c.kind {
        CadenceKind::OnDemand => format!(
            "Releases are cut on demand. Times are in {}.",
            c.timezone_name
        ),
        CadenceKind::Weekly => format!(
            "A release train leaves every week{when} ({}).",
            c.timezone_name
        ),
        CadenceKind::Biweekly => format!(
            "A release train leaves every other week{when} ({}).",
            c.timezone_name
        ),
    }
}

fn delivery_text(p: &Process) -> String {
    let mut out = match &p.smtp {
        Some(m) => {
            let tls = match m.tls {
                SmtpTls::Starttls => "STARTTLS",
                SmtpTls::Tls => "implicit TLS",
                SmtpTls::None => "no encryption",
            };
            let login = m
                .username
                .as_ref()
                .map(|u| format!(", logging in as {}", code(u)))
                .unwrap_or_default();
            format!(
                "Email is sent from {} through {}:{} ({tls}{login}).",
                m.from, m.host, m.port
            )
        }
        None => "No SMTP relay is configured: email is not sent.".to_string(),
    };
    out.push_str(&format!(
        " Failed deliveries are retried with backoff; a message undelivered after {} is dead and can be revived.",
        format_duration(p.delivery.max_age)
    ));
    let mut own: Vec<String> = Vec::new();
    let sets = std::iter::once(("every event".to_string(), &p.messages.all))
        .chain(p.messages.events.iter().map(|(e, m)| (e.clone(), m)));
    for (scope, m) in sets {
        for (name, t) in [
            ("subject", &m.subject),
            ("text", &m.text),
            ("html", &m.html),
            ("slack", &m.slack),
        ] {
            if let Some(t) = t {
                own.push(format!("{name} for {scope} from {}", code(&t.path)));
            }
        }
    }
    if !own.is_empty() {
        out.push_str(&format!(" Message templates: {}.", own.join("; ")));
    }
    out
}

fn channel_text(c: &Channel) -> String {
    let mut d = Vec::new();
    if let Some(s) = &c.slack {
        d.push(format!("Slack {}", code(s)));
    }
    if !c.email.is_empty() {
        d.push(format!("email {}", c.email.join(", ")));
    }
    if let Some(w) = &c.webhook {
        d.push(match c.format {
            WebhookFormat::CloudEvents => format!("webhook {}", code(w)),
            WebhookFormat::CdEvents => format!(
                "webhook {} (CDEvents {}: {} only)",
                code(w),
                crate::cdevents::SPEC_VERSION,
                crate::cdevents::mapped().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    if let Some(r) = &c.rate {
        d.push(format!("at most {}", code(&r.text)));
    }
    d.join("; ")
}

/// Step × role, `x` where the role is responsible.
fn responsibility_matrix(p: &Process) -> Block {
    if p.roles.is_empty() {
        return Block::Para("No roles are defined: anyone may do every step.".to_string());
    }
    let roles: Vec<&String> = p.roles.keys().collect();
    let mut head = vec!["step".to_string()];
    head.extend(roles.iter().map(|r| r.to_string()));
    let rows = Step::ALL
        .iter()
        .map(|s| {
            let mut row = vec![s.name().to_string()];
            let responsible = p.responsible(*s);
            row.extend(
                roles
                    .iter()
                    .map(|r| if responsible.contains(r) { "x" } else { "" }.to_string()),
            );
            row
        })
        .collect();
    Block::Table { head, rows }
}

pub(crate) fn document(p: &Process) -> Vec<Block> {
    let mut d = vec![Block::Title(format!("Release process: {}", p.project.name))];
    if let Some(x) = &p.project.purpose {
        d.push(Block::Para(format!("Purpose: {x}")));
    }
    if let Some(x) = &p.project.scope {
        d.push(Block::Para(format!("Scope: {x}")));
    }
    let lines: Vec<String> = p
        .project
        .maintained_lines
        .iter()
        .map(|l| l.to_string())
        .collect();
    d.push(Block::Bullets(vec![
        format!("Patch keys: {}", code(&format!("{}-N", p.project.key))),
        format!(
            "Maintained release lines: {}",
            or_none(&lines, "none listed")
        ),
        format!("Tags: {}", code(&p.project.tag)),
        format!("Release branches: {}", code(&p.project.release_branch)),
        format!("Patch branches: {}", code(&p.project.patch_branch)),
    ]));

    d.push(Block::Heading("Patch criteria".to_string()));
    d.push(Block::Table {
        head: [
            "kind",
            "SemVer bump",
            "allowed in a patch release",
            "changelog section",
        ]
        .map(String::from)
        .to_vec(),
        rows: p
            .kinds
            .iter()
            .map(|k| {
                let section = if k.breaking {
                    format!("{} (marked breaking)", k.section)
                } else {
                    k.section.clone()
                };
                vec![
                    k.name.clone(),
                    k.bump.to_string(),
                    yes(k.patch_release),
                    section,
                ]
            })
            .collect(),
    });

    d.push(Block::Heading("Severities".to_string()));
    d.push(Block::Table {
        head: [
            "severity",
            "fix within",
            "emergency lane",
            "retrospective",
            "open incident blocks promotion",
        ]
        .map(String::from)
        .to_vec(),
        rows: p
            .severities
            .iter()
            .map(|s| {
                let within = s
                    .fix_within
                    .map_or("no deadline".to_string(), format_duration);
                vec![
                    s.name.clone(),
                    within,
                    yes(s.emergency),
                    if s.retrospective { "required" } else { "no" }.to_string(),
                    yes(s.block_promotion),
                ]
            })
            .collect(),
    });

    d.push(Block::Heading("Roles and responsibilities".to_string()));
    d.push(responsibility_matrix(p));
    d.push(Block::Table {
        head: vec!["role".to_string(), "members".to_string()],
        rows: p
            .roles
            .iter()
            .map(|(r, m)| vec![r.clone(), m.join(", ")])
            .collect(),
    });

    d.push(Block::Heading("Steps".to_string()));
    d.push(Block::Numbered(
        Step::ALL
            .iter()
            .map(|s| {
                format!(
                    "{}. Responsible: {}. {}",
                    step_title(*s),
                    who(p, p.responsible(*s)),
                    step_text(p, *s)
                )
            })
            .collect(),
    ));

    d.push(Block::Heading("Environments and gates".to_string()));
    d.push(Block::Para(
        "A release enters each environment in order; the gate of an environment lists what it needs to enter."
            .to_string(),
    ));
    for (i, e) in p.environments.iter().enumerate() {
        d.push(Block::Subheading(format!("{}. {}", i + 1, e.name)));
        d.push(Block::Bullets(gate(p, i, e)));
    }

    d.push(Block::Heading("Windows and freezes".to_string()));
    d.push(Block::Table {
        head: ["environment", "windows", "freezes"]
            .map(String::from)
            .to_vec(),
        rows: p
            .environments
            .iter()
            .map(|e| {
                let w: Vec<String> = e.windows.iter().map(window_text).collect();
                let f: Vec<String> = e.freezes.iter().map(freeze_text).collect();
                vec![e.name.clone(), or_none(&w, "any time"), or_none(&f, "none")]
            })
            .collect(),
    });

    d.push(Block::Heading("Checklist".to_string()));
    if p.checklist.is_empty() {
        d.push(Block::Para("No checklist items.".to_string()));
    } else {
        d.push(Block::Table {
            head: ["id", "item", "ticked by", "before entering"]
                .map(String::from)
                .to_vec(),
            rows: p
                .checklist
                .iter()
                .map(|c| {
                    let by = c.by.clone().unwrap_or_else(|| "automatic".to_string());
                    vec![c.id.clone(), c.text.clone(), by, c.before.clone()]
                })
                .collect(),
        });
    }

    d.push(Block::Heading("Notifications".to_string()));
    if p.notify.is_empty() {
        d.push(Block::Para("Nobody is notified.".to_string()));
    } else {
        let mut rows = Vec::new();
        for n in &p.notify {
            let mut filter = Vec::new();
            if !n.environments.is_empty() {
                filter.push(format!("environments: {}", n.environments.join(", ")));
            }
            if !n.severities.is_empty() {
                filter.push(format!("severities: {}", n.severities.join(", ")));
            }
            if !n.release_types.is_empty() {
                let types: Vec<String> = n.release_types.iter().map(|b| b.to_string()).collect();
                filter.push(format!("release types: {}", types.join(", ")));
            }
            let filter = or_none(&filter, "all");
            for ev in &n.on {
                rows.push(vec![ev.clone(), filter.clone(), n.to.join(", ")]);
            }
        }
        d.push(Block::Table {
            head: ["event", "filter", "recipients"].map(String::from).to_vec(),
            rows,
        });
    }
    if !p.channels.is_empty() {
        d.push(Block::Table {
            head: ["channel", "delivery"].map(String::from).to_vec(),
            rows: p
                .channels
                .iter()
                .map(|c| vec![c.name.clone(), channel_text(c)])
                .collect(),
        });
    }

    if !p.webhooks.is_empty() {
        webhooks(p, &mut d);
    }
    d.push(Block::Para(delivery_text(p)));

    d.push(Block::Heading("Cadence".to_string()));
    d.push(Block::Para(cadence_text(p)));
    d
}

fn pairs(items: &[(String, String)]) -> String {
    items
        .iter()
        .map(|(l, n)| format!("{} → {n}", code(l)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn webhooks(p: &Process, d: &mut Vec<Block>) {
    let w = &p.webhooks;
    d.push(Block::Heading("Inbound webhooks".to_string()));
    d.push(Block::Para(format!(
        "Each source acts as {} (for example {}): list that name in a role to let it do what the role may.",
        code("webhook:SOURCE"),
        code("webhook:github")
    )));
    let mut rows = Vec::new();
    for (name, f) in [("github", &w.github), ("gitlab", &w.gitlab)] {
        let Some(f) = f else { continue };
        let mut what = Vec::new();
        if f.labels.is_empty() {
            what.push("issues are not reported".to_string());
        } else {
            let labels: Vec<String> = f.labels.iter().map(|l| code(l)).collect();
            what.push(format!(
                "issues labelled {} become patch reports",
                labels.join(" or ")
            ));
        }
        if !f.severity_labels.is_empty() {
            what.push(format!("severity from {}", pairs(&f.severity_labels)));
        }
        if !f.kind_labels.is_empty() {
            what.push(format!("kind from {}", pairs(&f.kind_labels)));
        }
        what.push("merged requests naming a patch key move the patch on".to_string());
        for m in &f.workflows {
            what.push(format!(
                "workflow {} reports suite {} in {}",
                code(&m.name),
                m.suite,
                m.env
            ));
        }
        rows.push(vec![name.to_string(), what.join("; ")]);
    }
    for (name, a) in [
        ("alertmanager", &w.alertmanager),
        ("grafana", &w.grafana),
        ("sentry", &w.sentry),
    ] {
        let Some(a) = a else { continue };
        let env = match &a.env {
            Some(e) => format!(
                "label {} names the environment (else {e})",
                code(&a.env_label)
            ),
            None => format!("label {} names the environment", code(&a.env_label)),
        };
        rows.push(vec![
            name.to_string(),
            format!(
                "firing alerts open incidents on the release deployed there, resolved ones resolve them; {env}; label {} names the service",
                code(&a.service_label)
            ),
        ]);
    }
    d.push(Block::Table {
        head: ["source", "what it does"].map(String::from).to_vec(),
        rows,
    });
}
