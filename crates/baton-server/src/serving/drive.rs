//! One connection's task: the TLS handshake, hyper's HTTP/1.1 connection
//! with every request counted in flight, and the deadlines, eviction and
//! shutdown that end it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

use super::ServeOptions;
use super::conn::{InFlight, Slot};

/// Serves one accepted connection until it closes, times out, is evicted,
/// or shutdown ends it.
pub(super) async fn connection(
    tcp: TcpStream,
    router: Router,
    slot: Slot,
    options: Arc<ServeOptions>,
    mut stopping: watch::Receiver<bool>,
) {
    let first_head_by = Instant::now() + options.header_read_timeout;
    match options.tls.clone() {
        None => http(tcp, router, slot, &options, stopping, first_head_by).await,
        Some(acceptor) => {
            let close = slot.close.clone();
            let handshake = tokio::select! {
                done = tokio::time::timeout_at(first_head_by, acceptor.accept(tcp)) => done,
                () = close.notified() => return,
                _ = stopping.wait_for(|s| *s) => return,
            };
            match handshake {
                Ok(Ok(tls)) => http(tls, router, slot, &options, stopping, first_head_by).await,
                Ok(Err(err)) => tracing::debug!(error = %err, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out (header_read_timeout)"),
            }
        }
    }
}

async fn http<I>(
    io: I,
    router: Router,
    slot: Slot,
    options: &ServeOptions,
    mut stopping: watch::Receiver<bool>,
    first_head_by: Instant,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = slot.activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let in_flight = InFlight::start(&activity);
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await?;
            // The request stays in flight until hyper is done with the body.
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _ = &in_flight;
                    frame
                }))
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own deadlines below replace hyper's header timer.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut seen = slot.activity.subscribe();
    let mut deadline = first_head_by;
    let mut draining = false;
    loop {
        let idle = seen.borrow().in_flight == 0;
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(err) = done {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            () = slot.close.notified() => {
                // Evicted while idle; a request that began since keeps its
                // answer: finish it, then close.
                if seen.borrow().in_flight == 0 {
                    return;
                }
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = stopping.wait_for(|s| *s), if !draining => {
                if seen.borrow().in_flight == 0 {
                    return;
                }
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(deadline), if idle && !draining => {
                tracing::debug!(
                    first = seen.borrow().requests == 0,
                    "closing a connection past header_read_timeout or idle_timeout"
                );
                return;
            }
            changed = seen.changed() => {
                if changed.is_err() {
                    return;
                }
                if seen.borrow_and_update().in_flight == 0 {
                    deadline = Instant::now() + options.idle_timeout;
                }
            }
        }
    }
}
