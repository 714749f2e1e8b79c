//! A real spreadsheet application reads the XLSX export: LibreOffice converts every
//! sheet to CSV, and each cell must be the row text of §6, unguarded.
//!
//! Needs LibreOffice Calc (`apt-get install -y libreoffice-calc-nogui`). Without it
//! this test fails rather than skips; `LIBREOFFICE` may name the binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use casetrail_export::{ExportOptions, Format};
use common::{assert_rows_eq, expected_rows, export, hostile_events, simple};

fn libreoffice() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("LIBREOFFICE") {
        Some(path) => vec![PathBuf::from(path)],
        None => ["libreoffice", "soffice"]
            .iter()
            .flat_map(|name| {
                ["/usr/bin", "/usr/local/bin", "/opt/libreoffice/program"].map(|dir| Path::new(dir).join(name))
            })
            .collect(),
    };
    candidates.into_iter().find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "LibreOffice is not installed, and this test needs it to check the XLSX export in a real \
             spreadsheet application: run `apt-get install -y libreoffice-calc-nogui` (or set LIBREOFFICE \
             to the soffice binary)"
        )
    })
}

/// Converts every sheet of `xlsx` to UTF-8 CSV: `<stem>-<sheet name>.csv` in `out`.
fn convert_all_sheets(xlsx: &Path, out: &Path, profile: &Path) {
    // Comma, double quote, UTF-8 (76), from line 1, no formats, default language,
    // quote only where needed, ..., every sheet (-1) into its own file.
    let filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1";
    let output = Command::new(libreoffice())
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--nolockcheck", "--convert-to", filter, "--outdir"])
        .arg(out)
        .arg(xlsx)
        .output()
        .expect("LibreOffice runs");
    assert!(
        output.status.success(),
        "LibreOffice failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read_plain_csv(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = bytes.strip_prefix(casetrail_export::BOM).unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

#[test]
fn libreoffice_reads_every_cell_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = hostile_events();
    events.extend((0..3).map(simple));
    let rows_per_sheet = 20;
    let done = export(Format::Xlsx, &events, &ExportOptions::default().rows_per_sheet(rows_per_sheet));
    assert_eq!(done.sheets, 2);
    let xlsx = dir.path().join("export.xlsx");
    std::fs::write(&xlsx, &done.sink).unwrap();
    let out = dir.path().join("out");
    convert_all_sheets(&xlsx, &out, &dir.path().join("profile"));

    let chunks: Vec<&[casetrail_core::Event]> = events.chunks(rows_per_sheet as usize).collect();
    for (sheet, chunk) in ["System Log", "System Log (2)"].into_iter().zip(chunks) {
        let path = out.join(format!("export-{sheet}.csv"));
        let got = read_plain_csv(&path);
        let mut want = expected_rows(chunk);
        // LibreOffice takes a CRLF inside a cell for one line break, LF.
        for cells in &mut want {
            for cell in cells.iter_mut() {
                *cell = libreoffice_line_breaks(cell);
            }
        }
        assert_rows_eq(&got, &want, sheet);
    }
}

fn libreoffice_line_breaks(cell: &str) -> String {
    cell.replace("\r\n", "\n")
}
