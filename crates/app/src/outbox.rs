//! Turning a change's events into outbox messages: the one place where the
//! stakeholder matrix is applied to what a command did. [`App::commit`] calls
//! it for every change, so no command can forget its notifications.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use sluice_core::audit::StoredEvent;
use sluice_core::model::{Patch, Release};
use sluice_core::notify::{self, Facts};
use sluice_core::process::{Bump, Process};
use sluice_store::{Change, OutboxMessage};

use crate::App;

/// The matrix event name for a Sluice event kind, if it is one: the stakeholder
/// matrix uses Sluice's own event names, so any kind the process file may name
/// in `on` (`sluice_core::process::EVENTS`) notifies.
pub fn notify_event(kind: &str) -> Option<&'static str> {
    sluice_core::process::EVENTS
        .iter()
        .copied()
        .find(|k| *k == kind)
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new message id: unique across processes (time and pid) and within one
/// (a counter). Assigned once; every retry reuses it.
pub(crate) fn message_id(now_ms: i64) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("msg-{now_ms}-{}-{n}", std::process::id())
}

/// The release type of a version relative to the one before it.
pub(crate) fn release_type(r: &Release) -> Bump {
    match &r.previous {
        None => {
            if r.version.major > 0 && r.version.minor == 0 && r.version.patch == 0 {
                Bump::Major
            } else if r.version.patch == 0 {
                Bump::Minor
            } else {
                Bump::Patch
            }
        }
        Some(p) if r.version.major != p.major => Bump::Major,
        Some(p) if r.version.minor != p.minor => Bump::Minor,
        Some(_) => Bump::Patch,
    }
}

/// Patches and releases the change does not carry itself, read beforehand.
#[derive(Default)]
pub(crate) struct Lookup {
    pub patches: HashMap<String, Patch>,
    pub releases: HashMap<String, Release>,
}

fn find_patch<'a>(c: &'a Change, l: &'a Lookup, key: &str) -> Option<&'a Patch> {
    c.patches
        .iter()
        .map(|(p, _)| p)
        .find(|p| p.key == key)
        .or_else(|| l.patches.get(key))
}

fn find_release<'a>(c: &'a Change, l: &'a Lookup, v: &str) -> Option<&'a Release> {
    c.releases
        .iter()
        .map(|(r, _)| r)
        .find(|r| r.version.to_string() == v)
        .or_else(|| l.releases.get(v))
}

/// The release an event concerns: its subject, or a patch event's `release`.
fn release_of(e: &sluice_core::event::Event) -> Option<String> {
    if e.kind.starts_with("release.") {
        Some(e.subject.clone())
    } else {
        e.payload
            .get("release")
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// What must be read before [`messages`] can compute the facts.
pub(crate) fn wanted(c: &Change) -> (Vec<String>, Vec<String>) {
    let mut releases = Vec::new();
    let mut patches = Vec::new();
    for e in c.events.iter().filter(|e| notify_event(e.kind).is_some()) {
        if e.kind.starts_with("patch.") {
            patches.push(e.subject.clone());
        }
        if let Some(v) = release_of(e) {
            releases.push(v);
        }
    }
    (patches, releases)
}

/// The facts the matrix routes on, for one event of a change.
pub(crate) fn facts(c: &Change, l: &Lookup, e: &sluice_core::event::Event) -> Option<Facts> {
    let event = notify_event(e.kind)?;
    let env = e
        .payload
        .get("env")
        .and_then(Value::as_str)
        .map(str::to_string);
    let release = release_of(e).and_then(|v| find_release(c, l, &v));
    let mut severities: Vec<String> = Vec::new();
    // An incident's own severity counts, then those of its release's patches.
    if e.kind.starts_with("incident.")
        && let Some(s) = e.payload.get("severity").and_then(Value::as_str)
    {
        severities.push(s.to_string());
    }
    if e.kind.starts_with("patch.") {
        if let Some(s) = find_patch(c, l, &e.subject).and_then(|p| p.severity.clone()) {
            severities.push(s);
        } else if let Some(s) = e.payload.get("severity").and_then(Value::as_str) {
            severities.push(s.to_string());
        }
    } else if let Some(r) = release {
        for key in &r.patches {
            if let Some(s) = find_patch(c, l, key).and_then(|p| p.severity.clone())
                && !severities.contains(&s)
            {
                severities.push(s);
            }
        }
    }
    Some(Facts {
        event: event.to_string(),
        env,
        severities,
        release_type: release.map(release_type),
    })
}

/// One message per delivery the matrix makes for each notify event of `c`.
pub(crate) fn messages(p: &Process, c: &Change, l: &Lookup) -> Vec<OutboxMessage> {
    let mut out = Vec::new();
    for (i, e) in c.events.iter().enumerate() {
        let Some(f) = facts(c, l, e) else { continue };
        let deliveries = notify::route(p, &f);
        if deliveries.is_empty() {
            continue;
        }
        let payload = json!({
            "project": p.project.name,
            "event": f.event,
            "subject": e.subject,
            "actor": c.actor,
            "at_ms": c.at_ms,
            "env": f.env,
            "severities": f.severities,
            "release_type": f.release_type,
            "data": e.payload,
        })
        .to_string();
        for d in deliveries {
            out.push(OutboxMessage {
                id: message_id(c.at_ms),
                event_index: i,
                event_kind: f.event.clone(),
                channel: d.channel,
                transport: d.transport.to_string(),
                address: d.address,
                payload: payload.clone(),
            });
        }
    }
    out
}

impl App {
    /// Commits a change with its notifications: every command's write goes
    /// through here (or through [`App::with_outbox`] inside
    /// `commit_new_patch`), so the outbox rows are in the same transaction as
    /// the events that cause them.
    pub(crate) async fn commit(&self, mut c: Change) -> sluice_store::Result<Vec<StoredEvent>> {
        self.add_outbox(&mut c).await?;
        let moved = self.origin().claim_into(&mut c, true);
        let res = self.store.commit(&c).await;
        if res.is_err() {
            // Nothing was written: the next effect (or the end) records them.
            self.origin().put_back(&mut c, moved);
        }
        res
    }

    /// Adds the outbox rows of a change, reading the patches and releases its
    /// events concern that it does not carry.
    pub(crate) async fn add_outbox(&self, c: &mut Change) -> sluice_store::Result<()> {
        // Nothing to route: no reads. (An event that names no patch or release,
        // such as a freeze starting or an incident on an empty environment, is
        // routed all the same.)
        if !c.events.iter().any(|e| notify_event(e.kind).is_some()) {
            return Ok(());
        }
        let (patch_keys, versions) = wanted(c);
        let mut l = Lookup::default();
        for v in versions {
            if find_release(c, &l, &v).is_none()
                && let Some((r, _)) = self.store.release(&v).await?
            {
                l.releases.insert(v, r);
            }
        }
        let mut keys = patch_keys;
        for r in l.releases.values().chain(c.releases.iter().map(|(r, _)| r)) {
            keys.extend(r.patches.iter().cloned());
        }
        keys.retain(|k| find_patch(c, &l, k).is_none());
        keys.sort();
        keys.dedup();
        if !keys.is_empty() {
            for (p, _) in self.store.patches_by_key(&keys).await? {
                l.patches.insert(p.key.clone(), p);
            }
        }
        c.outbox = messages(&self.process, c, &l);
        Ok(())
    }

    /// Adds outbox rows from the change alone (no reads), for changes built
    /// inside a transaction such as a new patch's.
    pub(crate) fn with_outbox(&self, mut c: Change) -> Change {
        c.outbox = messages(&self.process, &c, &Lookup::default());
        self.origin().claim_into(&mut c, false);
        c
    }

    /// Like [`App::with_outbox`], with patches and releases read beforehand.
    pub(crate) fn with_outbox_from(&self, mut c: Change, l: &Lookup) -> Change {
        c.outbox = messages(&self.process, &c, l);
        self.origin().claim_into(&mut c, false);
        c
    }
}
