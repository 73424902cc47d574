//! `incident open|resolve|list|show`: opened on the release an environment
//! holds, resolved by its opener or the monitor role, exit codes 0/1/2.

use crate::both;
use crate::harness::{ALICE, BOB, Backend, DAVE, Repo};

both!(incident_lifecycle, incident_lifecycle);

fn incident_lifecycle(backend: Backend) {
    let repo = Repo::new(backend);
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.ok(BOB, &["promote", &v, "--to", "local"]);

    let opened = repo.json(
        ALICE,
        &[
            "incident",
            "open",
            "--env",
            "local",
            "--title",
            "Checkout 500s",
        ],
    );
    assert_eq!(opened["id"], 1, "{opened}");
    assert_eq!(opened["release"], v.as_str(), "{opened}");
    assert_eq!(opened["source"], "manual", "{opened}");
    repo.ok(
        BOB,
        &["incident", "open", "--env", "prod", "--title", "Slow pages"],
    );

    let list = repo.json(BOB, &["incident", "list", "--open"]);
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    let table = repo.ok(BOB, &["incident", "list"]);
    assert!(table.stdout.contains("Checkout 500s"), "{}", table.stdout);

    // Bob neither opened incident 1 nor holds the monitor role.
    repo.refused(
        BOB,
        &["incident", "resolve", "1"],
        &["may not resolve incidents", "monitor"],
    );
    // Dave (devops) may; then it is resolved and a second resolve is refused.
    repo.ok(
        DAVE,
        &["incident", "resolve", "1", "--comment", "rolled forward"],
    );
    repo.refused(ALICE, &["incident", "resolve", "1"], &["already resolved"]);
    // The opener resolves their own.
    repo.ok(BOB, &["incident", "resolve", "2"]);

    let shown = repo.json(BOB, &["incident", "show", "1"]);
    assert_eq!(shown["incident"]["resolved_by"], DAVE, "{shown}");
    assert_eq!(shown["events"].as_array().map(Vec::len), Some(2), "{shown}");
    let open = repo.json(BOB, &["incident", "list", "--open"]);
    assert_eq!(open, serde_json::json!([]));

    // Usage and lookup errors exit 2.
    repo.error(BOB, &["incident", "show", "9"], &["no incident 9"]);
    repo.error(
        BOB,
        &["incident", "open", "--env", "staging", "--title", "x"],
        &["unknown environment `staging`"],
    );
}

both!(
    blocking_incident_holds_the_release,
    blocking_incident_holds_the_release
);

/// An open incident of a severity with `block_promotion` refuses the release's
/// promotion into any further environment, naming the incident, who can
/// resolve it and how; other severities do not; resolving it opens the gate.
fn blocking_incident_holds_the_release(backend: Backend) {
    let repo = Repo::new(backend);
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.ok(BOB, &["promote", &v, "--to", "local"]);
    repo.ok(
        ALICE,
        &[
            "test", "report", &v, "--env", "local", "--suite", "unit", "--pass",
        ],
    );
    let major = repo.json(
        ALICE,
        &[
            "incident",
            "open",
            "--env",
            "local",
            "--title",
            "Slow cart",
            "--severity",
            "major",
        ],
    );
    let critical = repo.json(
        ALICE,
        &[
            "incident",
            "open",
            "--env",
            "local",
            "--title",
            "Checkout 500s",
            "--severity",
            "critical",
        ],
    );
    let id = critical["id"].to_string();
    // The gate names the critical one only, who resolves it and the command.
    let refused = repo.refused(
        BOB,
        &["promote", &v, "--to", "dev"],
        &[
            &format!("incident {id} resolved: Checkout 500s in `local`"),
            "devops",
            &format!("sluice incident resolve {id}"),
        ],
    );
    assert!(!refused.stderr.contains("Slow cart"), "{}", refused.stderr);
    // `release show` names it in the next gate too.
    let gate = repo.json(BOB, &["release", "show", &v]);
    let unmet = gate["next_gate"]["unmet"].to_string();
    assert!(
        unmet.contains(&format!("incident {id} resolved")),
        "{unmet}"
    );
    assert!(
        !unmet.contains(&format!("incident {} resolved", major["id"])),
        "{unmet}"
    );

    repo.ok(
        DAVE,
        &["incident", "resolve", &id, "--comment", "fixed the config"],
    );
    repo.ok(BOB, &["promote", &v, "--to", "dev"]);
}
