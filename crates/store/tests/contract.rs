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
            let url = testing::fresh_postgres_url()
                .await
                .expect("PostgreSQL on 127.0.0.1:5432 (or SLUICE_TEST_POSTGRES)");
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

async fn tampering_is_detected(db: Db) {
    let s = &db.store;
    for n in 1..=5 {
        s.commit(&change(
            patch(n, None, PatchStatus::Reported),
            None,
            "patch.reported",
        ))
        .await
        .unwrap();
    }
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
    for n in 1..=3 {
        s.commit(&change(
            patch(n, None, PatchStatus::Reported),
            None,
            "patch.reported",
        ))
        .await
        .unwrap();
    }
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

async fn reopening_keeps_data(db: Db) {
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
    patch_list_puts_overdue_first,
    reopening_keeps_data,
);
