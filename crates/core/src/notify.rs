//! The stakeholder matrix: which `[[notify]]` rules an event matches, and
//! who that makes receive what (SPEC §4). Pure routing only: no message is
//! rendered or sent here, and secrets stay `${VAR}` references.
//!
//! A rule matches an event when the event is in its `on` list and every
//! non-empty filter matches the event's facts:
//!
//! - `environments` contains the event's environment;
//! - `severities` shares at least one severity with the event;
//! - `release_types` contains the event's release type.
//!
//! An event that lacks a fact never matches a rule that filters on it: a
//! rule with `environments = ["prod"]` does not fire for an event with no
//! environment, and a rule with `severities = ["critical"]` does not fire for
//! an event with no severity. Empty filters match anything, facts or not.

use std::collections::HashSet;

use serde::Serialize;

use crate::process::{Bump, Process};

/// What is known about one event, for routing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Event name, one of [`crate::process::EVENTS`].
    pub event: String,
    /// The environment the event happened in, if any.
    pub env: Option<String>,
    /// Severities of the patches concerned (empty: none).
    pub severities: Vec<String>,
    /// The release's type, if the event concerns a release.
    pub release_type: Option<Bump>,
}

/// How a message travels: part of the process model (channels and their
/// rates name it), used here.
pub use crate::process::Transport;

/// One message to one address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Delivery {
    /// 1-based position of the `[[notify]]` rule (in file order) that sends it.
    pub rule: usize,
    /// The recipient as the rule names it: a channel name, or `role:NAME`.
    pub channel: String,
    pub transport: Transport,
    /// For Slack and webhooks the channel's configured value (a `${VAR}`
    /// reference, never resolved here); for email an address.
    pub address: String,
}

/// Does this rule fire for these facts?
fn matches(rule: &crate::process::NotifyRule, f: &Facts) -> bool {
    rule.on.contains(&f.event)
        && (rule.environments.is_empty()
            || f.env
                .as_ref()
                .is_some_and(|e| rule.environments.contains(e)))
        && (rule.severities.is_empty() || f.severities.iter().any(|s| rule.severities.contains(s)))
        && (rule.release_types.is_empty()
            || f.release_type
                .is_some_and(|t| rule.release_types.contains(&t)))
}

/// Everyone told about an event: matching rules in file order, recipients in
/// the order each rule lists them, a channel's transports as Slack, each
/// email, webhook (unless the webhook's format has no form of this event: a
/// `cdevents` webhook takes only events with a CDEvents equivalent); a role's
/// members (email addresses only) in the order the role lists them. An identical (transport, address) pair is sent once,
/// credited to the first rule that reaches it.
pub fn route(p: &Process, f: &Facts) -> Vec<Delivery> {
    let mut out = Vec::new();
    let mut seen: HashSet<(Transport, String)> = HashSet::new();
    for (i, rule) in p.notify.iter().enumerate() {
        if !matches(rule, f) {
            continue;
        }
        for to in &rule.to {
            let mut targets: Vec<(Transport, String)> = Vec::new();
            if let Some(role) = to.strip_prefix("role:") {
                for m in p.roles.get(role).into_iter().flatten() {
                    if m.contains('@') {
                        targets.push((Transport::Email, m.clone()));
                    }
                }
            } else if let Some(c) = p.channels.iter().find(|c| c.name == *to) {
                if let Some(s) = &c.slack {
                    targets.push((Transport::Slack, s.clone()));
                }
                for e in &c.email {
                    targets.push((Transport::Email, e.clone()));
                }
                if let Some(w) = &c.webhook
                    && c.webhook_sends(&f.event)
                {
                    targets.push((Transport::Webhook, w.clone()));
                }
            }
            for (transport, address) in targets {
                if seen.insert((transport, address.clone())) {
                    out.push(Delivery {
                        rule: i + 1,
                        channel: to.clone(),
                        transport,
                        address,
                    });
                }
            }
        }
    }
    out
}
