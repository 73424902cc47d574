//! `calendar`: the next release trains, deploy windows and freezes the
//! process file sets, in its time zone, the next train first.

use jiff::Timestamp;
use sluice_core::calendar::{Entry, EntryKind, entries};

use crate::output::{self, Failure};
use crate::{Cli, context};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many weeks ahead, from today.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=104))]
    weeks: u32,
}

fn kind(k: EntryKind) -> &'static str {
    match k {
        EntryKind::Train => "train",
        EntryKind::Window => "window",
        EntryKind::Freeze => "freeze",
    }
}

pub fn run(cli: &Cli, a: &Args) -> Result<(), Failure> {
    let (_, p) = context::process_file(cli)?;
    let now = Timestamp::now();
    let mut list: Vec<Entry> = entries(&p, now, a.weeks * 7)
        .into_iter()
        // What is over is not ahead.
        .filter(|e| e.end.timestamp() > now)
        .collect();
    // The next train first, then everything by start.
    if let Some(i) = list.iter().position(|e| e.kind == EntryKind::Train) {
        let next = list.remove(i);
        list.insert(0, next);
    }
    let tz = p.cadence.timezone_name.clone();
    if cli.json {
        let rows: Vec<serde_json::Value> = list
            .iter()
            .map(|e| {
                serde_json::json!({
                    "kind": kind(e.kind), "env": e.env, "title": e.title,
                    "start": e.start.timestamp(), "end": e.end.timestamp(),
                    "start_local": e.start.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                })
            })
            .collect();
        output::json(&serde_json::json!({"timezone": tz, "weeks": a.weeks, "entries": rows}));
        return Ok(());
    }
    if list.is_empty() {
        outln!(
            "nothing scheduled in the next {} week(s): the process sets no train, window or freeze",
            a.weeks
        );
        return Ok(());
    }
    if let Some(t) = list.first().filter(|e| e.kind == EntryKind::Train) {
        outln!(
            "next train: {} ({tz})",
            t.start.strftime("%a %Y-%m-%d %H:%M")
        );
    }
    let mut t = output::table(&["when", "until", "what", "environment"]);
    for e in &list {
        t.add_row(vec![
            e.start.strftime("%a %Y-%m-%d %H:%M").to_string(),
            e.end.strftime("%a %Y-%m-%d %H:%M").to_string(),
            format!("{}: {}", kind(e.kind), e.title),
            e.env.clone().unwrap_or_default(),
        ]);
    }
    output::print_table(&t);
    outln!("times in {tz}; the web UI's /calendar.ics is the same as a feed");
    Ok(())
}
