//! `patch report|triage|start|review|ready|reject|defer|list|show`.

use jiff::Timestamp;

use crate::backend::Backend;
use sluice_app::wire;
use sluice_core::model::{Patch, PatchStatus, SourceKind, Target};

use crate::output::{self, Failure};
use crate::{Cli, context};

#[derive(Debug, clap::Subcommand)]
pub enum PatchCmd {
    /// Report a patch from a bug report, user feedback, a monitoring alert or a security advisory.
    Report {
        /// What is wrong, in one line.
        title: String,
        /// Where it came from.
        #[arg(long, value_parser = parse::<SourceKind>, default_value = "bug")]
        source: SourceKind,
        /// Ticket key, URL or alert fingerprint of the source.
        #[arg(long = "ref", value_name = "REF")]
        reference: Option<String>,
        /// An action of this retrospective (its id, e.g. 1.4.2-r1): the source is the retrospective.
        #[arg(long, value_name = "ID", conflicts_with_all = ["source", "reference"])]
        from_retro: Option<String>,
        /// More detail: what happens, where, since when.
        #[arg(long)]
        description: Option<String>,
        /// A kind the process file defines (bug, security, ...); triage may set it later.
        #[arg(long)]
        kind: Option<String>,
        /// A severity the process file defines; it sets the deadline.
        #[arg(long)]
        severity: Option<String>,
        /// Where the fix ships: `main` or a maintained line MAJOR.MINOR (repeatable).
        #[arg(long = "line", value_parser = parse::<Target>)]
        lines: Vec<Target>,
    },
    /// Set severity, kind, priority, owner and target lines.
    Triage {
        /// The patch, e.g. SHOP-12 (any case).
        key: String,
        /// A severity the process file defines; it sets the deadline.
        #[arg(long)]
        severity: Option<String>,
        /// A kind the process file defines.
        #[arg(long)]
        kind: Option<String>,
        /// Free text: the team's own ordering.
        #[arg(long)]
        priority: Option<String>,
        /// Who fixes it (a user of the process file).
        #[arg(long)]
        owner: Option<String>,
        /// Where the fix ships: `main` or a maintained line MAJOR.MINOR (repeatable; replaces the lines).
        #[arg(long = "line", value_parser = parse::<Target>)]
        lines: Vec<Target>,
    },
    /// Begin work: take ownership and get the branch name.
    Start {
        /// The patch, e.g. SHOP-12 (any case).
        key: String,
    },
    /// Ask for review, or record one with --approve / --request-changes.
    Review {
        /// The patch, e.g. SHOP-12 (any case).
        key: String,
        /// Approve the change.
        #[arg(long, conflicts_with = "request_changes")]
        approve: bool,
        /// Send it back with requested changes.
        #[arg(long)]
        request_changes: bool,
        /// What the reviewer says, for the audit log.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Carry a patch's commits to another maintained line (or main) on a new branch.
    Port {
        /// The patch, e.g. SHOP-12 (any case).
        key: String,
        /// The line to carry it to: `main` or MAJOR.MINOR.
        #[arg(long, value_parser = parse::<Target>)]
        to: Target,
    },
    /// Mark a reviewed patch ready to ship.
    Ready {
        /// The patch, e.g. SHOP-12 (any case).
        key: String,
    },
    /// Close a patch that will not be fixed.
    Reject {
        /// The patch, e.g. SHOP-12 (any case).
        key: String,
        /// Why it will not be fixed (recorded).
        #[arg(long)]
        reason: String,
    },
    /// Put a patch aside; triage brings it back.
    Defer {
        /// The patch, e.g. SHOP-12 (any case).
        key: String,
        /// Why it waits (recorded).
        #[arg(long)]
        reason: String,
    },
    /// Open patches, overdue first.
    List {
        /// Only these statuses (repeatable).
        #[arg(long, value_parser = parse::<PatchStatus>)]
        status: Vec<PatchStatus>,
        /// Every patch, closed ones too.
        #[arg(long)]
        all: bool,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only this severity.
        #[arg(long)]
        severity: Option<String>,
        /// Only those this user owns.
        #[arg(long)]
        owner: Option<String>,
        /// Only those targeting this line (`main` or MAJOR.MINOR).
        #[arg(long)]
        line: Option<String>,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Count every match, even past the limit.
        #[arg(long)]
        count: bool,
    },
    /// One patch and its history.
    Show {
        /// The patch, e.g. SHOP-12 (any case).
        key: String,
    },
}

pub fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}

fn show_one(cli: &Cli, p: &Patch, headline: &str) {
    if cli.json {
        output::json(p);
    } else {
        output::ok(headline);
    }
}

pub async fn run(cli: &Cli, app: &Backend, now: Timestamp, c: &PatchCmd) -> Result<(), Failure> {
    match c {
        PatchCmd::List {
            status,
            all,
            kind,
            severity,
            owner,
            line,
            limit,
            count,
        } => {
            let statuses: Vec<&str> = status.iter().map(|s| s.as_str()).collect();
            let q = wire::PatchFilter {
                status: (!statuses.is_empty()).then(|| statuses.join(",")),
                all: *all,
                kind: kind.clone(),
                severity: severity.clone(),
                owner: owner.clone(),
                line: line.clone(),
                limit: Some(*limit),
                count: *count,
            };
            let list = app.run("", now, &[], q).await?;
            if cli.json {
                output::json(&list);
                return Ok(());
            }
            let mut t = output::table(&[
                "key", "status", "severity", "kind", "lines", "owner", "deadline", "title",
            ]);
            for p in &list.patches {
                let deadline = match p.deadline {
                    Some(d) if p.is_overdue(now) => {
                        output::state(&format!("OVERDUE {}", output::when(Some(d))))
                    }
                    d => output::when(d),
                };
                let lines: Vec<String> = p.targets.iter().map(|t| t.to_string()).collect();
                t.add_row(vec![
                    p.key.clone(),
                    output::state(p.status.as_str()),
                    p.severity.clone().unwrap_or_default(),
                    p.kind.clone().unwrap_or_default(),
                    lines.join(","),
                    p.owner.clone().unwrap_or_default(),
                    deadline,
                    p.title.clone(),
                ]);
            }
            output::print_table(&t);
            match list.total {
                Some(n) if (list.patches.len() as i64) < n => {
                    outln!("showing {} of {n}; --limit 0 shows all", list.patches.len())
                }
                None => outln!(
                    "showing the first {}; there are more: --limit 0 shows all, --count counts them",
                    list.patches.len()
                ),
                _ => {}
            }
            Ok(())
        }
        PatchCmd::Show { key } => {
            let v = app.run("", now, &[key], wire::ShowPatch {}).await?;
            if cli.json {
                output::json(&v);
                return Ok(());
            }
            let p = &v.patch;
            outln!("{}  {}", p.key, p.title);
            let mut t = output::table(&["field", "value"]);
            let lines: Vec<String> = p.targets.iter().map(|t| t.to_string()).collect();
            let rows = [
                ("status", p.status.to_string()),
                ("kind", p.kind.clone().unwrap_or_default()),
                ("severity", p.severity.clone().unwrap_or_default()),
                ("priority", p.priority.clone().unwrap_or_default()),
                (
                    "source",
                    format!(
                        "{} {}",
                        p.source.kind,
                        p.source.reference.clone().unwrap_or_default()
                    )
                    .trim()
                    .to_string(),
                ),
                ("reporter", p.reporter.clone()),
                ("owner", p.owner.clone().unwrap_or_default()),
                ("lines", lines.join(", ")),
                ("branch", p.branch.clone().unwrap_or_default()),
                ("release", p.release.clone().unwrap_or_default()),
                (
                    "ports",
                    p.ports
                        .iter()
                        .map(|o| {
                            format!(
                                "{}: {} ({})",
                                o.target,
                                o.branch,
                                o.release.as_deref().unwrap_or("not released")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                ("reported", output::when(Some(p.reported_at))),
                (
                    "deadline",
                    format!(
                        "{}{}",
                        output::when(p.deadline),
                        if v.overdue { "  OVERDUE" } else { "" }
                    ),
                ),
                ("resolution", p.resolution.clone().unwrap_or_default()),
            ];
            for (k, val) in rows {
                t.add_row(vec![k.to_string(), val]);
            }
            output::print_table(&t);
            if !v.events.is_empty() {
                outln!();
                let mut t = output::table(&["#", "time", "actor", "event"]);
                for e in &v.events {
                    t.add_row(vec![
                        e.seq.to_string(),
                        output::when(jiff::Timestamp::from_millisecond(e.at_ms).ok()),
                        e.actor.clone(),
                        e.kind.clone(),
                    ]);
                }
                output::print_table(&t);
            }
            Ok(())
        }
        _ => {
            let actor = context::actor(cli, app)?;
            let a = actor.as_str();
            let (p, what) = match c {
                PatchCmd::Report {
                    title,
                    source,
                    reference,
                    from_retro,
                    description,
                    kind,
                    severity,
                    lines,
                } => {
                    let req = wire::ReportPatch {
                        title: title.clone(),
                        description: description.clone(),
                        kind: kind.clone(),
                        severity: severity.clone(),
                        source: Some(if from_retro.is_some() {
                            SourceKind::Retro
                        } else {
                            *source
                        }),
                        reference: from_retro.clone().or_else(|| reference.clone()),
                        lines: lines.clone(),
                    };
                    (app.run(a, now, &[], req).await?, "reported")
                }
                PatchCmd::Triage {
                    key,
                    severity,
                    kind,
                    priority,
                    owner,
                    lines,
                } => {
                    let req = wire::TriagePatch {
                        severity: severity.clone(),
                        kind: kind.clone(),
                        priority: priority.clone(),
                        owner: owner.clone(),
                        lines: lines.clone(),
                    };
                    (app.run(a, now, &[key], req).await?, "triaged")
                }
                PatchCmd::Start { key } => (
                    app.run(a, now, &[key], wire::StartPatch {}).await?,
                    "started",
                ),
                PatchCmd::Review {
                    key,
                    approve,
                    request_changes,
                    comment,
                } => {
                    let verdict = if *approve {
                        Some(true)
                    } else if *request_changes {
                        Some(false)
                    } else {
                        None
                    };
                    let what = match verdict {
                        None => "sent for review",
                        Some(true) => "approved in review",
                        Some(false) => "sent back with requested changes",
                    };
                    let req = wire::ReviewPatch {
                        approve: verdict,
                        comment: comment.clone(),
                    };
                    (app.run(a, now, &[key], req).await?, what)
                }
                PatchCmd::Ready { key } => {
                    (app.run(a, now, &[key], wire::ReadyPatch {}).await?, "ready")
                }
                PatchCmd::Port { key, to } => (
                    app.run(a, now, &[key], wire::PortPatch { to: *to }).await?,
                    "ported",
                ),
                PatchCmd::Reject { key, reason } => {
                    let req = wire::RejectPatch {
                        reason: reason.clone(),
                    };
                    (app.run(a, now, &[key], req).await?, "rejected")
                }
                PatchCmd::Defer { key, reason } => {
                    let req = wire::DeferPatch {
                        reason: reason.clone(),
                    };
                    (app.run(a, now, &[key], req).await?, "deferred")
                }
                PatchCmd::List { .. } | PatchCmd::Show { .. } => {
                    unreachable!("read commands handled above")
                }
            };
            let mut head = format!("{} {what}", p.key);
            if what == "started"
                && let Some(b) = &p.branch
            {
                head.push_str(&format!("; branch {b}"));
            }
            if what == "ported"
                && let Some(port) = p.ports.last()
            {
                head.push_str(&format!(
                    " to {} on branch {} ({} commit(s))",
                    port.target,
                    port.branch,
                    port.commits.len()
                ));
            }
            if let Some(d) = p
                .deadline
                .filter(|_| what == "reported" || what == "triaged")
            {
                head.push_str(&format!("; fix by {}", output::when(Some(d))));
            }
            show_one(cli, &p, &head);
            Ok(())
        }
    }
}
