//! One module per command; [`run`] dispatches.

mod admin;
mod bench;
mod deliveries;
mod demo;
mod handoff;
pub mod import;
mod log;
mod policy;
mod replay;
mod report;
mod serve;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            policy,
            demo,
            metrics_listen,
            serving,
        } => serve::run(db, listen, policy, demo, metrics_listen, serving).await,
        Command::Init { path, force } => admin::init(&path, force),
        Command::Migrate { db } => admin::migrate(db).await,
        Command::Token { command } => admin::token(command).await,
        Command::Audit { command } => admin::audit(command).await,
        Command::Deliveries { command } => deliveries::run(command).await,
        Command::Handoff { client, command } => handoff::run(client, command).await,
        Command::Policy { command } => policy::run(command),
        Command::Log { command } => log::run(command),
        Command::Import {
            db,
            file,
            mapping,
            policy,
            strict,
            anomalies,
            json,
        } => {
            let progress = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let options = import::ImportOptions {
                log: crate::eventlog::LogSource::File(file),
                mapping: import::mapping_text(&mapping)?,
                policy,
                policy_built: None,
                strict,
                anomalies,
                progress,
            };
            import::run(db, options, json).await
        }
        Command::Report { command } => report::run(command).await,
        Command::Replay(args) => replay::run(args).await,
        Command::Bench { command } => bench::run(command).await,
    }
}
