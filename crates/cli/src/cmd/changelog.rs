//! `changelog` and `version`: commit mode, for any repository with
//! Conventional Commits and SemVer tags, with or without a process file.

use crate::Cli;
use crate::output::Failure;

#[derive(Debug, clap::Args)]
pub struct Args {}

#[derive(Debug, clap::Args)]
pub struct VersionArgs {}

pub async fn changelog(_cli: &Cli, _a: &Args) -> Result<(), Failure> {
    Err(Failure::usage("not built yet"))
}

pub async fn version(_cli: &Cli, _a: &VersionArgs) -> Result<(), Failure> {
    Err(Failure::usage("not built yet"))
}
