//! Altering the stored log behind Sluice's back is detected by `audit verify`.

use std::process::Command;

use crate::both;
use crate::harness::{ALICE, BOB, Backend, Repo, psql_ok};

both!(altered_event_is_named, altered_event_is_named);

fn altered_event_is_named(backend: Backend) {
    let repo = Repo::new(backend);
    repo.ok(
        ALICE,
        &["patch", "report", "Prices shown in the wrong currency"],
    );
    repo.ok(
        BOB,
        &[
            "patch",
            "triage",
            "SHOP-1",
            "--severity",
            "major",
            "--kind",
            "fix",
        ],
    );
    repo.ok(BOB, &["patch", "start", "SHOP-1"]);
    repo.ok(ALICE, &["patch", "report", "Another one"]);
    let out = repo.ok(BOB, &["audit", "verify"]);
    assert!(out.stdout.contains("4 events"), "{out}");

    let events = repo.json(BOB, &["audit"]);
    let triaged = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "patch.triaged")
        .unwrap_or_else(|| panic!("{events}"));
    let seq = triaged["seq"].as_i64().unwrap();
    assert!(
        triaged["payload"].to_string().contains("major"),
        "{triaged}"
    );

    // Downgrade the recorded severity, as someone covering their tracks would.
    let sql =
        format!("UPDATE events SET payload = replace(payload, 'major', 'minor') WHERE seq = {seq}");
    match backend {
        Backend::Sqlite => {
            let o = Command::new("sqlite3")
                .arg(repo.sqlite_file())
                .arg(&sql)
                .output()
                .expect("sqlite3 must be installed");
            assert!(
                o.status.success(),
                "sqlite3: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Backend::Postgres => psql_ok(&repo.db_url, &sql),
    }
    let events = repo.json(BOB, &["audit"]);
    let altered = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["seq"] == seq)
        .unwrap();
    assert!(
        altered["payload"].to_string().contains("minor"),
        "the update must have landed: {altered}"
    );

    let out = repo.run(BOB, &["audit", "verify"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains(&format!("event {seq} ")),
        "must name event {seq}:\n{out}"
    );
    let v = repo.run(BOB, &["audit", "verify", "--json"]);
    assert_eq!(v.code, 1, "{v}");
    // The report comes first on stdout (the failure follows it).
    let first: serde_json::Value = serde_json::Deserializer::from_str(&v.stdout)
        .into_iter::<serde_json::Value>()
        .next()
        .unwrap_or_else(|| panic!("no JSON:\n{v}"))
        .unwrap_or_else(|e| panic!("{e}\n{v}"));
    assert_eq!(first["ok"], false, "{v}");
    assert_eq!(first["first_break"]["seq"], seq, "{v}");
}
