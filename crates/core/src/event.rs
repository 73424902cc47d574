//! Events: every change Sluice makes is one or more of these, appended to the
//! audit log in the same transaction as the state change.

use serde::Serialize;
use serde_json::Value;

/// An event as a decider produces it; the store adds sequence, time, actor and hashes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Dotted kind, `patch.reported`, `release.deployed`, ...
    pub kind: &'static str,
    /// The patch key or release version the event is about.
    pub subject: String,
    pub payload: Value,
}

impl Event {
    pub fn new(kind: &'static str, subject: impl Into<String>, payload: Value) -> Event {
        Event {
            kind,
            subject: subject.into(),
            payload,
        }
    }
}

/// The events a `[[notify]]` rule may name in `on`: the notifier emits each.
pub const NOTIFIABLE: &[&str] = &[
    "patch.reported",
    "patch.triaged",
    "patch.overdue",
    "patch.ready",
    "patch.released",
    "patch.reopened",
    "release.cut",
    "release.approved",
    "release.deployed",
    "release.failed",
    "release.rolled_back",
    "gate.waiting",
    "incident.opened",
    "incident.resolved",
    "freeze.starting",
    "release.follow_up_overdue",
    "release.watch_ended",
    "release.rollback_needed",
    "retro.opened",
    "retro.overdue",
];

/// Every event kind Sluice writes, for documentation and filters.
pub const KINDS: &[&str] = &[
    "patch.reported",
    "patch.triaged",
    "patch.started",
    "patch.reviewed",
    "patch.ready",
    "patch.rejected",
    "patch.deferred",
    "patch.released",
    "patch.verified",
    "patch.reopened",
    "patch.ported",
    "release.imported",
    "release.cut",
    "release.amended",
    "release.approved",
    "release.checklist_ticked",
    "release.test_reported",
    "release.promotion_started",
    "release.deployed",
    "release.failed",
    "release.rollback_started",
    "release.rolled_back",
    "release.rollback_failed",
    "release.follow_up_closed",
    "release.notes_edited",
    "release.scope_overridden",
    "release.tagged",
    "token.created",
    "token.revoked",
    "incident.opened",
    "incident.resolved",
    "patch.overdue",
    "gate.waiting",
    "freeze.starting",
    "release.follow_up_overdue",
    "release.watch_ended",
    "release.rollback_needed",
    "retro.opened",
    "retro.edited",
    "retro.completed",
    "retro.overdue",
];
