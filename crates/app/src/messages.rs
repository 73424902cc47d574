//! Notification messages: the templates every outbox message is rendered
//! through, embedded in the binary and replaceable by files the process file
//! names under `[messages]` (for every event, or for one event).
//!
//! One message has four renderings: `subject` (one line: the email subject,
//! the Slack fallback text, the webhook summary), `text` and `html` (the two
//! parts of the email) and `slack` (mrkdwn). The embedded templates share
//! `what.j2`, the one-line description of each event kind, which every
//! template sees as `what` (plain) and `what_md` (Slack mrkdwn); the
//! `sentence` filter upper-cases a first letter.
//!
//! Template files are read and compiled once, by [`Templates::load`]; a file
//! that cannot be read or does not compile is a process-file diagnostic at
//! the line that names it. Rendering sees only the outbox payload: secrets are
//! never in it.

use std::collections::HashMap;
use std::path::Path;

use jiff::Timestamp;
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;
use serde_json::Value as Json;
use sluice_core::process::{Diagnostic, Diagnostics, EVENTS, MessageSet, Process};
use sluice_store::OutboxRow;

/// The renderings of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Subject,
    Text,
    Html,
    Slack,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Subject, Format::Text, Format::Html, Format::Slack];

    pub fn name(self) -> &'static str {
        match self {
            Format::Subject => "subject",
            Format::Text => "text",
            Format::Html => "html",
            Format::Slack => "slack",
        }
    }

    fn embedded(self) -> &'static str {
        match self {
            Format::Subject => include_str!("../templates/notify/subject.j2"),
            Format::Text => include_str!("../templates/notify/text.j2"),
            Format::Html => include_str!("../templates/notify/html.j2"),
            Format::Slack => include_str!("../templates/notify/slack.j2"),
        }
    }

    fn of(self, m: &MessageSet) -> Option<&sluice_core::process::TemplateRef> {
        match self {
            Format::Subject => m.subject.as_ref(),
            Format::Text => m.text.as_ref(),
            Format::Html => m.html.as_ref(),
            Format::Slack => m.slack.as_ref(),
        }
    }
}

const WHAT: &str = include_str!("../templates/notify/what.j2");

/// What a template sees: the outbox payload, flattened.
#[derive(Debug, Clone, Serialize)]
pub struct MessageContext {
    pub project: String,
    pub event: String,
    /// The patch key or release version the event is about.
    pub subject: String,
    pub actor: String,
    /// When the command ran, RFC 3339 UTC.
    pub time: String,
    pub env: Option<String>,
    pub severities: Vec<String>,
    pub release_type: Option<String>,
    /// The event's own fields (title, reason, patches...).
    pub data: Json,
    /// The message id (the same on every retry).
    pub id: String,
    /// The recipient as the rule names it: a channel or `role:NAME`.
    pub channel: String,
}

impl MessageContext {
    /// The context of a stored message.
    pub fn of_row(m: &OutboxRow) -> MessageContext {
        let p: Json = serde_json::from_str(&m.payload).unwrap_or(Json::Null);
        Self::of_payload(&p, &m.id, &m.channel, m.created_ms)
    }

    /// The context of an outbox payload (as `outbox::messages` writes it).
    pub fn of_payload(p: &Json, id: &str, channel: &str, fallback_ms: i64) -> MessageContext {
        let s = |k: &str| p.get(k).and_then(Json::as_str).map(str::to_string);
        let at = p.get("at_ms").and_then(Json::as_i64).unwrap_or(fallback_ms);
        MessageContext {
            project: s("project").unwrap_or_default(),
            event: s("event").unwrap_or_default(),
            subject: s("subject").unwrap_or_default(),
            actor: s("actor").unwrap_or_default(),
            time: Timestamp::from_millisecond(at)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            env: s("env"),
            severities: p
                .get("severities")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            release_type: s("release_type"),
            data: p.get("data").cloned().unwrap_or(Json::Null),
            id: id.to_string(),
            channel: channel.to_string(),
        }
    }
}

/// A message rendered in every format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub slack: String,
}

/// A template that failed to render (a runtime error in a replacement
/// template, say). Never holds a secret: templates see none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {format} template for {event} does not render: {message}")]
pub struct RenderError {
    pub format: &'static str,
    pub event: String,
    pub message: String,
}

/// Does the process file name any template file?
pub fn names_files(p: &Process) -> bool {
    std::iter::once(&p.messages.all)
        .chain(p.messages.events.iter().map(|(_, m)| m))
        .any(|m| Format::ALL.iter().any(|f| f.of(m).is_some()))
}

/// The compiled templates of a process.
pub struct Templates {
    env: Environment<'static>,
    /// (event or "" for every event, format) -> template name in `env`.
    names: HashMap<(String, Format), String>,
}

/// Escapes text for Slack's mrkdwn: `&`, `<` and `>` (so `<!channel>`,
/// `<@U123>` and `<http://x|y>` stay literal).
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The first letter in upper case, the rest as is (`capitalize` lowers it).
fn sentence(s: String) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.add_filter("sentence", sentence);
    env.set_auto_escape_callback(|name| {
        if name.ends_with("html") {
            AutoEscape::Html
        } else if name.ends_with("slack") {
            AutoEscape::Custom("slack".into())
        } else {
            AutoEscape::None
        }
    });
    // Slack mrkdwn: values cannot inject links or mentions (`<!channel>`).
    env.set_formatter(|out, state, value| {
        if matches!(state.auto_escape(), AutoEscape::Custom(n) if n == "slack") {
            if value.is_safe() || value.is_none() || value.is_undefined() {
                if !value.is_none() && !value.is_undefined() {
                    write!(out, "{value}")?;
                }
            } else {
                write!(out, "{}", slack_escape(&value.to_string()))?;
            }
            Ok(())
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env
}

impl Templates {
    /// The embedded templates only.
    pub fn embedded() -> Templates {
        let mut env = environment();
        let mut names = HashMap::new();
        env.add_template("what", WHAT)
            .expect("the embedded what template compiles");
        for f in Format::ALL {
            let name = format!("embedded/{}", f.name());
            env.add_template_owned(name.clone(), f.embedded())
                .expect("the embedded templates compile");
            names.insert((String::new(), f), name);
        }
        Templates { env, names }
    }

    /// The embedded templates with the process file's replacements, read
    /// from `root`. Every file that cannot be read or compiled is reported,
    /// at the line of the process file that names it.
    pub fn load(p: &Process, root: &Path) -> Result<Templates, Diagnostics> {
        let mut t = Templates::embedded();
        let mut problems: Vec<Diagnostic> = Vec::new();
        let scopes = std::iter::once((String::new(), &p.messages.all))
            .chain(p.messages.events.iter().map(|(e, m)| (e.clone(), m)));
        for (event, set) in scopes {
            for f in Format::ALL {
                let Some(r) = f.of(set) else { continue };
                let read = crate::repo_file(root, &r.path)
                    .and_then(|full| std::fs::read_to_string(full).map_err(|e| e.to_string()));
                let source = match read {
                    Ok(s) => s,
                    Err(e) => {
                        problems.push(r.at.diagnostic(
                            format!("cannot read the {} template `{}`: {e}", f.name(), r.path),
                            Some(
                                "create the file (the path is from the repository root) or remove the line"
                                    .to_string(),
                            ),
                        ));
                        continue;
                    }
                };
                let scope = if event.is_empty() { "all" } else { &event };
                // The name ends with the format, so html and slack escape.
                let name = format!("{scope}/{}/{}", r.path, f.name());
                match t.env.add_template_owned(name.clone(), source) {
                    Ok(()) => {
                        t.names.insert((event.clone(), f), name);
                    }
                    Err(e) => problems.push(r.at.diagnostic(
                        format!(
                            "the {} template `{}` does not compile: {e}",
                            f.name(),
                            r.path
                        ),
                        Some("fix the template syntax (minijinja, like Jinja2)".to_string()),
                    )),
                }
            }
        }
        if problems.is_empty() {
            Ok(t)
        } else {
            Err(Diagnostics(problems))
        }
    }

    fn name(&self, event: &str, f: Format) -> &str {
        self.names
            .get(&(event.to_string(), f))
            .or_else(|| self.names.get(&(String::new(), f)))
            .map(String::as_str)
            .expect("every format has an embedded template")
    }

    /// Renders a message in every format.
    pub fn render(&self, ctx: &MessageContext) -> Result<Rendered, RenderError> {
        let err = |format: &'static str, e: minijinja::Error| RenderError {
            format,
            event: ctx.event.clone(),
            message: e.to_string(),
        };
        let base = Value::from(minijinja::value::Serde(ctx));
        let what = self.env.get_template("what").map_err(|e| err("what", e))?;
        let plain = what
            .render(minijinja::context! { b => "", ..base.clone() })
            .map_err(|e| err("what", e))?;
        let md = what
            .render(minijinja::context! { b => "*", ..base.clone() })
            .map_err(|e| err("what", e))?;
        let full = minijinja::context! {
            what => plain.trim(),
            what_md => Value::from_safe_string(slack_escape(md.trim())),
            ..base
        };
        let one = |f: Format| -> Result<String, RenderError> {
            let t = self
                .env
                .get_template(self.name(&ctx.event, f))
                .map_err(|e| err(f.name(), e))?;
            let out = t.render(full.clone()).map_err(|e| err(f.name(), e))?;
            Ok(out.trim().to_string() + if f == Format::Subject { "" } else { "\n" })
        };
        let subject = one(Format::Subject)?;
        // A subject is one line, whatever a template does.
        let subject = subject.lines().next().unwrap_or("").trim().to_string();
        Ok(Rendered {
            subject,
            text: one(Format::Text)?,
            html: one(Format::Html)?,
            slack: one(Format::Slack)?.trim_end().to_string(),
        })
    }
}

/// An example context for an event, for `notify preview` and the template
/// test: the first maintained line's next patch, or `1.0.1`, and `KEY-1`.
pub fn sample_context(
    p: &Process,
    event: &str,
    env: Option<&str>,
    severities: &[String],
    release_type: Option<&str>,
    channel: &str,
) -> MessageContext {
    let version = p
        .project
        .maintained_lines
        .last()
        .map(|l| format!("{}.{}.1", l.major, l.minor))
        .unwrap_or_else(|| "1.0.1".to_string());
    let key = format!("{}-1", p.project.key);
    let release_like = !event.starts_with("patch.");
    let subject = if release_like {
        version.clone()
    } else {
        key.clone()
    };
    let env_name = env.map(str::to_string);
    let data = match event {
        "patch.reported" => {
            serde_json::json!({"title": "Checkout total is wrong", "severity": severities.first()})
        }
        "patch.triaged" => serde_json::json!({"severity": severities.first()}),
        "patch.released" | "patch.reopened" => {
            serde_json::json!({"release": version, "env": env_name})
        }
        "release.cut" => serde_json::json!({"patches": [key]}),
        "release.approved" => serde_json::json!({"env": env_name, "role": "product_owner"}),
        "release.rolled_back" => serde_json::json!({"env": env_name, "to": "1.0.0"}),
        "freeze.starting" => serde_json::json!({"reason": "holidays"}),
        _ => serde_json::json!({"env": env_name}),
    };
    debug_assert!(EVENTS.contains(&event));
    MessageContext {
        project: p.project.name.clone(),
        event: event.to_string(),
        subject,
        actor: "bob@example.com".to_string(),
        time: "2026-11-24T10:00:00Z".to_string(),
        env: env_name,
        severities: severities.to_vec(),
        release_type: release_type.map(str::to_string),
        data,
        id: "msg-example".to_string(),
        channel: channel.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process() -> Process {
        sluice_core::process::load("sluice.toml", sluice_core::process::DEFAULT_PROCESS).unwrap()
    }

    /// Every embedded template, rendered once for every event.
    #[test]
    fn every_embedded_template_renders_for_every_event() {
        let p = process();
        let t = Templates::embedded();
        for event in EVENTS {
            let sevs = vec!["critical".to_string()];
            let ctx = sample_context(&p, event, Some("prod"), &sevs, Some("minor"), "releases");
            let r = t.render(&ctx).unwrap_or_else(|e| panic!("{e}"));
            assert!(r.subject.starts_with("[shop] "), "{event}: {}", r.subject);
            assert!(!r.subject.contains('\n'));
            let what_word = if *event == "freeze.starting" {
                "freeze"
            } else {
                ctx.subject.as_str()
            };
            for (f, out) in [
                ("subject", &r.subject),
                ("text", &r.text),
                ("html", &r.html),
                ("slack", &r.slack),
            ] {
                assert!(out.contains(what_word), "{event} {f}: {out}");
                assert!(
                    !out.contains("{{") && !out.contains("{%"),
                    "{event} {f}: {out}"
                );
                assert!(
                    !out.contains("undefined") && !out.contains("none"),
                    "{event} {f}: {out}"
                );
            }
            assert!(r.text.contains("msg-example") && r.html.contains("msg-example"));
            assert!(r.html.starts_with("<!DOCTYPE html>"), "{}", r.html);
        }
    }

    #[test]
    fn messages_read_well() {
        let p = process();
        let t = Templates::embedded();
        let ctx = sample_context(&p, "release.deployed", Some("prod"), &[], None, "releases");
        let r = t.render(&ctx).unwrap();
        assert_eq!(
            r.subject,
            "[shop] release 1.3.1 deployed to prod by bob@example.com"
        );
        assert_eq!(
            r.slack,
            "[shop] release *1.3.1* deployed to prod by bob@example.com"
        );
        let text_lines: Vec<&str> = r.text.lines().collect();
        assert_eq!(text_lines[0], "Release 1.3.1 deployed to prod.");
    }

    #[test]
    fn values_are_escaped_for_html_and_slack() {
        let p = process();
        let t = Templates::embedded();
        let mut ctx = sample_context(&p, "patch.reported", None, &[], None, "releases");
        ctx.data = serde_json::json!({"title": "<script>x</script> & <!channel>"});
        let r = t.render(&ctx).unwrap();
        assert!(r.html.contains("&lt;script&gt;"), "{}", r.html);
        assert!(!r.html.contains("<script>"));
        assert!(
            r.slack.contains("&lt;!channel&gt;") && r.slack.contains("&amp;"),
            "{}",
            r.slack
        );
        assert!(
            r.text.contains("<script>x</script>"),
            "plain text is not escaped"
        );
    }

    #[test]
    fn replacements_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ops")).unwrap();
        std::fs::write(
            dir.path().join("ops/subject.j2"),
            "{{ project }}: {{ event }} {{ subject }}",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("ops/deployed.txt.j2"),
            "Shipped {{ subject }} to {{ env }}.",
        )
        .unwrap();
        std::fs::write(dir.path().join("ops/broken.html.j2"), "{% if %}").unwrap();
        let base = sluice_core::process::DEFAULT_PROCESS.replace(
            "[messages]\n",
            "[messages]\nsubject = \"ops/subject.j2\"\n\n[messages.\"release.deployed\"]\ntext = \"ops/deployed.txt.j2\"\n",
        );
        let p = sluice_core::process::load("sluice.toml", &base).unwrap();
        let t = Templates::load(&p, dir.path()).unwrap();
        let ctx = sample_context(&p, "release.deployed", Some("prod"), &[], None, "releases");
        let r = t.render(&ctx).unwrap();
        assert_eq!(r.subject, "shop: release.deployed 1.3.1");
        assert_eq!(r.text, "Shipped 1.3.1 to prod.\n");
        // Other events keep the embedded text.
        let ctx = sample_context(&p, "release.cut", None, &[], None, "releases");
        assert!(
            t.render(&ctx)
                .unwrap()
                .text
                .starts_with("Release 1.3.1 cut")
        );

        let bad = sluice_core::process::DEFAULT_PROCESS.replace(
            "[messages]\n",
            "[messages]\nhtml = \"ops/broken.html.j2\"\nslack = \"ops/missing.j2\"\n",
        );
        let p = sluice_core::process::load("sluice.toml", &bad).unwrap();
        let d = Templates::load(&p, dir.path()).err().unwrap();
        assert_eq!(d.0.len(), 2, "{d}");
        let all = d.to_string();
        assert!(
            all.contains("the html template `ops/broken.html.j2` does not compile"),
            "{all}"
        );
        assert!(
            all.contains("cannot read the slack template `ops/missing.j2`"),
            "{all}"
        );
        assert!(
            d.0.iter()
                .all(|x| x.line > 1 && x.source_line.contains("ops/")),
            "{all}"
        );
    }
}
