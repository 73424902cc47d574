//! `sluice metrics`: a scripted twelve-week history (tests/data/metrics) is
//! replayed through the application layer at its own times, in a real git
//! repository; the binary's `--json` answer must equal the figures worked
//! out by hand beside it, exactly, on both backends.

use std::path::Path;
use std::process::Command;

use jiff::Timestamp;
use serde_json::Value;
use sluice_app::App;
use sluice_core::decide::{IncidentInput, ReportInput, TriageInput};
use sluice_core::model::{Source, SourceKind, Target};

use crate::both;
use crate::harness::{ALICE, BOB, Backend, CAROL, DAVE, Repo};
use crate::http::Http;

fn data(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/metrics")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// JSON with `//` comment lines (the hand-worked figures' working).
fn jsonc(text: &str) -> Value {
    let body: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    serde_json::from_str(&body.join("\n")).expect("expected file is JSON once comments are gone")
}

/// Git in the repository, as Dave, with author and committer time `at`.
fn git(dir: &Path, at: &str, args: &[&str]) {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Dave")
        .env("GIT_AUTHOR_EMAIL", DAVE)
        .env("GIT_COMMITTER_NAME", "Dave")
        .env("GIT_COMMITTER_EMAIL", DAVE)
        .env("GIT_AUTHOR_DATE", at)
        .env("GIT_COMMITTER_DATE", at)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn s<'a>(step: &'a toml::Table, k: &str) -> &'a str {
    step.get(k)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("step {step:?} lacks {k}"))
}

/// Replays the history into the repository's database.
async fn replay(repo: &Repo) {
    let doc: toml::Table = data("history.toml").parse().unwrap();
    let dir = repo.path();
    std::fs::write(dir.join("sluice.toml"), doc["process"].as_str().unwrap()).unwrap();
    std::fs::write(dir.join(".gitignore"), "state/\n.sluice/\n*.log\n*.sh\n").unwrap();
    let t0 = "2026-02-01T09:00:00Z";
    git(dir, t0, &["init", "-q", "-b", "main"]);
    git(dir, t0, &["add", "-A"]);
    git(dir, t0, &["commit", "-q", "-m", "init"]);
    // A tag from before Sluice: the first release is 0.1.1.
    git(dir, t0, &["tag", "v0.1.0"]);
    let process = sluice_app::load_process(&dir.join("sluice.toml")).unwrap();
    let app = App::open(process, &repo.db_url, dir.to_path_buf())
        .await
        .unwrap();
    let mut commits = 0;
    for step in doc["step"].as_array().unwrap() {
        let step = step.as_table().unwrap();
        let at_s = s(step, "at");
        let at: Timestamp = at_s.parse().unwrap();
        let what = s(step, "do");
        let r = match what {
            "report" => {
                let p = app
                    .report_patch(
                        ALICE,
                        at,
                        ReportInput {
                            title: s(step, "title").into(),
                            description: None,
                            kind: None,
                            severity: None,
                            source: Some(Source {
                                kind: SourceKind::Bug,
                                reference: None,
                            }),
                            targets: vec![],
                        },
                    )
                    .await
                    .unwrap();
                app.triage_patch(
                    BOB,
                    at,
                    &p.key,
                    TriageInput {
                        severity: Some(s(step, "severity").into()),
                        kind: Some("fix".into()),
                        priority: None,
                        owner: Some(DAVE.into()),
                        targets: vec![Target::Main],
                    },
                )
                .await
                .map(|_| ())
            }
            "commit" => {
                // The fix, committed at its time on the patch's branch and
                // merged into main.
                let key = s(step, "patch");
                let p = app.show_patch(at, key).await.unwrap();
                // A reopened patch goes on on its branch.
                let branch = match p.patch.branch.clone() {
                    Some(b) => b,
                    None => app
                        .start_patch(DAVE, at, key)
                        .await
                        .unwrap()
                        .branch
                        .unwrap(),
                };
                git(dir, at_s, &["checkout", "-q", &branch]);
                commits += 1;
                std::fs::write(dir.join(format!("{key}.txt")), format!("fix {commits}\n")).unwrap();
                git(dir, at_s, &["add", "-A"]);
                git(
                    dir,
                    at_s,
                    &[
                        "commit",
                        "-q",
                        "-m",
                        &format!("fix: {key} attempt {commits}\n\nPatch: {key}"),
                    ],
                );
                git(dir, at_s, &["checkout", "-q", "main"]);
                git(
                    dir,
                    at_s,
                    &[
                        "merge",
                        "-q",
                        "--no-ff",
                        &branch,
                        "-m",
                        &format!("Merge {branch}"),
                    ],
                );
                Ok(())
            }
            "ready" => {
                let key = s(step, "patch");
                app.review_patch(DAVE, at, key, None, None).await.unwrap();
                app.review_patch(BOB, at, key, Some(true), None)
                    .await
                    .unwrap();
                app.ready_patch(DAVE, at, key).await.map(|_| ())
            }
            "cut" => app
                .cut_release(BOB, at, Target::Main, Default::default())
                .await
                .map(|_| ()),
            "promote" => app
                .promote(BOB, at, s(step, "version"), s(step, "env"), None)
                .await
                .map(|_| ()),
            "test" => app
                .report_test(
                    ALICE,
                    at,
                    s(step, "version"),
                    "test",
                    "regression",
                    true,
                    None,
                )
                .await
                .map(|_| ()),
            "approve" => app
                .approve(CAROL, at, s(step, "version"), "prod", None, false, None)
                .await
                .map(|_| ()),
            "rollback" => app
                .rollback(BOB, at, s(step, "env"), None)
                .await
                .map(|_| ()),
            "incident" => app
                .open_incident(
                    DAVE,
                    at,
                    IncidentInput {
                        env: s(step, "env").into(),
                        service: None,
                        title: s(step, "title").into(),
                        severity: Some(s(step, "severity").into()),
                        source: "manual".into(),
                        fingerprint: None,
                        url: None,
                    },
                )
                .await
                .map(|_| ()),
            "resolve" => app
                .resolve_incident(DAVE, at, step["incident"].as_integer().unwrap(), None)
                .await
                .map(|_| ()),
            other => panic!("unknown step {other}"),
        };
        if let Err(e) = r {
            panic!("step {what} at {at_s}: {e}");
        }
    }
    app.close().await;
}

fn metrics(repo: &Repo, args: &[&str]) -> Value {
    let mut all = vec!["metrics"];
    all.extend_from_slice(args);
    repo.json(BOB, &all)
}

fn golden(backend: Backend) {
    let repo = Repo::new(backend);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(replay(&repo));

    let got = metrics(
        &repo,
        &["--since", "2026-03-02", "--until", "2026-05-25T00:00:00Z"],
    );
    let want = jsonc(&data("expected.jsonc"));
    assert_eq!(
        got,
        want,
        "sluice metrics --json differs from the hand-worked figures:\n{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
    // A duration back from --until gives the same period.
    assert_eq!(
        metrics(&repo, &["--since", "12w", "--until", "2026-05-25"]),
        want
    );

    // No deployment in the period: rates are null, never a division by zero.
    let got = metrics(&repo, &["--since", "2026-02-01", "--until", "2026-03-01"]);
    let want = jsonc(&data("expected-empty.jsonc"));
    assert_eq!(got, want, "{}", serde_json::to_string_pretty(&got).unwrap());

    // The table is the same numbers for people.
    let out = repo.ok(
        BOB,
        &["metrics", "--since", "2026-03-02", "--until", "2026-05-25"],
    );
    for needle in [
        "6 deployments, 0.50/week (monthly)",
        "33.3% (2/6)",
        "median 20m, p90 28m (2 measured)",
        "waited on most: window 2d 15h",
    ] {
        assert!(
            out.stdout.contains(needle),
            "{needle:?} in:\n{}",
            out.stdout
        );
    }

    // Bad periods are refused with the way to write one.
    repo.error(
        BOB,
        &["metrics", "--since", "last tuesday"],
        &["since: `last tuesday` is not a time", "30d, 12w"],
    );
    repo.error(
        BOB,
        &["metrics", "--since", "2026-05-25", "--until", "2026-03-02"],
        &["must be before until"],
    );
    repo.error(
        BOB,
        &["metrics", "--env", "staging"],
        &["unknown environment `staging`"],
    );

    prometheus(&repo);
}

/// `GET /metrics` read by Prometheus's own Python client parser: the
/// families, their types and the values the history implies.
fn prometheus(repo: &Repo) {
    let served = repo.spawn_server(&[]);
    let http = Http::new(&served.url);
    let r = http.call("GET", "/metrics", None, None, &[]);
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.headers
    );
    let text = r.body.as_str().unwrap().to_string();
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    out[f.name] = {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]}
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/test provides it with prometheus-client)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "/metrics must parse with prometheus_client (scripts/test installs it): {}\n{text}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let value = |family: &str, sample: &str, labels: Value| -> f64 {
        v[family]["samples"]
            .as_array()
            .unwrap_or_else(|| panic!("family {family} in {v}"))
            .iter()
            .find(|s| s[0] == sample && s[1] == labels)
            .unwrap_or_else(|| panic!("{sample} {labels} in {}", v[family]))[2]
            .as_f64()
            .unwrap()
    };
    // The parser names counters without their _total suffix.
    assert_eq!(v["sluice_deployments"]["type"], "counter");
    let prod =
        |action: &str| serde_json::json!({"env": "prod", "action": action, "outcome": "succeeded"});
    assert_eq!(
        value(
            "sluice_deployments",
            "sluice_deployments_total",
            prod("rollback")
        ),
        3.0
    );
    assert_eq!(
        value(
            "sluice_deployments",
            "sluice_deployments_total",
            prod("deploy")
        ),
        6.0
    );
    assert_eq!(
        value(
            "sluice_incidents_opened",
            "sluice_incidents_opened_total",
            serde_json::json!({"env": "prod", "severity": "critical"})
        ),
        2.0
    );
    assert_eq!(v["sluice_patches_overdue"]["type"], "gauge");
    let minor = serde_json::json!({"severity": "minor"});
    assert_eq!(
        value(
            "sluice_patches_overdue",
            "sluice_patches_overdue",
            minor.clone()
        ),
        1.0
    );
    assert_eq!(
        value("sluice_patches_open", "sluice_patches_open", minor),
        1.0
    );
    assert_eq!(v["sluice_lead_time_for_changes_seconds"]["type"], "summary");
    assert_eq!(v["sluice_change_failure_ratio"]["type"], "gauge");
    drop(served);

    // With [server] metrics_token the scrape needs it.
    let path = repo.path().join("sluice.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{text}\n[server]\nmetrics_token = \"${{PROM_TOKEN}}\"\n"),
    )
    .unwrap();
    let served = repo.spawn_server(&[("PROM_TOKEN", "scrape-secret")]);
    let http = Http::new(&served.url);
    let r = http.call("GET", "/metrics", None, None, &[]);
    assert_eq!(r.status, 401, "{:?}", r.body);
    assert!(r.body.as_str().unwrap().contains("Authorization: Bearer"));
    let r = http.call("GET", "/metrics", Some("wrong"), None, &[]);
    assert_eq!(r.status, 401);
    let r = http.call("GET", "/metrics", Some("scrape-secret"), None, &[]);
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .as_str()
            .unwrap()
            .contains("sluice_deployments_total{")
    );
    drop(served);
    // The variable unset in the server's environment: nobody can scrape, and
    // the answer names what to set.
    let served = repo.spawn_server(&[]);
    let r = Http::new(&served.url).call("GET", "/metrics", Some("scrape-secret"), None, &[]);
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert!(
        r.body
            .as_str()
            .unwrap()
            .contains("environment variable PROM_TOKEN is not set"),
        "{:?}",
        r.body
    );
    drop(served);
    // A literal token is refused by the process check: it is a secret.
    std::fs::write(
        &path,
        format!("{text}\n[server]\nmetrics_token = \"hunter2\"\n"),
    )
    .unwrap();
    repo.error(BOB, &["check"], &["the metrics token is a credential"]);
    std::fs::write(&path, text).unwrap();
}

both!(golden_history, golden);
