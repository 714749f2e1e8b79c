//! The CSV export, read back with the csv crate and checked at the byte level.

mod common;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use casetrail_export::{BOM, ExportError, ExportOptions, ExportWriter, Format, guard_formula, row};
use common::{assert_rows_eq, expected_csv_rows, export, hostile_events, read_csv, simple};

#[test]
fn exact_bytes_of_a_small_export() {
    let events = [simple(1)];
    let bytes = export(Format::Csv, &events, &ExportOptions::default()).sink;
    let id = events[0].id;
    let want = format!(
        "\u{feff}Timestamp,User,User email,Activity,Activity type,Details,Related records,Changes,IP address,Event ID\r\n\
         2026-11-25T10:15:30.123Z,Jane Doe,jane@smithlaw.com,Case updated,case.updated,\"Changed case status, #1\",\
         Case: Smith v. Jones,status: Intake → Active,203.0.113.5,{id}\r\n"
    );
    assert_eq!(String::from_utf8(bytes).unwrap(), want);
}

#[test]
fn an_empty_export_is_the_header() {
    let done = export(Format::Csv, &[], &ExportOptions::default());
    assert_eq!(done.rows, 0);
    assert_eq!(done.sheets, 1);
    assert_eq!(read_csv(&done.sink), expected_csv_rows(&[]));
    assert!(done.sink.ends_with(b"Event ID\r\n"));
}

#[test]
fn hostile_cells_round_trip_with_the_guard() {
    let events = hostile_events();
    let done = export(Format::Csv, &events, &ExportOptions::default());
    assert_eq!(done.rows, events.len() as u64);
    let got = read_csv(&done.sink);
    assert_rows_eq(&got, &expected_csv_rows(&events), "csv");

    // The guard is exactly one leading quote on exactly the six prefixes.
    for (cells, event) in got[1..].iter().zip(&events) {
        for (cell, original) in cells.iter().zip(row(event)) {
            let guarded = original.starts_with(['=', '+', '-', '@', '\t', '\r']);
            assert_eq!(cell == &format!("'{original}"), guarded, "{original:?}");
            assert_eq!(cell == &original, !guarded, "{original:?}");
        }
    }
    // Spot checks of what a spreadsheet sees.
    let names: Vec<&str> = got[1..].iter().map(|r| r[1].as_str()).collect();
    for must in ["'=SUM(A1)", "'+1", "'-2", "'@x", "'\tx", "'\rx", "He said \"hi\", then left", "'already quoted"] {
        assert!(names.contains(&must), "{must:?} in {names:?}");
    }
}

/// Walks the bytes as RFC 4180 does: outside quotes every line end is CRLF, and
/// there is one per record.
#[test]
fn records_end_with_crlf_and_quotes_hold_line_breaks() {
    let events = hostile_events();
    let bytes = export(Format::Csv, &events, &ExportOptions::default()).sink;
    let body = bytes.strip_prefix(BOM).unwrap();
    let mut quoted = false;
    let mut record_ends = 0;
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                assert_eq!(body[i - 1], b'\r', "bare LF at byte {i}");
                record_ends += 1;
            }
            b'\r' if !quoted => assert_eq!(body.get(i + 1), Some(&b'\n'), "bare CR at byte {i}"),
            _ => {}
        }
    }
    assert!(!quoted);
    assert!(body.ends_with(b"\r\n"));
    assert_eq!(record_ends, events.len() + 1);
    // Cells with quotes, commas or line breaks are quoted, quotes doubled.
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.contains("\"He said \"\"hi\"\", then left\""));
    assert!(text.contains("\"line1\nline2\""));
    assert!(text.contains("\"'\rx\""));
    // Others are left bare.
    assert!(text.contains(",<script>alert('x')</script>,"));
}

/// A sink that records what it was given and can be told to fail.
#[derive(Clone, Default)]
struct Probe {
    bytes: Arc<Mutex<Vec<u8>>>,
    writes: Arc<Mutex<usize>>,
    fail: Arc<Mutex<bool>>,
}

impl Write for Probe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if *self.fail.lock().unwrap() {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "client went away"));
        }
        *self.writes.lock().unwrap() += 1;
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn rows_reach_the_sink_as_they_are_written() {
    let probe = Probe::default();
    let mut writer = ExportWriter::new(Format::Csv, probe.clone()).unwrap();
    let mut seen = Vec::new();
    for seq in 0..5_000 {
        writer.write_event(&simple(seq)).unwrap();
        seen.push(probe.bytes.lock().unwrap().len());
    }
    // Bytes arrive throughout, through a bounded buffer, not all at the end.
    let total_before_finish = *seen.last().unwrap();
    assert!(total_before_finish > 0);
    assert!(*probe.writes.lock().unwrap() > 10);
    let done = writer.finish().unwrap();
    let total = probe.bytes.lock().unwrap().len();
    assert!(total - total_before_finish <= 64 * 1024, "at most one buffer held back");
    assert_eq!(done.rows, 5_000);
    assert_eq!(read_csv(&probe.bytes.lock().unwrap()).len(), 5_001);
}

#[test]
fn a_failing_sink_ends_the_export_with_an_io_error() {
    let probe = Probe::default();
    let mut writer = ExportWriter::new(Format::Csv, probe.clone()).unwrap();
    *probe.fail.lock().unwrap() = true;
    let mut error = None;
    for seq in 0..100_000 {
        if let Err(e) = writer.write_event(&simple(seq)) {
            error = Some((seq, e));
            break;
        }
    }
    let (at, error) = error.expect("the failure surfaces while writing");
    assert!(at < 1_000, "surfaced after {at} rows");
    match error {
        ExportError::Io(e) => assert_eq!(e.kind(), io::ErrorKind::BrokenPipe),
        other => panic!("{other:?}"),
    }
    assert!(matches!(writer.write_event(&simple(0)), Err(ExportError::AlreadyFailed)));
    assert!(matches!(writer.finish(), Err(ExportError::AlreadyFailed)));
}

#[test]
fn the_writer_can_move_to_a_blocking_thread() {
    fn assert_send<T: Send + 'static>(_: &T) {}
    let writer = ExportWriter::new(Format::Xlsx, Probe::default()).unwrap();
    assert_send(&writer);
    let writer = std::thread::spawn(move || {
        let mut writer = writer;
        writer.write_event(&simple(1)).unwrap();
        writer
    })
    .join()
    .unwrap();
    assert_eq!(writer.rows(), 1);
    assert!(format!("{writer:?}").contains("Xlsx"));
}

mod properties {
    use super::*;
    use casetrail_core::{Change, RecordType, Related};
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Any chars, weighted towards the ones that matter here.
        let special =
            prop::sample::select(vec!['=', '+', '-', '@', '\t', '\r', '\n', '"', ',', '\'', ' ', 'é', '😀', '\u{1}']);
        prop::collection::vec(prop_oneof![3 => special, 2 => any::<char>()], 0..12)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn any_text_round_trips_guarded(name in text(), details in text(), field in text(), value in text(), ip in text()) {
            let mut e = simple(1);
            e.actor.name = name;
            e.description = details;
            e.changes = vec![Change { field, before: serde_json::Value::String(value.clone()), after: serde_json::Value::Null }];
            e.related = vec![Related { kind: RecordType::Client, id: value, name: None }];
            e.context.ip = Some(ip);
            let bytes = export(Format::Csv, std::slice::from_ref(&e), &ExportOptions::default()).sink;
            let got = read_csv(&bytes);
            let want: Vec<String> = row(&e).iter().map(|c| guard_formula(c).into_owned()).collect();
            prop_assert_eq!(&got[1], &want);
        }
    }
}
