//! Git access for Sluice: tags and release versions, commit ranges, branches, annotated tags,
//! notes, cherry-picks and changelog commits, behind one owned, `Send + Sync` [`Repo`].
//!
//! **Reads use gix, writes use the `git` command-line tool.**
//!
//! - *Reads* (resolving revisions, listing and peeling tags, walking history, reading tag
//!   messages and notes, the current branch) go through [gix], in process and in pure Rust:
//!   no process start-up per call, and a streaming [`Repo::walk`] that handles 300,000-commit
//!   histories without collecting them. [`Repo::is_dirty`] is the one read done with the CLI,
//!   because `git status` honours every index and filter subtlety that gix's status would
//!   need extra features for.
//! - *Writes* (branches, annotated tags, notes, cherry-picks, commits) run `git -C <root>`
//!   through one internal function (`cli::run`): argv only, never a shell, `LC_ALL=C`, stderr
//!   captured into [`GitError::Command`]. gix has no high-level cherry-pick, notes or
//!   porcelain commit, and the git binary applies the user's configuration exactly as their
//!   own commands would (identity, hooks, signing, reflogs), so sluice's writes are
//!   indistinguishable from hand-made ones.
//!
//! Every write refuses to clobber: creating a branch or tag that exists is [`GitError::Exists`];
//! a cherry-pick that conflicts is rolled back completely. Names that could be mistaken for
//! options (leading `-`) are rejected before git sees them.

mod cli;
mod error;
mod graph;
mod read;
mod tags;
mod template;
mod types;
mod write;

use std::path::{Path, PathBuf};

pub use error::GitError;
pub use graph::{HistoryGraph, Reach, ReadCommit};
pub use tags::{ReleaseTags, detect_shape};
pub use template::TagTemplate;
pub use types::{CommitId, CommitInfo, MergeOutcome, PickOutcome, ReleaseTag, Tag};

/// A discovered repository. Cheap to clone; `Send + Sync`.
///
/// It holds only the path: every read opens gix afresh (well under a millisecond), because
/// gix without its `parallel` feature is not `Send`, and because a fresh handle always sees
/// what the git CLI wrote a moment before.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
    /// When set (Unix seconds and UTC offset in seconds), the commits and tags this
    /// handle writes carry this date instead of the clock's: see [`Repo::dated`].
    date: Option<(i64, i32)>,
}

impl Repo {
    /// Opens the repository enclosing `dir` (`dir` itself or its nearest parent with a
    /// `.git`), like git does.
    pub fn discover(dir: &Path) -> Result<Repo, GitError> {
        let not_a_repo = |detail: String| GitError::NotARepo {
            path: dir.to_owned(),
            detail,
        };
        let dir = std::fs::canonicalize(dir).map_err(|e| not_a_repo(e.to_string()))?;
        let found = gix::discover(&dir).map_err(|e| not_a_repo(e.to_string()))?;
        let root = match found.workdir() {
            Some(work_dir) => work_dir.to_owned(),
            None => found.git_dir().to_owned(),
        };
        Ok(Repo { root, date: None })
    }

    /// The same repository, whose writes (commits, merges, tags) are dated `secs`
    /// (Unix seconds) in the zone `utc_offset` seconds east of UTC, for author,
    /// committer and tagger: an action recorded at a time leaves git objects of that
    /// time, so the record and git agree on when.
    /// `GIT_AUTHOR_DATE` / `GIT_COMMITTER_DATE` set in the environment still win.
    pub fn dated(&self, secs: i64, utc_offset: i32) -> Repo {
        Repo {
            root: self.root.clone(),
            date: Some((secs, utc_offset)),
        }
    }

    /// The top of the working tree (the git directory for a bare repository).
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn local(&self) -> Result<gix::Repository, GitError> {
        gix::open(&self.root).map_err(|e| GitError::NotARepo {
            path: self.root.clone(),
            detail: e.to_string(),
        })
    }
}

/// A date as git reads it in `GIT_AUTHOR_DATE` / `GIT_COMMITTER_DATE`: `secs` (Unix
/// seconds) in the zone `utc_offset` seconds east of UTC, e.g. `@1600000000 +0100`.
pub fn git_date(secs: i64, utc_offset: i32) -> String {
    let (sign, abs) = if utc_offset < 0 {
        ('-', -utc_offset)
    } else {
        ('+', utc_offset)
    };
    format!("@{secs} {sign}{:02}{:02}", abs / 3600, abs % 3600 / 60)
}

/// Rejects names git could read as an option, or that are empty.
fn check_name(kind: &'static str, name: &str) -> Result<(), GitError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.starts_with('-') {
        "it starts with `-`"
    } else if name.chars().any(char::is_control) {
        "it contains control characters"
    } else {
        return Ok(());
    };
    Err(GitError::InvalidName {
        kind,
        name: name.to_owned(),
        reason,
    })
}
