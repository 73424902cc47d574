//! Every command, one row each: its request type, its answer, its route, and
//! the application method it runs. The server's router and OpenAPI document
//! and the CLI's remote mode are all built from these rows.

use sluice_core::decide::{IncidentInput, ReportInput, TriageInput};
use sluice_core::model::{Incident, Patch, Release, Retro, Source, SourceKind};

use super::command::{at, command};
use super::*;
use crate::dispatch::{FlushReport, OutboxCount};
use crate::notes::NotesFormat;
use crate::{
    AnchorReport, Anchored, AppError, Approved, AuditReport, AuditVerify, ChecklistView,
    CutOptions, EnvStatus, IncidentQuery, IncidentView, OutboxRow, OutboxStatus, PatchList,
    PatchQuery, PatchView, PlanView, PromoteOutcome, ReleaseView, RetroView, RollbackOutcome,
    TickReport,
};

command!(Status => Vec<EnvStatus> {
    Get "/status", Nothing, "status", "What every environment holds and what waits to enter it";
    |_, app, _, now, _| app.status(now)
});

// Patches.

impl From<ReportPatch> for ReportInput {
    fn from(b: ReportPatch) -> ReportInput {
        ReportInput {
            title: b.title,
            description: b.description,
            kind: b.kind,
            severity: b.severity,
            source: Some(Source {
                kind: b.source.unwrap_or(SourceKind::Bug),
                reference: b.reference,
            }),
            targets: b.lines,
        }
    }
}

command!(ReportPatch => Patch {
    Post "/patches", Body, "reportPatch", "Report a patch", created = true;
    |b, app, who, now, _| app.report_patch(who, now, b.into())
});

impl PatchFilter {
    /// The store's query; a bad status or line is refused.
    pub fn query(self) -> crate::Result<PatchQuery> {
        let statuses = self.statuses().map_err(AppError::Invalid)?;
        if let Some(l) = self.line.as_deref() {
            l.parse::<sluice_core::model::Target>()
                .map_err(|e| AppError::Invalid(format!("line: {e}")))?;
        }
        Ok(PatchQuery {
            statuses,
            all: self.all,
            kind: self.kind,
            severity: self.severity,
            owner: self.owner,
            target: self.line,
            now_ms: 0,
            limit: self.limit.unwrap_or(100),
            count: self.count,
        })
    }
}

command!(PatchFilter => PatchList {
    Get "/patches", Query, "listPatches", "Open patches, overdue first";
    |q, app, _, now, _| async move { app.list_patches(now, q.query()?).await }
});

command!(ShowPatch => PatchView {
    Get "/patches/{key}", Nothing, "showPatch", "One patch and its history";
    |_, app, _, now, p| app.show_patch(now, at(p, 0))
});

impl From<TriagePatch> for TriageInput {
    fn from(b: TriagePatch) -> TriageInput {
        TriageInput {
            severity: b.severity,
            kind: b.kind,
            priority: b.priority,
            owner: b.owner,
            targets: b.lines,
        }
    }
}

command!(TriagePatch => Patch {
    Post "/patches/{key}/triage", Body, "triagePatch", "Set severity, kind, priority, owner and lines";
    |b, app, who, now, p| app.triage_patch(who, now, at(p, 0), b.into())
});

command!(StartPatch => Patch {
    Post "/patches/{key}/start", Nothing, "startPatch", "Begin work: take ownership and create the branch";
    |_, app, who, now, p| app.start_patch(who, now, at(p, 0))
});

command!(ReviewPatch => Patch {
    Post "/patches/{key}/review", Body, "reviewPatch", "Ask for review, or give one";
    |b, app, who, now, p| app.review_patch(who, now, at(p, 0), b.approve, b.comment)
});

command!(ReadyPatch => Patch {
    Post "/patches/{key}/ready", Nothing, "readyPatch", "Mark a reviewed patch ready to ship";
    |_, app, who, now, p| app.ready_patch(who, now, at(p, 0))
});

command!(RejectPatch => Patch {
    Post "/patches/{key}/reject", Body, "rejectPatch", "Close a patch that will not be fixed";
    |b, app, who, now, p| app.reject_patch(who, now, at(p, 0), b.reason)
});

command!(DeferPatch => Patch {
    Post "/patches/{key}/defer", Body, "deferPatch", "Put a patch aside";
    |b, app, who, now, p| app.defer_patch(who, now, at(p, 0), b.reason)
});

command!(PortPatch => Patch {
    Post "/patches/{key}/port", Body, "portPatch", "Carry a patch's commits to another line";
    |b, app, who, now, p| app.port_patch(who, now, at(p, 0), b.to)
});

// Releases.

command!(PlanRelease => PlanView {
    Post "/releases/plan", Body, "planRelease", "What the next release of a line would hold";
    |b, app, who, now, _| app.plan_release(who, now, b.line, b.target.as_deref())
});

command!(CutRelease => Release {
    Post "/releases", Body, "cutRelease", "Cut the next release of a line", created = true;
    |b, app, who, now, _| app.cut_release(who, now, b.line, CutOptions {
        target: b.target,
        allow_scope: b.allow_scope,
        no_assemble: b.no_assemble,
    })
});

command!(ListReleases => Vec<Release> {
    Get "/releases", Nothing, "listReleases", "Every release";
    |_, app, _, _, _| app.list_releases()
});

command!(ImportRelease => Release {
    Post "/releases/import", Body, "importRelease", "Record an existing tag as a baseline release", created = true;
    |b, app, who, now, _| app.import_release(who, now, &b.version, b.env.as_deref())
});

command!(ShowRelease => ReleaseView {
    Get "/releases/{version}", Nothing, "showRelease", "A release, its patches and its next gate";
    |_, app, _, now, p| app.show_release(now, at(p, 0))
});

command!(AmendRelease => Release {
    Post "/releases/{version}/amend", Body, "amendRelease", "Add or remove patches (voids approvals)";
    |b, app, who, now, p| app.amend_release(who, now, at(p, 0), &b.add, &b.remove)
});

impl NotesQuery {
    pub fn format(&self) -> crate::Result<NotesFormat> {
        self.format
            .as_deref()
            .unwrap_or("md")
            .parse()
            .map_err(AppError::Invalid)
    }
}

command!(NotesQuery => String {
    Get "/releases/{version}/notes", Query, "releaseNotes", "The release notes, rendered";
    |q, app, _, _, p| async move { app.release_notes(at(p, 0), q.format()?).await }
});

command!(Notes => Release {
    Put "/releases/{version}/notes", Body, "editNotes", "Replace the release notes with a person's text";
    |b, app, who, now, p| app.edit_notes(who, now, at(p, 0), &b.text)
});

command!(ReportTest => Release {
    Post "/releases/{version}/tests", Body, "reportTest", "Record a suite's result in an environment";
    |b, app, who, now, p| app.report_test(who, now, at(p, 0), &b.env, &b.suite, b.passed, b.url)
});

command!(Approve => Approved {
    Post "/releases/{version}/approvals", Body, "approve", "Approve a release into an environment as a role";
    |b, app, who, now, p| app.approve(who, now, at(p, 0), &b.env, b.role.as_deref(), b.emergency, b.comment)
});

command!(ShowChecklist => ChecklistView {
    Get "/releases/{version}/checklist", Nothing, "checklist", "The release's checklist";
    |_, app, _, _, p| app.checklist(at(p, 0))
});

command!(TickItem => ChecklistView {
    Post "/releases/{version}/checklist/{item}", Nothing, "tickChecklist", "Mark a checklist item done";
    |_, app, who, now, p| app.tick(who, now, at(p, 0), at(p, 1))
});

command!(Promote => PromoteOutcome {
    Post "/releases/{version}/promotions", Body, "promote", "Move a release into an environment through its gate";
    |b, app, who, now, p| app.promote(who, now, at(p, 0), &b.to, b.emergency_reason.as_deref())
});

command!(FollowUp => Release {
    Post "/releases/{version}/follow-up", Body, "closeFollowUp", "Close an emergency change's follow-up review";
    |b, app, who, now, p| app.close_follow_up(who, now, at(p, 0), &b.env, b.comment)
});

command!(Rollback => RollbackOutcome {
    Post "/environments/{env}/rollback", Body, "rollback", "Return an environment to an earlier release";
    |b, app, who, now, p| app.rollback(who, now, at(p, 0), b.to.as_deref())
});

// Incidents.

impl From<OpenIncident> for IncidentInput {
    fn from(b: OpenIncident) -> IncidentInput {
        IncidentInput {
            env: b.env,
            service: b.service,
            title: b.title,
            severity: b.severity,
            source: "manual".into(),
            fingerprint: None,
            url: b.url,
        }
    }
}

command!(OpenIncident => Incident {
    Post "/incidents", Body, "openIncident", "Open an incident on what an environment holds", created = true;
    |b, app, who, now, _| app.open_incident(who, now, b.into())
});

command!(IncidentFilter => Vec<Incident> {
    Get "/incidents", Query, "listIncidents", "Incidents, newest first";
    |q, app, _, _, _| app.incidents(IncidentQuery {
        open: q.open,
        env: q.env,
        release: q.release,
        limit: q.limit.unwrap_or(100),
    })
});

/// Incident ids are numbers; anything else names no incident.
fn incident_id(id: &str) -> crate::Result<i64> {
    id.parse()
        .map_err(|_| AppError::NotFound(format!("no incident `{id}`; incident ids are numbers")))
}

command!(ShowIncident => IncidentView {
    Get "/incidents/{id}", Nothing, "showIncident", "One incident and its history";
    |_, app, _, _, p| async move { app.incident(incident_id(at(p, 0))?).await }
});

command!(ResolveIncident => Incident {
    Post "/incidents/{id}/resolve", Body, "resolveIncident", "Resolve an incident";
    |b, app, who, now, p| async move {
        app.resolve_incident(who, now, incident_id(at(p, 0))?, b.comment).await
    }
});

// The audit log.

command!(AuditQuery => AuditReport {
    Get "/audit", Query, "audit", "The audit log";
    |q, app, _, _, _| async move {
        let limit = q.limit.unwrap_or(1000);
        if q.newest {
            app.audit_newest(q.subject.as_deref(), q.event.as_deref(), q.before.unwrap_or(0), limit)
                .await
                .map(|events| AuditReport { events })
        } else {
            app.audit_kind(q.subject.as_deref(), q.event.as_deref(), q.after.unwrap_or(0), limit)
                .await
        }
    }
});

command!(VerifyAudit => AuditVerify {
    Get "/audit/verify", Nothing, "auditVerify", "Recompute the hash chain";
    |_, app, _, _, _| app.audit_verify()
});

command!(AuditAnchors => AnchorReport {
    Get "/audit/anchors", Nothing, "auditAnchors", "Check the chain against the heads git witnessed";
    |_, app, _, _, _| app.audit_verify_against_git()
});

command!(AnchorAudit => Anchored {
    Post "/audit/anchor", Nothing, "auditAnchor", "Write the chain's head into git (refs/notes/sluice-audit)";
    |_, app, _, now, _| app.audit_anchor(now)
});

// Notifications.

impl NotificationQuery {
    pub fn status(&self) -> crate::Result<Option<OutboxStatus>> {
        Ok(match self.status.as_deref() {
            None | Some("") | Some("all") => None,
            Some("pending") => Some(OutboxStatus::Pending),
            Some("delivered") => Some(OutboxStatus::Delivered),
            Some("dead") => Some(OutboxStatus::Dead),
            Some(x) => {
                return Err(AppError::Invalid(format!(
                    "unknown status `{x}`; use pending, delivered or dead"
                )));
            }
        })
    }
}

command!(NotificationQuery => Vec<OutboxRow> {
    Get "/notifications", Query, "listNotifications", "Outbox messages";
    |q, app, _, _, _| async move {
        app.notifications(q.status()?, q.limit.unwrap_or(100).max(0) as usize).await
    }
});

command!(NotificationCounts => Vec<OutboxCount> {
    Get "/notifications/status", Nothing, "notificationStatus", "Outbox counts per status and channel";
    |_, app, _, _, _| app.notification_counts()
});

command!(Flush => FlushReport {
    Post "/notifications/flush", Body, "flushNotifications", "Deliver due messages now";
    |b, app, who, now, _| app.flush_notifications(who, now, b.max.unwrap_or(100))
});

command!(RetryNotification => String {
    Post "/notifications/{id}/retry", Nothing, "retryNotification", "Revive a dead or failing message";
    |_, app, who, now, _p| async move {
        Ok(app.retry_notification(who, at(_p, 0), now).await?.to_string())
    }
});

// Time.

command!(Tick => TickReport {
    Post "/tick", Nothing, "tick", "Record what time has made true (overdue patches, waiting gates, freezes starting, overdue follow-ups), each once";
    |_, app, _, now, _| app.timed_pass(now)
});

// Retrospectives.

command!(RetroFilter => Vec<Retro> {
    Get "/retros", Query, "listRetros", "Retrospectives, newest first";
    |q, app, _, _, _| app.retros(q.open)
});

command!(ShowRetro => RetroView {
    Get "/retros/{id}", Nothing, "showRetro", "One retrospective: its document (the team's, or generated from the audit log) and its actions";
    |_, app, _, now, p| app.retro(now, at(p, 0))
});

command!(RetroText => Retro {
    Put "/retros/{id}", Body, "editRetro", "Replace a retrospective's document with the team's text";
    |b, app, who, now, p| app.edit_retro(who, now, at(p, 0), &b.text)
});

command!(CompleteRetro => Retro {
    Post "/retros/{id}/complete", Nothing, "completeRetro", "Complete a retrospective (its owner role, once written)";
    |_, app, who, now, p| app.complete_retro(who, now, at(p, 0))
});

// What waits on me.

command!(ShowInbox => crate::views::Inbox {
    Get "/inbox", Nothing, "inbox", "What the user can do now: gate requirements their roles meet, reviews, overdue patches, follow-ups, retrospectives";
    |_, app, who, now, _| app.inbox(who, now)
});

// Metrics.

command!(MetricsQuery => sluice_core::metrics::Metrics {
    Get "/metrics", Query, "metrics", "The four DORA keys, rework, patch success, deadlines by severity and where releases wait, over a period";
    |q, app, _, now, _| app.metrics(now, &q)
});
