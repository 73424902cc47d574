//! What a careless or hostile process file, a closed pipe or a token holder
//! with no role could do to the command line and the server: no panic, no
//! file outside the repository, no half-recorded release, no dirty checkout.

use std::process::{Command, Stdio};

use crate::both;
use crate::harness::{ALICE, BOB, Backend, DAVE, Proc, Repo};
use crate::http::Http;

fn git(repo: &Repo, args: &[&str]) -> String {
    git_as(repo, ("Dave", DAVE), args)
}

/// Git run in the repository with `who` as author and committer.
fn git_as(repo: &Repo, who: (&str, &str), args: &[&str]) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(repo.path())
        .env("GIT_AUTHOR_NAME", who.0)
        .env("GIT_AUTHOR_EMAIL", who.1)
        .env("GIT_COMMITTER_NAME", who.0)
        .env("GIT_COMMITTER_EMAIL", who.1)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A reported patch, triaged by Bob as a major fix owned by Dave.
fn triaged_fix(repo: &Repo, title: &str) -> String {
    let p = repo.json(
        ALICE,
        &[
            "patch", "report", title, "--source", "bug", "--ref", "BUG-1",
        ],
    );
    let key = p["key"].as_str().unwrap().to_string();
    repo.ok(
        BOB,
        &[
            "patch",
            "triage",
            &key,
            "--severity",
            "major",
            "--kind",
            "fix",
            "--owner",
            DAVE,
        ],
    );
    key
}

/// Makes the repository a git repository with one commit on `main`.
fn git_init(repo: &Repo) {
    std::fs::write(repo.path().join(".gitignore"), "state/\n*.log\n").unwrap();
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "init"]);
}

/// A fix carried through git: its branch, a commit, review, merged into main.
fn git_fix(repo: &Repo, title: &str) -> String {
    let key = triaged_fix(repo, title);
    let p = repo.json(DAVE, &["patch", "start", &key]);
    let branch = p["branch"].as_str().unwrap().to_string();
    std::fs::write(repo.path().join(format!("{key}.txt")), title).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", &format!("fix: {title}")]);
    repo.ok(BOB, &["patch", "review", &key, "--approve"]);
    repo.ok(DAVE, &["patch", "ready", &key]);
    git(repo, &["checkout", "-q", "main"]);
    git(
        repo,
        &[
            "merge",
            "-q",
            "--no-ff",
            &branch,
            "-m",
            &format!("Merge {branch}"),
        ],
    );
    key
}

fn replace_in_process(repo: &Repo, from: &str, to: &str) {
    let path = repo.path().join("sluice.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "the process file holds {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn huge_values_are_refused_by_the_loader_without_a_panic() {
    let repo = Repo::new(Backend::Sqlite);
    // A role member of 70,000 characters: refused with its line, exit 2.
    let long = "m".repeat(70_000);
    replace_in_process(
        &repo,
        "qa = [\"alice@example.com\"",
        &format!("qa = [\"{long}\", \"alice@example.com\""),
    );
    for args in [&["check"][..], &["process", "show"]] {
        let o = repo.run(BOB, args);
        assert_eq!(o.code, 2, "{o}");
        assert!(o.stderr.contains("70000 characters"), "{o}");
        assert!(o.stderr.contains("sluice.toml:"), "names the line: {o}");
        assert!(!o.stderr.contains("panicked"), "{o}");
    }
    replace_in_process(&repo, &format!("\"{long}\", "), "");
    // A time zone of 100,000 characters: refused at once.
    let tz = "Z".repeat(100_000);
    replace_in_process(&repo, "timezone = \"UTC\"", &format!("timezone = \"{tz}\""));
    // Refused by the size bound, before any spelling suggestion is looked for.
    let o = repo.run(BOB, &["check"]);
    assert_eq!(o.code, 2, "{o}");
    assert!(o.stderr.contains("100000 characters"), "{o}");
    assert!(!o.stderr.contains("did you mean"), "{o}");
}

#[test]
fn a_long_cell_is_cut_not_a_panic() {
    let repo = Repo::new(Backend::Sqlite);
    // A patch title far past what a table lays out (65,535).
    let title = "t".repeat(70_000);
    let o = repo.run(
        ALICE,
        &[
            "patch", "report", &title, "--source", "bug", "--ref", "BUG-1",
        ],
    );
    assert_eq!(o.code, 0, "{o}");
    let o = repo.run(BOB, &["patch", "list"]);
    assert_eq!(o.code, 0, "{o}");
    assert!(
        o.stdout.contains("more characters; --json shows all"),
        "{o}"
    );
    let full = repo.json(BOB, &["patch", "list"]);
    assert!(full.to_string().contains(&title), "JSON keeps all of it");
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let repo = Repo::new(Backend::Sqlite);
    for i in 0..30 {
        repo.fix(&format!("Bug number {i}"));
    }
    for args in [&["audit"][..], &["patch", "list"], &["process", "show"]] {
        let mut child = repo
            .command(Some(BOB), args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader takes nothing and goes away, like `| head -0`.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // And through a real `head -1`.
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "set -o pipefail 2>/dev/null; '{}' --as {BOB} audit | head -1 >/dev/null; echo \"$?\"",
            env!("CARGO_BIN_EXE_sluice")
        ))
        .current_dir(repo.path())
        .env("SLUICE_DATABASE_URL", &repo.db_url)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn paths_of_the_process_file_stay_in_the_repository() {
    let repo = Repo::new(Backend::Sqlite);
    let text = std::fs::read_to_string(repo.path().join("sluice.toml")).unwrap();
    for (table, line) in [
        ("notes", "markdown = \"../../../../etc/hostname\""),
        ("notes", "html = \"/etc/hostname\""),
        ("changelog", "file = \"../x\""),
        ("changelog", "file = \"docs/../../x\""),
        ("messages", "text = \"../secret.j2\""),
    ] {
        std::fs::write(
            repo.path().join("sluice.toml"),
            format!("{text}\n[{table}]\n{line}\n"),
        )
        .unwrap();
        let o = repo.run(BOB, &["check"]);
        assert_eq!(o.code, 2, "[{table}] {line}: {o}");
        assert!(o.stderr.contains("leaves the repository"), "{o}");
        assert!(o.stderr.contains("sluice.toml:"), "names the line: {o}");
    }
    // A symbolic link inside the repository that leads out is refused where
    // it is read, and a cut checks it before it records anything.
    std::fs::write(
        repo.path().join("sluice.toml"),
        format!("{text}\n[changelog]\nfile = \"docs/CHANGES.md\"\n"),
    )
    .unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("docs")).unwrap();
    git_init(&repo);
    repo.ok(BOB, &["check"]);
    git_fix(&repo, "Broken footer");
    let o = repo.run(BOB, &["release", "cut"]);
    assert_eq!(o.code, 2, "{o}");
    assert!(o.stderr.contains("out of the repository"), "{o}");
    let o = repo.run(BOB, &["release", "show", "0.1.0"]);
    assert_eq!(o.code, 2, "nothing recorded: {o}");
    assert_eq!(git(&repo, &["tag"]), "");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

/// Editing notes through the server leaves the server's checkout clean: the
/// changelog change is a commit of its own.
fn notes_edit_keeps_the_checkout_clean(backend: Backend) {
    let mut repo = Repo::new(backend);
    git_init(&repo);
    git_fix(&repo, "Checkout total is wrong");
    let v = repo.cut();
    repo.serve();
    let http = Http::new(&repo.server.as_ref().unwrap().url);
    let r = http.call(
        "PUT",
        &format!("/api/v1/releases/{v}/notes"),
        Some(&repo.token(BOB)),
        Some(&serde_json::json!({"text": "### Fixed\n\n- The checkout total, edited by hand\n"})),
        &[],
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    let last = git(&repo, &["log", "-1", "--format=%s"]);
    assert!(last.contains(&format!("edited notes of {v}")), "{last}");
    let changelog = std::fs::read_to_string(repo.path().join("CHANGELOG.md")).unwrap();
    assert!(changelog.contains("edited by hand"), "{changelog}");
    // And work goes on: a new patch can start.
    git_fix(&repo, "Another bug");
    // A token holder with no role may not edit them.
    let r = http.call(
        "PUT",
        &format!("/api/v1/releases/{v}/notes"),
        Some(&repo.token("nobody@example.com")),
        Some(&serde_json::json!({"text": "pwned"})),
        &[],
    );
    assert_eq!((r.status, r.code()), (409, "refused"), "{:?}", r.body);
}
both!(
    notes_edit_keeps_the_checkout_clean_on,
    notes_edit_keeps_the_checkout_clean
);

#[test]
fn notes_belong_to_a_role_even_when_communicate_names_none() {
    let repo = Repo::new(Backend::Sqlite);
    replace_in_process(&repo, "communicate = \"release_manager\"\n", "");
    replace_in_process(&repo, "release = \"release_manager\"\n", "");
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    std::fs::write(repo.path().join("notes.md"), "pwned\n").unwrap();
    let o = repo.run(
        "nobody@example.com",
        &["release", "notes", &v, "--from", "notes.md"],
    );
    assert_ne!(o.code, 0, "{o}");
    assert!(o.stderr.contains("holds none"), "{o}");
}

fn flush_and_retry_belong_to_communicate(backend: Backend) {
    let repo = Repo::remote(backend);
    for who in [ALICE, DAVE, "nobody@example.com"] {
        let o = repo.run(who, &["notify", "flush"]);
        assert_eq!(o.code, 1, "{who}: {o}");
        assert!(o.stderr.contains("release_manager"), "{o}");
        let o = repo.run(who, &["notify", "retry", "no-such-id"]);
        assert_eq!(o.code, 1, "{who}: {o}");
    }
    repo.ok(BOB, &["notify", "flush"]);
}
both!(
    flush_and_retry_belong_to_communicate_on,
    flush_and_retry_belong_to_communicate
);

/// Whether any process on this machine still carries deployment `id`'s marker.
fn leftovers_of(id: &str) -> Vec<u32> {
    let marker = format!("SLUICE_DEPLOYMENT={id}");
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(env) = std::fs::read(e.path().join("environ"))
            && env.split(|b| *b == 0).any(|v| v == marker.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// `kill -9` of a server during a long deploy: its deploy dies with it, the
/// restarted server records it as failed with the reason, and the next
/// deploy into the environment never overlaps it.
fn deploy_dies_with_its_server(backend: Backend) {
    let mut repo = Repo::with(
        backend,
        &Proc {
            dev_deployer: "./long.sh".into(),
            ..Proc::default()
        },
    );
    // The first run takes 8 s, far past its 3 s timeout; later runs are quick.
    let script = repo.path().join("long.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"start $$ $SLUICE_DEPLOYMENT\" >> deploy.log\n\
         if [ ! -e first.ran ]; then touch first.ran; sleep 8; fi\n\
         echo \"done $$ $SLUICE_DEPLOYMENT\" >> deploy.log\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    replace_in_process(
        &repo,
        "deploy = \"./long.sh {version} dev\"",
        "deploy = \"./long.sh {version} dev\"\ndeploy_timeout = \"3s\"",
    );
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.through_local(&v);
    repo.serve();
    let log_path = repo.path().join("deploy.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    // The first promotion, over HTTP with an Idempotency-Key.
    let key = "promote-once-7f3a";
    let body = serde_json::json!({"to": "dev"});
    let promote = {
        let (url, token, v, body) = (
            repo.server.as_ref().unwrap().url.clone(),
            repo.token(BOB),
            v.clone(),
            body.clone(),
        );
        move || {
            Http::new(&url).call(
                "POST",
                &format!("/api/v1/releases/{v}/promotions"),
                Some(&token),
                Some(&body),
                &[("idempotency-key", key)],
            )
        }
    };
    // The answer never comes: the server dies first (the thread's panic is expected).
    let first = std::thread::spawn(move || {
        let _ = std::panic::catch_unwind(promote);
    });
    let mut started = String::new();
    for _ in 0..200 {
        started = log();
        if started.contains("start") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let id = started
        .split_whitespace()
        .nth(2)
        .unwrap_or_else(|| panic!("the first deploy started: {started:?}"))
        .to_string();
    assert!(!leftovers_of(&id).is_empty(), "the deploy runs");
    repo.server.as_mut().unwrap().crash();
    let _ = first.join();

    // The restarted server ends it: nothing of it runs any more, and its row
    // is failed with the reason (bounded wait: the server checks at start).
    repo.serve();
    let mut deployments = serde_json::Value::Null;
    for _ in 0..100 {
        deployments = repo.show(&v)["deployments"].clone();
        if deployments
            .to_string()
            .contains("stopped before it finished")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let first_row = deployments
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("the first deployment is listed: {deployments}"));
    assert_eq!(first_row["outcome"], "failed", "{first_row}");
    assert!(
        first_row["output"]
            .as_str()
            .unwrap_or("")
            .contains("stopped before it finished"),
        "{first_row}"
    );
    assert_eq!(
        leftovers_of(&id),
        Vec::<u32>::new(),
        "the first deploy was killed"
    );

    // The same request again: while the dead server's claim is within its
    // lease it is in progress; then, since its write committed (the promotion
    // was recorded as started), it is answered as committed, never run again.
    let http = Http::new(&repo.server.as_ref().unwrap().url);
    let token = repo.token(BOB);
    let again = || {
        http.call(
            "POST",
            &format!("/api/v1/releases/{v}/promotions"),
            Some(&token),
            Some(&body),
            &[("idempotency-key", key)],
        )
    };
    let mut answer = again();
    for _ in 0..250 {
        if answer.status != 409 {
            break;
        }
        assert_eq!(answer.code(), "idempotency_in_progress", "{answer:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
        answer = again();
    }
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["committed"], true, "{answer:?}");
    assert_eq!(
        log().matches("start").count(),
        1,
        "not deployed again: {}",
        log()
    );

    // The next deploy runs alone and succeeds; the first never finishes.
    repo.ok(BOB, &["promote", &v, "--to", "dev"]);
    std::thread::sleep(std::time::Duration::from_secs(9));
    let lines = log();
    assert_eq!(lines.matches("done").count(), 1, "{lines}");
    assert!(
        !lines
            .lines()
            .any(|l| l.starts_with("done") && l.ends_with(&id)),
        "the first deploy never finished: {lines}"
    );
    assert_eq!(repo.holds("dev").as_deref(), Some(v.as_str()));
    let rows = repo.show(&v)["deployments"].clone();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|d| d["outcome"] != "running"),
        "no deployment is left running: {rows}"
    );
}
both!(deploy_dies_with_its_server_on, deploy_dies_with_its_server);

/// Two deployments into one environment never overlap: while one runs, the
/// next is refused with who runs what.
#[test]
fn one_deployment_at_a_time_per_environment() {
    let mut repo = Repo::with(
        Backend::Sqlite,
        &Proc {
            dev_deployer: "./long.sh".into(),
            ..Proc::default()
        },
    );
    let script = repo.path().join("long.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"$*\" >> started.log\nsleep 3\necho \"deployed $*\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    repo.fix("Checkout total is wrong");
    let v1 = repo.cut();
    repo.through_local(&v1);
    repo.fix("Search is slow");
    let v2 = repo.cut();
    repo.through_local(&v2);
    repo.serve();
    let mut first = repo
        .command(Some(BOB), &["promote", &v1, "--to", "dev"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Once the first deploy runs, the second is refused.
    for _ in 0..200 {
        if repo.path().join("started.log").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let o = repo.run(BOB, &["promote", &v2, "--to", "dev"]);
    assert_eq!(o.code, 1, "the second deploy was refused: {o}");
    assert!(o.stderr.contains("is running"), "{o}");
    assert!(o.stderr.contains(&format!("deploy {v1} into `dev`")), "{o}");
    assert!(first.wait().unwrap().success());
    repo.ok(BOB, &["promote", &v2, "--to", "dev"]);
    assert_eq!(repo.holds("dev").as_deref(), Some(v2.as_str()));
}

/// Deploy commands get only the variables the environment passes.
#[test]
fn deploy_commands_get_only_the_variables_they_are_given() {
    let repo = Repo::with(
        Backend::Sqlite,
        &Proc {
            dev_deployer: "./env.sh".into(),
            ..Proc::default()
        },
    );
    let script = repo.path().join("env.sh");
    std::fs::write(&script, "#!/bin/sh\nenv | sort > env.out\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    replace_in_process(
        &repo,
        "deploy = \"./env.sh {version} dev\"",
        "deploy = \"./env.sh {version} dev\"\nenv = [\"DEPLOY_REGION\"]",
    );
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.through_local(&v);
    let o = repo
        .command(Some(BOB), &["promote", &v, "--to", "dev"])
        .env("DEPLOY_REGION", "eu-west")
        .env("SECRET_TOKEN", "s3cr3t")
        .env("SLUICE_TOKEN", "sl_abc")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let env = std::fs::read_to_string(repo.path().join("env.out")).unwrap();
    assert!(env.contains("DEPLOY_REGION=eu-west"), "{env}");
    assert!(env.contains(&format!("SLUICE_VERSION={v}")), "{env}");
    assert!(env.contains("SLUICE_DEPLOYMENT=D"), "{env}");
    assert!(env.contains("PATH="), "{env}");
    for secret in ["s3cr3t", "sl_abc", "SLUICE_DATABASE_URL", "SECRET_TOKEN"] {
        assert!(!env.contains(secret), "{secret} leaked: {env}");
    }
    // Sluice's own variables cannot be passed, nor malformed names.
    for bad in ["\"SLUICE_TOKEN\"", "\"A-B\""] {
        let text = std::fs::read_to_string(repo.path().join("sluice.toml")).unwrap();
        std::fs::write(
            repo.path().join("sluice.toml"),
            text.replace("env = [\"DEPLOY_REGION\"]", &format!("env = [{bad}]")),
        )
        .unwrap();
        let o = repo.run(BOB, &["check"]);
        assert_eq!(o.code, 2, "{bad}: {o}");
        let text = std::fs::read_to_string(repo.path().join("sluice.toml")).unwrap();
        std::fs::write(
            repo.path().join("sluice.toml"),
            text.replace(&format!("env = [{bad}]"), "env = [\"DEPLOY_REGION\"]"),
        )
        .unwrap();
    }
}

/// Separation of duties: with `author_may_approve = false`, neither the
/// patch's owner, nor whoever started it, nor an author of its commits may
/// review it.
#[test]
fn starters_and_commit_authors_may_not_review() {
    let repo = Repo::new(Backend::Sqlite);
    replace_in_process(
        &repo,
        "dev_lead = [\"bob@example.com\"]",
        "dev_lead = [\"bob@example.com\", \"carol@example.com\", \"erin@example.com\"]",
    );
    git_init(&repo);
    let key = triaged_fix(&repo, "Cart empties");
    // Bob starts it for Dave; Carol writes a commit on its branch.
    repo.ok(BOB, &["patch", "start", &key]);
    std::fs::write(repo.path().join("cart.txt"), "fixed").unwrap();
    git(&repo, &["add", "-A"]);
    git_as(
        &repo,
        ("Carol", crate::harness::CAROL),
        &["commit", "-q", "-m", "fix: keep the cart"],
    );
    let o = repo.run(BOB, &["patch", "review", &key, "--approve"]);
    assert_eq!(o.code, 1, "{o}");
    assert!(o.stderr.contains("they started it"), "{o}");
    let o = repo.run(
        crate::harness::CAROL,
        &["patch", "review", &key, "--approve"],
    );
    assert_eq!(o.code, 1, "{o}");
    assert!(o.stderr.contains("wrote commits on its branch"), "{o}");
    // Someone who neither wrote nor started it may.
    repo.ok("erin@example.com", &["patch", "review", &key, "--approve"]);
    repo.ok(DAVE, &["patch", "ready", &key]);
}

fn sql(repo: &Repo, backend: Backend, sql: &str) {
    match backend {
        Backend::Sqlite => {
            let o = Command::new("sqlite3")
                .arg(repo.sqlite_file())
                .arg(sql)
                .output()
                .expect("sqlite3 must be installed");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        Backend::Postgres => crate::harness::psql_ok(&repo.db_url, sql),
    }
}

/// Deleting the tail of the log and rewinding `chain_head` verifies as
/// intact in the database alone; git, which witnessed the heads (anchors and
/// evidence notes), shows it.
fn audit_chain_is_anchored_in_git(backend: Backend) {
    let repo = Repo::new(backend);
    git_init(&repo);
    git_fix(&repo, "Checkout total is wrong");
    repo.cut();
    // The evidence note of the release holds the head at its writing.
    let tag_commit = git(&repo, &["rev-parse", "v0.1.0^{commit}"]);
    let evidence = git(
        &repo,
        &["notes", "--ref", "sluice", "show", tag_commit.trim()],
    );
    assert!(evidence.contains("\"audit_head\""), "{evidence}");
    let o = repo.ok(BOB, &["audit", "anchor"]);
    assert!(
        o.stdout.contains("anchored the audit chain at event"),
        "{o}"
    );
    let o = repo.ok(BOB, &["audit", "anchor"]);
    assert!(o.stdout.contains("anchored on this commit already"), "{o}");
    git_fix(&repo, "Search is slow");
    repo.ok(BOB, &["audit", "anchor"]);
    let witnessed = repo.json(BOB, &["audit", "verify", "--against-git"]);
    assert_eq!(witnessed["ok"], true, "{witnessed}");
    let heads = witnessed["anchors"].as_array().unwrap();
    assert!(
        heads.len() >= 3,
        "two anchors and an evidence note: {witnessed}"
    );
    let last = heads
        .iter()
        .map(|a| a["anchor"]["seq"].as_i64().unwrap())
        .max()
        .unwrap();

    // A database administrator removes the last events and rewinds the head.
    let keep = last - 3;
    sql(
        &repo,
        backend,
        &format!(
            "DELETE FROM outbox WHERE event_seq > {keep}; DELETE FROM events WHERE seq > {keep}; \
             UPDATE chain_head SET seq = {keep}, hash = (SELECT hash FROM events WHERE seq = {keep}) WHERE id = 1;"
        ),
    );
    // The database alone cannot tell.
    repo.ok(BOB, &["audit", "verify"]);
    // Git can.
    let o = repo.run(BOB, &["audit", "verify", "--against-git"]);
    assert_eq!(o.code, 1, "{o}");
    assert!(o.stderr.contains("does not agree with git"), "{o}");
    assert!(
        o.stderr.contains(&format!("git witnessed event {last}")),
        "{o}"
    );
    assert!(o.stderr.contains("events were removed"), "{o}");
}
both!(
    audit_chain_is_anchored_in_git_on,
    audit_chain_is_anchored_in_git
);

/// In a git repository with no commit yet nothing can branch or be tagged:
/// `init` says so, and `patch start` and `release cut` refuse with the first
/// commit as the way on, instead of printing a branch that was never made.
#[test]
fn an_empty_repository_says_what_to_do() {
    let repo = Repo::new(Backend::Sqlite);
    std::fs::write(repo.path().join(".gitignore"), "state/\n*.log\n").unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let init = repo.ok(BOB, &["init", "--force"]);
    assert!(
        init.stdout
            .contains("this git repository has no commit yet"),
        "{}",
        init.stdout
    );
    // The harness's own process file again (init wrote the default one).
    repo.write_process(&crate::harness::Proc::default());
    let key = triaged_fix(&repo, "Checkout total is wrong");
    repo.refused(
        DAVE,
        &["patch", "start", &key],
        &["has no commit yet", "git commit"],
    );
    repo.refused(
        BOB,
        &["release", "cut"],
        &["no release can be cut", "has no commit yet"],
    );
    // After the first commit, it starts on a real branch.
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "Adopt Sluice"]);
    let p = repo.json(DAVE, &["patch", "start", &key]);
    let branch = p["branch"].as_str().unwrap();
    git(&repo, &["rev-parse", "--verify", "-q", branch]);
}

/// `audit` reads like the web page: newest first, details as `key=value`,
/// filtered by kind; `--after` and `--oldest-first` go oldest first; and
/// `--follow` prints each new event as it is recorded.
#[test]
fn audit_reads_newest_first_and_follows() {
    let repo = Repo::new(Backend::Sqlite);
    let one = triaged_fix(&repo, "First");
    let two = triaged_fix(&repo, "Second");

    let log = repo.json(BOB, &["audit"]);
    let seqs: Vec<i64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let oldest = repo.json(BOB, &["audit", "--oldest-first"]);
    assert_eq!(oldest[0]["seq"], 1, "{oldest}");
    let after = repo.json(BOB, &["audit", "--after", "2", "--limit", "1"]);
    assert_eq!(after[0]["seq"], 3, "{after}");

    let triaged = repo.json(BOB, &["audit", "--kind", "patch.triaged"]);
    let subjects: Vec<&str> = triaged
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, [two.as_str(), one.as_str()]);
    let out = repo.ok(BOB, &["audit", "--kind", "patch.triaged", "--oldest-first"]);
    assert!(
        out.stdout.contains("severity=major") && out.stdout.contains(&format!("owner={DAVE}")),
        "details read as key=value: {out}"
    );
    assert!(!out.stdout.contains("{\""), "no raw JSON: {out}");
    // One event in full.
    let seq = triaged[0]["seq"].as_i64().unwrap().to_string();
    let out = repo.ok(BOB, &["audit", "show", &seq]);
    assert!(
        out.stdout
            .contains(&format!("event {seq}: patch.triaged {two}"))
            && out.stdout.contains("\"severity\": \"major\""),
        "{out}"
    );
    let shown = repo.json(BOB, &["audit", "show", &seq]);
    assert_eq!(shown["kind"], "patch.triaged");
    let missing = repo.run(BOB, &["audit", "show", "999"]);
    assert!(missing.stderr.contains("no event 999"), "{missing}");

    // --follow: a new event shows up on its own line.
    let mut child = repo
        .local_command(Some(BOB), &["audit", "--follow", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    // The existing events first, oldest first.
    let first: serde_json::Value =
        serde_json::from_str(&rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap())
            .unwrap();
    assert_eq!(first["seq"], 1, "{first}");
    let three = repo.json(ALICE, &["patch", "report", "Third"]);
    let key = three["key"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = false;
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(line) if line.contains(&key) && line.contains("patch.reported") => {
                seen = true;
                break;
            }
            _ => {}
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen, "--follow printed the new event");
}
