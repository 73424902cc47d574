//! The one error type of this crate. Every variant says what went wrong and, where there
//! is one, what the user can do about it. No gix or `std::process` type leaks out: gix
//! failures are carried as their rendered message so `GitError` stays `Send + Sync + 'static`
//! and independent of gix's fast-moving error types.

use std::path::PathBuf;

/// Everything that can go wrong while reading or changing a repository.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No repository encloses the given directory.
    #[error(
        "{path} is not inside a git repository ({detail}); run sluice from a checkout or pass its path"
    )]
    NotARepo { path: PathBuf, detail: String },

    /// A revision, tag, branch or object does not exist.
    #[error("{what} not found{}; check the spelling or fetch it first", detail_suffix(.detail))]
    NotFound { what: String, detail: String },

    /// Something that must be new already exists.
    #[error("{kind} `{name}` already exists; pick another name or delete the existing {kind}")]
    Exists { kind: &'static str, name: String },

    /// A ref, tag or file name that sluice refuses to pass to git.
    #[error("invalid {kind} `{name}`: {reason}")]
    InvalidName {
        kind: &'static str,
        name: String,
        reason: &'static str,
    },

    /// A text that should be a full commit id is not one.
    #[error("`{0}` is not a full commit id (40 or 64 hexadecimal digits)")]
    InvalidCommitId(String),

    /// A release tag template that cannot be matched.
    #[error(
        "invalid tag template `{template}`: {reason}; use a template like \"v{{version}}\" or \"release-{{major}}.{{minor}}.{{patch}}\""
    )]
    Template {
        template: String,
        reason: &'static str,
    },

    /// The operation would switch branches but tracked files have uncommitted changes.
    #[error(
        "the working tree of {root} has uncommitted changes to tracked files; commit or stash them first"
    )]
    Dirty { root: PathBuf },

    /// A cherry-picked commit changes nothing on the new branch (everything was rolled back).
    #[error(
        "commit {commit} changes nothing on top of {base}: it is probably already applied there; leave it out of the pick"
    )]
    AlreadyApplied { commit: String, base: String },

    /// A commit was requested but the file did not change.
    #[error("nothing to commit: {path} already has these contents")]
    NothingToCommit { path: String },

    /// git needs an author/committer/tagger identity and none is configured.
    #[error(
        "git has no identity to record (git {}): set one with `git config user.name \"Your Name\"` and `git config user.email you@example.com`",
        .args.join(" ")
    )]
    MissingIdentity { args: Vec<String>, stderr: String },

    /// The git command-line tool ran and failed.
    #[error("`git {}` failed{}: {}", .args.join(" "), exit_suffix(.code), .stderr.trim_end())]
    Command {
        args: Vec<String>,
        code: Option<i32>,
        stderr: String,
    },

    /// The git command-line tool could not be started at all.
    #[error("could not run git ({source}); install git 2.25 or newer and make sure it is on PATH")]
    Spawn {
        #[source]
        source: std::io::Error,
    },

    /// Reading or writing a file in the working tree failed.
    #[error("could not write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// gix failed while reading the repository (corrupt or unsupported data).
    #[error("reading the repository failed while {op}: {message}")]
    Gix { op: &'static str, message: String },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

fn exit_suffix(code: &Option<i32>) -> String {
    match code {
        Some(code) => format!(" with exit code {code}"),
        None => " (killed by a signal)".to_owned(),
    }
}

/// Turns any gix error into [`GitError::Gix`], naming the operation.
pub(crate) fn gix<E: std::fmt::Display>(op: &'static str) -> impl FnOnce(E) -> GitError {
    move |e| GitError::Gix {
        op,
        message: e.to_string(),
    }
}
