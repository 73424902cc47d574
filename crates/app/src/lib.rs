//! The Sluice application layer: every command of the product, as one async
//! function each. The CLI (local and remote), the HTTP API, webhooks and the web
//! UI all call these; no rule lives anywhere else.
//!
//! Each command: read the state it needs (with revisions), ask the pure core to
//! decide, then write the result with its events in one transaction. The clock
//! and the actor come from the caller's shell.

mod audit;
pub mod cdevents;
pub mod commit_mode;
pub mod deliver;
pub mod dispatch;
mod email;
mod idempotency;
mod incidents;
pub mod messages;
pub mod metrics;
pub mod notes;
mod origin;
mod outbox;
mod patches;
mod promote;
pub mod publish;
mod releases;
mod retros;
mod runner;
mod sending;
mod timed;
mod tokens;
#[cfg(test)]
mod uri_reference;
pub mod vcs;
pub mod views;
mod watch;
mod webhooks;
pub mod wire;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use sluice_core::decide::{Ctx, Denied, Unmet};
use sluice_core::process::{self, Diagnostics, Process};
use sluice_store::{Store, StoreError};

pub use audit::{
    ANCHOR_REF, Anchor, AnchorCheck, AnchorReport, Anchored, AuditReport, AuditVerify,
};
pub use incidents::IncidentView;
pub use patches::{PatchList, PatchView};
pub use promote::{PromoteOutcome, RollbackOutcome, command_output};
pub use releases::{Approved, ChecklistLine, ChecklistView, CutOptions, PlanView, ReleaseView};
pub use retros::RetroView;
pub use runner::{CommandRun, run_command};
pub use sluice_store::{
    ApiToken, Claim, IDEMPOTENCY_LEASE_MS, IncidentQuery, OutboxRow, OutboxStatus, PatchQuery,
    Replay,
};
pub use timed::{SCHEDULER, TICK_EVERY, TickReport};
pub use tokens::{
    AuthError, NewToken, SESSION_HOURS, Session, TOKEN_PREFIX, random_hex, sha256_hex, token_hash,
};
pub use webhooks::{
    Effect, InboundRequest, MAX_WEBHOOK_BODY, WebhookError, WebhookOutcome, WebhookSource,
};

/// How a command failed. Each maps to one exit code at the edge.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The process does not allow it (exit 1).
    #[error("refused: {summary}")]
    Refused { summary: String, unmet: Vec<Unmet> },
    /// Someone else changed the same thing first (exit 1).
    #[error("{0}")]
    Conflict(String),
    /// It ran and failed (a deploy or rollback command): the outcome is
    /// recorded, nothing moved (exit 1).
    #[error("failed: {0}")]
    Failed(String),
    /// A bad request: unknown key, bad value (exit 2).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Store(StoreError),
    #[error("{0}")]
    Io(String),
}

impl AppError {
    /// The documented exit code: 1 refused by the process, 2 usage, configuration or I/O.
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Refused { .. } | AppError::Conflict(_) | AppError::Failed(_) => 1,
            _ => 2,
        }
    }
}

impl From<Denied> for AppError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Refused { summary, unmet } => AppError::Refused { summary, unmet },
            Denied::Invalid(m) => AppError::Invalid(m),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => AppError::Conflict(e.to_string()),
            e => AppError::Store(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, AppError>;

/// One Sluice: a process, its database, and the repository it lives in.
/// Every interface (CLI, API, webhooks, web UI) reaches the process, the
/// database and the repository through its methods only.
pub struct App {
    /// Shared by the handles [`App::with_origin`] makes.
    process: std::sync::Arc<Process>,
    store: Store,
    /// The repository root: deploy commands run here.
    root: PathBuf,
    /// The git repository around the root, if there is one.
    git: Option<sluice_git::Repo>,
    /// What every change also records (see [`Origin`]).
    origin: std::sync::Arc<Origin>,
    /// Where a deploy or rollback command's output also goes as it runs (see
    /// [`App::following`]).
    output: Option<OutputSink>,
}

/// Receives a running command's output, chunk by chunk, as it is written.
pub type OutputSink = std::sync::Arc<runner::Follow>;

pub use origin::Origin;

/// Where the process file is looked for, from `start` upwards.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("sluice.toml").is_file())
        .map(Path::to_path_buf)
}

/// A file the process file names, from the repository root. The loader
/// already refuses absolute paths and `..`; this also refuses one that a
/// symbolic link takes out of the repository.
pub fn repo_file(root: &Path, rel: &str) -> std::result::Result<PathBuf, String> {
    let full = root.join(rel);
    let outside = || format!("`{rel}` leads out of the repository (through a symbolic link)");
    let base = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
    // The file may not exist yet (a first changelog): check where it would be.
    let mut probe = full.as_path();
    let real = loop {
        match std::fs::canonicalize(probe) {
            Ok(p) => break p,
            Err(_) => match probe.parent() {
                Some(p) => probe = p,
                None => return Err(outside()),
            },
        }
    };
    if real.starts_with(&base) {
        Ok(full)
    } else {
        Err(outside())
    }
}

/// Reads and validates a process file.
pub fn load_process(path: &Path) -> std::result::Result<Process, ProcessError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ProcessError::Io(format!("cannot read {}: {e}", path.display())))?;
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let p = process::load(&label, &text).map_err(ProcessError::Invalid)?;
    // The message templates it names are part of it: unreadable or broken
    // ones are problems of the file. (The embedded ones are tested.)
    let root = path.parent().unwrap_or(Path::new("."));
    if messages::names_files(&p) {
        messages::Templates::load(&p, root).map_err(ProcessError::Invalid)?;
    }
    App::check_retro_template(&p, root).map_err(ProcessError::Invalid)?;
    Ok(p)
}

/// The process file as committed on the repository's main branch (`main`, else
/// `master`), for when the checked-out tree has none — an old release line
/// checked out to fix it, say. Returns the repository root and the process.
pub fn load_process_from_git(
    start: &Path,
) -> Option<(PathBuf, std::result::Result<Process, ProcessError>)> {
    let repo = sluice_git::Repo::discover(start).ok()?;
    for branch in ["main", "master"] {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(repo.root())
            .args(["show", &format!("refs/heads/{branch}:sluice.toml")])
            .env("LC_ALL", "C")
            .output()
            .ok()?;
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let label = format!("{branch}:sluice.toml");
            return Some((
                repo.root().to_path_buf(),
                process::load(&label, &text).map_err(ProcessError::Invalid),
            ));
        }
    }
    None
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// The default database of a repository: `.sluice/sluice.db` at its root.
pub fn default_db_url(root: &Path) -> std::io::Result<String> {
    let dir = root.join(".sluice");
    std::fs::create_dir_all(&dir)?;
    Ok(format!("sqlite://{}", dir.join("sluice.db").display()))
}

impl App {
    pub async fn open(process: Process, db_url: &str, root: PathBuf) -> Result<App> {
        let store = Store::open(db_url).await?;
        let git = sluice_git::Repo::discover(&root).ok();
        Ok(App {
            process: std::sync::Arc::new(process),
            store,
            root,
            git,
            origin: Default::default(),
            output: None,
        })
    }

    /// A handle on the same application whose deploy and rollback commands also hand
    /// their output to `sink` as it is written (`promote --follow`); the deployment
    /// records its tail all the same.
    pub fn following(&self, sink: OutputSink) -> App {
        App {
            process: self.process.clone(),
            store: self.store.clone(),
            root: self.root.clone(),
            git: self.git.clone(),
            origin: self.origin.clone(),
            output: Some(sink),
        }
    }

    /// The process this application enforces.
    pub fn process(&self) -> &Process {
        &self.process
    }

    /// The repository root (deploy commands run here).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the root is inside a git repository.
    pub fn has_git(&self) -> bool {
        self.git.is_some()
    }

    /// The repository, writing as of `now`: the commits, merges and tags an
    /// action makes carry the time the action is recorded at, in the process's
    /// time zone (the team's, whatever zone the machine is set to).
    pub(crate) fn git_at(&self, now: Timestamp) -> Option<sluice_git::Repo> {
        self.git.as_ref().map(|r| self.dated(r, now))
    }

    /// `repo` writing as of `now`, in the process's time zone (see [`App::git_at`]).
    pub(crate) fn dated(&self, repo: &sluice_git::Repo, now: Timestamp) -> sluice_git::Repo {
        let offset = self.process.cadence.timezone.to_offset(now).seconds();
        repo.dated(now.as_second(), offset)
    }

    /// Takes the git repository away: from now on nothing is tagged, committed
    /// or read from git (benchmarks seed large databases this way).
    pub fn detach_git(&mut self) -> Option<sluice_git::Repo> {
        self.git.take()
    }

    /// The database, for tests and benchmarks that seed or inspect it below
    /// the application's rules. Interfaces use the methods of `App`.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Closes the database connections (waits for those in use).
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    pub(crate) fn ctx<'a>(&'a self, actor: &'a str, now: Timestamp) -> Ctx<'a> {
        Ctx {
            process: &self.process,
            actor,
            now,
        }
    }

    pub(crate) fn change(&self, actor: &str, now: Timestamp) -> sluice_store::Change {
        sluice_store::Change {
            actor: actor.to_string(),
            at_ms: now.as_millisecond(),
            claim: self.origin.idempotency_claim(),
            ..Default::default()
        }
    }

    /// Where every environment stands.
    pub async fn status(&self, now: Timestamp) -> Result<Vec<EnvStatus>> {
        let ctx = self.ctx("", now);
        let states = self.store.environments().await?;
        let releases = self
            .store
            .releases_with_status(sluice_core::model::ReleaseStatus::Candidate, 0)
            .await?;
        let mut out = Vec::new();
        for e in &self.process.environments {
            let holds = states
                .iter()
                .find(|s| s.env == e.name)
                .and_then(|s| s.release.clone());
            // The monitoring window the release it holds is in, if any.
            let mut watching = None;
            if let Some(v) = &holds
                && let Some((r, _)) = self.store.release(v).await?
                && let Some(w) = r.watching(&e.name, now)
            {
                watching = Some(WatchStatus {
                    until: w.until,
                    left: sluice_core::process::format_duration(sluice_core::decide::time_left(
                        w, now,
                    )),
                });
            }
            out.push({
                let waiting = releases
                    .iter()
                    .filter(|r| r.status == sluice_core::model::ReleaseStatus::Candidate)
                    .filter(|r| {
                        sluice_core::decide::next_env(&ctx, r).is_some_and(|x| x.name == e.name)
                    })
                    .map(|r| r.version.to_string())
                    .collect();
                EnvStatus {
                    env: e.name.clone(),
                    release: holds,
                    waiting,
                    watching,
                }
            });
        }
        Ok(out)
    }
}

/// A monitoring window, as `status` shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct WatchStatus {
    #[schemars(with = "String")]
    pub until: Timestamp,
    /// Time left, e.g. `1h 12m`.
    pub left: String,
}

/// What an environment holds and which releases wait to enter it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct EnvStatus {
    pub env: String,
    pub release: Option<String>,
    pub waiting: Vec<String>,
    /// The monitoring window the release it holds is in.
    pub watching: Option<WatchStatus>,
}

pub(crate) fn not_found_patch(key: &str) -> AppError {
    AppError::NotFound(format!("no patch `{key}`; see `sluice patch list --all`"))
}

pub(crate) fn not_found_release(v: &str) -> AppError {
    AppError::NotFound(format!("no release `{v}`; see `sluice release list`"))
}
