//! The XLSX export, read back with calamine and checked in its XML.

mod common;

use std::io::{self, Write};

use casetrail_export::{
    EXCEL_MAX_CELL_CHARS, ExportError, ExportOptions, ExportWriter, Format, MAX_ROWS_PER_SHEET, fit_excel_cell, row,
    truncation_marker,
};
use common::{assert_rows_eq, expected_rows, export, hostile_events, read_xlsx, simple, zip_member};

#[test]
fn hostile_cells_round_trip_as_plain_text() {
    let events = hostile_events();
    let done = export(Format::Xlsx, &events, &ExportOptions::default());
    assert_eq!((done.rows, done.sheets, done.truncated_cells, done.zip64), (events.len() as u64, 1, 0, false));
    let sheets = read_xlsx(&done.sink);
    assert_eq!(sheets.len(), 1);
    assert_eq!(sheets[0].0, "System Log");
    assert_rows_eq(&sheets[0].1, &expected_rows(&events), "xlsx");

    // Never a formula, every cell an inline string.
    let xml = zip_member(&done.sink, "xl/worksheets/sheet1.xml");
    assert!(!xml.contains("<f>") && !xml.contains("<f "), "no formulas");
    assert!(!xml.contains("t=\"n\"") && !xml.contains("<v>"), "no numbers");
    assert_eq!(xml.matches("t=\"inlineStr\"").count(), xml.matches("<c ").count());
}

#[test]
fn header_is_bold_and_frozen_with_an_autofilter_and_widths() {
    let events: Vec<_> = (0..5).map(simple).collect();
    let done = export(Format::Xlsx, &events, &ExportOptions::default());
    let xml = zip_member(&done.sink, "xl/worksheets/sheet1.xml");
    assert!(xml.contains(r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#), "{xml}");
    assert!(xml.contains(r#"<autoFilter ref="A1:J6"/>"#), "{xml}");
    assert!(xml.contains(r#"<col min="6" max="6" width="60.7109375" customWidth="1"/>"#), "{xml}");
    // The header cells carry a style, the data cells none; that style is bold.
    let header = &xml[xml.find(r#"<row r="1""#).unwrap()..xml.find(r#"<row r="2""#).unwrap()];
    assert_eq!(header.matches(r#" s="1" t="inlineStr""#).count(), 10, "{header}");
    let data = &xml[xml.find(r#"<row r="2""#).unwrap()..];
    assert!(!data.contains(" s=\""), "data cells are unstyled");
    let styles = zip_member(&done.sink, "xl/styles.xml");
    let fonts = &styles[styles.find("<fonts").unwrap()..styles.find("</fonts>").unwrap()];
    assert_eq!(fonts.matches("<font>").count(), 2, "{fonts}");
    assert!(fonts.contains("<b/>"), "{fonts}");
    let xfs = &styles[styles.find("<cellXfs").unwrap()..styles.find("</cellXfs>").unwrap()];
    assert!(xfs.contains(r#"<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#), "{xfs}");
    assert!(!styles.contains("wrapText"), "text wrap stays off");
    // The autofilter's defined name, which Excel needs.
    let book = zip_member(&done.sink, "xl/workbook.xml");
    assert!(book.contains(r#"<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'System Log'!$A$1:$J$6</definedName>"#), "{book}");
}

#[test]
fn an_empty_export_is_the_header() {
    let done = export(Format::Xlsx, &[], &ExportOptions::default());
    let sheets = read_xlsx(&done.sink);
    assert_eq!(sheets.len(), 1);
    assert_rows_eq(&sheets[0].1, &expected_rows(&[]), "empty");
    assert!(zip_member(&done.sink, "xl/worksheets/sheet1.xml").contains(r#"<autoFilter ref="A1:J1"/>"#));
}

#[test]
fn rows_go_on_in_further_sheets_that_repeat_the_header() {
    let events: Vec<_> = (0..7).map(simple).collect();
    let done = export(Format::Xlsx, &events, &ExportOptions::default().rows_per_sheet(3));
    assert_eq!((done.rows, done.sheets), (7, 3));
    let sheets = read_xlsx(&done.sink);
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["System Log", "System Log (2)", "System Log (3)"]);
    for (i, chunk) in events.chunks(3).enumerate() {
        assert_rows_eq(&sheets[i].1, &expected_rows(chunk), &sheets[i].0);
        let xml = zip_member(&done.sink, &format!("xl/worksheets/sheet{}.xml", i + 1));
        assert!(xml.contains(&format!(r#"<autoFilter ref="A1:J{}"/>"#, chunk.len() + 1)), "{xml}");
        assert!(xml.contains(r#"state="frozen""#));
    }
    // Rows keep their order across sheets.
    let all: Vec<Vec<String>> = sheets.iter().flat_map(|(_, rows)| rows[1..].to_vec()).collect();
    assert_rows_eq(&all, &expected_rows(&events)[1..], "all");
}

#[test]
fn a_full_sheet_starts_no_empty_one() {
    let events: Vec<_> = (0..6).map(simple).collect();
    let done = export(Format::Xlsx, &events, &ExportOptions::default().rows_per_sheet(3));
    assert_eq!(done.sheets, 2);
    assert_eq!(read_xlsx(&done.sink).len(), 2);
    let done = export(Format::Xlsx, &events[..1], &ExportOptions::default().rows_per_sheet(1));
    assert_eq!(done.sheets, 1);
}

#[test]
fn the_sheet_limit_defaults_to_excels_and_is_clamped() {
    assert_eq!(MAX_ROWS_PER_SHEET, 1_048_576 - 1);
    let events: Vec<_> = (0..3).map(simple).collect();
    // 0 is clamped to 1, so three sheets.
    assert_eq!(export(Format::Xlsx, &events, &ExportOptions::default().rows_per_sheet(0)).sheets, 3);
    assert_eq!(export(Format::Xlsx, &events, &ExportOptions::default().rows_per_sheet(u32::MAX)).sheets, 1);
}

#[test]
fn cells_longer_than_excel_allows_are_cut_with_a_marker() {
    let mut e = simple(1);
    let long = "Smith & Jones ⚖ ".repeat(5_000);
    e.related = (0..4)
        .map(|i| casetrail_core::Related {
            kind: casetrail_core::RecordType::Case,
            id: format!("c{i}"),
            name: Some(long.clone()),
        })
        .collect();
    let full = row(&e)[6].clone();
    assert!(full.chars().count() > EXCEL_MAX_CELL_CHARS);
    let done = export(Format::Xlsx, std::slice::from_ref(&e), &ExportOptions::default());
    assert_eq!(done.truncated_cells, 1);
    let sheets = read_xlsx(&done.sink);
    let cell = &sheets[0].1[1][6];
    assert_eq!(cell, &fit_excel_cell(&full));
    assert!(cell.encode_utf16().count() <= EXCEL_MAX_CELL_CHARS);
    let kept = cell.find(" [… ").unwrap();
    assert!(full.starts_with(&cell[..kept]));
    assert!(cell.ends_with(&truncation_marker(full.chars().count() - cell[..kept].chars().count())));
    // The other cells of the row are whole.
    let mut want = expected_rows(std::slice::from_ref(&e));
    want[1][6] = cell.clone();
    assert_rows_eq(&sheets[0].1, &want, "truncated");
    // CSV keeps everything.
    let csv = common::read_csv(&export(Format::Csv, std::slice::from_ref(&e), &ExportOptions::default()).sink);
    assert_eq!(csv[1][6], full);
}

#[test]
fn zip64_output_stays_readable() {
    let events = hostile_events();
    let done = export(Format::Xlsx, &events, &ExportOptions::default().zip64_after(0));
    assert!(done.zip64);
    assert_rows_eq(&read_xlsx(&done.sink)[0].1, &expected_rows(&events), "zip64");
}

#[test]
fn the_compression_level_trades_size_for_speed() {
    let events: Vec<_> = (0..2_000).map(simple).collect();
    let fast = export(Format::Xlsx, &events, &ExportOptions::default());
    let small = export(Format::Xlsx, &events, &ExportOptions::default().compression_level(9));
    assert!(small.sink.len() < fast.sink.len(), "{} < {}", small.sink.len(), fast.sink.len());
    assert_eq!(read_xlsx(&small.sink), read_xlsx(&fast.sink));
    assert_rows_eq(&read_xlsx(&small.sink)[0].1, &expected_rows(&events), "level 9");
}

#[test]
fn temporary_files_go_where_they_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let options = ExportOptions::default().tempdir(dir.path());
    let done = export(Format::Xlsx, &[simple(1)], &options);
    assert_eq!(read_xlsx(&done.sink)[0].1.len(), 2);
    let missing = ExportOptions::default().tempdir(dir.path().join("missing"));
    assert!(matches!(ExportWriter::with_options(Format::Xlsx, Vec::new(), &missing), Err(ExportError::Io(_))));
}

/// Nothing reaches the sink before `finish`, which then writes the whole zip.
#[test]
fn the_zip_is_written_at_finish_and_sink_errors_surface() {
    #[derive(Debug)]
    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut writer = ExportWriter::new(Format::Xlsx, Failing).unwrap();
    for seq in 0..100 {
        writer.write_event(&simple(seq)).unwrap();
    }
    match writer.finish() {
        Err(ExportError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::BrokenPipe),
        other => panic!("{other:?}"),
    }
}

mod properties {
    use super::*;
    use casetrail_core::{Change, RecordType, Related};
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '=', '+', '-', '@', '\t', '\r', '\n', '"', '<', '&', '_', 'x', '0', 'D', ' ', 'é', '😀', '\u{1}',
            '\u{fffe}',
        ]);
        prop::collection::vec(prop_oneof![3 => special, 2 => any::<char>()], 0..12)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_text_round_trips_unguarded(name in text(), details in text(), field in text(), value in text(), ip in text()) {
            let mut e = simple(1);
            e.actor.name = name;
            e.description = details;
            e.changes = vec![Change { field, before: serde_json::Value::String(value.clone()), after: serde_json::Value::Null }];
            e.related = vec![Related { kind: RecordType::Client, id: value, name: None }];
            e.context.ip = Some(ip);
            let done = export(Format::Xlsx, std::slice::from_ref(&e), &ExportOptions::default());
            let sheets = read_xlsx(&done.sink);
            prop_assert_eq!(&sheets[0].1[1], &row(&e).to_vec());
        }
    }
}
