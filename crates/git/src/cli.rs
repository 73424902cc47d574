//! The single doorway to the `git` command-line tool.
//!
//! Invariants: git is always started as `git -C <root> <args…>` with an argv (never through a
//! shell), with `LC_ALL=C` so messages are stable English, with no terminal prompts or editor,
//! and without inherited `GIT_DIR`-style variables that would redirect it to another
//! repository (sluice may itself run inside a git hook). stderr is captured and a failure
//! becomes a [`GitError`] carrying git's own message.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::GitError;

/// Variables a parent git process (a hook, `git rebase -x`) may set that would make our child
/// git operate on a different repository, index or worktree than `root`.
const INHERITED_REPO_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
];

/// What a successful git run printed.
pub(crate) struct Output {
    pub stdout: Vec<u8>,
}

impl Output {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `git -C root args…`, feeding `stdin` if given, and returns stdout on exit code 0.
/// `date` (Unix seconds, UTC offset in seconds) dates the commits and tags the run makes,
/// unless the environment sets `GIT_AUTHOR_DATE` / `GIT_COMMITTER_DATE` itself; `None`
/// leaves git's own clock.
pub(crate) fn run(
    root: &Path,
    date: Option<(i64, i32)>,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> Result<Output, GitError> {
    let out = run_unchecked(root, date, args, stdin)?;
    if out.status.success() {
        return Ok(Output { stdout: out.stdout });
    }
    Err(failure(args, out.status.code(), &out.stderr))
}

/// Runs git and returns the raw outcome, for the few callers that interpret exit codes
/// themselves (a failed cherry-pick is a conflict, not an error).
pub(crate) fn run_unchecked(
    root: &Path,
    date: Option<(i64, i32)>,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> Result<std::process::Output, GitError> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(root).args(args);
    cmd.env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_EDITOR", "true")
        .env("GIT_SEQUENCE_EDITOR", "true");
    for var in INHERITED_REPO_VARS {
        cmd.env_remove(var);
    }
    if let Some((secs, offset)) = date {
        // git's internal date format: the same instant for author, committer and tagger.
        // A date the environment sets explicitly wins, as it does for git itself.
        let at = crate::git_date(secs, offset);
        for var in ["GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"] {
            if std::env::var_os(var).is_none() {
                cmd.env(var, &at);
            }
        }
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| GitError::Spawn { source })?;
    if let Some(input) = stdin {
        // Writing all input before reading output is fine for the small inputs we pass
        // (a note, a file); git reads stdin fully before it prints anything substantial.
        let mut pipe = child.stdin.take().expect("stdin was piped");
        pipe.write_all(input)
            .map_err(|source| GitError::Spawn { source })?;
    }
    child
        .wait_with_output()
        .map_err(|source| GitError::Spawn { source })
}

/// Builds the error for a failed run, recognising the one failure users hit most.
pub(crate) fn failure(args: &[&str], code: Option<i32>, stderr: &[u8]) -> GitError {
    let stderr = String::from_utf8_lossy(stderr).into_owned();
    let args = args.iter().map(|a| (*a).to_owned()).collect();
    if stderr.contains("Please tell me who you are") || stderr.contains("empty ident name") {
        GitError::MissingIdentity { args, stderr }
    } else {
        GitError::Command { args, code, stderr }
    }
}
