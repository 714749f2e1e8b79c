//! Turns a stream of System Log events into the CSV or XLSX download of docs/API.md §6.
//! Knows nothing of HTTP or storage: the export drivers of `casetrail-app` feed it
//! events page by page and hand it a sink (the API's response body, the CLI's file).
//!
//! - [`row`]: the ten cell texts of one event, under the [`HEADER`] of §6.
//! - [`ExportWriter`]: writes events into an [`std::io::Write`] sink as they come,
//!   either parsed ([`ExportWriter::write_event`]) or, faster, as the stores keep
//!   them ([`ExportWriter::write_stored`]: the cells are read straight from the
//!   JSON body, without building an `Event`).
//!   - CSV: a UTF-8 byte-order mark, RFC 4180 with CRLF line ends, every cell that
//!     starts with `=`, `+`, `-`, `@`, tab or CR prefixed with `'`
//!     ([`guard_formula`]). Bytes reach the sink as rows are written (through a
//!     64 KiB buffer).
//!   - XLSX: plain text cells (never formulas), header row bold and frozen,
//!     autofilter, fixed column widths, a further sheet every 1,048,575 rows.
//!     `rust_xlsxwriter`'s constant-memory mode keeps one row in memory and the
//!     rest in a temporary file per sheet; the zip is written into the sink by
//!     [`ExportWriter::finish`], so an XLSX download receives its first byte only
//!     once every row is written, and the temporary files take some 0.9 GB of
//!     disk per million rows ([`ExportOptions::tempdir`]). A cell longer than
//!     Excel's 32,767 characters is cut with a marker ([`fit_excel_cell`]) and
//!     counted in [`Finished`].
//!
//! ```
//! use casetrail_export::{ExportWriter, Format};
//! let events: Vec<casetrail_core::Event> = Vec::new();
//! let mut writer = ExportWriter::new(Format::Csv, Vec::new()).unwrap();
//! for event in &events {
//!     writer.write_event(event).unwrap();
//! }
//! let done = writer.finish().unwrap();
//! assert_eq!(done.rows, 0);
//! assert!(done.sink.starts_with(b"\xEF\xBB\xBFTimestamp,User,User email,"));
//! ```
#![forbid(unsafe_code)]

mod csv_writer;
mod format;
mod row;
mod stored;
mod stored_time;
mod xlsx_writer;

use std::fmt;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use casetrail_core::Event;

pub use csv_writer::BOM;
pub use format::Format;
pub use row::{
    COLUMNS, EXCEL_MAX_CELL_CHARS, HEADER, fit_excel_cell, guard_formula, needs_formula_guard, row, truncation_marker,
};
pub use xlsx_writer::{COLUMN_WIDTHS, MAX_ROWS_PER_SHEET, SHEET_NAME};

use csv_writer::CsvWriter;
use stored::Source;
use xlsx_writer::XlsxWriter;

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The sink (or, for XLSX, a temporary file) failed: often a client that went
    /// away.
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    /// The XLSX writer refused something.
    #[error("building the XLSX file failed: {0}")]
    Xlsx(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored body given to [`ExportWriter::write_stored`] is not an event.
    #[error("a stored event could not be read: {0}")]
    Unreadable(#[source] serde_json::Error),
    /// The writer panicked; the message is the panic's.
    #[error("the export writer failed unexpectedly: {0}")]
    Panicked(String),
    /// An earlier call failed, so the output is incomplete and nothing more can be
    /// written.
    #[error("an earlier error ended this export")]
    AlreadyFailed,
}

/// The XLSX zip's default deflate level. Compressing is most of the time an XLSX
/// export takes: level 1 is about four times faster than zip's usual 6, for a file
/// about half as big again (some 110 MB instead of 72 MB for a million rows).
pub const DEFAULT_COMPRESSION_LEVEL: u8 = 1;

/// Settings that are rarely changed: the defaults are those of docs/API.md §6.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    rows_per_sheet: u32,
    tempdir: Option<PathBuf>,
    zip64_after: u64,
    compression_level: u8,
}

impl Default for ExportOptions {
    fn default() -> ExportOptions {
        ExportOptions {
            rows_per_sheet: MAX_ROWS_PER_SHEET,
            tempdir: None,
            // A zip member (or archive) of 4 GiB or more needs ZIP64, and a streamed
            // zip must decide before writing; the estimate is an upper bound of all
            // sheets' XML together, and the margin covers their head and tail.
            zip64_after: u64::from(u32::MAX) - 64 * 1024 * 1024,
            compression_level: DEFAULT_COMPRESSION_LEVEL,
        }
    }
}

impl ExportOptions {
    /// XLSX: data rows per sheet before the rows go on in a further sheet; 1 to
    /// [`MAX_ROWS_PER_SHEET`] (the default), values outside clamped.
    pub fn rows_per_sheet(mut self, rows: u32) -> ExportOptions {
        self.rows_per_sheet = rows.clamp(1, MAX_ROWS_PER_SHEET);
        self
    }

    /// XLSX: where the per-sheet temporary files go (default: the system's temporary
    /// directory). They hold the uncompressed sheet XML until `finish`: some 0.9 GB
    /// per million typical rows, more for long texts. Put them on disk, not on a
    /// RAM-backed tmpfs, or memory is no longer flat.
    pub fn tempdir(mut self, dir: impl Into<PathBuf>) -> ExportOptions {
        self.tempdir = Some(dir.into());
        self
    }

    /// XLSX: the zip's deflate level, 1 (fastest, the default) to 9 (smallest);
    /// values outside clamped.
    pub fn compression_level(mut self, level: u8) -> ExportOptions {
        self.compression_level = level.clamp(1, 9);
        self
    }

    /// XLSX: the estimated uncompressed size of the sheets past which the zip uses
    /// ZIP64 (default: just under 4 GiB, where plain zip ends). `0` always uses it.
    pub fn zip64_after(mut self, bytes: u64) -> ExportOptions {
        self.zip64_after = bytes;
        self
    }
}

/// What a finished export wrote.
#[derive(Debug)]
#[non_exhaustive]
pub struct Finished<W> {
    /// The sink, flushed.
    pub sink: W,
    /// Data rows written (the header not counted).
    pub rows: u64,
    /// Sheets in the workbook (1 for CSV).
    pub sheets: u32,
    /// XLSX cells cut to Excel's limit (0 for CSV).
    pub truncated_cells: u64,
    /// Whether the XLSX zip uses ZIP64 (false for CSV).
    pub zip64: bool,
}

enum Inner<W: Write + Send> {
    // Boxed: the writers hold buffers and are moved around whole.
    Csv(Box<CsvWriter<W>>),
    Xlsx(Box<XlsxWriter<W>>),
}

/// Writes events into a sink in one of the [`Format`]s, one at a time, in the order
/// given. Blocking: run it on a blocking thread when the sink is async.
pub struct ExportWriter<W: Write + Send> {
    format: Format,
    inner: Option<Inner<W>>,
    rows: u64,
}

impl<W: Write + Send> fmt::Debug for ExportWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportWriter")
            .field("format", &self.format)
            .field("rows", &self.rows)
            .field("failed", &self.inner.is_none())
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send> ExportWriter<W> {
    /// Starts an export with the default options. CSV writes the byte-order mark and
    /// the header into the sink at once; XLSX writes nothing into it before `finish`.
    pub fn new(format: Format, sink: W) -> Result<ExportWriter<W>, ExportError> {
        ExportWriter::with_options(format, sink, &ExportOptions::default())
    }

    pub fn with_options(format: Format, sink: W, options: &ExportOptions) -> Result<ExportWriter<W>, ExportError> {
        let inner = match format {
            Format::Csv => Inner::Csv(Box::new(CsvWriter::new(sink)?)),
            Format::Xlsx => Inner::Xlsx(Box::new(XlsxWriter::new(
                sink,
                options.rows_per_sheet,
                options.tempdir.as_deref(),
                options.zip64_after,
                options.compression_level,
            )?)),
        };
        Ok(ExportWriter { format, inner: Some(inner), rows: 0 })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one event as one row. After an error the export is over: every later
    /// call answers [`ExportError::AlreadyFailed`].
    pub fn write_event(&mut self, event: &Event) -> Result<(), ExportError> {
        self.write_row(Source::Event(event))
    }

    /// Writes one event given as its stored body, the JSON that [`Event`] serializes
    /// to (`ChainedEvent::body`): the same row as [`ExportWriter::write_event`] of the
    /// parsed event, without building one. The cells are read straight from the text
    /// (borrowed, members that no column shows skipped); a body nested deeper than
    /// `serde_json` parses is read as `ChainedEvent::event` reads it. A body that is
    /// not an event is [`ExportError::Unreadable`], and ends the export like any
    /// other error.
    pub fn write_stored(&mut self, body: &str) -> Result<(), ExportError> {
        self.write_row(Source::Stored(body))
    }

    fn write_row(&mut self, source: Source<'_>) -> Result<(), ExportError> {
        let inner = self.inner.as_mut().ok_or(ExportError::AlreadyFailed)?;
        let result = catch_unwind(AssertUnwindSafe(|| match inner {
            Inner::Csv(w) => w.write_row(source),
            Inner::Xlsx(w) => w.write_row(source),
        }));
        match flatten(result) {
            Ok(()) => {
                self.rows += 1;
                Ok(())
            }
            Err(e) => {
                self.inner = None;
                Err(e)
            }
        }
    }

    /// Writes events in order; stops at the first error.
    pub fn write_events<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) -> Result<(), ExportError> {
        events.into_iter().try_for_each(|event| self.write_event(event))
    }

    /// Completes the file (for XLSX: writes the whole zip), flushes the sink and
    /// hands it back.
    pub fn finish(mut self) -> Result<Finished<W>, ExportError> {
        let inner = self.inner.take().ok_or(ExportError::AlreadyFailed)?;
        let rows = self.rows;
        let result = catch_unwind(AssertUnwindSafe(move || match inner {
            Inner::Csv(w) => {
                w.finish().map(|sink| Finished { sink, rows, sheets: 1, truncated_cells: 0, zip64: false })
            }
            Inner::Xlsx(w) => w.finish().map(|done| Finished {
                sink: done.sink,
                rows,
                sheets: done.sheets,
                truncated_cells: done.truncated_cells,
                zip64: done.zip64,
            }),
        }));
        flatten(result)
    }
}

fn flatten<T>(result: std::thread::Result<Result<T, ExportError>>) -> Result<T, ExportError> {
    result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(ExportError::Panicked(message))
    })
}
