//! `notify preview`: who the stakeholder matrix tells about an event. Needs
//! only the process file; nothing is sent and secrets stay `${VAR}` references.

use sluice_app::ProcessError;
use sluice_core::notify::{self, Facts};
use sluice_core::process::{self, Bump};

use crate::Cli;
use crate::context;
use crate::output::{self, Failure};

#[derive(Debug, clap::Subcommand)]
pub enum NotifyCmd {
    /// Show who would receive what for an event, without sending anything.
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

pub fn run(cli: &Cli, c: &NotifyCmd) -> Result<(), Failure> {
    let NotifyCmd::Preview {
        event,
        env,
        severities,
        release_type,
    } = c;
    if !process::EVENTS.contains(&event.as_str()) {
        return Err(Failure::usage(format!(
            "unknown event `{event}`; events are: {}",
            process::EVENTS.join(", ")
        )));
    }
    let path = context::process_path(cli)?;
    let p = match sluice_app::load_process(&path) {
        Ok(p) => p,
        Err(ProcessError::Io(m)) => return Err(Failure::usage(m)),
        Err(ProcessError::Invalid(d)) => {
            return Err(Failure::usage(d.to_string().trim_end().to_string()));
        }
    };
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
    if cli.json {
        output::json(&serde_json::json!({
            "event": facts.event,
            "env": facts.env,
            "severities": facts.severities,
            "release_type": facts.release_type,
            "deliveries": deliveries,
        }));
        return Ok(());
    }
    if deliveries.is_empty() {
        println!("nobody is told about {event} with these facts");
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
    Ok(())
}
