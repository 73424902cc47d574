//! Writes, all through the git command-line tool (see the crate docs for why).

use std::path::{Component, Path};

use crate::read::notes_ref_name;
use crate::{CommitId, GitError, MergeOutcome, PickOutcome, Repo, check_name, cli};

impl Repo {
    /// Creates branch `name` at `at`, and switches to it if `checkout`. Refuses if the branch
    /// exists.
    pub fn create_branch(&self, name: &str, at: &CommitId, checkout: bool) -> Result<(), GitError> {
        check_name("branch name", name)?;
        if self.has_ref(&format!("refs/heads/{name}"))? {
            return Err(GitError::Exists {
                kind: "branch",
                name: name.to_owned(),
            });
        }
        let at = at.as_str();
        if checkout {
            self.git(&["switch", "--no-guess", "-c", name, at])?;
        } else {
            self.git(&["branch", "--no-track", name, at])?;
        }
        Ok(())
    }

    /// Creates annotated tag `name` on `at` with `message` kept as written (lines starting
    /// with `#` included). The tagger comes from git's configuration. Refuses if the tag
    /// exists.
    pub fn create_annotated_tag(
        &self,
        name: &str,
        at: &CommitId,
        message: &str,
    ) -> Result<(), GitError> {
        check_name("tag name", name)?;
        if self.has_ref(&format!("refs/tags/{name}"))? {
            return Err(GitError::Exists {
                kind: "tag",
                name: name.to_owned(),
            });
        }
        // `-F -` rather than `-m`: no argv length limit, and `--cleanup=whitespace` so
        // Markdown headings in release notes are not taken for comments.
        self.git_stdin(
            &[
                "tag",
                "--annotate",
                "--cleanup=whitespace",
                "-F",
                "-",
                name,
                at.as_str(),
            ],
            message.as_bytes(),
        )?;
        Ok(())
    }

    /// Attaches `text` as the note on `at` under `notes_ref`, replacing an existing note.
    /// The text is stored byte for byte.
    pub fn add_note(&self, notes_ref: &str, at: &CommitId, text: &str) -> Result<(), GitError> {
        let full = notes_ref_name(notes_ref)?;
        // Storing the blob first and attaching it with `-C` keeps the text verbatim: `-m`
        // and `-F` would strip `#` lines and blank lines.
        let blob = self.git_stdin(&["hash-object", "-w", "--stdin"], text.as_bytes())?;
        let blob = blob.text();
        self.git(&[
            "notes",
            "--ref",
            &full,
            "add",
            "-f",
            "-C",
            blob.trim(),
            at.as_str(),
        ])?;
        Ok(())
    }

    /// Creates `branch` at `base`, switches to it and cherry-picks `commits` in order with
    /// `-x` (merge commits relative to their first parent).
    ///
    /// All or nothing: on a conflict the pick is aborted, the previous checkout restored, the
    /// new branch deleted, and [`PickOutcome::Conflict`] names the commit and the files.
    /// Refuses to start when tracked files have uncommitted changes or `branch` exists; a
    /// commit whose change is already on the branch is [`GitError::AlreadyApplied`], also
    /// rolled back.
    pub fn cherry_pick_onto(
        &self,
        branch: &str,
        base: &CommitId,
        commits: &[CommitId],
    ) -> Result<PickOutcome, GitError> {
        check_name("branch name", branch)?;
        if self.is_dirty()? {
            return Err(GitError::Dirty {
                root: self.root.clone(),
            });
        }
        // Parent counts up front: a missing commit should fail before anything changes.
        let mut picks = Vec::with_capacity(commits.len());
        for commit in commits {
            let info = self.commit_parents(commit)?;
            picks.push((commit, info));
        }
        let previous = match self.current_branch()? {
            Some(name) => name,
            None => self.resolve("HEAD")?.0,
        };
        self.create_branch(branch, base, true)?;

        let mut picked = Vec::with_capacity(picks.len());
        for (commit, parents) in picks {
            let mut args = vec!["cherry-pick", "-x", "--allow-empty"];
            if parents > 1 {
                args.extend(["-m", "1"]);
            }
            args.push(commit.as_str());
            let out = cli::run_unchecked(&self.root, self.date, &args, None)?;
            if out.status.success() {
                picked.push(self.resolve("HEAD")?);
                continue;
            }
            let files = self.conflicted_files()?;
            let failure = cli::failure(&args, out.status.code(), &out.stderr);
            self.undo_pick(branch, &previous)?;
            if files.is_empty() {
                if String::from_utf8_lossy(&out.stderr).contains("is now empty") {
                    return Err(GitError::AlreadyApplied {
                        commit: commit.to_string(),
                        base: base.to_string(),
                    });
                }
                return Err(failure);
            }
            return Ok(PickOutcome::Conflict {
                commit: commit.clone(),
                files,
            });
        }
        Ok(PickOutcome::Picked {
            branch: branch.to_owned(),
            commits: picked,
        })
    }

    /// Creates `branch` at `base`, switches to it and merges each of `merge` (branch names)
    /// into it in order: the first by fast-forward when it can, the others with a merge
    /// commit (`Merge branch 'X' into BRANCH`).
    ///
    /// All or nothing: on a conflict the merge is aborted, the previous checkout restored,
    /// the new branch deleted, and [`MergeOutcome::Conflict`] names the branch that did not
    /// merge and the files. Refuses a dirty tree and an existing `branch`.
    pub fn assemble_branch(
        &self,
        branch: &str,
        base: &CommitId,
        merge: &[String],
    ) -> Result<MergeOutcome, GitError> {
        check_name("branch name", branch)?;
        for m in merge {
            check_name("branch name", m)?;
            self.resolve(&format!("refs/heads/{m}"))?;
        }
        if self.is_dirty()? {
            return Err(GitError::Dirty {
                root: self.root.clone(),
            });
        }
        let previous = match self.current_branch()? {
            Some(name) => name,
            None => self.resolve("HEAD")?.0,
        };
        self.create_branch(branch, base, true)?;
        for m in merge {
            let message = format!("Merge branch '{m}' into {branch}");
            let args = ["merge", "--no-edit", "-m", &message, m];
            let out = cli::run_unchecked(&self.root, self.date, &args, None)?;
            if out.status.success() {
                continue;
            }
            let files = self.conflicted_files()?;
            let failure = cli::failure(&args, out.status.code(), &out.stderr);
            let _ = self.git(&["merge", "--abort"]);
            self.restore(branch, &previous)?;
            if files.is_empty() {
                return Err(failure);
            }
            return Ok(MergeOutcome::Conflict {
                branch: m.clone(),
                files,
            });
        }
        Ok(MergeOutcome::Merged {
            head: self.resolve("HEAD")?,
        })
    }

    /// Switches to `to`: a branch name, or a commit id (detached). Refuses a dirty tree.
    pub fn switch_to(&self, to: &str) -> Result<(), GitError> {
        check_name("branch name", to)?;
        if self.is_dirty()? {
            return Err(GitError::Dirty {
                root: self.root.clone(),
            });
        }
        if self.has_ref(&format!("refs/heads/{to}"))? {
            self.git(&["switch", "--no-guess", to])?;
        } else {
            self.git(&["switch", "--detach", to])?;
        }
        Ok(())
    }

    /// Deletes a local branch that is not checked out.
    pub fn delete_branch(&self, name: &str) -> Result<(), GitError> {
        check_name("branch name", name)?;
        self.git(&["branch", "-D", name])?;
        Ok(())
    }

    /// Appends `line` to the note on `at` under `notes_ref` (creating it), so
    /// earlier lines stay: a note used as a log.
    pub fn append_note(&self, notes_ref: &str, at: &CommitId, line: &str) -> Result<(), GitError> {
        let mut text = self.note(notes_ref, at)?.unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(line.trim_end());
        text.push('\n');
        self.add_note(notes_ref, at, &text)
    }

    /// Every (annotated object, note text) under `notes_ref`.
    pub fn notes(&self, notes_ref: &str) -> Result<Vec<(String, String)>, GitError> {
        let full = notes_ref_name(notes_ref)?;
        if !self.has_ref(&full)? {
            return Ok(Vec::new());
        }
        let list = self.git(&["notes", "--ref", &full, "list"])?.text();
        let mut out = Vec::new();
        for line in list.lines() {
            let Some((blob, object)) = line.split_once(' ') else {
                continue;
            };
            let text = self.git(&["cat-file", "blob", blob.trim()])?.text();
            out.push((object.trim().to_string(), text));
        }
        Ok(out)
    }

    /// Puts `path` (relative to the root) back as HEAD has it, in the index and
    /// the working tree.
    pub fn restore_file(&self, path: &str) -> Result<(), GitError> {
        check_relative_path(path)?;
        self.git(&["checkout", "HEAD", "--", path])?;
        Ok(())
    }

    /// Writes `contents` to `path` (relative to the root), and commits that file alone on
    /// the current branch with `message`. Other staged changes are left staged.
    pub fn commit_file(
        &self,
        path: &str,
        contents: &[u8],
        message: &str,
    ) -> Result<CommitId, GitError> {
        check_relative_path(path)?;
        let full = self.root.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|source| GitError::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(&full, contents).map_err(|source| GitError::Io {
            path: full.clone(),
            source,
        })?;
        self.git(&["add", "--", path])?;
        let unchanged = cli::run_unchecked(
            &self.root,
            None,
            &["diff", "--cached", "--quiet", "HEAD", "--", path],
            None,
        )?;
        if unchanged.status.success() {
            return Err(GitError::NothingToCommit {
                path: path.to_owned(),
            });
        }
        self.git_stdin(
            &[
                "commit",
                "--cleanup=whitespace",
                "-F",
                "-",
                "--only",
                "--",
                path,
            ],
            message.as_bytes(),
        )?;
        self.resolve("HEAD")
    }

    fn git(&self, args: &[&str]) -> Result<cli::Output, GitError> {
        cli::run(&self.root, self.date, args, None)
    }

    fn git_stdin(&self, args: &[&str], input: &[u8]) -> Result<cli::Output, GitError> {
        cli::run(&self.root, self.date, args, Some(input))
    }

    fn commit_parents(&self, commit: &CommitId) -> Result<usize, GitError> {
        let repo = self.local()?;
        let not_found = |detail: String| GitError::NotFound {
            what: format!("commit {commit}"),
            detail,
        };
        let found = repo
            .find_commit(commit.to_gix()?)
            .map_err(|e| not_found(e.to_string()))?;
        Ok(found.parent_ids().count())
    }

    fn conflicted_files(&self) -> Result<Vec<String>, GitError> {
        let out = self.git(&["diff", "--name-only", "--diff-filter=U", "-z"])?;
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|f| !f.is_empty())
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect())
    }

    /// Rolls back a failed pick: abort it, go back to `previous` (a branch, or a commit id
    /// for a detached HEAD), delete the half-built branch.
    fn undo_pick(&self, branch: &str, previous: &str) -> Result<(), GitError> {
        self.git(&["cherry-pick", "--abort"])?;
        self.restore(branch, previous)
    }

    /// Goes back to `previous` (a branch, or a commit id for a detached HEAD) and deletes
    /// the half-built `branch`.
    fn restore(&self, branch: &str, previous: &str) -> Result<(), GitError> {
        if self.has_ref(&format!("refs/heads/{previous}"))? {
            self.git(&["switch", "--no-guess", previous])?;
        } else {
            self.git(&["switch", "--detach", previous])?;
        }
        self.git(&["branch", "-D", branch])?;
        Ok(())
    }
}

fn check_relative_path(path: &str) -> Result<(), GitError> {
    let bad = |reason| GitError::InvalidName {
        kind: "file path",
        name: path.to_owned(),
        reason,
    };
    check_name("file path", path)?;
    let p = Path::new(path);
    if p.is_absolute() {
        return Err(bad("it must be relative to the repository root"));
    }
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(bad("it must not contain `..`, `.` or a root"));
    }
    if p.components().any(|c| c.as_os_str() == ".git") {
        return Err(bad("it points into .git"));
    }
    Ok(())
}
