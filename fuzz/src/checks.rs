//! What must hold for any input, one function per fuzz target. Each takes
//! raw bytes and panics (through `assert!`) when a property fails; not
//! panicking on its own is the first property of every target.
//!
//! Bytes that are not UTF-8 are read lossily (`U+FFFD` for each bad
//! sequence), so every input reaches the code under test.
//!
//! Framing: the targets whose entry point takes a header as well as a body
//! read the header from the input's first line and the body from the rest:
//! `github` (the `X-GitHub-Event` name) and `sentry` (the
//! `Sentry-Hook-Resource` name; an empty first line means no header). The
//! other targets take the whole input as the text or body.
//!
//! This file is compiled twice: in the fuzz crate (`fuzz/src/lib.rs`) and,
//! through `#[path]`, in sluice-core's `tests/fuzz_inputs.rs`. It uses only
//! sluice-core, serde_json and std.

use std::borrow::Cow;
use std::sync::OnceLock;

use sluice_core::changelog::{self, ChangelogError, Group, Links, Section};
use sluice_core::commits;
use sluice_core::inbound::{self, InboundError, Intent};
use sluice_core::process::{self, AlertHooks, DocFormat, ForgeHooks, Process};

/// A target's checks: panics when a property fails.
pub type Check = fn(&[u8]);

/// Every target, by name: the fuzz target's name, the corpus folder's
/// (`fuzz/corpus/NAME`), the seed folder's (`fuzz/seeds/NAME`) and the
/// regression folder's (`crates/core/tests/fuzz_regressions/NAME`).
pub const TARGETS: &[(&str, Check)] = &[
    ("process_file", process_file),
    ("commit_message", commit_message),
    ("changelog_scan", changelog_scan),
    ("github", github),
    ("gitlab", gitlab),
    ("alertmanager", alertmanager),
    ("grafana", grafana),
    ("sentry", sentry),
];

/// The patch key prefix of the process the inbound targets use (the
/// embedded default process's).
const KEY_PREFIX: &str = "SHOP";

/// Webhook sources for the inbound targets. Grafana has no default `env`, so
/// the "alert names no environment" path is reachable too.
const HOOKS: &str = r#"
[webhooks.github]
secret = "${FUZZ_GITHUB_SECRET}"
labels = ["bug", "regression"]
severity_labels = { "sev:critical" = "critical", "bug" = "minor" }
kind_labels = { "bug" = "fix", "regression" = "fix" }
workflows = { "test" = { suite = "integration", env = "dev" }, "CI" = { suite = "unit", env = "dev" } }

[webhooks.gitlab]
token = "${FUZZ_GITLAB_TOKEN}"
labels = ["bug", "API"]
kind_labels = { "API" = "fix" }
workflows = { "*" = { suite = "regression", env = "test" } }

[webhooks.alertmanager]
token = "${FUZZ_ALERTMANAGER_TOKEN}"
env_label = "env"
env = "prod"

[webhooks.grafana]
token = "${FUZZ_GRAFANA_TOKEN}"

[webhooks.sentry]
secret = "${FUZZ_SENTRY_SECRET}"
env = "prod"
"#;

/// The default process plus [`HOOKS`], loaded once.
fn hooked_process() -> &'static Process {
    static PROCESS: OnceLock<Process> = OnceLock::new();
    PROCESS.get_or_init(|| {
        let text = format!("{}\n{HOOKS}", process::DEFAULT_PROCESS);
        match process::load("fuzz.toml", &text) {
            Ok(p) => p,
            Err(d) => panic!("the fuzz targets' process does not load:\n{d}"),
        }
    })
}

/// The first line (without its `\n`) and the rest.
fn split_header(data: &[u8]) -> (Cow<'_, str>, &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(n) => (String::from_utf8_lossy(&data[..n]), &data[n + 1..]),
        None => (String::from_utf8_lossy(data), &[]),
    }
}

// ---------------------------------------------------------------------------
// process_file

/// `process::load` on any text:
/// - a refusal carries at least one diagnostic, each naming the file, a
///   line that exists, that line's text as the source line, and a column
///   (1-based, in characters) at which the snippet starts in that line;
///   the diagnostics render as text and as JSON;
/// - an accepted process renders as a non-empty document in both formats
///   and serializes to JSON.
pub fn process_file(data: &[u8]) {
    const FILE: &str = "fuzz.toml";
    let text = String::from_utf8_lossy(data);
    match process::load(FILE, &text) {
        Ok(p) => {
            for format in [DocFormat::Markdown, DocFormat::Text] {
                let doc = process::render(&p, format);
                assert!(
                    !doc.trim().is_empty(),
                    "an accepted process renders an empty {format:?} document"
                );
            }
            serde_json::to_string(&p).expect("an accepted process serializes");
        }
        Err(d) => {
            assert!(!d.0.is_empty(), "a refused process file has no diagnostic");
            let lines: Vec<&str> = text.split('\n').collect();
            for x in &d.0 {
                assert_eq!(x.file, FILE);
                assert!(
                    (1..=lines.len()).contains(&x.line),
                    "diagnostic on line {} of a {}-line text: {x:?}",
                    x.line,
                    lines.len()
                );
                assert_eq!(
                    x.source_line,
                    lines[x.line - 1].trim_end_matches('\r'),
                    "the source line is not line {} of the text",
                    x.line
                );
                assert!(x.column >= 1, "column 0: {x:?}");
                let from_column: String = x.source_line.chars().skip(x.column - 1).collect();
                assert!(
                    from_column.starts_with(&x.snippet),
                    "the snippet {:?} is not at column {} of {:?}",
                    x.snippet,
                    x.column,
                    x.source_line
                );
            }
            assert!(!d.to_string().is_empty());
            serde_json::to_string(&d).expect("diagnostics serialize");
        }
    }
}

// ---------------------------------------------------------------------------
// commit_message

fn is_key(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX)
        .and_then(|k| k.strip_prefix('-'))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// `commits::parse` and the patch-key readers on any text:
/// - patch keys are `SHOP-<digits>`, unique, and appear in the message
///   (prefix case aside); the branch reader agrees with that shape;
/// - an accepted message has a type (a letter, then letters, digits, `-`,
///   `_`), a trimmed non-empty description, a trimmed non-empty scope without
///   `)` when there is one, `breaking` exactly when `!` or a breaking footer,
///   trimmed footer values with non-empty tokens, and a changelog entry
///   ending with the description;
/// - rendering it (`Display`) gives a message that parses again with the
///   same type, scope, `!`, description and breaking flag.
pub fn commit_message(data: &[u8]) {
    let message = String::from_utf8_lossy(data);
    let message: &str = &message;

    let keys = commits::patch_keys(message, KEY_PREFIX);
    if !keys.is_empty() {
        let lower = message.to_ascii_lowercase();
        for (i, k) in keys.iter().enumerate() {
            assert!(is_key(k), "not a patch key: {k:?}");
            assert!(!keys[..i].contains(k), "patch key {k} returned twice");
            assert!(
                lower.contains(&k.to_ascii_lowercase()),
                "patch key {k} is not in the message"
            );
        }
    }
    let first_line = message.lines().next().unwrap_or("");
    if let Some(k) = commits::key_in_branch(first_line, KEY_PREFIX) {
        assert!(is_key(&k), "not a patch key from a branch: {k:?}");
    }

    let Ok(c) = commits::parse(message) else {
        return;
    };
    let kind = c.kind.as_bytes();
    assert!(
        kind.first().is_some_and(u8::is_ascii_alphabetic)
            && kind
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'),
        "not a commit type: {:?}",
        c.kind
    );
    assert!(
        !c.description.is_empty() && c.description == c.description.trim(),
        "description {:?}",
        c.description
    );
    if let Some(scope) = c.scope {
        assert!(
            !scope.is_empty() && scope == scope.trim() && !scope.contains(')'),
            "scope {scope:?}"
        );
    }
    assert_eq!(
        c.breaking,
        c.bang || c.breaking_description.is_some(),
        "breaking flag of {c:?}"
    );
    for f in &c.footers {
        assert!(!f.token.is_empty(), "a footer without a token: {f:?}");
        assert_eq!(f.value, f.value.trim(), "footer value not trimmed: {f:?}");
    }
    let _ = (commits::bump(&c), commits::section(&c));
    assert!(commits::changelog_entry(&c).ends_with(c.description));

    let rendered = c.to_string();
    let again = commits::parse(&rendered).unwrap_or_else(|e| {
        panic!("the rendered message does not parse ({e}):\n{rendered:?}\nfrom {message:?}")
    });
    assert_eq!(
        (
            again.kind,
            again.scope,
            again.bang,
            again.description,
            again.breaking
        ),
        (c.kind, c.scope, c.bang, c.description, c.breaking),
        "the header changed through render and parse:\n{rendered:?}\nfrom {message:?}"
    );
}

// ---------------------------------------------------------------------------
// changelog_scan

/// The version label of a `## ` line, read the simple way: the text in the
/// first `[...]` when the title starts with `[`, else its first word.
fn heading_label(title: &str) -> &str {
    let title = title.trim();
    if let Some(rest) = title.strip_prefix('[')
        && let Some(end) = rest.find(']')
    {
        return rest[..end].trim();
    }
    title.split_whitespace().next().unwrap_or("")
}

/// Versions to look up: those of the first `## ` lines, plus two that
/// real changelogs usually have.
fn probe_versions(doc: &str) -> Vec<&str> {
    let mut out = vec!["Unreleased", "1.0.0"];
    for line in doc.lines() {
        if out.len() >= 8 {
            break;
        }
        if let Some(title) = line.strip_prefix("## ") {
            let label = heading_label(title);
            if !label.is_empty() && !out.contains(&label) {
                out.push(label);
            }
        }
    }
    out
}

/// The document's line ending, as the changelog editor chooses it.
fn line_ending(doc: &str) -> &'static str {
    match doc.find('\n') {
        Some(n) if doc[..n].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// Does every line ending in `text` already use `eol`?
fn uses_line_ending(text: &str, eol: &str) -> bool {
    if eol == "\n" {
        !text.contains("\r\n")
    } else {
        text.match_indices('\n')
            .all(|(i, _)| text[..i].ends_with('\r'))
    }
}

fn to_line_ending(text: &str, eol: &str) -> String {
    let lf = text.replace("\r\n", "\n");
    if eol == "\n" {
        lf
    } else {
        lf.replace('\n', eol)
    }
}

/// Is `out` the document `doc` with one run of bytes added somewhere?
fn is_one_insertion(doc: &str, out: &str) -> bool {
    let (a, b) = (doc.as_bytes(), out.as_bytes());
    if b.len() <= a.len() {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    prefix + suffix == a.len()
}

fn new_section() -> Section {
    Section {
        version: "9.99.0-fuzz.1".into(),
        date: "2026-11-23".parse().expect("a date"),
        groups: vec![
            Group {
                heading: "Fixed".into(),
                entries: vec!["a fix found by fuzzing".into()],
            },
            Group {
                heading: "Added".into(),
                entries: vec!["one entry".into(), "another entry".into()],
            },
        ],
        yanked: false,
    }
}

/// The changelog scanner, through the editing API, on any document:
/// - a section found by `section_text` starts a line with `## `; replacing
///   it with its own text gives the document back unchanged (when the
///   section's line endings are already the document's); a version with no
///   section cannot be replaced;
/// - `insert_release` (no links) adds one run of bytes and nothing else, and
///   the new version's section reads back as the rendered section (in the
///   document's line ending); it refuses only a version that already has a
///   section;
/// - with links it succeeds exactly when it does without, and the new
///   section is found in the result.
pub fn changelog_scan(data: &[u8]) {
    let doc = String::from_utf8_lossy(data);
    let doc: &str = &doc;
    let eol = line_ending(doc);

    for version in probe_versions(doc) {
        match changelog::section_text(doc, version) {
            Some(text) => {
                let start = text.as_ptr() as usize - doc.as_ptr() as usize;
                assert!(
                    start == 0 || doc.as_bytes()[start - 1] == b'\n',
                    "section {version} does not start a line"
                );
                assert!(
                    text.starts_with("## "),
                    "section {version} does not start with `## `: {text:?}"
                );
                if uses_line_ending(text, eol) {
                    let same = changelog::replace_section(doc, version, text)
                        .expect("a section that reads can be replaced");
                    assert!(
                        same == doc,
                        "replacing section {version} with its own text changed the document"
                    );
                }
            }
            None => assert!(
                matches!(
                    changelog::replace_section(doc, version, "## x\n"),
                    Err(ChangelogError::NoSuchVersion { .. })
                ),
                "a version with no section ({version}) was replaced"
            ),
        }
    }

    let section = new_section();
    let version = section.version.as_str();
    let plain = changelog::insert_release(doc, &section, None);
    match &plain {
        Ok(out) => {
            assert!(
                is_one_insertion(doc, out),
                "inserting a release changed bytes it does not own"
            );
            let text =
                changelog::section_text(out, version).expect("the inserted section is found again");
            let rendered = to_line_ending(&changelog::render_section(&section), eol);
            assert_eq!(
                text.trim_end(),
                rendered.trim_end(),
                "the inserted section reads back differently"
            );
        }
        Err(ChangelogError::DuplicateVersion { .. }) => assert!(
            changelog::section_text(doc, version).is_some(),
            "refused as a duplicate, yet the version has no section"
        ),
        Err(e) => panic!("insert_release: unexpected error {e}"),
    }
    let links = Links {
        compare: "https://example.com/shop/compare/v{previous}...v{version}".into(),
    };
    let linked = changelog::insert_release(doc, &section, Some(&links));
    assert_eq!(
        linked.is_ok(),
        plain.is_ok(),
        "links changed whether the release could be inserted"
    );
    if let Ok(out) = linked {
        assert!(
            changelog::section_text(&out, version).is_some(),
            "the inserted section (with links) is not found again"
        );
    }
}

// ---------------------------------------------------------------------------
// inbound payloads

fn non_empty_trimmed(s: &str) -> bool {
    !s.is_empty() && s == s.trim()
}

/// What holds for any delivery's outcome:
/// - a body that is not a JSON object is `Malformed`;
/// - an accepted delivery gives at least one intent, each serializing to
///   JSON, with non-empty, trimmed identifiers (source reference, title,
///   patch key in `SHOP-<digits>` form, suite, environment, fingerprint)
///   and a non-empty reason when ignored.
fn check_delivery(source: &str, body: &[u8], r: &Result<Vec<Intent>, InboundError>) {
    let is_object = serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.is_object());
    if !is_object {
        assert!(
            matches!(r, Err(InboundError::Malformed(_))),
            "{source}: a body that is not a JSON object gave {r:?}"
        );
    }
    let Ok(intents) = r else {
        return;
    };
    assert!(
        !intents.is_empty(),
        "{source}: an accepted delivery with no intent"
    );
    for i in intents {
        serde_json::to_string(i).expect("an intent serializes");
        let ok = match i {
            Intent::ReportPatch {
                source_ref, title, ..
            } => non_empty_trimmed(source_ref) && non_empty_trimmed(title),
            Intent::PatchProgress { key, .. } => is_key(key),
            Intent::TestReport { suite, env, .. } => {
                non_empty_trimmed(suite) && non_empty_trimmed(env)
            }
            Intent::IncidentFiring {
                env,
                fingerprint,
                title,
                ..
            } => non_empty_trimmed(env) && non_empty_trimmed(fingerprint) && !title.is_empty(),
            Intent::IncidentResolved { fingerprint } => non_empty_trimmed(fingerprint),
            Intent::Ignored { reason } => !reason.is_empty(),
        };
        assert!(
            ok,
            "{source}: an intent with an empty or untrimmed field: {i:?}"
        );
    }
}

fn forge_hooks(
    which: fn(&Process) -> Option<&ForgeHooks>,
) -> (&'static Process, &'static ForgeHooks) {
    let p = hooked_process();
    (p, which(p).expect("the fuzz process configures this forge"))
}

fn alert_hooks(which: fn(&Process) -> Option<&AlertHooks>) -> &'static AlertHooks {
    which(hooked_process()).expect("the fuzz process configures this alert source")
}

/// A GitHub delivery: first line the event name, then the body.
pub fn github(data: &[u8]) {
    let (event, body) = split_header(data);
    let (p, cfg) = forge_hooks(|p| p.webhooks.github.as_ref());
    let r = inbound::github(p, cfg, &event, body);
    check_delivery("github", body, &r);
}

/// A GitLab delivery: the whole input is the body.
pub fn gitlab(data: &[u8]) {
    let (p, cfg) = forge_hooks(|p| p.webhooks.gitlab.as_ref());
    let r = inbound::gitlab(p, cfg, data);
    check_delivery("gitlab", data, &r);
}

/// An Alertmanager delivery: the whole input is the body.
pub fn alertmanager(data: &[u8]) {
    let cfg = alert_hooks(|p| p.webhooks.alertmanager.as_ref());
    let r = inbound::alertmanager(cfg, data);
    check_delivery("alertmanager", data, &r);
}

/// A Grafana delivery: the whole input is the body.
pub fn grafana(data: &[u8]) {
    let cfg = alert_hooks(|p| p.webhooks.grafana.as_ref());
    let r = inbound::grafana(cfg, data);
    check_delivery("grafana", data, &r);
}

/// A Sentry delivery: first line the resource (empty: no header), then the body.
pub fn sentry(data: &[u8]) {
    let (resource, body) = split_header(data);
    let resource = (!resource.is_empty()).then_some(&*resource);
    let cfg = alert_hooks(|p| p.webhooks.sentry.as_ref());
    let r = inbound::sentry(cfg, resource, body);
    check_delivery("sentry", body, &r);
}
