//! Sluice's pure core: the process model and its validation, the deciders
//! (command + state + process -> events or a refusal), versioning, release
//! windows, and the audit hash chain. No I/O, no clock, no randomness: time,
//! actor and ids are passed in.

pub mod audit;
pub mod calendar;
pub mod cdevents;
pub mod changelog;
pub mod commits;
pub mod decide;
pub mod event;
pub mod inbound;
pub mod link;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod process;
pub mod window;
