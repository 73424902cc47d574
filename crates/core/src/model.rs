//! The things Sluice keeps: patches, releases and what happens to them.
//! Plain data; the rules live in `decide`.

use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::process::Line;

/// Where a patch is meant to ship: the next release from main, or a maintained line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Main,
    Line(Line),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Main => f.write_str("main"),
            Target::Line(l) => l.fmt(f),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        if s == "main" {
            Ok(Target::Main)
        } else {
            s.parse::<Line>()
                .map(Target::Line)
                .map_err(|_| format!("`{s}` is neither `main` nor a release line MAJOR.MINOR"))
        }
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Line, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Both are written as text: `main`, or a line `MAJOR.MINOR`.
#[cfg(feature = "schema")]
mod schema {
    use std::borrow::Cow;

    use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

    impl JsonSchema for super::Target {
        fn schema_name() -> Cow<'static, str> {
            "Target".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "description": "`main`, or a maintained line `MAJOR.MINOR`",
                "pattern": "^(main|[0-9]+\\.[0-9]+)$",
            })
        }
    }

    impl JsonSchema for super::Line {
        fn schema_name() -> Cow<'static, str> {
            "Line".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "description": "a release line `MAJOR.MINOR`",
                "pattern": "^[0-9]+\\.[0-9]+$",
            })
        }
    }
}

macro_rules! names {
    ($(#[$m:meta])* $ty:ident { $($v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $ty { $($v),* }
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$v),*];
            pub fn as_str(self) -> &'static str { match self { $($ty::$v => $s),* } }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<$ty, String> {
                $ty::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let all: Vec<&str> = $ty::ALL.iter().map(|v| v.as_str()).collect();
                    format!("`{s}` is not one of: {}", all.join(", "))
                })
            }
        }
    };
}

names!(
    /// Where a patch stands. `reported → triaged → in_progress → in_review → ready →
    /// released → verified`, exits `rejected` and `deferred`.
    PatchStatus {
        Reported = "reported",
        Triaged = "triaged",
        InProgress = "in_progress",
        InReview = "in_review",
        Ready = "ready",
        Released = "released",
        Verified = "verified",
        Rejected = "rejected",
        Deferred = "deferred",
    }
);

impl PatchStatus {
    /// Still work to do (counts toward deadlines).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            PatchStatus::Released
                | PatchStatus::Verified
                | PatchStatus::Rejected
                | PatchStatus::Deferred
        )
    }
}

names!(
    /// What a patch was reported from.
    SourceKind {
        Bug = "bug",
        Feedback = "feedback",
        Alert = "alert",
        Advisory = "advisory",
        Retro = "retro",
    }
);

names!(
    /// Where a release stands: `candidate → released`, exits `aborted`, `rolled_back`.
    ReleaseStatus {
        Candidate = "candidate",
        Released = "released",
        Aborted = "aborted",
        RolledBack = "rolled_back",
    }
);

names!(
    /// What an approval is for.
    ApprovalKind {
        Standard = "standard",
        Emergency = "emergency",
    }
);

names!(
    /// The outcome of a deployment or a rollback.
    Outcome {
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        TimedOut = "timed_out",
        Abandoned = "abandoned",
    }
);

names!(
    /// A deployment moves a release into an environment; a rollback moves it out.
    DeploymentAction {
        Deploy = "deploy",
        Rollback = "rollback",
    }
);

/// The reference to a patch's origin: type plus ticket key, URL or alert fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Source {
    pub kind: SourceKind,
    pub reference: Option<String>,
}

/// A peer review of a patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PatchReview {
    pub reviewer: String,
    pub approved: bool,
    pub comment: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Patch {
    pub key: String,
    pub number: i64,
    pub title: String,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub severity: Option<String>,
    pub priority: Option<String>,
    pub source: Source,
    pub reporter: String,
    pub owner: Option<String>,
    /// Where the fix ships; empty until triaged.
    pub targets: Vec<Target>,
    pub branch: Option<String>,
    pub reviews: Vec<PatchReview>,
    pub status: PatchStatus,
    /// The release that holds it, once cut.
    pub release: Option<String>,
    pub resolution: Option<String>,
    pub reopened: u32,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub reported_at: Timestamp,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub triaged_at: Option<Timestamp>,
    /// `reported_at + fix_within` of its severity.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub deadline: Option<Timestamp>,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub updated_at: Timestamp,
    /// The fix carried to other lines with `patch port`.
    #[serde(default)]
    pub ports: Vec<Port>,
    /// The commit its branch was cut from (`patch start`): the fix is what the branch
    /// holds beyond it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_commit: Option<String>,
    /// Who ran `patch start` (for separation of duties: they may not review it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

/// A patch carried to another line: its branch and the commits picked there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Port {
    pub target: Target,
    pub branch: String,
    pub commits: Vec<String>,
    pub by: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
    /// The release that ships the fix on that line, once cut.
    #[serde(default)]
    pub release: Option<String>,
}

impl Patch {
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status.is_open() && self.deadline.is_some_and(|d| d < now)
    }
    /// The people who wrote it: the owner, or the reporter if it has none.
    pub fn author(&self) -> &str {
        self.owner.as_deref().unwrap_or(&self.reporter)
    }
    /// Whoever made the fix and so may not review it (when the process says
    /// authors may not): its author and whoever started it.
    pub fn makers(&self) -> Vec<&str> {
        let mut m = vec![self.author()];
        if let Some(s) = self.started_by.as_deref()
            && !m.contains(&s)
        {
            m.push(s);
        }
        m
    }
}

/// An approval, bound to the content hash it was given for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Approval {
    pub env: String,
    pub role: String,
    pub approver: String,
    pub kind: ApprovalKind,
    pub content_hash: String,
    pub comment: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TestRun {
    pub env: String,
    pub suite: String,
    pub passed: bool,
    pub url: Option<String>,
    pub reporter: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
    /// The release content the run tested; a run of other content does not count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// The CI run's own identity (`github/workflow_run/ID/ATTEMPT`...), when CI said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// When the CI run itself finished, as CI said: results are ordered by it,
    /// so a late or replayed older run never replaces a newer one.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_at: Option<Timestamp>,
}

impl TestRun {
    /// True if the run tested this content (runs recorded before results carried a
    /// content hash count for any).
    pub fn tested(&self, content_hash: &str) -> bool {
        self.content_hash
            .as_deref()
            .is_none_or(|h| h == content_hash)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChecklistTick {
    pub id: String,
    pub by: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
}

/// A promotion that has started and not finished; it blocks a second one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InFlight {
    pub deployment: String,
    pub env: String,
    pub actor: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub started_at: Timestamp,
    /// After this the promotion counts as abandoned (the process running it died).
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub expires_at: Timestamp,
}

/// The review an emergency change owes afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FollowUp {
    pub env: String,
    pub reason: String,
    pub opened_by: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub opened_at: Timestamp,
    pub closed_by: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub closed_at: Option<Timestamp>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Release {
    pub version: Version,
    pub line: Line,
    pub target: Target,
    pub status: ReleaseStatus,
    pub previous: Option<Version>,
    pub patches: Vec<String>,
    /// Authors of the patches it holds (for separation of duties).
    pub authors: Vec<String>,
    pub content_hash: String,
    /// Recorded as already shipped before Sluice (a baseline), not cut here.
    pub imported: bool,
    pub created_by: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub created_at: Timestamp,
    /// Environments entered, in order.
    pub reached: Vec<String>,
    pub approvals: Vec<Approval>,
    pub tests: Vec<TestRun>,
    pub checklist: Vec<ChecklistTick>,
    pub in_flight: Option<InFlight>,
    pub follow_ups: Vec<FollowUp>,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub updated_at: Timestamp,
    /// Release notes as a person edited them (Markdown); they replace the
    /// generated notes everywhere, including when the changelog is regenerated.
    #[serde(default)]
    pub notes: Option<String>,
    /// What the release is in git, when the repository is a git repository.
    #[serde(default)]
    pub git: Option<ReleaseGit>,
    /// Monitoring windows opened by entering environments with `monitor_for`.
    #[serde(default)]
    pub watches: Vec<Watch>,
    /// Retrospectives this release owes (a rollback, an emergency promotion,
    /// a patch of a severity that asks for one reaching the last environment).
    #[serde(default)]
    pub retros: Vec<Retro>,
}

/// A retrospective: opened by what happened to a release, written by the
/// team, completed by its owner role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Retro {
    /// `VERSION-rN`, e.g. `1.4.2-r1`.
    pub id: String,
    pub release: String,
    /// `rollback`, `emergency` or `severity`.
    pub cause: String,
    /// What happened, in one line.
    pub reason: String,
    /// The environment it happened in.
    pub env: Option<String>,
    /// The role that owns it.
    pub owner: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub opened_at: Timestamp,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub due: Timestamp,
    /// The team's document (Markdown) once edited; until then it is generated.
    pub text: Option<String>,
    pub completed_by: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub completed_at: Option<Timestamp>,
}

impl Retro {
    pub fn is_open(&self) -> bool {
        self.completed_at.is_none()
    }
}

/// A monitoring window: after entering `env` the release is watched there
/// until `until`; it closes clean when its after-deploy suites passed and no
/// incident of a blocking severity was opened on the release meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Watch {
    pub env: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub from: Timestamp,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub until: Timestamp,
    /// How it ended; none while it is open.
    pub ended: Option<WatchEnd>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WatchEnd {
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
    pub clean: bool,
    /// Why it did not end clean (suites missing or failed, incidents, a rollback).
    pub problems: Vec<String>,
}

/// A release's place in git: target commit, tag, and the commits it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReleaseGit {
    pub target: String,
    pub tag: String,
    pub previous_tag: Option<String>,
    pub commits: Vec<LinkedCommit>,
    /// A scope-guard override: who allowed which out-of-scope commits, and why.
    pub scope_override: Option<ScopeOverride>,
}

/// A commit in a release, and the patches it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LinkedCommit {
    pub id: String,
    pub summary: String,
    pub patches: Vec<String>,
    /// Conventional Commits type, when the message has one.
    pub kind: Option<String>,
    pub breaking: bool,
    pub merge: bool,
    /// When it was committed (committer time), for lead times.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ScopeOverride {
    pub by: String,
    pub reason: String,
    pub commits: Vec<String>,
}

impl Release {
    /// The monitoring window open in `env` at `now`, if any.
    pub fn watching(&self, env: &str, now: Timestamp) -> Option<&Watch> {
        self.watches
            .iter()
            .find(|w| w.env == env && w.ended.is_none() && w.from <= now && now < w.until)
    }

    pub fn has_reached(&self, env: &str) -> bool {
        self.reached.iter().any(|e| e == env)
    }
    /// Approvals that still count: given for the current content.
    pub fn valid_approvals(&self) -> impl Iterator<Item = &Approval> {
        self.approvals
            .iter()
            .filter(|a| a.content_hash == self.content_hash)
    }
    /// The latest result of a suite in an environment, for the current content (a run of
    /// content that has changed since is void, as approvals are).
    pub fn latest_test(&self, env: &str, suite: &str) -> Option<&TestRun> {
        self.tests
            .iter()
            .rev()
            .find(|t| t.env == env && t.suite == suite && t.tested(&self.content_hash))
    }
}

/// One run of a deploy or rollback command, or a record without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Deployment {
    pub id: String,
    pub release: String,
    pub env: String,
    pub action: DeploymentAction,
    /// For a rollback: the release it returns to.
    pub to_release: Option<String>,
    pub actor: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub started_at: Timestamp,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub finished_at: Option<Timestamp>,
    pub outcome: Outcome,
    pub emergency: bool,
    pub reason: Option<String>,
    /// Entered inside a release window and outside freezes.
    pub in_window: bool,
    pub command: Option<Vec<String>>,
    pub exit_code: Option<i32>,
    pub output: Option<String>,
}

/// What an environment holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EnvState {
    pub env: String,
    pub release: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub since: Option<Timestamp>,
}

/// Something wrong in an environment, opened by an alert or by hand, on the
/// release deployed there at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Incident {
    pub id: i64,
    pub env: String,
    /// The service the alert names, when it names one.
    pub service: Option<String>,
    /// The release deployed in `env` when the incident opened.
    pub release: Option<String>,
    pub title: String,
    /// A severity of the process, when the alert or the reporter gave one.
    pub severity: Option<String>,
    /// `manual`, or the webhook source: `alertmanager`, `grafana`, `sentry`.
    pub source: String,
    /// The alert's identity at its source; one open incident per fingerprint.
    pub fingerprint: Option<String>,
    pub url: Option<String>,
    pub opened_by: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub opened_at: Timestamp,
    pub resolved_by: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub resolved_at: Option<Timestamp>,
    pub comment: Option<String>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }
    /// The subject of its events: `incident-3`.
    pub fn subject(&self) -> String {
        incident_subject(self.id)
    }
}

/// The event subject of incident `id`.
pub fn incident_subject(id: i64) -> String {
    format!("incident-{id}")
}
