//! Reading event logs from files: XES (`.xes`, `.xes.gz`) and CSV (`.csv`,
//! `.csv.gz`), streamed one case at a time, so memory is bounded by the
//! largest case, not the file.

mod csv;
mod xes;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
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

/// Opens `path`, un-gzipping `.gz` files, and buffers it; `progress` counts
/// the file's bytes as they are read.
pub fn open(path: &Path, progress: Arc<AtomicU64>) -> anyhow::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let file = Counted {
        inner: file,
        read: progress,
    };
    let reader: Box<dyn Read + Send> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
}

/// The kind of log a file name says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xes,
    Csv,
}

fn format_of(path: &Path) -> anyhow::Result<Format> {
    let name = path.display().to_string();
    let bare = name.strip_suffix(".gz").unwrap_or(&name);
    if bare.ends_with(".xes") {
        Ok(Format::Xes)
    } else if bare.ends_with(".csv") {
        Ok(Format::Csv)
    } else {
        anyhow::bail!("{name}: name an XES (.xes, .xes.gz) or CSV (.csv, .csv.gz) event log")
    }
}

/// Calls `each` with every case of the log at `path`, in file order; `progress`
/// counts the file's bytes read so far.
///
/// A CSV log has one event per row, a header row naming the columns, and the
/// rows of a case next to each other (sorted by case id).
///
/// # Errors
/// IO, XML and CSV errors, naming the file and the position.
pub fn for_each_case(
    path: &Path,
    mapping: &MappingConfig,
    progress: Arc<AtomicU64>,
    each: impl FnMut(Case) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let format = format_of(path)?;
    let input = open(path, progress)?;
    let name = path.display();
    match format {
        Format::Xes => xes::read_cases(input, each),
        Format::Csv => csv::read_cases(input, &mapping.case_id, each),
    }
    .with_context(|| format!("cannot read {name}"))
}
