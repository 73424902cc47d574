//! `init`, `check` and `process show`: the process file itself.

use std::io::Write;

use sluice_app::ProcessError;
use sluice_core::process::{self, DocFormat};

use crate::Cli;
use crate::context;
use crate::output::{self, Failure};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Overwrite an existing sluice.toml.
    #[arg(long)]
    force: bool,
    /// Directory to write it in.
    #[arg(long, default_value = ".")]
    dir: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

#[derive(Debug, clap::Subcommand)]
pub enum ProcessCmd {
    /// Render the process document.
    Show {
        /// text for a terminal, markdown for a wiki or a review.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Md,
    Text,
}

pub fn init(cli: &Cli, a: &Args) -> Result<(), Failure> {
    let path = a.dir.join("sluice.toml");
    if path.exists() && !a.force {
        return Err(Failure::usage(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    // Write to a temporary file and rename, so a failure never leaves half a file.
    let tmp = a.dir.join(".sluice.toml.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(process::DEFAULT_PROCESS.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Failure::usage(format!(
            "cannot write {}: {e}",
            path.display()
        )));
    }
    if cli.json {
        output::json(&serde_json::json!({"written": path.display().to_string()}));
    } else {
        output::ok(&format!("wrote {}", path.display()));
        outln!("next: edit roles and environments, then run `sluice check`");
        // A git repository without a commit can neither branch nor tag.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let in_git = std::process::Command::new("git")
            .args(["rev-parse", "--is-inside-work-tree"])
            .current_dir(dir.unwrap_or(std::path::Path::new(".")))
            .output()
            .is_ok_and(|o| o.status.success());
        let has_commit = std::process::Command::new("git")
            .args(["rev-parse", "--verify", "-q", "HEAD"])
            .current_dir(dir.unwrap_or(std::path::Path::new(".")))
            .output()
            .is_ok_and(|o| o.status.success());
        if in_git && !has_commit {
            outln!(
                "this git repository has no commit yet: commit sluice.toml (git add sluice.toml && git commit -m \"Adopt Sluice\") before starting patches or cutting releases"
            );
        }
    }
    Ok(())
}

pub fn check(cli: &Cli, _a: &CheckArgs) -> Result<(), Failure> {
    let path = context::process_path(cli)?;
    match sluice_app::load_process(&path) {
        Ok(p) => {
            if cli.json {
                output::json(
                    &serde_json::json!({"ok": true, "file": path.display().to_string(), "environments": p.environments.len()}),
                );
            } else {
                output::ok(&format!("{}: ok", path.display()));
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => std::path::Path::new("."),
                };
                for line in sluice_app::vcs::adoption(&p, dir) {
                    outln!("{line}");
                }
            }
            Ok(())
        }
        Err(ProcessError::Io(m)) => Err(Failure::usage(m)),
        Err(ProcessError::Invalid(d)) => {
            if cli.json {
                output::json(
                    &serde_json::json!({"ok": false, "file": path.display().to_string(), "problems": d.0}),
                );
                Err(Failure {
                    code: 2,
                    message: format!("{} problem(s)", d.0.len()),
                    unmet: vec![],
                    quiet: true,
                })
            } else {
                Err(Failure::usage(d.to_string().trim_end().to_string()))
            }
        }
    }
}

pub fn process(cli: &Cli, c: &ProcessCmd) -> Result<(), Failure> {
    let ProcessCmd::Show { format } = c;
    let (_, p) = context::process_file(cli)?;
    if cli.json {
        output::json(&p);
        return Ok(());
    }
    let f = match format {
        Format::Md => DocFormat::Markdown,
        Format::Text => DocFormat::Text,
    };
    out!("{}", process::render(&p, f));
    Ok(())
}
