//! The command line, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Baton: the AI-to-human handoff queue.
#[derive(Debug, Parser)]
#[command(name = "baton", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the database is: a flag, `BATON_DATABASE`, `baton.toml`, or `./baton.db`.
#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// Database: a SQLite file path (default ./baton.db) or postgres://user@host/db.
    /// The value of BATON_DATABASE is never printed: it may hold a password.
    #[arg(long, env = "BATON_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
    /// Config file (TOML); values there are overridden by env and flags.
    #[arg(long, env = "BATON_CONFIG")]
    pub config: Option<PathBuf>,
}

/// A running Baton to talk to.
#[derive(Debug, Args, Clone)]
pub struct ClientArgs {
    /// Base URL of the Baton server.
    #[arg(long, env = "BATON_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// API token.
    #[arg(long, env = "BATON_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Trust this CA certificate (PEM) too, e.g. for a self-signed server.
    #[arg(long, env = "BATON_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (applies migrations; prints an admin token on an empty database).
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on.
        #[arg(long, env = "BATON_LISTEN")]
        listen: Option<String>,
        /// Policy file (TOML); the built-in default policy when absent.
        /// SIGHUP reloads it (only if it checks clean).
        #[arg(long, env = "BATON_POLICY")]
        policy: Option<PathBuf>,
        /// Start on a demo database (./baton-demo.db unless --database says
        /// otherwise) with the BPI Challenge 2013 incident log of Volvo IT
        /// imported and the it-incidents example policy, and print where to look.
        #[arg(long)]
        demo: bool,
        /// Serve Prometheus metrics at http://ADDR/metrics on this address
        /// (its own listener; off when absent).
        #[arg(long, env = "BATON_METRICS_LISTEN")]
        metrics_listen: Option<String>,
        #[command(flatten)]
        serving: ServeArgs,
    },
    /// Write a commented baton.toml.
    Init {
        /// Where to write it.
        #[arg(long, default_value = "baton.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The notification outbox: list deliveries (the dead-letter list is
    /// `--state dead`) and queue one again.
    Deliveries {
        #[command(subcommand)]
        command: DeliveriesCommand,
    },
    /// Check the event log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Work with handoffs on a running server (BATON_URL, BATON_TOKEN).
    Handoff {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: HandoffCommand,
    },
    /// Check or explain a policy file.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Read an event log (XES) through a mapping and print its facts.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Import an event log (XES or CSV) as handoffs on the log's own timestamps.
    ///
    /// Unknown statuses, unreadable timestamps and out-of-order events are
    /// counted and reported by case and line. Importing the same file again
    /// writes nothing.
    Import {
        #[command(flatten)]
        db: DbArgs,
        /// The log: .xes, .xes.gz, .csv or .csv.gz.
        file: PathBuf,
        /// The mapping (TOML), e.g. examples/mappings/bpic2013-incidents.toml.
        #[arg(long)]
        mapping: PathBuf,
        /// A policy whose SLA deadlines imported items get, e.g.
        /// examples/policies/it-incidents.toml.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Stop at the first anomaly.
        #[arg(long)]
        strict: bool,
        /// Write every anomaly to this file as JSON lines.
        #[arg(long)]
        anomalies: Option<PathBuf>,
        /// Print the summary as JSON (no progress bar).
        #[arg(long)]
        json: bool,
    },
    /// Replay an event log: live against a running server on the log's own
    /// timing, or offline through a policy (--simulate, --compare).
    Replay(ReplayArgs),
    /// Reports for leads, read from the database: summary and weekly.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Load-test a running server.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

/// The listener's settings (docs/serving.md); each also in `[serve]` of
/// baton.toml, which these override.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Listener")]
pub struct ServeArgs {
    /// A new connection must send its first request head (TLS handshake
    /// included) within this, or it is closed [default: 10s].
    #[arg(long, env = "BATON_HEADER_READ_TIMEOUT", value_name = "DURATION")]
    pub header_read_timeout: Option<String>,
    /// A connection with no request in flight is closed after this [default: 60s].
    #[arg(long, env = "BATON_IDLE_TIMEOUT", value_name = "DURATION")]
    pub idle_timeout: Option<String>,
    /// A handler must produce its response head within this, or the client
    /// gets 503 `timeout`; event streams are not cut [default: 30s].
    #[arg(long, env = "BATON_REQUEST_TIMEOUT", value_name = "DURATION")]
    pub request_timeout: Option<String>,
    /// On SIGTERM, requests in flight get this long; then every connection
    /// is closed and the process exits [default: 10s].
    #[arg(long, env = "BATON_SHUTDOWN_TIMEOUT", value_name = "DURATION")]
    pub shutdown_timeout: Option<String>,
    /// Most connections open at once; at the cap the oldest idle or
    /// half-open one is closed to make room [default: 1024, at most half
    /// the open-file limit].
    #[arg(long, env = "BATON_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Most server-sent-event streams open at once [default: 256].
    #[arg(long, env = "BATON_MAX_STREAMS", value_name = "N")]
    pub max_streams: Option<usize>,
    /// Most server-sent-event streams open at once per token [default: 16].
    #[arg(long, env = "BATON_MAX_STREAMS_PER_TOKEN", value_name = "N")]
    pub max_streams_per_token: Option<usize>,
    /// Reports computed at once, off the request path [default: half the cores].
    #[arg(long, env = "BATON_REPORT_WORKERS", value_name = "N")]
    pub report_workers: Option<usize>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "BATON_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "BATON_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
}

impl ServeArgs {
    /// The flags (and their environment variables) as `[serve]` overrides.
    pub fn overrides(self) -> crate::config::serving::ServeFile {
        crate::config::serving::ServeFile {
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            request_timeout: self.request_timeout,
            shutdown_timeout: self.shutdown_timeout,
            max_connections: self.max_connections,
            max_streams: self.max_streams,
            max_streams_per_token: self.max_streams_per_token,
            report_workers: self.report_workers,
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret once.
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// Unique name; recorded as the actor of what the token does.
        #[arg(long)]
        name: String,
        /// agent, reviewer, lead or admin.
        #[arg(long)]
        role: String,
        /// Owner groups a reviewer works in, comma-separated.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// Workflows an agent is limited to, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        workflows: Vec<String>,
        /// Print only the secret, for scripts.
        #[arg(long)]
        quiet: bool,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name.
    Revoke {
        #[command(flatten)]
        db: DbArgs,
        /// The token's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Only this state: pending, delivered or dead (the dead-letter list).
        #[arg(long)]
        state: Option<String>,
        /// How many (default 50).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Queue a dead or delivered delivery again (attempts from zero, due now);
    /// enables its channel if a 410 disabled it.
    Redeliver {
        #[command(flatten)]
        db: DbArgs,
        /// The delivery's id (its webhook-id).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Compile everything and report every error with file:line and rule; exit 1 on any.
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
    /// Show which rules matched, in order, and why; the resulting group, tier and deadlines.
    Explain {
        /// The policy file (TOML).
        file: PathBuf,
        /// A handoff (NewHandoff JSON) to route and time.
        #[arg(long, conflicts_with = "signal", required_unless_present = "signal")]
        handoff: Option<PathBuf>,
        /// An agent's signal (JSON) to evaluate against the triggers.
        #[arg(long)]
        signal: Option<PathBuf>,
        /// When the handoff is created (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Admit a handoff and print the timeline of reminders, breaches and
    /// other events its timers fire with nobody acting on it.
    #[command(after_help = "Example:\n  \
  baton policy simulate examples/policies/it-incidents.toml \\\n      \
  --handoff examples/handoffs/major-incident.json --at 2026-06-01T07:00:00Z --until +8h")]
    Simulate {
        /// The policy file (TOML).
        file: PathBuf,
        /// The new handoff (the POST /v1/handoffs body, JSON); `-` for stdin.
        #[arg(long)]
        handoff: PathBuf,
        /// How far to run after --at: a duration such as +3d, +8h or +1h 30m.
        #[arg(long, default_value = "+3d")]
        until: String,
        /// When the handoff is created (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        /// Print the timeline as a JSON array.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Cases, events, multi-team cases, ping-pong, support-line moves, open cases, impact mix.
    Stats {
        /// The log (.xes or .xes.gz).
        file: PathBuf,
        /// The mapping (TOML), e.g. examples/mappings/bpic2013-incidents.toml.
        #[arg(long)]
        mapping: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `baton replay`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
  baton replay data/bpic2013_incidents.xes.gz --mapping examples/mappings/bpic2013-incidents.toml \\\n      \
  --target http://127.0.0.1:8080 --token $TOKEN --speed 3600 --from 2012-05-14 --until 2012-05-21\n  \
  baton replay data/bpic2013_incidents.xes.gz --mapping examples/mappings/bpic2013-incidents.toml \\\n      \
  --simulate --policy examples/policies/it-incidents.toml --compare my-policy.toml")]
pub struct ReplayArgs {
    /// The log: .xes, .xes.gz, .csv or .csv.gz.
    pub file: PathBuf,
    /// The mapping (TOML), e.g. examples/mappings/bpic2013-incidents.toml.
    #[arg(long)]
    pub mapping: PathBuf,
    /// Base URL of the server to drive (live replay).
    #[arg(long, env = "BATON_URL", default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// Admin API token (live replay).
    #[arg(long, env = "BATON_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Trust this CA certificate (PEM) too, e.g. for a self-signed server.
    #[arg(long, env = "BATON_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Log time per real time: 3600 plays one hour of the log per second.
    #[arg(long, default_value_t = 3600.0)]
    pub speed: f64,
    /// Replay only cases created from this time (RFC 3339 or a date).
    #[arg(long)]
    pub from: Option<String>,
    /// Replay only cases created before this time, and no action after it.
    #[arg(long)]
    pub until: Option<String>,
    /// Replay at most this many cases (the earliest).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Run the log offline through --policy instead of driving a server.
    #[arg(long)]
    pub simulate: bool,
    /// The policy to simulate (with --simulate).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// A second policy to show side by side (with --simulate).
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Print the simulation as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How a report is printed: a table unless `--json` or `--csv`.
#[derive(Debug, Args, Clone, Copy)]
pub struct ReportOutput {
    /// Print JSON, as the API answers.
    #[arg(long)]
    pub json: bool,
    /// Print CSV.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
}

impl ReportOutput {
    /// The chosen format.
    pub fn format(self) -> ReportFormat {
        match (self.json, self.csv) {
            (true, _) => ReportFormat::Json,
            (_, true) => ReportFormat::Csv,
            _ => ReportFormat::Table,
        }
    }
}

/// How a report is printed.
#[derive(Debug, Clone, Copy)]
pub enum ReportFormat {
    /// A table for people.
    Table,
    /// JSON, as the API answers.
    Json,
    /// CSV, one row per group (summary) or per item (weekly).
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Volume, MTTA/MTTR (mean, p50, p90; wall clock and working time), SLA
    /// attainment, rework, waiting cycles, ping-pong, reassignments, false
    /// positives and reviewer load, per group.
    Summary {
        #[command(flatten)]
        db: DbArgs,
        /// The policy whose calendars give working time (the built-in default when absent).
        #[arg(long, env = "BATON_POLICY")]
        policy: Option<PathBuf>,
        /// Handoffs created from (RFC 3339 or a date, e.g. 2012-04-01).
        #[arg(long)]
        from: Option<String>,
        /// Handoffs created before (RFC 3339 or a date).
        #[arg(long)]
        to: Option<String>,
        /// workflow, impact, reason, owner_group, assignee or line.
        #[arg(long, default_value = "impact")]
        by: String,
        #[command(flatten)]
        output: ReportOutput,
    },
    /// The top three handoff reasons against the week before, the oldest open
    /// and ownerless items, reviewer load.
    Weekly {
        #[command(flatten)]
        db: DbArgs,
        /// The week's end (RFC 3339 or a date); now when absent.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        output: ReportOutput,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; exit 1 and name the first broken event if any.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum HandoffCommand {
    /// Create a handoff from a JSON file ('-' for stdin).
    Create {
        /// The NewHandoff JSON.
        file: PathBuf,
        /// Idempotency-Key, making retries safe.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// List handoffs.
    List {
        /// Lifecycle states, comma-separated.
        #[arg(long)]
        state: Option<String>,
        /// Owner group.
        #[arg(long)]
        owner_group: Option<String>,
        /// Customer impact.
        #[arg(long)]
        impact: Option<String>,
        /// age (oldest first) or created (newest first).
        #[arg(long)]
        sort: Option<String>,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one handoff and its events.
    Show {
        /// Handoff id.
        id: String,
    },
    /// Claim a handoff; prints the claim token.
    Claim {
        /// Handoff id.
        id: String,
    },
    /// Resolve a handoff with a closure receipt.
    Resolve {
        /// Handoff id.
        id: String,
        /// The claim token from `claim`.
        #[arg(long)]
        claim_token: String,
        /// approved, corrected, rejected, routed, escalated or paused.
        #[arg(long)]
        resolution: String,
        /// Resolution reason code.
        #[arg(long)]
        reason: String,
        /// What changed against the AI proposal (JSON).
        #[arg(long)]
        changes: Option<String>,
        /// What the customer was told.
        #[arg(long)]
        customer_note: Option<String>,
        /// A note for colleagues.
        #[arg(long)]
        internal_note: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Policy decisions per second on one core, in process (CEL compiled once).
    Policy {
        /// Triggers in the generated policy.
        #[arg(long, default_value_t = 50)]
        rules: usize,
        /// Decisions to time.
        #[arg(long, default_value_t = 200_000)]
        decisions: usize,
    },
    /// Durable creates per second against a running server.
    Create {
        /// Base URL of the server.
        #[arg(long, env = "BATON_URL", default_value = "http://127.0.0.1:8080")]
        target: String,
        /// API token with the agent or admin role.
        #[arg(long, env = "BATON_TOKEN", hide_env_values = true)]
        token: String,
        /// Trust this CA certificate (PEM) too, e.g. for a self-signed server.
        #[arg(long, env = "BATON_CA_CERT", value_name = "FILE")]
        ca_cert: Option<PathBuf>,
        /// Concurrent clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// How long to run, e.g. 30s or 2m.
        #[arg(long, default_value = "30s")]
        duration: String,
    },
    /// SLA timers: with --pending timers stored, --due of them fall due in
    /// the same instant; times the real scheduler firing them (lateness
    /// percentiles, exactly-once check, peak memory) on a fresh database.
    Timers(BenchTimersArgs),
}

/// `baton bench timers`.
#[derive(Debug, Args, Clone)]
pub struct BenchTimersArgs {
    /// Where to make the fresh database: postgres://user@host/db (a new
    /// database is created next to db and dropped afterwards) or a SQLite
    /// file path that does not exist yet (removed afterwards). Default: a
    /// SQLite file in the temporary directory.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Timers armed in total before the burst (rounded up to a multiple
    /// of 4: each open handoff arms four).
    #[arg(long, default_value_t = 1_000_000)]
    pub pending: u64,
    /// Timers among them that fall due in the same instant.
    #[arg(long, default_value_t = 10_000)]
    pub due: u64,
    /// Make the far-future filler open handoffs created through the writer,
    /// with their events, as the API would (much slower to set up), rather
    /// than bare timer rows written straight into the table.
    #[arg(long)]
    pub filler_handoffs: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}
