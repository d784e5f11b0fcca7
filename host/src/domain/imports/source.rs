//! Reading an uploaded CSV file row by row: UTF-8 BOM skipped, `,` or `;` sniffed from the
//! header line, quoted fields may span lines, and rows are read as bytes so one row that is not
//! UTF-8 is that row's problem only.

use std::io::SeekFrom;
use std::path::Path;

use csv_async::{AsyncReader, AsyncReaderBuilder, ByteRecord};
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// How much of the file the delimiter sniffer looks at.
const SNIFF_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed CSV: {0}")]
    Csv(#[from] csv_async::Error),
    #[error("the file has no header row")]
    NoHeader,
    #[error("the header row is not valid UTF-8")]
    HeaderEncoding,
}

/// One data row: cells when it is well formed, else why not.
pub enum Row {
    Cells(Vec<String>),
    Invalid(String),
}

pub struct Source {
    reader: AsyncReader<File>,
    pub headers: Vec<String>,
    record: ByteRecord,
}

impl Source {
    pub async fn open(path: &Path) -> Result<Self, SourceError> {
        let mut file = File::open(path).await?;
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut file).take(SNIFF_BYTES as u64).read_to_end(&mut head).await?;
        let start = if head.starts_with(BOM) { BOM.len() } else { 0 };
        let delimiter = sniff_delimiter(&head[start..]);
        file.seek(SeekFrom::Start(start as u64)).await?;
        let mut reader = AsyncReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            // Ragged rows are reported per row instead of failing the read.
            .flexible(true)
            .create_reader(file);
        let raw = reader.byte_headers().await?;
        if raw.is_empty() || raw.iter().all(<[u8]>::is_empty) {
            return Err(SourceError::NoHeader);
        }
        let headers = raw
            .iter()
            .map(|h| std::str::from_utf8(h).map(|s| s.trim().to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| SourceError::HeaderEncoding)?;
        Ok(Self {
            reader,
            headers,
            record: ByteRecord::new(),
        })
    }

    /// The next data row, or `None` at the end of the file.
    pub async fn next(&mut self) -> Result<Option<Row>, SourceError> {
        if !self.reader.read_byte_record(&mut self.record).await? {
            return Ok(None);
        }
        if self.record.len() != self.headers.len() {
            return Ok(Some(Row::Invalid(format!(
                "expected {} fields, found {}",
                self.headers.len(),
                self.record.len()
            ))));
        }
        let cells: Result<Vec<String>, _> = self
            .record
            .iter()
            .map(|c| std::str::from_utf8(c).map(str::to_owned))
            .collect();
        Ok(Some(match cells {
            Ok(cells) => Row::Cells(cells),
            Err(_) => Row::Invalid("invalid UTF-8".into()),
        }))
    }
}

/// `;` when the header line has more semicolons than commas, else `,`.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    let count = |d: u8| line.iter().filter(|b| **b == d).count();
    if count(b';') > count(b',') {
        b';'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_header_line_only() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1,2,3,4,5"), b';');
        assert_eq!(sniff_delimiter(b"a,b\n"), b',');
        assert_eq!(sniff_delimiter(b"single"), b',');
    }
}
