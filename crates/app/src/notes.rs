//! Release notes: the data of a release rendered through minijinja templates.
//! Embedded defaults exist for Markdown, HTML, plain text and Slack mrkdwn; the
//! process file may name replacements. Markdown is also the changelog section
//! and the annotated tag's message, and is what `release notes --edit` edits.

use std::path::Path;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use sluice_core::model::{Patch, Release};
use sluice_core::process::Process;

use crate::{AppError, Result};

/// The formats release notes come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotesFormat {
    Markdown,
    Html,
    Text,
    Slack,
}

impl std::str::FromStr for NotesFormat {
    type Err = String;
    /// `md` (or `markdown`), `html`, `text` or `slack`.
    fn from_str(s: &str) -> std::result::Result<NotesFormat, String> {
        Ok(match s {
            "md" | "markdown" => NotesFormat::Markdown,
            "html" => NotesFormat::Html,
            "text" => NotesFormat::Text,
            "slack" => NotesFormat::Slack,
            other => {
                return Err(format!(
                    "unknown notes format `{other}`; use md, html, text or slack"
                ));
            }
        })
    }
}

impl NotesFormat {
    /// The name a request gives it.
    pub fn name(self) -> &'static str {
        match self {
            NotesFormat::Markdown => "md",
            NotesFormat::Html => "html",
            NotesFormat::Text => "text",
            NotesFormat::Slack => "slack",
        }
    }

    pub const ALL: [NotesFormat; 4] = [
        NotesFormat::Markdown,
        NotesFormat::Html,
        NotesFormat::Text,
        NotesFormat::Slack,
    ];

    fn template_name(self) -> &'static str {
        match self {
            NotesFormat::Markdown => "notes.md.j2",
            NotesFormat::Html => "notes.html.j2",
            NotesFormat::Text => "notes.txt.j2",
            NotesFormat::Slack => "notes.slack.j2",
        }
    }

    fn embedded(self) -> &'static str {
        match self {
            NotesFormat::Markdown => include_str!("../templates/notes.md.j2"),
            NotesFormat::Html => include_str!("../templates/notes.html.j2"),
            NotesFormat::Text => include_str!("../templates/notes.txt.j2"),
            NotesFormat::Slack => include_str!("../templates/notes.slack.j2"),
        }
    }

    fn override_path(self, p: &Process) -> Option<&str> {
        match self {
            NotesFormat::Markdown => p.notes.markdown.as_deref(),
            NotesFormat::Html => p.notes.html.as_deref(),
            NotesFormat::Text => p.notes.text.as_deref(),
            NotesFormat::Slack => p.notes.slack.as_deref(),
        }
    }
}

/// One entry: a patch in the release.
#[derive(Debug, Clone, Serialize)]
pub struct NoteEntry {
    pub key: String,
    pub title: String,
    pub kind: String,
    pub severity: Option<String>,
    pub breaking: bool,
    pub commits: Vec<String>,
}

/// A Keep a Changelog section of the notes.
#[derive(Debug, Clone, Serialize)]
pub struct NoteSection {
    pub heading: String,
    pub entries: Vec<NoteEntry>,
}

/// Everything a notes template can use.
#[derive(Debug, Clone, Serialize)]
pub struct NotesContext {
    pub project: String,
    pub version: String,
    pub previous: Option<String>,
    pub tag: String,
    pub previous_tag: Option<String>,
    pub line: String,
    pub date: String,
    pub content_hash: String,
    pub sections: Vec<NoteSection>,
}

const ORDER: [&str; 6] = [
    "Added",
    "Changed",
    "Deprecated",
    "Removed",
    "Fixed",
    "Security",
];

/// The tag name of a version under the process's template.
pub fn tag_name(p: &Process, v: &semver::Version) -> String {
    sluice_core::decide::fill(
        &p.project.tag,
        &[
            ("version", &v.to_string()),
            ("major", &v.major.to_string()),
            ("minor", &v.minor.to_string()),
            ("patch", &v.patch.to_string()),
        ],
    )
}

/// Builds the template context of a release.
pub fn context(p: &Process, r: &Release, patches: &[Patch]) -> NotesContext {
    let mut sections: Vec<NoteSection> = Vec::new();
    for x in patches {
        let kind = x.kind.clone().unwrap_or_default();
        let def = p.kind(&kind);
        let heading = def
            .map(|d| d.section.clone())
            .unwrap_or_else(|| "Changed".to_string());
        let entry = NoteEntry {
            key: x.key.clone(),
            title: x.title.clone(),
            kind,
            severity: x.severity.clone(),
            breaking: def.is_some_and(|d| d.breaking),
            commits: Vec::new(),
        };
        match sections.iter_mut().find(|s| s.heading == heading) {
            Some(s) => s.entries.push(entry),
            None => sections.push(NoteSection {
                heading,
                entries: vec![entry],
            }),
        }
    }
    sections.sort_by_key(|s| {
        ORDER
            .iter()
            .position(|h| *h == s.heading)
            .unwrap_or(ORDER.len())
    });
    let date = r
        .created_at
        .to_zoned_datetime(p.cadence.timezone.clone())
        .date()
        .to_string();
    NotesContext {
        project: p.project.name.clone(),
        version: r.version.to_string(),
        previous: r.previous.as_ref().map(|v| v.to_string()),
        tag: tag_name(p, &r.version),
        previous_tag: r.previous.as_ref().map(|v| tag_name(p, v)),
        line: r.line.to_string(),
        date,
        content_hash: r.content_hash.clone(),
        sections,
    }
}

fn slack_escape(s: String) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders release notes in a format: the process file's template when it names
/// one (read from the repository root), else the embedded default.
pub fn render(p: &Process, root: &Path, format: NotesFormat, ctx: &NotesContext) -> Result<String> {
    let source = match format.override_path(p) {
        Some(path) => crate::repo_file(root, path)
            .and_then(|full| std::fs::read_to_string(full).map_err(|e| e.to_string()))
            .map_err(|e| {
                AppError::Config(format!(
                    "cannot read the notes template {path} named in [notes]: {e}"
                ))
            })?,
        None => format.embedded().to_string(),
    };
    render_source(format, &source, ctx).map_err(|e| {
        AppError::Config(format!(
            "the {format:?} release-notes template does not render: {e}"
        ))
    })
}

fn render_source(
    format: NotesFormat,
    source: &str,
    ctx: &NotesContext,
) -> std::result::Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.contains(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("slack", slack_escape);
    env.add_template_owned(format.template_name(), source.to_string())?;
    let t = env.get_template(format.template_name())?;
    let out = t.render(minijinja::Value::from(minijinja::value::Serde(ctx)))?;
    Ok(collapse_blank_lines(&out))
}

/// Templates are easier to write when stray blank lines do not matter.
fn collapse_blank_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.trim_start_matches('\n').lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> NotesContext {
        let e = |k: &str, t: &str, kind: &str, breaking| NoteEntry {
            key: k.into(),
            title: t.into(),
            kind: kind.into(),
            severity: Some("major".into()),
            breaking,
            commits: vec![],
        };
        NotesContext {
            project: "shop".into(),
            version: "1.2.4".into(),
            previous: Some("1.2.3".into()),
            tag: "v1.2.4".into(),
            previous_tag: Some("v1.2.3".into()),
            line: "1.2".into(),
            date: "2026-11-23".into(),
            content_hash: "abc".into(),
            sections: vec![
                NoteSection {
                    heading: "Fixed".into(),
                    entries: vec![e("SHOP-12", "Login fails when <b>a & b</b>", "fix", false)],
                },
                NoteSection {
                    heading: "Security".into(),
                    entries: vec![e("SHOP-14", "Tokens no longer logged", "security", false)],
                },
            ],
        }
    }

    #[test]
    fn every_embedded_template_renders() {
        for f in NotesFormat::ALL {
            let out = render_source(f, f.embedded(), &ctx()).unwrap();
            assert!(
                out.contains("SHOP-12") && out.contains("SHOP-14"),
                "{f:?}:\n{out}"
            );
            assert!(
                out.ends_with('\n') && !out.ends_with("\n\n"),
                "{f:?}:\n{out:?}"
            );
        }
    }

    #[test]
    fn markdown_is_a_keep_a_changelog_section() {
        let out = render_source(
            NotesFormat::Markdown,
            NotesFormat::Markdown.embedded(),
            &ctx(),
        )
        .unwrap();
        assert_eq!(
            out,
            "## [1.2.4] - 2026-11-23\n\n### Fixed\n\n- Login fails when <b>a & b</b> (SHOP-12, major)\n\n### Security\n\n- Tokens no longer logged (SHOP-14, major)\n"
        );
    }

    #[test]
    fn html_and_slack_escape_titles() {
        let html = render_source(NotesFormat::Html, NotesFormat::Html.embedded(), &ctx()).unwrap();
        assert!(
            html.contains("Login fails when &lt;b&gt;a &amp; b&lt;&#x2f;b&gt;")
                || html.contains("Login fails when &lt;b&gt;a &amp; b&lt;/b&gt;"),
            "{html}"
        );
        let slack =
            render_source(NotesFormat::Slack, NotesFormat::Slack.embedded(), &ctx()).unwrap();
        assert!(
            slack.contains("Login fails when &lt;b&gt;a &amp; b&lt;/b&gt;"),
            "{slack}"
        );
    }

    #[test]
    fn a_broken_template_is_an_error_not_a_panic() {
        assert!(render_source(NotesFormat::Text, "{% for x in %}", &ctx()).is_err());
        assert!(render_source(NotesFormat::Text, "{{ nosuchfield }}", &ctx()).is_err());
    }
}
