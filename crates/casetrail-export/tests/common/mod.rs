//! Building events as the server stores them, and reading exports back with real
//! readers.
#![allow(dead_code)]

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use casetrail_core::Event;
use casetrail_core::time::Timestamp;
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_export::{BOM, COLUMNS, ExportOptions, ExportWriter, Finished, Format, HEADER, guard_formula, row};
use serde_json::{Value, json};
use uuid::Uuid;

pub fn now() -> Timestamp {
    Timestamp::parse("2026-11-25T10:15:30.456Z").unwrap()
}

/// An event from an ingest body, through the same validation the server uses.
pub fn event(body: Value, seq: u64) -> Event {
    let rules = IngestRules { now: now(), window_start: None, allow_reserved: true };
    let new = parse_ingest(&body, &rules).unwrap_or_else(|e| panic!("invalid test event {body}: {e:?}")).remove(0);
    let id = Uuid::from_u128(0x0193_a5b2_0000_7000_8000_0000_0000_0000 + u128::from(seq));
    let account = Uuid::from_u128(0xacc0_0000_0000_4000_8000_0000_0000_0001);
    new.into_event(id.into(), account.into(), seq, now())
}

/// A plain event, different for every `seq`.
pub fn simple(seq: u64) -> Event {
    event(
        json!({
            "occurred_at": "2026-11-25T10:15:30.123Z",
            "actor": {"id": "u_17", "name": "Jane Doe", "email": "jane@smithlaw.com"},
            "activity": "case.updated",
            "description": format!("Changed case status, #{seq}"),
            "related": [{"type": "case", "id": "c_204", "name": "Smith v. Jones"}],
            "changes": [{"field": "status", "before": "Intake", "after": "Active"}],
            "context": {"ip": "203.0.113.5"}
        }),
        seq,
    )
}

/// Texts that break naive exports: formula prefixes, CSV and XML syntax, line ends,
/// control characters, emoji, Excel's own escapes.
pub const HOSTILE: [&str; 28] = [
    "=SUM(A1)",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+1",
    "-2",
    "@x",
    "\tx",
    "\rx",
    "=1+1\n",
    "He said \"hi\", then left",
    "\"",
    "a,b,c",
    ",",
    "line1\nline2",
    "line1\r\nline2",
    "ends with CR\r",
    "emoji 😀 👩‍⚖️ 🇺🇸",
    "<script>alert('x')</script>",
    "&amp; &lt; & < >",
    "]]><![CDATA[",
    "_x0041_ and _x000D_",
    "ctl \u{1}\u{8}\u{b}\u{c}\u{1b}\u{7f}",
    "  padded  ",
    "'already quoted",
    "José Ünïcödé — Łódź 中文 عربى",
    "\u{feff}bom inside",
    "trailing newline\n",
    "0123",
    "1e5",
];

/// One event per hostile text, with the text in every column a host controls, and
/// changes of every JSON type.
pub fn hostile_events() -> Vec<Event> {
    let mut events = Vec::new();
    for (i, text) in HOSTILE.iter().enumerate() {
        events.push(event(
            json!({
                "occurred_at": "2026-11-24T09:00:00.001Z",
                "actor": {"id": format!("u_{i}"), "name": text, "email": text},
                "activity": "communication.email_sent",
                "description": text,
                "related": [
                    {"type": "case", "id": text, "name": null},
                    {"type": "client", "id": "cl_1", "name": text},
                    {"type": "communication", "id": "m_1", "name": "Letter; re: \"costs\""}
                ],
                "changes": [
                    {"field": text, "before": text, "after": null},
                    {"field": "amount", "before": 1.5, "after": -2},
                    {"field": "flags", "before": [true, false, null], "after": {"nested": {"deep": [1, "two"]}, "q": "\"x\""}}
                ],
                "context": {"ip": text}
            }),
            100 + i as u64,
        ));
    }
    // Absent optional members.
    events.push(event(
        json!({
            "actor": {"id": "sys", "name": "Scheduler", "type": "system"},
            "activity": "system_log.purged",
            "description": ""
        }),
        999,
    ));
    events
}

pub fn export(format: Format, events: &[Event], options: &ExportOptions) -> Finished<Vec<u8>> {
    let mut writer = ExportWriter::with_options(format, Vec::new(), options).unwrap();
    writer.write_events(events).unwrap();
    assert_eq!(writer.rows(), events.len() as u64);
    writer.finish().unwrap()
}

/// The header and the events' rows, as a reader of the XLSX sees them.
pub fn expected_rows(events: &[Event]) -> Vec<Vec<String>> {
    let mut rows = vec![HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    rows.extend(events.iter().map(|e| row(e).to_vec()));
    rows
}

/// The same with the CSV formula guard applied.
pub fn expected_csv_rows(events: &[Event]) -> Vec<Vec<String>> {
    expected_rows(events).into_iter().map(|r| r.iter().map(|c| guard_formula(c).into_owned()).collect()).collect()
}

/// Parses CSV bytes with the csv crate, after checking and stripping the BOM.
pub fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let body = bytes.strip_prefix(BOM).expect("CSV starts with a UTF-8 byte-order mark");
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    reader
        .records()
        .map(|r| {
            let r = r.expect("valid CSV");
            assert_eq!(r.len(), COLUMNS);
            r.iter().map(str::to_string).collect()
        })
        .collect()
}

/// Every sheet of an XLSX file: its name and its rows, each cell a string (an
/// absent cell read as "").
pub fn read_xlsx(bytes: &[u8]) -> Vec<(String, Vec<Vec<String>>)> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("a readable XLSX");
    let names = book.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).expect("a readable sheet");
            assert_eq!(range.start(), Some((0, 0)), "sheet {name} starts at A1");
            assert_eq!(range.width(), COLUMNS, "sheet {name}");
            let rows = range
                .rows()
                .map(|r| {
                    r.iter()
                        .map(|cell| match cell {
                            Data::String(s) => s.clone(),
                            Data::Empty => String::new(),
                            other => panic!("sheet {name}: a cell that is not text: {other:?}"),
                        })
                        .collect()
                })
                .collect();
            (name, rows)
        })
        .collect()
}

/// One member of a zip, as text.
pub fn zip_member(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut file = archive.by_name(name).unwrap_or_else(|_| panic!("no {name} in the zip"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).unwrap();
    text
}

/// Compares row by row, cell by cell, so a failure names the cell.
pub fn assert_rows_eq(got: &[Vec<String>], want: &[Vec<String>], what: &str) {
    for (r, (g, w)) in got.iter().zip(want).enumerate() {
        for (c, (gc, wc)) in g.iter().zip(w).enumerate() {
            assert_eq!(gc, wc, "{what}: row {r}, column {c} ({})", HEADER[c]);
        }
        assert_eq!(g.len(), w.len(), "{what}: row {r} width");
    }
    assert_eq!(got.len(), want.len(), "{what}: row count");
}
