//! The release calendar: trains from the cadence, windows and freezes per
//! environment, as dated entries for a page and as an iCalendar feed
//! (RFC 5545) with recurring events in the process time zone. Pure: the
//! caller passes the instant and the range.
//!
//! Biweekly trains run every other week counted from the first train day on
//! or after 2024-01-01, so every server and every calendar agrees on which
//! weeks they are.

use jiff::civil::{Date, DateTime, Time, Weekday, date};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime as Zoned};
use serde::Serialize;

use crate::process::{CadenceKind, Process};

/// What a calendar entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Train,
    Window,
    Freeze,
}

/// One dated entry, in the process time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub kind: EntryKind,
    /// The environment of a window or freeze.
    pub env: Option<String>,
    pub title: String,
    pub start: Zoned,
    /// Exclusive.
    pub end: Zoned,
}

const TRAIN_ANCHOR: Date = date(2024, 1, 1);
const TRAIN_LENGTH_MINUTES: i64 = 60;

fn weekday_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

/// The first date on or after `from` that falls on `day`.
fn on_or_after(from: Date, day: Weekday) -> Date {
    let mut d = from;
    for _ in 0..7 {
        if d.weekday() == day {
            return d;
        }
        d = d.tomorrow().unwrap_or(d);
    }
    d
}

fn first_train(day: Weekday) -> Date {
    on_or_after(TRAIN_ANCHOR, day)
}

/// Is `d` a train day of the process's cadence?
pub fn is_train_day(p: &Process, d: Date) -> bool {
    let Some(day) = p.cadence.day else {
        return false;
    };
    if d.weekday() != day {
        return false;
    }
    match p.cadence.kind {
        CadenceKind::OnDemand => false,
        CadenceKind::Weekly => true,
        CadenceKind::Biweekly => {
            let days = (d - first_train(day)).get_days();
            days >= 0 && (days / 7) % 2 == 0
        }
    }
}

fn zoned(tz: &TimeZone, d: Date, t: Time) -> Option<Zoned> {
    // `to_zoned` resolves a time that falls in a DST gap forwards, as clocks do.
    DateTime::from_parts(d, t)
        .to_zoned_datetime(tz.clone())
        .ok()
}

/// Every entry that starts on the `days` days from the day of `from` (in the
/// process zone), ordered by start.
pub fn entries(p: &Process, from: Timestamp, days: u32) -> Vec<Entry> {
    let tz = &p.cadence.timezone;
    let first = from.to_zoned_datetime(tz.clone()).date();
    let mut out = Vec::new();
    let mut d = first;
    for _ in 0..days {
        if is_train_day(p, d)
            && let Some(t) = p.cadence.time
            && let Some(start) = zoned(tz, d, t)
            && let Ok(end) = start.checked_add(TRAIN_LENGTH_MINUTES.minutes())
        {
            out.push(Entry {
                kind: EntryKind::Train,
                env: None,
                title: format!("{} release train", p.project.name),
                start,
                end,
            });
        }
        for e in &p.environments {
            for w in &e.windows {
                if !w.days.contains(&d.weekday()) {
                    continue;
                }
                let end_day = if w.end_of_day {
                    d.tomorrow().unwrap_or(d)
                } else {
                    d
                };
                let end_time = if w.end_of_day {
                    Time::midnight()
                } else {
                    w.end
                };
                if let (Some(start), Some(end)) =
                    (zoned(tz, d, w.start), zoned(tz, end_day, end_time))
                {
                    out.push(Entry {
                        kind: EntryKind::Window,
                        env: Some(e.name.clone()),
                        title: format!("{} release window", e.name),
                        start,
                        end,
                    });
                }
            }
            for f in &e.freezes {
                if f.from == d || (d == first && f.from < d && d <= f.to) {
                    let end_day = f.to.tomorrow().unwrap_or(f.to);
                    if let (Some(start), Some(end)) = (
                        zoned(tz, d.max(f.from), Time::midnight()),
                        zoned(tz, end_day, Time::midnight()),
                    ) {
                        out.push(Entry {
                            kind: EntryKind::Freeze,
                            env: Some(e.name.clone()),
                            title: format!("{} frozen: {}", e.name, f.reason),
                            start,
                            end,
                        });
                    }
                }
            }
        }
        d = match d.tomorrow() {
            Ok(n) => n,
            Err(_) => break,
        };
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.title.cmp(&b.title)));
    out
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            ';' => o.push_str("\\;"),
            ',' => o.push_str("\\,"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c => o.push(c),
        }
    }
    o
}

/// Folds a content line at 75 octets (RFC 5545 §3.1), never inside a character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn local(dt: DateTime) -> String {
    dt.strftime("%Y%m%dT%H%M%S").to_string()
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn offset(o: jiff::tz::Offset) -> String {
    let secs = o.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    if !a.is_multiple_of(60) {
        format!("{sign}{:02}{:02}{:02}", a / 3600, a % 3600 / 60, a % 60)
    } else {
        format!("{sign}{:02}{:02}", a / 3600, a % 3600 / 60)
    }
}

/// The VTIMEZONE of `tz` covering `[from, to]`: one component per transition
/// in the range, or a single STANDARD for a zone without any.
fn vtimezone(name: &str, tz: &TimeZone, from: Timestamp, to: Timestamp, lines: &mut Vec<String>) {
    lines.push("BEGIN:VTIMEZONE".into());
    lines.push(format!("TZID:{name}"));
    let mut before = tz.to_offset(from);
    let mut any = false;
    for tr in tz.following(from) {
        let at = tr.timestamp();
        if at > to {
            break;
        }
        let after = tr.offset();
        let kind = if tr.dst().is_dst() {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        lines.push(format!("BEGIN:{kind}"));
        // DTSTART is the local time just before the change, in the old offset.
        lines.push(format!("DTSTART:{}", local(before.to_datetime(at))));
        lines.push(format!("TZOFFSETFROM:{}", offset(before)));
        lines.push(format!("TZOFFSETTO:{}", offset(after)));
        let abbr = tr.abbreviation();
        if !abbr.is_empty() {
            lines.push(format!("TZNAME:{}", text(abbr)));
        }
        lines.push(format!("END:{kind}"));
        before = after;
        any = true;
    }
    if !any {
        let o = tz.to_offset(from);
        lines.push("BEGIN:STANDARD".into());
        lines.push("DTSTART:19700101T000000".into());
        lines.push(format!("TZOFFSETFROM:{}", offset(o)));
        lines.push(format!("TZOFFSETTO:{}", offset(o)));
        lines.push("END:STANDARD".into());
    }
    lines.push("END:VTIMEZONE".into());
}

/// The iCalendar feed: trains and windows as weekly recurring events in the
/// process zone (so calendar apps keep them at the same wall-clock time across
/// DST changes), freezes as all-day events. `horizon_days` bounds both the
/// recurrences (`UNTIL`) and the time-zone rules included, so every occurrence
/// the feed describes has its offset in the feed itself, even for a client
/// that reads only the embedded rules; a subscribed feed extends as it refreshes.
pub fn ics(p: &Process, now: Timestamp, horizon_days: i64) -> String {
    let tz = &p.cadence.timezone;
    let tzid = p.cadence.timezone_name.as_str();
    let domain = format!("{}.sluice", p.project.key.to_lowercase());
    let stamp = utc(now);
    let today = now.to_zoned_datetime(tz.clone()).date();
    let monday = {
        let mut d = today;
        for _ in 0..7 {
            if d.weekday() == Weekday::Monday {
                break;
            }
            d = d.yesterday().unwrap_or(d);
        }
        d
    };
    let from = monday
        .to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or(now)
        .checked_sub(jiff::SignedDuration::from_hours(24 * 7))
        .unwrap_or(now);
    let to = now
        .checked_add(jiff::SignedDuration::from_hours(24 * horizon_days.max(1)))
        .unwrap_or(now);

    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//Sluice//Release calendar//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!(
            "X-WR-CALNAME:{}",
            text(&format!("{} releases", p.project.name))
        ),
        format!("X-WR-TIMEZONE:{tzid}"),
    ];
    // The rules start a year before the first event, so the observance in
    // force at every event's start is defined.
    let rules_from = from
        .min(first_train_ts(p).unwrap_or(from))
        .checked_sub(jiff::SignedDuration::from_hours(24 * 400))
        .unwrap_or(from);
    vtimezone(tzid, tz, rules_from, to, &mut lines);

    if let (Some(day), Some(t)) = (p.cadence.day, p.cadence.time)
        && p.cadence.kind != CadenceKind::OnDemand
    {
        let (start_day, interval) = match p.cadence.kind {
            CadenceKind::Biweekly => (first_train(day), 2),
            _ => (on_or_after(monday, day), 1),
        };
        let start = DateTime::from_parts(start_day, t);
        let end = start
            .checked_add(TRAIN_LENGTH_MINUTES.minutes())
            .unwrap_or(start);
        lines.extend([
            "BEGIN:VEVENT".into(),
            format!("UID:train@{domain}"),
            format!("DTSTAMP:{stamp}"),
            format!("DTSTART;TZID={tzid}:{}", local(start)),
            format!("DTEND;TZID={tzid}:{}", local(end)),
            format!(
                "RRULE:FREQ=WEEKLY;INTERVAL={interval};BYDAY={};UNTIL={}",
                weekday_code(day),
                utc(to)
            ),
            format!(
                "SUMMARY:{}",
                text(&format!("{} release train", p.project.name))
            ),
            "CATEGORIES:TRAIN".into(),
            "TRANSP:TRANSPARENT".into(),
            "END:VEVENT".into(),
        ]);
    }
    for e in &p.environments {
        for (i, w) in e.windows.iter().enumerate() {
            let Some(first_day) = w.days.iter().map(|d| on_or_after(monday, *d)).min() else {
                continue;
            };
            let start = DateTime::from_parts(first_day, w.start);
            let end = if w.end_of_day {
                DateTime::from_parts(first_day.tomorrow().unwrap_or(first_day), Time::midnight())
            } else {
                DateTime::from_parts(first_day, w.end)
            };
            let days: Vec<&str> = w.days.iter().map(|d| weekday_code(*d)).collect();
            lines.extend([
                "BEGIN:VEVENT".into(),
                format!("UID:window-{}-{i}@{domain}", e.name),
                format!("DTSTAMP:{stamp}"),
                format!("DTSTART;TZID={tzid}:{}", local(start)),
                format!("DTEND;TZID={tzid}:{}", local(end)),
                format!(
                    "RRULE:FREQ=WEEKLY;BYDAY={};UNTIL={}",
                    days.join(","),
                    utc(to)
                ),
                format!("SUMMARY:{}", text(&format!("{} release window", e.name))),
                format!(
                    "DESCRIPTION:{}",
                    text(&format!(
                        "Releases may enter `{}` during {}.",
                        e.name, w.text
                    ))
                ),
                "CATEGORIES:WINDOW".into(),
                "TRANSP:TRANSPARENT".into(),
                "END:VEVENT".into(),
            ]);
        }
        for f in &e.freezes {
            lines.extend([
                "BEGIN:VEVENT".into(),
                format!(
                    "UID:freeze-{}-{}@{domain}",
                    e.name,
                    f.from.strftime("%Y%m%d")
                ),
                format!("DTSTAMP:{stamp}"),
                format!("DTSTART;VALUE=DATE:{}", f.from.strftime("%Y%m%d")),
                format!(
                    "DTEND;VALUE=DATE:{}",
                    f.to.tomorrow().unwrap_or(f.to).strftime("%Y%m%d")
                ),
                format!(
                    "SUMMARY:{}",
                    text(&format!("{} frozen: {}", e.name, f.reason))
                ),
                "CATEGORIES:FREEZE".into(),
                "TRANSP:TRANSPARENT".into(),
                "END:VEVENT".into(),
            ]);
        }
    }
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for l in &lines {
        fold(l, &mut out);
    }
    out
}

fn first_train_ts(p: &Process) -> Option<Timestamp> {
    if p.cadence.kind != CadenceKind::Biweekly {
        return None;
    }
    let (day, t) = (p.cadence.day?, p.cadence.time?);
    zoned(&p.cadence.timezone, first_train(day), t).map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_characters_whole() {
        let mut out = String::new();
        fold(&"é".repeat(60), &mut out);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{l}");
        }
        assert_eq!(out.replace("\r\n ", "").trim_end(), "é".repeat(60));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
    }
}
