//! `audit [verify [--against-git] | anchor]`.

use crate::backend::Backend;
use sluice_app::wire;

use crate::Cli;
use crate::output::{self, Failure};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Option<AuditCmd>,
    /// Only events about this patch key or release version.
    #[arg(long)]
    subject: Option<String>,
    /// Events after this sequence number.
    #[arg(long, default_value_t = 0)]
    after: i64,
    /// At most this many events.
    #[arg(long, default_value_t = 1000)]
    limit: i64,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCmd {
    /// Recompute the hash chain and name the first altered event.
    Verify {
        /// Also check that every chain head git witnessed (anchors under
        /// refs/notes/sluice-audit, and each release's evidence note) is
        /// still in the chain: removing events and rewinding the head shows.
        #[arg(long)]
        against_git: bool,
    },
    /// Write the chain's head (sequence number and hash) into git, as a note
    /// on the checked-out commit under refs/notes/sluice-audit. Push it
    /// (`git push origin refs/notes/sluice-audit`) and git is the witness.
    Anchor,
}

pub async fn run(cli: &Cli, app: &Backend, a: &Args) -> Result<(), Failure> {
    if let Some(AuditCmd::Anchor) = a.cmd {
        let anchored = app
            .run("", jiff::Timestamp::now(), &[], wire::AnchorAudit {})
            .await?;
        if cli.json {
            output::json(&anchored);
        } else {
            let x = &anchored.anchor;
            if anchored.written {
                output::ok(&format!(
                    "anchored the audit chain at event {} ({}) in refs/notes/sluice-audit; push it with `git push origin refs/notes/sluice-audit`",
                    x.seq,
                    x.hash.get(..12).unwrap_or(&x.hash)
                ));
            } else {
                output::ok(&format!(
                    "the chain's head (event {}) is anchored on this commit already",
                    x.seq
                ));
            }
        }
        return Ok(());
    }
    if let Some(AuditCmd::Verify { against_git: true }) = a.cmd {
        let r = app
            .run("", jiff::Timestamp::now(), &[], wire::AuditAnchors {})
            .await?;
        if cli.json {
            output::json(&r);
        } else {
            let bad: Vec<&sluice_app::AnchorCheck> =
                r.anchors.iter().filter(|x| x.problem.is_some()).collect();
            if r.chain.ok {
                outln!("chain: {} events verified", r.chain.checked);
            }
            outln!(
                "git witnessed {} chain heads; {} still in the chain",
                r.anchors.len(),
                r.anchors.len() - bad.len()
            );
            if r.anchors.is_empty() {
                outln!(
                    "nothing to check against: run `sluice audit anchor` (and push refs/notes/sluice-audit)"
                );
            }
        }
        if r.ok {
            if !cli.json {
                output::ok("audit log agrees with git");
            }
            return Ok(());
        }
        let mut problems: Vec<sluice_core::decide::Unmet> = r
            .anchors
            .iter()
            .filter_map(|x| {
                x.problem
                    .as_ref()
                    .map(|p| sluice_core::decide::Unmet::new(format!("{}: {p}", x.source)))
            })
            .collect();
        if let Some(b) = &r.chain.first_break {
            problems.insert(
                0,
                sluice_core::decide::Unmet::new(format!(
                    "event {} fails verification: {}",
                    b.seq, b.problem
                )),
            );
        }
        return Err(Failure {
            code: 1,
            message: "audit log does not agree with git".into(),
            unmet: problems,
            quiet: cli.json,
        });
    }
    if a.cmd.is_some() {
        let v = app
            .run("", jiff::Timestamp::now(), &[], wire::VerifyAudit {})
            .await?;
        if cli.json {
            output::json(&v);
        }
        return match &v.first_break {
            None => {
                if !cli.json {
                    output::ok(&format!("audit log intact: {} events verified", v.checked));
                }
                Ok(())
            }
            Some(b) => Err(Failure {
                code: 1,
                message: format!(
                    "audit log altered: event {} fails verification: {}",
                    b.seq, b.problem
                ),
                unmet: vec![],
                quiet: cli.json,
            }),
        };
    }
    let r = app
        .run(
            "",
            jiff::Timestamp::now(),
            &[],
            wire::AuditQuery {
                subject: a.subject.clone(),
                after: Some(a.after),
                limit: Some(a.limit),
            },
        )
        .await?;
    if cli.json {
        output::json(&r.events);
        return Ok(());
    }
    let mut t = output::table(&["#", "time", "actor", "event", "subject", "details"]);
    for e in &r.events {
        let mut details = e.payload.clone();
        if details.len() > 100 {
            let cut = (0..=100)
                .rev()
                .find(|i| details.is_char_boundary(*i))
                .unwrap_or(0);
            details.truncate(cut);
            details.push('…');
        }
        t.add_row(vec![
            e.seq.to_string(),
            output::when(jiff::Timestamp::from_millisecond(e.at_ms).ok()),
            e.actor.clone(),
            e.kind.clone(),
            e.subject.clone(),
            details,
        ]);
    }
    output::print_table(&t);
    Ok(())
}
