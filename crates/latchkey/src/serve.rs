//! `latchkey serve`: binds the listener, builds the core and serves the HTTP
//! router until SIGINT or SIGTERM, then drains in-flight requests. A janitor
//! task runs every minute: it purges long-expired spent ceremonies (so
//! they can't grow without bound) and long-expired sessions and
//! invitations, and re-reads the signing keys so a rotation made on another
//! node is picked up within the minute.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::serve::ListenerExt;
use latchkey_core::store::Store;
use latchkey_core::Latchkey;
use tokio::net::TcpListener;

use crate::bootstrap;
use crate::config::Config;

/// How often the janitor runs, and how long a spent ceremony is kept after it expired.
const JANITOR_EVERY: Duration = Duration::from_secs(60);
const CEREMONY_RETENTION_SECS: i64 = 3600;
/// How long expired or revoked sessions and expired invitations are kept
/// (an expired link still answers `invitation_expired` for a week).
const EXPIRED_RETENTION_SECS: i64 = 7 * 86_400;

pub async fn run(config: &Config) -> Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url(addr.port());
    let store = bootstrap::open_store(config).await?;
    let core = Arc::new(bootstrap::core(config, store.clone(), public_url.clone()).await?);
    let janitor = tokio::spawn(janitor(core.clone(), store.clone()));
    tracing::info!(address = %addr, public_url, database = store.backend(), "latchkey is listening");
    // Small JSON answers go out at once, not held back by Nagle's algorithm
    // waiting for the client's ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let served = axum::serve(listener, latchkey_http::router(core))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    janitor.abort();
    served.context("the server stopped with an error")?;
    tracing::info!("latchkey stopped");
    Ok(())
}

/// The periodic housekeeping (see the module docs); errors are logged, never fatal.
async fn janitor(core: Arc<Latchkey>, store: Arc<dyn Store>) {
    let mut every = tokio::time::interval(JANITOR_EVERY);
    loop {
        every.tick().await;
        let before = core.now().plus_secs(-CEREMONY_RETENTION_SECS);
        match store.purge_ceremonies(before).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(purged = n, "purged old ceremonies"),
            Err(e) => tracing::warn!(error = %e, "could not purge old ceremonies"),
        }
        let before = core.now().plus_secs(-EXPIRED_RETENTION_SECS);
        match store.purge_expired(before).await {
            Ok(purged) if purged == Default::default() => {}
            Ok(purged) => tracing::debug!(?purged, "purged expired sessions and invitations"),
            Err(e) => {
                tracing::warn!(error = %e, "could not purge expired sessions and invitations")
            }
        }
        if let Err(e) = core.refresh_keys().await {
            tracing::warn!(error = %e, "could not refresh the signing keys");
        }
    }
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
