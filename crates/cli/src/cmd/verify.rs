//! `verify TAG`: a release checked offline, from git alone.

use crate::Cli;
use crate::output::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The release tag, e.g. v1.2.4.
    tag: String,
}

pub async fn run(_cli: &Cli, a: &Args) -> Result<(), Failure> {
    Err(Failure::usage(format!("cannot verify {} yet", a.tag)))
}
