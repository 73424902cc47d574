//! Owned values handed out by [`crate::Repo`]: plain data, `Send`, no lifetimes into gix.

use std::fmt;
use std::str::FromStr;

use crate::GitError;

/// A full commit id in lowercase hexadecimal (40 digits for SHA-1, 64 for SHA-256).
///
/// Obtain one from [`crate::Repo::resolve`] or parse a full id with [`str::parse`]; abbreviated
/// ids are not accepted here because they are ambiguous by nature — resolve them instead.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommitId(pub String);

impl CommitId {
    /// The id as hexadecimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, for messages people read.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(12)]
    }

    pub(crate) fn from_gix(id: &gix::hash::oid) -> CommitId {
        CommitId(id.to_hex().to_string())
    }

    pub(crate) fn to_gix(&self) -> Result<gix::ObjectId, GitError> {
        gix::ObjectId::from_hex(self.0.as_bytes())
            .map_err(|_| GitError::InvalidCommitId(self.0.clone()))
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CommitId {
    type Err = GitError;

    fn from_str(s: &str) -> Result<CommitId, GitError> {
        let ok = matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(CommitId(s.to_ascii_lowercase()))
        } else {
            Err(GitError::InvalidCommitId(s.to_owned()))
        }
    }
}

/// A tag and the commit it finally points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Short name, e.g. `v1.2.0`.
    pub name: String,
    /// The commit after peeling any tag objects.
    pub commit: CommitId,
    /// True for a tag object (`git tag -a`), false for a lightweight tag.
    pub annotated: bool,
}

/// A tag whose name matches the release tag template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTag {
    pub name: String,
    pub version: semver::Version,
    pub commit: CommitId,
}

/// One commit as read from history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: CommitId,
    /// Number of parents: 0 for a root commit, 2 or more for a merge.
    pub parents: usize,
    /// The first line of the message.
    pub summary: String,
    /// The whole message as stored (UTF-8, invalid bytes replaced).
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// Committer time, seconds since the Unix epoch: when the commit landed, not when it was
    /// first written.
    pub time_secs: i64,
}

impl CommitInfo {
    /// True for merge commits.
    pub fn is_merge(&self) -> bool {
        self.parents > 1
    }
}

/// What [`crate::Repo::cherry_pick_onto`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickOutcome {
    /// Every commit applied; `branch` is checked out and `commits` are the new commits, in
    /// the order picked.
    Picked {
        branch: String,
        commits: Vec<CommitId>,
    },
    /// `commit` did not apply. Nothing was left behind: the pick was aborted, the branch that
    /// was being built was deleted, and the previous checkout restored.
    Conflict {
        commit: CommitId,
        files: Vec<String>,
    },
}

/// What [`crate::Repo::assemble_branch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// Every branch merged; the new branch is checked out at `head`.
    Merged { head: CommitId },
    /// `branch` did not merge. Nothing was left behind: the merge was aborted, the new
    /// branch deleted, and the previous checkout restored.
    Conflict { branch: String, files: Vec<String> },
}
