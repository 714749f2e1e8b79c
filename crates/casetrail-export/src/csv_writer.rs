//! CSV: RFC 4180 with CRLF line ends, UTF-8 with a byte-order mark, the formula
//! guard on every cell.

use std::io::{self, Write};

use crate::ExportError;
use crate::row::{COLUMNS, CellBuffers, HEADER, guard_formula};
use crate::stored::Source;

/// The UTF-8 byte-order mark, so that Excel reads accents right.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

pub(crate) struct CsvWriter<W: Write> {
    csv: csv::Writer<W>,
    buffers: CellBuffers,
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
        let mut writer = CsvWriter { csv, buffers: CellBuffers::default() };
        write_guarded(&mut writer.csv, HEADER)?;
        Ok(writer)
    }

    pub(crate) fn write_row(&mut self, source: Source<'_>) -> Result<(), ExportError> {
        let csv = &mut self.csv;
        source.with_cells(&mut self.buffers, |texts| write_guarded(csv, texts))?
    }

    /// Flushes everything and hands the sink back.
    pub(crate) fn finish(self) -> Result<W, ExportError> {
        self.csv.into_inner().map_err(|e| ExportError::Io(e.into_error()))
    }
}

/// One record, each cell behind the formula guard; the texts go straight into the
/// csv writer's buffer, copied only when guarded.
fn write_guarded<W: Write>(csv: &mut csv::Writer<W>, texts: [&str; COLUMNS]) -> Result<(), ExportError> {
    let guarded = texts.map(guard_formula);
    csv.write_record(guarded.iter().map(|cell| cell.as_bytes())).map_err(csv_error)
}

fn csv_error(error: csv::Error) -> ExportError {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => ExportError::Io(e),
        // Only I/O can fail when writing records of a fixed width.
        other => ExportError::Io(io::Error::other(format!("{other:?}"))),
    }
}
