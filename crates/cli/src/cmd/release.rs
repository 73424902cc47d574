//! `release plan|cut|show|list|amend|import|follow-up`.

use crate::backend::Backend;
use jiff::Timestamp;
use sluice_app::notes::NotesFormat;
use sluice_app::wire;
use sluice_core::model::Target;

use super::patch::parse;
use crate::output::{self, Failure};
use crate::{Cli, context};

#[derive(Debug, clap::Subcommand)]
pub enum ReleaseCmd {
    /// What the next release on a line would hold, its version, and what its next gate needs.
    Plan {
        /// A maintained line MAJOR.MINOR, or `main` [default: main].
        #[arg(long, value_parser = parse::<Target>, default_value = "main")]
        line: Target,
        /// The git revision to release [default: the line's release branch, or HEAD for main].
        #[arg(long, value_name = "REV")]
        target: Option<String>,
    },
    /// Create the planned release; in git, tag it with its notes and attach the evidence.
    Cut {
        /// The line to release: `main` or a maintained line MAJOR.MINOR.
        #[arg(long, value_parser = parse::<Target>, default_value = "main")]
        line: Target,
        /// The git revision to release [default: the line's release branch, or HEAD for main].
        #[arg(long, value_name = "REV")]
        target: Option<String>,
        /// Let commits the scope guard refuses into a patch release (recorded, with --reason).
        #[arg(long, requires = "reason")]
        allow_scope: bool,
        /// Why the out-of-scope commits may ship (required with --allow-scope; recorded).
        #[arg(long)]
        reason: Option<String>,
        /// When the line has no release branch, refuse instead of creating it from the
        /// line's last release tag and merging the ready patches' branches into it.
        #[arg(long)]
        no_assemble: bool,
    },
    /// One release: content, gates, approvals, tests, deployments.
    Show {
        /// The release, e.g. 1.4.2.
        version: String,
    },
    /// Every release, highest first.
    List,
    /// Add or remove patches; approvals given so far stop counting.
    Amend {
        /// The release to change (before it leaves its first environment).
        version: String,
        /// A ready patch to add (repeatable).
        #[arg(long)]
        add: Vec<String>,
        /// A patch to take out (repeatable).
        #[arg(long)]
        remove: Vec<String>,
    },
    /// Record releases made before Sluice (each must have its release tag in git) and,
    /// with --env, that one runs in an environment, so a rollback has somewhere to go.
    /// Versions need no import: they are read from the tags.
    Import {
        /// The versions, as their tags name them (e.g. 1.3.0).
        #[arg(required = true)]
        versions: Vec<String>,
        /// The environment the release runs in (one version only).
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
    },
    /// Show a release's notes, or edit them (edits survive regeneration).
    Notes {
        /// The release whose notes to show or edit.
        version: String,
        /// The format to show them in.
        #[arg(long, default_value = "md", value_parser = notes_format())]
        format: NotesFormat,
        /// Edit the Markdown notes in $VISUAL or $EDITOR.
        #[arg(long, conflicts_with = "from")]
        edit: bool,
        /// Take the Markdown notes from a file (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        from: Option<std::path::PathBuf>,
    },
    /// Close the follow-up review an emergency change owes.
    FollowUp {
        /// The release promoted through the emergency lane.
        version: String,
        /// The environment it entered that way.
        #[arg(long)]
        env: String,
        /// What the review found (recorded).
        #[arg(long)]
        comment: String,
    },
}

/// md, html, text or slack (listed in the help).
fn notes_format() -> impl clap::builder::TypedValueParser<Value = NotesFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["md", "html", "text", "slack"])
        .try_map(|s| s.parse::<NotesFormat>())
}

/// Opens `text` in the user's editor and returns what they saved.
pub(crate) fn edit_in_editor(text: &str) -> Result<String, Failure> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|e| !e.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".to_string());
    let argv = editor_argv(&editor)?;
    let dir = tempfile_dir()?;
    let path = dir.join("RELEASE_NOTES.md");
    std::fs::write(&path, text)
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    let status = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .arg(&path)
        .status()
        .map_err(|e| {
            Failure::usage(format!(
                "cannot start the editor `{editor}`: {e}; set VISUAL or EDITOR"
            ))
        })?;
    let out = std::fs::read_to_string(&path);
    let _ = std::fs::remove_dir_all(&dir);
    if !status.success() {
        return Err(Failure::usage(format!(
            "the editor `{editor}` failed ({status}); the notes are unchanged"
        )));
    }
    out.map_err(|e| Failure::usage(format!("cannot read the edited notes: {e}")))
}

fn editor_argv(s: &str) -> Result<Vec<String>, Failure> {
    // `VISUAL="code --wait"` or a quoted path: split as a shell would, expand nothing.
    let words = shell_words::split(s).map_err(|e| {
        Failure::usage(format!(
            "cannot read the editor command `{s}`: {e}; set VISUAL or EDITOR"
        ))
    })?;
    if words.is_empty() {
        return Err(Failure::usage(
            "the editor command is empty; set VISUAL or EDITOR",
        ));
    }
    Ok(words)
}

fn tempfile_dir() -> Result<std::path::PathBuf, Failure> {
    let dir = std::env::temp_dir().join(format!("sluice-notes-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

pub async fn run(cli: &Cli, app: &Backend, now: Timestamp, c: &ReleaseCmd) -> Result<(), Failure> {
    match c {
        ReleaseCmd::Notes {
            version,
            format,
            edit,
            from,
        } if !*edit && from.is_none() => {
            let req = wire::NotesQuery {
                format: Some(format.name().to_string()),
            };
            let text = app.run("", now, &[version], req).await?;
            if cli.json {
                output::json(
                    &serde_json::json!({"version": version, "format": format, "notes": text}),
                );
            } else {
                out!("{text}");
            }
            Ok(())
        }
        ReleaseCmd::Plan { line, target } => {
            let actor = context::actor(cli, app).unwrap_or_default();
            let req = wire::PlanRelease {
                line: *line,
                target: target.clone(),
            };
            let v = app.run(&actor, now, &[], req).await?;
            if cli.json {
                output::json(&v);
                return Ok(());
            }
            let p = &v.plan;
            outln!(
                "next release on {}: {} ({} bump{}; previous {})",
                p.target,
                p.version,
                p.bump,
                if p.patch_release {
                    ", patch release"
                } else {
                    ""
                },
                p.previous
                    .as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "none".into())
            );
            let mut t = output::table(&["patch", "kind", "severity", "title"]);
            for x in &v.patches {
                t.add_row(vec![
                    x.key.clone(),
                    x.kind.clone().unwrap_or_default(),
                    x.severity.clone().unwrap_or_default(),
                    x.title.clone(),
                ]);
            }
            output::print_table(&t);
            if let Some(g) = &v.git {
                match &g.assemble {
                    Some(a) => outln!(
                        "\ngit: {} does not exist yet; `release cut` creates it from {} and merges {} ({} commit{}), then tags {}",
                        g.target_ref,
                        a.base,
                        a.merge.join(", "),
                        g.commits.len(),
                        if g.commits.len() == 1 { "" } else { "s" },
                        g.tag
                    ),
                    None => outln!(
                        "\ngit: {} -> {} ({} commit{}) from {}, will be tagged {}",
                        g.previous_tag.as_deref().unwrap_or("the beginning"),
                        g.target_ref,
                        g.commits.len(),
                        if g.commits.len() == 1 { "" } else { "s" },
                        &g.target[..g.target.len().min(10)],
                        g.tag
                    ),
                }
                let mut t = output::table(&["commit", "patches", "type", "summary"]);
                for c in &g.commits {
                    t.add_row(vec![
                        c.id[..10].to_string(),
                        if c.patches.is_empty() {
                            "-".to_string()
                        } else {
                            c.patches.join(",")
                        },
                        format!(
                            "{}{}{}",
                            c.kind.clone().unwrap_or_default(),
                            if c.breaking { "!" } else { "" },
                            if c.merge { " (merge)" } else { "" }
                        ),
                        c.summary.clone(),
                    ]);
                }
                output::print_table(&t);
                if !g.unlinked.is_empty() {
                    outln!(
                        "{} commit(s) link to no patch in this release:",
                        g.unlinked.len()
                    );
                    for c in &g.unlinked {
                        outln!("  - {} {}", &c.id[..10], c.summary);
                    }
                }
            }
            if let Some(r) = &v.refusal {
                outln!("{}", output::paint("31", "cannot be cut:"));
                for u in r {
                    outln!("  - {}", u.requirement);
                }
            }
            if let Some(g) = &v.next_gate {
                output::gate(g);
            }
            for g in &v.open_releases {
                outln!("\nrelease {} (already cut):", g.release);
                output::gate(g);
            }
            Ok(())
        }
        ReleaseCmd::Show { version } => {
            let v = app.run("", now, &[version], wire::ShowRelease {}).await?;
            if cli.json {
                output::json(&v);
                return Ok(());
            }
            let r = &v.release;
            outln!(
                "release {} ({}) on line {}  content {}",
                r.version,
                r.status,
                r.line,
                &r.content_hash[..12]
            );
            outln!(
                "entered: {}",
                if r.reached.is_empty() {
                    "none".into()
                } else {
                    r.reached.join(" → ")
                }
            );
            for w in &r.watches {
                let outcome = match &w.ended {
                    None => format!(
                        "watching, {} left",
                        sluice_core::process::format_duration(sluice_core::decide::time_left(
                            w, now
                        ))
                    ),
                    Some(e) if e.clean => "ended clean".to_string(),
                    Some(e) => format!("ended with problems: {}", e.problems.join("; ")),
                };
                outln!(
                    "monitoring in {}: {} to {}, {outcome}",
                    w.env,
                    output::when(Some(w.from)),
                    output::when(Some(w.until))
                );
            }
            if let Some(g) = &r.git {
                outln!(
                    "git: tag {} at {} ({} commit(s) since {}){}",
                    g.tag,
                    &g.target[..g.target.len().min(10)],
                    g.commits.len(),
                    g.previous_tag.as_deref().unwrap_or("the beginning"),
                    g.scope_override
                        .as_ref()
                        .map(|o| format!("; scope guard overridden by {}: {}", o.by, o.reason))
                        .unwrap_or_default()
                );
            }
            let mut t = output::table(&["patch", "kind", "severity", "status", "title"]);
            for p in &v.patches {
                t.add_row(vec![
                    p.key.clone(),
                    p.kind.clone().unwrap_or_default(),
                    p.severity.clone().unwrap_or_default(),
                    output::state(p.status.as_str()),
                    p.title.clone(),
                ]);
            }
            output::print_table(&t);
            if !r.approvals.is_empty() {
                let mut t = output::table(&["env", "role", "approver", "kind", "valid", "when"]);
                for a in &r.approvals {
                    let valid = if a.content_hash == r.content_hash {
                        "yes"
                    } else {
                        "void: content changed"
                    };
                    t.add_row(vec![
                        a.env.clone(),
                        a.role.clone(),
                        a.approver.clone(),
                        a.kind.to_string(),
                        valid.into(),
                        output::when(Some(a.at)),
                    ]);
                }
                output::print_table(&t);
            }
            if !r.tests.is_empty() {
                let mut t = output::table(&["env", "suite", "result", "by", "when", "url"]);
                for x in &r.tests {
                    t.add_row(vec![
                        x.env.clone(),
                        x.suite.clone(),
                        if x.passed { "pass" } else { "FAIL" }.into(),
                        x.reporter.clone(),
                        output::when(Some(x.at)),
                        x.url.clone().unwrap_or_default(),
                    ]);
                }
                output::print_table(&t);
            }
            if !v.deployments.is_empty() {
                let mut t = output::table(&[
                    "env",
                    "action",
                    "outcome",
                    "by",
                    "started",
                    "emergency",
                    "in window",
                ]);
                for d in &v.deployments {
                    t.add_row(vec![
                        d.env.clone(),
                        d.action.to_string(),
                        output::state(d.outcome.as_str()),
                        d.actor.clone(),
                        output::when(Some(d.started_at)),
                        if d.emergency { "yes" } else { "" }.into(),
                        if d.in_window { "yes" } else { "no" }.into(),
                    ]);
                }
                output::print_table(&t);
            }
            for f in r.follow_ups.iter().filter(|f| f.closed_at.is_none()) {
                outln!(
                    "open follow-up review for `{}` (emergency: {})",
                    f.env,
                    f.reason
                );
            }
            if let Some(g) = &v.next_gate {
                output::gate(g);
            }
            Ok(())
        }
        ReleaseCmd::List => {
            let rs = app.run("", now, &[], wire::ListReleases {}).await?;
            if cli.json {
                output::json(&rs);
                return Ok(());
            }
            let mut t =
                output::table(&["version", "status", "line", "patches", "entered", "created"]);
            for r in &rs {
                t.add_row(vec![
                    r.version.to_string(),
                    output::state(&if r.imported {
                        "released (imported)".to_string()
                    } else {
                        r.status.to_string()
                    }),
                    r.line.to_string(),
                    r.patches.join(", "),
                    r.reached.last().cloned().unwrap_or_default(),
                    output::when(Some(r.created_at)),
                ]);
            }
            output::print_table(&t);
            Ok(())
        }
        _ => {
            let actor = context::actor(cli, app)?;
            let a = actor.as_str();
            match c {
                ReleaseCmd::Cut {
                    line,
                    target,
                    allow_scope,
                    reason,
                    no_assemble,
                } => {
                    let req = wire::CutRelease {
                        line: *line,
                        target: target.clone(),
                        allow_scope: if *allow_scope { reason.clone() } else { None },
                        no_assemble: *no_assemble,
                    };
                    let r = app.run(a, now, &[], req).await?;
                    if cli.json {
                        output::json(&r);
                    } else {
                        output::ok(&format!(
                            "cut release {} on {} with {}",
                            r.version,
                            r.target,
                            r.patches.join(", ")
                        ));
                    }
                }
                ReleaseCmd::Amend {
                    version,
                    add,
                    remove,
                } => {
                    let req = wire::AmendRelease {
                        add: add.clone(),
                        remove: remove.clone(),
                    };
                    let r = app.run(a, now, &[version], req).await?;
                    if cli.json {
                        output::json(&r);
                    } else {
                        output::ok(&format!(
                            "release {} now holds {}; earlier approvals no longer count",
                            r.version,
                            r.patches.join(", ")
                        ));
                    }
                }
                ReleaseCmd::Import { versions, env } => {
                    if env.is_some() && versions.len() > 1 {
                        return Err(Failure::usage(
                            "--env records one release in an environment: give one version",
                        ));
                    }
                    let mut out = Vec::new();
                    for v in versions {
                        let req = wire::ImportRelease {
                            version: v.clone(),
                            env: env.clone(),
                        };
                        out.push(app.run(a, now, &[], req).await?);
                    }
                    if cli.json {
                        output::json(&out);
                    } else {
                        for r in out {
                            match env {
                                Some(e) => output::ok(&format!(
                                    "recorded {} as released, running in `{e}`",
                                    r.version
                                )),
                                None => output::ok(&format!("recorded {} as released", r.version)),
                            }
                        }
                    }
                }
                ReleaseCmd::Notes { version, from, .. } => {
                    let req = wire::NotesQuery { format: None };
                    let current = app.run("", now, &[version], req).await?;
                    let text = match from {
                        Some(p) if p.as_os_str() == "-" => {
                            let mut s = String::new();
                            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(
                                |e| Failure::usage(format!("cannot read standard input: {e}")),
                            )?;
                            s
                        }
                        Some(p) => std::fs::read_to_string(p).map_err(|e| {
                            Failure::usage(format!("cannot read {}: {e}", p.display()))
                        })?,
                        None => edit_in_editor(&current)?,
                    };
                    if text.trim_end() == current.trim_end() {
                        outln!("notes of {version} unchanged");
                        return Ok(());
                    }
                    let r = app.run(a, now, &[version], wire::Notes { text }).await?;
                    if cli.json {
                        output::json(&r);
                    } else if r.notes.is_some() {
                        output::ok(&format!(
                            "saved the edited notes of {}; they replace the generated ones from now on",
                            r.version
                        ));
                    } else {
                        output::ok(&format!("the notes of {} are generated again", r.version));
                    }
                }
                ReleaseCmd::FollowUp {
                    version,
                    env,
                    comment,
                } => {
                    let req = wire::FollowUp {
                        env: env.clone(),
                        comment: comment.clone(),
                    };
                    let r = app.run(a, now, &[version], req).await?;
                    if cli.json {
                        output::json(&r);
                    } else {
                        output::ok(&format!(
                            "closed the follow-up review of {} in `{env}`",
                            r.version
                        ));
                    }
                }
                _ => unreachable!("read commands handled above"),
            }
            Ok(())
        }
    }
}
