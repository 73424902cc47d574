//! Deciders: pure functions from (command, current state, process) to the new
//! state plus the events that record it, or a refusal that names every unmet
//! requirement and who can meet it. The application layer loads the state,
//! calls a decider and stores the result in one transaction.

mod gate;
mod incident;
mod patch;
mod promote;
mod release;
mod retro;
mod timed;
mod watch;

pub use gate::{GateReport, blocks_promotion, evaluate_gate, next_env};
pub use incident::*;
pub use patch::*;
pub use promote::*;
pub use release::*;
pub use retro::{Cause, complete_retro, edit_retro, open_retro, retro_release, severity_retro};
pub use timed::{Clock, Due, Waiting, due};
pub use watch::{Closed, Reaction, Trigger, close_watch, react, time_left};

use jiff::Timestamp;
use serde::Serialize;

use crate::process::{Process, Step};

/// Who Sluice itself acts as: the scheduler's recorded facts and the
/// automatic rollbacks a watch window's trigger sets off.
pub const SCHEDULER: &str = "sluice";

/// Who acts, when, under which process.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub process: &'a Process,
    pub actor: &'a str,
    pub now: Timestamp,
}

/// One requirement the process sets that is not met yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Unmet {
    /// What is missing, in the team's words.
    pub requirement: String,
    /// Roles that can meet it (empty: anyone, or nobody can).
    pub responsible: Vec<String>,
    /// The command that would meet it, when there is one.
    pub hint: Option<String>,
    /// What meets it, for interfaces that offer it as a button (or, for a
    /// window or a freeze that nobody can act on, when it opens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// The act that meets a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Action {
    /// `approve`, `test` (record a suite's result), `tick` (a checklist
    /// item), `promote`, `resolve` (an incident), or `wait` (a window or a
    /// freeze: nobody can act; `at` says when it opens).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// The checklist item, or the incident id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
}

impl Action {
    pub fn new(kind: &str) -> Action {
        Action {
            kind: kind.to_string(),
            ..Action::default()
        }
    }
    pub fn env(mut self, env: &str) -> Action {
        self.env = Some(env.to_string());
        self
    }
    pub fn role(mut self, role: &str) -> Action {
        self.role = Some(role.to_string());
        self
    }
    pub fn suite(mut self, suite: &str) -> Action {
        self.suite = Some(suite.to_string());
        self
    }
    pub fn item(mut self, item: &str) -> Action {
        self.item = Some(item.to_string());
        self
    }
}

impl Unmet {
    pub fn new(requirement: impl Into<String>) -> Unmet {
        Unmet {
            requirement: requirement.into(),
            responsible: Vec::new(),
            hint: None,
            action: None,
        }
    }
    pub fn act(mut self, a: Action) -> Unmet {
        self.action = Some(a);
        self
    }
    pub fn by(mut self, roles: &[String]) -> Unmet {
        self.responsible = roles.to_vec();
        self
    }
    pub fn role(mut self, role: &str) -> Unmet {
        self.responsible = vec![role.to_string()];
        self
    }
    pub fn hint(mut self, h: impl Into<String>) -> Unmet {
        self.hint = Some(h.into());
        self
    }
}

/// Why a command was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, thiserror::Error)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Denied {
    /// The process forbids it now; `unmet` says what would allow it.
    #[error("{summary}")]
    Refused { summary: String, unmet: Vec<Unmet> },
    /// The request itself is wrong (unknown name, bad value).
    #[error("{0}")]
    Invalid(String),
}

impl Denied {
    pub fn refused(summary: impl Into<String>, unmet: Vec<Unmet>) -> Denied {
        Denied::Refused {
            summary: summary.into(),
            unmet,
        }
    }
    pub fn one(summary: impl Into<String>, unmet: Unmet) -> Denied {
        Denied::refused(summary, vec![unmet])
    }
    /// A request that is well formed but that the state of things refuses
    /// (done already, nothing to close): a refusal, not invalid input.
    pub fn state(summary: impl Into<String>) -> Denied {
        Denied::refused(summary, Vec::new())
    }
}

pub type Decision<T> = Result<T, Denied>;

/// Checks that the actor holds one of the roles responsible for a step.
pub fn require_step(ctx: &Ctx, step: Step, doing: &str) -> Decision<()> {
    let roles = ctx.process.responsible(step);
    if roles.is_empty() || roles.iter().any(|r| ctx.process.has_role(ctx.actor, r)) {
        return Ok(());
    }
    Err(Denied::one(
        format!("{} may not {doing}", ctx.actor),
        Unmet::new(format!(
            "the `{}` step belongs to {}",
            step.name(),
            roles
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ))
        .by(roles),
    ))
}

/// What is said about a release (its notes, its notifications) belongs to the
/// roles of the `communicate` step; when the process names none, to those of
/// the `release` step; when it names neither, to anyone who holds a role.
/// Never to a token holder with no role at all.
pub fn require_communicate(ctx: &Ctx, doing: &str) -> Decision<()> {
    let step = [Step::Communicate, Step::Release]
        .into_iter()
        .find(|s| !ctx.process.responsible(*s).is_empty());
    if let Some(step) = step {
        return require_step(ctx, step, doing);
    }
    if !ctx.process.roles_of(ctx.actor).is_empty() {
        return Ok(());
    }
    let all: Vec<String> = ctx.process.roles.keys().cloned().collect();
    Err(Denied::one(
        format!("{} may not {doing}", ctx.actor),
        Unmet::new(
            "the process gives the `communicate` step to no role, so it belongs to anyone who \
             holds a role; this user holds none",
        )
        .by(&all),
    ))
}

/// A URL- and branch-safe slug of a title: lowercase ASCII words joined by `-`.
pub fn slug(title: &str, max: usize) -> String {
    let mut out = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let w = word.to_ascii_lowercase();
        if !out.is_empty() && out.len() + 1 + w.len() > max {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w[..w.len().min(max)]);
    }
    out
}

/// Fills `{name}` placeholders; unknown ones are left as written (the loader
/// rejects unknown placeholders, so none reach here).
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}
