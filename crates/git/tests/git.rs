//! sluice-git against real repositories built with the git CLI in temporary directories.
//!
//! Helper git runs are isolated from the machine's configuration with per-command
//! environment (never the test process's own env); identity is written to each repository's
//! local config so the library's own git calls work too.

use std::cell::Cell;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use sluice_git::{CommitId, GitError, PickOutcome, Repo};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// Commit timestamps tick by one minute so date order is deterministic.
    clock: Cell<i64>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir(&root).unwrap();
        let f = Fixture {
            _dir: dir,
            root,
            clock: Cell::new(1_700_000_000),
        };
        f.git(&["init", "-q", "-b", "main"]);
        f.git(&["config", "user.name", "Rel Eng"]);
        f.git(&["config", "user.email", "releng@example.com"]);
        f.git(&["config", "commit.gpgsign", "false"]);
        f.git(&["config", "tag.gpgsign", "false"]);
        f
    }

    fn command(&self, args: &[&str]) -> Command {
        let t = self.clock.get();
        self.clock.set(t + 60);
        let date = format!("{t} +0000");
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.root)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada Author")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Cy Committer")
            .env("GIT_COMMITTER_EMAIL", "cy@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("LC_ALL", "C");
        cmd
    }

    fn git(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    }

    fn git_fails(&self, args: &[&str]) -> bool {
        !self.command(args).output().unwrap().status.success()
    }

    fn write(&self, path: &str, text: &str) {
        let full = self.root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    /// Writes a file and commits everything; returns the new commit.
    fn commit(&self, path: &str, text: &str, message: &str) -> CommitId {
        self.write(path, text);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.head()
    }

    fn head(&self) -> CommitId {
        self.git(&["rev-parse", "HEAD"]).parse().unwrap()
    }

    fn repo(&self) -> Repo {
        Repo::discover(&self.root).unwrap()
    }

    /// Feeds a fast-import stream, for histories too long to build commit by commit.
    fn fast_import(&self, stream: &[u8]) {
        let mut child = self
            .command(&["fast-import", "--quiet"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stream).unwrap();
        assert!(child.wait().unwrap().success());
        self.git(&["reset", "-q", "--hard", "main"]);
    }
}

/// A linear history of `n` commits on `main`, each changing `f.txt`, with a multi-line
/// message; if `notes`, every commit also gets a note in `refs/notes/sluice` (enough notes
/// that fast-import fans the notes tree out).
fn linear_history(n: usize, notes: bool) -> Vec<u8> {
    fn data(out: &mut Vec<u8>, bytes: &[u8]) {
        writeln!(out, "data {}", bytes.len()).unwrap();
        out.extend_from_slice(bytes);
        out.push(b'\n');
    }
    let mut s = Vec::with_capacity(n * 300);
    for i in 1..=n {
        let t = 1_600_000_000 + i as i64 * 60;
        writeln!(s, "commit refs/heads/main\nmark :{i}").unwrap();
        writeln!(s, "author Ada Author <ada@example.com> {t} +0000").unwrap();
        writeln!(s, "committer Cy Committer <cy@example.com> {t} +0000").unwrap();
        let msg = format!(
            "feat: change number {i}\n\nBody of change {i}, which explains why.\n\nRefs: #{i}\n"
        );
        data(&mut s, msg.as_bytes());
        if i > 1 {
            writeln!(s, "from :{}", i - 1).unwrap();
        }
        writeln!(s, "M 644 inline f.txt").unwrap();
        data(&mut s, format!("{i}\n").as_bytes());
    }
    if notes {
        let t = 1_600_000_000 + (n as i64 + 1) * 60;
        writeln!(s, "commit refs/notes/sluice").unwrap();
        writeln!(s, "committer Cy Committer <cy@example.com> {t} +0000").unwrap();
        data(&mut s, b"notes");
        for i in 1..=n {
            writeln!(s, "N inline :{i}").unwrap();
            data(&mut s, format!("note for {i}").as_bytes());
        }
    }
    s
}

#[test]
fn discover_finds_the_enclosing_repository() {
    let f = Fixture::new();
    f.commit("a/b/c.txt", "x", "init");
    let repo = Repo::discover(&f.root.join("a/b")).unwrap();
    assert_eq!(repo.root(), std::fs::canonicalize(&f.root).unwrap());

    let elsewhere = tempfile::tempdir().unwrap();
    let err = Repo::discover(elsewhere.path()).unwrap_err();
    assert!(matches!(err, GitError::NotARepo { .. }), "{err}");
}

#[test]
fn resolve_branches_tags_ids_and_head() {
    let f = Fixture::new();
    let first = f.commit("f.txt", "1", "first");
    let second = f.commit("f.txt", "2", "second");
    f.git(&["tag", "-a", "-m", "annotated", "v0.1.0", first.as_str()]);
    f.git(&["branch", "side", first.as_str()]);
    let repo = f.repo();
    assert_eq!(repo.resolve("HEAD").unwrap(), second);
    assert_eq!(repo.resolve("main").unwrap(), second);
    assert_eq!(repo.resolve("side").unwrap(), first);
    assert_eq!(
        repo.resolve("v0.1.0").unwrap(),
        first,
        "annotated tag peeled"
    );
    assert_eq!(repo.resolve(&second.as_str()[..8]).unwrap(), second);
    assert_eq!(repo.resolve(second.as_str()).unwrap(), second);
    assert_eq!(repo.resolve("HEAD~1").unwrap(), first);
    let err = repo.resolve("no-such-branch").unwrap_err();
    assert!(matches!(err, GitError::NotFound { .. }), "{err}");
}

#[test]
fn tags_release_tags_and_latest_stable() {
    let f = Fixture::new();
    let c1 = f.commit("f.txt", "1", "one");
    f.git(&["tag", "v1.2.0"]); // lightweight
    let c2 = f.commit("f.txt", "2", "two");
    f.git(&["tag", "-a", "-m", "1.2.1", "v1.2.1"]);
    let c3 = f.commit("f.txt", "3", "three");
    f.git(&["tag", "-a", "-m", "1.3.0", "v1.3.0"]);
    let c4 = f.commit("f.txt", "4", "four");
    f.git(&["tag", "-a", "-m", "rc", "v1.3.1-rc.1"]);
    f.git(&["tag", "v1.10.0-rc.1"]);
    f.git(&["tag", "not-a-release"]);
    f.git(&["tag", "v2"]); // not semver: ignored
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    f.git(&["tag", "tree-tag", &tree]); // not a commit: left out of tags()
    let repo = f.repo();

    let tags = repo.tags().unwrap();
    let names: Vec<_> = tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "not-a-release",
            "v1.10.0-rc.1",
            "v1.2.0",
            "v1.2.1",
            "v1.3.0",
            "v1.3.1-rc.1",
            "v2"
        ]
    );
    let by_name = |n: &str| tags.iter().find(|t| t.name == n).unwrap().clone();
    assert!(!by_name("v1.2.0").annotated);
    assert_eq!(by_name("v1.2.0").commit, c1);
    assert!(by_name("v1.2.1").annotated);
    assert_eq!(
        by_name("v1.2.1").commit,
        c2,
        "annotated tag peeled to its commit"
    );

    let releases = repo.release_tags("v{version}").unwrap();
    let versions: Vec<_> = releases.iter().map(|t| t.version.to_string()).collect();
    assert_eq!(
        versions,
        ["1.2.0", "1.2.1", "1.3.0", "1.3.1-rc.1", "1.10.0-rc.1"]
    );
    assert_eq!(releases[2].commit, c3);
    assert_eq!(releases[3].commit, c4);

    let head = repo.resolve("HEAD").unwrap();
    let view = repo
        .release_tags_from(
            &sluice_git::TagTemplate::parse("v{version}").unwrap(),
            &head,
        )
        .unwrap();
    let latest = |line| view.latest_stable(line).map(|t| t.name.clone());
    assert_eq!(
        latest(None).as_deref(),
        Some("v1.3.0"),
        "pre-releases skipped"
    );
    assert_eq!(latest(Some((1, 2))).as_deref(), Some("v1.2.1"));
    assert_eq!(latest(Some((1, 3))).as_deref(), Some("v1.3.0"));
    assert_eq!(latest(Some((1, 10))), None, "only a pre-release on 1.10");
    assert_eq!(latest(Some((2, 0))), None);

    // The other template form, and tags with the same versions under another prefix.
    f.git(&["tag", "1.4.0", c4.as_str()]);
    f.git(&["tag", "1.5.0-beta.2", c4.as_str()]);
    let plain = repo.release_tags("{major}.{minor}.{patch}").unwrap();
    let plain: Vec<_> = plain.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(plain, ["1.4.0", "1.5.0-beta.2"]);
    let view = repo
        .release_tags_from(
            &sluice_git::TagTemplate::parse("{major}.{minor}.{patch}").unwrap(),
            &head,
        )
        .unwrap();
    assert_eq!(view.latest_stable(None).unwrap().commit, c4);

    let err = repo.release_tags("v{ver}").unwrap_err();
    assert!(matches!(err, GitError::Template { .. }), "{err}");
}

#[test]
fn commit_ranges_include_merges_newest_first() {
    let f = Fixture::new();
    let a = f.commit("f.txt", "a", "A");
    f.git(&["tag", "v1.0.0"]);
    let b = f.commit("f.txt", "b", "B");
    f.git(&["switch", "-q", "-c", "feature"]);
    let d = f.commit("g.txt", "d", "D: feature work\n\nwith a body");
    let e = f.commit("g.txt", "e", "E");
    f.git(&["switch", "-q", "main"]);
    let c = f.commit("f.txt", "c", "C");
    f.git(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);
    let m = f.head();
    let repo = f.repo();

    let range = repo.commits(&m, std::slice::from_ref(&a)).unwrap();
    let ids: Vec<_> = range.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, [m.clone(), c.clone(), e.clone(), d.clone(), b]);
    let expected = f.git(&["rev-list", "--date-order", m.as_str(), "^v1.0.0"]);
    let expected: Vec<_> = expected
        .lines()
        .map(|l| l.parse().unwrap())
        .collect::<Vec<CommitId>>();
    assert_eq!(
        ids, expected,
        "same commits and order as git rev-list --date-order"
    );

    let merge = &range[0];
    assert!(merge.is_merge());
    assert_eq!(merge.parents, 2);
    assert_eq!(merge.summary, "Merge feature");
    let feature = range.iter().find(|c| c.id == d).unwrap();
    assert!(!feature.is_merge());
    assert_eq!(feature.summary, "D: feature work");
    assert_eq!(feature.message, "D: feature work\n\nwith a body\n");
    assert_eq!(feature.author_name, "Ada Author");
    assert_eq!(feature.author_email, "ada@example.com");
    let time: i64 = f
        .git(&["log", "-1", "--format=%ct", d.as_str()])
        .parse()
        .unwrap();
    assert_eq!(feature.time_secs, time);

    // Excluding the feature branch (which forked at B) leaves what main added after the fork.
    let only_main = repo.commits(&m, &[e.clone(), a.clone()]).unwrap();
    let ids: Vec<_> = only_main.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, [m.clone(), c]);
    assert_eq!(f.git(&["rev-list", "--count", m.as_str(), "^feature"]), "2");
    // Everything from the root; and an empty range.
    assert_eq!(repo.commits(&m, &[]).unwrap().len(), 6);
    assert!(
        repo.commits(&a, std::slice::from_ref(&m))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn streaming_walk_over_two_thousand_commits() {
    let f = Fixture::new();
    f.fast_import(&linear_history(2_000, true));
    let repo = f.repo();
    let head = repo.resolve("main").unwrap();

    let mut seen = 0usize;
    let mut last_number = 2_001;
    repo.walk(&head, &[], |c| {
        let n: usize = c
            .summary
            .strip_prefix("feat: change number ")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(n, last_number - 1, "newest first, no gaps");
        assert!(c.message.contains(&format!("Refs: #{n}")));
        last_number = n;
        seen += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(seen, 2_000);

    let mut first_ten = Vec::new();
    repo.walk(&head, &[], |c| {
        first_ten.push(c.id);
        if first_ten.len() == 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(first_ten.len(), 10);

    let base = repo.resolve("main~1500").unwrap();
    assert_eq!(repo.commits(&head, &[base]).unwrap().len(), 1_500);

    // Notes written by fast-import are fanned out (ab/cdef…); reading must follow that.
    let tree = f.git(&["ls-tree", "--name-only", "refs/notes/sluice"]);
    assert!(tree.lines().all(|l| l.len() == 2), "notes tree fanned out");
    let c1234 = repo.resolve("main~766").unwrap();
    assert_eq!(
        repo.note("sluice", &c1234).unwrap().as_deref(),
        Some("note for 1234")
    );
}

#[test]
fn dirty_detection_counts_tracked_changes_only() {
    let f = Fixture::new();
    f.commit("f.txt", "1", "one");
    let repo = f.repo();
    assert!(!repo.is_dirty().unwrap());
    f.write("untracked.txt", "new");
    assert!(!repo.is_dirty().unwrap(), "untracked files do not count");
    f.write("f.txt", "changed");
    assert!(repo.is_dirty().unwrap(), "worktree change");
    f.git(&["add", "f.txt"]);
    assert!(repo.is_dirty().unwrap(), "staged change");
    f.git(&["commit", "-q", "-m", "two"]);
    assert!(!repo.is_dirty().unwrap());
}

#[test]
fn branches_are_created_once() {
    let f = Fixture::new();
    let first = f.commit("f.txt", "1", "one");
    f.commit("f.txt", "2", "two");
    let repo = f.repo();
    assert_eq!(repo.current_branch().unwrap().as_deref(), Some("main"));

    repo.create_branch("release/1.0", &first, false).unwrap();
    assert_eq!(f.git(&["rev-parse", "release/1.0"]), first.as_str());
    assert_eq!(repo.current_branch().unwrap().as_deref(), Some("main"));

    let err = repo.create_branch("release/1.0", &first, true).unwrap_err();
    assert!(
        matches!(&err, GitError::Exists { kind: "branch", name } if name == "release/1.0"),
        "{err}"
    );
    let err = repo.create_branch("--force", &first, false).unwrap_err();
    assert!(matches!(err, GitError::InvalidName { .. }), "{err}");

    repo.create_branch("release/1.1", &first, true).unwrap();
    assert_eq!(
        repo.current_branch().unwrap().as_deref(),
        Some("release/1.1")
    );
    assert_eq!(repo.resolve("HEAD").unwrap(), first);

    f.git(&["switch", "-q", "--detach", "main"]);
    assert_eq!(repo.current_branch().unwrap(), None);
}

#[test]
fn annotated_tags_round_trip_their_message() {
    let f = Fixture::new();
    let c = f.commit("f.txt", "1", "one");
    f.git(&["tag", "light"]);
    let repo = f.repo();
    let message = "Release 1.3.0\n\n# Features\n\n- gates\n  - indented\n";
    repo.create_annotated_tag("v1.3.0", &c, message).unwrap();

    assert_eq!(
        repo.tag_message("v1.3.0").unwrap().as_deref(),
        Some(message.trim_end())
    );
    assert_eq!(f.git(&["cat-file", "-t", "v1.3.0"]), "tag");
    let raw = f.git(&["cat-file", "-p", "v1.3.0"]);
    assert!(raw.contains("tagger Rel Eng <releng@example.com>"), "{raw}");
    let tag = repo
        .tags()
        .unwrap()
        .into_iter()
        .find(|t| t.name == "v1.3.0");
    assert_eq!(
        tag.map(|t| (t.commit, t.annotated)),
        Some((c.clone(), true))
    );

    let err = repo
        .create_annotated_tag("v1.3.0", &c, "again")
        .unwrap_err();
    assert!(matches!(err, GitError::Exists { kind: "tag", .. }), "{err}");
    assert_eq!(repo.tag_message("light").unwrap(), None);
    let err = repo.tag_message("v9.9.9").unwrap_err();
    assert!(matches!(err, GitError::NotFound { .. }), "{err}");
}

#[test]
fn notes_round_trip_verbatim() {
    let f = Fixture::new();
    let c = f.commit("f.txt", "1", "one");
    let other = f.commit("f.txt", "2", "two");
    let repo = f.repo();
    assert_eq!(repo.note("refs/notes/sluice", &c).unwrap(), None);

    let text = "# sluice\npatch: P-12\n\n\napproved-by: alice\n";
    repo.add_note("refs/notes/sluice", &c, text).unwrap();
    assert_eq!(
        repo.note("refs/notes/sluice", &c).unwrap().as_deref(),
        Some(text)
    );
    assert_eq!(
        repo.note("sluice", &c).unwrap().as_deref(),
        Some(text),
        "short ref name"
    );
    assert_eq!(repo.note("sluice", &other).unwrap(), None);
    assert_eq!(repo.note("other", &c).unwrap(), None);

    repo.add_note("sluice", &c, "replaced").unwrap();
    assert_eq!(
        repo.note("sluice", &c).unwrap().as_deref(),
        Some("replaced")
    );
    assert_eq!(
        f.git(&["notes", "--ref", "sluice", "show", c.as_str()]),
        "replaced"
    );

    let err = repo.add_note("refs/heads/main", &c, "x").unwrap_err();
    assert!(matches!(err, GitError::InvalidName { .. }), "{err}");
}

/// main: base — fix (touches f.txt line 2) — feature (g.txt); release/1.0 from base.
fn pick_fixture() -> (Fixture, CommitId, CommitId, CommitId) {
    let f = Fixture::new();
    let base = f.commit("f.txt", "line 1\nline 2\nline 3\n", "base");
    let fix = f.commit("f.txt", "line 1\nline 2 fixed\nline 3\n", "fix: line 2");
    let feature = f.commit("g.txt", "feature\n", "feat: g");
    (f, base, fix, feature)
}

#[test]
fn cherry_pick_onto_a_new_branch() {
    let (f, base, fix, feature) = pick_fixture();
    f.write("untracked.txt", "left alone");
    let repo = f.repo();
    let outcome = repo
        .cherry_pick_onto("release/1.0", &base, &[fix.clone(), feature.clone()])
        .unwrap();
    let PickOutcome::Picked { branch, commits } = outcome else {
        panic!("expected a clean pick, got {outcome:?}");
    };
    assert_eq!(branch, "release/1.0");
    assert_eq!(commits.len(), 2);
    assert_eq!(
        repo.current_branch().unwrap().as_deref(),
        Some("release/1.0")
    );
    assert_eq!(repo.resolve("HEAD").unwrap(), commits[1]);
    let picked = repo
        .commits(&commits[1], std::slice::from_ref(&base))
        .unwrap();
    assert_eq!(picked[1].summary, "fix: line 2");
    assert!(
        picked[1]
            .message
            .contains(&format!("(cherry picked from commit {fix})")),
        "{}",
        picked[1].message
    );
    assert_eq!(
        f.git(&["show", "HEAD:f.txt"]),
        "line 1\nline 2 fixed\nline 3"
    );
    assert!(!repo.is_dirty().unwrap());

    let err = repo
        .cherry_pick_onto("release/1.0", &base, &[fix])
        .unwrap_err();
    assert!(matches!(err, GitError::Exists { .. }), "{err}");
}

#[test]
fn cherry_pick_conflict_rolls_everything_back() {
    let (f, base, fix, feature) = pick_fixture();
    // release/1.0 changed line 2 differently, so `fix` cannot apply there.
    f.git(&["switch", "-q", "-c", "release/1.0", base.as_str()]);
    let diverged = f.commit("f.txt", "line 1\nline 2 patched\nline 3\n", "local patch");
    f.git(&["switch", "-q", "main"]);
    let head_before = f.head();
    let repo = f.repo();

    let outcome = repo
        .cherry_pick_onto("release/1.0.1", &diverged, &[feature, fix.clone()])
        .unwrap();
    assert_eq!(
        outcome,
        PickOutcome::Conflict {
            commit: fix,
            files: vec!["f.txt".to_owned()],
        }
    );
    assert_eq!(repo.current_branch().unwrap().as_deref(), Some("main"));
    assert_eq!(f.head(), head_before);
    assert!(!repo.is_dirty().unwrap());
    assert!(f.git_fails(&["rev-parse", "--verify", "-q", "release/1.0.1"]));
    assert!(f.git_fails(&["rev-parse", "--verify", "-q", "CHERRY_PICK_HEAD"]));
    assert_eq!(f.git(&["status", "--porcelain"]), "");
}

#[test]
fn cherry_pick_refuses_a_dirty_tree_and_restores_a_detached_head() {
    let (f, base, fix, _) = pick_fixture();
    let repo = f.repo();
    f.write("f.txt", "uncommitted");
    let err = repo
        .cherry_pick_onto("r", &base, std::slice::from_ref(&fix))
        .unwrap_err();
    assert!(matches!(err, GitError::Dirty { .. }), "{err}");
    f.git(&["checkout", "-q", "--", "f.txt"]);

    f.git(&["switch", "-q", "--detach", "main~1"]);
    let detached = f.head();
    f.git(&["switch", "-q", "-c", "diverged", base.as_str()]);
    let diverged = f.commit("f.txt", "line 1\nline 2 other\nline 3\n", "other");
    f.git(&["switch", "-q", "--detach", detached.as_str()]);
    let outcome = repo.cherry_pick_onto("r", &diverged, &[fix]).unwrap();
    assert!(matches!(outcome, PickOutcome::Conflict { .. }));
    assert_eq!(repo.current_branch().unwrap(), None);
    assert_eq!(f.head(), detached);
}

#[test]
fn commit_file_commits_just_that_file() {
    let f = Fixture::new();
    f.commit("README.md", "readme\n", "init");
    f.write("staged.txt", "staged but not ours");
    f.git(&["add", "staged.txt"]);
    let repo = f.repo();

    let changelog = "# Changelog\n\n## 1.3.0\n\n- gates\n";
    let id = repo
        .commit_file(
            "CHANGELOG.md",
            changelog.as_bytes(),
            "docs: changelog for 1.3.0",
        )
        .unwrap();
    assert_eq!(repo.resolve("HEAD").unwrap(), id);
    assert_eq!(f.git(&["show", "HEAD:CHANGELOG.md"]), changelog.trim_end());
    assert_eq!(
        f.git(&["log", "-1", "--format=%s%n%an"]),
        "docs: changelog for 1.3.0\nRel Eng"
    );
    assert_eq!(
        f.git(&["show", "--name-only", "--format=", "HEAD"]),
        "CHANGELOG.md",
        "only the changelog is in the commit"
    );
    assert_eq!(
        f.git(&["diff", "--cached", "--name-only"]),
        "staged.txt",
        "still staged"
    );

    let err = repo
        .commit_file("CHANGELOG.md", changelog.as_bytes(), "again")
        .unwrap_err();
    assert!(matches!(err, GitError::NothingToCommit { .. }), "{err}");

    let nested = repo
        .commit_file("docs/notes/1.3.md", b"notes\n", "docs: notes")
        .unwrap();
    assert_eq!(repo.resolve("HEAD").unwrap(), nested);

    for bad in ["../escape.md", "/etc/passwd", ".git/config", "-n"] {
        let err = repo.commit_file(bad, b"x", "bad").unwrap_err();
        assert!(matches!(err, GitError::InvalidName { .. }), "{bad}: {err}");
    }
}

#[test]
fn commit_ids_parse_strictly() {
    let id: CommitId = "0123456789ABCDEF0123456789abcdef01234567".parse().unwrap();
    assert_eq!(id.as_str(), "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(id.short(), "0123456789ab");
    assert_eq!(id.to_string(), id.0);
    for bad in ["", "0123", "g123456789abcdef0123456789abcdef01234567"] {
        assert!(bad.parse::<CommitId>().is_err(), "{bad}");
    }
}

#[test]
fn repo_is_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Repo>();
    check::<GitError>();
    check::<PickOutcome>();
}

/// Not a test: timings for a 300,000-commit history. Run with
/// `cargo test -p sluice-git --release -- --ignored --nocapture measure_walk`.
#[test]
#[ignore = "micro-measure, prints timings"]
fn measure_walk_300k() {
    let n = 300_000;
    let f = Fixture::new();
    let t = Instant::now();
    let stream = linear_history(n, false);
    f.fast_import(&stream);
    println!("build {n} commits with fast-import: {:?}", t.elapsed());
    f.git(&["gc", "-q"]);
    let repo = f.repo();
    let head = repo.resolve("main").unwrap();

    for round in 0..2 {
        let t = Instant::now();
        let (mut count, mut bytes) = (0usize, 0usize);
        repo.walk(&head, &[], |c| {
            count += 1;
            bytes += c.message.len();
            ControlFlow::Continue(())
        })
        .unwrap();
        println!(
            "round {round}: gix walk + decode: {count} commits, {bytes} message bytes in {:?}",
            t.elapsed()
        );

        let t = Instant::now();
        let out = f.command(&["log", "--format=%B", "main"]).output().unwrap();
        println!(
            "round {round}: git log --format=%B: {} bytes in {:?}",
            out.stdout.len(),
            t.elapsed()
        );
        let t = Instant::now();
        let out = f
            .command(&["rev-list", "--count", "main"])
            .output()
            .unwrap();
        println!(
            "round {round}: git rev-list --count: {} in {:?}",
            String::from_utf8_lossy(&out.stdout).trim(),
            t.elapsed()
        );
    }
    let base = repo.resolve("main~1000").unwrap();
    let t = Instant::now();
    let range = repo.commits(&head, &[base]).unwrap();
    println!(
        "commits(main, [main~1000]): {} in {:?}",
        range.len(),
        t.elapsed()
    );
    let t = Instant::now();
    for _ in 0..100 {
        repo.resolve("main").unwrap();
    }
    println!(
        "resolve(\"main\") incl. opening gix: {:?} per call",
        t.elapsed() / 100
    );
    let _: &Path = repo.root();
}

#[test]
fn cherry_pick_of_an_already_applied_change_is_refused_and_rolled_back() {
    let (f, _base, fix, _) = pick_fixture();
    let repo = f.repo();
    // `fix` is already in main, so picking it onto main leaves nothing to commit.
    let main = repo.resolve("main").unwrap();
    let err = repo
        .cherry_pick_onto("again", &main, std::slice::from_ref(&fix))
        .unwrap_err();
    assert!(matches!(err, GitError::AlreadyApplied { .. }), "{err}");
    assert_eq!(repo.current_branch().unwrap().as_deref(), Some("main"));
    assert!(f.git_fails(&["rev-parse", "--verify", "-q", "again"]));
    assert!(f.git_fails(&["rev-parse", "--verify", "-q", "CHERRY_PICK_HEAD"]));
}

#[test]
fn release_tags_know_which_ones_a_commit_contains() {
    let f = Fixture::new();
    let first = f.commit("a.txt", "a", "feat: first");
    f.git(&["tag", "v1.0.0"]);
    f.commit("b.txt", "b", "feat: api");
    f.git(&["tag", "-a", "v1.1.0", "-m", "1.1.0"]);
    f.commit("c.txt", "c", "feat!: drop");
    f.git(&["tag", "v2.0.0-rc.1"]);
    f.git(&["tag", "not-a-version"]);
    f.git(&["switch", "-q", "-c", "1.0.x", "v1.0.0"]);
    let fix = f.commit("d.txt", "d", "fix: backport");
    let repo = f.repo();
    let t = sluice_git::TagTemplate::parse("v{version}").unwrap();

    let on_branch = repo.release_tags_from(&t, &fix).unwrap();
    let names = |it: Vec<&sluice_git::ReleaseTag>| -> Vec<String> {
        it.into_iter().map(|t| t.name.clone()).collect()
    };
    assert_eq!(
        names(on_branch.all().iter().collect()),
        ["v1.0.0", "v1.1.0", "v2.0.0-rc.1"]
    );
    assert_eq!(names(on_branch.reachable().collect()), ["v1.0.0"]);
    assert_eq!(
        names(on_branch.unreachable().collect()),
        ["v1.1.0", "v2.0.0-rc.1"]
    );
    assert_eq!(on_branch.current().unwrap().commit, first);
    assert_eq!(on_branch.latest_on_line(1, 1).unwrap().name, "v1.1.0");
    assert!(
        on_branch.latest_stable(Some((1, 1))).is_none(),
        "not on this branch"
    );

    let main = repo.resolve("main").unwrap();
    let on_main = repo.release_tags_from(&t, &main).unwrap();
    assert_eq!(on_main.current().unwrap().name, "v2.0.0-rc.1");
    assert_eq!(on_main.latest_stable(None).unwrap().name, "v1.1.0");
    assert!(repo.is_ancestor(&first, &main).unwrap());
    assert!(!repo.is_ancestor(&fix, &main).unwrap());
}

#[test]
fn assembling_a_branch_merges_in_order_or_leaves_nothing() {
    let f = Fixture::new();
    f.commit("a.txt", "a", "feat: first");
    f.git(&["tag", "v1.2.3"]);
    let base = f.head();
    for (branch, file, text) in [
        ("one", "one.txt", "1"),
        ("two", "two.txt", "2"),
        ("clash", "one.txt", "x"),
    ] {
        f.git(&["switch", "-q", "-c", branch, "v1.2.3"]);
        f.commit(file, text, &format!("fix: {branch}"));
    }
    f.git(&["switch", "-q", "main"]);
    let repo = f.repo();

    let got = repo
        .assemble_branch("release/1.2", &base, &["one".into(), "two".into()])
        .unwrap();
    let sluice_git::MergeOutcome::Merged { head } = got else {
        panic!("{got:?}")
    };
    assert_eq!(
        repo.current_branch().unwrap().as_deref(),
        Some("release/1.2")
    );
    assert_eq!(
        f.git(&["log", "--format=%s", "-3"]),
        "Merge branch 'two' into release/1.2\nfix: two\nfix: one"
    );
    assert_eq!(repo.resolve("release/1.2").unwrap(), head);
    repo.switch_to("main").unwrap();

    let got = repo
        .assemble_branch("release/1.2b", &base, &["one".into(), "clash".into()])
        .unwrap();
    assert_eq!(
        got,
        sluice_git::MergeOutcome::Conflict {
            branch: "clash".into(),
            files: vec!["one.txt".into()]
        }
    );
    assert_eq!(repo.current_branch().unwrap().as_deref(), Some("main"));
    assert!(
        repo.resolve("refs/heads/release/1.2b").is_err(),
        "the branch is gone"
    );
    assert!(!repo.is_dirty().unwrap());
    assert!(matches!(
        repo.assemble_branch("release/1.2", &base, &[]),
        Err(GitError::Exists { .. })
    ));
}

/// A main line of `n` commits with a side branch cut at commit `fork` (one commit, never
/// merged) and a feature branch merged back at the end; returns (side tip, every commit).
fn branchy(f: &Fixture, n: usize, fork: usize) -> (CommitId, Vec<CommitId>) {
    let mut side = None;
    for i in 0..n {
        f.commit("f.txt", &i.to_string(), &format!("feat: main {i}"));
        if i == fork {
            f.git(&["switch", "-q", "-c", "side"]);
            side = Some(f.commit("s.txt", "s", "fix: on the side"));
            f.git(&["switch", "-q", "main"]);
        }
        if i == n / 2 {
            f.git(&["switch", "-q", "-c", "feature"]);
            f.commit("g.txt", "g", "feat: feature work");
            f.git(&["switch", "-q", "main"]);
        }
    }
    f.git(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);
    let all = f
        .git(&["rev-list", "--all"])
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    (side.unwrap(), all)
}

/// `Repo::reach` answers like `git merge-base --is-ancestor` for every commit, with and
/// without a commit-graph file (and with one that misses the newest commits), and with
/// one it proves a commit out of reach without walking the history.
#[test]
fn reach_agrees_with_git_and_reads_only_what_it_needs() {
    let f = Fixture::new();
    let (side, all) = branchy(&f, 60, 50);
    let head = f.head();
    let repo = f.repo();
    let git_says = |c: &CommitId| {
        f.command(&["merge-base", "--is-ancestor", c.as_str(), head.as_str()])
            .status()
            .unwrap()
            .success()
    };
    let expected: Vec<bool> = all.iter().map(git_says).collect();
    assert!(expected.iter().any(|b| !b) && expected.iter().any(|b| *b));
    let check = |label: &str| {
        let mut reach = repo.reach(&head).unwrap();
        for (c, want) in all.iter().zip(&expected) {
            assert_eq!(reach.contains(c).unwrap(), *want, "{label}: {c}");
        }
        // Asked alone, the side commit (never merged) costs a walk of the whole history
        // without generation numbers, a few steps with them.
        let mut reach = repo.reach(&head).unwrap();
        assert!(!reach.contains(&side).unwrap());
        (reach.uses_commit_graph(), reach.commits_read())
    };
    let (graph, read) = check("no commit-graph");
    assert!(!graph);
    assert_eq!(read as usize, all.len() - 1, "every commit HEAD holds");

    f.git(&["commit-graph", "write", "--reachable"]);
    let (graph, read) = check("commit-graph");
    assert!(graph);
    assert!(
        read <= 12,
        "{read} commits read to rule out the side branch"
    );

    // Commits made after the commit-graph file was written are read from their objects.
    f.commit("f.txt", "late", "fix: after the commit-graph");
    let head = f.head();
    let mut reach = repo.reach(&head).unwrap();
    assert!(reach.contains(&all[all.len() - 1]).unwrap(), "the root");
    assert!(!reach.contains(&side).unwrap());
}

/// `Repo::history` reads each commit once; its partition gives each tip what `git rev-list`
/// gives for it.
#[test]
fn history_graph_partitions_like_the_walks() {
    let f = Fixture::new();
    let (side, _) = branchy(&f, 30, 20);
    f.git(&["tag", "v2.0.0"]);
    let head = f.head();
    let repo = f.repo();
    let mut read = 0;
    let graph = repo
        .history(&head, |c| {
            read += 1;
            (c.message.lines().next().unwrap_or("").to_owned(), c.parents)
        })
        .unwrap();
    let total: usize = f.git(&["rev-list", "--count", "HEAD"]).parse().unwrap();
    assert_eq!((graph.len(), read), (total, total), "each commit read once");
    assert!(!graph.contains(&side));
    let ten: CommitId = f.git(&["rev-parse", "HEAD~10"]).parse().unwrap();
    let five: CommitId = f.git(&["rev-parse", "HEAD~5"]).parse().unwrap();
    let tips = [ten.clone(), five.clone(), head.clone()];
    let at: Vec<usize> = tips.iter().map(|t| graph.position(t).unwrap()).collect();
    let mut got: Vec<Vec<(i64, String)>> = vec![Vec::new(); 3];
    graph.partition(&at, |t, c| {
        got[t].push((graph.time(c), graph.id(c).to_string()));
        ControlFlow::Continue(())
    });
    // Each tip holds what `git rev-list TIP ^EARLIER…` gives, newest first.
    let ranges = [
        vec![ten.to_string()],
        vec![five.to_string(), format!("^{ten}")],
        vec![head.to_string(), format!("^{five}"), format!("^{ten}")],
    ];
    for (t, range) in ranges.iter().enumerate() {
        let mut args = vec!["rev-list"];
        args.extend(range.iter().map(String::as_str));
        let mut want: Vec<String> = f.git(&args).lines().map(str::to_owned).collect();
        let mut ids: Vec<String> = got[t].iter().map(|(_, id)| id.clone()).collect();
        assert!(got[t].windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
        ids.sort();
        want.sort();
        assert_eq!(ids, want, "tip {t}");
    }
    let merge = graph.position(&head).unwrap();
    assert_eq!(graph.data(merge), &("Merge feature".to_owned(), 2));
    let time: i64 = f.git(&["log", "-1", "--format=%ct"]).parse().unwrap();
    assert_eq!(graph.time(merge), time);
}

/// `Repo::walk_range` gives the commits `git rev-list TIP ^HIDDEN…` gives, with a
/// commit-graph file, with one that misses the newest commits, and without one.
#[test]
fn walk_range_agrees_with_rev_list() {
    let f = Fixture::new();
    let (side, all) = branchy(&f, 40, 30);
    let repo = f.repo();
    let check = |label: &str, tip: &CommitId| {
        let probes: Vec<&CommitId> = all.iter().step_by(7).chain([&side]).collect();
        for hidden in probes.windows(2) {
            let hidden: Vec<CommitId> = hidden.iter().map(|c| (*c).clone()).collect();
            let mut args = vec!["rev-list".to_owned(), tip.to_string()];
            args.extend(hidden.iter().map(|h| format!("^{h}")));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut want: Vec<String> = f.git(&args).lines().map(str::to_owned).collect();
            let mut got = Vec::new();
            repo.walk_range(tip, &hidden, |c| {
                got.push(c.id.to_string());
                ControlFlow::Continue(())
            })
            .unwrap();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{label}: {tip} ^{hidden:?}");
        }
    };
    check("no commit-graph", &f.head());
    f.git(&["commit-graph", "write", "--reachable"]);
    check("commit-graph", &f.head());
    f.commit("f.txt", "late", "fix: after the commit-graph");
    f.git(&["merge", "-q", "--no-ff", "-m", "Merge side late", "side"]);
    check("a commit-graph missing the newest commits", &f.head());
}

/// `Repo::tags` reads the same from packed refs (whose annotated tags carry the commit
/// they peel to) as from loose ones: lightweight and annotated tags of commits, a tag of
/// a tag, and no tag of a tree.
#[test]
fn tags_read_the_same_packed_and_loose() {
    let f = Fixture::new();
    f.commit("f.txt", "a", "feat: a");
    f.git(&["tag", "v1.0.0"]);
    f.commit("f.txt", "b", "fix: b");
    f.git(&["tag", "-a", "v1.0.1", "-m", "release v1.0.1"]);
    f.git(&["tag", "-a", "v1.0.1-signed", "-m", "again", "v1.0.1"]);
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    f.git(&["tag", "-a", "v9.9.9", "-m", "a tree", &tree]);
    let loose = f.repo().tags().unwrap();
    f.git(&["pack-refs", "--all"]);
    assert!(f.root.join(".git/packed-refs").is_file());
    let packed = f.repo().tags().unwrap();
    assert_eq!(loose, packed);
    let names: Vec<(&str, bool)> = packed
        .iter()
        .map(|t| (t.name.as_str(), t.annotated))
        .collect();
    assert_eq!(
        names,
        [("v1.0.0", false), ("v1.0.1", true), ("v1.0.1-signed", true)]
    );
    assert!(packed.iter().skip(1).all(|t| t.commit == f.head()));
}

#[test]
fn dated_writes_carry_the_given_time() {
    let f = Fixture::new();
    let base = f.commit("README.md", "readme\n", "init");
    f.git(&["branch", "fix", &base.to_string()]);
    f.git(&["checkout", "-q", "fix"]);
    f.commit("fix.txt", "fix\n", "fix: one");
    f.git(&["checkout", "-q", "main"]);
    f.commit("main.txt", "main\n", "feat: two");
    let at: i64 = 1_600_000_000;
    // In a zone one hour east of UTC, as a team in Oslo in winter.
    let repo = f.repo().dated(at, 3600);

    let id = repo
        .commit_file("CHANGELOG.md", b"# Changelog\n", "chore(release): v1.0.0")
        .unwrap();
    assert_eq!(
        f.git(&[
            "log",
            "-1",
            "--format=%at %ct %ad",
            "--date=iso",
            id.as_str()
        ]),
        format!("{at} {at} 2020-09-13 13:26:40 +0100")
    );
    // West of UTC, with a half hour: any offset is written as git reads it.
    let west = f
        .repo()
        .dated(at, -(5 * 3600 + 1800))
        .commit_file("WEST.md", b"w\n", "docs: west")
        .unwrap();
    assert_eq!(
        f.git(&["log", "-1", "--format=%ad", "--date=iso", west.as_str()]),
        "2020-09-13 06:56:40 -0530"
    );
    repo.create_annotated_tag("v1.0.0", &id, "notes").unwrap();
    assert_eq!(
        f.git(&[
            "for-each-ref",
            "--format=%(taggerdate:unix)",
            "refs/tags/v1.0.0"
        ]),
        at.to_string()
    );
    // A branch assembled by merging: its merge commit is dated too.
    let main = f.head();
    repo.assemble_branch("release/1.0", &main, &["fix".to_string()])
        .unwrap();
    assert_eq!(f.git(&["log", "-1", "--format=%P"]).split(' ').count(), 2);
    assert_eq!(
        f.git(&["log", "-1", "--format=%at %ct"]),
        format!("{at} {at}")
    );

    // Without a date, git's clock: now, not the dated handle's time.
    f.git(&["checkout", "-q", "main"]);
    let now = f
        .repo()
        .commit_file("NOTES.md", b"n\n", "docs: notes")
        .unwrap();
    let t: i64 = f
        .git(&["log", "-1", "--format=%ct", now.as_str()])
        .parse()
        .unwrap();
    assert!(t > 1_700_000_000, "{t}");
}
