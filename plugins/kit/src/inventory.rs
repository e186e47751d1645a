//! Reading site-database exports (CSV from sqlcmd, SSMS or report export) as they really are:
//! UTF-8 with or without BOM or UTF-16LE with BOM, comma or tab separated, quoted fields,
//! CRLF, the literal `NULL`, sqlcmd's dashed underline and "(N rows affected)" trailer,
//! duplicate rows. Streaming: memory does not grow with the row count. Columns are matched by
//! name, case-insensitively. A file that changes while it is read is refused ("export is
//! being written") rather than half-read.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Why an export could not be used. Each names the file and, where it applies, the line
/// and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    Io {
        path: PathBuf,
        message: String,
    },
    /// A required column is not in the header.
    MissingColumn {
        path: PathBuf,
        column: String,
        have: Vec<String>,
    },
    /// A value is not what the column needs.
    BadValue {
        path: PathBuf,
        line: u64,
        column: String,
        message: String,
    },
    /// The file changed while it was read.
    BeingWritten {
        path: PathBuf,
    },
    Malformed {
        path: PathBuf,
        line: u64,
        message: String,
    },
    /// The file's rows disagree with its manifest (truncated or half-copied).
    Incomplete {
        message: String,
    },
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            ExportError::Incomplete { message } => f.write_str(message),
            ExportError::MissingColumn { path, column, have } => {
                write!(
                    f,
                    "{}:1: missing column `{column}` (the header has: {})",
                    path.display(),
                    have.join(", ")
                )
            }
            ExportError::BadValue {
                path,
                line,
                column,
                message,
            } => {
                write!(f, "{}:{line}: column `{column}`: {message}", path.display())
            }
            ExportError::BeingWritten { path } => {
                write!(
                    f,
                    "{}: export is being written (it changed while it was read); will retry",
                    path.display()
                )
            }
            ExportError::Malformed {
                path,
                line,
                message,
            } => write!(f, "{}:{line}: {message}", path.display()),
        }
    }
}

/// One data row: values by required-column position; `None` for empty or `NULL`.
pub struct Row<'a> {
    record: &'a csv::StringRecord,
    index: &'a [usize],
    pub line: u64,
    names: &'a [String],
    path: &'a Path,
}

impl<'a> Row<'a> {
    /// The value of the `i`-th required column (as passed to [`read`]).
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let v = self.record.get(self.index[i])?.trim();
        if v.is_empty() || v.eq_ignore_ascii_case("NULL") {
            None
        } else {
            Some(v)
        }
    }

    /// The `i`-th column as a resource id (ResourceID: the integer key of every
    /// site-database view); an empty or non-numeric value is an error naming it.
    pub fn id(&self, i: usize) -> Result<i64, ExportError> {
        let v = self
            .get(i)
            .ok_or_else(|| self.error(i, "empty ResourceID"))?;
        v.parse().map_err(|_| {
            // The value is shown, cut: a field can be as long as a line (1 MiB).
            let shown: String = v.chars().take(40).collect();
            self.error(i, format!("expected a number, got {shown:?}"))
        })
    }

    /// An error about the `i`-th column of this row.
    pub fn error(&self, i: usize, message: impl Into<String>) -> ExportError {
        ExportError::BadValue {
            path: self.path.to_owned(),
            line: self.line,
            column: self.names[i].clone(),
            message: message.into(),
        }
    }
}

/// File identity used to detect changes: size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub modified: Option<SystemTime>,
}

pub fn stamp(path: &Path) -> Result<Stamp, ExportError> {
    let m = std::fs::metadata(path).map_err(|e| ExportError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok(Stamp {
        size: m.len(),
        modified: m.modified().ok(),
    })
}

/// Decodes UTF-16LE to UTF-8 on the fly.
struct Utf16Le<R> {
    inner: R,
    out: Vec<u8>,
    pos: usize,
    pending: Option<u8>,
}

impl<R: Read> Read for Utf16Le<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.out.len() {
            self.out.clear();
            self.pos = 0;
            let mut raw = [0u8; 8192];
            let n = self.inner.read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            let mut bytes: Vec<u8> = self.pending.take().into_iter().collect();
            bytes.extend_from_slice(&raw[..n]);
            if bytes.len() % 2 == 1 {
                self.pending = bytes.pop();
            }
            let units = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]));
            let mut s = String::new();
            for ch in char::decode_utf16(units) {
                s.push(ch.unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            self.out.extend_from_slice(s.as_bytes());
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The longest line an export may have. Rows of the views patchdeck reads are a few hundred
/// bytes; a longer line is an error naming it, and memory stays bounded.
pub const MAX_LINE: usize = 1024 * 1024;

/// Passes bytes through, failing once a line runs past [`MAX_LINE`] bytes; counts lines.
struct LineCap<R> {
    inner: R,
    since_newline: usize,
    /// Line feeds seen so far (shared with the reader's error handling).
    lines: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for b in &buf[..n] {
            if *b == b'\n' {
                self.lines.set(self.lines.get() + 1);
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
                if self.since_newline > MAX_LINE {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, LineTooLong));
                }
            }
        }
        Ok(n)
    }
}

/// The marker error of [`LineCap`].
#[derive(Debug)]
struct LineTooLong;

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line longer than {} KiB", MAX_LINE / 1024)
    }
}

impl std::error::Error for LineTooLong {}

/// Opens an export as UTF-8 text, whatever its encoding. Only regular files: opening a FIFO
/// would block until someone writes, and a device can be endless.
fn open_text(path: &Path) -> Result<Box<dyn BufRead>, ExportError> {
    let io_err = |e: io::Error| ExportError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(ExportError::Io {
            path: path.to_owned(),
            message: format!("{what}: an export must be a file written by the export job"),
        });
    }
    let mut f = BufReader::new(File::open(path).map_err(io_err)?);
    let head = f.fill_buf().map_err(io_err)?;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        f.consume(3);
        Ok(Box::new(f))
    } else if head.starts_with(&[0xFF, 0xFE]) {
        f.consume(2);
        Ok(Box::new(BufReader::new(Utf16Le {
            inner: f,
            out: Vec::new(),
            pos: 0,
            pending: None,
        })))
    } else if head.starts_with(&[0xFE, 0xFF]) {
        Err(ExportError::Malformed {
            path: path.to_owned(),
            line: 1,
            message: "UTF-16 big-endian is not supported; export as UTF-8 or UTF-16LE (sqlcmd -u)"
                .into(),
        })
    } else {
        Ok(Box::new(f))
    }
}

fn is_trailer(record: &csv::StringRecord) -> bool {
    let first = record.get(0).unwrap_or("").trim();
    let all_dashes = record.iter().all(|f| {
        let f = f.trim();
        f.is_empty() || f.chars().all(|c| c == '-')
    });
    record.iter().all(|f| f.trim().is_empty())
        || (all_dashes && record.iter().any(|f| !f.trim().is_empty()))
        || (first.starts_with('(') && first.contains("row") && first.ends_with(')'))
}

/// Streams an export: calls `each` for every data row with the `columns` found by name.
/// Returns the number of data rows. Fails if the file changed while it was read.
pub fn read(
    path: &Path,
    columns: &[&str],
    mut each: impl FnMut(&Row) -> Result<(), ExportError>,
) -> Result<u64, ExportError> {
    let before = stamp(path)?;
    let text = open_text(path)?;
    let io_err = |e: io::Error| ExportError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let lines = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let mut text = BufReader::new(LineCap {
        inner: text,
        since_newline: 0,
        lines: lines.clone(),
    });
    let too_long = |line: u64| ExportError::Malformed {
        path: path.to_owned(),
        line,
        message: format!(
            "line longer than {} KiB: not an export row",
            MAX_LINE / 1024
        ),
    };
    let mut header = String::new();
    match text.read_line(&mut header) {
        Err(e) if e.get_ref().is_some_and(|i| i.is::<LineTooLong>()) => return Err(too_long(1)),
        r => {
            r.map_err(io_err)?;
        }
    }
    if header.trim().is_empty() {
        return Err(ExportError::Malformed {
            path: path.to_owned(),
            line: 1,
            message: "empty file (no header row)".into(),
        });
    }
    let delimiter = if header.matches('\t').count() > header.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    // The csv crate puts a record's start on the '\n' of the previous "\r\n", one line early.
    let line_fix = u64::from(header.ends_with("\r\n"));
    let input = io::Cursor::new(header.into_bytes()).chain(text);
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(input);
    let names: Vec<String> = csv
        .headers()
        .map_err(|e| ExportError::Malformed {
            path: path.to_owned(),
            line: 1,
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut index = Vec::with_capacity(columns.len());
    for c in columns {
        match names.iter().position(|n| n.eq_ignore_ascii_case(c)) {
            Some(i) => index.push(i),
            None => {
                return Err(ExportError::MissingColumn {
                    path: path.to_owned(),
                    column: (*c).to_owned(),
                    have: names.clone(),
                });
            }
        }
    }
    let wanted: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind()
                    && io.get_ref().is_some_and(|i| i.is::<LineTooLong>())
                {
                    // The long line is the one after the last line feed seen.
                    return Err(too_long(lines.get() + 1));
                }
                let line = e.position().map_or(0, |p| p.line() + line_fix);
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        "not UTF-8 text (export with sqlcmd -u for UTF-16, or as UTF-8)".to_owned()
                    }
                    _ => format!("not CSV: {e}"),
                };
                return Err(ExportError::Malformed {
                    path: path.to_owned(),
                    line,
                    message,
                });
            }
        }
        if is_trailer(&record) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line() + line_fix);
        if record.len() < names.len() {
            return Err(ExportError::Malformed {
                path: path.to_owned(),
                line,
                message: format!("{} fields, the header has {}", record.len(), names.len()),
            });
        }
        rows += 1;
        each(&Row {
            record: &record,
            index: &index,
            line,
            names: &wanted,
            path,
        })?;
    }
    if stamp(path)? != before {
        return Err(ExportError::BeingWritten {
            path: path.to_owned(),
        });
    }
    crate::exports::check_rows(path, rows)
        .map_err(|message| ExportError::Incomplete { message })?;
    Ok(rows)
}

/// The column names of an export's header row (any encoding the reader takes), without
/// reading the rows.
pub fn header(path: &Path) -> Result<Vec<String>, ExportError> {
    let text = open_text(path)?;
    let mut line = String::new();
    text.take(MAX_LINE as u64)
        .read_line(&mut line)
        .map_err(|e| ExportError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    if line.trim().is_empty() {
        return Err(ExportError::Malformed {
            path: path.to_owned(),
            line: 1,
            message: "empty file (no header row)".into(),
        });
    }
    let delimiter = if line.matches('\t').count() > line.matches(',').count() {
        '\t'
    } else {
        ','
    };
    Ok(line
        .trim_end()
        .trim_start_matches('\u{feff}')
        .split(delimiter)
        .map(|n| n.trim().trim_matches('"').to_owned())
        .collect())
}

pub use crate::time::parse_timestamp;

/// Remembers the last result computed from some files and recomputes only when one of them
/// changed size or mtime.
#[derive(Debug)]
pub struct Cached<T> {
    last: Option<(Vec<Stamp>, T)>,
}

impl<T: Clone> Default for Cached<T> {
    fn default() -> Self {
        Cached { last: None }
    }
}

impl<T: Clone> Cached<T> {
    /// The cached value if none of `paths` changed, else `compute()` (cached on success).
    pub fn get(
        &mut self,
        paths: &[&Path],
        compute: impl FnOnce() -> Result<T, ExportError>,
    ) -> Result<(T, bool), ExportError> {
        let now = paths
            .iter()
            .map(|p| stamp(p))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some((s, v)) = &self.last
            && *s == now
        {
            return Ok((v.clone(), true));
        }
        let v = compute()?;
        // Stamps as of the read (read() already refused a file that changed during it).
        self.last = Some((now, v.clone()));
        Ok((v, false))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn resource_ids_are_numbers_and_a_bad_one_is_named_with_its_line() {
        let dir = std::env::temp_dir().join(format!("pd-kit-id-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("ids.csv");
        std::fs::write(&f, "ResourceID,Name0\n16777220,PC1\n,PC2\n12x,PC3\n").unwrap();
        let mut ids = Vec::new();
        let mut errors = Vec::new();
        super::read(&f, &["ResourceID", "Name0"], |row| {
            match row.id(0) {
                Ok(id) => ids.push(id),
                Err(e) => errors.push(e.to_string()),
            }
            Ok(())
        })
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(ids, [16_777_220]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].contains("ids.csv:3: column `ResourceID`")
                && errors[0].contains("empty ResourceID"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("ids.csv:4: column `ResourceID`")
                && errors[1].contains("expected a number, got \"12x\""),
            "{errors:?}"
        );
    }

    use super::*;

    #[test]
    fn timestamps_in_sql_server_shapes() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00.000"), Some(0));
        assert_eq!(
            parse_timestamp("2026-11-20 13:45:12.000"),
            Some(1_795_182_312)
        );
        assert_eq!(parse_timestamp("2026-11-20T13:45:12Z"), Some(1_795_182_312));
        assert_eq!(parse_timestamp("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_timestamp("2026-13-01 00:00:00"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
