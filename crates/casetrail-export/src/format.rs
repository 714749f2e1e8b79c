//! The two download formats of docs/API.md §6 and what an HTTP layer or a CLI needs to
//! name them.

use casetrail_core::Timestamp;

/// A download format: `?format=csv` (the default) or `?format=xlsx`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Format {
    #[default]
    Csv,
    Xlsx,
}

impl Format {
    /// Every format, in the order the UI offers them.
    pub const ALL: [Format; 2] = [Format::Csv, Format::Xlsx];

    /// Reads the `format` query parameter. Exact and lowercase: anything else is
    /// `None` (a 400 for the caller).
    pub fn from_param(value: &str) -> Option<Format> {
        match value {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// The parameter value and the name the `system_log.exported` event records.
    pub fn key(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.key()
    }

    /// The `Content-Type` of the download.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// `system-log-YYYYMMDD-HHMMSS.csv`: the download's file name for an export made
    /// at `at`, in UTC.
    pub fn file_name(self, at: Timestamp) -> String {
        let dt = at.to_jiff().to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime();
        format!(
            "system-log-{:04}{:02}{:02}-{:02}{:02}{:02}.{}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            self.extension()
        )
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_exact() {
        assert_eq!(Format::from_param("csv"), Some(Format::Csv));
        assert_eq!(Format::from_param("xlsx"), Some(Format::Xlsx));
        for bad in ["", "CSV", "Xlsx", "xls", "csv ", " csv", "json"] {
            assert_eq!(Format::from_param(bad), None, "{bad:?}");
        }
        assert_eq!(Format::default(), Format::Csv);
        for f in Format::ALL {
            assert_eq!(Format::from_param(f.key()), Some(f));
        }
    }

    #[test]
    fn names_and_types() {
        assert_eq!(Format::Csv.content_type(), "text/csv; charset=utf-8");
        assert_eq!(Format::Xlsx.content_type(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        let at = Timestamp::parse("2026-03-05T07:08:09.999+02:00").unwrap();
        assert_eq!(Format::Csv.file_name(at), "system-log-20260305-050809.csv");
        assert_eq!(Format::Xlsx.file_name(at), "system-log-20260305-050809.xlsx");
        assert_eq!(Format::Xlsx.to_string(), "xlsx");
    }
}
