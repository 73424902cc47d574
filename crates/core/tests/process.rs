//! The process file: the embedded default, every kind of bad file (one
//! snapshot each, from `tests/process/bad/`), durations and the rendered
//! process document.

use std::path::Path;

use proptest::prelude::*;
use sluice_core::process::{
    self, DEFAULT_PROCESS, DocFormat, Step, format_duration, load, parse_duration, render,
};

#[test]
fn default_process_loads_clean() {
    let p = match load("sluice.toml", DEFAULT_PROCESS) {
        Ok(p) => p,
        Err(d) => panic!("default process has problems:\n{d}"),
    };
    assert_eq!(p.project.key, "SHOP");
    let kinds: Vec<_> = p.kinds.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(kinds, ["fix", "security", "perf", "feature", "breaking"]);
    let envs: Vec<_> = p.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(envs, ["local", "dev", "test", "prod"]);
    let prod = p.environment("prod").unwrap().1;
    assert_eq!(
        prod.deploy.as_ref().unwrap().argv,
        ["./deploy.sh", "{version}", "prod"]
    );
    assert_eq!(format_duration(prod.deploy_timeout), "15m");
    assert_eq!(
        p.environment("dev").unwrap().1.deploy_timeout.as_secs(),
        600
    );
    assert_eq!(p.responsible(Step::Test), ["qa"]);
    assert_eq!(p.cadence.timezone_name, "Europe/Oslo");
    assert!(
        p.kind("feature")
            .is_some_and(|k| !k.patch_release && !k.breaking)
    );
    assert!(p.kind("breaking").is_some_and(|k| k.breaking));
    assert!(p.kind("perf").is_some_and(|k| k.patch_release));
}

#[test]
fn every_default_key_is_commented() {
    // The default file is the reference `sluice init` writes: every key of
    // the schema is explained in a comment (`# key:` or `#   key:`).
    // The keys come from the loader's own schema, so a key added there without
    // documentation fails here.
    for (table, keys) in sluice_core::process::schema() {
        for key in *keys {
            assert!(
                DEFAULT_PROCESS.contains(&format!("# {key}:"))
                    || DEFAULT_PROCESS.contains(&format!("#   {key}:")),
                "key `{key}` of {table} is not documented in default.toml"
            );
        }
    }
    for section in [
        "[kinds]",
        "[severities]",
        "[roles]",
        "[responsibilities]",
        "[channels]",
        "[changelog]",
        "[notes]",
    ] {
        assert!(
            DEFAULT_PROCESS.contains(&format!("# {section}:")),
            "{section} is not documented"
        );
    }
}

#[test]
fn bad_process_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/process/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 18, "only {} bad files", files.len());
    for path in files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = match load("sluice.toml", &text) {
            Ok(_) => panic!("{name}.toml loaded without problems"),
            Err(d) => d.to_string(),
        };
        insta::assert_snapshot!(format!("bad_{name}"), shown);
    }
}

#[test]
fn diagnostics_carry_positions() {
    let text = DEFAULT_PROCESS.replace("approvals = [\"qa\"]", "approvals = [\"qaa\"]");
    let d = load("sluice.toml", &text).unwrap_err();
    assert_eq!(d.0.len(), 1);
    let d = &d.0[0];
    assert_eq!(d.message, "unknown role `qaa`");
    assert_eq!(d.snippet, "\"qaa\"");
    assert_eq!(d.source_line, "approvals = [\"qaa\"]");
    assert_eq!(d.column, 14);
    assert!(d.hint.as_deref().unwrap().contains("did you mean `qa`?"));
}

#[test]
fn render_default_markdown() {
    let p = load("sluice.toml", DEFAULT_PROCESS).unwrap();
    insta::assert_snapshot!("render_default_markdown", render(&p, DocFormat::Markdown));
}

#[test]
fn render_default_text() {
    let p = load("sluice.toml", DEFAULT_PROCESS).unwrap();
    let text = render(&p, DocFormat::Text);
    assert!(!text.contains('`') && !text.contains("| ") && !text.contains("# "));
    insta::assert_snapshot!("render_default_text", text);
}

#[test]
fn render_minimal_process() {
    let p = load(
        "sluice.toml",
        r#"
[project]
name = "tiny"
key = "T1"
[kinds]
fix = { bump = "patch", section = "Fixed" }
[severities]
normal = {}
[[environments]]
name = "prod"
"#,
    )
    .unwrap();
    assert_eq!(p.cadence.timezone_name, "UTC");
    assert_eq!(p.project.tag, "v{version}");
    insta::assert_snapshot!("render_minimal_text", render(&p, DocFormat::Text));
}

#[test]
fn durations() {
    assert_eq!(parse_duration("2h30m").unwrap().as_secs(), 9000);
    assert_eq!(format_duration(parse_duration("90m").unwrap()), "1h30m");
    assert_eq!(format_duration(parse_duration("48h").unwrap()), "2d");
    assert!(parse_duration("0m").is_err());
    assert!(parse_duration("-5m").is_err());
    assert!(parse_duration("5").is_err());
}

proptest! {
    #[test]
    fn duration_round_trips(secs in 1i64..100_000_000) {
        let d = jiff::SignedDuration::from_secs(secs);
        let text = format_duration(d);
        prop_assert_eq!(parse_duration(&text).unwrap(), d);
        // The canonical form is a fixed point.
        prop_assert_eq!(format_duration(parse_duration(&text).unwrap()), text);
    }

    #[test]
    fn duration_parts_add_up(w in 0i64..50, d in 0i64..50, h in 0i64..50, m in 0i64..500, s in 0i64..500) {
        prop_assume!(w + d + h + m + s > 0);
        let mut text = String::new();
        for (n, u) in [(w, "w"), (d, "d"), (h, "h"), (m, "m"), (s, "s")] {
            if n > 0 { text.push_str(&format!("{n}{u}")); }
        }
        let want = (((w * 7 + d) * 24 + h) * 60 + m) * 60 + s;
        prop_assert_eq!(parse_duration(&text).unwrap().as_secs(), want);
    }
}

#[test]
fn events_are_listed() {
    assert!(process::EVENTS.contains(&"release.rolled_back"));
}

#[test]
fn webhooks_section_loads_and_shows() {
    let text = format!(
        "{DEFAULT_PROCESS}\n{}",
        r#"
[webhooks.github]
secret = "${GITHUB_WEBHOOK_SECRET}"
labels = ["bug"]
severity_labels = { "sev:critical" = "critical" }
kind_labels = { "security" = "security" }
workflows = { "CI" = { suite = "integration", env = "dev" } }

[webhooks.alertmanager]
token = "${ALERTMANAGER_WEBHOOK_TOKEN}"
env = "prod"
"#
    );
    let p = match load("sluice.toml", &text) {
        Ok(p) => p,
        Err(d) => panic!("{d}"),
    };
    let gh = p.webhooks.github.as_ref().unwrap();
    assert_eq!(gh.workflow("CI").unwrap().suite, "integration");
    assert!(gh.workflow("Other").is_none());
    let am = p.webhooks.alertmanager.as_ref().unwrap();
    assert_eq!(
        (
            am.env_label.as_str(),
            am.service_label.as_str(),
            am.env.as_deref()
        ),
        ("environment", "service", Some("prod"))
    );
    let doc = render(&p, DocFormat::Markdown);
    assert!(doc.contains("## Inbound webhooks"), "{doc}");
    assert!(doc.contains("`sev:critical` → critical"), "{doc}");
    assert!(
        doc.contains("workflow `CI` reports suite integration in dev"),
        "{doc}"
    );
}
