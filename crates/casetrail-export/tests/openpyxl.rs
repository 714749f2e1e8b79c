//! Python's openpyxl, the reader many analysts script with, reads the XLSX export:
//! sheets, frozen header, autofilter, bold header, and every cell as text equal to
//! the row text of §6.
//!
//! Needs Python 3 with openpyxl (`apt-get install -y python3-openpyxl`, for
//! /usr/bin/python3). Without it this test fails rather than skips;
//! `OPENPYXL_PYTHON` may name another interpreter.

mod common;

use std::path::PathBuf;
use std::process::Command;

use casetrail_export::{ExportOptions, Format};
use common::{assert_rows_eq, expected_rows, export, hostile_events, simple};
use serde_json::Value;

const SCRIPT: &str = r#"
import json, sys
import openpyxl
book = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in book.worksheets:
    rows, types = [], set()
    for row in ws.iter_rows():
        cells = []
        for c in row:
            types.add(c.data_type)
            cells.append("" if c.value is None else c.value)
        rows.append(cells)
    out.append({
        "name": ws.title,
        "freeze": ws.freeze_panes,
        "filter": ws.auto_filter.ref,
        "header_bold": [c.font.b for c in ws[1]],
        "data_bold": [bool(c.font.b) for r in ws.iter_rows(min_row=2) for c in r],
        "types": sorted(types),
        "rows": rows,
    })
json.dump(out, sys.stdout)
"#;

fn python() -> PathBuf {
    let python = std::env::var_os("OPENPYXL_PYTHON").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/python3".into());
    let check = Command::new(&python).args(["-c", "import openpyxl"]).output();
    match check {
        Ok(out) if out.status.success() => python,
        _ => panic!(
            "{} cannot import openpyxl, and this test needs it to check the XLSX export with a second real \
             reader: run `apt-get install -y python3-openpyxl` (or set OPENPYXL_PYTHON)",
            python.display()
        ),
    }
}

#[test]
fn openpyxl_reads_every_cell_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = hostile_events();
    events.extend((0..3).map(simple));
    let rows_per_sheet = 25;
    let done = export(Format::Xlsx, &events, &ExportOptions::default().rows_per_sheet(rows_per_sheet));
    let path = dir.path().join("export.xlsx");
    std::fs::write(&path, &done.sink).unwrap();

    let output = Command::new(python()).arg("-c").arg(SCRIPT).arg(&path).output().unwrap();
    assert!(output.status.success(), "openpyxl failed: {}", String::from_utf8_lossy(&output.stderr));
    let sheets: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();

    let chunks: Vec<_> = events.chunks(rows_per_sheet as usize).collect();
    assert_eq!(sheets.len(), chunks.len());
    for (i, (sheet, chunk)) in sheets.iter().zip(chunks).enumerate() {
        let name = if i == 0 { "System Log".to_string() } else { format!("System Log ({})", i + 1) };
        assert_eq!(sheet["name"], name.as_str());
        assert_eq!(sheet["freeze"], "A2");
        assert_eq!(sheet["filter"], format!("A1:J{}", chunk.len() + 1).as_str());
        assert_eq!(sheet["header_bold"], serde_json::json!(vec![true; 10]));
        assert!(sheet["data_bold"].as_array().unwrap().iter().all(|b| b == false));
        // "s" is a string, "n" what an absent cell reads as; never "f", a formula.
        for t in sheet["types"].as_array().unwrap() {
            assert!(t == "s" || t == "n", "{name}: cell type {t}");
        }
        let rows: Vec<Vec<String>> = sheet["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap_or_else(|| panic!("{name}: a cell that is not text: {c}")).to_string())
                    .collect()
            })
            .collect();
        let want: Vec<Vec<String>> =
            expected_rows(chunk).iter().map(|r| r.iter().map(|c| ooxml_escaped(c)).collect()).collect();
        assert_rows_eq(&rows, &want, &name);
    }
}

/// openpyxl (3.0) does not decode the `_xHHHH_` escapes of ECMA-376 (Part 1,
/// 22.9.2.19) that XML needs for control characters, which Excel, LibreOffice and
/// calamine decode: it shows them as they are in the file. This is that text:
/// `_x005F` before a literal `_xHHHH_`, then C0 controls (but tab and LF) and
/// U+FFFE, U+FFFF as `_xHHHH_`.
fn ooxml_escaped(cell: &str) -> String {
    let bytes = cell.as_bytes();
    let mut literal = String::with_capacity(cell.len());
    for (i, ch) in cell.char_indices() {
        let is_escape = bytes[i..].len() >= 7
            && bytes[i..].starts_with(b"_x")
            && bytes[i + 2..i + 6].iter().all(u8::is_ascii_hexdigit)
            && bytes[i + 6] == b'_';
        if is_escape {
            literal.push_str("_x005F");
        }
        literal.push(ch);
    }
    let mut out = String::with_capacity(literal.len());
    for ch in literal.chars() {
        match ch {
            '\t' | '\n' => out.push(ch),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push_str(&format!("_x{:04X}_", ch as u32)),
            _ => out.push(ch),
        }
    }
    out
}

#[test]
fn the_escape_text_is_that_of_the_standard() {
    assert_eq!(ooxml_escaped("\rx"), "_x000D_x");
    assert_eq!(ooxml_escaped("a\r\nb\tc"), "a_x000D_\nb\tc");
    assert_eq!(ooxml_escaped("_x0041_ _x12_ _xZZZZ_"), "_x005F_x0041_ _x12_ _xZZZZ_");
    assert_eq!(ooxml_escaped("\u{1}\u{1b}"), "_x0001__x001B_");
    assert_eq!(ooxml_escaped("plain é 😀"), "plain é 😀");
}
