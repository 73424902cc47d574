//! Seeding many patches at once: a deterministic mix of open and closed
//! patches, inserted directly the way `Store::commit` writes them.

use anyhow::Result;
use jiff::{SignedDuration, Timestamp};
use sluice_core::model::{Patch, PatchReview, PatchStatus, Source, SourceKind, Target};
use sluice_store::Store;

/// A small deterministic generator (xorshift64*), so every run seeds the same data.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub(crate) fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// True with probability `per_mille` / 1000.
    pub(crate) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    /// A duration drawn uniformly from `[lo, hi)` minutes.
    pub(crate) fn mins(&mut self, lo: i64, hi: i64) -> SignedDuration {
        let span = (hi - lo).max(1) as u64 * 60_000;
        SignedDuration::from_millis(lo * 60_000 + self.below(span) as i64)
    }
}

/// The seeded status mix, per mille: 20% open, 80% closed.
const STATUS_MIX: &[(PatchStatus, u64)] = &[
    (PatchStatus::Reported, 40),
    (PatchStatus::Triaged, 40),
    (PatchStatus::InProgress, 60),
    (PatchStatus::InReview, 30),
    (PatchStatus::Ready, 30),
    (PatchStatus::Released, 50),
    (PatchStatus::Verified, 600),
    (PatchStatus::Rejected, 100),
    (PatchStatus::Deferred, 50),
];

fn seed_patch(rng: &mut Rng, number: i64, now: Timestamp) -> Patch {
    let mut roll = rng.below(1000);
    let status = STATUS_MIX
        .iter()
        .find(|(_, w)| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .map(|(s, _)| *s)
        .unwrap_or(PatchStatus::Verified);
    // Closed patches were reported over the last two years, open ones in the
    // last 60 days: a share of the open ones is overdue.
    let age_h = if status.is_open() {
        rng.below(60 * 24)
    } else {
        rng.below(2 * 365 * 24)
    } as i64;
    let reported_at = now - SignedDuration::from_hours(age_h);
    let triaged = status != PatchStatus::Reported;
    let severity = match rng.below(10) {
        0 => Some("critical"),
        1..=4 => Some("major"),
        5..=8 => Some("minor"),
        _ => None,
    }
    .filter(|_| triaged || rng.below(2) == 0);
    let fix_within_h = match severity {
        Some("critical") => Some(24),
        Some("major") => Some(5 * 24),
        Some("minor") => Some(30 * 24),
        _ => None,
    };
    let started = matches!(
        status,
        PatchStatus::InProgress
            | PatchStatus::InReview
            | PatchStatus::Ready
            | PatchStatus::Released
            | PatchStatus::Verified
    );
    let reviewed = started && status != PatchStatus::InProgress;
    let key = format!("BENCH-{number}");
    let title = format!(
        "{} {} {} ({number})",
        rng.pick(&[
            "Checkout", "Login", "Search", "Invoice", "Basket", "Payment", "Export", "Profile"
        ]),
        rng.pick(&[
            "fails when",
            "is slow when",
            "shows the wrong total when",
            "crashes if",
            "times out after"
        ]),
        rng.pick(&[
            "a coupon is applied twice",
            "the session expires",
            "the locale is Norwegian",
            "more than 100 items are selected",
            "the user has no address",
        ])
    );
    let owner = triaged.then(|| rng.pick(&["dev1", "dev2", "lead"]).to_string());
    let release = matches!(status, PatchStatus::Released | PatchStatus::Verified)
        .then(|| format!("1.{}.{}", number / 500, number % 7));
    Patch {
        key: key.clone(),
        number,
        title,
        description: (rng.below(10) < 7).then(|| {
            "Steps to reproduce: open the page, repeat the action, compare with the expected result. Seen by several customers."
                .to_string()
        }),
        kind: triaged.then(|| rng.pick(&["fix", "fix", "fix", "security", "perf"]).to_string()),
        severity: severity.map(str::to_string),
        priority: triaged.then(|| rng.pick(&["p1", "p2", "p3"]).to_string()),
        source: Source {
            kind: [
                SourceKind::Bug,
                SourceKind::Feedback,
                SourceKind::Alert,
                SourceKind::Advisory,
            ][rng.below(4) as usize],
            reference: Some(format!("JIRA-{}", 10_000 + number)),
        },
        reporter: rng.pick(&["qa", "po", "dev1", "support"]).to_string(),
        owner,
        targets: if triaged { vec![Target::Main] } else { vec![] },
        branch: started.then(|| format!("hotfix/{key}-checkout-fails")),
        reviews: if reviewed {
            vec![PatchReview {
                reviewer: "dev2".into(),
                approved: true,
                comment: Some("LGTM".into()),
                at: reported_at + SignedDuration::from_hours(2),
            }]
        } else {
            vec![]
        },
        status,
        release,
        resolution: matches!(status, PatchStatus::Rejected | PatchStatus::Deferred)
            .then(|| "not reproducible on the current version".to_string()),
        reopened: 0,
        reported_at,
        triaged_at: triaged.then(|| reported_at + SignedDuration::from_mins(30)),
        deadline: fix_within_h.map(|h| reported_at + SignedDuration::from_hours(h)),
        updated_at: reported_at + SignedDuration::from_hours(3),
        ports: Vec::new(),
        base_commit: None,
        started_by: None,
    }
}

/// Inserts `n` patches in multi-row INSERTs, the columns filled the way
/// `Store::commit` fills them. Returns the number of open ones.
pub(crate) async fn seed(store: &Store, n: usize) -> Result<usize> {
    seed_with(store, n, |_| {}).await
}

/// [`seed`], with `adjust` applied to each generated patch before it is
/// written (to link it to a release, move its times, change its status).
pub(crate) async fn seed_with(
    store: &Store,
    n: usize,
    mut adjust: impl FnMut(&mut Patch),
) -> Result<usize> {
    const ROWS: usize = 500;
    const STMTS_PER_TX: usize = 20;
    let now = Timestamp::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut open = 0;
    let mut number = 0i64;
    let pool = store.pool();
    while (number as usize) < n {
        let mut tx = pool.begin().await?;
        for _ in 0..STMTS_PER_TX {
            let rows = ROWS.min(n - number as usize);
            if rows == 0 {
                break;
            }
            // `rev` (the 12th column) is the constant 1: `data` moves before it.
            let sql = format!(
                "INSERT INTO patches (key, number, status, is_open, severity, kind, owner, targets, release, deadline_ms, reported_ms, data, rev) VALUES {}",
                sluice_store::values_rows(rows, 12, ", 1")
            );
            let patches: Vec<Patch> = (0..rows)
                .map(|_| {
                    number += 1;
                    let mut p = seed_patch(&mut rng, number, now);
                    adjust(&mut p);
                    p
                })
                .collect();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for p in &patches {
                open += usize::from(p.status.is_open());
                let targets: Vec<String> = p.targets.iter().map(|t| t.to_string()).collect();
                q = q
                    .bind(p.key.clone())
                    .bind(p.number)
                    .bind(p.status.as_str())
                    .bind(i64::from(p.status.is_open()))
                    .bind(p.severity.clone())
                    .bind(p.kind.clone())
                    .bind(p.owner.clone())
                    .bind(targets.join(","))
                    .bind(p.release.clone())
                    .bind(p.deadline.map(|d| d.as_millisecond()))
                    .bind(p.reported_at.as_millisecond())
                    .bind(serde_json::to_string(p)?);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    Ok(open)
}
