//! Durations as written in the process file: `24h`, `5d`, `2h30m`, `90s`, `1w`.
//!
//! A duration is a sequence of `<integer><unit>` with units `w`, `d`, `h`,
//! `m`, `s`, each unit at most once and largest first. Zero and negative
//! durations are rejected. The canonical form uses the largest units first,
//! so `format_duration(parse_duration(x))` parses back to the same value.

use jiff::SignedDuration;

const UNITS: [(char, i64); 5] = [
    ('w', 7 * 24 * 3600),
    ('d', 24 * 3600),
    ('h', 3600),
    ('m', 60),
    ('s', 1),
];

/// Parse a duration such as `24h`, `5d`, `2h30m`, `90m`, `1w`.
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let shape = || {
        format!(
            "`{s}` is not a duration; write a number and a unit (w, d, h, m, s), for example `24h`, `5d` or `2h30m`"
        )
    };
    if s.is_empty() {
        return Err(shape());
    }
    let mut total: i64 = 0;
    let mut last_unit = None;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(shape());
        }
        let (num, tail) = rest.split_at(digits);
        let unit = tail.chars().next().ok_or_else(shape)?;
        let pos = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(shape)?;
        if last_unit.is_some_and(|l| l >= pos) {
            return Err(format!(
                "`{s}` repeats a unit or puts a smaller unit first; write the largest unit first, for example `2h30m`"
            ));
        }
        last_unit = Some(pos);
        let n: i64 = num
            .parse()
            .map_err(|_| format!("`{s}` is too long a duration"))?;
        total = n
            .checked_mul(UNITS[pos].1)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(|| format!("`{s}` is too long a duration"))?;
        rest = &tail[unit.len_utf8()..];
    }
    if total == 0 {
        return Err(format!(
            "`{s}` is zero; a duration must be longer than that"
        ));
    }
    Ok(SignedDuration::from_secs(total))
}

/// Format a duration in the same notation `parse_duration` reads.
///
/// Largest units first (`90m` is `1h30m`, `48h` is `2d`), weeks only for a
/// whole number of weeks. Fractions of a second are dropped; zero is `0s`, negative durations get a
/// leading `-` (neither can come from a process file).
pub fn format_duration(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
    }
    let mut left = secs.unsigned_abs();
    // Weeks only for whole weeks: `30d` reads better than `4w2d`.
    let week = UNITS[0].1.unsigned_abs();
    let units = if left.is_multiple_of(week) {
        &UNITS[..]
    } else {
        &UNITS[1..]
    };
    for &(unit, size) in units {
        let size = size.unsigned_abs();
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        for (text, secs, canon) in [
            ("24h", 86_400, "1d"),
            ("5d", 432_000, "5d"),
            ("2h30m", 9_000, "2h30m"),
            ("90s", 90, "1m30s"),
            ("90m", 5_400, "1h30m"),
            ("48h", 172_800, "2d"),
            ("1w", 604_800, "1w"),
            ("1w1d1h1m1s", 694_861, "8d1h1m1s"),
            ("14d", 1_209_600, "2w"),
            ("30d", 2_592_000, "30d"),
        ] {
            let d = parse_duration(text).unwrap();
            assert_eq!(d.as_secs(), secs, "{text}");
            assert_eq!(format_duration(d), canon, "{text}");
        }
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "0s",
            "0h0m",
            "-1h",
            "1",
            "h",
            "1x",
            "1h 30m",
            "30m2h",
            "1h1h",
            "1.5h",
            " 1h",
            "99999999999999999999s",
            "9999999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
