//! Finding the repository, the process file, the database and the actor.

use std::path::{Path, PathBuf};

use sluice_app::{App, ProcessError};

use crate::backend::{Backend, Kind, Remote};

use crate::Cli;
use crate::output::Failure;

/// The repository root: the directory of the process file.
pub fn process_path(cli: &Cli) -> Result<PathBuf, Failure> {
    if let Some(p) = &cli.config {
        return Ok(p.clone());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::usage(format!("cannot read the current directory: {e}")))?;
    sluice_app::find_root(&cwd).map(|r| r.join("sluice.toml")).ok_or_else(|| {
        Failure::usage(format!(
            "no sluice.toml in {} or any parent directory\n  hint: run `sluice init` at the repository root, or pass --config PATH",
            cwd.display()
        ))
    })
}

pub fn root_of(path: &Path) -> PathBuf {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// Loads the process and opens the database. Without a sluice.toml in the tree
/// (an old release line checked out), the one committed on main is used.
pub async fn open(cli: &Cli) -> Result<App, Failure> {
    let loaded = match process_path(cli) {
        Ok(path) => sluice_app::load_process(&path).map(|p| (p, root_of(&path))),
        Err(not_found) => {
            let cwd = std::env::current_dir()
                .map_err(|e| Failure::usage(format!("cannot read the current directory: {e}")))?;
            match sluice_app::load_process_from_git(&cwd) {
                Some((root, p)) => p.map(|p| (p, root)),
                None => return Err(not_found),
            }
        }
    };
    let (process, root) = match loaded {
        Ok(x) => x,
        Err(ProcessError::Io(m)) => return Err(Failure::usage(m)),
        Err(ProcessError::Invalid(d)) => {
            return Err(Failure::usage(format!(
                "{d}\n  hint: run `sluice check` after fixing the file"
            )));
        }
    };
    let url = match &cli.db {
        Some(u) => u.clone(),
        None => sluice_app::default_db_url(&root).map_err(|e| {
            Failure::usage(format!(
                "cannot create {}: {e}",
                root.join(".sluice").display()
            ))
        })?,
    };
    App::open(process, &url, root).await.map_err(Failure::from)
}

/// Local mode on the repository's database, or remote mode when `--server`
/// (or SLUICE_SERVER) names a server.
pub async fn backend(cli: &Cli) -> Result<Backend, Failure> {
    if let Some(url) = cli.server.as_deref().filter(|u| !u.trim().is_empty()) {
        let token = std::env::var("SLUICE_TOKEN").unwrap_or_default();
        let remote = Remote::connect(url.trim(), &token).await?;
        let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        return Ok(Backend {
            root,
            kind: Kind::Remote(remote),
        });
    }
    let app = open(cli).await?;
    Ok(Backend {
        root: app.root().to_path_buf(),
        kind: Kind::Local(Box::new(app)),
    })
}

/// Who acts. Remote: the user the token names (`--as` may only repeat it).
/// The process file and its path, for the commands that need no database; a
/// file that cannot be read or does not validate is a usage error (exit 2).
pub fn process_file(
    cli: &Cli,
) -> Result<(std::path::PathBuf, sluice_core::process::Process), Failure> {
    let path = process_path(cli)?;
    match sluice_app::load_process(&path) {
        Ok(p) => Ok((path, p)),
        Err(sluice_app::ProcessError::Io(m)) => Err(Failure::usage(m)),
        Err(sluice_app::ProcessError::Invalid(d)) => {
            Err(Failure::usage(d.to_string().trim_end().to_string()))
        }
    }
}

/// Who this command acts as, and where that came from, once resolved: a
/// refusal says it, so nobody is refused as someone they did not mean to be.
static ACTING: std::sync::OnceLock<(String, &'static str)> = std::sync::OnceLock::new();

fn acting(user: String, from: &'static str) -> String {
    let _ = ACTING.set((user.clone(), from));
    user
}

/// `as USER (from SOURCE)`, when the command resolved who it acts as (with
/// how to act as someone else, unless `--as` said so already).
pub fn acting_as() -> Option<String> {
    ACTING.get().map(|(u, from)| {
        let mut s = format!("as {u} (from {from})");
        if *from != "--as" && *from != "the server token" {
            s.push_str("; --as USER acts as someone else");
        }
        s
    })
}

/// Local: `--as`, then SLUICE_USER, then git's user.email.
pub fn actor(cli: &Cli, be: &Backend) -> Result<String, Failure> {
    if let Kind::Remote(r) = &be.kind {
        return match cli.actor.as_deref().map(str::trim) {
            Some(a) if !a.is_empty() && a != r.user => Err(Failure::usage(format!(
                "in remote mode you act as the token's user ({}); --as {a} would need that user's token",
                r.user
            ))),
            _ => Ok(acting(r.user.clone(), "the server token")),
        };
    }
    local_actor(cli, &be.root)
}

/// `--as`, then SLUICE_USER, then git's user.email in `root`.
pub fn local_actor(cli: &Cli, root: &Path) -> Result<String, Failure> {
    if let Some(a) = cli.actor.as_deref().filter(|a| !a.trim().is_empty()) {
        return Ok(acting(a.trim().to_string(), "--as"));
    }
    if let Ok(a) = std::env::var("SLUICE_USER")
        && !a.trim().is_empty()
    {
        return Ok(acting(a.trim().to_string(), "SLUICE_USER"));
    }
    let out = std::process::Command::new("git")
        .args(["config", "user.email"])
        .current_dir(root)
        .output();
    if let Ok(o) = out
        && o.status.success()
    {
        let email = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if !email.is_empty() {
            return Ok(acting(email, "git config user.email"));
        }
    }
    Err(Failure::usage(
        "who is acting? pass --as USER, set SLUICE_USER, or set git's user.email (git config user.email you@example.com)".to_string(),
    ))
}
