//! Start-up pieces both worker modes share: REST listeners, the REST
//! servers, the once-a-second metrics sampler, the Kafka cluster id.

use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::worker::{LISTENERS, Listener};
use crate::kafka::TopicAdmin;
use crate::metrics::Metrics;
use crate::rest::RestState;
use crate::status::StatusStore;

/// A bound REST listener, for https its TLS settings, and which routes
/// it serves.
pub(crate) type Bound = (
    TcpListener,
    Option<Arc<rustls::ServerConfig>>,
    crate::rest::Routes,
);

/// Binds `listeners` and, with `admin.listeners`, the admin listeners
/// (KIP-495): the admin routes are then served there only.
pub(crate) async fn bind_rest(config: &crate::config::worker::WorkerConfig) -> Result<Vec<Bound>> {
    use crate::rest::Routes;
    let main = match &config.admin_listeners {
        None => Routes::All,
        Some(_) => Routes::NoAdmin,
    };
    let mut out: Vec<Bound> =
        bind_listeners(&config.listeners, config.rest_tls.as_ref(), LISTENERS)
            .await?
            .into_iter()
            .map(|(s, t)| (s, t, main))
            .collect();
    if let Some(admin) = &config.admin_listeners {
        let bound = bind_listeners(
            admin,
            config.admin_tls.as_ref(),
            crate::config::worker::ADMIN_LISTENERS,
        )
        .await?;
        out.extend(bound.into_iter().map(|(s, t)| (s, t, Routes::AdminOnly)));
    }
    Ok(out)
}

/// Binds every REST listener before anything starts, so a busy port ends
/// the process with a message naming the key.
async fn bind_listeners(
    listeners: &[Listener],
    tls: Option<&Arc<rustls::ServerConfig>>,
    key: &str,
) -> Result<Vec<(TcpListener, Option<Arc<rustls::ServerConfig>>)>> {
    let mut out = Vec::new();
    for l in listeners {
        let tls = if l.tls {
            Some(tls.cloned().with_context(|| {
                format!("listener https://{}:{} has no TLS settings", l.host, l.port)
            })?)
        } else {
            None
        };
        let sock = TcpListener::bind((l.host.as_str(), l.port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}:{} (configuration {key})",
                    l.host, l.port
                )
            })?;
        out.push((sock, tls));
    }
    Ok(out)
}

/// Serves the REST API on every listener; sending `true` on the returned
/// channel shuts the servers down.
pub(crate) fn serve_rest(
    sockets: Vec<Bound>,
    state: &Arc<RestState>,
    worker_id: &str,
) -> watch::Sender<bool> {
    let (stop, stopped) = watch::channel(false);
    match state.herder.worker().config.secrets.active_key_id() {
        Some(key_id) => {
            tracing::info!(key_id, "connector secrets are sealed where they are stored")
        }
        None => tracing::warn!(
            "connector secrets are stored as given: set {} (or {}) to seal them",
            crate::secrets::keyring::KEYS_FILE,
            crate::secrets::keyring::KEYS_ENV
        ),
    }
    if let Some(audit) = &state.audit {
        crate::rest::audit::follow_status(audit.clone(), &state.herder.worker().status);
    }
    if let Some(auth) = &state.auth {
        crate::rest::auth_watch::spawn(auth.clone());
    }
    for (sock, tls, routes) in sockets {
        let addr = sock.local_addr().ok();
        let mut rx = stopped.clone();
        let st = state.clone();
        let https = tls.is_some();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|v| *v).await;
            };
            let served = match tls {
                Some(tls) => crate::rest::serve_tls(sock, tls, st, routes, shutdown).await,
                None => crate::rest::serve(sock, st, routes, shutdown).await,
            };
            if let Err(e) = served {
                tracing::error!(error = %e, "REST server failed");
            }
        });
        tracing::info!(address = ?addr, https, ?routes, worker_id, "REST API listening");
    }
    stop
}

/// Rates and flow anomalies, once a second.
pub(crate) fn spawn_sampler(metrics: &Arc<Metrics>, status: &Arc<StatusStore>) {
    let (metrics, status) = (metrics.clone(), status.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            metrics.sample(&status);
        }
    });
}

/// Asks Kafka for its cluster id (for `GET /`) off the async threads.
pub(crate) fn learn_cluster_id(admin: Arc<TopicAdmin>, state: &Arc<RestState>) {
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        if let Some(cid) = admin.cluster_id() {
            tracing::info!(kafka_cluster_id = %cid, "connected to Kafka");
            let _ = st.kafka_cluster_id.set(cid);
        } else {
            tracing::warn!(
                "the Kafka cluster id is not known yet (is the broker at bootstrap.servers up?)"
            );
        }
    });
}
