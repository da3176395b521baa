//! `baton import`: an event log written into the store as handoffs with their
//! whole history, on the log's own timestamps (historical mode).
//!
//! The file is read on a blocking thread, one case at a time; each case is
//! read as a handoff in the core ([`import_case`]) and handed to the store's
//! group-commit writer with many cases in flight, so a batch commits about a
//! thousand cases at once. Every case carries the key `import:SOURCE:CASE`
//! and a hash of the case, the mapping and the policy: importing the same
//! file again writes nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use baton_core::eventlog::{Anomaly, Case, MappingConfig, import_case};
use baton_core::policy::Policy;
use baton_store::{Idempotency, ImportHandoff, Store, StoreError};

use crate::eventlog::LogSource;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

/// Cases handed to the writer at once.
const IN_FLIGHT: usize = 2048;

/// What `baton import` needs.
pub struct ImportOptions {
    /// The log.
    pub log: LogSource,
    /// The mapping file's text and where it came from.
    pub mapping: (String, String),
    /// The policy whose SLA deadlines imported items get.
    pub policy: Option<PathBuf>,
    /// The same, already built (wins over `policy`).
    pub policy_built: Option<Policy>,
    /// Stop at the first anomaly.
    pub strict: bool,
    /// Write every anomaly here as JSON lines.
    pub anomalies: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportSummary {
    /// Cases read from the log.
    pub cases: u64,
    /// Source events read.
    pub source_events: u64,
    /// Handoffs written now.
    pub imported: u64,
    /// Cases already imported before (nothing written).
    pub already_imported: u64,
    /// Cases imported before from different content or another mapping or
    /// policy (left as they were).
    pub changed_since: u64,
    /// Events written now.
    pub events_written: u64,
    /// Cases skipped as unreadable.
    pub skipped_cases: u64,
    /// Anomalies by kind.
    pub anomalies: BTreeMap<&'static str, u64>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Reads a mapping file's text, keeping its name for messages.
pub fn mapping_text(path: &Path) -> anyhow::Result<(String, String)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read mapping {}", path.display()))?;
    Ok((path.display().to_string(), text))
}

/// Parses a mapping's text, naming where it came from in errors.
pub fn parse_mapping((name, text): &(String, String)) -> anyhow::Result<MappingConfig> {
    MappingConfig::parse(text).map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// Reads and parses a mapping file.
pub fn load_mapping(path: &Path) -> anyhow::Result<MappingConfig> {
    parse_mapping(&mapping_text(path)?)
}

/// Reads and checks a policy file; prints every error (as `baton policy
/// check` does) when it does not check clean.
pub fn load_policy(path: &Path) -> anyhow::Result<Policy> {
    match super::policy::load(path)? {
        Ok((policy, _)) => Ok(policy),
        Err(errors) => {
            super::policy::print_errors(path, &errors);
            anyhow::bail!("the policy {} does not check clean", path.display())
        }
    }
}

/// Hex SHA-256 of a case's attributes and events, the mapping and the policy.
fn case_hash(case: &Case, mapping_text: &str, policy: Option<&Policy>) -> String {
    let mut hash = Sha256::new();
    let mut field = |s: &str| {
        hash.update((s.len() as u64).to_le_bytes());
        hash.update(s.as_bytes());
    };
    field(mapping_text);
    field(policy.map_or("", |p| p.version.as_str()));
    for (k, v) in &case.attributes {
        field(k);
        field(v);
    }
    for event in &case.events {
        field("\u{1e}");
        for (k, v) in event {
            field(k);
            field(v);
        }
    }
    hex::encode(hash.finalize())
}

/// A UUIDv7 from the handoff's (historical) creation time.
fn id_at(at: jiff::Timestamp) -> uuid::Uuid {
    let secs = u64::try_from(at.as_second()).unwrap_or(0);
    let nanos = u32::try_from(at.subsec_nanosecond()).unwrap_or(0);
    uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos))
}

/// Imports `options.file` into `store`.
///
/// # Errors
/// Unreadable files, mapping or policy; a database failure; with `strict`,
/// the first anomaly.
pub async fn import(
    store: Arc<dyn Store>,
    options: &ImportOptions,
) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let mapping_text = &options.mapping.1;
    let mapping = parse_mapping(&options.mapping)?;
    let mapping = Arc::new(mapping);
    let policy = match &options.policy_built {
        Some(p) => Some(p.clone()),
        None => options.policy.as_deref().map(load_policy).transpose()?,
    };
    let size = options.log.size()?;
    let read_bytes = Arc::new(AtomicU64::new(0));
    let bar = progress_bar(options.progress, size);

    let (cases_tx, mut cases_rx) = tokio::sync::mpsc::channel::<Case>(1024);
    let reader = {
        let (log, mapping, read_bytes) = (options.log.clone(), mapping.clone(), read_bytes.clone());
        tokio::task::spawn_blocking(move || {
            crate::eventlog::for_each_case(&log, &mapping, read_bytes, |case| {
                cases_tx
                    .blocking_send(case)
                    .map_err(|_| anyhow::anyhow!("import stopped"))
            })
        })
    };

    let mut anomaly_out = match &options.anomalies {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => None,
    };
    let mut summary = ImportSummary::default();
    let mut shown = 0usize;
    let mut report = |a: &Anomaly, summary: &mut ImportSummary| -> anyhow::Result<()> {
        *summary.anomalies.entry(a.kind.as_str()).or_default() += 1;
        if let Some(out) = anomaly_out.as_mut() {
            serde_json::to_writer(&mut *out, a)?;
            out.write_all(b"\n")?;
        }
        if options.strict {
            bail!(
                "case {} line {}: {}: {} (--strict stops here)",
                a.case,
                a.line,
                a.kind.as_str(),
                a.detail
            );
        }
        if shown < 10 {
            shown += 1;
            bar.suspend(|| {
                eprintln!(
                    "warning: case {} line {}: {}: {}",
                    a.case,
                    a.line,
                    a.kind.as_str(),
                    a.detail
                )
            });
        }
        Ok(())
    };

    let mut writes: JoinSet<Result<(baton_store::Created, u64), StoreError>> = JoinSet::new();
    let finished = |result: Result<
        Result<(baton_store::Created, u64), StoreError>,
        tokio::task::JoinError,
    >,
                    summary: &mut ImportSummary|
     -> anyhow::Result<()> {
        match result.context("an import task failed")? {
            Ok((created, events)) if !created.replayed => {
                summary.imported += 1;
                summary.events_written += events;
            }
            Ok(_) => summary.already_imported += 1,
            Err(StoreError::IdempotencyMismatch) => summary.changed_since += 1,
            Err(err) => return Err(err).context("cannot write an imported handoff"),
        }
        Ok(())
    };
    let mut last_tick = Instant::now();
    while let Some(case) = cases_rx.recv().await {
        summary.cases += 1;
        summary.source_events += case.events.len() as u64;
        let hash = case_hash(&case, mapping_text, policy.as_ref());
        let mut imported = match import_case(&case, &mapping, id_at, "import") {
            Ok(imported) => imported,
            Err(anomaly) => {
                summary.skipped_cases += 1;
                report(&anomaly, &mut summary)?;
                continue;
            }
        };
        for anomaly in &imported.anomalies {
            report(anomaly, &mut summary)?;
        }
        if let Some(policy) = &policy {
            imported.apply_policy(policy);
        }
        let events = imported.events.len() as u64;
        let cmd = ImportHandoff {
            handoff: imported.handoff,
            events: imported.events,
            idempotency: Idempotency {
                key: format!("import:{}:{}", mapping.handoff.source, imported.case_id),
                body_hash: hash,
            },
        };
        let store = store.clone();
        writes.spawn(async move { store.import_handoff(cmd).await.map(|c| (c, events)) });
        while writes.len() >= IN_FLIGHT {
            if let Some(done) = writes.join_next().await {
                finished(done, &mut summary)?;
            }
        }
        if last_tick.elapsed() > Duration::from_millis(100) {
            last_tick = Instant::now();
            bar.set_position(read_bytes.load(Ordering::Relaxed));
            bar.set_message(format!("{} cases", summary.cases));
        }
    }
    while let Some(done) = writes.join_next().await {
        finished(done, &mut summary)?;
    }
    reader.await.context("the reader stopped")??;
    if let Some(out) = anomaly_out.as_mut() {
        out.flush()?;
    }
    bar.set_position(size);
    bar.finish_and_clear();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn progress_bar(show: bool, size: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} importing [{bar:30}] {bytes}/{total_bytes} {msg} ({elapsed})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// `baton import`.
pub async fn run(
    db: crate::cli::DbArgs,
    options: ImportOptions,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (_, store) = super::admin::store_for(&db, None).await?;
    let summary = import(store, &options).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints an import's summary for people.
pub fn print_summary(s: &ImportSummary) {
    println!(
        "read {} cases ({} source events) in {:.1} s",
        s.cases, s.source_events, s.seconds
    );
    println!(
        "imported:          {} handoffs, {} events",
        s.imported, s.events_written
    );
    println!("already imported:  {}", s.already_imported);
    if s.changed_since > 0 {
        println!(
            "changed since:     {} (imported before from other content, mapping or policy; left as they were)",
            s.changed_since
        );
    }
    if s.skipped_cases > 0 {
        println!("skipped (unreadable): {}", s.skipped_cases);
    }
    if s.anomalies.is_empty() {
        println!("anomalies:         none");
    }
    for (kind, n) in &s.anomalies {
        println!("anomalies {kind:<16} {n}");
    }
}
