//! `audit [verify [--against-git] | anchor]`.

use crate::backend::Backend;
use sluice_app::wire;

use crate::Cli;
use crate::output::{self, Failure};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Option<AuditCmd>,
    /// Only events about this patch key, release version or incident (`incident-3`).
    #[arg(long)]
    subject: Option<String>,
    /// Only events of this kind (`release.deployed`, `patch.reopened`, ...).
    #[arg(long)]
    kind: Option<String>,
    /// Oldest first, the events after this sequence number (default: the
    /// newest events, newest first, as the web page shows them).
    #[arg(long, value_name = "SEQ")]
    after: Option<i64>,
    /// Oldest first, from the first event.
    #[arg(long, conflicts_with = "after")]
    oldest_first: bool,
    /// At most this many events.
    #[arg(long, default_value_t = 1000)]
    limit: i64,
    /// After printing, keep printing new events as they are recorded (oldest
    /// first, like `tail -f`), until interrupted.
    #[arg(long, short = 'f')]
    follow: bool,
}

/// An event's payload for people: `key=value` pairs, nested values as JSON.
pub fn details(payload: &str) -> String {
    let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(payload)
    else {
        return payload.to_string();
    };
    m.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            serde_json::Value::Array(a) if a.iter().all(|x| x.is_string()) => format!(
                "{k}={}",
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            v => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn event_row(e: &sluice_core::audit::StoredEvent) -> Vec<String> {
    vec![
        e.seq.to_string(),
        output::when(jiff::Timestamp::from_millisecond(e.at_ms).ok()),
        e.actor.clone(),
        e.kind.clone(),
        e.subject.clone(),
        details(&e.payload),
    ]
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
    /// One event in full: its payload as JSON, its time, actor and hashes.
    Show {
        /// The event's sequence number (the `#` column).
        seq: i64,
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
    if let Some(AuditCmd::Show { seq }) = a.cmd {
        let q = wire::AuditQuery {
            after: Some(seq - 1),
            limit: Some(1),
            ..Default::default()
        };
        let e = app
            .run("", jiff::Timestamp::now(), &[], q)
            .await?
            .events
            .into_iter()
            .find(|e| e.seq == seq)
            .ok_or_else(|| Failure {
                code: 1,
                message: format!("no event {seq} in the audit log; `sluice audit` lists them"),
                unmet: vec![],
                quiet: false,
            })?;
        if cli.json {
            output::json(&e);
            return Ok(());
        }
        outln!("event {}: {} {}", e.seq, e.kind, e.subject);
        outln!(
            "at {} by {}",
            output::when(jiff::Timestamp::from_millisecond(e.at_ms).ok()),
            e.actor
        );
        outln!("hash {} (after {})", e.hash, e.prev_hash);
        let pretty = serde_json::from_str::<serde_json::Value>(&e.payload)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| e.payload.clone());
        outln!("{pretty}");
        return Ok(());
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
    let oldest = a.after.is_some() || a.oldest_first;
    let query = |after: Option<i64>, newest: bool| wire::AuditQuery {
        subject: a.subject.clone(),
        event: a.kind.clone(),
        after,
        before: None,
        newest,
        limit: Some(a.limit),
    };
    let mut events = app
        .run(
            "",
            jiff::Timestamp::now(),
            &[],
            query(a.after.or(Some(0)), !oldest),
        )
        .await?
        .events;
    if a.follow && !oldest {
        // Following reads like `tail -f`: the last events, oldest first.
        events.reverse();
    }
    let mut last = events
        .iter()
        .map(|e| e.seq)
        .max()
        .unwrap_or(a.after.unwrap_or(0));
    if cli.json {
        if a.follow {
            for e in &events {
                outln!("{}", serde_json::to_string(e).unwrap_or_default());
            }
        } else {
            output::json(&events);
            return Ok(());
        }
    } else if !a.follow {
        let mut t = output::table(&["#", "time", "actor", "event", "subject", "details"]);
        for e in &events {
            t.add_row(event_row(e));
        }
        output::print_table(&t);
        return Ok(());
    } else {
        for e in &events {
            outln!("{}", event_row(e).join("  "));
        }
    }
    // --follow: one line per new event (JSON Lines with --json), polled
    // every second, until interrupted.
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        let new = app
            .run("", jiff::Timestamp::now(), &[], query(Some(last), false))
            .await?
            .events;
        for e in &new {
            if cli.json {
                outln!("{}", serde_json::to_string(e).unwrap_or_default());
            } else {
                outln!("{}", event_row(e).join("  "));
            }
            last = last.max(e.seq);
        }
    }
}
