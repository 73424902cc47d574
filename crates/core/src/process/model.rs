//! The validated process: what the engine enforces. Built only by the loader
//! (`process::load`), so every value here has passed the cross-field rules:
//! roles named anywhere exist, environment names are unique, checklist items
//! guard a real environment, windows and durations parse, the time zone exists.

use std::collections::BTreeMap;

use jiff::SignedDuration;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use serde::Serialize;

/// A whole, validated `sluice.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    pub project: Project,
    /// Change kinds in file order.
    pub kinds: Vec<KindDef>,
    /// Severities in file order (most severe first by convention).
    pub severities: Vec<SeverityDef>,
    /// Role name -> members (emails or user names), sorted by role name.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Process step -> roles responsible for it, in file order.
    pub responsibilities: Vec<Responsibility>,
    pub review: Review,
    pub cadence: Cadence,
    /// Environments in promotion order.
    pub environments: Vec<Environment>,
    pub checklist: Vec<ChecklistItem>,
    /// Named notification channels (delivery is configured here, sent by the notifier).
    pub channels: Vec<Channel>,
    pub notify: Vec<NotifyRule>,
    pub changelog: Changelog,
    /// Release-notes templates that replace the embedded ones.
    pub notes: NoteTemplates,
    /// Inbound webhooks: which sources may call Sluice and how their payloads map.
    pub webhooks: Webhooks,
    /// The SMTP relay email notifications leave through, if configured.
    pub smtp: Option<Smtp>,
    /// How the outbox is delivered.
    pub delivery: DeliverySettings,
    /// `[emergency]`: what the emergency lane owes afterwards.
    pub emergency: EmergencySettings,
    /// `[server]`: settings of `sluice serve` that belong to the team.
    pub server: ServerSettings,
    /// `[retro]`: when retrospectives open, when they are due, who owns them.
    pub retro: RetroSettings,
    /// Notification templates that replace the embedded ones.
    pub messages: MessageTemplates,
}

/// The inbound webhook sources; a source that is not configured is refused.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Webhooks {
    pub github: Option<ForgeHooks>,
    pub gitlab: Option<ForgeHooks>,
    pub alertmanager: Option<AlertHooks>,
    pub grafana: Option<AlertHooks>,
    pub sentry: Option<AlertHooks>,
}

impl Webhooks {
    pub fn is_empty(&self) -> bool {
        self.github.is_none()
            && self.gitlab.is_none()
            && self.alertmanager.is_none()
            && self.grafana.is_none()
            && self.sentry.is_none()
    }
}

/// GitHub or GitLab: issues become patch reports, merged pull (merge) requests
/// move patches on, CI runs become test results.
#[derive(Debug, Clone, Serialize)]
pub struct ForgeHooks {
    /// `${VAR}` reference to the signing secret (GitHub) or token (GitLab).
    pub secret: String,
    /// Issue labels that make an issue a patch report.
    pub labels: Vec<String>,
    /// Issue label -> severity, in file order.
    pub severity_labels: Vec<(String, String)>,
    /// Issue label -> kind, in file order.
    pub kind_labels: Vec<(String, String)>,
    /// CI workflow (pipeline) name -> the suite and environment its result is for.
    pub workflows: Vec<WorkflowMap>,
}

/// One CI workflow whose result is a test run.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowMap {
    /// The workflow (GitHub Actions), check suite app or pipeline name; `*` for any.
    pub name: String,
    pub suite: String,
    pub env: String,
}

impl ForgeHooks {
    /// The mapping for a workflow name: an exact match first, then `*`.
    pub fn workflow(&self, name: &str) -> Option<&WorkflowMap> {
        self.workflows
            .iter()
            .find(|w| w.name == name)
            .or_else(|| self.workflows.iter().find(|w| w.name == "*"))
    }
}

/// Alertmanager, Grafana or Sentry: alerts open and resolve incidents.
#[derive(Debug, Clone, Serialize)]
pub struct AlertHooks {
    /// `${VAR}` reference to the bearer token (Alertmanager, Grafana) or the
    /// client secret that signs deliveries (Sentry).
    pub secret: String,
    /// The alert label (Sentry: tag) naming the environment. Default `environment`.
    pub env_label: String,
    /// The alert label (Sentry: tag) naming the service. Default `service`.
    pub service_label: String,
    /// The environment of alerts that carry no environment label.
    pub env: Option<String>,
    /// The source's severity (the `severity` label, Sentry's `level`) mapped
    /// to a severity of the process; a value that already names one is kept.
    pub severity_levels: Vec<(String, String)>,
}

impl AlertHooks {
    /// The process severity an alert's own severity stands for, if any.
    pub fn severity_of(&self, level: &str) -> Option<String> {
        self.severity_levels
            .iter()
            .find(|(l, _)| l == level)
            .map(|(_, s)| s.clone())
    }
}

/// How the connection to the SMTP relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

impl SmtpTls {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        }
    }
}

/// `[smtp]`: the relay email notifications are sent through. Credentials are
/// `${VAR}` references, resolved only when a message is sent.
#[derive(Debug, Clone, Serialize)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// The sender, `name@example.com` or `Name <name@example.com>`.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// `[retro]`: a retrospective opens on a release when a patch of a severity
/// with `retrospective = true` reaches the last environment (`on_severity`),
/// on an emergency promotion (`on_emergency`) and on every rollback
/// (`on_rollback`); it is due `due_within` later and owned by `owner` (a role;
/// default the one responsible for `monitor`).
#[derive(Debug, Clone, Serialize)]
pub struct RetroSettings {
    pub on_severity: bool,
    pub on_emergency: bool,
    pub on_rollback: bool,
    #[serde(serialize_with = "ser_duration")]
    pub due_within: SignedDuration,
    pub owner: Option<String>,
    /// A minijinja template (path from the repository root) that replaces the
    /// embedded one; `sluice check` reads and compiles it.
    pub template: Option<TemplateRef>,
}

impl Default for RetroSettings {
    fn default() -> Self {
        RetroSettings {
            on_severity: true,
            on_emergency: true,
            on_rollback: true,
            due_within: SignedDuration::from_hours(5 * 24),
            owner: None,
            template: None,
        }
    }
}

/// `[emergency]`: the follow-up review an emergency promotion opens is due
/// this long after it (then announced as overdue, once).
#[derive(Debug, Clone, Serialize)]
pub struct EmergencySettings {
    #[serde(serialize_with = "ser_duration")]
    pub follow_up_within: SignedDuration,
}

impl Default for EmergencySettings {
    fn default() -> Self {
        EmergencySettings {
            follow_up_within: SignedDuration::from_hours(48),
        }
    }
}

/// `[server]`: what `sluice serve` takes from the process file.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ServerSettings {
    /// `${VAR}` reference to the bearer token Prometheus scrapes `/metrics`
    /// with; unset, `/metrics` is open on a loopback address only.
    pub metrics_token: Option<String>,
}

/// `[delivery]`: how long the outbox keeps trying.
#[derive(Debug, Clone, Serialize)]
pub struct DeliverySettings {
    /// A message not delivered this long after it was written is dead.
    #[serde(serialize_with = "ser_duration")]
    pub max_age: SignedDuration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            max_age: SignedDuration::from_hours(24),
        }
    }
}

/// At most `count` messages every `per`, as written (`1/s`, `20/m`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rate {
    pub text: String,
    #[serde(skip)]
    pub count: u32,
    #[serde(skip)]
    pub per: SignedDuration,
}

impl Rate {
    /// Slack incoming webhooks accept about one message a second.
    pub fn slack_default() -> Rate {
        Rate {
            text: "1/s".to_string(),
            count: 1,
            per: SignedDuration::from_secs(1),
        }
    }
}

/// A template file named in the process file, with where it is named (for
/// the diagnostic when it cannot be read or compiled).
#[derive(Debug, Clone, Serialize)]
pub struct TemplateRef {
    /// Path from the repository root.
    pub path: String,
    #[serde(skip)]
    pub at: super::diag::Position,
}

/// Notification templates of one scope (every event, or one event).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageSet {
    /// One line: the email subject, the Slack fallback text, the webhook summary.
    pub subject: Option<TemplateRef>,
    /// The email's plain-text part.
    pub text: Option<TemplateRef>,
    /// The email's HTML part (auto-escaped).
    pub html: Option<TemplateRef>,
    /// The Slack message (mrkdwn).
    pub slack: Option<TemplateRef>,
}

/// `[messages]`: templates for every event, and per event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageTemplates {
    pub all: MessageSet,
    /// Event name -> its templates, in file order.
    pub events: Vec<(String, MessageSet)>,
}

/// Where the changelog lives and how its version links are built.
#[derive(Debug, Clone, Serialize)]
pub struct Changelog {
    /// Path from the repository root. Default `CHANGELOG.md`.
    pub file: String,
    /// Compare-link template: `{previous_tag}`, `{tag}`, `{previous}`, `{version}`.
    pub compare_url: Option<String>,
}

/// Paths (from the repository root) of minijinja templates for release notes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NoteTemplates {
    pub markdown: Option<String>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub slack: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub name: String,
    /// Patch key prefix: `SHOP` gives `SHOP-1`, `SHOP-2`, ...
    pub key: String,
    /// Free text: why this process exists (rendered by `process show`).
    pub purpose: Option<String>,
    /// Free text: what the process covers.
    pub scope: Option<String>,
    /// Tag template, placeholders `{version}`, `{major}`, `{minor}`, `{patch}`.
    pub tag: String,
    /// Release branch template, placeholders `{major}`, `{minor}`.
    pub release_branch: String,
    /// Patch branch template, placeholders `{key}`, `{slug}`, `{line}`.
    pub patch_branch: String,
    /// Maintained release lines, `MAJOR.MINOR`.
    pub maintained_lines: Vec<Line>,
}

/// A release line `MAJOR.MINOR`; serialized as that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Line {
    pub major: u64,
    pub minor: u64,
}

impl Serialize for Line {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Line {
    pub fn of(v: &semver::Version) -> Line {
        Line {
            major: v.major,
            minor: v.minor,
        }
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl std::str::FromStr for Line {
    type Err = String;
    fn from_str(s: &str) -> Result<Line, String> {
        let bad = || format!("`{s}` is not a release line; write MAJOR.MINOR, for example `1.2`");
        let (a, b) = s.split_once('.').ok_or_else(bad)?;
        let num = |x: &str| {
            if x.is_empty()
                || !x.bytes().all(|c| c.is_ascii_digit())
                || (x.len() > 1 && x.starts_with('0'))
            {
                Err(bad())
            } else {
                x.parse::<u64>().map_err(|_| bad())
            }
        };
        Ok(Line {
            major: num(a)?,
            minor: num(b)?,
        })
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

impl std::fmt::Display for Bump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KindDef {
    pub name: String,
    pub bump: Bump,
    /// Keep a Changelog section (`Added`, `Changed`, `Deprecated`, `Removed`, `Fixed`, `Security`).
    pub section: String,
    /// May a patch of this kind ship in a patch release? Defaults to `bump == Patch`.
    pub patch_release: bool,
    /// Marked as breaking in the changelog (defaults to `bump == Major`).
    pub breaking: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeverityDef {
    pub name: String,
    /// Deadline from report to fix, if any.
    #[serde(serialize_with = "ser_opt_duration")]
    pub fix_within: Option<SignedDuration>,
    /// Patches of this severity may use the emergency lane.
    pub emergency: bool,
    /// A retrospective is required after such a patch ships.
    pub retrospective: bool,
    /// An open incident of this severity on a release refuses its promotion
    /// into any further environment.
    pub block_promotion: bool,
}

/// A process step from SPEC §2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Identify,
    Develop,
    Review,
    Test,
    Approve,
    Release,
    Communicate,
    Monitor,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Identify,
        Step::Develop,
        Step::Review,
        Step::Test,
        Step::Approve,
        Step::Release,
        Step::Communicate,
        Step::Monitor,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Step::Identify => "identify",
            Step::Develop => "develop",
            Step::Review => "review",
            Step::Test => "test",
            Step::Approve => "approve",
            Step::Release => "release",
            Step::Communicate => "communicate",
            Step::Monitor => "monitor",
        }
    }
    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|st| st.name() == s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Responsibility {
    pub step: Step,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// Reviews by people other than the author needed before a patch is ready.
    pub min_approvals: u32,
    /// May the author of a patch review it, or approve a release that contains it?
    pub author_may_approve: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CadenceKind {
    OnDemand,
    Weekly,
    Biweekly,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cadence {
    pub kind: CadenceKind,
    /// Train day, for weekly and biweekly cadences.
    #[serde(serialize_with = "ser_opt_weekday")]
    pub day: Option<Weekday>,
    /// Train time of day, in `timezone`.
    pub time: Option<Time>,
    /// IANA name of the time zone every window, freeze and train is evaluated in.
    pub timezone_name: String,
    #[serde(skip)]
    pub timezone: TimeZone,
}

/// Days and a time range in the process time zone: `tue,thu 10:00-12:00`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Source text as written, for messages.
    pub text: String,
    #[serde(serialize_with = "ser_weekdays")]
    pub days: Vec<Weekday>,
    pub start: Time,
    /// Exclusive end; `24:00` is written as `end_of_day = true`.
    pub end: Time,
    pub end_of_day: bool,
}

/// A freeze: no entry into the environment from `from` to `to`, both days inclusive,
/// in the process time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Freeze {
    pub from: Date,
    pub to: Date,
    pub reason: String,
}

/// A command template split into arguments at load time; placeholders are
/// substituted per argument afterwards, so no value is ever parsed by a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandTemplate {
    pub text: String,
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub name: String,
    /// Suites that run in this environment; all must pass before the release leaves it.
    pub tests: Vec<String>,
    /// Roles whose approval is needed to enter this environment.
    pub approvals: Vec<String>,
    /// Distinct approvers needed from each role in `approvals`.
    pub quorum: u32,
    pub windows: Vec<Window>,
    pub freezes: Vec<Freeze>,
    /// Roles whose emergency approval opens the emergency lane into this environment.
    pub emergency_approvals: Vec<String>,
    pub deploy: Option<CommandTemplate>,
    pub rollback: Option<CommandTemplate>,
    #[serde(serialize_with = "ser_duration")]
    pub deploy_timeout: SignedDuration,
    /// Variables of Sluice's own environment that deploy and rollback commands
    /// receive (besides `PATH`, `HOME`, `LANG`, `TZ` and `SLUICE_*`); no other.
    pub env: Vec<String>,
    /// Suites that verify the release after it is deployed here.
    pub after_deploy_tests: Vec<String>,
    #[serde(serialize_with = "ser_opt_duration")]
    pub monitor_for: Option<SignedDuration>,
    /// A release waiting at this environment's gate longer than this is
    /// announced (`gate.waiting`), once.
    #[serde(serialize_with = "ser_duration")]
    pub gate_waiting_after: SignedDuration,
    /// A freeze of this environment is announced (`freeze.starting`) this
    /// long before it starts.
    #[serde(serialize_with = "ser_duration")]
    pub freeze_notice: SignedDuration,
    /// Inside the monitoring window, an incident of a blocking severity or a
    /// failed after-deploy suite runs the rollback command at once.
    pub auto_rollback: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    pub id: String,
    pub text: String,
    /// Role that ticks it.
    pub by: Option<String>,
    /// Environment this item guards: it must be done before entering it.
    pub before: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Channel {
    pub name: String,
    /// `${VAR}` reference to a Slack incoming-webhook URL.
    pub slack: Option<String>,
    pub email: Vec<String>,
    /// `${VAR}` reference (or literal URL) of a generic webhook.
    pub webhook: Option<String>,
    /// `${VAR}` reference to the Standard Webhooks signing secret of `webhook`.
    pub secret: Option<String>,
    /// What `webhook` sends: Sluice's events as CloudEvents, or CDEvents.
    pub format: WebhookFormat,
    /// At most this many messages per time to each of the channel's
    /// destinations; Slack defaults to 1/s, the others are unlimited.
    pub rate: Option<Rate>,
}

impl Channel {
    /// Does this channel's webhook send this event? Every notifiable event
    /// as a CloudEvent; with `format = "cdevents"` only those that have a
    /// CDEvents equivalent (`crate::cdevents`).
    pub fn webhook_sends(&self, event: &str) -> bool {
        self.webhook.is_some()
            && match self.format {
                WebhookFormat::CloudEvents => true,
                WebhookFormat::CdEvents => crate::cdevents::event_type(event).is_some(),
            }
    }
}

/// The body a channel's webhook sends (`format`), in CloudEvents 1.0
/// structured mode either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum WebhookFormat {
    /// `dev.sluice.KIND` events whose `data` is Sluice's own payload.
    #[default]
    #[serde(rename = "cloudevents")]
    CloudEvents,
    /// CDEvents (`crate::cdevents::SPEC_VERSION`): the event's CDEvents type,
    /// its `data` the CDEvent; events without an equivalent are not sent.
    #[serde(rename = "cdevents")]
    CdEvents,
}

impl WebhookFormat {
    /// The values `format` accepts, as written in the process file.
    pub const NAMES: &[&str] = &["cloudevents", "cdevents"];

    pub fn parse(s: &str) -> Option<WebhookFormat> {
        match s {
            "cloudevents" => Some(WebhookFormat::CloudEvents),
            "cdevents" => Some(WebhookFormat::CdEvents),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::CloudEvents => "cloudevents",
            WebhookFormat::CdEvents => "cdevents",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NotifyRule {
    pub on: Vec<String>,
    pub environments: Vec<String>,
    pub severities: Vec<String>,
    /// Release types (bumps) this rule is limited to; empty means any.
    pub release_types: Vec<Bump>,
    /// Channel names or `role:NAME`.
    pub to: Vec<String>,
}

fn ser_duration<S: serde::Serializer>(d: &SignedDuration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::process::format_duration(*d))
}

fn ser_opt_duration<S: serde::Serializer>(
    d: &Option<SignedDuration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&crate::process::format_duration(*d)),
        None => s.serialize_none(),
    }
}

impl Process {
    pub fn kind(&self, name: &str) -> Option<&KindDef> {
        self.kinds.iter().find(|k| k.name == name)
    }
    pub fn severity(&self, name: &str) -> Option<&SeverityDef> {
        self.severities.iter().find(|k| k.name == name)
    }
    pub fn environment(&self, name: &str) -> Option<(usize, &Environment)> {
        self.environments
            .iter()
            .enumerate()
            .find(|(_, e)| e.name == name)
    }

    /// The environment `name`, or the message every interface gives for an
    /// unknown one (naming those the process defines).
    pub fn known_environment(&self, name: &str) -> Result<(usize, &Environment), String> {
        self.environment(name).ok_or_else(|| {
            let known: Vec<&str> = self.environments.iter().map(|e| e.name.as_str()).collect();
            format!(
                "unknown environment `{name}`; the process defines: {}",
                known.join(", ")
            )
        })
    }
    pub fn members(&self, role: &str) -> &[String] {
        self.roles.get(role).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn has_role(&self, user: &str, role: &str) -> bool {
        self.members(role).iter().any(|m| m == user)
    }
    /// Roles responsible for a step; empty when the process names none (anyone may act).
    pub fn responsible(&self, step: Step) -> &[String] {
        self.responsibilities
            .iter()
            .find(|r| r.step == step)
            .map(|r| r.roles.as_slice())
            .unwrap_or(&[])
    }
    /// The rate limit of messages to one channel over one transport: the
    /// channel's `rate`, else one a second for Slack, else none.
    pub fn rate_for(&self, channel: &str, transport: Transport) -> Option<Rate> {
        let own = self
            .channels
            .iter()
            .find(|c| c.name == channel)
            .and_then(|c| c.rate.clone());
        own.or_else(|| (transport == Transport::Slack).then(Rate::slack_default))
    }

    /// Roles a user holds.
    pub fn roles_of(&self, user: &str) -> Vec<&str> {
        self.roles
            .iter()
            .filter(|(_, m)| m.iter().any(|x| x == user))
            .map(|(r, _)| r.as_str())
            .collect()
    }
}

/// Three-letter lowercase name of a weekday, as the process file writes it.
pub fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "mon",
        Weekday::Tuesday => "tue",
        Weekday::Wednesday => "wed",
        Weekday::Thursday => "thu",
        Weekday::Friday => "fri",
        Weekday::Saturday => "sat",
        Weekday::Sunday => "sun",
    }
}

fn ser_weekdays<S: serde::Serializer>(d: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(d.iter().map(|d| weekday_name(*d)))
}

fn ser_opt_weekday<S: serde::Serializer>(d: &Option<Weekday>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(weekday_name(*d)),
        None => s.serialize_none(),
    }
}

/// How a message travels: Slack, email or a generic webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Slack,
    Email,
    Webhook,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Slack => "slack",
            Transport::Email => "email",
            Transport::Webhook => "webhook",
        })
    }
}
