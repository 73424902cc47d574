//! Reads, all in process through gix (plus `git status` for [`Repo::is_dirty`]).

use std::ops::ControlFlow;

use gix::bstr::ByteSlice;
use gix::prelude::FindExt;
use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::CommitTimeOrder;

use crate::error::gix;
use crate::{CommitId, CommitInfo, GitError, ReleaseTag, Repo, Tag, TagTemplate, cli};

/// Object cache for walks: without a commit-graph the traversal reads each commit for its
/// parents and time, and our decode reads it again right after; the cache makes the second
/// read free. (With a commit-graph it is neither a help nor a measurable cost.)
const WALK_OBJECT_CACHE: usize = 8 * 1024 * 1024;

impl Repo {
    /// The commit `rev` names: a branch, a tag (annotated tags are peeled), a full or
    /// abbreviated id, `HEAD`, or any revision expression such as `v1.2.0~3`.
    pub fn resolve(&self, rev: &str) -> Result<CommitId, GitError> {
        let repo = self.local()?;
        let not_found = |detail: String| GitError::NotFound {
            what: format!("revision `{rev}`"),
            detail,
        };
        let id = repo
            .rev_parse_single(rev)
            .map_err(|e| not_found(e.to_string()))?;
        let commit = id
            .object()
            .map_err(gix("reading an object"))?
            .peel_to_commit()
            .map_err(|_| not_found("it does not point to a commit".to_owned()))?;
        Ok(CommitId::from_gix(&commit.id))
    }

    /// Every tag that leads to a commit, peeled to that commit, sorted by name. Tags of trees
    /// or blobs are left out.
    pub fn tags(&self) -> Result<Vec<Tag>, GitError> {
        let repo = self.local()?;
        let platform = repo.references().map_err(gix("listing references"))?;
        let mut out = Vec::new();
        for reference in platform.tags().map_err(gix("listing tags"))? {
            let mut reference = reference.map_err(gix("reading a tag"))?;
            let name = reference.name().shorten().to_str_lossy().into_owned();
            let Some(direct) = reference.try_id().map(|id| id.detach()) else {
                continue; // a symbolic ref under refs/tags: not a release tag
            };
            // An annotated tag in packed-refs comes with the object it finally points to:
            // only that object's kind is read, not the tag and the commit.
            if let Some(peeled) = reference.inner.peeled {
                if repo
                    .find_header(peeled)
                    .map_err(gix("reading a tag"))?
                    .kind()
                    == gix::object::Kind::Commit
                {
                    out.push(Tag {
                        name,
                        commit: CommitId::from_gix(&peeled),
                        annotated: true,
                    });
                }
                continue;
            }
            let kind = repo
                .find_header(direct)
                .map_err(gix("reading a tag"))?
                .kind();
            // A lightweight tag names its commit: nothing more to read.
            let commit = match kind {
                gix::object::Kind::Commit => direct,
                gix::object::Kind::Tag => match reference.peel_to_commit() {
                    Ok(commit) => commit.id,
                    Err(_) => continue,
                },
                _ => continue,
            };
            out.push(Tag {
                name,
                commit: CommitId::from_gix(&commit),
                annotated: kind == gix::object::Kind::Tag,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Tags whose names fit `tag_template` (see [`TagTemplate`]), with their versions,
    /// ascending by version.
    pub fn release_tags(&self, tag_template: &str) -> Result<Vec<ReleaseTag>, GitError> {
        let template = TagTemplate::parse(tag_template)?;
        let mut out: Vec<ReleaseTag> = self
            .tags()?
            .into_iter()
            .filter_map(|tag| {
                let version = template.parse_version(&tag.name)?;
                Some(ReleaseTag {
                    name: tag.name,
                    version,
                    commit: tag.commit,
                })
            })
            .collect();
        out.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.name.cmp(&b.name)));
        Ok(out)
    }

    /// The commits reachable from `to` but not from any of `exclude` (`git log to ^exclude…`),
    /// newest first, merges included. Use [`Repo::walk`] for long ranges.
    pub fn commits(
        &self,
        to: &CommitId,
        exclude: &[CommitId],
    ) -> Result<Vec<CommitInfo>, GitError> {
        let mut out = Vec::new();
        self.walk(to, exclude, |c| {
            out.push(c);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// Streams the commits of [`Repo::commits`] to `f`, newest first, without holding them;
    /// `f` returns [`ControlFlow::Break`] to stop early.
    pub fn walk<F: FnMut(CommitInfo) -> ControlFlow<()>>(
        &self,
        to: &CommitId,
        exclude: &[CommitId],
        mut f: F,
    ) -> Result<(), GitError> {
        let mut repo = self.local()?;
        repo.object_cache_size_if_unset(WALK_OBJECT_CACHE);
        let hidden = exclude
            .iter()
            .map(CommitId::to_gix)
            .collect::<Result<Vec<_>, _>>()?;
        let walk = repo
            .rev_walk([to.to_gix()?])
            .with_hidden(hidden)
            .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
            .all()
            .map_err(|e| GitError::NotFound {
                what: format!("commit {to}"),
                detail: e.to_string(),
            })?;
        let mut buf = Vec::new();
        for info in walk {
            let info = info.map_err(gix("walking history"))?;
            let commit = repo
                .objects
                .find_commit(&info.id, &mut buf)
                .map_err(gix("reading a commit"))?;
            let info = decode(&info.id, &commit, commit.parents.len())?;
            if f(info).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// The branch `HEAD` is on (short name, e.g. `main`), or `None` when detached.
    pub fn current_branch(&self) -> Result<Option<String>, GitError> {
        let repo = self.local()?;
        let head = repo.head_name().map_err(gix("reading HEAD"))?;
        Ok(head.and_then(|name| {
            name.as_bstr()
                .strip_prefix(b"refs/heads/")
                .map(|short| short.to_str_lossy().into_owned())
        }))
    }

    /// The message of annotated tag `name` (trailing newlines removed); `None` for a
    /// lightweight tag. A missing tag is [`GitError::NotFound`].
    pub fn tag_message(&self, name: &str) -> Result<Option<String>, GitError> {
        let repo = self.local()?;
        let full = format!("refs/tags/{name}");
        let reference = repo
            .try_find_reference(full.as_str())
            .map_err(gix("reading a tag"))?
            .ok_or_else(|| GitError::NotFound {
                what: format!("tag `{name}`"),
                detail: String::new(),
            })?;
        let Some(id) = reference.try_id() else {
            return Ok(None);
        };
        let object = id.object().map_err(gix("reading a tag"))?;
        if object.kind != gix::object::Kind::Tag {
            return Ok(None);
        }
        let tag = object.into_tag();
        let decoded = tag.decode().map_err(gix("decoding a tag"))?;
        Ok(Some(trim_message(&decoded.message.to_str_lossy())))
    }

    /// The note on `at` under `notes_ref` (`refs/notes/sluice` or just `sluice`), if any.
    pub fn note(&self, notes_ref: &str, at: &CommitId) -> Result<Option<String>, GitError> {
        let full = notes_ref_name(notes_ref)?;
        let repo = self.local()?;
        let Some(mut reference) = repo
            .try_find_reference(full.as_str())
            .map_err(gix("reading notes"))?
        else {
            return Ok(None);
        };
        let mut tree = reference
            .peel_to_commit()
            .map_err(gix("reading notes"))?
            .tree()
            .map_err(gix("reading notes"))?;
        // Notes trees fan out by two hex digits per level once they grow ("ab/cdef…");
        // at each level the note is either the remaining digits or one level deeper.
        let hex = at.as_str();
        let mut rest = hex;
        loop {
            let entry = tree
                .find_entry(rest)
                .map(|e| (e.mode().is_tree(), e.object_id()));
            if let Some((false, blob)) = entry {
                let blob = repo.find_object(blob).map_err(gix("reading a note"))?;
                return Ok(Some(String::from_utf8_lossy(&blob.data).into_owned()));
            }
            if rest.len() <= 2 {
                return Ok(None);
            }
            let Some((true, subtree)) = tree
                .find_entry(&rest[..2])
                .map(|e| (e.mode().is_tree(), e.object_id()))
            else {
                return Ok(None);
            };
            tree = repo
                .find_object(subtree)
                .map_err(gix("reading notes"))?
                .into_tree();
            rest = &rest[2..];
        }
    }

    /// True if tracked files differ from `HEAD` in the index or the working tree. Untracked
    /// files do not count.
    pub fn is_dirty(&self) -> Result<bool, GitError> {
        let out = cli::run(
            &self.root,
            None,
            &["status", "--porcelain", "--untracked-files=no"],
            None,
        )?;
        Ok(!out.stdout.is_empty())
    }

    /// True if a reference with this full name exists.
    pub(crate) fn has_ref(&self, full_name: &str) -> Result<bool, GitError> {
        Ok(self
            .local()?
            .try_find_reference(full_name)
            .map_err(gix("reading references"))?
            .is_some())
    }
}

/// A decoded commit as [`CommitInfo`].
pub(crate) fn decode(
    id: &gix::oid,
    commit: &gix::objs::CommitRef<'_>,
    parents: usize,
) -> Result<CommitInfo, GitError> {
    let author = commit.author().map_err(gix("reading a commit author"))?;
    let committer = commit
        .committer()
        .map_err(gix("reading a commit committer"))?;
    let message = commit.message.to_str_lossy();
    let summary = message
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_owned();
    Ok(CommitInfo {
        id: CommitId::from_gix(id),
        parents,
        summary,
        message: message.into_owned(),
        author_name: author.name.trim().to_str_lossy().into_owned(),
        author_email: author.email.trim().to_str_lossy().into_owned(),
        time_secs: committer.seconds(),
    })
}

fn trim_message(message: &str) -> String {
    message.trim_end_matches('\n').to_owned()
}

/// `sluice` → `refs/notes/sluice`; full names must be under `refs/notes/`.
pub(crate) fn notes_ref_name(notes_ref: &str) -> Result<String, GitError> {
    crate::check_name("notes ref", notes_ref)?;
    if notes_ref.starts_with("refs/notes/") {
        Ok(notes_ref.to_owned())
    } else if notes_ref.starts_with("refs/") {
        Err(GitError::InvalidName {
            kind: "notes ref",
            name: notes_ref.to_owned(),
            reason: "notes refs live under refs/notes/",
        })
    } else {
        Ok(format!("refs/notes/{notes_ref}"))
    }
}
