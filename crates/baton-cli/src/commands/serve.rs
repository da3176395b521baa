//! `baton serve`: migrate, make sure an admin token exists, serve until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use baton_server::{AppState, ServerConfig, SystemClock};
use tokio::net::TcpListener;

use super::admin::{create_token, store_for};
use crate::cli::DbArgs;

pub async fn run(db: DbArgs, listen: Option<String>) -> anyhow::Result<ExitCode> {
    let (config, store) = store_for(&db, listen).await?;
    if store.list_tokens().await?.is_empty() {
        let secret = create_token(store.as_ref(), "admin", "admin", vec![], vec![]).await?;
        println!("Created the first admin token (shown once, keep it safe):\n\n    {secret}\n");
    }
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let state = AppState::new(
        store,
        Arc::new(SystemClock),
        ServerConfig {
            default_group: config.default_group.clone(),
            body_limit: config.body_limit,
        },
    );
    println!(
        "Baton listening on http://{address} (database {})",
        crate::config::redact(&config.database)
    );
    println!("API docs: http://{address}/docs");
    let router = baton_server::router(state.clone());
    let stop = async move {
        shutdown().await;
        state.stop_streams();
    };
    baton_server::serve(listener, router, stop).await?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
