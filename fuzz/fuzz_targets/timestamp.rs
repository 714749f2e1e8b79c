//! The timestamp parser (`casetrail_core::Timestamp::parse`) on any text.
//!
//! Properties, beyond not panicking:
//! - an accepted text names an offset (`Z` or `±hh:mm`): a bare civil time is refused;
//! - the accepted instant is the text's instant with finer digits cut off: never later
//!   than it, less than a millisecond earlier (jiff, which does the parsing, says what
//!   the instant is);
//! - it renders as `YYYY-MM-DDTHH:MM:SS.mmmZ` and that rendering parses to itself, as
//!   does the JSON string through serde;
//! - any millisecond from 1970 to 9999 renders and parses back to itself.
#![no_main]

use std::str::FromStr;

use casetrail_core::Timestamp;
use casetrail_core::time::TimestampError;
use libfuzzer_sys::fuzz_target;

/// How many milliseconds a timestamp can hold, from 1970 to `Timestamp::MAX`.
const MILLIS_IN_RANGE: i64 = Timestamp::MAX.as_millis() + 1;

fuzz_target!(|data: &[u8]| {
    if let Some(ms) = data.first_chunk::<8>() {
        let ts = Timestamp::from_millis(i64::from_le_bytes(*ms).rem_euclid(MILLIS_IN_RANGE)).unwrap();
        assert_eq!(Timestamp::parse(&ts.to_string()), Ok(ts));
    }

    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = Timestamp::parse(text);
    let Ok(ts) = parsed else {
        assert!(matches!(parsed, Err(TimestampError::Malformed | TimestampError::OutOfRange)));
        return;
    };
    let upper = text.to_ascii_uppercase();
    let tail = upper.get(upper.len().saturating_sub(6)..).unwrap_or("");
    assert!(upper.ends_with('Z') || (tail.starts_with(['+', '-']) && tail.as_bytes()[3] == b':'), "{text:?}");

    let exact = jiff::Timestamp::from_str(text).expect("accepted, so jiff reads it");
    let cut = ts.to_jiff();
    assert!(cut <= exact, "{text:?} became the later {ts}");
    assert!(exact.duration_since(cut) < jiff::SignedDuration::from_millis(1), "{text:?} became {ts}");

    let rendered = ts.to_string();
    assert_eq!(rendered.len(), 24, "{rendered}");
    assert!(rendered.ends_with('Z') && rendered.as_bytes()[10] == b'T' && rendered.as_bytes()[19] == b'.');
    assert_eq!(Timestamp::parse(&rendered), Ok(ts));
    let through_serde: Timestamp = serde_json::from_value(serde_json::Value::from(text)).unwrap();
    assert_eq!(through_serde, ts);
});
