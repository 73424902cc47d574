//! Stage two of loading: raw values become the validated [`Process`], with
//! every cross-field rule checked and every problem reported, not just the
//! first. Required values that were missing or mistyped were reported by
//! `raw`; here they are simply skipped.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;

use super::diag::{Sink, Span, closest, list, suggest};
use super::duration::parse_duration;
use super::model::*;
use super::raw::*;
use super::template::unknown_placeholders;
use super::walk::Sp;
use super::window::{parse_time, parse_weekday};

pub(crate) const SECTIONS: &[&str] = &[
    "Added",
    "Changed",
    "Deprecated",
    "Removed",
    "Fixed",
    "Security",
];

/// Names defined in the file, for checking references.
pub(crate) struct Names {
    pub roles: Vec<String>,
    pub environments: Vec<String>,
    pub severities: Vec<String>,
    pub channels: Vec<String>,
}

impl Names {
    pub fn check_role(&self, s: &mut Sink<'_>, r: &Sp<String>) -> bool {
        if self.roles.contains(&r.v) {
            return true;
        }
        let known: Vec<&str> = self.roles.iter().map(String::as_str).collect();
        let hint = if known.is_empty() {
            format!(
                "define it under [roles], for example {} = [\"alice@example.com\"]",
                r.v
            )
        } else {
            suggest(
                &r.v,
                &known,
                format!("roles are defined under [roles]: {}", list(&known)),
            )
        };
        s.error(
            r.span.clone(),
            format!("unknown role `{}`", r.v),
            Some(hint),
        );
        false
    }

    pub fn check_roles(&self, s: &mut Sink<'_>, rs: &[Sp<String>]) -> Vec<String> {
        rs.iter()
            .filter(|r| self.check_role(s, r))
            .map(|r| r.v.clone())
            .collect()
    }

    /// Report a reference to an undefined name of some kind.
    pub fn check_in(
        s: &mut Sink<'_>,
        known: &[String],
        r: &Sp<String>,
        what: &str,
        defined: &str,
    ) -> bool {
        if known.contains(&r.v) {
            return true;
        }
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let rest = if known.is_empty() {
            format!("no {what} is defined; add one under {defined}")
        } else {
            format!("{what}s are defined under {defined}: {}", list(&known))
        };
        s.error(
            r.span.clone(),
            format!("unknown {what} `{}`", r.v),
            Some(suggest(&r.v, &known, rest)),
        );
        false
    }
}

/// A duration value, reported when it does not parse.
pub(crate) fn duration(s: &mut Sink<'_>, d: &Option<Sp<String>>) -> Option<jiff::SignedDuration> {
    let d = d.as_ref()?;
    parse_duration(&d.v)
        .map_err(|e| s.error(d.span.clone(), format!("bad duration `{}`", d.v), Some(e)))
        .ok()
}

/// Check the placeholders of a template; true when all are allowed.
pub(crate) fn check_template(
    s: &mut Sink<'_>,
    t: &Sp<String>,
    key: &str,
    allowed: &[&str],
) -> bool {
    let accepts = allowed
        .iter()
        .map(|a| format!("{{{a}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    match unknown_placeholders(&t.v, allowed) {
        Err(e) => {
            s.error(
                t.span.clone(),
                format!("`{key}` is not a valid template"),
                Some(format!("{e}; {key} accepts {accepts}")),
            );
            false
        }
        Ok(unknown) => {
            for p in &unknown {
                let rest = format!("{key} accepts {accepts}");
                s.error(
                    t.span.clone(),
                    format!("unknown placeholder `{{{p}}}` in `{key}`"),
                    Some(suggest(p, allowed, rest)),
                );
            }
            unknown.is_empty()
        }
    }
}

fn at_least_one(s: &mut Sink<'_>, header: Option<&Span>, what: &str, example: &str) {
    let (span, msg) = match header {
        Some(h) => (h.clone(), format!("{what} defines nothing")),
        None => (0..0, format!("the process file has no {what}")),
    };
    s.error(
        span,
        msg,
        Some(format!("add at least one, for example {example}")),
    );
}

/// Build the validated process, reporting every problem into `s`.
pub(crate) fn validate(s: &mut Sink<'_>, raw: RawProcess) -> Process {
    let names = Names {
        roles: {
            let mut r: Vec<String> = raw.roles.iter().map(|r| r.name.v.clone()).collect();
            r.sort();
            r
        },
        environments: raw
            .environments
            .iter()
            .filter_map(|e| e.name.as_ref().map(|n| n.v.clone()))
            .collect(),
        severities: raw
            .severities
            .iter()
            .flat_map(|(_, l)| l)
            .map(|x| x.name.v.clone())
            .collect(),
        channels: raw.channels.iter().map(|c| c.name.v.clone()).collect(),
    };
    let project = project(s, raw.project);

    let mut kinds = Vec::new();
    match &raw.kinds {
        Some((_, list)) if !list.is_empty() => {
            kinds = list.iter().filter_map(|k| kind(s, k)).collect()
        }
        header => at_least_one(
            s,
            header.as_ref().map(|h| &h.0),
            "[kinds]",
            "fix = { bump = \"patch\", section = \"Fixed\" }",
        ),
    }

    let mut severities = Vec::new();
    match &raw.severities {
        Some((_, list)) if !list.is_empty() => {
            severities = list
                .iter()
                .map(|x| SeverityDef {
                    name: x.name.v.clone(),
                    fix_within: duration(s, &x.fix_within),
                    emergency: x.emergency,
                    retrospective: x.retrospective,
                    block_promotion: x.block_promotion,
                })
                .collect();
        }
        header => at_least_one(
            s,
            header.as_ref().map(|h| &h.0),
            "[severities]",
            "critical = { fix_within = \"24h\", emergency = true }",
        ),
    }

    let mut roles = BTreeMap::new();
    for r in &raw.roles {
        if r.members.v.is_empty() {
            s.error(
                r.members.span.clone(),
                format!("role `{}` has no members", r.name.v),
                Some(format!(
                    "list who holds it: {} = [\"alice@example.com\"]",
                    r.name.v
                )),
            );
        }
        for m in &r.members.v {
            if m.v.trim().is_empty() {
                s.error(
                    m.span.clone(),
                    format!("empty member in role `{}`", r.name.v),
                    Some("write an email or a user name".to_string()),
                );
            }
        }
        roles.insert(
            r.name.v.clone(),
            r.members.v.iter().map(|m| m.v.clone()).collect(),
        );
    }

    let mut responsibilities = Vec::new();
    for (step, rs) in &raw.responsibilities {
        let Some(st) = Step::parse(&step.v) else {
            let known: Vec<&str> = Step::ALL.iter().map(|x| x.name()).collect();
            let rest = format!("the steps are: {}", list(&known));
            s.error(
                step.span.clone(),
                format!("unknown step `{}`", step.v),
                Some(suggest(&step.v, &known, rest)),
            );
            names.check_roles(s, &rs.v);
            continue;
        };
        if rs.v.is_empty() {
            s.error(
                rs.span.clone(),
                format!("step `{}` names no role", step.v),
                Some(format!("write {} = \"ROLE\" or remove the line", step.v)),
            );
        }
        responsibilities.push(Responsibility {
            step: st,
            roles: names.check_roles(s, &rs.v),
        });
    }

    let review = Review {
        min_approvals: raw.review.min_approvals.unwrap_or(1),
        author_may_approve: raw.review.author_may_approve.unwrap_or(false),
    };
    let cadence = cadence(s, raw.cadence);
    let environments = super::validate_env::environments(s, &names, &raw.environments, &roles);
    let checklist = super::validate_env::checklist(s, &names, &raw.checklist);
    let channels = super::validate_env::channels(s, &raw.channels);
    let notify = super::validate_env::notify(s, &names, &raw.notify);
    let kind_names: Vec<String> = raw
        .kinds
        .iter()
        .flat_map(|(_, l)| l)
        .map(|k| k.name.v.clone())
        .collect();
    let webhooks =
        super::validate_hooks::webhooks(s, &names, &kind_names, &environments, &raw.webhooks);
    let mut path = |t: &Option<Sp<String>>, what: &str| -> Option<String> {
        let t = t.as_ref()?;
        super::validate_notify::inside_repository(s, t, what).then(|| t.v.clone())
    };
    let changelog_file = path(&raw.changelog.file, "[changelog] file");
    let notes = NoteTemplates {
        markdown: path(&raw.notes.markdown, "[notes] markdown"),
        html: path(&raw.notes.html, "[notes] html"),
        text: path(&raw.notes.text, "[notes] text"),
        slack: path(&raw.notes.slack, "[notes] slack"),
    };
    let changelog = Changelog {
        file: changelog_file.unwrap_or_else(|| "CHANGELOG.md".to_string()),
        compare_url: raw.changelog.compare_url.as_ref().and_then(|t| {
            check_template(
                s,
                t,
                "compare_url",
                &["previous_tag", "tag", "previous", "version"],
            )
            .then(|| t.v.clone())
        }),
    };
    let smtp = super::validate_notify::smtp(s, &raw.smtp);
    let delivery = super::validate_notify::delivery(s, &raw.delivery);
    let emergency = EmergencySettings {
        follow_up_within: duration(s, &raw.emergency.follow_up_within)
            .unwrap_or(jiff::SignedDuration::from_hours(48)),
    };
    let messages = super::validate_notify::messages(s, &raw.messages);
    let server = ServerSettings {
        metrics_token: raw.server.metrics_token.as_ref().and_then(|t| {
            if super::validate_env::is_var_ref(&t.v) {
                Some(t.v.clone())
            } else {
                s.error(
                    t.span.clone(),
                    "secrets must be ${VAR} references: the metrics token is a credential",
                    Some(
                        "put it in an environment variable and write metrics_token = \"${SLUICE_METRICS_TOKEN}\""
                            .to_string(),
                    ),
                );
                None
            }
        }),
    };

    let retro = {
        let r = &raw.retro;
        let d = RetroSettings::default();
        let owner = r.owner.as_ref().and_then(|o| {
            if roles.contains_key(&o.v) {
                Some(o.v.clone())
            } else {
                let known: Vec<&str> = roles.keys().map(String::as_str).collect();
                s.error(
                    o.span.clone(),
                    format!("unknown role `{}` for [retro] owner", o.v),
                    Some(format!("roles are: {}", known.join(", "))),
                );
                None
            }
        });
        let template = super::validate_notify::template(s, &r.template);
        RetroSettings {
            on_severity: r.on_severity.as_ref().map_or(d.on_severity, |b| b.v),
            on_emergency: r.on_emergency.as_ref().map_or(d.on_emergency, |b| b.v),
            on_rollback: r.on_rollback.as_ref().map_or(d.on_rollback, |b| b.v),
            due_within: duration(s, &r.due_within).unwrap_or(d.due_within),
            owner,
            template,
        }
    };

    Process {
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
        webhooks,
    }
}

fn text(x: &Option<Sp<String>>) -> Option<String> {
    x.as_ref().map(|x| x.v.clone())
}

fn project(s: &mut Sink<'_>, p: Option<RawProject>) -> Project {
    let Some(p) = p else {
        return Project {
            name: String::new(),
            key: String::new(),
            purpose: None,
            scope: None,
            tag: String::new(),
            release_branch: String::new(),
            patch_branch: String::new(),
            maintained_lines: Vec::new(),
        };
    };
    if let Some(n) = &p.name
        && n.v.trim().is_empty()
    {
        s.error(
            n.span.clone(),
            "the project name is empty",
            Some("write name = \"shop\"".to_string()),
        );
    }
    if let Some(k) = &p.key {
        let mut b = k.v.bytes();
        let ok = b.next().is_some_and(|c| c.is_ascii_uppercase())
            && b.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !ok {
            s.error(
                k.span.clone(),
                format!("bad project key `{}`", k.v),
                Some(format!(
                    "a key is uppercase ASCII letters and digits starting with a letter, for example `{}`",
                    Some(k.v.to_ascii_uppercase().replace(|c: char| !c.is_ascii_alphanumeric(), ""))
                        .filter(|x| x.starts_with(|c: char| c.is_ascii_uppercase()))
                        .unwrap_or_else(|| "SHOP".to_string())
                )),
            );
        }
    }
    if let Some(t) = &p.tag
        && check_template(s, t, "tag", &["version", "major", "minor", "patch"])
    {
        let has = |x: &str| t.v.contains(&format!("{{{x}}}"));
        let names_version = has("version") || (has("major") && has("minor") && has("patch"));
        if !names_version {
            s.error(
                t.span.clone(),
                format!("tag `{}` does not name the version", t.v),
                Some("use {version}, or all of {major}, {minor} and {patch}, for example \"v{version}\"".to_string()),
            );
        }
    }
    if let Some(t) = &p.release_branch {
        check_template(s, t, "release_branch", &["major", "minor"]);
    }
    if let Some(t) = &p.patch_branch {
        check_template(s, t, "patch_branch", &["key", "slug", "line"]);
    }
    let mut lines: Vec<Line> = Vec::new();
    let mut first_at: Vec<usize> = Vec::new();
    for l in &p.maintained_lines {
        match l.v.parse::<Line>() {
            Err(e) => s.error(
                l.span.clone(),
                format!("bad release line `{}`", l.v),
                Some(e),
            ),
            Ok(line) => {
                if let Some(i) = lines.iter().position(|x| *x == line) {
                    let first = s.src.line_of(first_at[i]);
                    s.error(
                        l.span.clone(),
                        format!("release line `{line}` is listed twice"),
                        Some(format!("it is already listed on line {first}; remove one")),
                    );
                } else {
                    lines.push(line);
                    first_at.push(l.span.start);
                }
            }
        }
    }
    Project {
        name: text(&p.name).unwrap_or_default(),
        key: text(&p.key).unwrap_or_default(),
        purpose: text(&p.purpose),
        scope: text(&p.scope),
        tag: text(&p.tag).unwrap_or_else(|| "v{version}".to_string()),
        release_branch: text(&p.release_branch)
            .unwrap_or_else(|| "release/{major}.{minor}".to_string()),
        patch_branch: text(&p.patch_branch).unwrap_or_else(|| "hotfix/{key}-{slug}".to_string()),
        maintained_lines: lines,
    }
}

fn kind(s: &mut Sink<'_>, k: &RawKind) -> Option<KindDef> {
    let bump = k.bump.as_ref().and_then(|b| {
        let v = match b.v.as_str() {
            "patch" => Some(Bump::Patch),
            "minor" => Some(Bump::Minor),
            "major" => Some(Bump::Major),
            _ => None,
        };
        if v.is_none() {
            let known = ["patch", "minor", "major"];
            let rest = "bump is one of patch, minor, major".to_string();
            s.error(
                b.span.clone(),
                format!("unknown bump `{}`", b.v),
                Some(suggest(&b.v, &known, rest)),
            );
        }
        v
    });
    let section = k.section.as_ref().and_then(|x| {
        if SECTIONS.contains(&x.v.as_str()) {
            return Some(x.v.clone());
        }
        let rest = format!("Keep a Changelog sections are: {}", list(SECTIONS));
        s.error(
            x.span.clone(),
            format!("unknown changelog section `{}`", x.v),
            Some(suggest(&x.v, SECTIONS, rest)),
        );
        None
    });
    let bump = bump?;
    if bump != Bump::Patch
        && let Some(pr) = &k.patch_release
        && pr.v
    {
        s.error(
            pr.span.clone(),
            format!(
                "kind `{}` bumps the {bump} version, so it cannot ship in a patch release",
                k.name.v
            ),
            Some("set patch_release = false, or bump = \"patch\"".to_string()),
        );
    }
    Some(KindDef {
        name: k.name.v.clone(),
        bump,
        section: section?,
        patch_release: k
            .patch_release
            .as_ref()
            .map_or(bump == Bump::Patch, |b| b.v),
        breaking: k.breaking.as_ref().map_or(bump == Bump::Major, |b| b.v),
    })
}

fn cadence(s: &mut Sink<'_>, c: RawCadence) -> Cadence {
    let kind = match c.kind.as_ref().map(|k| (k, k.v.as_str())) {
        None | Some((_, "on-demand")) => CadenceKind::OnDemand,
        Some((_, "weekly")) => CadenceKind::Weekly,
        Some((_, "biweekly")) => CadenceKind::Biweekly,
        Some((k, other)) => {
            let known = ["on-demand", "weekly", "biweekly"];
            let rest = "kind is one of on-demand, weekly, biweekly".to_string();
            s.error(
                k.span.clone(),
                format!("unknown cadence `{other}`"),
                Some(suggest(other, &known, rest)),
            );
            CadenceKind::OnDemand
        }
    };
    if kind != CadenceKind::OnDemand {
        let at = c
            .kind
            .as_ref()
            .map(|k| k.span.clone())
            .or(c.span.clone())
            .unwrap_or(0..0);
        let name = if kind == CadenceKind::Weekly {
            "weekly"
        } else {
            "biweekly"
        };
        if c.day.is_none() {
            s.error(
                at.clone(),
                format!("a {name} cadence needs a `day`"),
                Some("add day = \"tue\" (mon..sun) to [cadence]".to_string()),
            );
        }
        if c.time.is_none() {
            s.error(
                at,
                format!("a {name} cadence needs a `time`"),
                Some("add time = \"10:00\" to [cadence]".to_string()),
            );
        }
    }
    let day = c.day.as_ref().and_then(|d| {
        parse_weekday(&d.v)
            .map_err(|e| s.error(d.span.clone(), format!("bad day `{}`", d.v), Some(e)))
            .ok()
    });
    let time = c.time.as_ref().and_then(|t| {
        parse_time(&t.v)
            .map_err(|e| s.error(t.span.clone(), format!("bad time `{}`", t.v), Some(e)))
            .ok()
    });
    let (timezone_name, timezone) = match &c.timezone {
        None => ("UTC".to_string(), TimeZone::UTC),
        Some(tz) => match jiff::tz::db().get(&tz.v) {
            Ok(zone) => (zone.iana_name().unwrap_or(&tz.v).to_string(), zone),
            Err(_) => {
                s.error(
                    tz.span.clone(),
                    format!("unknown time zone `{}`", tz.v),
                    Some(tz_hint(&tz.v)),
                );
                (tz.v.clone(), TimeZone::UTC)
            }
        },
    };
    Cadence {
        kind,
        day,
        time,
        timezone_name,
        timezone,
    }
}

fn tz_hint(name: &str) -> String {
    let all: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .collect();
    let exact = all.iter().find(|n| n.eq_ignore_ascii_case(name));
    let near = exact.map(String::as_str).or_else(|| {
        closest(name, all.iter().map(String::as_str)).or_else(|| {
            // Compare the city part only: `Oslo` finds `Europe/Oslo`.
            let city = name.rsplit('/').next().unwrap_or(name);
            all.iter().map(String::as_str).find(|n| {
                n.rsplit('/')
                    .next()
                    .is_some_and(|c| c.eq_ignore_ascii_case(city))
            })
        })
    });
    match near {
        Some(n) => format!("did you mean `{n}`? time zones are IANA names"),
        None => "use an IANA time zone name such as `Europe/Oslo` or `UTC`".to_string(),
    }
}
