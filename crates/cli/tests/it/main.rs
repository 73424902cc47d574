//! Integration tests of the `sluice` binary: the whole patch → prod flow and
//! every refusal on the way, on SQLite and on PostgreSQL, driven as a user
//! would, through the real executable.

#[path = "../../../../support/fixtures.rs"]
mod fixtures;
mod harness;
mod http;
mod receiver;

mod bad_input;
mod browser;
mod cases;
mod cdevents;
mod commit_mode;
mod concurrency;
mod demo;
mod docs;
mod flow;
mod gates;
mod hardening;
mod hostile;
mod incidents;
mod metrics;
mod notify;
mod real_repos;
mod server;
mod tamper;
mod timed;
mod ui;
mod watch;
mod webhooks;
