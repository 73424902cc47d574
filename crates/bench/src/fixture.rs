//! What every benchmark runs against: the bench process file and the report
//! its commands file.

use sluice_core::decide::ReportInput;
use sluice_core::model::{Source, SourceKind, Target};

/// The bench process: four environments, none with a deploy command, every
/// window always open, one role per step so that every actor below is allowed.
pub(crate) const PROCESS: &str = r#"
[project]
name = "bench"
key = "BENCH"

[kinds]
fix = { bump = "patch", section = "Fixed" }
security = { bump = "patch", section = "Security" }
perf = { bump = "patch", section = "Changed" }

[severities]
critical = { fix_within = "24h", emergency = true }
major = { fix_within = "5d" }
minor = { fix_within = "30d" }

[roles]
dev_lead = ["lead"]
developer = ["dev1", "dev2"]
qa = ["qa"]
product_owner = ["po"]
release_manager = ["rm"]
devops = ["ops"]

[responsibilities]
identify = "dev_lead"
develop = "developer"
review = "developer"
test = "qa"
approve = "product_owner"
release = "release_manager"
monitor = "devops"

[review]
min_approvals = 1
author_may_approve = false

[[environments]]
name = "local"
tests = ["unit"]
windows = ["mon-sun 00:00-24:00"]

[[environments]]
name = "dev"
tests = ["integration"]
windows = ["mon-sun 00:00-24:00"]

[[environments]]
name = "test"
tests = ["smoke"]
approvals = ["qa"]
windows = ["mon-sun 00:00-24:00"]

[[environments]]
name = "prod"
approvals = ["product_owner"]
windows = ["mon-sun 00:00-24:00"]
after_deploy_tests = ["canary"]

[[checklist]]
id = "notes"
text = "Release notes reviewed"
by = "release_manager"
before = "prod"
"#;

/// The bench process as `sluice-bench metrics` runs it: production watches
/// each release for two hours after it enters (`monitor_for`), and a critical
/// incident blocks promotion, so change failures and recovery have a window
/// and a severity to count.
pub(crate) fn metrics_process() -> String {
    PROCESS
        .replace(
            r#"critical = { fix_within = "24h", emergency = true }"#,
            r#"critical = { fix_within = "24h", emergency = true, block_promotion = true }"#,
        )
        .replace(
            r#"after_deploy_tests = ["canary"]"#,
            "after_deploy_tests = [\"canary\"]\nmonitor_for = \"2h\"",
        )
}

pub(crate) fn report_input(i: usize) -> ReportInput {
    ReportInput {
        title: format!("Checkout total is wrong when a coupon is applied twice ({i})"),
        description: Some(
            "Applying the same coupon code twice in the basket doubles the discount; seen in production logs."
                .into(),
        ),
        kind: Some("fix".into()),
        severity: Some(["critical", "major", "minor"][i % 3].into()),
        source: Some(Source {
            kind: SourceKind::Bug,
            reference: Some(format!("JIRA-{}", 4000 + i)),
        }),
        targets: vec![Target::Main],
    }
}

/// Serves `server` in this process on a free loopback port; the task runs until
/// it is aborted.
pub(crate) async fn serve_here(
    server: &std::sync::Arc<sluice_server::Server>,
) -> anyhow::Result<(
    tokio::task::JoinHandle<std::io::Result<()>>,
    std::net::SocketAddr,
)> {
    use anyhow::Context as _;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(sluice_server::serve(
        server.clone(),
        "127.0.0.1:0".parse()?,
        move |addr| {
            let _ = tx.send(addr);
        },
    ));
    let addr = rx.await.context("the server did not start")?;
    Ok((task, addr))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_metrics_process_watches_prod_and_blocks_on_critical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(&path, super::metrics_process()).unwrap();
        let p = sluice_app::load_process(&path).unwrap();
        let (_, prod) = p.environment("prod").unwrap();
        assert_eq!(prod.monitor_for, Some(jiff::SignedDuration::from_hours(2)));
        assert!(p.severity("critical").unwrap().block_promotion);
        assert!(!p.severity("major").unwrap().block_promotion);
    }
}
