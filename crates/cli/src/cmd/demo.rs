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

/// Runs git in the demo repository. `at` dates the commit it makes (author and
/// committer), so the history agrees with the record's times; `who` is its author.
fn git_as(
    dir: &Path,
    at: Option<Timestamp>,
    who: (&str, &str),
    args: &[&str],
) -> Result<(), Failure> {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .env("GIT_AUTHOR_NAME", who.0)
        .env("GIT_AUTHOR_EMAIL", who.1)
        .env("GIT_COMMITTER_NAME", who.0)
        .env("GIT_COMMITTER_EMAIL", who.1);
    if let Some(at) = at {
        // In the shop's time zone, as Sluice dates its own commits and tags.
        let offset = shop_zone().to_offset(at).seconds();
        let date = sluice_git::git_date(at.as_second(), offset);
        cmd.env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
    }
    let out = cmd
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

/// The shop's time zone: its process's `[cadence] timezone`.
fn shop_zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Europe/Oslo").unwrap_or(jiff::tz::TimeZone::UTC)
}

const BOB_GIT: (&str, &str) = ("Bob", BOB);
const DAVE_GIT: (&str, &str) = ("Dave", DAVE);

fn write_file(dir: &Path, name: &str, text: &str) -> Result<(), Failure> {
    std::fs::write(dir.join(name), text)
        .map_err(|e| Failure::usage(format!("cannot write {name}: {e}")))
}

/// Writes the process file and the shop's history before Sluice: two commits,
/// the second tagged `v1.0.0` (the release `seed` imports). The repository's own
/// identity (for the tags, merges and changelog commits Sluice makes) is Bob's.
pub fn write_repository(dir: &Path, now: Timestamp) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    write_file(dir, "sluice.toml", PROCESS)?;
    write_file(dir, ".gitignore", ".sluice/\n")?;
    git_as(dir, None, BOB_GIT, &["init", "-q", "-b", "main"])?;
    for (k, v) in [
        ("user.name", "Bob"),
        ("user.email", BOB),
        ("commit.gpgSign", "false"),
        ("tag.gpgSign", "false"),
    ] {
        git_as(dir, None, BOB_GIT, &["config", k, v])?;
    }
    let day = |n: i64| {
        now.checked_sub(SignedDuration::from_hours(24 * n))
            .unwrap_or(now)
    };
    let history: &[(&str, &str, i64, Option<&str>)] = &[
        ("README.md", "feat: the shop's first catalogue", 60, None),
        (
            "cart.txt",
            "feat: a cart that remembers",
            45,
            Some("v1.0.0"),
        ),
    ];
    for (file, msg, ago, tag) in history {
        write_file(dir, file, &format!("{msg}\n"))?;
        git_as(dir, Some(day(*ago)), BOB_GIT, &["add", "."])?;
        git_as(dir, Some(day(*ago)), BOB_GIT, &["commit", "-q", "-m", msg])?;
        if let Some(t) = tag {
            git_as(
                dir,
                Some(day(*ago)),
                BOB_GIT,
                &["tag", "-a", t, "-m", &format!("release {t}")],
            )?;
        }
    }
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
        let tz = shop_zone();
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

/// The team at work: the application layer, the clock, and the repository the
/// developers commit to.
struct Shop<'a> {
    app: &'a App,
    c: Clock,
    dir: PathBuf,
}

/// How far a demo patch goes.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Until {
    Reported,
    Triaged,
    Rejected,
    Deferred,
    InProgress,
    InReview,
    Ready,
}

impl Shop<'_> {
    /// Dave's change, committed on the patch's branch (checked out by `patch
    /// start`) as a Conventional Commit of the patch's kind, with its `Patch:` trailer.
    fn commit_fix(
        &mut self,
        key: &str,
        kind: &str,
        title: &str,
        file: &str,
    ) -> Result<(), Failure> {
        let at = self.c.tick(45);
        write_file(&self.dir, file, &format!("{title}: done\n"))?;
        git_as(&self.dir, Some(at), DAVE_GIT, &["add", file])?;
        let kind = match kind {
            "feature" => "feat",
            "perf" => "perf",
            _ => "fix",
        };
        let subject = format!("{kind}: {}", title.to_lowercase());
        git_as(
            &self.dir,
            Some(at),
            DAVE_GIT,
            &[
                "commit",
                "-q",
                "-m",
                &subject,
                "-m",
                &format!("Patch: {key}"),
            ],
        )
    }

    /// Back on `main`, where the next patch starts and the next release is cut.
    fn back_to_main(&self) -> Result<(), Failure> {
        git_as(&self.dir, None, BOB_GIT, &["checkout", "-q", "main"])
    }

    /// Bob merges a patch's branch into `main`.
    fn merge(&mut self, key: &str, branch: &str) -> Result<(), Failure> {
        self.back_to_main()?;
        let at = self.c.tick(5);
        git_as(
            &self.dir,
            Some(at),
            BOB_GIT,
            &[
                "merge",
                "-q",
                "--no-ff",
                branch,
                "-m",
                &format!("Merge {key}"),
            ],
        )
    }

    /// A patch taken as far as `until`, as the team would: Erin reports it, Bob
    /// triages it to Dave, Dave starts it (its branch), commits the fix into
    /// `file` and asks for review, Bob approves it. A ready fix for `main` is merged
    /// there; a line's fix waits on its branch for `release cut --line`.
    async fn patch(
        &mut self,
        title: &str,
        kind: &str,
        severity: &str,
        line: Option<Target>,
        until: Until,
        file: &str,
    ) -> Result<(String, Option<String>), Failure> {
        let app = self.app;
        let p = app
            .report_patch(
                ERIN,
                self.c.tick(7),
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
        if until == Until::Reported {
            return Ok((k, None));
        }
        app.triage_patch(
            BOB,
            self.c.tick(20),
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
            Until::Triaged => return Ok((k, None)),
            Until::Rejected => {
                app.reject_patch(BOB, self.c.tick(5), &k, "works as intended".into())
                    .await?;
                return Ok((k, None));
            }
            Until::Deferred => {
                app.defer_patch(BOB, self.c.tick(5), &k, "after the holidays".into())
                    .await?;
                return Ok((k, None));
            }
            _ => {}
        }
        // Dave owns it and starts it: its branch is created and checked out.
        let branch = app.start_patch(DAVE, self.c.tick(30), &k).await?.branch;
        if until == Until::InProgress {
            self.back_to_main()?;
            return Ok((k, branch));
        }
        self.commit_fix(&k, kind, title, file)?;
        app.review_patch(DAVE, self.c.tick(15), &k, None, None)
            .await?;
        if until == Until::InReview {
            self.back_to_main()?;
            return Ok((k, branch));
        }
        // Dave wrote it; Bob, the dev lead, reviews it.
        app.review_patch(
            BOB,
            self.c.tick(30),
            &k,
            Some(true),
            Some("looks right".into()),
        )
        .await?;
        app.ready_patch(DAVE, self.c.tick(10), &k).await?;
        match (line, &branch) {
            (None, Some(b)) => self.merge(&k, b)?,
            _ => self.back_to_main()?,
        }
        Ok((k, branch))
    }

    async fn pass(&mut self, v: &str, env: &str, suites: &[&str]) -> Result<(), Failure> {
        for s in suites {
            self.app
                .report_test(
                    ALICE,
                    self.c.tick(15),
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

    async fn ship_to_test(&mut self, v: &str) -> Result<(), Failure> {
        let app = self.app;
        app.promote(BOB, self.c.tick(10), v, "local", None).await?;
        self.pass(v, "local", &["unit"]).await?;
        app.promote(BOB, self.c.tick(10), v, "dev", None).await?;
        self.pass(v, "dev", &["unit", "integration"]).await?;
        app.approve(
            ALICE,
            self.c.tick(30),
            v,
            "test",
            Some("qa"),
            false,
            Some("regression plan ready".into()),
        )
        .await?;
        app.promote(BOB, self.c.tick(10), v, "test", None).await?;
        Ok(())
    }

    async fn ship_to_prod(&mut self, v: &str) -> Result<(), Failure> {
        let app = self.app;
        self.pass(v, "test", &["regression"]).await?;
        app.approve(
            CAROL,
            self.c.tick(60),
            v,
            "prod",
            Some("product_owner"),
            false,
            None,
        )
        .await?;
        app.tick(BOB, self.c.tick(5), v, "notes").await?;
        let at = self.c.next_window();
        app.promote(BOB, at, v, "prod", None).await?;
        self.pass(v, "prod", &["smoke"]).await?;
        Ok(())
    }

    async fn cut(&mut self, target: Target, minutes: i64) -> Result<String, Failure> {
        let r = self
            .app
            .cut_release(BOB, self.c.tick(minutes), target, CutOptions::default())
            .await?;
        Ok(r.version.to_string())
    }
}

/// Fills the database through the application layer, as a team would have, with
/// git doing what it does for a team: patch branches, fixes with `Patch:` trailers,
/// merges, the 1.1 maintenance line assembled by `release cut`, and the tags,
/// changelog and evidence notes Sluice writes, so every release verifies.
pub async fn seed(app: &App, dir: &Path, now: Timestamp) -> Result<(), Failure> {
    let start = now
        .checked_sub(SignedDuration::from_hours(24 * 21))
        .unwrap_or(now);
    let mut s = Shop {
        app,
        c: Clock(start),
        dir: dir.to_path_buf(),
    };
    app.import_release(BOB, s.c.tick(1), "1.0.0", None).await?;

    // 1.1.0: a fix and a feature, all the way to prod.
    s.patch(
        "Checkout total rounds half-cents wrongly",
        "fix",
        "major",
        None,
        Until::Ready,
        "checkout.txt",
    )
    .await?;
    s.patch(
        "Search by category",
        "feature",
        "minor",
        None,
        Until::Ready,
        "search.txt",
    )
    .await?;
    let v110 = s.cut(Target::Main, 30).await?;
    s.ship_to_test(&v110).await?;
    s.ship_to_prod(&v110).await?;

    // 1.1.1: a critical payment bug on the 1.1 line, through the emergency lane
    // outside the window. `release cut --line 1.1` builds release/1.1 from v1.1.0
    // and the patch's branch; the fix is merged into main afterwards as well.
    let line = Target::Line("1.1".parse().map_err(Failure::usage)?);
    let (payment, branch) = s
        .patch(
            "Payment callback rejects retried notifications",
            "fix",
            "critical",
            Some(line),
            Until::Ready,
            "payments.txt",
        )
        .await?;
    let v111 = s.cut(line, 20).await?;
    let branch = branch.ok_or_else(|| Failure::usage(format!("{payment} has no branch")))?;
    s.merge(&payment, &branch)?;
    s.ship_to_test(&v111).await?;
    s.pass(&v111, "test", &["regression"]).await?;
    app.approve(
        BOB,
        s.c.tick(10),
        &v111,
        "prod",
        Some("dev_lead"),
        true,
        Some("payments failing".into()),
    )
    .await?;
    app.approve(
        CAROL,
        s.c.tick(5),
        &v111,
        "prod",
        Some("product_owner"),
        false,
        None,
    )
    .await?;
    app.tick(BOB, s.c.tick(2), &v111, "notes").await?;
    // A Saturday night: outside the window, so the emergency lane.
    let sat = s.c.tick(60 * 24 * 2);
    app.promote(BOB, sat, &v111, "prod", Some("customers cannot pay"))
        .await?;

    // 1.2.0: a feature release that reached prod and was rolled back.
    s.patch(
        "Wishlists",
        "feature",
        "minor",
        None,
        Until::Ready,
        "wishlist.txt",
    )
    .await?;
    let v120 = s.cut(Target::Main, 60).await?;
    s.ship_to_test(&v120).await?;
    s.ship_to_prod(&v120).await?;
    app.rollback(DAVE, s.c.tick(45), "prod", Some(&v111))
        .await?;
    app.open_incident(
        DAVE,
        s.c.tick(5),
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
    s.patch(
        "Login drops the basket",
        "fix",
        "major",
        None,
        Until::Ready,
        "login.txt",
    )
    .await?;
    let v121 = s.cut(Target::Main, 30).await?;
    s.ship_to_test(&v121).await?;
    s.pass(&v121, "test", &["regression"]).await?;

    // 1.2.2: in dev, waiting on its integration suite.
    s.patch(
        "Coupon codes are case-sensitive",
        "fix",
        "minor",
        None,
        Until::Ready,
        "coupons.txt",
    )
    .await?;
    let v122 = s.cut(Target::Main, 30).await?;
    app.promote(BOB, s.c.tick(10), &v122, "local", None).await?;
    s.pass(&v122, "local", &["unit"]).await?;
    app.promote(BOB, s.c.tick(10), &v122, "dev", None).await?;

    // The queue: one patch in every open state, and the closed ones.
    let queue = [
        (
            "Product images load slowly on mobile",
            "perf",
            "minor",
            Until::Reported,
            "images.txt",
        ),
        (
            "Order e-mails show the wrong currency",
            "fix",
            "major",
            Until::Triaged,
            "emails.txt",
        ),
        (
            "Password reset link expires too soon",
            "security",
            "critical",
            Until::InProgress,
            "reset.txt",
        ),
        (
            "Address form rejects Norwegian postcodes",
            "fix",
            "major",
            Until::InReview,
            "address.txt",
        ),
        (
            "Sort by price ignores discounts",
            "fix",
            "minor",
            Until::Ready,
            "sort.txt",
        ),
        (
            "Dark mode for the catalogue",
            "feature",
            "minor",
            Until::Deferred,
            "dark.txt",
        ),
        (
            "Basket badge shows 0 for one item",
            "fix",
            "minor",
            Until::Rejected,
            "badge.txt",
        ),
    ];
    for (title, kind, severity, until, file) in queue {
        s.patch(title, kind, severity, None, until, file).await?;
    }
    s.back_to_main()
}

/// Where the demo lives: a new directory under the system's temporary one.
pub fn demo_dir() -> PathBuf {
    let stamp = Timestamp::now().as_millisecond();
    std::env::temp_dir().join(format!("sluice-demo-{}-{stamp}", std::process::id()))
}
