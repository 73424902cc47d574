//! Two OS processes promote the same release at the same moment: exactly one
//! deploys.

use std::process::Stdio;

use crate::both;
use crate::harness::{BOB, Backend, Proc, Repo};

both!(two_promotions_at_once, two_promotions_at_once);

fn two_promotions_at_once(backend: Backend) {
    let repo = Repo::with(
        backend,
        &Proc {
            dev_deployer: "./slow.sh".into(),
            ..Proc::default()
        },
    );
    repo.fix("Cart empties itself");
    let v = repo.cut();
    repo.through_local(&v);
    let gate = repo.show(&v);
    assert_eq!(gate["next_gate"]["env"], "dev", "{gate}");
    assert_eq!(
        gate["next_gate"]["unmet"],
        serde_json::json!([]),
        "the gate into dev must be open: {gate}"
    );

    let spawn = || {
        repo.command(Some(BOB), &["promote", &v, "--to", "dev"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn();
    let b = spawn();
    let outs: Vec<_> = [a, b]
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let report: String = outs
        .iter()
        .map(|o| {
            format!(
                "exit {:?}\nstdout: {}\nstderr: {}\n",
                o.status.code(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect();
    let mut codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap_or(-1)).collect();
    codes.sort();
    assert_eq!(codes, [0, 1], "exactly one promotion wins:\n{report}");
    let loser = outs.iter().find(|o| o.status.code() == Some(1)).unwrap();
    let err = String::from_utf8_lossy(&loser.stderr).to_lowercase();
    assert!(
        err.contains("conflict")
            || err.contains("already")
            || err.contains("promotion running")
            || err.contains("is running"),
        "the loser must say why:\n{report}"
    );

    let shown = repo.show(&v);
    let dev: Vec<_> = shown["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["env"] == "dev")
        .collect();
    assert_eq!(dev.len(), 1, "one deployment to dev: {shown}\n{report}");
    assert_eq!(dev[0]["outcome"], "succeeded", "{shown}");
    assert_eq!(
        repo.deploy_log(),
        ["0.1.0 dev"],
        "the deploy command ran once\n{report}"
    );
    assert_eq!(repo.holds("dev").as_deref(), Some("0.1.0"));
    repo.ok(BOB, &["audit", "verify"]);
}
