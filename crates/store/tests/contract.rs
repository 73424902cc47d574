//! The storage contract, run against SQLite (a temporary file) and the real
//! PostgreSQL server (a fresh database per test).

use jiff::Timestamp;
use sluice_core::event::Event;
use sluice_core::model::{Patch, PatchStatus, Source, SourceKind, Target};
use sluice_store::{Change, PatchQuery, Store, StoreError, testing};

struct Db {
    store: Store,
    _dir: Option<tempfile::TempDir>,
}

async fn open(backend: &str) -> Db {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&testing::sqlite_url(dir.path())).await.unwrap();
            Db {
                store,
                _dir: Some(dir),
            }
        }
        _ => {
            let url = testing::fresh_postgres_url().await.expect(
                "PostgreSQL on 127.0.0.1:5432 (or SLUICE_TEST_POSTGRES); scripts/test starts one",
            );
            Db {
                store: Store::open(&url).await.unwrap(),
                _dir: None,
            }
        }
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn patch(n: i64, deadline: Option<&str>, status: PatchStatus) -> Patch {
    let at = ts("2026-11-01T10:00:00Z");
    Patch {
        key: format!("SHOP-{n}"),
        number: n,
        title: format!("patch {n}"),
        description: None,
        kind: Some("fix".into()),
        severity: Some("major".into()),
        priority: None,
        source: Source {
            kind: SourceKind::Bug,
            reference: Some(format!("T-{n}")),
        },
        reporter: "alice@example.com".into(),
        owner: None,
        targets: vec![Target::Main],
        branch: None,
        reviews: vec![],
        status,
        release: None,
        resolution: None,
        reopened: 0,
        reported_at: at,
        triaged_at: None,
        deadline: deadline.map(ts),
        updated_at: at,
        ports: vec![],
        base_commit: None,
        started_by: None,
    }
}

fn change(p: Patch, rev: Option<i64>, kind: &'static str) -> Change {
    Change {
        actor: "alice@example.com".into(),
        at_ms: 1_700_000_000_000,
        events: vec![Event::new(
            kind,
            p.key.clone(),
            serde_json::json!({"title": p.title}),
        )],
        patches: vec![(p, rev)],
        ..Default::default()
    }
}

async fn insert_then_read(db: Db) {
    let s = &db.store;
    assert_eq!(s.next_patch_number().await.unwrap(), 1);
    let stored = s
        .commit(&change(
            patch(1, None, PatchStatus::Reported),
            None,
            "patch.reported",
        ))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].seq, 1);
    let (p, rev) = s.patch("SHOP-1").await.unwrap().unwrap();
    assert_eq!(rev, 1);
    assert_eq!(p.title, "patch 1");
    assert_eq!(s.next_patch_number().await.unwrap(), 2);
    assert!(s.patch("SHOP-9").await.unwrap().is_none());
}

async fn stale_revision_conflicts_and_writes_nothing(db: Db) {
    let s = &db.store;
    s.commit(&change(
        patch(1, None, PatchStatus::Reported),
        None,
        "patch.reported",
    ))
    .await
    .unwrap();
    let mut p = patch(1, None, PatchStatus::Triaged);
    s.commit(&change(p.clone(), Some(1), "patch.triaged"))
        .await
        .unwrap();
    p.title = "changed".into();
    let err = s
        .commit(&change(p, Some(1), "patch.triaged"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("conflict"), "{err}");
    let (p, rev) = s.patch("SHOP-1").await.unwrap().unwrap();
    assert_eq!((p.title.as_str(), rev), ("patch 1", 2));
    assert_eq!(
        s.events(None, 0, 100).await.unwrap().len(),
        2,
        "the refused change appended no event"
    );
    assert_eq!(s.verify_chain().await.unwrap(), Ok(2));
}

async fn duplicate_insert_conflicts(db: Db) {
    let s = &db.store;
    s.commit(&change(
        patch(1, None, PatchStatus::Reported),
        None,
        "patch.reported",
    ))
    .await
    .unwrap();
    let err = s
        .commit(&change(
            patch(1, None, PatchStatus::Reported),
            None,
            "patch.reported",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
}

async fn concurrent_updates_one_wins(db: Db) {
    let s = db.store.clone();
    s.commit(&change(
        patch(1, None, PatchStatus::Reported),
        None,
        "patch.reported",
    ))
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut p = patch(1, None, PatchStatus::Triaged);
            p.title = format!("writer {i}");
            s.commit(&change(p, Some(1), "patch.triaged")).await
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 5));
    assert_eq!(s.verify_chain().await.unwrap(), Ok(2));
}

/// Patches `numbers` reported, one commit (one event) each.
async fn report(s: &Store, numbers: std::ops::RangeInclusive<i64>) {
    for n in numbers {
        s.commit(&change(
            patch(n, None, PatchStatus::Reported),
            None,
            "patch.reported",
        ))
        .await
        .unwrap();
    }
}

async fn tampering_is_detected(db: Db) {
    let s = &db.store;
    report(s, 1..=5).await;
    assert_eq!(s.verify_chain().await.unwrap(), Ok(5));
    sqlx::query("UPDATE events SET payload = '{\"title\":\"forged\"}' WHERE seq = 3")
        .execute(s.pool())
        .await
        .unwrap();
    let b = s.verify_chain().await.unwrap().unwrap_err();
    assert_eq!(b.seq, 3);
    assert!(b.problem.contains("altered"), "{}", b.problem);
}

async fn removed_tail_is_detected(db: Db) {
    let s = &db.store;
    report(s, 1..=3).await;
    sqlx::query("DELETE FROM events WHERE seq = 3")
        .execute(s.pool())
        .await
        .unwrap();
    let b = s.verify_chain().await.unwrap().unwrap_err();
    assert_eq!(b.seq, 3);
    sqlx::query("DELETE FROM events WHERE seq = 2")
        .execute(s.pool())
        .await
        .unwrap();
    assert!(s.verify_chain().await.unwrap().is_err());
}

async fn events_past_the_head_are_detected(db: Db) {
    let s = &db.store;
    report(s, 1..=3).await;
    // The head put back one event: the log goes on past it.
    sqlx::query(
        "UPDATE chain_head SET seq = 2, hash = (SELECT hash FROM events WHERE seq = 2) WHERE id = 1",
    )
    .execute(s.pool())
    .await
    .unwrap();
    let b = s.verify_chain().await.unwrap().unwrap_err();
    assert_eq!(b.seq, 3);
    assert!(
        b.problem.contains("past the recorded head"),
        "{}",
        b.problem
    );
}

/// A server writes while the log is verified (the UI warms its check at start,
/// as the sweeper records timed events): no verification may call that a break.
async fn verifying_while_writing_never_reports_a_break(db: Db) {
    let s = db.store.clone();
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            report(&s, 1..=150).await;
        })
    };
    let mut rounds = 0;
    while !writer.is_finished() || rounds == 0 {
        let checked = s.verify_chain().await.unwrap();
        assert!(checked.is_ok(), "round {rounds}: {checked:?}");
        rounds += 1;
    }
    writer.await.unwrap();
    assert_eq!(s.verify_chain().await.unwrap(), Ok(150));
    // An incremental verifier, continued while writes go on, agrees.
    let (v, first) = s
        .verify_chain_from(sluice_core::audit::Verifier::default())
        .await
        .unwrap();
    assert_eq!(first, Ok(150));
    report(&s, 151..=151).await;
    assert_eq!(s.verify_chain_from(v).await.unwrap().1, Ok(151));
}

async fn patch_list_puts_overdue_first(db: Db) {
    let s = &db.store;
    let rows = [
        (1, Some("2026-12-30T00:00:00Z"), PatchStatus::Triaged),
        (2, Some("2026-11-02T00:00:00Z"), PatchStatus::InProgress),
        (3, None, PatchStatus::Reported),
        (4, Some("2026-11-01T00:00:00Z"), PatchStatus::Released),
        (5, Some("2026-11-05T00:00:00Z"), PatchStatus::Triaged),
        (6, Some("2026-11-20T00:00:00Z"), PatchStatus::Ready),
    ];
    for (n, d, st) in rows {
        s.commit(&change(patch(n, d, st), None, "patch.reported"))
            .await
            .unwrap();
    }
    let now = ts("2026-11-10T00:00:00Z").as_millisecond();
    let page = s
        .patches(&PatchQuery {
            now_ms: now,
            ..Default::default()
        })
        .await
        .unwrap();
    let keys: Vec<&str> = page.patches.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["SHOP-2", "SHOP-5", "SHOP-6", "SHOP-1", "SHOP-3"]);
    assert_eq!(page.total, Some(5));
    let page = s
        .patches(&PatchQuery {
            now_ms: now,
            all: true,
            limit: 2,
            count: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.patches.len(), 2);
    assert_eq!(page.total, Some(6));
    let page = s
        .patches(&PatchQuery {
            now_ms: now,
            statuses: vec![PatchStatus::Released, PatchStatus::Ready],
            ..Default::default()
        })
        .await
        .unwrap();
    let keys: Vec<&str> = page.patches.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        ["SHOP-4", "SHOP-6"],
        "closed patches are never overdue: by deadline"
    );
}

async fn first_event_links_to_genesis(db: Db) {
    let url_store = &db.store;
    url_store
        .commit(&change(
            patch(1, None, PatchStatus::Reported),
            None,
            "patch.reported",
        ))
        .await
        .unwrap();
    url_store.ping().await.unwrap();
    let head = url_store.events(None, 0, 10).await.unwrap();
    assert_eq!(head[0].prev_hash, sluice_core::audit::GENESIS);
    assert_eq!(head[0].hash, head[0].expected_hash());
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::open("sqlite").await).await }) *
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::open("postgres").await).await }) *
        }
    };
}

contract!(
    insert_then_read,
    stale_revision_conflicts_and_writes_nothing,
    duplicate_insert_conflicts,
    concurrent_updates_one_wins,
    tampering_is_detected,
    removed_tail_is_detected,
    events_past_the_head_are_detected,
    verifying_while_writing_never_reports_a_break,
    patch_list_puts_overdue_first,
    first_event_links_to_genesis,
    outbox_is_written_with_its_events,
    outbox_lease_retry_dead_revive,
    concurrent_dispatchers_never_share_a_message,
    incidents_open_list_resolve,
    one_open_incident_per_alert,
    repeated_delivery_writes_nothing,
    patches_are_found_by_source,
    idempotency_claims_lapse_after_a_crash,
);

fn msg(id: &str, event_index: usize) -> sluice_store::OutboxMessage {
    sluice_store::OutboxMessage {
        id: id.into(),
        event_index,
        event_kind: "release.deployed".into(),
        channel: "releases".into(),
        transport: "webhook".into(),
        address: "${HOOK}".into(),
        payload: r#"{"subject":"1.0.0"}"#.into(),
    }
}

fn events_change(at_ms: i64, outbox: Vec<sluice_store::OutboxMessage>) -> Change {
    Change {
        actor: "alice@example.com".into(),
        at_ms,
        events: vec![
            Event::new("release.promotion_started", "1.0.0", serde_json::json!({})),
            Event::new(
                "release.deployed",
                "1.0.0",
                serde_json::json!({"env": "prod"}),
            ),
        ],
        outbox,
        ..Default::default()
    }
}

async fn outbox_is_written_with_its_events(db: Db) {
    let s = &db.store;
    let stored = s
        .commit(&events_change(1_000, vec![msg("m-1", 1), msg("m-2", 1)]))
        .await
        .unwrap();
    let rows = s.outbox(None, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.event_seq, stored[1].seq);
        assert_eq!(r.status, "pending");
        assert_eq!(r.attempts, 0);
        assert_eq!(r.next_at_ms, 1_000);
        assert_eq!(r.created_ms, 1_000);
        assert_eq!(r.address, "${HOOK}");
    }
    // A change that conflicts writes neither its events nor its messages.
    let mut bad = events_change(2_000, vec![msg("m-3", 0)]);
    bad.patches
        .push((patch(9, None, PatchStatus::Reported), Some(7)));
    assert!(matches!(s.commit(&bad).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.outbox(None, 10).await.unwrap().len(), 2);
    assert_eq!(s.events(None, 0, 100).await.unwrap().len(), 2);
}

async fn outbox_lease_retry_dead_revive(db: Db) {
    let s = &db.store;
    s.commit(&events_change(1_000, vec![msg("m-1", 1), msg("m-2", 1)]))
        .await
        .unwrap();
    assert!(s.due_messages(999, 10).await.unwrap().is_empty());
    let due = s.due_messages(1_000, 1).await.unwrap();
    assert_eq!(due.len(), 1);
    let first = due[0].id.clone();
    // Leased: the next take gets only the other one, then nothing.
    let due2 = s.due_messages(1_001, 10).await.unwrap();
    assert_eq!(due2.len(), 1);
    assert_ne!(due2[0].id, first);
    assert!(s.due_messages(1_002, 10).await.unwrap().is_empty());
    // Lease expired: due again, same id.
    let again = s
        .due_messages(1_000 + sluice_store::LEASE_MS + 1, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 2);

    assert!(s.mark_delivered(&first, 5_000).await.unwrap());
    assert!(!s.mark_delivered(&first, 5_001).await.unwrap());
    let other = due2[0].id.clone();
    assert!(
        s.mark_failed(&other, 5_000, "HTTP 500", 35_000, false)
            .await
            .unwrap()
    );
    let pending = s
        .outbox(Some(sluice_store::OutboxStatus::Pending), 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(pending[0].next_at_ms, 35_000);
    assert_eq!(pending[0].last_error.as_deref(), Some("HTTP 500"));
    assert!(s.due_messages(34_999, 10).await.unwrap().is_empty());
    assert!(
        s.mark_failed(&other, 40_000, "HTTP 404", 0, true)
            .await
            .unwrap()
    );
    let dead = s
        .outbox(Some(sluice_store::OutboxStatus::Dead), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
    assert!(s.due_messages(i64::MAX / 2, 10).await.unwrap().is_empty());
    let delivered = s
        .outbox(Some(sluice_store::OutboxStatus::Delivered), 10)
        .await
        .unwrap();
    assert_eq!(delivered[0].delivered_ms, Some(5_000));

    assert!(
        !s.revive(&first, 50_000).await.unwrap(),
        "only dead ones revive"
    );
    assert!(s.revive(&other, 50_000).await.unwrap());
    let due = s.due_messages(50_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, other);
    assert_eq!(due[0].attempts, 0);
    let counts = s.outbox_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![
            ("delivered".into(), "releases".into(), "webhook".into(), 1),
            ("pending".into(), "releases".into(), "webhook".into(), 1),
        ]
    );
}

async fn concurrent_dispatchers_never_share_a_message(db: Db) {
    let s = &db.store;
    let msgs: Vec<_> = (0..40).map(|i| msg(&format!("m-{i:02}"), 1)).collect();
    s.commit(&events_change(1_000, msgs)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let due = s.due_messages(2_000, 3).await.unwrap();
                if due.is_empty() {
                    break;
                }
                got.extend(due.into_iter().map(|m| m.id));
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(n, 40, "every message taken");
    assert_eq!(all.len(), 40, "no message taken twice");
}

fn incident(id: i64, fingerprint: Option<&str>) -> sluice_core::model::Incident {
    sluice_core::model::Incident {
        id,
        env: "prod".into(),
        service: Some("shop".into()),
        release: Some("1.4.2".into()),
        title: format!("incident {id}"),
        severity: None,
        source: "alertmanager".into(),
        fingerprint: fingerprint.map(str::to_string),
        url: None,
        opened_by: "webhook:alertmanager".into(),
        opened_at: ts("2026-11-01T10:00:00Z"),
        resolved_by: None,
        resolved_at: None,
        comment: None,
    }
}

fn incident_change(i: sluice_core::model::Incident, rev: Option<i64>) -> Change {
    Change {
        actor: i.opened_by.clone(),
        at_ms: 1_700_000_000_000,
        events: vec![Event::new(
            if rev.is_none() {
                "incident.opened"
            } else {
                "incident.resolved"
            },
            i.subject(),
            serde_json::json!({"env": i.env}),
        )],
        incidents: vec![(i, rev)],
        ..Default::default()
    }
}

async fn incidents_open_list_resolve(db: Db) {
    let s = &db.store;
    let (c, stored) = s
        .commit_new_incident(|id| Ok::<_, ()>(incident_change(incident(id, Some("fp-1")), None)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.incidents[0].0.id, 1);
    assert_eq!(stored[0].subject, "incident-1");
    s.commit_new_incident(|id| Ok::<_, ()>(incident_change(incident(id, None), None)))
        .await
        .unwrap()
        .unwrap();
    let (i, rev) = s.incident(1).await.unwrap().unwrap();
    assert_eq!((i.fingerprint.as_deref(), rev), (Some("fp-1"), 1));
    let found = s.open_incident_for("alertmanager", "fp-1").await.unwrap();
    assert_eq!(found.map(|(i, _)| i.id), Some(1));
    let mut done = i.clone();
    done.resolved_at = Some(ts("2026-11-01T11:00:00Z"));
    done.resolved_by = Some("dave@example.com".into());
    s.commit(&incident_change(done.clone(), Some(1)))
        .await
        .unwrap();
    let err = s.commit(&incident_change(done, Some(1))).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert!(
        s.open_incident_for("alertmanager", "fp-1")
            .await
            .unwrap()
            .is_none()
    );
    let all = s.incidents(&Default::default()).await.unwrap();
    assert_eq!(all.iter().map(|i| i.id).collect::<Vec<_>>(), [2, 1]);
    let open = s
        .incidents(&sluice_store::IncidentQuery {
            open: true,
            env: Some("prod".into()),
            release: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(open.iter().map(|i| i.id).collect::<Vec<_>>(), [2]);
    assert!(s.incident(9).await.unwrap().is_none());
    assert_eq!(s.verify_chain().await.unwrap(), Ok(3));
}

async fn one_open_incident_per_alert(db: Db) {
    let s = &db.store;
    s.commit_new_incident(|id| Ok::<_, ()>(incident_change(incident(id, Some("fp")), None)))
        .await
        .unwrap()
        .unwrap();
    let err = s
        .commit_new_incident(|id| Ok::<_, ()>(incident_change(incident(id, Some("fp")), None)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(s.incidents(&Default::default()).await.unwrap().len(), 1);
    assert_eq!(
        s.events(None, 0, 10).await.unwrap().len(),
        1,
        "no event for the refused one"
    );
    // Resolved, the same alert may open a new incident.
    let (mut i, rev) = s.incident(1).await.unwrap().unwrap();
    i.resolved_at = Some(ts("2026-11-01T11:00:00Z"));
    s.commit(&incident_change(i, Some(rev))).await.unwrap();
    s.commit_new_incident(|id| Ok::<_, ()>(incident_change(incident(id, Some("fp")), None)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.incidents(&Default::default()).await.unwrap().len(), 2);
}

async fn repeated_delivery_writes_nothing(db: Db) {
    let s = &db.store;
    let delivery = sluice_store::Delivery {
        source: "github".into(),
        id: "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
        received_ms: 1_000,
    };
    assert!(!s.delivery_seen("github", &delivery.id).await.unwrap());
    let mut c = change(
        patch(1, None, PatchStatus::Reported),
        None,
        "patch.reported",
    );
    c.delivery = Some(delivery.clone());
    s.commit(&c).await.unwrap();
    assert!(s.delivery_seen("github", &delivery.id).await.unwrap());
    assert!(!s.delivery_seen("gitlab", &delivery.id).await.unwrap());
    let mut again = change(
        patch(2, None, PatchStatus::Reported),
        None,
        "patch.reported",
    );
    again.delivery = Some(delivery);
    let err = s.commit(&again).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    assert!(s.patch("SHOP-2").await.unwrap().is_none());
    assert_eq!(s.events(None, 0, 10).await.unwrap().len(), 1);
    // A delivery with no effect is recorded alone.
    let alone = Change {
        delivery: Some(sluice_store::Delivery {
            source: "github".into(),
            id: "ping-1".into(),
            received_ms: 2_000,
        }),
        ..Default::default()
    };
    s.commit(&alone).await.unwrap();
    assert!(matches!(
        s.commit(&alone).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(s.verify_chain().await.unwrap(), Ok(1));
}

async fn patches_are_found_by_source(db: Db) {
    let s = &db.store;
    let url = "https://github.com/Codertocat/Hello-World/issues/1";
    let mut p = patch(1, None, PatchStatus::Reported);
    p.source.reference = Some(url.into());
    s.commit(&change(p.clone(), None, "patch.reported"))
        .await
        .unwrap();
    assert_eq!(
        s.patch_by_source(url).await.unwrap().map(|p| p.key),
        Some("SHOP-1".into())
    );
    assert!(s.patch_by_source("T-1").await.unwrap().is_none());
    // An update keeps the column in step with the patch.
    p.source.reference = Some("T-9".into());
    p.status = PatchStatus::Triaged;
    s.commit(&change(p, Some(1), "patch.triaged"))
        .await
        .unwrap();
    assert!(s.patch_by_source(url).await.unwrap().is_none());
    assert_eq!(
        s.patch_by_source("T-9").await.unwrap().map(|p| p.key),
        Some("SHOP-1".into())
    );
}

/// A claim whose server died: before its lease lapses it is in progress; after,
/// it is taken over (once) if its write never committed, and answered as
/// committed (never run again) if it did.
async fn idempotency_claims_lapse_after_a_crash(db: Db) {
    use sluice_store::{Claim, IDEMPOTENCY_LEASE_MS as LEASE};
    let s = &db.store;
    let t0 = 1_000_000;
    // Claimed, then the server died before any write.
    assert_eq!(
        s.idempotency_claim("u", "k1", "h", t0).await.unwrap(),
        Claim::Fresh
    );
    assert_eq!(
        s.idempotency_claim("u", "k1", "h", t0 + LEASE)
            .await
            .unwrap(),
        Claim::InProgress
    );
    assert_eq!(
        s.idempotency_claim("u", "k1", "other", t0 + LEASE + 1)
            .await
            .unwrap(),
        Claim::Mismatch
    );
    assert_eq!(
        s.idempotency_claim("u", "k1", "h", t0 + LEASE + 1)
            .await
            .unwrap(),
        Claim::Fresh,
        "taken over"
    );
    // The taker renewed it: nobody else takes it over meanwhile.
    assert_eq!(
        s.idempotency_claim("u", "k1", "h", t0 + LEASE + 2)
            .await
            .unwrap(),
        Claim::InProgress
    );
    s.idempotency_renew("u", "k1", t0 + 2 * LEASE)
        .await
        .unwrap();
    assert_eq!(
        s.idempotency_claim("u", "k1", "h", t0 + 3 * LEASE)
            .await
            .unwrap(),
        Claim::InProgress,
        "renewed: still running"
    );
    s.idempotency_finish("u", "k1", 201, "{}").await.unwrap();
    assert!(matches!(
        s.idempotency_claim("u", "k1", "h", t0 + 9 * LEASE).await.unwrap(),
        Claim::Replay(r) if r.status == 201
    ));

    // Claimed, its write committed, then the server died before answering.
    assert_eq!(
        s.idempotency_claim("u", "k2", "h", t0).await.unwrap(),
        Claim::Fresh
    );
    let mut c = change(
        patch(1, None, PatchStatus::Reported),
        None,
        "patch.reported",
    );
    c.claim = Some(("u".into(), "k2".into()));
    s.commit(&c).await.unwrap();
    assert_eq!(
        s.idempotency_claim("u", "k2", "h", t0 + 1).await.unwrap(),
        Claim::InProgress
    );
    let Claim::Replay(r) = s
        .idempotency_claim("u", "k2", "h", t0 + LEASE + 1)
        .await
        .unwrap()
    else {
        panic!("a committed claim is answered, not run again");
    };
    assert_eq!(r.status, 200);
    assert!(r.body.contains("\"committed\":true"), "{}", r.body);
    // A server error after the commit keeps the claim too.
    assert_eq!(
        s.idempotency_claim("u", "k3", "h", t0).await.unwrap(),
        Claim::Fresh
    );
    let mut c = change(
        patch(2, None, PatchStatus::Reported),
        None,
        "patch.reported",
    );
    c.claim = Some(("u".into(), "k3".into()));
    s.commit(&c).await.unwrap();
    s.idempotency_release("u", "k3").await.unwrap();
    assert_ne!(
        s.idempotency_claim("u", "k3", "h", t0 + LEASE + 1)
            .await
            .unwrap(),
        Claim::Fresh
    );
    // One that failed before committing is released for a retry.
    assert_eq!(
        s.idempotency_claim("u", "k4", "h", t0).await.unwrap(),
        Claim::Fresh
    );
    s.idempotency_release("u", "k4").await.unwrap();
    assert_eq!(
        s.idempotency_claim("u", "k4", "h", t0 + 1).await.unwrap(),
        Claim::Fresh
    );
}
