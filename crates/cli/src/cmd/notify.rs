//! `notify preview`: who the stakeholder matrix tells about an event and
//! what each recipient gets, rendered through the templates with example
//! values. Needs only the process file; nothing is sent and secrets stay
//! `${VAR}` references.
//! `notify flush|list|status|retry`: the outbox in the database.

use sluice_app::OutboxStatus;
use sluice_app::messages::{Templates, sample_context};
use sluice_core::notify::{self, Facts, Transport};

use crate::backend::Backend;
use sluice_app::wire;
use sluice_core::process::{self, Bump};

use crate::Cli;
use crate::context;
use crate::output::{self, Failure};

#[derive(Debug, clap::Subcommand)]
pub enum NotifyCmd {
    /// Show who would receive what for an event, rendered, without sending anything.
    Preview {
        /// The event, e.g. release.deployed or patch.reported.
        event: String,
        /// The environment the event happens in.
        #[arg(long)]
        env: Option<String>,
        /// A severity of the patch concerned (repeatable).
        #[arg(long = "severity", value_name = "S")]
        severities: Vec<String>,
        /// The type of the release concerned.
        #[arg(long, value_enum)]
        release_type: Option<ReleaseType>,
    },
    /// Deliver the due messages of the outbox once and print what happened.
    Flush {
        /// At most this many messages.
        #[arg(long, default_value_t = 1000)]
        max: usize,
    },
    /// List outbox messages, newest first.
    List {
        /// Only dead messages (given up on; revive with `notify retry`).
        #[arg(long, conflicts_with = "pending")]
        dead: bool,
        /// Only messages still to be delivered.
        #[arg(long)]
        pending: bool,
        /// At most this many messages.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Count messages per status and channel.
    Status,
    /// Revive a dead message (same id) or send a pending one at the next flush.
    Retry {
        /// The message id, as `notify list` shows it.
        id: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReleaseType {
    Patch,
    Minor,
    Major,
}

impl From<ReleaseType> for Bump {
    fn from(r: ReleaseType) -> Bump {
        match r {
            ReleaseType::Patch => Bump::Patch,
            ReleaseType::Minor => Bump::Minor,
            ReleaseType::Major => Bump::Major,
        }
    }
}

/// The outbox commands, which need the database.
pub async fn run_db(
    cli: &Cli,
    app: &Backend,
    now: jiff::Timestamp,
    c: &NotifyCmd,
) -> Result<(), Failure> {
    match c {
        NotifyCmd::Preview { .. } => unreachable!("preview needs no database"),
        NotifyCmd::Flush { max } => {
            let actor = context::actor(cli, app)?;
            let r = app
                .run(&actor, now, &[], wire::Flush { max: Some(*max) })
                .await?;
            if cli.json {
                output::json(&r);
            } else {
                output::ok(&format!(
                    "{} delivered, {} failed (will be retried), {} dead, {} waiting for their channel's rate limit",
                    r.delivered, r.failed, r.dead, r.deferred
                ));
            }
        }
        NotifyCmd::List {
            dead,
            pending,
            limit,
        } => {
            let status = if *dead {
                Some(OutboxStatus::Dead)
            } else if *pending {
                Some(OutboxStatus::Pending)
            } else {
                None
            };
            let rows = app
                .run(
                    "",
                    now,
                    &[],
                    wire::NotificationQuery {
                        status: status.map(|s| s.as_str().to_string()),
                        limit: Some(*limit as i64),
                    },
                )
                .await?;
            if cli.json {
                output::json(&rows);
                return Ok(());
            }
            if rows.is_empty() {
                outln!("no notifications");
                return Ok(());
            }
            let mut t = output::table(&[
                "id",
                "event",
                "channel",
                "transport",
                "address",
                "status",
                "attempts",
                "last error",
            ]);
            for r in &rows {
                t.add_row(vec![
                    r.id.clone(),
                    format!("{} #{}", r.event_kind, r.event_seq),
                    r.channel.clone(),
                    r.transport.clone(),
                    r.address.clone(),
                    r.status.clone(),
                    r.attempts.to_string(),
                    r.last_error.clone().unwrap_or_default(),
                ]);
            }
            output::print_table(&t);
        }
        NotifyCmd::Status => {
            let counts = app.run("", now, &[], wire::NotificationCounts {}).await?;
            if cli.json {
                output::json(&counts);
                return Ok(());
            }
            if counts.is_empty() {
                outln!("the outbox is empty");
                return Ok(());
            }
            let mut t = output::table(&["status", "channel", "transport", "messages"]);
            for c in &counts {
                t.add_row(vec![
                    c.status.clone(),
                    c.channel.clone(),
                    c.transport.clone(),
                    c.count.to_string(),
                ]);
            }
            output::print_table(&t);
        }
        NotifyCmd::Retry { id } => {
            let actor = context::actor(cli, app)?;
            let was = app
                .run(&actor, now, &[id], wire::RetryNotification {})
                .await?;
            if cli.json {
                output::json(&serde_json::json!({"id": id, "was": was, "status": "pending"}));
            } else if was == "dead" {
                output::ok(&format!("{id} revived: it will be sent at the next flush"));
            } else {
                output::ok(&format!("{id} will be sent at the next flush"));
            }
        }
    }
    Ok(())
}

/// `notify preview`.
pub fn run(cli: &Cli, c: &NotifyCmd) -> Result<(), Failure> {
    let NotifyCmd::Preview {
        event,
        env,
        severities,
        release_type,
    } = c
    else {
        unreachable!("only preview runs without a database")
    };
    if !process::EVENTS.contains(&event.as_str()) {
        return Err(Failure::usage(format!(
            "unknown event `{event}`; events are: {}",
            process::EVENTS.join(", ")
        )));
    }
    let (path, p) = context::process_file(cli)?;
    if let Some(e) = env
        && p.environment(e).is_none()
    {
        let known: Vec<&str> = p.environments.iter().map(|e| e.name.as_str()).collect();
        return Err(Failure::usage(format!(
            "unknown environment `{e}`; environments are: {}",
            known.join(", ")
        )));
    }
    for s in severities {
        if !p.severities.iter().any(|d| d.name == *s) {
            let known: Vec<&str> = p.severities.iter().map(|d| d.name.as_str()).collect();
            return Err(Failure::usage(format!(
                "unknown severity `{s}`; severities are: {}",
                known.join(", ")
            )));
        }
    }
    let facts = Facts {
        event: event.clone(),
        env: env.clone(),
        severities: severities.clone(),
        release_type: release_type.map(Bump::from),
    };
    let deliveries = notify::route(&p, &facts);
    let root = path.parent().unwrap_or(std::path::Path::new("."));
    let templates = Templates::load(&p, root)
        .map_err(|d| Failure::usage(d.to_string().trim_end().to_string()))?;
    let release_type = facts.release_type.map(|b| b.to_string());
    // The CloudEvents type each webhook sends, by its channel's format.
    let webhook_type = |channel: &str| {
        let format = p
            .channels
            .iter()
            .find(|c| c.name == channel)
            .map(|c| c.format)
            .unwrap_or_default();
        sluice_app::deliver::event_type(format, event).unwrap_or_default()
    };
    let mut rendered = Vec::new();
    for d in &deliveries {
        let ctx = sample_context(
            &p,
            event,
            env.as_deref(),
            severities,
            release_type.as_deref(),
            &d.channel,
        );
        rendered.push(
            templates
                .render(&ctx)
                .map_err(|e| Failure::usage(e.to_string()))?,
        );
    }
    if cli.json {
        let with: Vec<serde_json::Value> = deliveries
            .iter()
            .zip(&rendered)
            .map(|(d, r)| {
                let mut v = serde_json::to_value(d).expect("a delivery serializes");
                v["message"] = match d.transport {
                    Transport::Slack => serde_json::json!({"text": r.subject, "slack": r.slack}),
                    Transport::Email => {
                        serde_json::json!({"subject": r.subject, "text": r.text, "html": r.html})
                    }
                    Transport::Webhook => {
                        serde_json::json!({"type": webhook_type(&d.channel), "summary": r.subject})
                    }
                };
                v
            })
            .collect();
        output::json(&serde_json::json!({
            "event": facts.event,
            "env": facts.env,
            "severities": facts.severities,
            "release_type": facts.release_type,
            "deliveries": with,
        }));
        return Ok(());
    }
    if deliveries.is_empty() {
        outln!("nobody is told about {event} with these facts");
        return Ok(());
    }
    let mut t = output::table(&["rule", "channel", "transport", "address"]);
    for d in &deliveries {
        t.add_row(vec![
            d.rule.to_string(),
            d.channel.clone(),
            d.transport.to_string(),
            d.address.clone(),
        ]);
    }
    output::print_table(&t);
    for (d, r) in deliveries.iter().zip(&rendered) {
        outln!();
        outln!("== {} to {} ({})", d.transport, d.address, d.channel);
        match d.transport {
            Transport::Slack => outln!("{}", r.slack),
            Transport::Email => out!("Subject: {}\n\n{}", r.subject, r.text),
            Transport::Webhook => outln!(
                "CloudEvent {}, summary: {}",
                webhook_type(&d.channel),
                r.subject
            ),
        }
    }
    Ok(())
}
