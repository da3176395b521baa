//! Reading event logs from files: XES (`.xes`, `.xes.gz`), streamed one case
//! at a time, so memory is bounded by the largest case, not the file.

mod xes;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context;
use baton_core::eventlog::Case;

/// Opens `path`, un-gzipping `.gz` files, and buffers it.
pub fn open(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
}

/// Calls `each` with every case of the XES log at `path`, in file order.
///
/// # Errors
/// IO and XML errors, naming the file and the byte position.
pub fn for_each_case(
    path: &Path,
    each: impl FnMut(Case) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let name = path.display().to_string();
    if !(name.ends_with(".xes") || name.ends_with(".xes.gz")) {
        anyhow::bail!("{name}: only XES logs (.xes, .xes.gz) can be read so far");
    }
    xes::read_cases(open(path)?, each).with_context(|| format!("cannot read {name}"))
}
