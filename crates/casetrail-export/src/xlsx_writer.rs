//! XLSX through `rust_xlsxwriter` in constant-memory mode: each worksheet's rows go
//! to a temporary file as they are written (one row in memory at a time), and the
//! zip is assembled into the sink by `finish`.

use std::io::Write;
use std::path::Path;

use std::borrow::Cow;

use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};

use crate::ExportError;
use crate::row::{COLUMNS, CellBuffers, HEADER, fit_excel_cell};
use crate::stored::Source;

/// The most data rows a sheet takes: Excel's 1,048,576 rows less the header.
pub const MAX_ROWS_PER_SHEET: u32 = 1_048_575;

/// The first sheet's name; further ones are `System Log (2)`, `System Log (3)`, ...
pub const SHEET_NAME: &str = "System Log";

/// Column widths, in characters, in the order of [`HEADER`].
pub const COLUMN_WIDTHS: [f64; COLUMNS] = [26.0, 22.0, 28.0, 24.0, 30.0, 60.0, 40.0, 60.0, 16.0, 38.0];

/// Bytes of worksheet XML per row and per cell besides the cell text, rounded up:
/// `<row r="1048576" spans="1:10">…</row>` and
/// `<c r="J1048576" s="1" t="inlineStr"><is><t xml:space="preserve">…</t></is></c>`.
const ROW_XML_BYTES: u64 = 48;
const CELL_XML_BYTES: u64 = 80;

pub(crate) struct XlsxWriter<W: Write + Send> {
    workbook: Workbook,
    sink: W,
    bold: CellFormat,
    rows_per_sheet: u32,
    /// Index of the sheet being written.
    sheet: usize,
    rows_in_sheet: u32,
    /// An upper bound of the worksheets' uncompressed XML, to know whether the
    /// zip needs ZIP64 (which a streamed zip must decide before writing a member).
    xml_bytes: u64,
    zip64_after: u64,
    truncated_cells: u64,
    buffers: CellBuffers,
}

/// What the finished workbook holds, besides the sink.
pub(crate) struct XlsxDone<W> {
    pub(crate) sink: W,
    pub(crate) sheets: u32,
    pub(crate) truncated_cells: u64,
    pub(crate) zip64: bool,
}

impl<W: Write + Send> XlsxWriter<W> {
    pub(crate) fn new(
        sink: W,
        rows_per_sheet: u32,
        tempdir: Option<&Path>,
        zip64_after: u64,
        compression_level: u8,
    ) -> Result<XlsxWriter<W>, ExportError> {
        let mut workbook = Workbook::new();
        workbook.set_zip_compression_level(compression_level.clamp(1, 9));
        if let Some(dir) = tempdir {
            workbook.set_tempdir(dir).map_err(xlsx_error)?;
        }
        let mut writer = XlsxWriter {
            workbook,
            sink,
            bold: CellFormat::new().set_bold(),
            rows_per_sheet: rows_per_sheet.clamp(1, MAX_ROWS_PER_SHEET),
            sheet: 0,
            rows_in_sheet: 0,
            xml_bytes: 0,
            zip64_after,
            truncated_cells: 0,
            buffers: CellBuffers::default(),
        };
        writer.add_sheet()?;
        Ok(writer)
    }

    /// Starts the next sheet: named, column widths, header row bold and frozen.
    fn add_sheet(&mut self) -> Result<(), ExportError> {
        let number = self.workbook.worksheets().len() + 1;
        let name = if number == 1 { SHEET_NAME.to_string() } else { format!("{SHEET_NAME} ({number})") };
        let sheet = self.workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
        sheet.set_name(name).map_err(xlsx_error)?;
        for (col, width) in (0u16..).zip(COLUMN_WIDTHS) {
            sheet.set_column_width(col, width).map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        for (col, title) in (0u16..).zip(HEADER) {
            sheet.write_string_with_format(0, col, title, &self.bold).map_err(xlsx_error)?;
        }
        self.sheet = number - 1;
        self.rows_in_sheet = 0;
        self.xml_bytes += ROW_XML_BYTES + HEADER.iter().map(|h| CELL_XML_BYTES + h.len() as u64).sum::<u64>();
        Ok(())
    }

    /// Puts the autofilter over the header and the rows of the sheet being written:
    /// only now is its last row known.
    fn close_sheet(&mut self) -> Result<(), ExportError> {
        let last_col = (COLUMNS - 1) as u16;
        let rows = self.rows_in_sheet;
        let sheet = self.workbook.worksheet_from_index(self.sheet).map_err(xlsx_error)?;
        sheet.autofilter(0, 0, rows, last_col).map_err(xlsx_error)?;
        Ok(())
    }

    pub(crate) fn write_row(&mut self, source: Source<'_>) -> Result<(), ExportError> {
        if self.rows_in_sheet >= self.rows_per_sheet {
            self.close_sheet()?;
            self.add_sheet()?;
        }
        let row = self.rows_in_sheet + 1;
        let sheet = self.workbook.worksheet_from_index(self.sheet).map_err(xlsx_error)?;
        let (xml_bytes, zip64_after, truncated_cells) =
            (&mut self.xml_bytes, self.zip64_after, &mut self.truncated_cells);
        source.with_cells(&mut self.buffers, |texts| {
            *xml_bytes += ROW_XML_BYTES;
            for (col, cell) in (0u16..).zip(texts) {
                // An empty string makes no cell at all, which every reader shows as empty.
                if cell.is_empty() {
                    continue;
                }
                // No escape makes a byte longer than 7 (`\u{1}` is `_x0001_`): that
                // bound is cheap, and while it stays under the ZIP64 threshold the
                // exact count is not needed.
                let cheap = 7 * cell.len() as u64;
                *xml_bytes +=
                    CELL_XML_BYTES + if *xml_bytes + cheap <= zip64_after { cheap } else { escaped_len_bound(cell) };
                let text = match fit_excel_cell(cell) {
                    Cow::Borrowed(whole) => whole.to_owned(),
                    Cow::Owned(fitted) => {
                        *truncated_cells += 1;
                        fitted
                    }
                };
                sheet.write_string(row, col, text).map_err(xlsx_error)?;
            }
            Ok::<(), ExportError>(())
        })??;
        self.rows_in_sheet = row;
        Ok(())
    }

    /// Writes the whole zip into the sink and flushes it.
    pub(crate) fn finish(mut self) -> Result<XlsxDone<W>, ExportError> {
        self.close_sheet()?;
        let zip64 = self.xml_bytes > self.zip64_after;
        self.workbook.use_zip_large_file(zip64);
        self.workbook.save_to_writer(&mut self.sink).map_err(xlsx_error)?;
        self.sink.flush()?;
        Ok(XlsxDone {
            sheets: self.workbook.worksheets().len() as u32,
            sink: self.sink,
            truncated_cells: self.truncated_cells,
            zip64,
        })
    }
}

/// At least as many bytes as the cell's text takes in the worksheet XML: `&amp;`,
/// `&lt;`, `&gt;`, `_xHHHH_` for control characters and `U+FFFE`/`U+FFFF`, and
/// `_x005F` before a literal `_xHHHH_` (counted for every `_`, to stay above).
fn escaped_len_bound(text: &str) -> u64 {
    let extra: u64 = text
        .bytes()
        .map(|b| match b {
            b'&' => 4,
            b'<' | b'>' => 3,
            b'_' => 6,
            b'\t' | b'\n' => 0,
            0..=0x1F => 6,
            0xEF => 4,
            _ => 0,
        })
        .sum();
    text.len() as u64 + extra
}

/// An I/O failure (the sink's, or a temporary file's) stays an I/O error, so that a
/// caller can tell a client that went away from a bug.
fn xlsx_error(error: XlsxError) -> ExportError {
    if let XlsxError::IoError(e) = error {
        return ExportError::Io(e);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return ExportError::Io(std::io::Error::new(io.kind(), error.to_string()));
        }
        source = e.source();
    }
    ExportError::Xlsx(Box::new(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_bound_covers_the_escapes() {
        assert_eq!(escaped_len_bound("plain"), 5);
        assert!(escaped_len_bound("a&b") >= "a&amp;b".len() as u64);
        assert!(escaped_len_bound("<x>") >= "&lt;x&gt;".len() as u64);
        assert!(escaped_len_bound("\r\u{1}") >= "_x000D__x0001_".len() as u64);
        assert!(escaped_len_bound("_x0041_") >= "_x005F_x0041_".len() as u64);
        assert!(escaped_len_bound("\u{FFFE}") >= "_xFFFE_".len() as u64);
        for text in ["a&b", "<x>", "\r\u{1}", "_x0041_", "\u{FFFE}", "plain"] {
            assert!(escaped_len_bound(text) <= 7 * text.len() as u64, "{text:?}");
        }
    }
}
