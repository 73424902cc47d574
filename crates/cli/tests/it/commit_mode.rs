//! Commit mode (`sluice changelog`, `sluice version`) on real repositories built with the
//! git CLI in temporary directories: no process file, no database. Commit and tag dates
//! are fixed, so the documents are snapshots; only `--bump`'s "today" is redacted.

use std::path::Path;
use std::process::Command;

use tempfile::TempDir;

use crate::harness::{Out, Proc};

/// A scratch repository with a fixed identity, no user or system configuration, and a
/// clock that advances one day per commit from 2024-01-01.
struct Git {
    dir: TempDir,
    day: u32,
}

impl Git {
    fn new() -> Git {
        let dir = tempfile::Builder::new()
            .prefix("sluice-cm-")
            .tempdir()
            .unwrap();
        let g = Git { dir, day: 0 };
        g.git(&["init", "-q", "-b", "main"]);
        g
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn date(&self) -> String {
        // Noon UTC; day 0 is 2024-01-01.
        let d = jiff::civil::date(2024, 1, 1)
            .checked_add(jiff::Span::new().days(i64::from(self.day)))
            .unwrap();
        format!("{d}T12:00:00+00:00")
    }

    fn git(&self, args: &[&str]) -> String {
        let date = self.date();
        let o = Command::new("git")
            .current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("LC_ALL", "C")
            .args(args)
            .output()
            .expect("git must be installed");
        assert!(
            o.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// An empty commit with `message`, one day after the previous one.
    fn commit(&mut self, message: &str) {
        self.day += 1;
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    fn tag(&self, name: &str) {
        self.git(&["tag", name]);
    }

    fn annotated_tag(&self, name: &str) {
        self.git(&["tag", "-a", name, "-m", &format!("Release {name}")]);
    }

    fn merge(&mut self, branch: &str) {
        self.day += 1;
        self.git(&[
            "merge",
            "-q",
            "--no-ff",
            branch,
            "-m",
            &format!("Merge branch '{branch}'"),
        ]);
    }

    fn sluice(&self, args: &[&str]) -> Out {
        let o = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("SLUICE_CONFIG")
            .env_remove("SLUICE_DATABASE_URL")
            .args(args)
            .output()
            .unwrap();
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            what: format!("sluice {}", args.join(" ")),
        }
    }

    fn ok(&self, args: &[&str]) -> Out {
        let o = self.sluice(args);
        assert_eq!(o.code, 0, "expected success:\n{o}");
        o
    }

    fn error(&self, args: &[&str], needles: &[&str]) -> Out {
        let o = self.sluice(args);
        assert_eq!(o.code, 2, "expected an error (exit 2):\n{o}");
        for n in needles {
            assert!(o.stderr.contains(n), "stderr must mention {n:?}:\n{o}");
        }
        o
    }
}

/// v0.1.0 (annotated), v0.2.0-rc.1, a merged branch, v0.2.0, then unreleased work with
/// a breaking change; non-conventional messages and foreign tags on the way.
fn story() -> Git {
    let mut g = Git::new();
    g.commit("feat: accept orders over HTTP");
    g.commit("chore: set up CI");
    g.commit("fix(api): reject empty order bodies\n\nThey crashed the parser.\n\nRefs: #4");
    g.annotated_tag("v0.1.0");
    g.commit("feat(search): search orders by customer");
    g.commit("Update README");
    g.tag("v0.2.0-rc.1");
    g.git(&["checkout", "-q", "-b", "ranking"]);
    g.commit("fix(search): rank exact matches first");
    g.git(&["checkout", "-q", "main"]);
    g.commit("perf: cache customer lookups");
    g.merge("ranking");
    g.commit("docs: explain search");
    g.tag("v0.2.0");
    g.tag("nightly");
    g.tag("shop-9.9.9");
    g.commit("feat(ui): dark mode");
    g.commit("wip");
    g.commit("fix: typo in the order footer");
    g.commit("refactor!: drop the v1 endpoints\n\nBREAKING CHANGE: clients must use /v2.");
    g
}

fn today() -> String {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

#[test]
fn changelog_of_the_whole_history() {
    let g = story();
    let o = g.ok(&["changelog"]);
    assert_eq!(o.stderr, "", "nothing on stderr when piped:\n{o}");
    insta::assert_snapshot!(o.stdout);
}

#[test]
fn verbose_counts_skipped_commits() {
    let g = story();
    let o = g.ok(&["changelog", "--verbose"]);
    // 13 commits in all, the merge included; `Update README`, the merge and `wip` are
    // not conventional.
    assert!(
        o.stderr
            .contains("read 13 commits (3 not conventional, skipped) into 3 releases"),
        "{o}"
    );
}

#[test]
fn unreleased_only() {
    let g = story();
    let o = g.ok(&["changelog", "--unreleased"]);
    insta::assert_snapshot!(o.stdout);
}

#[test]
fn bump_shows_unreleased_as_the_next_version() {
    let g = story();
    let o = g.ok(&["changelog", "--bump"]);
    let doc = o.stdout.replace(&today(), "<today>");
    assert!(
        doc.contains("## [Unreleased]\n\n## [0.3.0] - <today>\n"),
        "{doc}"
    );
    assert!(doc.contains("## [0.2.0] - 2024-01-10\n"), "{doc}");
    let o = g.ok(&["changelog", "--unreleased", "--bump"]);
    insta::assert_snapshot!(o.stdout.replace(&today(), "<today>"));
}

#[test]
fn output_file_is_written_atomically() {
    let g = story();
    let file = g.path().join("CHANGELOG.md");
    std::fs::write(&file, "old contents\n").unwrap();
    let o = g.ok(&["changelog", "-o", "CHANGELOG.md"]);
    assert_eq!(o.stdout, "", "{o}");
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(written, g.ok(&["changelog"]).stdout);
    let leftovers: Vec<_> = std::fs::read_dir(g.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A directory that does not exist: exit 2, nothing written.
    g.error(
        &["changelog", "-o", "no/such/dir/CHANGELOG.md"],
        &["cannot write"],
    );
}

#[test]
fn json_sections() {
    let g = story();
    let v = g.ok(&["changelog", "--json"]).json();
    assert_eq!(v["tag_template"], "v{version}");
    assert_eq!(v["aliases"], serde_json::json!([]));
    assert_eq!(v["unreleased"]["bump"], "major");
    assert_eq!(v["unreleased"]["commits"], 4);
    assert_eq!(v["unreleased"]["skipped"], 1);
    let releases = v["releases"].as_array().unwrap();
    let versions: Vec<_> = releases.iter().map(|r| r["version"].clone()).collect();
    assert_eq!(versions, ["0.2.0", "0.2.0-rc.1", "0.1.0"]);
    assert_eq!(releases[0]["tag"], "v0.2.0");
    assert_eq!(releases[0]["date"], "2024-01-10");
    assert_eq!(
        releases[0]["groups"],
        serde_json::json!([
            {"heading": "Changed", "entries": ["cache customer lookups"]},
            {"heading": "Fixed", "entries": ["**search:** rank exact matches first"]},
        ])
    );
    let v = g
        .ok(&["changelog", "--json", "--unreleased", "--bump"])
        .json();
    let releases = v["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 1, "{v}");
    assert_eq!(releases[0]["version"], "0.3.0");
    assert_eq!(releases[0]["tag"], "v0.3.0");
}

#[test]
fn versions() {
    let g = story();
    assert_eq!(g.ok(&["version"]).stdout, "0.2.0\n");
    // A breaking change before 1.0.0 raises the minor version.
    let o = g.ok(&["version", "--next"]);
    assert_eq!(o.stdout, "0.3.0\n", "{o}");
    assert_eq!(o.stderr, "");
    let v = g.ok(&["version", "--json"]).json();
    assert_eq!(v["current"], "0.2.0");
    assert_eq!(v["next"], "0.3.0");
    assert_eq!(v["bump"], "major");
    assert_eq!(v["next_tag"], "v0.3.0");
}

#[test]
fn next_version_after_one_zero() {
    let mut g = Git::new();
    g.commit("feat: first");
    g.tag("v1.4.2");
    g.commit("docs: nothing to release");
    let o = g.ok(&["version", "--next"]);
    assert_eq!(o.stdout, "1.4.2\n", "{o}");
    assert!(o.stderr.contains("the version stays 1.4.2"), "{o}");
    g.commit("fix: a bug");
    assert_eq!(g.ok(&["version", "--next"]).stdout, "1.4.3\n");
    g.commit("feat: a feature");
    assert_eq!(g.ok(&["version", "--next"]).stdout, "1.5.0\n");
    g.commit("feat(api)!: a breaking feature");
    assert_eq!(g.ok(&["version", "--next"]).stdout, "2.0.0\n");
    // A pre-release counts towards its release: the rc's commits are not "released".
    g.tag("v2.0.0-rc.1");
    assert_eq!(g.ok(&["version"]).stdout, "2.0.0-rc.1\n");
    assert_eq!(g.ok(&["version", "--next"]).stdout, "2.0.0\n");
}

#[test]
fn no_tags_at_all() {
    let mut g = Git::new();
    g.commit("feat: first");
    g.commit("not conventional");
    assert_eq!(g.ok(&["version", "--next"]).stdout, "0.1.0\n");
    g.error(
        &["version"],
        &["no release tags match `v{version}`", "git tag v0.1.0"],
    );
    insta::assert_snapshot!(g.ok(&["changelog"]).stdout);
}

#[test]
fn linear_history_and_tag_template_from_the_process_file() {
    let mut g = Git::new();
    let process = Proc::default()
        .render()
        .replace("tag = \"v{version}\"", "tag = \"shop-{version}\"");
    std::fs::write(g.path().join("sluice.toml"), process).unwrap();
    g.commit("feat: one");
    g.tag("shop-1.0.0");
    g.tag("v7.0.0"); // not a release under this template
    g.commit("fix: two");
    g.commit("feat: three");
    g.tag("shop-1.1.0-rc.1");
    g.tag("shop-1.1.0"); // the same commit: the final release owns it
    g.commit("fix: four");
    let o = g.ok(&["changelog", "--verbose"]);
    assert!(o.stderr.contains("read 4 commits"), "{o}");
    assert!(o.stderr.contains("shop-1.1.0-rc.1"), "{o}");
    insta::assert_snapshot!(o.stdout);
    assert_eq!(g.ok(&["version"]).stdout, "1.1.0\n");
    assert_eq!(g.ok(&["version", "--next"]).stdout, "1.1.1\n");
    // The flag wins over the process file.
    assert_eq!(
        g.ok(&["version", "--tag-template", "v{version}"]).stdout,
        "7.0.0\n"
    );
}

#[test]
fn errors() {
    let g = story();
    g.error(
        &["changelog", "--tag-template", "v{ver}"],
        &["invalid tag template `v{ver}`"],
    );
    g.error(
        &["version", "--tag-template", "release"],
        &["invalid tag template", "no version placeholder"],
    );
    let empty = tempfile::tempdir().unwrap();
    for args in [&["changelog"][..], &["version", "--next"][..]] {
        let o = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .current_dir(empty.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CEILING_DIRECTORIES", empty.path().parent().unwrap())
            .env_remove("SLUICE_CONFIG")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("not inside a git repository"), "{stderr}");
        assert!(
            !empty.path().join(".sluice").exists(),
            "no database is created"
        );
    }
}

/// A third-party Keep a Changelog parser (Python's `keepachangelog`) reads the document
/// back: versions, dates, groups, entries and the link reference definitions, on a
/// history with a maintenance line merged forward and reverts.
#[test]
fn keepachangelog_reads_the_document_back() {
    let mut g = Git::new();
    g.commit("feat: first");
    g.tag("v1.0.0");
    g.commit("feat: search");
    g.annotated_tag("v1.1.0");
    g.git(&["checkout", "-q", "-b", "maint", "v1.0.0"]);
    g.commit("fix: crash on empty cart");
    g.tag("v1.0.1");
    g.git(&["checkout", "-q", "main"]);
    g.merge("maint");
    g.commit("feat: wishlist");
    g.commit("Revert \"feat: wishlist\"");
    g.commit("fix: rounding");
    g.commit("Revert \"feat: search\"");
    let doc = g
        .ok(&[
            "changelog",
            "--compare-url",
            "https://git.example.com/shop/compare/{previous_tag}...{tag}",
        ])
        .stdout;
    let file = g.path().join("CHANGELOG.md");
    std::fs::write(&file, &doc).unwrap();
    let script = r#"
import json, sys, keepachangelog
d = keepachangelog.to_dict(sys.argv[1], show_unreleased=True)
print(json.dumps({"order": list(d.keys()), "data": d}))
"#;
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 runs (scripts/test provides it with its packages)");
    assert!(
        o.status.success(),
        "the document must parse with Python's keepachangelog (pip install keepachangelog; scripts/test installs it): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        out["order"],
        serde_json::json!(["unreleased", "1.1.0", "1.0.1", "1.0.0"]),
        "{doc}"
    );
    let v = &out["data"];
    assert_eq!(
        v["unreleased"]["fixed"],
        serde_json::json!(["rounding"]),
        "{doc}"
    );
    assert_eq!(
        v["unreleased"]["reverted"],
        serde_json::json!(["search"]),
        "{doc}"
    );
    assert!(
        v["unreleased"].get("added").is_none(),
        "wishlist and its revert cancel: {doc}"
    );
    assert_eq!(
        v["unreleased"]["metadata"]["url"],
        "https://git.example.com/shop/compare/v1.1.0...HEAD"
    );
    assert_eq!(v["1.1.0"]["added"], serde_json::json!(["search"]));
    assert!(
        v["1.1.0"].get("fixed").is_none(),
        "the maint fix is listed once: {doc}"
    );
    assert_eq!(v["1.1.0"]["metadata"]["release_date"], "2024-01-03");
    assert_eq!(
        v["1.1.0"]["metadata"]["url"],
        "https://git.example.com/shop/compare/v1.0.1...v1.1.0"
    );
    assert_eq!(
        v["1.0.1"]["fixed"],
        serde_json::json!(["crash on empty cart"])
    );
    assert_eq!(
        v["1.0.1"]["metadata"]["url"],
        "https://git.example.com/shop/compare/v1.0.0...v1.0.1"
    );
    assert_eq!(v["1.0.0"]["added"], serde_json::json!(["first"]));
    assert!(v["1.0.0"]["metadata"].get("url").is_none());
}

/// A repository rebuilt from a `git fast-import` stream.
fn imported(stream: &[u8]) -> Git {
    use std::io::Write as _;
    use std::process::Stdio;
    let g = Git::new();
    let mut child = Command::new("git")
        .current_dir(g.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stream).unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    g
}

/// The first line where two documents differ, for a readable failure.
fn first_difference(got: &str, want: &str) -> String {
    let (g, w): (Vec<_>, Vec<_>) = (got.lines().collect(), want.lines().collect());
    let i = g.iter().zip(&w).take_while(|(a, b)| a == b).count();
    format!(
        "line {}: got {:?}, want {:?} ({} lines against {})",
        i + 1,
        g.get(i),
        w.get(i),
        g.len(),
        w.len()
    )
}

/// semantic-release's real history (2,217 commits, 112 merges, 456 tags, maintenance
/// lines), kept as a fast-import stream made by `scripts/history-stream`: the document,
/// the version and the next version are those recorded before the engine became one pass
/// over an in-memory graph.
#[test]
fn a_real_history_gives_the_recorded_document() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/history");
    let g = imported(&std::fs::read(data.join("semantic-release.fi")).unwrap());
    let want = std::fs::read_to_string(data.join("semantic-release.md")).unwrap();
    let got = g.ok(&["changelog"]).stdout;
    assert!(got == want, "{}", first_difference(&got, &want));
    assert_eq!(g.ok(&["version"]).stdout.trim(), "25.0.9");
    assert_eq!(g.ok(&["version", "--next"]).stdout.trim(), "25.0.9");
}

/// A synthetic history with what real ones have and a line does not: merges of feature
/// branches, a maintenance line whose fixes are merged forward, reverts, pre-releases,
/// two tags on one commit, and a higher tag on a branch `HEAD` does not contain. Its
/// document's SHA-256 was recorded before the engine became one pass over an in-memory
/// graph; `SLUICE_KEEP_SYNTHETIC=FILE` writes the stream out to rebuild it by hand.
#[test]
fn a_synthetic_history_with_merges_gives_the_recorded_document() {
    use sha2::Digest as _;
    let stream = synthetic_history(3_000);
    if let Some(path) = std::env::var_os("SLUICE_KEEP_SYNTHETIC") {
        std::fs::write(path, &stream).unwrap();
    }
    let g = imported(&stream);
    let doc = g.ok(&["changelog"]).stdout;
    let hash = sha2::Sha256::digest(doc.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        (
            doc.lines().filter(|l| l.starts_with("## ")).count(),
            hex.as_str()
        ),
        (SYNTHETIC_HEADINGS, SYNTHETIC_SHA256),
        "the document changed"
    );
    assert_eq!(g.ok(&["version", "--next"]).stdout.trim(), SYNTHETIC_NEXT);
    // Reading every unreleased commit (for the counts) gives the same next version as
    // stopping at the first that decides it.
    let all: serde_json::Value =
        serde_json::from_str(&g.ok(&["--json", "version"]).stdout).unwrap();
    assert_eq!(
        all,
        serde_json::json!({"current": "1.30.0", "current_tag": "v1.30.0", "latest_stable": "1.30.0",
            "bump": "patch", "next": SYNTHETIC_NEXT, "next_tag": "v1.30.1", "commits": 2, "skipped": 1}),
        "as recorded; the maintenance fix merged forward belongs to v1.29.1"
    );
}

const SYNTHETIC_HEADINGS: usize = 53;
const SYNTHETIC_SHA256: &str = "88f56830be53ffde409439413889531c0448c00620a7bed8a942f6047a1af529";
const SYNTHETIC_NEXT: &str = "1.30.1";

/// The stream of [`a_synthetic_history_with_merges_gives_the_recorded_document`]: `n`
/// commits on `main`, one every hour from 2024-01-01, messages taken in turn from a list
/// of real-looking ones.
fn synthetic_history(n: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    const MESSAGES: [&str; 12] = [
        "feat(api): accept orders in bulk",
        "fix: round totals half to even\n\nRefs: #12",
        "docs: explain the retry policy",
        "perf(db): index orders by customer",
        "chore: bump dependencies",
        "fix(ui): keep the cart open on refresh",
        "Update README",
        "feat!: drop the v1 endpoints\n\nBREAKING CHANGE: clients must use /v2.",
        "refactor: split the checkout module",
        "fix(search): rank exact matches first",
        "feat(search): filter by date",
        "test: cover the empty cart",
    ];
    let mut s = String::new();
    let mut mark = 0usize;
    let mut time = 1_704_067_200i64; // 2024-01-01T00:00:00Z
    let mut commit = |s: &mut String,
                      branch: &str,
                      msg: &str,
                      from: Option<usize>,
                      merge: Option<usize>| {
        mark += 1;
        time += 3600;
        let _ = write!(
            s,
            "commit refs/heads/{branch}\nmark :{mark}\nauthor Ada <ada@example.com> {time} +0000\ncommitter Ada <ada@example.com> {time} +0000\ndata {}\n{msg}\n",
            msg.len()
        );
        if let Some(f) = from {
            let _ = writeln!(s, "from :{f}");
        }
        if let Some(m) = merge {
            let _ = writeln!(s, "merge :{m}");
        }
        s.push('\n');
        mark
    };
    let tag = |s: &mut String, name: &str, at: usize| {
        let _ = write!(s, "reset refs/tags/{name}\nfrom :{at}\n\n");
    };
    let mut head = 0usize;
    let mut minor = 0u64;
    let mut maint: Option<(usize, u64, u64)> = None; // (tip, minor, patch)
    for i in 0..n {
        let msg = MESSAGES[i % MESSAGES.len()];
        head = commit(&mut s, "main", msg, (head > 0).then_some(head), None);
        if i % 40 == 39 {
            // A feature branch of three commits from ten commits back, merged.
            let mut tip = head.saturating_sub(10).max(1);
            for k in 0..3 {
                let m = format!("{} (feature {i}.{k})", MESSAGES[(i + k) % MESSAGES.len()]);
                tip = commit(&mut s, &format!("feature-{i}"), &m, Some(tip), None);
            }
            head = commit(
                &mut s,
                "main",
                &format!("Merge branch 'feature-{i}'"),
                Some(head),
                Some(tip),
            );
        }
        if i % 97 == 50 {
            let revert = format!(
                "Revert \"{}\"",
                MESSAGES[(i + 5) % MESSAGES.len()].lines().next().unwrap()
            );
            head = commit(&mut s, "main", &revert, Some(head), None);
        }
        if i % 100 == 99 {
            minor += 1;
            if minor.is_multiple_of(4) {
                tag(&mut s, &format!("v1.{minor}.0-rc.1"), head);
                head = commit(&mut s, "main", "fix: last-minute fix", Some(head), None);
            }
            tag(&mut s, &format!("v1.{minor}.0"), head);
            if minor.is_multiple_of(5) {
                tag(&mut s, &format!("v1.{minor}.0-rc.9"), head); // an alias
            }
            // The previous line's maintenance release, merged forward every other time.
            if let Some((tip, m, p)) = maint {
                let fix = commit(
                    &mut s,
                    &format!("maint-{m}"),
                    &format!("fix: backport to 1.{m}"),
                    Some(tip),
                    None,
                );
                tag(&mut s, &format!("v1.{m}.{}", p + 1), fix);
                if minor.is_multiple_of(2) {
                    head = commit(
                        &mut s,
                        "main",
                        &format!("Merge branch 'maint-{m}'"),
                        Some(head),
                        Some(fix),
                    );
                }
            }
            maint = Some((head, minor, 0));
        }
    }
    // A higher release on a branch HEAD does not contain.
    let side = commit(&mut s, "next", "feat: the next big thing", Some(head), None);
    tag(&mut s, "v9.0.0", side);
    head = commit(
        &mut s,
        "main",
        "fix: after the last release",
        Some(head),
        None,
    );
    let _ = write!(s, "reset refs/heads/main\nfrom :{head}\n\n");
    s.into_bytes()
}
