//! The page cursor (`casetrail_core::query::Cursor`): what `next_cursor` holds and
//! `cursor=` reads back.
//!
//! Properties, beyond not panicking on any text:
//! - a cursor that decodes points inside the range of timestamps, and encoding it again
//!   gives a text that decodes to the same position;
//! - every position (any timestamp, any seq), encoded, decodes to itself, in characters
//!   that need no escaping in a URL.
#![no_main]

use casetrail_core::Timestamp;
use casetrail_core::query::Cursor;
use libfuzzer_sys::fuzz_target;

/// How many milliseconds a timestamp can hold, from 1970 to `Timestamp::MAX`.
const MILLIS_IN_RANGE: i64 = Timestamp::MAX.as_millis() + 1;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(cursor) = Cursor::decode(text)
    {
        assert!(Timestamp::from_millis(cursor.occurred_at.as_millis()).is_some());
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor), "{text:?}");
    }

    // The same bytes read as a position: 8 for the time, 8 for the seq.
    if let Some((ms, seq)) = data.split_first_chunk::<8>().and_then(|(ms, rest)| Some((ms, rest.first_chunk::<8>()?))) {
        let ms = i64::from_le_bytes(*ms).rem_euclid(MILLIS_IN_RANGE);
        let cursor = Cursor { occurred_at: Timestamp::from_millis(ms).unwrap(), seq: u64::from_le_bytes(*seq) };
        let encoded = cursor.encode();
        assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{encoded}");
        assert_eq!(Cursor::decode(&encoded), Some(cursor));
    }
});
