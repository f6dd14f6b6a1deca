//! `Retry-After` (RFC 9110 §10.2.3): delta-seconds of any size, or an HTTP-date.
//!
//! Read in full so that a long wait is reported (and not waited for) instead of being mistaken
//! for "retry now": a server that asks for an hour must not get a retry within a second.

/// The largest number of seconds kept: JavaScript numbers are exact up to 2^53 - 1.
const MAX_SECONDS: u64 = 9_007_199_254_740_991;

/// Seconds to wait from `now_ms` (the host's clock when the answer arrived). A date in the past
/// is 0; anything else unreadable is `None`.
pub fn seconds(raw: &str, now_ms: f64) -> Option<u64> {
    let raw = raw.trim();
    if raw.starts_with(|c: char| c.is_ascii_digit()) {
        return delta_seconds(raw);
    }
    let at_ms = http_date_ms(raw)?;
    let wait_ms = (at_ms - now_ms).max(0.0);
    Some(((wait_ms / 1000.0).ceil() as u64).min(MAX_SECONDS))
}

/// Whole seconds, any length; a fraction (not in the RFC, but sent by some proxies) rounds up.
fn delta_seconds(raw: &str) -> Option<u64> {
    let (whole, fraction) = match raw.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (raw, None),
    };
    let all_digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let seconds = whole.bytes().fold(0u64, |total, digit| {
        total
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    });
    let rounds_up = fraction.is_some_and(|f| f.bytes().any(|b| b != b'0'));
    Some((seconds.saturating_add(u64::from(rounds_up))).min(MAX_SECONDS))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Milliseconds since the epoch of the three forms RFC 9110 accepts, all in GMT:
/// `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT`, `Sun Nov  6 08:49:37 1994`.
/// In each, the first number is the day and the second the year.
fn http_date_ms(raw: &str) -> Option<f64> {
    let mut month = None;
    let mut time = None;
    let mut numbers = Vec::new();
    for token in raw.split([' ', ',', '-']).filter(|token| !token.is_empty()) {
        if token.contains(':') {
            time = Some(clock(token)?);
        } else if token.bytes().all(|b| b.is_ascii_digit()) {
            numbers.push(token);
        } else if let Some(index) = MONTHS
            .iter()
            .position(|name| token.len() == 3 && token.eq_ignore_ascii_case(name))
        {
            month = Some(index as u32 + 1);
        }
    }
    let (month, time) = (month?, time?);
    let [day, year] = numbers[..] else {
        return None;
    };
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: i64 = match year.len() {
        // RFC 850's two-digit years: RFC 9110 reads ones more than 50 years ahead as past.
        2 => year
            .parse::<i64>()
            .ok()
            .map(|y| if y >= 70 { 1900 + y } else { 2000 + y })?,
        4 => year.parse().ok()?,
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + time) as f64 * 1000.0)
}

/// `hh:mm:ss` as seconds of the day.
fn clock(token: &str) -> Option<i64> {
    let mut parts = token.split(':').map(|part| {
        (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<i64>().ok())
            .flatten()
    });
    let (hours, minutes, seconds) = (parts.next()??, parts.next()??, parts.next()??);
    (parts.next().is_none() && hours < 24 && minutes < 60 && seconds < 61)
        .then_some(hours * 3600 + minutes * 60 + seconds)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-10-21T07:28:00Z.
    const OCT_21_2015: f64 = 1_445_412_480_000.0;

    #[test]
    fn delta_seconds_of_any_size() {
        assert_eq!(seconds("3", 0.0), Some(3));
        assert_eq!(seconds(" 1.2 ", 0.0), Some(2));
        assert_eq!(seconds("2.0", 0.0), Some(2));
        assert_eq!(seconds("0", 0.0), Some(0));
        assert_eq!(seconds("86401", 0.0), Some(86_401));
        assert_eq!(seconds("99999999999", 0.0), Some(99_999_999_999));
        assert_eq!(seconds(&"9".repeat(40), 0.0), Some(MAX_SECONDS));
        for bad in ["-1", "+1", "", "NaN", "1e9", "1.", "soon"] {
            assert_eq!(seconds(bad, 0.0), None, "{bad}");
        }
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        for date in [
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Wednesday, 21-Oct-15 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2015",
        ] {
            assert_eq!(http_date_ms(date), Some(OCT_21_2015), "{date}");
            assert_eq!(seconds(date, OCT_21_2015 - 3_600_000.0), Some(3600));
            assert_eq!(
                seconds(date, OCT_21_2015 - 1.0),
                Some(1),
                "a part second rounds up"
            );
            assert_eq!(seconds(date, OCT_21_2015 + 5_000.0), Some(0), "past: now");
        }
        assert_eq!(http_date_ms("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0.0));
        assert_eq!(
            http_date_ms("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(951_825_600_000.0)
        );
        for bad in [
            "Wed, 21 Foo 2015 07:28:00 GMT",
            "Wed, 21 Oct 2015 25:28:00 GMT",
            "Wed, 21 Oct 2015 GMT",
            "Wed, 41 Oct 2015 07:28:00 GMT",
            "Wed, 21 Oct 201 07:28:00 GMT",
        ] {
            assert_eq!(seconds(bad, 0.0), None, "{bad}");
        }
    }
}
