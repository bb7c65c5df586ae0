//! `--since` / `--until`: an RFC 3339 time (`2026-11-28T05:00:00Z`) or a duration before now
//! (`90s`, `15m`, `2h`, `1d`, `1w`, or combined: `1h30m`).

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// The point in time `text` names, in seconds since the epoch, `now` being the present.
pub fn parse_time(text: &str, now: f64) -> Result<f64, String> {
    let text = text.trim();
    if let Some(t) = parse_rfc3339(text) {
        return Ok(t);
    }
    parse_duration(text).map(|d| now - d).map_err(|e| {
        format!("`{text}` is neither an RFC 3339 time (2026-11-28T05:00:00Z) nor a duration (2h, 30m, 1d): {e}")
    })
}

/// RFC 3339 with `Z` or a numeric offset (`+01:00`), in seconds since the epoch.
fn parse_rfc3339(text: &str) -> Option<f64> {
    if let Ok(t) = DateTime::from_str(text, Format::DateTime) {
        return Some(t.as_secs_f64());
    }
    // The SDK's parser takes `Z` only: apply a `±HH:MM` offset by hand.
    let (base, offset) = text.split_at_checked(text.len().checked_sub(6)?)?;
    let sign = match offset.as_bytes().first()? {
        b'+' => 1.0,
        b'-' => -1.0,
        _ => return None,
    };
    let (h, m) = offset[1..].split_once(':')?;
    let minutes = h.parse::<f64>().ok()? * 60.0 + m.parse::<f64>().ok()?;
    let t = DateTime::from_str(&format!("{base}Z"), Format::DateTime).ok()?;
    Some(t.as_secs_f64() - sign * minutes * 60.0)
}

/// A duration such as `2h`, `1h30m`, `45s`, `3d`, `1w`, in seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Err("empty".into());
    }
    let mut total = 0.0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86400.0,
            'w' => 7.0 * 86400.0,
            other => return Err(format!("unknown unit `{other}` (s, m, h, d, w)")),
        };
        let n: f64 = number.parse().map_err(|_| format!("no number before `{c}`"))?;
        total += n * unit;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("`{number}` has no unit (s, m, h, d, w)"));
    }
    Ok(total)
}

/// A `--since`/`--until` value, checked when parsed and resolved against the clock when used.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeArg(pub String);

impl std::str::FromStr for TimeArg {
    type Err = String;
    fn from_str(s: &str) -> Result<TimeArg, String> {
        parse_time(s, 0.0)?;
        Ok(TimeArg(s.to_string()))
    }
}

impl TimeArg {
    pub fn at(&self, now: f64) -> f64 {
        parse_time(&self.0, now).unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_count_back_from_now() {
        assert_eq!(parse_time("2h", 10_000.0).unwrap(), 10_000.0 - 7200.0);
        assert_eq!(parse_time("1h30m", 10_000.0).unwrap(), 10_000.0 - 5400.0);
        assert_eq!(parse_duration("45s").unwrap(), 45.0);
        assert_eq!(parse_duration("1d").unwrap(), 86400.0);
        assert_eq!(parse_duration("1w").unwrap(), 604800.0);
    }

    #[test]
    fn rfc3339_times_are_absolute() {
        assert_eq!(parse_time("1970-01-01T01:00:00Z", 5.0).unwrap(), 3600.0);
        assert_eq!(
            parse_time("2026-11-28T05:00:00+01:00", 0.0).unwrap(),
            1_795_842_000.0 - 3600.0
        );
    }

    #[test]
    fn nonsense_is_refused_with_the_accepted_forms() {
        for bad in ["", "2", "2x", "h", "yesterday", "2026-13-01"] {
            let err = parse_time(bad, 0.0).unwrap_err();
            assert!(err.contains("RFC 3339"), "{bad}: {err}");
        }
    }
}
