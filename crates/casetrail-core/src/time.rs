//! Millisecond UTC timestamps, as docs/API.md §2 writes and reads them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant with millisecond precision, rendered as `2026-11-25T10:15:30.123Z`.
///
/// Kept as milliseconds since the Unix epoch: that is what the stores index, and the
/// contract keeps no finer precision.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a timestamp string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("not an RFC 3339 timestamp")]
    Malformed,
    #[error("timestamp out of range (1970 to 9999)")]
    OutOfRange,
}

/// The last millisecond jiff takes back from milliseconds, 9999-12-30T22:00:00.000Z
/// (jiff keeps a margin so any offset still gives a civil time in 9999). A later one
/// would not render: it could come in only as milliseconds (a cursor), never as text.
const MAX_MILLIS: i64 = 253_402_207_200_000;

impl Timestamp {
    pub const EPOCH: Timestamp = Timestamp(0);
    /// The latest timestamp: 9999-12-30T22:00:00.000Z.
    pub const MAX: Timestamp = Timestamp(MAX_MILLIS);

    /// From milliseconds since the epoch; `None` outside 1970..=9999.
    pub fn from_millis(ms: i64) -> Option<Timestamp> {
        (0..=MAX_MILLIS).contains(&ms).then_some(Timestamp(ms))
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Now, truncated to the millisecond.
    pub fn now() -> Timestamp {
        Timestamp::from_jiff(jiff::Timestamp::now()).unwrap_or(Timestamp::EPOCH)
    }

    /// Truncates finer digits, as docs/API.md §2 says.
    pub fn from_jiff(ts: jiff::Timestamp) -> Option<Timestamp> {
        // jiff rounds towards zero, which before 1970 is towards the future: the last
        // fraction of a millisecond before the epoch would become the epoch itself.
        // Cutting digits off means going towards the past.
        let ms = ts.as_millisecond();
        let ms = if ts.as_nanosecond() < i128::from(ms) * 1_000_000 { ms - 1 } else { ms };
        Timestamp::from_millis(ms)
    }

    pub fn to_jiff(self) -> jiff::Timestamp {
        // In range by construction.
        jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    pub fn plus_millis(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms).clamp(0, MAX_MILLIS))
    }

    pub fn minus_days(self, days: i64) -> Timestamp {
        self.plus_millis(-days.saturating_mul(86_400_000))
    }

    /// Parses any RFC 3339 form (any offset, any precision).
    pub fn parse(s: &str) -> Result<Timestamp, TimestampError> {
        // jiff also takes forms RFC 3339 does not (no offset, bracketed zones); the
        // contract asks for an offset, so a bare civil time is refused.
        // A numeric offset is the last six bytes, `+hh:mm`; a shorter string has none.
        let has_offset = s.ends_with(['Z', 'z'])
            || s.get(s.len().saturating_sub(6)..)
                .is_some_and(|tail| tail.starts_with(['+', '-']) && tail.as_bytes().get(3) == Some(&b':'));
        if !has_offset || s.contains('[') {
            return Err(TimestampError::Malformed);
        }
        let ts = jiff::Timestamp::from_str(s).map_err(|_| TimestampError::Malformed)?;
        Timestamp::from_jiff(ts).ok_or(TimestampError::OutOfRange)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.to_jiff().to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_three_fraction_digits_and_z() {
        let ts = Timestamp::parse("2026-11-25T10:15:30.123Z").unwrap();
        assert_eq!(ts.to_string(), "2026-11-25T10:15:30.123Z");
        assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn accepts_any_offset_and_truncates_finer_digits() {
        let ts = Timestamp::parse("2026-11-25T11:15:30.123987+01:00").unwrap();
        assert_eq!(ts.to_string(), "2026-11-25T10:15:30.123Z");
        let ts = Timestamp::parse("2026-11-25T05:15:30-05:00").unwrap();
        assert_eq!(ts.to_string(), "2026-11-25T10:15:30.000Z");
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        for bad in [
            "",
            "yesterday",
            "2026-11-25",
            "2026-11-25T10:15:30",
            "2026-13-01T00:00:00Z",
            "2026-11-25T10:15:30Z[Europe/Paris]",
        ] {
            assert_eq!(Timestamp::parse(bad), Err(TimestampError::Malformed), "{bad}");
        }
        assert_eq!(Timestamp::parse("1969-12-31T23:59:59Z"), Err(TimestampError::OutOfRange));
    }

    /// Found by the timestamp fuzz target: the instant just before the epoch was cut
    /// towards zero, so it became 1970-01-01T00:00:00.000Z instead of out of range.
    #[test]
    fn the_instant_just_before_1970_is_out_of_range() {
        for before in ["1969-12-31T23:59:59.9999Z", "1969-12-31T23:59:59.999999999Z", "1970-01-01T00:59:59.9999+01:00"]
        {
            assert_eq!(Timestamp::parse(before), Err(TimestampError::OutOfRange), "{before}");
        }
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00.0009Z"), Ok(Timestamp::EPOCH));
    }

    /// Found by the timestamp fuzz target: milliseconds in the last day of 9999 (out of
    /// jiff's range) were accepted, and rendered as 1970-01-01T00:00:00.000Z.
    #[test]
    fn the_latest_timestamp_is_the_latest_that_renders() {
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-30T22:00:00.000Z");
        assert!(jiff::Timestamp::from_millisecond(Timestamp::MAX.as_millis() + 1).is_err());
        assert_eq!(Timestamp::parse(&Timestamp::MAX.to_string()), Ok(Timestamp::MAX));
        assert_eq!(Timestamp::from_millis(MAX_MILLIS + 1), None);
        assert_eq!(Timestamp::from_millis(253_402_300_799_999), None);
        assert_eq!(Timestamp::MAX.plus_millis(1), Timestamp::MAX);
    }

    #[test]
    fn refuses_short_strings_that_start_like_an_offset() {
        for short in ["+1", "-", "+12", "-1:", "+", "-12:", "+12:0"] {
            assert_eq!(Timestamp::parse(short), Err(TimestampError::Malformed), "{short}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in proptest::prelude::any::<String>()) {
            let _ = Timestamp::parse(&s);
        }

        #[test]
        fn parse_never_panics_near_an_offset(s in "[0-9T:.+\\-Zz]{0,12}") {
            let _ = Timestamp::parse(&s);
        }

        #[test]
        fn parse_reads_back_what_it_renders(ms in 0..=MAX_MILLIS) {
            let ts = Timestamp::from_millis(ms).unwrap();
            proptest::prop_assert_eq!(Timestamp::parse(&ts.to_string()), Ok(ts));
        }
    }
}
