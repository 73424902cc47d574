//! `verify TAG`: a release checked offline, from git alone (and the process
//! file when there is one), without the database.

use crate::Cli;
use crate::output::{self, Failure};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The release tag, e.g. v1.2.4.
    tag: String,
}

pub async fn run(cli: &Cli, a: &Args) -> Result<(), Failure> {
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::usage(format!("cannot read the current directory: {e}")))?;
    let repo = sluice_git::Repo::discover(&cwd).map_err(|e| Failure::usage(format!("{e}")))?;
    let process = crate::context::process_path(cli)
        .ok()
        .and_then(|p| sluice_app::load_process(&p).ok());
    let v = sluice_app::publish::verify(&repo, process.as_ref(), &a.tag)?;
    if cli.json {
        output::json(&v);
    } else if v.ok {
        let e = v
            .evidence
            .as_ref()
            .expect("a verified release has evidence");
        output::ok(&format!(
            "{}: release {} verified: {} patch(es), {} commit(s), entered {}",
            v.tag,
            e.version,
            e.patches.len(),
            e.commits.len(),
            if e.reached.is_empty() {
                "no environment yet".to_string()
            } else {
                e.reached.join(" → ")
            }
        ));
    }
    if v.ok {
        return Ok(());
    }
    Err(Failure {
        code: 1,
        message: format!("{} does not verify", v.tag),
        unmet: v
            .problems
            .iter()
            .map(|p| sluice_core::decide::Unmet::new(p.clone()))
            .collect(),
        quiet: cli.json,
    })
}
