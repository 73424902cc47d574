//! Calendar values of the process file: release windows (`tue,thu 10:00-12:00`),
//! times of day (`HH:MM`), week days (`mon`..`sun`) and dates (`YYYY-MM-DD`).
//! Each parser returns the model value or a message saying how to write it.

use jiff::civil::{Date, Time, Weekday};

use super::model::Window;

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// `mon`..`sun`.
pub(crate) fn parse_weekday(s: &str) -> Result<Weekday, String> {
    DAY_NAMES
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            format!("`{s}` is not a day; write one of mon, tue, wed, thu, fri, sat, sun")
        })
}

/// `HH:MM`, 24-hour clock. `24:00` is accepted only when `allow_end_of_day`
/// and returned as `None`.
fn parse_hhmm(s: &str, allow_end_of_day: bool) -> Result<Option<Time>, String> {
    let bad =
        || format!("`{s}` is not a time; write HH:MM on a 24-hour clock, for example `09:30`");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if allow_end_of_day && h == 24 && m == 0 {
        return Ok(None);
    }
    Time::new(h, m, 0, 0).map(Some).map_err(|_| bad())
}

/// `HH:MM`, 24-hour clock.
pub(crate) fn parse_time(s: &str) -> Result<Time, String> {
    parse_hhmm(s, false).map(|t| t.unwrap_or(Time::MIN))
}

/// `YYYY-MM-DD`.
pub(crate) fn parse_date(s: &str) -> Result<Date, String> {
    let bad = || format!("`{s}` is not a date; write YYYY-MM-DD, for example `2026-12-20`");
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d) = (
        y.parse::<i16>().map_err(|_| bad())?,
        m.parse::<i8>().map_err(|_| bad())?,
        d.parse::<i8>().map_err(|_| bad())?,
    );
    Date::new(y, m, d).map_err(|_| bad())
}

/// `DAYS HH:MM-HH:MM`, where DAYS is a comma list of days or day ranges
/// (`mon-fri`, `sat-sun`; a range may wrap around the week, `fri-mon`).
/// The end may be `24:00`; the start must come before the end.
pub(crate) fn parse_window(text: &str) -> Result<Window, String> {
    let shape =
        "write DAYS HH:MM-HH:MM, for example `tue,thu 10:00-12:00` or `mon-fri 09:00-17:00`";
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [days_text, range] = parts.as_slice() else {
        return Err(format!("`{text}` is not a window; {shape}"));
    };
    let mut days = Vec::new();
    for item in days_text.split(',') {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse_weekday(a)?, parse_weekday(b)?);
                let mut d = a;
                days.push(d);
                while d != b {
                    d = d.next();
                    days.push(d);
                }
            }
            None => days.push(parse_weekday(item)?),
        }
    }
    days.sort_by_key(|d| d.to_monday_zero_offset());
    days.dedup();
    let (a, b) = range
        .split_once('-')
        .ok_or_else(|| format!("`{range}` is not a time range; {shape}"))?;
    let start = parse_time(a)?;
    let end = parse_hhmm(b, true)?;
    if let Some(end) = end
        && start >= end
    {
        return Err(format!(
            "the window starts at {a} but ends at {b}; write the start first, the end must come after it (24:00 for midnight)"
        ));
    }
    Ok(Window {
        text: text.to_string(),
        days,
        start,
        end: end.unwrap_or(Time::MAX),
        end_of_day: end.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::model::weekday_name;
    use super::*;
    use jiff::civil::time;

    #[test]
    fn windows() {
        let w = parse_window("tue,thu 10:00-12:00").unwrap();
        assert_eq!(w.days, vec![Weekday::Tuesday, Weekday::Thursday]);
        assert_eq!(
            (w.start, w.end, w.end_of_day),
            (time(10, 0, 0, 0), time(12, 0, 0, 0), false)
        );

        let w = parse_window("mon-fri 09:00-24:00").unwrap();
        assert_eq!(w.days.len(), 5);
        assert!(w.end_of_day);
        assert_eq!(w.end, Time::MAX);

        let w = parse_window("fri-mon,wed 00:00-01:30").unwrap();
        let names: Vec<_> = w.days.iter().map(|d| weekday_name(*d)).collect();
        assert_eq!(names, ["mon", "wed", "fri", "sat", "sun"]);

        let w = parse_window("sun,sun 08:00-09:00").unwrap();
        assert_eq!(w.days, vec![Weekday::Sunday]);
    }

    #[test]
    fn bad_windows() {
        for bad in [
            "",
            "tue",
            "10:00-12:00",
            "tue 10:00",
            "tue 12:00-10:00",
            "tue 10:00-10:00",
            "tues 10:00-12:00",
            "tue 10-12",
            "tue 24:00-24:00",
            "tue 10:00-25:00",
            "tue 10:60-11:00",
            "Tue 10:00-11:00",
            "tue, thu 10:00-12:00",
            "tue 10:00-12:00 extra",
        ] {
            assert!(parse_window(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(
            parse_date("2026-12-20").unwrap(),
            jiff::civil::date(2026, 12, 20)
        );
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("26-12-20").is_err());
        assert_eq!(parse_time("23:59").unwrap(), time(23, 59, 0, 0));
        assert!(parse_time("24:00").is_err());
        assert!(parse_time("9:30").is_err());
    }
}
