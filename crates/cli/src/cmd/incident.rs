//! `incident open|resolve|list|show`.

use jiff::Timestamp;

use crate::backend::Backend;
use sluice_app::wire;
use sluice_core::model::Incident;

use crate::output::{self, Failure};
use crate::{Cli, context};

#[derive(Debug, clap::Subcommand)]
pub enum IncidentCmd {
    /// Open an incident by hand, on the release the environment holds now.
    Open {
        /// The environment it happens in.
        #[arg(long)]
        env: String,
        /// What is wrong, in one line.
        #[arg(long)]
        title: String,
        /// The service affected.
        #[arg(long)]
        service: Option<String>,
        /// A severity the process file defines.
        #[arg(long)]
        severity: Option<String>,
        /// A link to the alert or dashboard (http or https).
        #[arg(long)]
        url: Option<String>,
    },
    /// Resolve an incident (its opener, or the role responsible for monitoring).
    Resolve {
        /// The incident number.
        id: i64,
        /// What was done, for the audit log.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Incidents, newest first.
    List {
        /// Only open ones.
        #[arg(long)]
        open: bool,
        /// Only those in this environment.
        #[arg(long)]
        env: Option<String>,
        /// Only those opened on this release.
        #[arg(long)]
        release: Option<String>,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// One incident and its history.
    Show {
        /// The incident number.
        id: i64,
    },
}

fn state(i: &Incident) -> &'static str {
    if i.is_open() { "open" } else { "resolved" }
}

fn done(cli: &Cli, i: &Incident, headline: &str) {
    if cli.json {
        output::json(i);
    } else {
        output::ok(headline);
    }
}

pub async fn run(cli: &Cli, app: &Backend, now: Timestamp, c: &IncidentCmd) -> Result<(), Failure> {
    match c {
        IncidentCmd::Open {
            env,
            title,
            service,
            severity,
            url,
        } => {
            let actor = context::actor(cli, app)?;
            let req = wire::OpenIncident {
                env: env.clone(),
                service: service.clone(),
                title: title.clone(),
                severity: severity.clone(),
                url: url.clone(),
            };
            let i = app.run(&actor, now, &[], req).await?;
            let on = i
                .release
                .as_deref()
                .map_or("no release".to_string(), |r| format!("release {r}"));
            done(
                cli,
                &i,
                &format!("incident {} opened in {} on {on}", i.id, i.env),
            );
            Ok(())
        }
        IncidentCmd::Resolve { id, comment } => {
            let actor = context::actor(cli, app)?;
            let i = app
                .run(
                    &actor,
                    now,
                    &[&id.to_string()],
                    wire::ResolveIncident {
                        comment: comment.clone(),
                    },
                )
                .await?;
            done(cli, &i, &format!("incident {} resolved", i.id));
            Ok(())
        }
        IncidentCmd::List {
            open,
            env,
            release,
            limit,
        } => {
            let list = app
                .run(
                    "",
                    now,
                    &[],
                    wire::IncidentFilter {
                        open: *open,
                        env: env.clone(),
                        release: release.clone(),
                        limit: Some(*limit),
                    },
                )
                .await?;
            if cli.json {
                output::json(&list);
                return Ok(());
            }
            let mut t =
                output::table(&["id", "state", "env", "release", "source", "opened", "title"]);
            for i in &list {
                t.add_row(vec![
                    i.id.to_string(),
                    state(i).to_string(),
                    i.env.clone(),
                    i.release.clone().unwrap_or_default(),
                    i.source.clone(),
                    output::when(Some(i.opened_at)),
                    i.title.clone(),
                ]);
            }
            output::print_table(&t);
            Ok(())
        }
        IncidentCmd::Show { id } => {
            let v = app
                .run("", now, &[&id.to_string()], wire::ShowIncident {})
                .await?;
            if cli.json {
                output::json(&v);
                return Ok(());
            }
            let i = &v.incident;
            outln!("incident {}  {}", i.id, i.title);
            let mut t = output::table(&["field", "value"]);
            let rows = [
                ("state", state(i).to_string()),
                ("env", i.env.clone()),
                ("release", i.release.clone().unwrap_or_default()),
                ("service", i.service.clone().unwrap_or_default()),
                ("severity", i.severity.clone().unwrap_or_default()),
                ("source", i.source.clone()),
                ("fingerprint", i.fingerprint.clone().unwrap_or_default()),
                ("url", i.url.clone().unwrap_or_default()),
                (
                    "opened",
                    format!("{} by {}", output::when(Some(i.opened_at)), i.opened_by),
                ),
                (
                    "resolved",
                    match (&i.resolved_at, &i.resolved_by) {
                        (Some(at), Some(by)) => format!("{} by {by}", output::when(Some(*at))),
                        _ => String::new(),
                    },
                ),
                ("comment", i.comment.clone().unwrap_or_default()),
            ];
            for (k, val) in rows {
                t.add_row(vec![k.to_string(), val]);
            }
            output::print_table(&t);
            Ok(())
        }
    }
}
