//! The gates' refusals that need a process of their own: time rules, the
//! emergency lane, approvals voided by a content change, a failing deploy.

use crate::both;
use crate::harness::{ALICE, BOB, Backend, Proc, Repo, utc_days};

/// A repository whose release 0.1.0 (one `severity` fix) stands in test with
/// everything the gate into prod asks except time.
fn at_prod_gate(backend: Backend, p: &Proc, severity: &str) -> (Repo, String, String) {
    let repo = Repo::with(backend, p);
    let key = repo.ready_patch("Payment page crashes", "fix", severity, None);
    let v = repo.cut();
    repo.through_local(&v);
    repo.through_dev(&v);
    repo.through_test(&v);
    repo.prod_paperwork(&v);
    (repo, v, key)
}

fn closed_window() -> Proc {
    let (_, _, _, day) = utc_days();
    Proc {
        prod_windows: vec![format!("{day} 10:00-12:00")],
        ..Proc::default()
    }
}

both!(outside_the_window, outside_the_window);

fn outside_the_window(backend: Backend) {
    let p = closed_window();
    let (repo, v, _) = at_prod_gate(backend, &p, "major");
    let window = &p.prod_windows[0];
    let out = repo.refused(
        BOB,
        &["promote", &v, "--to", "prod"],
        &[
            "may not enter `prod` yet",
            "release windows",
            window.as_str(),
        ],
    );
    // Only time stands in the way.
    assert_eq!(
        out.stderr.lines().filter(|l| l.starts_with("  - ")).count(),
        1,
        "{out}"
    );
    assert_eq!(repo.holds("prod"), None);
    assert_eq!(repo.deploy_log(), ["0.1.0 dev", "0.1.0 test"]);
    // Nobody can meet a window: the wait is on no one and says when it opens, so
    // no one's inbox lists it.
    let page = repo.show(&v);
    let waiting = &page["next_gate"];
    assert_eq!(waiting["env"], "prod", "{page}");
    let unmet = waiting["unmet"].as_array().unwrap();
    assert_eq!(unmet.len(), 1, "{waiting}");
    assert_eq!(unmet[0]["responsible"], serde_json::json!([]), "{waiting}");
    assert_eq!(unmet[0]["action"]["kind"], "wait", "{waiting}");
    assert!(unmet[0]["action"]["at"].is_string(), "{waiting}");
    for who in [BOB, ALICE] {
        let inbox = repo.json(who, &["inbox"]);
        assert!(
            !inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["subject"] == v.as_str()),
            "{who}: {inbox}"
        );
    }
    // A major patch does not open the emergency lane.
    repo.ok(BOB, &["approve", &v, "--env", "prod", "--emergency"]);
    repo.refused(
        BOB,
        &[
            "promote",
            &v,
            "--to",
            "prod",
            "--emergency",
            "--reason",
            "impatient",
        ],
        &["a patch whose severity allows the emergency lane"],
    );
    assert_eq!(repo.holds("prod"), None);
}

both!(inside_a_freeze, inside_a_freeze);

fn inside_a_freeze(backend: Backend) {
    let (yesterday, _, tomorrow, _) = utc_days();
    let p = Proc {
        prod_freezes: vec![(yesterday.to_string(), tomorrow.to_string())],
        ..Proc::default()
    };
    let (repo, v, _) = at_prod_gate(backend, &p, "major");
    repo.refused(
        BOB,
        &["promote", &v, "--to", "prod"],
        &[
            "may not enter `prod` yet",
            "frozen",
            &yesterday.to_string(),
            &tomorrow.to_string(),
            "test freeze",
        ],
    );
    assert_eq!(repo.holds("prod"), None);
    // Once the freeze is lifted the same release goes in.
    repo.write_process(&Proc::default());
    repo.ok(BOB, &["promote", &v, "--to", "prod"]);
    assert_eq!(repo.holds("prod").as_deref(), Some("0.1.0"));
}

both!(emergency_lane, emergency_lane);

fn emergency_lane(backend: Backend) {
    let p = closed_window();
    let (repo, v, key) = at_prod_gate(backend, &p, "critical");
    repo.refused(BOB, &["promote", &v, "--to", "prod"], &["release windows"]);
    // The lane needs its own approval by dev_lead first.
    repo.refused(
        BOB,
        &[
            "promote",
            &v,
            "--to",
            "prod",
            "--emergency",
            "--reason",
            "checkout is down",
        ],
        &["emergency approval by `dev_lead` for `prod`"],
    );
    repo.ok(BOB, &["approve", &v, "--env", "prod", "--emergency"]);
    let out = repo.ok(
        BOB,
        &[
            "promote",
            &v,
            "--to",
            "prod",
            "--emergency",
            "--reason",
            "checkout is down",
        ],
    );
    assert!(out.stdout.contains("emergency lane"), "{out}");
    assert_eq!(repo.holds("prod").as_deref(), Some("0.1.0"));
    assert_eq!(repo.patch_status(&key), "released");
    assert_eq!(repo.deploy_log(), ["0.1.0 dev", "0.1.0 test", "0.1.0 prod"]);

    let shown = repo.show(&v);
    let follow_ups = shown["release"]["follow_ups"]
        .as_array()
        .unwrap_or_else(|| panic!("no follow_ups: {shown}"));
    let open: Vec<_> = follow_ups
        .iter()
        .filter(|f| f["closed_at"].is_null())
        .collect();
    assert_eq!(open.len(), 1, "one open follow-up: {shown}");
    assert_eq!(open[0]["env"], "prod", "{shown}");
    assert_eq!(open[0]["reason"], "checkout is down", "{shown}");
    let prod: Vec<_> = shown["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["env"] == "prod")
        .collect();
    assert_eq!(prod.len(), 1, "{shown}");
    assert_eq!(prod[0]["emergency"], true, "{shown}");
    assert_eq!(prod[0]["in_window"], false, "{shown}");
    assert_eq!(prod[0]["outcome"], "succeeded", "{shown}");
}

both!(stale_approval, stale_approval);

fn stale_approval(backend: Backend) {
    let repo = Repo::new(backend);
    let first = repo.fix("Search returns nothing");
    let v = repo.cut();
    repo.through_local(&v);
    repo.through_dev(&v);
    repo.ok(ALICE, &["approve", &v, "--env", "test"]);
    let before = repo.show(&v)["release"]["content_hash"].clone();

    let other = repo.fix("Search is slow");
    let amended = repo.json(BOB, &["release", "amend", &v, "--add", &other]);
    assert_eq!(
        amended["patches"],
        serde_json::json!([first, other]),
        "{amended}"
    );
    assert_ne!(amended["content_hash"], before, "{amended}");

    repo.refused(
        BOB,
        &["promote", &v, "--to", "test"],
        &[
            "approval by `qa` for `test` (0 of 1)",
            "void",
            "suite `unit` passed in `dev` (earlier results void: the release content changed since)",
        ],
    );
    assert_eq!(repo.holds("test"), None);
    // Test results are bound to the content as approvals are: the new content is tested
    // again, and a fresh approval of it opens the gate.
    repo.pass(&v, "dev", "unit");
    repo.pass(&v, "dev", "integration");
    repo.ok(ALICE, &["approve", &v, "--env", "test"]);
    repo.ok(BOB, &["promote", &v, "--to", "test"]);
    assert_eq!(repo.holds("test").as_deref(), Some("0.1.0"));
}

both!(failed_deploy, failed_deploy);

fn failed_deploy(backend: Backend) {
    let repo = Repo::with(
        backend,
        &Proc {
            dev_deployer: "./fail.sh".into(),
            ..Proc::default()
        },
    );
    repo.fix("Login loops");
    let v = repo.cut();
    repo.through_local(&v);
    // A failure, not a refusal: exit 1, said as what happened, with the output.
    let o = repo.run(BOB, &["promote", &v, "--to", "dev"]);
    assert_eq!(o.code, 1, "{o}");
    assert!(
        o.stderr.starts_with(
            "failed: deploying 0.1.0 to `dev` failed with exit status 3; 0.1.0 stays where it was"
        ),
        "{o}"
    );
    assert!(
        o.stderr
            .contains("    boom: cannot reach the host for 0.1.0 dev"),
        "{o}"
    );
    assert_eq!(repo.holds("dev"), None);
    assert_eq!(repo.holds("local").as_deref(), Some("0.1.0"));
    let shown = repo.show(&v);
    assert_eq!(
        shown["release"]["reached"],
        serde_json::json!(["local"]),
        "{shown}"
    );
    assert!(
        shown["release"]["in_flight"].is_null(),
        "the failed promotion must not stay in flight: {shown}"
    );
    let dev: Vec<_> = shown["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["env"] == "dev")
        .collect();
    assert_eq!(dev.len(), 1, "{shown}");
    assert_eq!(dev[0]["outcome"], "failed", "{shown}");
    assert_eq!(dev[0]["exit_code"], 3, "{shown}");
    // Tests cannot be reported for an environment the release never entered.
    repo.refused(
        ALICE,
        &[
            "test", "report", &v, "--env", "dev", "--suite", "unit", "--pass",
        ],
        &["has not entered `dev`"],
    );

    // With a working deploy command the same release goes in.
    repo.write_process(&Proc::default());
    repo.ok(BOB, &["promote", &v, "--to", "dev"]);
    assert_eq!(repo.holds("dev").as_deref(), Some("0.1.0"));
    assert_eq!(repo.deploy_log(), ["0.1.0 dev"]);
    repo.ok(BOB, &["audit", "verify"]);
}

/// However often CI reports, a release keeps the last 20 runs of a suite in an
/// environment (the latest counts); every run stays in the audit log.
#[test]
fn test_history_is_bounded_on_the_release() {
    let repo = Repo::new(Backend::Sqlite);
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.ok(crate::harness::BOB, &["promote", &v, "--to", "local"]);
    for i in 0..24 {
        let verdict = if i == 23 { "--fail" } else { "--pass" };
        repo.ok(
            crate::harness::ALICE,
            &[
                "test", "report", &v, "--env", "local", "--suite", "unit", verdict,
            ],
        );
    }
    let shown = repo.json(crate::harness::BOB, &["release", "show", &v]);
    let runs = shown["release"]["tests"].as_array().unwrap();
    assert_eq!(runs.len(), 20, "{shown}");
    assert_eq!(runs.last().unwrap()["passed"], false, "the latest is kept");
    let audit = repo.json(crate::harness::BOB, &["audit", "--subject", &v]);
    let events = audit
        .as_array()
        .or_else(|| audit["events"].as_array())
        .unwrap_or_else(|| panic!("{audit}"));
    let reported = events
        .iter()
        .filter(|e| e["kind"] == "release.test_reported")
        .count();
    assert_eq!(reported, 24, "every run is in the audit log");
    // The failed latest run closes the gate into dev.
    repo.refused(
        crate::harness::BOB,
        &["promote", &v, "--to", "dev"],
        &["latest result failed"],
    );
}

both!(
    the_inbox_lists_what_each_user_can_do,
    the_inbox_lists_what_each_user_can_do
);

/// `sluice inbox` and the Inbox page: each user sees exactly what their roles
/// let them do now, with the command, and nothing they may not do.
fn the_inbox_lists_what_each_user_can_do(backend: Backend) {
    use crate::harness::{ALICE, BOB, CAROL, DAVE};
    let mut repo = Repo::new(backend);
    let _ = repo.fix("Checkout total is wrong");
    let v = repo.cut();
    // Bob (release_manager) may promote the fresh release into local.
    let bob = repo.json(BOB, &["inbox"]);
    let items = bob["items"].as_array().unwrap();
    assert!(
        items.iter().any(|i| i["kind"] == "promote"
            && i["command"] == format!("sluice promote {v} --to local").as_str()),
        "{bob}"
    );
    repo.ok(BOB, &["promote", &v, "--to", "local"]);
    // Now the unit suite in local is missing: qa's (Alice and Dave), not Carol's.
    let alice = repo.json(ALICE, &["inbox"]);
    let test: Vec<&serde_json::Value> = alice["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "test")
        .collect();
    assert_eq!(test.len(), 1, "{alice}");
    assert_eq!(
        test[0]["command"],
        format!("sluice test report {v} --env local --suite unit --pass").as_str()
    );
    let carol = repo.ok(CAROL, &["inbox"]);
    assert!(
        carol
            .stdout
            .starts_with("nothing waits on carol@example.com (product_owner)"),
        "{}",
        carol.stdout
    );
    // A patch asking for review is the reviewers' (dev_lead: Bob), not its maker's.
    let key = {
        let p = repo.json(ALICE, &["patch", "report", "Cart badge lags"]);
        p["key"].as_str().unwrap().to_string()
    };
    repo.ok(
        BOB,
        &[
            "patch",
            "triage",
            &key,
            "--severity",
            "minor",
            "--kind",
            "fix",
            "--owner",
            DAVE,
        ],
    );
    repo.ok(DAVE, &["patch", "start", &key]);
    repo.ok(DAVE, &["patch", "review", &key]);
    let bob = repo.ok(BOB, &["inbox"]);
    assert!(
        bob.stdout
            .contains(&format!("sluice patch review {key} --approve")),
        "{}",
        bob.stdout
    );
    let dave = repo.ok(DAVE, &["inbox"]);
    assert!(!dave.stdout.contains("patch review"), "{}", dave.stdout);
    // The same list on the Inbox page, for the signed-in user.
    repo.serve();
    let http = crate::http::Http::new(&repo.server.as_ref().unwrap().url);
    let api = http.get("/api/v1/inbox", &repo.token(ALICE));
    assert_eq!(api.status, 200, "{api:?}");
    assert_eq!(api.body["user"], ALICE);
    assert_eq!(api.body["items"], alice["items"], "{api:?}");
}

/// The release's latest deployment, as `release show` gives it.
fn last_deployment(repo: &Repo, v: &str) -> serde_json::Value {
    let shown = repo.show(v);
    shown["deployments"]
        .as_array()
        .and_then(|d| d.last())
        .cloned()
        .unwrap_or_else(|| panic!("{v} has no deployment: {shown}"))
}

/// A release in local whose deploy into dev runs `script` (as `./slow.sh`).
fn in_local_with_dev_deployer(script: &str) -> (Repo, String) {
    let repo = Repo::with(
        Backend::Sqlite,
        &Proc {
            dev_deployer: "./slow.sh".into(),
            ..Proc::default()
        },
    );
    std::fs::write(repo.path().join("slow.sh"), script).unwrap();
    repo.fix("Login loops");
    let v = repo.cut();
    repo.through_local(&v);
    (repo, v)
}

/// A deploy that outruns its `deploy_timeout` is stopped and reported as a
/// failed deployment, with the timeout and what it printed, not as a refusal;
/// the record says timed out.
#[test]
fn a_timed_out_deploy_is_a_failure_with_its_timeout() {
    let (repo, v) =
        in_local_with_dev_deployer("#!/bin/sh\necho \"starting $1\"\nsleep 5\necho never\n");
    let path = repo.path().join("sluice.toml");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "name = \"dev\"\n",
        "name = \"dev\"\ndeploy_timeout = \"1s\"\n",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let o = repo.run(BOB, &["promote", &v, "--to", "dev"]);
    assert_eq!(o.code, 1, "{o}");
    assert!(o.stderr.starts_with("failed: deploying"), "{o}");
    assert!(
        o.stderr
            .contains("timed out: still running after the deploy_timeout of 1s, so it was stopped"),
        "{o}"
    );
    assert!(o.stderr.contains("    starting 0.1.0"), "{o}");
    let last = last_deployment(&repo, &v);
    assert_eq!(last["outcome"], "timed_out", "{last}");
}

/// `promote --follow` prints the deploy command's output on stderr while it runs: the
/// command here waits, bounded, for a file this test writes only once it has read the
/// first line, so the test passes only if that line came before the command ended.
/// The deployment still records the whole tail.
#[test]
fn promote_follow_streams_the_deploy_output_as_it_runs() {
    use std::io::{BufRead, BufReader};
    let (repo, v) = in_local_with_dev_deployer(
        "#!/bin/sh\necho \"step one $1\"\ni=0\nwhile [ ! -f go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\necho \"step two\"\n",
    );
    let mut child = repo
        .command(Some(BOB), &["promote", &v, "--to", "dev", "--follow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        seen.push(line.clone());
        if line.starts_with("step one") {
            std::fs::write(repo.path().join("go"), "").unwrap();
            break;
        }
        line.clear();
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{seen:?}{rest}");
    assert!(
        repo.path().join("go").exists(),
        "step one never came: {seen:?}"
    );
    assert!(rest.contains("step two"), "{rest}");
    assert!(stdout.contains("entered `dev`"), "{stdout}");
    assert!(
        !stdout.contains("step one"),
        "the output is not printed a second time: {stdout}"
    );
    let last = last_deployment(&repo, &v);
    let tail = last["output"].as_str().unwrap_or_default();
    assert!(
        tail.contains("step one") && tail.contains("step two"),
        "{last}"
    );
}
