//! The fuzz targets' inputs, bounded, on stable: for each target, every seed
//! (the repository's, and the third-party fixtures' when present), a fixed
//! number of deterministic mutations of them, and every saved regression case
//! (`tests/fuzz_regressions/<target>/`), all through the same checks the fuzz
//! targets run (`fuzz/src/checks.rs`, included below). The seeds are those
//! `fuzz/seed.sh` puts in the fuzz corpus, framed the same way.
//!
//! A failing input is written to this test's temporary folder and its path
//! printed; once the bug is understood it belongs in
//! `tests/fuzz_regressions/<target>/`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../../support/fixtures.rs"]
mod fixtures;

#[path = "../../../fuzz/src/checks.rs"]
mod checks;

/// Mutated inputs per target.
const CASES: usize = 256;
/// Seeds longer than this are cut to a window of this size before mutation,
/// so a debug build stays fast on the 300 KB changelogs.
const WINDOW: usize = 16 * 1024;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

type Input = (String, Vec<u8>);

/// The files of a folder, sorted by name; none when it is absent.
fn files_in(dir: &Path, ext: Option<&str>) -> Vec<Input> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Input> = entries
        .map(|e| e.expect("a readable folder").path())
        .filter(|p| p.is_file())
        .filter(|p| ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)))
        .map(|p| {
            let name = p
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, bytes)
        })
        .collect();
    out.sort();
    out
}

fn framed(header: &str, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(header.len() + 1 + body.len());
    v.extend_from_slice(header.as_bytes());
    v.push(b'\n');
    v.extend_from_slice(body);
    v
}

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions")
}

/// The seeds kept in the repository.
fn repo_seeds(target: &str) -> Vec<Input> {
    let root = repo();
    let mut out = files_in(&root.join("fuzz/seeds").join(target), None);
    out.extend(files_in(&regressions_dir().join(target), None));
    if target == "process_file" {
        out.push((
            "default.toml".into(),
            sluice_core::process::DEFAULT_PROCESS.as_bytes().to_vec(),
        ));
        out.extend(files_in(
            &root.join("crates/core/tests/process/bad"),
            Some("toml"),
        ));
        let cases = root.join("crates/cli/tests/cases");
        if let Ok(entries) = std::fs::read_dir(&cases) {
            let mut dirs: Vec<PathBuf> = entries.map(|e| e.expect("an entry").path()).collect();
            dirs.sort();
            for d in dirs {
                let file = d.join("sluice.toml");
                if let Ok(bytes) = std::fs::read(&file) {
                    out.push((file.display().to_string(), bytes));
                }
            }
        }
    }
    out
}

/// Records of a fixture file made of `=== TAG ... ===` delimiter lines.
fn records(text: &str, tag: &str) -> Vec<Vec<u8>> {
    let start = format!("=== {tag} ");
    let mut out: Vec<Vec<String>> = Vec::new();
    for line in text.split('\n') {
        if line.starts_with(&start) && line.ends_with(" ===") {
            out.push(Vec::new());
        } else if let Some(r) = out.last_mut() {
            r.push(line.to_string());
        }
    }
    out.into_iter()
        .map(|mut lines| {
            // The newline that ends a record separates records.
            if lines.last().is_some_and(String::is_empty) {
                lines.pop();
            }
            lines.join("\n").into_bytes()
        })
        .collect()
}

/// The third-party fixtures for a target, framed as `fuzz/seed.sh` frames them.
fn fixture_seeds(target: &str, root: &Path) -> Vec<Input> {
    let read =
        |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    match target {
        "commit_message" => {
            let mut out = Vec::new();
            for (file, tag) in [
                ("conventional-commits.txt", "COMMIT"),
                ("tricky-cases.txt", "CASE"),
            ] {
                let text = read(root.join("commits").join(file));
                for (i, r) in records(&text, tag).into_iter().enumerate() {
                    out.push((format!("{file}#{}", i + 1), r));
                }
            }
            out.extend(files_in(&root.join("commits/tricky"), Some("txt")));
            out
        }
        "changelog_scan" => files_in(&root.join("changelogs"), Some("md")),
        "github" => files_in(&root.join("github"), Some("json"))
            .into_iter()
            .map(|(name, body)| {
                let event = name.split('.').next().unwrap_or_default().to_string();
                let input = framed(&event, &body);
                (name, input)
            })
            .collect(),
        "gitlab" => files_in(&root.join("gitlab"), Some("json")),
        "alertmanager" | "grafana" | "sentry" => files_in(&root.join("alerting"), Some("json"))
            .into_iter()
            .filter_map(|(name, body)| {
                let input = match (target, name.split('.').next().unwrap_or_default()) {
                    ("alertmanager", "alertmanager" | "pagerduty") | ("grafana", "grafana") => body,
                    ("sentry", "sentry") => {
                        let resource = if name.starts_with("sentry.event_alert.") {
                            "event_alert"
                        } else if name.starts_with("sentry.issue.") {
                            "issue"
                        } else {
                            ""
                        };
                        framed(resource, &body)
                    }
                    _ => return None,
                };
                Some((name, input))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// SplitMix64: a small, fixed-seed generator, so every run mutates alike.
struct Rng(u64);

impl Rng {
    fn new(target: &str) -> Rng {
        let mut seed = 0x5155_1CE0_F022_2026_u64;
        for b in target.bytes() {
            seed = (seed ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A position in `0..=len`.
    fn pos(&mut self, len: usize) -> usize {
        self.below(len + 1)
    }
}

/// Bytes that change how text, TOML, Markdown or JSON is read.
const BYTES: &[u8] = b"\0\x7f\xff\n\r\t \"'[]{}(),:;#!\\-=.~`0";

/// Inserted whole: control characters, odd UTF-8, broken UTF-8 and the
/// tokens the parsers look for.
const PIECES: &[&[u8]] = &[
    b"\r\n",
    b"\n\n",
    "\u{feff}".as_bytes(),
    "\u{2028}".as_bytes(),
    "\u{a0}".as_bytes(),
    "é".as_bytes(),
    "🦀".as_bytes(),
    "\u{10ffff}".as_bytes(),
    b"\x1b[0m",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf0\x9f\x92",
    b"## ",
    b"## [Unreleased]\n",
    b"# ",
    b"```\n",
    b"~~~\n",
    b"[unreleased]: https://example.com/compare/v1.0.0...HEAD\n",
    b"BREAKING CHANGE: ",
    b"BREAKING-CHANGE:",
    b"Patch: SHOP-1, SHOP-2",
    b"Fixes #1",
    b"SHOP-12",
    b"feat(x)!: ",
    b"[[environments]]\n",
    b"[webhooks.github]\n",
    b"\"\"\"",
    b" = ",
    b"null",
    b"{}",
    b"[]",
    b"1e999",
    b"-0",
    b"18446744073709551616",
    b"\"\\ud800\"",
    b"\"action\": \"closed\", ",
    b"\"status\": \"firing\", ",
];

/// One to four mutations of a seed (cut to a window first when long):
/// bit flips, byte overwrites, truncation, deleted and duplicated ranges,
/// a splice from another seed, inserted pieces.
fn mutate(rng: &mut Rng, seeds: &[Input]) -> Vec<u8> {
    let seed = &seeds[rng.below(seeds.len())].1;
    let mut data = if seed.len() > WINDOW {
        let at = rng.below(seed.len() - WINDOW);
        seed[at..at + WINDOW].to_vec()
    } else {
        seed.clone()
    };
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = BYTES[rng.below(BYTES.len())];
            }
            2 => data.truncate(rng.pos(len)),
            3 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                data.drain(at..at + n);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(256));
                let copy = data[at..at + n].to_vec();
                let to = rng.pos(len);
                data.splice(to..to, copy);
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())].1;
                if !other.is_empty() {
                    let at = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - at).min(512));
                    let to = rng.pos(len);
                    data.splice(to..to, other[at..at + n].iter().copied());
                }
            }
            _ => {
                let piece = PIECES[rng.below(PIECES.len())];
                let to = rng.pos(len);
                data.splice(to..to, piece.iter().copied());
            }
        }
    }
    data
}

fn check_of(target: &str) -> checks::Check {
    checks::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target named `{target}`"))
}

/// Runs `check` on every input; the failures are saved and listed.
fn run_all(target: &str, inputs: impl IntoIterator<Item = Input>) -> usize {
    let check = check_of(target);
    let mut failed = Vec::new();
    let mut n = 0;
    for (name, data) in inputs {
        n += 1;
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join("fuzz_inputs")
                .join(target);
            std::fs::create_dir_all(&dir).expect("a folder for failing inputs");
            let path = dir.join(format!("failure-{}", failed.len() + 1));
            std::fs::write(&path, &data).expect("a failing input written");
            failed.push(format!("{name} (input saved as {})", path.display()));
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {n} inputs failed (panic messages above):\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
    n
}

/// Every seed as it is, then [`CASES`] mutations of them.
fn seeds_and_mutations(target: &str) {
    let mut seeds = repo_seeds(target);
    assert!(!seeds.is_empty(), "{target}: no seeds in the repository");
    if let Some(root) = fixtures::dir(&format!("fuzz_inputs::{target} (fixture seeds)")) {
        let from_fixtures = fixture_seeds(target, &root);
        // The process file is the one input with no third-party examples.
        assert!(
            target == "process_file" || !from_fixtures.is_empty(),
            "{target}: no fixture seeds in {}",
            root.display()
        );
        seeds.extend(from_fixtures);
    }
    run_all(target, seeds.clone());
    let mut rng = Rng::new(target);
    let mutated: Vec<Input> = (0..CASES)
        .map(|i| (format!("mutation {i}"), mutate(&mut rng, &seeds)))
        .collect();
    run_all(target, mutated);
}

#[test]
fn process_file() {
    seeds_and_mutations("process_file");
}

#[test]
fn commit_message() {
    seeds_and_mutations("commit_message");
}

#[test]
fn changelog_scan() {
    seeds_and_mutations("changelog_scan");
}

#[test]
fn github() {
    seeds_and_mutations("github");
}

#[test]
fn gitlab() {
    seeds_and_mutations("gitlab");
}

#[test]
fn alertmanager() {
    seeds_and_mutations("alertmanager");
}

#[test]
fn grafana() {
    seeds_and_mutations("grafana");
}

#[test]
fn sentry() {
    seeds_and_mutations("sentry");
}

/// Every saved crash, each under the folder of its target.
#[test]
fn fuzz_regressions_replay() {
    let Ok(entries) = std::fs::read_dir(regressions_dir()) else {
        return;
    };
    for entry in entries {
        let dir = entry.expect("an entry").path();
        if !dir.is_dir() {
            continue;
        }
        let target = dir
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let cases = files_in(&dir, None);
        run_all(&target, cases);
    }
}

/// The case behind `fuzz_regressions/sentry/`: a blank Sentry tag counts as
/// absent (the configured `env` applies) and tag values are trimmed; the
/// trimmed level is mapped by `severity_levels` to the process's severity.
#[test]
fn sentry_blank_environment_tag_falls_back_to_the_default_env() {
    let cfg = sluice_core::process::AlertHooks {
        secret: "${SENTRY_SECRET}".into(),
        env_label: "environment".into(),
        service_label: "service".into(),
        env: Some("prod".into()),
        severity_levels: vec![("error".into(), "major".into())],
    };
    let body = br#"{"id":"55","event":{"message":"boom","tags":[["environment"," "],["service"," web "],["level","error "]]}}"#;
    let intents = sluice_core::inbound::sentry(&cfg, None, body).expect("a legacy Sentry alert");
    assert!(
        matches!(
            &intents[..],
            [sluice_core::inbound::Intent::IncidentFiring { env, service: Some(service), severity: Some(level), .. }]
                if env == "prod" && service == "web" && level == "major"
        ),
        "{intents:?}"
    );
}
