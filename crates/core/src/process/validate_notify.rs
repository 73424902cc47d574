//! Stage two, continued: how notifications leave. The SMTP relay, the
//! outbox's maximum age, channel rate limits and the template files that
//! replace the embedded messages. Template files are only named here; the
//! application reads and compiles them (loading never touches files) and
//! reports problems at the [`Position`] kept for each.

use jiff::SignedDuration;

use super::diag::{Position, Sink, list, suggest};
use super::model::*;
use super::raw::*;
use super::validate::duration;
use super::validate_env::{EVENTS, is_var_ref};
use super::walk::Sp;

pub(crate) fn smtp(s: &mut Sink<'_>, raw: &Option<RawSmtp>) -> Option<Smtp> {
    let r = raw.as_ref()?;
    let tls = match r.tls.as_ref().map(|t| (t, t.v.as_str())) {
        None | Some((_, "starttls")) => SmtpTls::Starttls,
        Some((_, "tls")) => SmtpTls::Tls,
        Some((_, "none")) => SmtpTls::None,
        Some((t, other)) => {
            let known = ["starttls", "tls", "none"];
            let rest = "tls is \"starttls\" (port 587), \"tls\" (implicit TLS, port 465) or \"none\" (a local relay, port 25)".to_string();
            // SSL and SMTPS are older names of implicit TLS.
            let hint = if ["ssl", "smtps"].contains(&other.to_ascii_lowercase().as_str()) {
                format!("did you mean `tls`? {rest}")
            } else {
                suggest(other, &known, rest)
            };
            s.error(
                t.span.clone(),
                format!("unknown SMTP security `{other}`"),
                Some(hint),
            );
            SmtpTls::Starttls
        }
    };
    let port = match &r.port {
        None => tls.default_port(),
        Some(p) => match u16::try_from(p.v) {
            Ok(n) if n > 0 => n,
            _ => {
                s.error(
                    p.span.clone(),
                    format!("bad SMTP port {}", p.v),
                    Some(format!(
                        "a port is 1 to 65535; the usual one for this tls setting is {}",
                        tls.default_port()
                    )),
                );
                tls.default_port()
            }
        },
    };
    if let Some(h) = &r.host
        && (h.v.trim().is_empty() || h.v.contains(['/', ' ', '@']))
    {
        s.error(
            h.span.clone(),
            format!("bad SMTP host `{}`", h.v),
            Some(
                "write a host name or an IP address, for example \"smtp.example.com\"".to_string(),
            ),
        );
    }
    if let Some(f) = &r.from {
        let addr = match (f.v.find('<'), f.v.rfind('>')) {
            (Some(a), Some(b)) if a < b => &f.v[a + 1..b],
            _ => f.v.as_str(),
        };
        if !addr.contains('@') || addr.contains(char::is_whitespace) {
            s.error(
                f.span.clone(),
                format!("`{}` is not a sender address", f.v),
                Some("write \"sluice@example.com\" or \"Sluice <sluice@example.com>\"".to_string()),
            );
        }
    }
    for (key, v, var) in [
        ("username", &r.username, "SMTP_USERNAME"),
        ("password", &r.password, "SMTP_PASSWORD"),
    ] {
        if let Some(v) = v
            && !is_var_ref(&v.v)
        {
            s.error(
                v.span.clone(),
                format!("secrets must be ${{VAR}} references: the SMTP {key} is a credential"),
                Some(format!(
                    "put it in an environment variable and write {key} = \"${{{var}}}\""
                )),
            );
        }
    }
    match (&r.username, &r.password) {
        (Some(u), None) => s.error(
            u.span.clone(),
            "[smtp] has a username but no password",
            Some("add password = \"${SMTP_PASSWORD}\", or remove username".to_string()),
        ),
        (None, Some(p)) => s.error(
            p.span.clone(),
            "[smtp] has a password but no username",
            Some("add username = \"${SMTP_USERNAME}\", or remove password".to_string()),
        ),
        _ => {}
    }
    if tls == SmtpTls::None
        && r.password.is_some()
        && let Some(t) = &r.tls
    {
        s.error(
            t.span.clone(),
            "an SMTP password would be sent without encryption",
            Some(
                "use tls = \"starttls\" or \"tls\", or drop the credentials for a local relay"
                    .to_string(),
            ),
        );
    }
    Some(Smtp {
        host: r.host.as_ref().map(|h| h.v.clone()).unwrap_or_default(),
        port,
        tls,
        from: r.from.as_ref().map(|f| f.v.clone()).unwrap_or_default(),
        username: r.username.as_ref().map(|x| x.v.clone()),
        password: r.password.as_ref().map(|x| x.v.clone()),
    })
}

pub(crate) fn delivery(s: &mut Sink<'_>, raw: &RawDelivery) -> DeliverySettings {
    let mut d = DeliverySettings::default();
    if let Some(age) = duration(s, &raw.max_age) {
        if age < SignedDuration::from_mins(1) {
            let at = raw.max_age.as_ref().map(|x| x.span.clone()).unwrap_or(0..0);
            s.error(
                at,
                "max_age is shorter than a minute",
                Some(
                    "messages would die before their first retry; write max_age = \"24h\""
                        .to_string(),
                ),
            );
        } else {
            d.max_age = age;
        }
    }
    d
}

/// `N/s`, `N/m`, `N/h` or `N/DURATION` (`10/5m`).
pub(crate) fn rate(s: &mut Sink<'_>, raw: &Option<Sp<String>>) -> Option<Rate> {
    let r = raw.as_ref()?;
    let bad = |s: &mut Sink<'_>, why: &str| {
        s.error(
            r.span.clone(),
            format!("bad rate `{}`: {why}", r.v),
            Some("write messages per time: \"1/s\", \"20/m\", \"100/h\" or \"5/10s\"".to_string()),
        );
        None
    };
    let Some((n, per)) = r.v.split_once('/') else {
        return bad(s, "no `/`");
    };
    let Ok(count) = n.trim().parse::<u32>() else {
        return bad(s, "the count is not a whole number");
    };
    if count == 0 {
        return bad(s, "a rate of 0 never sends anything");
    }
    let per = match per.trim() {
        "s" => SignedDuration::from_secs(1),
        "m" => SignedDuration::from_mins(1),
        "h" => SignedDuration::from_hours(1),
        d => match super::duration::parse_duration(d) {
            Ok(d) if d.is_positive() => d,
            _ => return bad(s, "the time is not s, m, h or a duration"),
        },
    };
    Some(Rate {
        text: r.v.clone(),
        count,
        per,
    })
}

/// Whether a path of the process file stays inside the repository: relative,
/// with no `..` component, no drive or control character. Reports it if not.
pub(super) fn inside_repository(s: &mut Sink<'_>, t: &Sp<String>, what: &str) -> bool {
    let p = t.v.as_str();
    let drive = p.as_bytes().get(1) == Some(&b':');
    if p.starts_with(['/', '\\'])
        || drive
        || p.chars().any(char::is_control)
        || p.split(['/', '\\']).any(|c| c == "..")
    {
        s.error(
            t.span.clone(),
            format!("{what} `{}` leaves the repository", p.escape_debug()),
            Some(
                "name a file inside the repository, relative to its root, without `..`".to_string(),
            ),
        );
        return false;
    }
    true
}

pub(crate) fn template(s: &mut Sink<'_>, t: &Option<Sp<String>>) -> Option<TemplateRef> {
    let t = t.as_ref()?;
    if t.v.trim().is_empty() {
        s.error(
            t.span.clone(),
            "empty template path",
            Some("name a file from the repository root, or remove the line".to_string()),
        );
        return None;
    }
    if !inside_repository(s, t, "template path") {
        return None;
    }
    let at: Position = s.src.position(t.span.clone());
    Some(TemplateRef {
        path: t.v.clone(),
        at,
    })
}

fn message_set(s: &mut Sink<'_>, m: &RawMessages) -> MessageSet {
    MessageSet {
        subject: template(s, &m.subject),
        text: template(s, &m.text),
        html: template(s, &m.html),
        slack: template(s, &m.slack),
    }
}

pub(crate) fn messages(
    s: &mut Sink<'_>,
    raw: &(RawMessages, Vec<(Sp<String>, RawMessages)>),
) -> MessageTemplates {
    let mut out = MessageTemplates {
        all: message_set(s, &raw.0),
        events: Vec::new(),
    };
    for (ev, m) in &raw.1 {
        if !EVENTS.contains(&ev.v.as_str()) {
            let rest = format!(
                "per-event templates are keyed by an event: {}",
                list(EVENTS)
            );
            s.error(
                ev.span.clone(),
                format!("unknown event `{}` in [messages]", ev.v),
                Some(suggest(&ev.v, EVENTS, rest)),
            );
            continue;
        }
        out.events.push((ev.v.clone(), message_set(s, m)));
    }
    out
}
