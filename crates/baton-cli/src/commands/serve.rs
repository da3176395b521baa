//! `baton serve`: migrate, make sure an admin token exists, serve until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use std::path::PathBuf;

use baton_server::{
    Activation, AppState, PolicyHandle, ReloadError, ServeOptions, ServerConfig, SystemClock,
};
use baton_store::Store;
use tokio::net::TcpListener;

use super::admin::{create_token, store_for};
use crate::cli::{DbArgs, ServeArgs};
use crate::config::serving::Serving;

pub async fn run(
    mut db: DbArgs,
    listen: Option<String>,
    policy: Option<PathBuf>,
    demo: bool,
    metrics_listen: Option<String>,
    serving: ServeArgs,
) -> anyhow::Result<ExitCode> {
    if demo && db.database.is_none() {
        db.database = Some(super::demo::DATABASE.into());
    }
    let (mut config, store) = store_for(&db, listen).await?;
    let settings = Serving::resolve(config.serve.clone(), serving.overrides())?;
    let options = listener_options(&settings)?;
    if policy.is_some() {
        config.policy = policy;
    }
    let (handle, origin) = active_policy(store.as_ref(), config.policy.as_deref(), demo).await?;
    let active = handle.current();
    if store.list_tokens().await?.is_empty() {
        let secret = create_token(store.as_ref(), "admin", "admin", vec![], vec![]).await?;
        println!("Created the first admin token (shown once, keep it safe):\n\n    {secret}\n");
    }
    if demo {
        super::demo::import_log(store.clone(), &active.policy).await?;
    }
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let state = AppState::new(
        store,
        Arc::new(SystemClock),
        ServerConfig {
            body_limit: config.body_limit,
            evaluate_order_wait: config.evaluate_order_wait,
            request_timeout: settings.request_timeout,
            max_streams: settings.max_streams,
            max_streams_per_token: settings.max_streams_per_token,
            report_workers: settings.report_workers,
        },
    )
    .with_policy(handle);
    println!("Policy {origin} (version {})", &active.policy.version[..12]);
    // Adopts the versions other instances activate (and this one's SIGHUPs).
    let _watcher = baton_server::spawn_policy_watcher(&state, baton_server::POLL_EVERY);
    // Fires due SLA reminders and breaches, exactly once across instances.
    let _scheduler =
        baton_server::spawn_scheduler(&state, baton_server::SchedulerConfig::default());
    if let Some(path) = config.policy.clone() {
        tokio::spawn(reload_on_hangup(state.clone(), path));
    }
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!(
        "Baton listening on {scheme}://{address} (database {})",
        crate::config::redact(&config.database)
    );
    println!("API docs: {scheme}://{address}/docs");
    tracing::info!(?options, "listener");
    if demo {
        super::demo::print_guide(address, &crate::config::redact(&config.database));
    }
    let metrics = match &metrics_listen {
        Some(addr) => Some(serve_metrics(addr, &state, &options).await?),
        None => None,
    };
    let router = baton_server::router(state.clone());
    let stop = async move {
        shutdown().await;
        state.stop_streams();
    };
    baton_server::serve_with(listener, router, stop, options).await?;
    if let Some(metrics) = metrics {
        metrics.await??;
    }
    Ok(ExitCode::SUCCESS)
}

/// The listener's options from `settings`: TLS read and checked now, and
/// the connection cap kept to half the open-file limit (raised first).
fn listener_options(settings: &Serving) -> anyhow::Result<ServeOptions> {
    let tls = match &settings.tls {
        Some((cert, key)) => Some(baton_server::serving::tls::acceptor(cert, key)?),
        None => None,
    };
    let mut max_connections = settings.max_connections;
    if let Some(files) = baton_server::serving::raise_fd_limit() {
        let fit = usize::try_from(files / 2).unwrap_or(usize::MAX).max(1);
        if fit < max_connections {
            tracing::warn!(
                max_connections,
                open_file_limit = files,
                using = fit,
                "max_connections is above half the open-file limit; lowered"
            );
            max_connections = fit;
        }
    }
    Ok(ServeOptions {
        header_read_timeout: settings.header_read_timeout,
        idle_timeout: settings.idle_timeout,
        max_connections,
        shutdown_timeout: settings.shutdown_timeout,
        tls,
    })
}

/// Serves `/metrics` on `addr`, its own listener, until the API server starts stopping.
async fn serve_metrics(
    addr: &str,
    state: &AppState,
    options: &ServeOptions,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics"))?;
    println!("Metrics on http://{}/metrics", listener.local_addr()?);
    let mut stopping = state.stopping();
    let stop = async move {
        let _ = stopping.wait_for(|stopping| *stopping).await;
    };
    let router = baton_server::metrics_router(state.clone());
    // The API's timeouts and shutdown bound, in plain HTTP.
    let options = ServeOptions {
        tls: None,
        ..options.clone()
    };
    Ok(tokio::spawn(baton_server::serve_with(
        listener, router, stop, options,
    )))
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

/// The policy to serve, active in the database for every instance, and a
/// word on where it came from: `--policy FILE` is activated (an unchanged
/// file changes nothing); without it the database's active version is
/// kept; only an empty database gets the demo's or the built-in default.
async fn active_policy(
    store: &dyn Store,
    file: Option<&std::path::Path>,
    demo: bool,
) -> anyhow::Result<(PolicyHandle, String)> {
    let (handle, origin, source) = match file {
        Some(path) => match super::policy::load_with_files(path)? {
            Ok(loaded) => {
                super::policy::print_warnings(path, loaded.policy.warnings());
                (
                    PolicyHandle::with_files(loaded.policy, loaded.text, loaded.files),
                    path.display().to_string(),
                    "serve --policy",
                )
            }
            Err(errors) => {
                super::policy::print_errors(path, &errors);
                anyhow::bail!(
                    "the policy {} does not check clean; fix it and start again",
                    path.display()
                );
            }
        },
        None => {
            if let Some(stored) = store.active_policy().await? {
                let by = stored.activated_by.clone();
                let loaded = baton_server::policy::build_stored(stored).map_err(|errors| {
                    anyhow::anyhow!(
                        "the policy active in the database does not build: {}",
                        errors.first().map_or("", |e| e.message.as_str())
                    )
                })?;
                let handle = PolicyHandle::with_files(loaded.policy, loaded.text, loaded.files);
                return Ok((
                    handle,
                    format!("active in the database (activated by {by})"),
                ));
            }
            if demo {
                (
                    super::demo::policy()?,
                    "it-incidents (demo)".into(),
                    "serve",
                )
            } else {
                (
                    PolicyHandle::default_policy(),
                    "built-in default".into(),
                    "serve",
                )
            }
        }
    };
    let who = Activation {
        actor: source.into(),
        source: source.into(),
        now: baton_server::Clock::now(&SystemClock),
    };
    if let Some(path) = file {
        // `--policy FILE` activates the file, as asked; say so when that
        // replaces a version someone activated since (a PUT, say).
        let version = handle.current().policy.version.clone();
        if let Some(active) = store.active_policy().await?
            && active.version != version
        {
            println!(
                "Activating {} (version {}) in place of the active version {} (activated by {} at {}); \
                 start without --policy to keep the database's active version",
                path.display(),
                &version[..12.min(version.len())],
                &active.version[..12.min(active.version.len())],
                active.activated_by,
                active.activated_at,
            );
        }
        handle
            .activate_current(store, who)
            .await
            .context("cannot activate the policy")?;
    } else {
        // An empty database: unless another instance got there first.
        handle
            .activate_if_none(store, who)
            .await
            .map_err(|e| anyhow::anyhow!("cannot activate the policy: {e:?}"))?;
    }
    Ok((handle, origin))
}

/// Activates the policy file on every SIGHUP; a file that does not check clean
/// is reported and the active policy stays.
async fn reload_on_hangup(state: AppState, path: PathBuf) {
    #[cfg(unix)]
    {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hangups.recv().await.is_some() {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "cannot read the policy; keeping the active one");
                    continue;
                }
            };
            let loader = super::policy::file_loader(&path);
            let who = Activation {
                actor: "serve --policy".into(),
                source: "sighup".into(),
                now: baton_server::Clock::now(&SystemClock),
            };
            match state
                .policy
                .activate(state.store.as_ref(), &text, &loader, who)
                .await
            {
                Ok((loaded, _)) => {
                    tracing::info!(version = %loaded.policy.version, "policy reloaded on SIGHUP and activated for every instance");
                }
                Err(ReloadError::Store(e)) => {
                    tracing::error!(error = %e, "cannot activate the policy version; keeping the active one");
                }
                Err(ReloadError::Invalid(errors)) => {
                    for e in &errors {
                        tracing::error!(path = %path.display(), line = ?e.line, rule = %e.rule, "{}", e.message);
                    }
                    tracing::error!(
                        count = errors.len(),
                        "the policy does not check clean; keeping the active one"
                    );
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (state, path);
    }
}
