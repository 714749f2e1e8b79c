//! The cell texts of one event (docs/API.md §6), and the two per-format adjustments a
//! cell may get: the CSV formula guard and Excel's cell-length limit.

use std::borrow::Cow;
use std::fmt::Write as _;

use casetrail_core::{Activity, Event, EventId, RecordType, Timestamp};
use serde_json::Value;

/// The header row, in the order of docs/API.md §6.
pub const HEADER: [&str; COLUMNS] = [
    "Timestamp",
    "User",
    "User email",
    "Activity",
    "Activity type",
    "Details",
    "Related records",
    "Changes",
    "IP address",
    "Event ID",
];

/// How many columns an export has.
pub const COLUMNS: usize = 10;

/// The most characters (UTF-16 code units) an Excel cell holds.
pub const EXCEL_MAX_CELL_CHARS: usize = 32_767;

/// The cell texts of one event, exactly as a reader should see them (before the CSV
/// formula guard, see [`guard_formula`]):
///
/// - Timestamp: `occurred_at`, RFC 3339 UTC with milliseconds;
/// - User, User email: the actor's name and email (empty when none);
/// - Activity: the label (`Case updated`); Activity type: the key (`case.updated`);
/// - Details: the description;
/// - Related records: `Case: Smith v. Jones; Client: John Smith` (the record's id
///   when it has no name);
/// - Changes: `status: Intake → Active; assigned_to: null → Bob`, a JSON string
///   value bare, any other value as compact JSON;
/// - IP address: `context.ip` (empty when none); Event ID: the event's UUID.
pub fn row(event: &Event) -> [String; COLUMNS] {
    let mut buffers = CellBuffers::default();
    event_cells(event, &mut buffers).map(str::to_string)
}

/// What the ten cells show of an event, wherever it was read from: a parsed
/// [`Event`] or the view of a stored body (`crate::stored`). `related` yields each
/// record's type and shown name, `changes` each change's field and values.
pub(crate) struct RowParts<'r, R, C> {
    pub(crate) occurred_at: Timestamp,
    pub(crate) name: &'r str,
    pub(crate) email: &'r str,
    pub(crate) activity: Activity,
    pub(crate) description: &'r str,
    pub(crate) related: R,
    pub(crate) changes: C,
    pub(crate) ip: &'r str,
    pub(crate) id: EventId,
}

/// A change's value as the Changes cell shows it: a JSON string bare, any other value
/// through [`push_value`].
#[derive(Clone, Copy)]
pub(crate) enum Shown<'v> {
    Text(&'v str),
    Json(&'v Value),
}

impl<'v> Shown<'v> {
    pub(crate) fn of(value: &'v Value) -> Shown<'v> {
        match value {
            Value::String(s) => Shown::Text(s),
            other => Shown::Json(other),
        }
    }
}

/// The texts of the cells that are built rather than borrowed, kept from row to row
/// so that their capacity is reused.
#[derive(Debug, Default)]
pub(crate) struct CellBuffers {
    timestamp: String,
    related: String,
    changes: String,
    id: String,
}

/// The ten cell texts of `parts`: the built ones in `buffers`, the others borrowed
/// from `parts` itself, so that a writer copies each text once, into its output.
pub(crate) fn cells<'r, R, C>(parts: RowParts<'r, R, C>, buffers: &'r mut CellBuffers) -> [&'r str; COLUMNS]
where
    R: Iterator<Item = (RecordType, &'r str)>,
    C: Iterator<Item = (&'r str, Shown<'r>, Shown<'r>)>,
{
    let CellBuffers { timestamp, related, changes, id } = buffers;
    timestamp.clear();
    push_timestamp(timestamp, parts.occurred_at);
    related.clear();
    for (i, (kind, name)) in parts.related.enumerate() {
        if i > 0 {
            related.push_str("; ");
        }
        related.push_str(kind.label());
        related.push_str(": ");
        related.push_str(name);
    }
    changes.clear();
    for (i, (field, before, after)) in parts.changes.enumerate() {
        if i > 0 {
            changes.push_str("; ");
        }
        changes.push_str(field);
        changes.push_str(": ");
        push_value(changes, before);
        changes.push_str(" → ");
        push_value(changes, after);
    }
    id.clear();
    // Writing into a String cannot fail.
    let _ = write!(id, "{}", parts.id);
    [
        timestamp,
        parts.name,
        parts.email,
        parts.activity.label(),
        parts.activity.key(),
        parts.description,
        related,
        changes,
        parts.ip,
        id,
    ]
}

/// The cells of a parsed event.
pub(crate) fn event_cells<'r>(event: &'r Event, buffers: &'r mut CellBuffers) -> [&'r str; COLUMNS] {
    let parts = RowParts {
        occurred_at: event.occurred_at,
        name: &event.actor.name,
        email: event.actor.email.as_deref().unwrap_or(""),
        activity: event.activity,
        description: &event.description,
        related: event.related.iter().map(|r| (r.kind, r.display_name())),
        changes: event.changes.iter().map(|c| (c.field.as_str(), Shown::of(&c.before), Shown::of(&c.after))),
        ip: event.context.ip.as_deref().unwrap_or(""),
        id: event.id,
    };
    cells(parts, buffers)
}

/// What `Timestamp`'s Display writes (`2026-11-25T10:15:30.123Z`), several times
/// faster: it is a cell of every row.
fn push_timestamp(out: &mut String, ts: Timestamp) {
    const DAY: i64 = 86_400_000;
    let ms = ts.as_millis();
    let (days, in_day) = (ms.div_euclid(DAY), ms.rem_euclid(DAY));
    // Days since 1970-01-01 to a civil date (H. Hinnant, "chrono-Compatible
    // Low-Level Date Algorithms").
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);

    let mut buf = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: i64| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, in_day / 3_600_000);
    put(14, 2, in_day / 60_000 % 60);
    put(17, 2, in_day / 1_000 % 60);
    put(20, 3, in_day % 1_000);
    // Only ASCII digits and separators were written.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// What an export shows for a masked value (docs/API.md §14).
pub const MASKED_CELL: &str = "[masked]";

/// A JSON string bare; a masked value as `[masked]` (its fingerprint means nothing
/// to the reader of a spreadsheet); anything else as compact JSON text.
fn push_value(out: &mut String, value: Shown<'_>) {
    match value {
        Shown::Text(s) => out.push_str(s),
        Shown::Json(masked) if casetrail_core::mask::masked_fingerprint(masked).is_some() => out.push_str(MASKED_CELL),
        // `Value`'s Display is compact JSON (`{:#}` would be pretty).
        Shown::Json(other) => {
            let _ = write!(out, "{other}");
        }
    }
}

/// Whether a spreadsheet could take the cell for a formula: it starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return.
pub fn needs_formula_guard(cell: &str) -> bool {
    matches!(cell.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
}

/// The CSV formula guard of docs/API.md §6: a leading `'` when [`needs_formula_guard`],
/// the cell untouched otherwise.
pub fn guard_formula(cell: &str) -> Cow<'_, str> {
    if needs_formula_guard(cell) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// An XLSX cell's text: the cell itself when Excel can hold it, else as much of it
/// as fits followed by a marker saying how many characters were cut. Excel refuses
/// (and reports as damaged) a file with a longer cell; the CSV export keeps all.
pub fn fit_excel_cell(cell: &str) -> Cow<'_, str> {
    // Fast path: a UTF-8 string never has more UTF-16 units than bytes.
    if cell.len() <= EXCEL_MAX_CELL_CHARS || utf16_len(cell) <= EXCEL_MAX_CELL_CHARS {
        return Cow::Borrowed(cell);
    }
    // Room for the marker with the longest count a usize can have.
    let budget = EXCEL_MAX_CELL_CHARS - utf16_len(&truncation_marker(usize::MAX));
    let mut used = 0;
    let mut end = 0;
    for (i, ch) in cell.char_indices() {
        if used + ch.len_utf16() > budget {
            break;
        }
        used += ch.len_utf16();
        end = i + ch.len_utf8();
    }
    let omitted = cell[end..].chars().count();
    Cow::Owned(format!("{}{}", &cell[..end], truncation_marker(omitted)))
}

/// What ends a cell cut to Excel's limit.
pub fn truncation_marker(omitted_chars: usize) -> String {
    format!(" [… {omitted_chars} more characters cut: an Excel cell holds at most 32,767; the CSV export has them all]")
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fast(ms: i64) -> String {
        let mut s = String::new();
        push_timestamp(&mut s, Timestamp::from_millis(ms).unwrap());
        s
    }

    #[test]
    fn timestamps_match_display_at_the_edges() {
        for text in [
            "1970-01-01T00:00:00.000Z",
            "1999-12-31T23:59:59.999Z",
            "2000-02-29T12:00:00.001Z",
            "2024-02-29T00:00:00.000Z",
            "2100-02-28T23:59:59.999Z",
            "2100-03-01T00:00:00.000Z",
            "2026-11-25T10:15:30.123Z",
            "9999-12-29T23:59:59.999Z",
        ] {
            let ts = Timestamp::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(fast(ts.as_millis()), text);
            assert_eq!(ts.to_string(), text);
        }
        // The latest timestamp casetrail accepts (where jiff's range ends), and
        // nothing after it.
        assert_eq!(fast(Timestamp::MAX.as_millis()), "9999-12-30T22:00:00.000Z");
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-30T22:00:00.000Z");
        assert!(Timestamp::from_millis(Timestamp::MAX.as_millis() + 1).is_none());
        assert_eq!(fast(0), "1970-01-01T00:00:00.000Z");
    }

    proptest! {
        #[test]
        // Up to 9999-12-30, where jiff's range ends.
        fn timestamps_match_display(ms in 0i64..253_402_128_000_000) {
            prop_assert_eq!(fast(ms), Timestamp::from_millis(ms).unwrap().to_string());
        }
    }

    #[test]
    fn guard_only_the_six_prefixes() {
        for (cell, want) in [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@x", "'@x"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=already", "'=already"),
            (" =x", " =x"),
            ("\n=x", "\n=x"),
            ("a=b", "a=b"),
            ("＝x", "＝x"),
            ("", ""),
            ("Smith", "Smith"),
        ] {
            assert_eq!(guard_formula(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn excel_cells_fit() {
        let short = "é".repeat(EXCEL_MAX_CELL_CHARS);
        assert!(matches!(fit_excel_cell(&short), Cow::Borrowed(_)));

        for unit in ["a", "é", "😀", "中"] {
            let long = unit.repeat(EXCEL_MAX_CELL_CHARS + 5);
            let fitted = fit_excel_cell(&long);
            let len = utf16_len(&fitted);
            assert!(len <= EXCEL_MAX_CELL_CHARS, "{unit}: {len}");
            assert!(len > EXCEL_MAX_CELL_CHARS - 200, "{unit}: {len}");
            let marker_at = fitted.find(" [… ").unwrap();
            let kept = &fitted[..marker_at];
            assert!(long.starts_with(kept));
            let omitted = long.chars().count() - kept.chars().count();
            assert_eq!(&fitted[marker_at..], truncation_marker(omitted));
        }
    }
}
