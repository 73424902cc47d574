//! Building a large history fast, shared by the benchmarks that need one
//! (`ui`, `metrics`): a release made through every command (the template the
//! bulk is cloned from), events appended to the audit chain with the real
//! hash function, and multi-row inserts in batches.

use anyhow::Result;
use jiff::Timestamp;
use sluice_core::decide::TriageInput;
use sluice_core::model::Target;
use sluice_store::Store;

use crate::fixture::report_input;

/// A query whose arguments it owns.
pub(crate) type AnyQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// One real release through every command: three patches reported, triaged,
/// started, reviewed and ready, the release cut, tested, approved, ticked and
/// promoted through `local → dev → test → prod` of the bench process; `stop`
/// leaves it in that environment.
pub(crate) async fn real_release(
    app: &sluice_app::App,
    seq: &mut usize,
    stop: Option<&str>,
) -> Result<String> {
    let now = Timestamp::now;
    for _ in 0..3 {
        *seq += 1;
        let p = app.report_patch("dev1", now(), report_input(*seq)).await?;
        let k = p.key.as_str();
        let triage = TriageInput {
            owner: Some("dev1".into()),
            targets: vec![Target::Main],
            ..Default::default()
        };
        app.triage_patch("lead", now(), k, triage).await?;
        app.start_patch("dev1", now(), k).await?;
        app.review_patch("dev2", now(), k, Some(true), None).await?;
        app.ready_patch("dev1", now(), k).await?;
    }
    let r = app
        .cut_release("rm", now(), Target::Main, Default::default())
        .await?;
    let v = r.version.to_string();
    let steps: [(&str, &[&str]); 4] = [
        ("local", &["unit"]),
        ("dev", &["integration"]),
        ("test", &["smoke"]),
        ("prod", &["canary"]),
    ];
    for (env, suites) in steps {
        if env == "test" {
            app.approve("qa", now(), &v, "test", Some("qa"), false, None)
                .await?;
        }
        if env == "prod" {
            app.approve("po", now(), &v, "prod", Some("product_owner"), false, None)
                .await?;
            app.tick("rm", now(), &v, "notes").await?;
        }
        app.promote("rm", now(), &v, env, None).await?;
        for s in suites {
            app.report_test("qa", now(), &v, env, s, true, None).await?;
        }
        if stop == Some(env) {
            break;
        }
    }
    Ok(v)
}

/// An event to append: the store's columns before sequence and hashes.
pub(crate) struct NewEvent {
    pub(crate) at_ms: i64,
    pub(crate) actor: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) subject: String,
    pub(crate) payload: String,
}

/// Appends `events`, in the order given, to the audit chain: each chained to
/// the one before with `sluice_core::audit::chain`, so `audit verify` still
/// passes; multi-row inserts in one transaction, the chain head moved at the
/// end. Returns the new head's sequence number.
pub(crate) async fn append_events(
    store: &Store,
    events: impl IntoIterator<Item = NewEvent>,
) -> Result<i64> {
    use sqlx::Row;
    const ROWS: usize = 1000;
    let pool = store.pool();
    let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let (mut seq, mut hash): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
    let mut tx = pool.begin().await?;
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let batch: Vec<NewEvent> = events.by_ref().take(ROWS).collect();
        let sql = format!(
            "INSERT INTO events (seq, at_ms, actor, kind, subject, payload, prev_hash, hash) VALUES {}",
            sluice_store::values_rows(batch.len(), 8, "")
        );
        let mut q: AnyQuery = sqlx::query(sqlx::AssertSqlSafe(sql));
        for n in batch {
            let e = sluice_core::audit::chain(
                Some((&hash, seq)),
                n.at_ms,
                n.actor,
                n.kind,
                &n.subject,
                n.payload,
            );
            seq = e.seq;
            hash = e.hash.clone();
            q = q
                .bind(e.seq)
                .bind(e.at_ms)
                .bind(e.actor)
                .bind(e.kind)
                .bind(e.subject)
                .bind(e.payload)
                .bind(e.prev_hash)
                .bind(e.hash);
        }
        q.execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(seq)
}

/// Inserts `rows` into `head` (`INSERT INTO t (a, b, ...)`) in multi-row
/// statements of `per` rows, `cols` placeholders each followed by `tail`
/// (constant columns), in one transaction; `bind` binds one row's values.
pub(crate) async fn insert_batched<T>(
    store: &Store,
    head: &str,
    cols: usize,
    tail: &str,
    rows: &[T],
    per: usize,
    bind: impl Fn(AnyQuery, &T) -> Result<AnyQuery>,
) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    for chunk in rows.chunks(per.max(1)) {
        let sql = format!(
            "{head} VALUES {}",
            sluice_store::values_rows(chunk.len(), cols, tail)
        );
        let mut q: AnyQuery = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = bind(q, r)?;
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
