//! Release windows and freezes, evaluated in the process time zone. An instant
//! is converted to the zone's civil time (DST-correct through jiff's tz rules),
//! then compared with the window's weekday and wall-clock range.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::process::{Environment, Freeze, Window};

/// Is the civil time inside the window?
pub fn window_contains(w: &Window, local: DateTime) -> bool {
    if !w.days.contains(&local.weekday()) {
        return false;
    }
    let t = local.time();
    t >= w.start && (w.end_of_day || t < w.end)
}

/// The freeze the instant falls in, if any (days inclusive, in the zone).
pub fn active_freeze<'a>(
    freezes: &'a [Freeze],
    tz: &TimeZone,
    now: Timestamp,
) -> Option<&'a Freeze> {
    let day = now.to_zoned_datetime(tz.clone()).date();
    freezes.iter().find(|f| f.from <= day && day <= f.to)
}

/// Whether the environment may be entered at `now` as far as time goes:
/// `Ok(())`, or the reason it may not.
pub fn check_time(env: &Environment, tz: &TimeZone, now: Timestamp) -> Result<(), String> {
    let local = now.to_zoned_datetime(tz.clone());
    if let Some(f) = active_freeze(&env.freezes, tz, now) {
        return Err(format!(
            "`{}` is frozen from {} to {} ({}); it is now {}{}",
            env.name,
            f.from,
            f.to,
            f.reason,
            local.strftime(SHOWN),
            opening(env, tz, now, "it may be entered again from")
        ));
    }
    if env.windows.is_empty()
        || env
            .windows
            .iter()
            .any(|w| window_contains(w, local.datetime()))
    {
        return Ok(());
    }
    let windows: Vec<&str> = env.windows.iter().map(|w| w.text.as_str()).collect();
    Err(format!(
        "`{}` may be entered only inside its release windows ({}); it is now {}{}",
        env.name,
        windows.join(", "),
        local.strftime(SHOWN),
        opening(env, tz, now, "the next window opens")
    ))
}

/// How a time in the process zone is shown where a gate says when it opens: `Tue
/// 2026-11-24 10:00 CET` (refusals, the board).
pub const SHOWN: &str = "%a %Y-%m-%d %H:%M %Z";

/// `; {lead} {when}` for the next instant the environment may be entered, or nothing
/// when none comes within a year.
fn opening(env: &Environment, tz: &TimeZone, now: Timestamp, lead: &str) -> String {
    next_opening(env, tz, now)
        .map(|t| {
            format!(
                "; {lead} {}",
                t.to_zoned_datetime(tz.clone()).strftime(SHOWN)
            )
        })
        .unwrap_or_default()
}

/// The next instant (after `now`, within 366 days) at which the environment may be
/// entered: inside a window and outside every freeze.
pub fn next_opening(env: &Environment, tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
    let start_day = now.to_zoned_datetime(tz.clone()).date();
    for offset in 0..366i64 {
        let day = start_day.checked_add(offset.days()).ok()?;
        if env.freezes.iter().any(|f| f.from <= day && day <= f.to) {
            continue;
        }
        let mut candidates: Vec<Timestamp> = env
            .windows
            .iter()
            .filter(|w| w.days.contains(&day.weekday()))
            .filter_map(|w| {
                // A wall-clock time skipped by DST resolves forward (compatible rule).
                let z = day
                    .to_datetime(w.start)
                    .to_zoned_datetime(tz.clone())
                    .ok()?;
                let ts = z.timestamp();
                let end = if w.end_of_day {
                    day.tomorrow()
                        .ok()?
                        .to_datetime(jiff::civil::Time::midnight())
                        .to_zoned_datetime(tz.clone())
                        .ok()?
                        .timestamp()
                } else {
                    day.to_datetime(w.end)
                        .to_zoned_datetime(tz.clone())
                        .ok()?
                        .timestamp()
                };
                if end <= now {
                    None
                } else if ts <= now {
                    Some(now)
                } else {
                    Some(ts)
                }
            })
            .collect();
        candidates.sort();
        if let Some(first) = candidates.first() {
            return Some(*first);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process;

    fn prod(windows: &str, freezes: &str, tz: &str) -> (Environment, TimeZone) {
        let text = process::DEFAULT_PROCESS
            .replace(
                "timezone = \"Europe/Oslo\"",
                &format!("timezone = \"{tz}\""),
            )
            .replace(
                "windows = [\"tue,thu 10:00-12:00\"]",
                &format!("windows = [{windows}]"),
            )
            .replace(
                "freezes = [{ from = \"2026-12-20\", to = \"2027-01-04\", reason = \"holidays\" }]",
                &format!("freezes = [{freezes}]"),
            );
        let p = process::load("sluice.toml", &text).expect("test process loads");
        let e = p
            .environments
            .iter()
            .find(|e| e.name == "prod")
            .unwrap()
            .clone();
        (e, p.cadence.timezone.clone())
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn windows_follow_daylight_saving_time() {
        let (e, tz) = prod("\"mon 10:00-12:00\"", "", "Europe/Oslo");
        // Winter (UTC+1): 09:30Z is 10:30 local, inside; 11:30Z is 12:30, outside.
        assert!(check_time(&e, &tz, at("2026-03-23T09:30:00Z")).is_ok());
        assert!(check_time(&e, &tz, at("2026-03-23T11:30:00Z")).is_err());
        // The day after the change to summer time (UTC+2): 10:30Z is 12:30 local,
        // outside, though a fixed UTC+1 offset would call it 11:30 and inside.
        assert!(check_time(&e, &tz, at("2026-03-30T10:30:00Z")).is_err());
        assert!(check_time(&e, &tz, at("2026-03-30T08:00:00Z")).is_ok());
        assert!(check_time(&e, &tz, at("2026-03-30T07:59:59Z")).is_err());
    }

    #[test]
    fn a_window_across_the_skipped_hour_opens_at_the_first_real_instant() {
        // 2026-03-29 02:00 does not exist in Oslo: clocks jump from 02:00 to 03:00.
        let (e, tz) = prod("\"sun 02:30-04:00\"", "", "Europe/Oslo");
        let next = next_opening(&e, &tz, at("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(
            next,
            at("2026-03-29T01:30:00Z"),
            "02:30 resolves forward to 03:30 CEST = 01:30Z"
        );
        assert!(check_time(&e, &tz, at("2026-03-29T01:45:00Z")).is_ok());
    }

    #[test]
    fn freezes_are_whole_days_in_the_process_zone() {
        let (e, tz) = prod(
            "\"mon-sun 00:00-24:00\"",
            "{ from = \"2026-12-20\", to = \"2027-01-04\", reason = \"holidays\" }",
            "Pacific/Auckland",
        );
        // 2026-12-19T12:00Z is already 2026-12-20 01:00 in Auckland: frozen.
        let why = check_time(&e, &tz, at("2026-12-19T12:00:00Z")).unwrap_err();
        assert!(why.contains("frozen") && why.contains("holidays"), "{why}");
        // It says when the environment may be entered again: the day after the freeze.
        assert!(
            why.ends_with("it may be entered again from Tue 2027-01-05 00:00 NZDT"),
            "{why}"
        );
        assert!(check_time(&e, &tz, at("2026-12-19T10:00:00Z")).is_ok());
        // 2027-01-04 23:30 local is still frozen; 2027-01-05 00:30 is not.
        assert!(check_time(&e, &tz, at("2027-01-04T10:30:00Z")).is_err());
        assert!(check_time(&e, &tz, at("2027-01-04T11:30:00Z")).is_ok());
    }

    #[test]
    fn outside_a_window_the_refusal_names_the_next_opening() {
        let (e, tz) = prod("\"tue,thu 10:00-12:00\"", "", "Europe/Oslo");
        let why = check_time(&e, &tz, at("2026-11-23T23:00:00Z")).unwrap_err();
        assert!(why.contains("tue,thu 10:00-12:00"), "{why}");
        assert!(
            why.contains("next window opens Tue 2026-11-24 10:00"),
            "{why}"
        );
        let (e, tz) = prod("\"mon-sun 00:00-24:00\"", "", "UTC");
        assert!(check_time(&e, &tz, at("2026-11-23T23:59:59Z")).is_ok());
    }
}
