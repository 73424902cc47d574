//! `completions` and `man`: shell completions and manual pages, generated
//! from the same command definitions `--help` prints.

use std::path::PathBuf;

use clap::CommandFactory;

use crate::Cli;
use crate::output::Failure;

#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write a page per command (sluice.1, sluice-patch.1, sluice-patch-report.1, ...)
    /// into this folder instead of printing sluice(1).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Prints the completion script for a shell (e.g. `sluice completions bash >
/// /etc/bash_completion.d/sluice`).
pub fn completions(a: &CompletionArgs) -> Result<(), Failure> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "sluice", &mut out);
    write_stdout(&out)
}

/// Prints sluice(1), or writes every page into `--dir`.
pub fn man(a: &ManArgs) -> Result<(), Failure> {
    let cmd = Cli::command();
    match &a.dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Failure::usage(format!("cannot render the manual: {e}")))?;
            write_stdout(&out)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
            clap_mangen::generate_to(cmd, dir).map_err(|e| {
                Failure::usage(format!(
                    "cannot write the pages into {}: {e}",
                    dir.display()
                ))
            })?;
            outln!("manual pages written to {}", dir.display());
            Ok(())
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        // A closed pipe (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::usage(format!("cannot write: {e}")))
        }
        _ => Ok(()),
    }
}
