//! Reading event logs from files: XES (`.xes`, `.xes.gz`) and CSV (`.csv`,
//! `.csv.gz`), streamed one case at a time, so memory is bounded by the
//! largest case, not the file.

mod csv;
mod xes;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use baton_core::eventlog::{Case, MappingConfig};

/// Counts the bytes read from the file (before un-gzipping), for progress bars.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where a log comes from: a file, or bytes built into the binary (the demo's log).
#[derive(Debug, Clone)]
pub enum LogSource {
    /// A file on disk.
    File(PathBuf),
    /// Bytes built in, under a file name that says their format.
    Embedded {
        /// E.g. `bpic2013_incidents.xes.gz`.
        name: &'static str,
        /// The file's bytes.
        bytes: &'static [u8],
    },
}

impl LogSource {
    /// The name shown in messages; its extension gives the format.
    pub fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Embedded { name, .. } => (*name).to_owned(),
        }
    }

    /// The size in bytes (before un-gzipping).
    pub fn size(&self) -> anyhow::Result<u64> {
        match self {
            Self::File(path) => Ok(std::fs::metadata(path)
                .with_context(|| format!("cannot open {}", path.display()))?
                .len()),
            Self::Embedded { bytes, .. } => Ok(bytes.len() as u64),
        }
    }

    /// Opens the log, un-gzipping `.gz`, buffered; `progress` counts the
    /// bytes read before un-gzipping.
    pub fn open(&self, progress: Arc<AtomicU64>) -> anyhow::Result<Box<dyn BufRead + Send>> {
        let raw: Box<dyn Read + Send> = match self {
            Self::File(path) => Box::new(
                File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
            ),
            Self::Embedded { bytes, .. } => Box::new(*bytes),
        };
        let counted = Counted {
            inner: raw,
            read: progress,
        };
        let reader: Box<dyn Read + Send> = if self.name().ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(counted))
        } else {
            Box::new(counted)
        };
        Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
    }
}

/// The kind of log a file name says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xes,
    Csv,
}

fn format_of(name: &str) -> anyhow::Result<Format> {
    let bare = name.strip_suffix(".gz").unwrap_or(name);
    if bare.ends_with(".xes") {
        Ok(Format::Xes)
    } else if bare.ends_with(".csv") {
        Ok(Format::Csv)
    } else {
        anyhow::bail!("{name}: name an XES (.xes, .xes.gz) or CSV (.csv, .csv.gz) event log")
    }
}

/// Calls `each` with every case of the log `source`, in file order; `progress`
/// counts the file's bytes read so far.
///
/// A CSV log has one event per row, a header row naming the columns, and the
/// rows of a case next to each other (sorted by case id).
///
/// # Errors
/// IO, XML and CSV errors, naming the file and the position.
pub fn for_each_case(
    source: &LogSource,
    mapping: &MappingConfig,
    progress: Arc<AtomicU64>,
    each: impl FnMut(Case) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let name = source.name();
    let format = format_of(&name)?;
    let input = source.open(progress)?;
    match format {
        Format::Xes => xes::read_cases(input, each),
        Format::Csv => csv::read_cases(input, &mapping.case_id, each),
    }
    .with_context(|| format!("cannot read {name}"))
}
