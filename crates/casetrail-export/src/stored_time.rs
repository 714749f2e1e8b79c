//! Reading a stored body's timestamps fast: every body casetrail seals writes them as
//! `2026-11-25T10:15:30.123Z`, which is read here digit by digit; any other text is
//! left to [`Timestamp::parse`], so what is read, and what is refused, is the same.

use std::fmt;

use casetrail_core::Timestamp;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A timestamp member of a stored body.
pub(crate) struct StoredTime(pub(crate) Timestamp);

impl<'de> Deserialize<'de> for StoredTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StoredTime, D::Error> {
        struct TimeVisitor;

        impl Visitor<'_> for TimeVisitor {
            type Value = StoredTime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<StoredTime, E> {
                match written_form(v) {
                    Some(ts) => Ok(StoredTime(ts)),
                    None => Timestamp::parse(v).map(StoredTime).map_err(E::custom),
                }
            }
        }

        deserializer.deserialize_str(TimeVisitor)
    }
}

/// `text` when it is exactly the form casetrail writes, a real date and time of the
/// range `Timestamp` takes; `None` for anything else (which may still parse).
fn written_form(text: &str) -> Option<Timestamp> {
    let b: &[u8; 24] = text.as_bytes().try_into().ok()?;
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')];
    if separators.iter().any(|&(at, byte)| b[at] != byte) {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second, milli) = (number(11, 13)?, number(14, 16)?, number(17, 19)?, number(20, 23)?);
    let in_range = year >= 1970
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !in_range {
        return None;
    }
    let ms = days_from_civil(year, month, day) * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1_000 + milli;
    // Past the last instant `Timestamp` takes: `parse` says why.
    Timestamp::from_millis(ms)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a civil date of 1970 or later (H. Hinnant, "chrono-
/// Compatible Low-Level Date Algorithms"; the inverse of the one in `row`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_written_form_and_nothing_else() {
        for text in [
            "1970-01-01T00:00:00.000Z",
            "2000-02-29T12:00:00.001Z",
            "2026-11-25T10:15:30.123Z",
            "9999-12-30T22:00:00.000Z",
        ] {
            assert_eq!(written_form(text), Some(Timestamp::parse(text).unwrap()), "{text}");
        }
        for text in [
            "2026-11-25T10:15:30.123z",
            "2026-11-25T10:15:30.12Z",
            "2026-11-25T10:15:30.1234Z",
            "2026-11-25T10:15:30Z",
            "2026-11-25 10:15:30.123Z",
            "2026-11-25T11:15:30.123+01:00",
            "2026-02-29T10:15:30.123Z",
            "2100-02-29T10:15:30.123Z",
            "2026-13-01T10:15:30.123Z",
            "2026-00-01T10:15:30.123Z",
            "2026-11-00T10:15:30.123Z",
            "2026-11-25T24:00:00.000Z",
            "2026-11-25T10:60:30.123Z",
            "2026-11-25T10:15:60.123Z",
            "1969-12-31T23:59:59.999Z",
            "9999-12-30T22:00:00.001Z",
            "+026-11-25T10:15:30.123Z",
            "2026-11-25T10:15:30.12٣Z",
        ] {
            assert_eq!(written_form(text), None, "{text}");
        }
    }

    proptest! {
        #[test]
        fn reads_what_display_writes(ms in 0i64..=Timestamp::MAX.as_millis()) {
            let ts = Timestamp::from_millis(ms).unwrap();
            prop_assert_eq!(written_form(&ts.to_string()), Some(ts));
        }

        #[test]
        fn reads_as_parse_does(
            text in "(19[6-9][0-9]|[2-9][0-9]{3})-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9]\\.[0-9]{3}[Zz]",
        ) {
            match written_form(&text) {
                Some(ts) => prop_assert_eq!(Timestamp::parse(&text), Ok(ts)),
                // A leap second is left to `parse`, whatever it makes of it.
                None => prop_assert!(Timestamp::parse(&text).is_err() || text.ends_with('z') || &text[17..19] == "60"),
            }
        }
    }
}
