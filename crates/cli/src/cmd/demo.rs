//! `sluice serve --demo`: a realistic Sluice to look around in. A fresh
//! directory gets a process file, a git repository with history and release
//! tags, and a SQLite database filled through the application layer — patches
//! in every state, releases in every environment, an emergency change, a
//! rollback and an open incident — then the server starts on it.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use sluice_app::{App, CutOptions};
use sluice_core::decide::{IncidentInput, ReportInput, TriageInput};
use sluice_core::model::{Source, SourceKind, Target};

use crate::output::Failure;

pub const ALICE: &str = "alice@example.com";
pub const BOB: &str = "bob@example.com";
pub const CAROL: &str = "carol@example.com";
pub const DAVE: &str = "dave@example.com";
pub const ERIN: &str = "erin@example.com";

/// The demo's process: a small web shop with four environments.
pub const PROCESS: &str = r#"# sluice.toml of the demo shop (written by `sluice serve --demo`).
[project]
name = "Demo Shop"
key = "SHOP"
tag = "v{version}"
release_branch = "release/{major}.{minor}"
patch_branch = "hotfix/{key}-{slug}"
maintained_lines = ["1.1"]

[kinds]
fix = { bump = "patch", section = "Fixed" }
security = { bump = "patch", section = "Security" }
perf = { bump = "patch", section = "Changed" }
feature = { bump = "minor", section = "Added", patch_release = false }

[severities]
critical = { fix_within = "24h", emergency = true, retrospective = true }
major = { fix_within = "5d" }
minor = { fix_within = "30d" }

[roles]
qa = ["alice@example.com", "erin@example.com"]
dev_lead = ["bob@example.com"]
product_owner = ["carol@example.com"]
release_manager = ["bob@example.com"]
devops = ["dave@example.com"]

[responsibilities]
identify = "dev_lead"
develop = ["dev_lead", "devops"]
review = "dev_lead"
test = "qa"
approve = "product_owner"
release = "release_manager"
communicate = "release_manager"
monitor = "devops"

[review]
min_approvals = 1
author_may_approve = false

[cadence]
kind = "weekly"
day = "tue"
time = "10:00"
timezone = "Europe/Oslo"

[[environments]]
name = "local"
tests = ["unit"]

[[environments]]
name = "dev"
tests = ["unit", "integration"]
deploy = "echo deploying {version} to dev"
rollback = "echo rolling dev back to {previous}"

[[environments]]
name = "test"
tests = ["regression"]
approvals = ["qa"]
deploy = "echo deploying {version} to test"
rollback = "echo rolling test back to {previous}"

[[environments]]
name = "prod"
approvals = ["product_owner"]
windows = ["tue,thu 10:00-12:00"]
freezes = [{ from = "2026-12-21", to = "2027-01-03", reason = "holidays" }]
emergency_approvals = ["dev_lead"]
deploy = "echo deploying {version} to prod"
rollback = "echo rolling prod back to {previous}"
after_deploy_tests = ["smoke"]

[[checklist]]
id = "notes"
text = "Release notes reviewed"
by = "release_manager"
before = "prod"
"#;

fn git(dir: &Path, args: &[&str]) -> Result<(), Failure> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .env("GIT_AUTHOR_NAME", "Demo")
        .env("GIT_AUTHOR_EMAIL", "demo@example.com")
        .env("GIT_COMMITTER_NAME", "Demo")
        .env("GIT_COMMITTER_EMAIL", "demo@example.com")
        .output()
        .map_err(|e| Failure::usage(format!("the demo needs git: {e}")))?;
    if !out.status.success() {
        return Err(Failure::usage(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Writes the process file and a git history with the demo's release tags.
pub fn write_repository(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    let w = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| Failure::usage(format!("cannot write {name}: {e}")))
    };
    w("sluice.toml", PROCESS)?;
    git(dir, &["init", "-q", "-b", "main"])?;
    let history: &[(&str, &str, Option<&str>)] = &[
        (
            "README.md",
            "feat: the shop's first catalogue",
            Some("v1.0.0"),
        ),
        ("cart.txt", "feat: a cart that remembers", None),
        (
            "checkout.txt",
            "fix: checkout total rounds half-cents correctly\n\nPatch: SHOP-1",
            None,
        ),
        (
            "search.txt",
            "feat: search by category\n\nPatch: SHOP-2",
            Some("v1.1.0"),
        ),
        (
            "payments.txt",
            "fix: payment callback accepts retried notifications\n\nPatch: SHOP-3",
            Some("v1.1.1"),
        ),
        (
            "wishlist.txt",
            "feat: wishlists\n\nPatch: SHOP-4",
            Some("v1.2.0"),
        ),
        (
            "login.txt",
            "fix: login keeps the basket\n\nPatch: SHOP-6",
            None,
        ),
    ];
    for (i, (file, msg, tag)) in history.iter().enumerate() {
        w(file, &format!("{msg}\nrevision {i}\n"))?;
        git(dir, &["add", "."])?;
        git(dir, &["commit", "-q", "-m", msg])?;
        if let Some(t) = tag {
            git(dir, &["tag", "-a", t, "-m", &format!("release {t}")])?;
        }
    }
    std::fs::create_dir_all(dir.join(".sluice")).ok();
    w(".gitignore", ".sluice/\n")?;
    Ok(())
}

/// A clock that moves forward a few minutes per step, from three weeks ago.
struct Clock(Timestamp);

impl Clock {
    fn tick(&mut self, minutes: i64) -> Timestamp {
        self.0 = self
            .0
            .checked_add(SignedDuration::from_mins(minutes))
            .unwrap_or(self.0);
        self.0
    }
    /// Jumps to the next Tuesday or Thursday 10:30 in Oslo after the current time.
    fn next_window(&mut self) -> Timestamp {
        let tz = jiff::tz::TimeZone::get("Europe/Oslo").unwrap_or(jiff::tz::TimeZone::UTC);
        let mut d = self.0.to_zoned_datetime(tz.clone()).date();
        for _ in 0..8 {
            d = d.tomorrow().unwrap_or(d);
            if matches!(
                d.weekday(),
                jiff::civil::Weekday::Tuesday | jiff::civil::Weekday::Thursday
            ) {
                break;
            }
        }
        if let Ok(z) = d.at(10, 30, 0, 0).to_zoned_datetime(tz) {
            self.0 = z.timestamp();
        }
        self.0
    }
}

async fn patch(
    app: &App,
    c: &mut Clock,
    title: &str,
    kind: &str,
    severity: &str,
    line: Option<Target>,
    until: &str,
) -> Result<String, Failure> {
    let p = app
        .report_patch(
            ERIN,
            c.tick(7),
            ReportInput {
                title: title.into(),
                description: None,
                kind: None,
                severity: None,
                source: Some(Source {
                    kind: SourceKind::Bug,
                    reference: Some(format!(
                        "https://tracker.example.com/browse/BUG-{}",
                        100 + title.len()
                    )),
                }),
                targets: vec![],
            },
        )
        .await?;
    let k = p.key;
    if until == "reported" {
        return Ok(k);
    }
    app.triage_patch(
        BOB,
        c.tick(20),
        &k,
        TriageInput {
            severity: Some(severity.into()),
            kind: Some(kind.into()),
            priority: None,
            owner: Some(DAVE.into()),
            targets: line.into_iter().collect(),
        },
    )
    .await?;
    match until {
        "triaged" => return Ok(k),
        "rejected" => {
            app.reject_patch(BOB, c.tick(5), &k, "works as intended".into())
                .await?;
            return Ok(k);
        }
        "deferred" => {
            app.defer_patch(BOB, c.tick(5), &k, "after the holidays".into())
                .await?;
            return Ok(k);
        }
        _ => {}
    }
    // Dave owns it and starts it; whoever starts a patch may not review it.
    app.start_patch(DAVE, c.tick(30), &k).await?;
    if until == "in_progress" {
        return Ok(k);
    }
    app.review_patch(DAVE, c.tick(60), &k, None, None).await?;
    if until == "in_review" {
        return Ok(k);
    }
    // Dave owns (wrote) it; Bob, the dev lead, reviews it.
    app.review_patch(BOB, c.tick(30), &k, Some(true), Some("looks right".into()))
        .await?;
    app.ready_patch(DAVE, c.tick(10), &k).await?;
    Ok(k)
}

async fn pass(
    app: &App,
    c: &mut Clock,
    v: &str,
    env: &str,
    suites: &[&str],
) -> Result<(), Failure> {
    for s in suites {
        app.report_test(
            ALICE,
            c.tick(15),
            v,
            env,
            s,
            true,
            Some(format!("https://ci.example.com/runs/{v}-{env}-{s}")),
        )
        .await?;
    }
    Ok(())
}

async fn to_test(app: &App, c: &mut Clock, v: &str) -> Result<(), Failure> {
    app.promote(BOB, c.tick(10), v, "local", None).await?;
    pass(app, c, v, "local", &["unit"]).await?;
    app.promote(BOB, c.tick(10), v, "dev", None).await?;
    pass(app, c, v, "dev", &["unit", "integration"]).await?;
    app.approve(
        ALICE,
        c.tick(30),
        v,
        "test",
        Some("qa"),
        false,
        Some("regression plan ready".into()),
    )
    .await?;
    app.promote(BOB, c.tick(10), v, "test", None).await?;
    Ok(())
}

async fn to_prod(app: &App, c: &mut Clock, v: &str) -> Result<(), Failure> {
    pass(app, c, v, "test", &["regression"]).await?;
    app.approve(
        CAROL,
        c.tick(60),
        v,
        "prod",
        Some("product_owner"),
        false,
        None,
    )
    .await?;
    app.tick(BOB, c.tick(5), v, "notes").await?;
    let at = c.next_window();
    app.promote(BOB, at, v, "prod", None).await?;
    pass(app, c, v, "prod", &["smoke"]).await?;
    Ok(())
}

/// Fills the database through the application layer, as a team would have.
pub async fn seed(app: &mut App, now: Timestamp) -> Result<(), Failure> {
    // Git operations stay out of the seeding: the repository's tags were made
    // by `write_repository` to match.
    let git = app.detach_git();
    let start = now
        .checked_sub(SignedDuration::from_hours(24 * 21))
        .unwrap_or(now);
    let mut c = Clock(start);
    app.import_release(BOB, c.tick(1), "1.0.0", None).await?;

    // 1.1.0: two fixes and a feature, all the way to prod.
    patch(
        app,
        &mut c,
        "Checkout total rounds half-cents wrongly",
        "fix",
        "major",
        None,
        "ready",
    )
    .await?;
    patch(
        app,
        &mut c,
        "Search by category",
        "feature",
        "minor",
        None,
        "ready",
    )
    .await?;
    let r = app
        .cut_release(BOB, c.tick(30), Target::Main, CutOptions::default())
        .await?;
    let v110 = r.version.to_string();
    to_test(app, &mut c, &v110).await?;
    to_prod(app, &mut c, &v110).await?;

    // 1.1.1: a critical payment bug, through the emergency lane outside the window.
    let line = Target::Line("1.1".parse().map_err(Failure::usage)?);
    patch(
        app,
        &mut c,
        "Payment callback rejects retried notifications",
        "fix",
        "critical",
        Some(line),
        "ready",
    )
    .await?;
    let r = app
        .cut_release(BOB, c.tick(20), line, CutOptions::default())
        .await?;
    let v111 = r.version.to_string();
    to_test(app, &mut c, &v111).await?;
    pass(app, &mut c, &v111, "test", &["regression"]).await?;
    app.approve(
        BOB,
        c.tick(10),
        &v111,
        "prod",
        Some("dev_lead"),
        true,
        Some("payments failing".into()),
    )
    .await?;
    app.approve(
        CAROL,
        c.tick(5),
        &v111,
        "prod",
        Some("product_owner"),
        false,
        None,
    )
    .await?;
    app.tick(BOB, c.tick(2), &v111, "notes").await?;
    // A Saturday night: outside the window, so the emergency lane.
    let sat = c.tick(60 * 24 * 2);
    app.promote(BOB, sat, &v111, "prod", Some("customers cannot pay"))
        .await?;

    // 1.2.0: a feature release that reached prod and was rolled back.
    patch(app, &mut c, "Wishlists", "feature", "minor", None, "ready").await?;
    let r = app
        .cut_release(BOB, c.tick(60), Target::Main, CutOptions::default())
        .await?;
    let v120 = r.version.to_string();
    to_test(app, &mut c, &v120).await?;
    to_prod(app, &mut c, &v120).await?;
    app.rollback(DAVE, c.tick(45), "prod", Some(&v111)).await?;
    app.open_incident(
        DAVE,
        c.tick(5),
        IncidentInput {
            env: "prod".into(),
            service: Some("checkout".into()),
            title: "Checkout error rate above 2%".into(),
            severity: Some("critical".into()),
            source: "manual".into(),
            fingerprint: None,
            url: Some("https://monitoring.example.com/alerts/checkout-errors".into()),
        },
    )
    .await?;

    // 1.2.1: waiting in test for the product owner's approval into prod.
    patch(
        app,
        &mut c,
        "Login drops the basket",
        "fix",
        "major",
        None,
        "ready",
    )
    .await?;
    let r = app
        .cut_release(BOB, c.tick(30), Target::Main, CutOptions::default())
        .await?;
    let v121 = r.version.to_string();
    to_test(app, &mut c, &v121).await?;
    pass(app, &mut c, &v121, "test", &["regression"]).await?;

    // 1.2.2: in dev, waiting on its integration suite.
    patch(
        app,
        &mut c,
        "Coupon codes are case-sensitive",
        "fix",
        "minor",
        None,
        "ready",
    )
    .await?;
    let r = app
        .cut_release(BOB, c.tick(30), Target::Main, CutOptions::default())
        .await?;
    let v122 = r.version.to_string();
    app.promote(BOB, c.tick(10), &v122, "local", None).await?;
    pass(app, &mut c, &v122, "local", &["unit"]).await?;
    app.promote(BOB, c.tick(10), &v122, "dev", None).await?;

    // The queue: one patch in every open state, and the closed ones.
    patch(
        app,
        &mut c,
        "Product images load slowly on mobile",
        "perf",
        "minor",
        None,
        "reported",
    )
    .await?;
    patch(
        app,
        &mut c,
        "Order e-mails show the wrong currency",
        "fix",
        "major",
        None,
        "triaged",
    )
    .await?;
    patch(
        app,
        &mut c,
        "Password reset link expires too soon",
        "security",
        "critical",
        None,
        "in_progress",
    )
    .await?;
    patch(
        app,
        &mut c,
        "Address form rejects Norwegian postcodes",
        "fix",
        "major",
        None,
        "in_review",
    )
    .await?;
    patch(
        app,
        &mut c,
        "Sort by price ignores discounts",
        "fix",
        "minor",
        None,
        "ready",
    )
    .await?;
    patch(
        app,
        &mut c,
        "Dark mode for the catalogue",
        "feature",
        "minor",
        None,
        "deferred",
    )
    .await?;
    patch(
        app,
        &mut c,
        "Basket badge shows 0 for one item",
        "fix",
        "minor",
        None,
        "rejected",
    )
    .await?;
    app.attach_git(git);
    Ok(())
}

/// Where the demo lives: a new directory under the system's temporary one.
pub fn demo_dir() -> PathBuf {
    let stamp = Timestamp::now().as_millisecond();
    std::env::temp_dir().join(format!("sluice-demo-{}-{stamp}", std::process::id()))
}
