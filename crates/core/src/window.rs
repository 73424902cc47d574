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
            "`{}` is frozen from {} to {} ({}); it is now {}",
            env.name,
            f.from,
            f.to,
            f.reason,
            local.strftime("%a %Y-%m-%d %H:%M %Z")
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
    let next = next_opening(env, tz, now)
        .map(|t| {
            format!(
                "; the next window opens {}",
                t.to_zoned_datetime(tz.clone())
                    .strftime("%a %Y-%m-%d %H:%M %Z")
            )
        })
        .unwrap_or_default();
    Err(format!(
        "`{}` may be entered only inside its release windows ({}); it is now {}{}",
        env.name,
        windows.join(", "),
        local.strftime("%a %Y-%m-%d %H:%M %Z"),
        next
    ))
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
