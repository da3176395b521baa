//! `baton bench timers`: with `--pending` SLA timers stored, `--due` of them
//! fall due in the same instant T; the real scheduler loop (system clock,
//! default settings) fires them, and each firing's commit is timed against
//! its due time.
//!
//! Set-up, on a fresh database: the far-future filler, then `--due`
//! `critical` handoffs created through `react::admit` and
//! `Store::create_handoff` like an API create, so that their accept
//! reminder falls due exactly at T (each arms four timers). The filler is
//! bare timer rows due a day or more later (`TimerStore::seed_timers`,
//! bench-only), or with `--filler-handoffs` open `low` handoffs created
//! like the due ones (first timer 18 h away): then the tables and the
//! event log are what a server with that many open handoffs holds.
//!
//! Measure: the writer announces each commit's log position; a firing's
//! lateness is when its commit was announced minus its timer's due time.
//! Afterwards the event log is read back: exactly `--due` `sla_warned`,
//! one per due handoff, and no other event.

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use baton_core::policy::{DEFAULT_POLICY, Policy};
use baton_core::timers::{Timer, TimerKind};
use baton_core::{Event, EventKind, NewHandoff};
use baton_server::{AppState, Clock, PolicyHandle, SchedulerConfig, ServerConfig, SystemClock};
use baton_store::{CreateHandoff, Store};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::cli::BenchTimersArgs;

/// Creates handed to the writer at once while seeding.
const IN_FLIGHT: usize = 4096;
/// Filler handoffs created through the writer, timed, before bare timers.
const PROBE: u64 = 512;
/// Timers each open handoff arms: a reminder and a breach per clock.
const TIMERS_PER_HANDOFF: u64 = 4;
/// How long the scheduler keeps running after the last expected firing, so
/// a second firing of any timer would show in the log.
const WATCH_AFTER: Duration = Duration::from_secs(1);
/// Give up waiting for the firings this long after T.
const GIVE_UP_AFTER: SignedDuration = SignedDuration::from_secs(60);

/// The targets.
const TARGET_ALL_FIRED_MS: f64 = 1_000.0;
const TARGET_P99_MS: f64 = 500.0;
const TARGET_RSS_MB: f64 = 150.0;

/// What the bench measured.
#[derive(Debug, Serialize)]
pub struct TimersReport {
    /// The command line.
    pub command: String,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Cores available to this process.
    pub cores: usize,
    /// The machine's 1-minute load average when the timers fell due (other
    /// work on the machine slows the bench down).
    pub load_average: Option<f64>,
    /// Timers armed when the burst began.
    pub pending: u64,
    /// Timers due at T.
    pub due: u64,
    /// Handoffs (or, for bare filler timers, made-up handoff ids) seeded.
    pub handoffs: u64,
    /// Whether the filler is open handoffs (else bare timer rows).
    pub filler_handoffs: bool,
    /// Seconds the set-up took.
    pub seed_seconds: f64,
    /// The instant the due timers fall due.
    pub due_at: Timestamp,
    /// Due timers that fired (one `sla_warned` each).
    pub fired: u64,
    /// Firings beyond the first of the same timer.
    pub duplicates: u64,
    /// Events of any other kind, or of another handoff, after the set-up.
    pub other_events: u64,
    /// From T to the commit of the last firing, ms.
    pub all_fired_ms: Option<f64>,
    /// Lateness (commit minus due time) percentiles, ms.
    pub lateness_p50_ms: Option<f64>,
    /// 99th percentile.
    pub lateness_p99_ms: Option<f64>,
    /// Maximum.
    pub lateness_max_ms: Option<f64>,
    /// Timers still armed afterwards (`pending - due` when all went well).
    pub timers_left: u64,
    /// Peak resident memory sampled from the scheduler's start to the end, MB.
    pub rss_firing_mb: f64,
    /// Peak resident memory of the whole run, set-up included (VmHWM), MB.
    pub rss_peak_mb: f64,
    /// Every due timer fired exactly once and nothing else happened.
    pub exactly_once: bool,
    /// The targets: all within 1 s, p99 ≤ 500 ms, under 150 MB.
    pub targets_met: bool,
}

/// `baton bench timers`.
pub async fn run(args: BenchTimersArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.due > 0, "--due must be at least 1");
    anyhow::ensure!(
        args.pending >= args.due * TIMERS_PER_HANDOFF,
        "--pending must be at least 4 × --due: each due handoff arms four timers"
    );
    let scratch = Scratch::create(args.database.as_deref()).await?;
    let result = bench(&scratch, &args).await;
    scratch.remove().await;
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.exactly_once {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn bench(scratch: &Scratch, args: &BenchTimersArgs) -> anyhow::Result<TimersReport> {
    let store = crate::db::open(&scratch.url).await?;
    let policy = Arc::new(Policy::default_policy());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = AppState::new(store.clone(), clock.clone(), ServerConfig::default())
        .with_policy(PolicyHandle::new(policy.clone(), DEFAULT_POLICY.to_owned()));
    let fillers = (args.pending - args.due * TIMERS_PER_HANDOFF).div_ceil(TIMERS_PER_HANDOFF);
    let handoffs = fillers + args.due;
    let show = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = progress_bar(show, handoffs);
    if !args.json {
        eprintln!(
            "bench timers: {} on {}, seeding {handoffs} handoffs ({} timers)",
            scratch.backend,
            scratch.shown,
            handoffs * TIMERS_PER_HANDOFF
        );
    }
    let seeding = Instant::now();
    let now = clock.now();
    // Some filler handoffs through the writer first, timed: creating the
    // due ones must end before T.
    let probe = if args.filler_handoffs {
        fillers
    } else {
        fillers.min(PROBE)
    };
    seed(&store, &policy, "low", probe, now, &bar).await?;
    let per = seeding.elapsed().as_secs_f64() / probe.max(1) as f64;
    seed_bare_timers(store.as_ref(), fillers - probe, now, &bar).await?;
    // Twice what a create took, and at least a second more.
    let lead = (1.0 + 2.0 * per.max(1e-3) * args.due as f64).min(3_600.0);
    let due_at = round_up_to_second(clock.now() + SignedDuration::from_secs_f64(lead));
    let reminder_after = accept_reminder_after(&policy)?;
    let due_ids: HashSet<Uuid> = seed(
        &store,
        &policy,
        "critical",
        args.due,
        due_at - reminder_after,
        &bar,
    )
    .await?
    .into_iter()
    .collect();
    bar.finish_and_clear();
    let seed_seconds = seeding.elapsed().as_secs_f64();
    anyhow::ensure!(
        clock.now() < due_at,
        "seeding the due handoffs ran past their due time; try a smaller --due"
    );
    let pending = store.count_timers().await?;
    let start = store.chain_head().await?.position;
    if !args.json {
        eprintln!(
            "bench timers: {pending} timers armed in {seed_seconds:.1} s; {} due at {due_at}",
            args.due
        );
    }

    // Watch commits and memory from before the scheduler starts.
    let commits = watch_commits(&store, start + args.due as i64);
    let rss_firing = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn(sample_rss(rss_firing.clone()));
    let scheduler = baton_server::spawn_scheduler(&state, SchedulerConfig::default());
    let load_average = load_average_at(due_at, clock.as_ref());
    let give_up = (due_at + GIVE_UP_AFTER).duration_since(clock.now());
    let announced = tokio::time::timeout(
        Duration::try_from(give_up).unwrap_or(Duration::ZERO),
        commits,
    )
    .await
    .ok()
    .transpose()
    .context("the commit watcher stopped")?
    .unwrap_or_default();
    tokio::time::sleep(WATCH_AFTER).await;
    drop(scheduler);
    sampler.abort();

    let events = events_after(store.as_ref(), start).await?;
    let check = check_events(&events, &due_ids, &announced);
    let timers_left = store.count_timers().await?;
    let rss_firing_mb = rss_firing.load(Ordering::Relaxed) as f64 / 1024.0;
    let rss_peak_mb = proc_status_kb("VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let mut late = check.lateness_ms;
    late.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        late.get(((late.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
    };
    let all_fired_ms = check
        .last_commit
        .filter(|_| check.fired == args.due)
        .map(|at| ms(at.duration_since(due_at)));
    let exactly_once = check.fired == args.due
        && check.duplicates == 0
        && check.other == 0
        && timers_left == pending - args.due;
    let targets_met = exactly_once
        && all_fired_ms.is_some_and(|m| m <= TARGET_ALL_FIRED_MS)
        && pct(0.99).is_some_and(|m| m <= TARGET_P99_MS)
        && rss_firing_mb < TARGET_RSS_MB;
    Ok(TimersReport {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        backend: scratch.backend,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average: load_average.await.ok().flatten(),
        pending,
        due: args.due,
        handoffs,
        filler_handoffs: args.filler_handoffs,
        seed_seconds,
        due_at,
        fired: check.fired,
        duplicates: check.duplicates,
        other_events: check.other,
        all_fired_ms,
        lateness_p50_ms: pct(0.50),
        lateness_p99_ms: pct(0.99),
        lateness_max_ms: pct(1.0),
        timers_left,
        rss_firing_mb,
        rss_peak_mb,
        exactly_once,
        targets_met,
    })
}

/// Creates `n` handoffs of `impact` at `created_at`, `IN_FLIGHT` at a time;
/// answers their ids.
async fn seed(
    store: &Arc<dyn Store>,
    policy: &Arc<Policy>,
    impact: &str,
    n: u64,
    created_at: Timestamp,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = Vec::with_capacity(n as usize);
    let mut writes = JoinSet::new();
    for i in 0..n {
        let new: NewHandoff = serde_json::from_value(serde_json::json!({
            "workflow": "default",
            "subject": {"source": "bench", "ref": format!("{impact}-{i}")},
            "title": "bench handoff",
            "impact": impact,
            "reason": "low_confidence",
            "context": {"summary": "timer bench", "payload": {"n": i}},
        }))?;
        let id = Uuid::now_v7();
        let admitted = baton_core::react::admit(new, id, "bench", policy, created_at)
            .map_err(|e| anyhow::anyhow!("the bench handoff is refused: {e}"))?;
        ids.push(id);
        let store = store.clone();
        writes.spawn(async move {
            store
                .create_handoff(CreateHandoff {
                    handoff: admitted.handoff,
                    timers: admitted.timers,
                    notifications: admitted.notifications,
                    idempotency: None,
                })
                .await
        });
        while writes.len() >= IN_FLIGHT {
            created(writes.join_next().await, bar)?;
        }
    }
    while !writes.is_empty() {
        created(writes.join_next().await, bar)?;
    }
    Ok(ids)
}

/// Arms four bare timers for each of `n` made-up handoff ids, due a day
/// and more after `now`, straight into the table.
async fn seed_bare_timers(
    store: &dyn Store,
    n: u64,
    now: Timestamp,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    const CHUNK: u64 = 2_500;
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        let timers: Vec<Timer> = (start..end)
            .flat_map(|i| {
                let handoff_id = Uuid::now_v7();
                let due_at =
                    now + SignedDuration::from_hours(24) + SignedDuration::from_millis(i as i64);
                TimerKind::ALL.into_iter().map(move |kind| Timer {
                    handoff_id,
                    kind,
                    level: 0,
                    due_at,
                })
            })
            .collect();
        store
            .seed_timers(&timers)
            .await
            .context("cannot seed the filler timers")?;
        bar.inc(end - start);
        start = end;
    }
    Ok(())
}

fn created(
    done: Option<
        Result<Result<baton_store::Created, baton_store::StoreError>, tokio::task::JoinError>,
    >,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    if let Some(done) = done {
        done.context("a create task failed")?
            .context("cannot create a bench handoff")?;
        bar.inc(1);
    }
    Ok(())
}

/// How long after its creation a `critical` handoff's accept reminder falls due.
fn accept_reminder_after(policy: &Policy) -> anyhow::Result<SignedDuration> {
    let probe: NewHandoff = serde_json::from_value(serde_json::json!({
        "workflow": "default", "subject": {"source": "bench", "ref": "probe"},
        "title": "probe", "impact": "critical", "reason": "low_confidence",
    }))?;
    let at = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(24 * 365 * 50);
    let admitted = baton_core::react::admit(probe, Uuid::nil(), "bench", policy, at)
        .map_err(|e| anyhow::anyhow!("the probe handoff is refused: {e}"))?;
    admitted
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::AcceptReminder)
        .map(|t| t.due_at.duration_since(at))
        .context("a critical handoff arms no accept reminder")
}

fn round_up_to_second(at: Timestamp) -> Timestamp {
    let secs = at.as_second() + 1;
    Timestamp::from_second(secs).unwrap_or(at)
}

/// Receives the writer's commit announcements, `(log position, when)`,
/// until the log reaches `until`.
fn watch_commits(
    store: &Arc<dyn Store>,
    until: i64,
) -> tokio::task::JoinHandle<Vec<(i64, Timestamp)>> {
    let mut rx = store.writer().subscribe();
    tokio::spawn(async move {
        let mut seen = Vec::new();
        loop {
            match rx.recv().await {
                Ok(position) => {
                    seen.push((position, Timestamp::now()));
                    if position >= until {
                        return seen;
                    }
                }
                // Older announcements were dropped: later ones cover their
                // events (counted later than they were, never earlier).
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return seen,
            }
        }
    })
}

/// Keeps the highest VmRSS seen, in kB, sampling every 5 ms.
async fn sample_rss(peak: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    loop {
        tick.tick().await;
        if let Some(kb) = proc_status_kb("VmRSS:") {
            peak.fetch_max(kb, Ordering::Relaxed);
        }
    }
}

/// The 1-minute load average (Linux `/proc/loadavg`) read at `at`.
fn load_average_at(at: Timestamp, clock: &dyn Clock) -> tokio::task::JoinHandle<Option<f64>> {
    let wait = Duration::try_from(at.duration_since(clock.now())).unwrap_or(Duration::ZERO);
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        let text = std::fs::read_to_string("/proc/loadavg").ok()?;
        text.split_whitespace().next()?.parse().ok()
    })
}

/// A `kB` line of `/proc/self/status` (Linux), e.g. `VmRSS:`.
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

async fn events_after(store: &dyn Store, start: i64) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    let mut after = start;
    loop {
        let page = store.events_after(after, 5_000).await?;
        let Some(last) = page.last() else {
            return Ok(events);
        };
        after = last.position;
        events.extend(page);
    }
}

struct Checked {
    fired: u64,
    duplicates: u64,
    other: u64,
    lateness_ms: Vec<f64>,
    last_commit: Option<Timestamp>,
}

/// Counts the due handoffs' `sla_warned` events (once each), anything
/// else, and each firing's lateness from its commit announcement.
fn check_events(events: &[Event], due: &HashSet<Uuid>, announced: &[(i64, Timestamp)]) -> Checked {
    let mut seen = HashSet::new();
    let mut checked = Checked {
        fired: 0,
        duplicates: 0,
        other: 0,
        lateness_ms: Vec::with_capacity(due.len()),
        last_commit: None,
    };
    for event in events {
        if event.kind != EventKind::SlaWarned || !due.contains(&event.handoff_id) {
            checked.other += 1;
            continue;
        }
        if !seen.insert((event.handoff_id, event.data["clock"].to_string())) {
            checked.duplicates += 1;
            continue;
        }
        checked.fired += 1;
        let due_at: Option<Timestamp> = event.data["due_at"].as_str().and_then(|s| s.parse().ok());
        let i = announced.partition_point(|(position, _)| *position < event.position);
        if let (Some(due_at), Some((_, committed))) = (due_at, announced.get(i)) {
            checked
                .lateness_ms
                .push(ms(committed.duration_since(due_at)));
            checked.last_commit = checked.last_commit.max(Some(*committed));
        }
    }
    checked
}

fn ms(d: SignedDuration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn progress_bar(show: bool, size: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} seeding [{bar:30}] {pos}/{len} handoffs ({elapsed}, {per_sec})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn print_report(r: &TimersReport) {
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} ms"));
    println!("command:       {}", r.command);
    let load = r.load_average.map_or_else(String::new, |l| {
        format!(" (load average {l:.1} at the due time)")
    });
    println!(
        "machine:       {} cores{load}; backend {}",
        r.cores, r.backend
    );
    let filler = if r.filler_handoffs {
        "open handoffs"
    } else {
        "bare timer rows"
    };
    println!(
        "set-up:        {} handoffs ({} due, the filler {filler}), {} timers armed, in {:.1} s",
        r.handoffs, r.due, r.pending, r.seed_seconds
    );
    println!("due:           {} timers at {}", r.due, r.due_at);
    println!(
        "fired:         {} of {} ({} duplicates, {} other events); {}",
        r.fired,
        r.due,
        r.duplicates,
        r.other_events,
        if r.exactly_once {
            "each exactly once"
        } else {
            "NOT exactly once"
        }
    );
    println!("all fired in:  {} after the due time", opt(r.all_fired_ms));
    println!(
        "lateness:      p50 {}, p99 {}, max {} (commit minus due time)",
        opt(r.lateness_p50_ms),
        opt(r.lateness_p99_ms),
        opt(r.lateness_max_ms)
    );
    println!("timers left:   {}", r.timers_left);
    println!(
        "memory:        peak RSS {:.0} MB while firing, {:.0} MB over the run (set-up included)",
        r.rss_firing_mb, r.rss_peak_mb
    );
    println!(
        "targets:       {} (all fired within 1 s, p99 ≤ 500 ms, RSS < 150 MB)",
        if r.targets_met { "met" } else { "missed" }
    );
}

/// The fresh database a run uses, removed afterwards.
struct Scratch {
    url: String,
    /// What to print for it (no password).
    shown: String,
    backend: &'static str,
    /// PostgreSQL: the URL the database was created through, and its name.
    postgres: Option<(String, String)>,
}

impl Scratch {
    async fn create(database: Option<&str>) -> anyhow::Result<Self> {
        match database {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let (fresh, name) =
                    baton_store_postgres::PgStore::create_scratch_database(url, "bench")
                        .await
                        .with_context(|| {
                            format!("cannot create a database on {}", crate::config::redact(url))
                        })?;
                Ok(Self {
                    shown: format!("PostgreSQL database {name} (dropped afterwards)"),
                    url: fresh,
                    backend: "postgres",
                    postgres: Some((url.to_owned(), name)),
                })
            }
            path => {
                let path = path.map_or_else(
                    || {
                        std::env::temp_dir()
                            .join(format!("baton-bench-{}.db", Uuid::new_v4().simple()))
                            .display()
                            .to_string()
                    },
                    str::to_owned,
                );
                anyhow::ensure!(
                    !std::path::Path::new(&path).exists(),
                    "--database {path}: the bench needs a fresh database; name a file that does not exist"
                );
                Ok(Self {
                    shown: format!("SQLite file {path} (removed afterwards)"),
                    url: path,
                    backend: "sqlite",
                    postgres: None,
                })
            }
        }
    }

    async fn remove(&self) {
        if let Some((url, name)) = &self.postgres {
            if let Err(err) = baton_store_postgres::PgStore::drop_scratch_database(url, name).await
            {
                eprintln!("warning: cannot drop the bench database {name}: {err}");
            }
            return;
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.url));
        }
    }
}
