//! `test report`, `approve`, `checklist`, `promote`, `rollback`, `status`, `tick`:
//! everything that moves a release through its gates.

use std::io::{IsTerminal, Write};

use crate::backend::{Backend, Kind};
use jiff::Timestamp;
use sluice_app::wire;

use crate::output::{self, Failure};
use crate::{Cli, context};

#[derive(Debug, clap::Subcommand)]
pub enum TestCmd {
    /// Record a suite's result for a release in an environment; the latest result counts.
    Report {
        /// The release, e.g. 1.4.2.
        version: String,
        /// The environment the suite ran in.
        #[arg(long)]
        env: String,
        /// The test suite, as the process file names it.
        #[arg(long)]
        suite: String,
        /// The suite passed.
        #[arg(long, conflicts_with = "fail", required_unless_present = "fail")]
        pass: bool,
        /// The suite failed.
        #[arg(long)]
        fail: bool,
        /// Link to the run.
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The release to approve.
    version: String,
    /// The environment the approval lets the release enter.
    #[arg(long)]
    env: String,
    /// The role you approve as [default: your one role that this gate asks for].
    #[arg(long)]
    role: Option<String>,
    /// An emergency-lane approval.
    #[arg(long)]
    emergency: bool,
    /// Why, for the audit log.
    #[arg(long)]
    comment: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ChecklistArgs {
    /// The release whose checklist to show.
    version: String,
    /// Mark an item done.
    #[arg(long, value_name = "ID")]
    tick: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The release to promote.
    version: String,
    /// The environment to promote it into.
    #[arg(long)]
    to: String,
    /// Use the emergency lane: past windows and freezes, with emergency approvals and a follow-up review.
    #[arg(long, requires = "reason")]
    emergency: bool,
    /// Why the emergency lane (required with --emergency; recorded).
    #[arg(long)]
    reason: Option<String>,
    /// Print the deploy command's output on stderr as it runs (on this machine; through
    /// a server, its tail is printed when it ends).
    #[arg(long, short)]
    follow: bool,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The environment to roll back.
    #[arg(long)]
    env: String,
    /// The release to return to [default: the one deployed there before].
    #[arg(long)]
    to: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    yes: bool,
    /// Print the rollback command's output on stderr as it runs (on this machine;
    /// through a server, its tail is printed when it ends).
    #[arg(long, short)]
    follow: bool,
}

/// With `--follow` on this machine, the backend whose deploy commands also write their
/// output to stderr as they run; through a server, a note that the tail comes at the end.
fn following(app: &Backend, follow: bool) -> Option<Backend> {
    if !follow {
        return None;
    }
    match &app.kind {
        Kind::Local(a) => {
            let sink: sluice_app::OutputSink = std::sync::Arc::new(|chunk: &[u8]| {
                let mut e = std::io::stderr().lock();
                let _ = e.write_all(chunk);
                let _ = e.flush();
            });
            Some(Backend {
                root: app.root.clone(),
                kind: Kind::Local(Box::new(a.following(sink))),
            })
        }
        Kind::Remote(_) => {
            eprintln!(
                "note: the server runs this command; its output is printed when it ends (--follow streams commands run on this machine)"
            );
            None
        }
    }
}

pub async fn test(cli: &Cli, app: &Backend, now: Timestamp, c: &TestCmd) -> Result<(), Failure> {
    let TestCmd::Report {
        version,
        env,
        suite,
        pass,
        fail: _,
        url,
    } = c;
    let actor = context::actor(cli, app)?;
    let r = app
        .run(
            &actor,
            now,
            &[version],
            wire::ReportTest {
                env: env.clone(),
                suite: suite.clone(),
                passed: *pass,
                url: url.clone(),
            },
        )
        .await?;
    if cli.json {
        output::json(&r);
    } else {
        output::ok(&format!(
            "{}: `{suite}` in `{env}` {}",
            r.version,
            if *pass { "passed" } else { "FAILED" }
        ));
    }
    Ok(())
}

pub async fn approve(
    cli: &Cli,
    app: &Backend,
    now: Timestamp,
    a: &ApproveArgs,
) -> Result<(), Failure> {
    let actor = context::actor(cli, app)?;
    let sluice_app::Approved { release: r, role } = app
        .run(
            &actor,
            now,
            &[&a.version],
            wire::Approve {
                env: a.env.clone(),
                role: a.role.clone(),
                emergency: a.emergency,
                comment: a.comment.clone(),
            },
        )
        .await?;
    if cli.json {
        output::json(&r);
    } else {
        output::ok(&format!(
            "{actor} approved {} for `{}` as `{role}`",
            r.version, a.env
        ));
    }
    Ok(())
}

pub async fn checklist(
    cli: &Cli,
    app: &Backend,
    now: Timestamp,
    a: &ChecklistArgs,
) -> Result<(), Failure> {
    let view = match &a.tick {
        Some(id) => {
            let actor = context::actor(cli, app)?;
            app.run(&actor, now, &[&a.version, id], wire::TickItem {})
                .await?
        }
        None => {
            app.run("", now, &[&a.version], wire::ShowChecklist {})
                .await?
        }
    };
    if cli.json {
        output::json(&view);
        return Ok(());
    }
    let mut t = output::table(&["done", "id", "item", "by", "before", "done by"]);
    for i in &view.items {
        t.add_row(vec![
            if i.done_by.is_some() { "[x]" } else { "[ ]" }.to_string(),
            i.id.clone(),
            i.text.clone(),
            i.by.clone().unwrap_or_default(),
            i.before.clone(),
            i.done_by
                .clone()
                .map(|w| format!("{w} {}", output::when(i.done_at)))
                .unwrap_or_default(),
        ]);
    }
    output::print_table(&t);
    Ok(())
}

pub async fn promote(
    cli: &Cli,
    app: &Backend,
    now: Timestamp,
    a: &PromoteArgs,
) -> Result<(), Failure> {
    let actor = context::actor(cli, app)?;
    let reason = if a.emergency {
        a.reason.as_deref().or(Some(""))
    } else {
        None
    };
    let streamed = following(app, a.follow);
    let spin = match streamed {
        Some(_) => None,
        None => output::spinner(&format!("deploying {} to `{}`", a.version, a.to)),
    };
    let out = streamed
        .as_ref()
        .unwrap_or(app)
        .run(
            &actor,
            now,
            &[&a.version],
            wire::Promote {
                to: a.to.clone(),
                emergency_reason: reason.map(String::from),
            },
        )
        .await;
    if let Some(s) = spin {
        s.finish_and_clear();
    }
    let out = out?;
    if cli.json {
        output::json(&out);
        return Ok(());
    }
    output::ok(&format!(
        "{} entered `{}`{}",
        out.release.version,
        a.to,
        if out.deployment.emergency {
            " through the emergency lane; a follow-up review is now open"
        } else {
            ""
        }
    ));
    if streamed.is_none() {
        output::command_output(&out.deployment);
    }
    if out.release.status == sluice_core::model::ReleaseStatus::Released {
        outln!("{} is released", out.release.version);
    }
    Ok(())
}

pub async fn rollback(
    cli: &Cli,
    app: &Backend,
    now: Timestamp,
    a: &RollbackArgs,
) -> Result<(), Failure> {
    let actor = context::actor(cli, app)?;
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::usage(
                "rollback changes what runs in an environment; pass --yes to confirm",
            ));
        }
        eprint!(
            "roll back `{}`{}? [y/N] ",
            a.env,
            a.to.as_ref()
                .map(|t| format!(" to {t}"))
                .unwrap_or_default()
        );
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Err(Failure::usage("not confirmed; nothing done"));
        }
    }
    let streamed = following(app, a.follow);
    let spin = match streamed {
        Some(_) => None,
        None => output::spinner(&format!("rolling back `{}`", a.env)),
    };
    let out = streamed
        .as_ref()
        .unwrap_or(app)
        .run(&actor, now, &[&a.env], wire::Rollback { to: a.to.clone() })
        .await;
    if let Some(s) = spin {
        s.finish_and_clear();
    }
    let out = out?;
    if cli.json {
        output::json(&out);
        return Ok(());
    }
    output::ok(&format!(
        "`{}` rolled back from {} to {}",
        a.env, out.release.version, out.to
    ));
    if streamed.is_none() {
        output::command_output(&out.deployment);
    }
    if !out.release.patches.is_empty() {
        outln!("reopened: {}", out.release.patches.join(", "));
    }
    Ok(())
}

pub async fn status(cli: &Cli, app: &Backend) -> Result<(), Failure> {
    let s = app.run("", Timestamp::now(), &[], wire::Status {}).await?;
    if cli.json {
        output::json(&s);
        return Ok(());
    }
    // The monitoring column only when a release is being watched somewhere.
    let watching = s.iter().any(|e| e.watching.is_some());
    let mut head = vec!["environment", "holds", "waiting to enter"];
    if watching {
        head.insert(2, "watched");
    }
    let mut t = output::table(&head);
    for e in &s {
        let mut row = vec![
            e.env.clone(),
            e.release.clone().unwrap_or_else(|| "-".into()),
            e.waiting.join(", "),
        ];
        if watching {
            let w = e.watching.as_ref().map_or(String::new(), |w| {
                format!("until {} ({} left)", output::when(Some(w.until)), w.left)
            });
            row.insert(2, w);
        }
        t.add_row(row);
    }
    output::print_table(&t);
    Ok(())
}

pub async fn tick(cli: &Cli, app: &Backend, now: Timestamp) -> Result<(), Failure> {
    let r = app.run("", now, &[], wire::Tick {}).await?;
    if cli.json {
        output::json(&r);
        return Ok(());
    }
    for what in &r.recorded {
        outln!("recorded {what}");
    }
    if r.recorded.is_empty() {
        outln!(
            "nothing new is due ({} fact(s) due were recorded before)",
            r.already
        );
    }
    Ok(())
}

/// `inbox`: what the current user can do now, each with its command.
pub async fn inbox(cli: &Cli, app: &Backend, now: Timestamp) -> Result<(), Failure> {
    let actor = context::actor(cli, app)?;
    let inbox = app.run(&actor, now, &[], wire::ShowInbox {}).await?;
    if cli.json {
        output::json(&inbox);
        return Ok(());
    }
    let roles = if inbox.roles.is_empty() {
        "no role".to_string()
    } else {
        inbox.roles.join(", ")
    };
    if inbox.items.is_empty() {
        outln!("nothing waits on {} ({roles})", inbox.user);
        return Ok(());
    }
    outln!("waiting on {} ({roles}):", inbox.user);
    let mut t = output::table(&["what", "run"]);
    for i in &inbox.items {
        t.add_row(vec![i.what.clone(), i.command.clone().unwrap_or_default()]);
    }
    output::print_table(&t);
    Ok(())
}
