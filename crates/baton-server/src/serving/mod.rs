//! The listener: our own accept loop on hyper (HTTP/1.1, optionally over
//! TLS) with a header-read timeout, an idle timeout, a cap on open
//! connections that evicts the oldest idle or half-open one to make room,
//! a back-off on accept errors, and a graceful shutdown with a bound.
//!
//! **Invariants:** a connection that has not sent its first request head
//! (TLS handshake included) within `header_read_timeout` of being accepted
//! is closed; one with no request in flight for `idle_timeout` is closed; at
//! most `max_connections` are open, and a newcomer at the cap is served if
//! any open connection is idle or still reading its head; after shutdown
//! begins, connections without a request in flight close at once and the
//! rest within `shutdown_timeout`.

mod conn;
mod drive;
pub mod limits;
pub mod streams;
pub mod tls;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use conn::Registry;

/// Settings of the listener.
#[derive(Clone)]
pub struct ServeOptions {
    /// How long a new connection may take to send its first request head,
    /// TLS handshake included.
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight before closing them.
    pub shutdown_timeout: Duration,
    /// TLS; plain HTTP when `None`.
    pub tls: Option<TlsAcceptor>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Raises the soft limit on open files to the hard limit (where the OS
/// allows) and returns the soft limit in force, if it can be read.
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => Some(limit),
            Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft),
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Serves `router` on `listener` with the default [`ServeOptions`] until
/// `shutdown` completes.
///
/// # Errors
/// None today; the signature leaves room for listener errors.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, router, shutdown, ServeOptions::default()).await
}

/// Serves `router` on `listener` with `options` until `shutdown` completes,
/// then stops accepting, closes every connection without a request in
/// flight, and gives the others `shutdown_timeout` before closing them too.
///
/// # Errors
/// None today: accept errors are logged and retried after a pause.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> io::Result<()> {
    let registry = Registry::new(options.max_connections);
    let (stop, stopping) = watch::channel(false);
    let options = Arc::new(options);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) if is_connection_error(&err) => continue,
            Err(err) => {
                // Out of file descriptors or memory: pause instead of spinning;
                // open connections close meanwhile (timeouts, eviction).
                tracing::error!(error = %err, "accept error; pausing 50 ms");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                }
            }
        };
        let Ok(slot) = registry.admit() else {
            tracing::debug!(%peer, "connection cap reached and every connection busy; refused");
            refuse(tcp, options.tls.is_some());
            continue;
        };
        let _ = tcp.set_nodelay(true);
        tasks.spawn(drive::connection(
            tcp,
            router.clone(),
            slot,
            options.clone(),
            stopping.clone(),
        ));
    }
    drop(listener);
    stop.send_replace(true);
    let open = tasks.len();
    let drained = tokio::time::timeout(options.shutdown_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            remaining = tasks.len(),
            of = open,
            "shutdown_timeout reached; closing the connections still busy"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

/// Errors of one connection that `accept` reports; the next accept works.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Answers a connection refused at the cap: a 503 in the API's error shape
/// on plain HTTP (written only if the socket takes it at once), then close.
fn refuse(tcp: TcpStream, tls: bool) {
    if !tls {
        const BODY: &str = r#"{"error":{"code":"unavailable","message":"too many open connections (max_connections); retry later"}}"#;
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
            BODY.len()
        );
        let _ = tcp.try_write(response.as_bytes());
    }
}
