//! CSV: RFC 4180 with CRLF line ends, UTF-8 with a byte-order mark, the formula
//! guard on every cell.

use std::io::{self, Write};

use casetrail_core::Event;

use crate::ExportError;
use crate::row::{COLUMNS, HEADER, fill_row, guard_formula_in_place};

/// The UTF-8 byte-order mark, so that Excel reads accents right.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

pub(crate) struct CsvWriter<W: Write> {
    csv: csv::Writer<W>,
    cells: [String; COLUMNS],
}

impl<W: Write> CsvWriter<W> {
    /// Writes the byte-order mark and the header.
    pub(crate) fn new(mut sink: W) -> Result<CsvWriter<W>, ExportError> {
        sink.write_all(BOM)?;
        let csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .buffer_capacity(64 * 1024)
            .from_writer(sink);
        let mut writer = CsvWriter { csv, cells: Default::default() };
        for (cell, title) in writer.cells.iter_mut().zip(HEADER) {
            cell.clear();
            cell.push_str(title);
        }
        writer.write_cells()?;
        Ok(writer)
    }

    pub(crate) fn write_event(&mut self, event: &Event) -> Result<(), ExportError> {
        fill_row(event, &mut self.cells);
        self.write_cells()
    }

    fn write_cells(&mut self) -> Result<(), ExportError> {
        for cell in &mut self.cells {
            guard_formula_in_place(cell);
        }
        self.csv.write_record(&self.cells).map_err(csv_error)
    }

    /// Flushes everything and hands the sink back.
    pub(crate) fn finish(self) -> Result<W, ExportError> {
        self.csv.into_inner().map_err(|e| ExportError::Io(e.into_error()))
    }
}

fn csv_error(error: csv::Error) -> ExportError {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => ExportError::Io(e),
        // Only I/O can fail when writing records of a fixed width.
        other => ExportError::Io(io::Error::other(format!("{other:?}"))),
    }
}
