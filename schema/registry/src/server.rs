//! Running the registry: load the schemas topic, then serve the REST API.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::RegistryConfig;
use crate::error::RegistryError;
use crate::kafka::KafkaLog;
use crate::service::Registry;
use crate::state::State;

/// A registry serving on its listeners until [`RunningRegistry::shutdown`].
#[derive(Debug)]
pub struct RunningRegistry {
    /// The bound addresses (a port 0 listener shows its real port here).
    pub addresses: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

impl RunningRegistry {
    /// Stops accepting requests and waits for the servers to finish.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for server in self.servers {
            let _ = server.await;
        }
    }
}

/// Loads the state from the schemas topic, then serves.
pub async fn start(config: &RegistryConfig) -> Result<RunningRegistry, RegistryError> {
    let state = Arc::new(RwLock::new(State::default()));
    let log = KafkaLog::open(&config.store, state.clone()).await?;
    let registry = Arc::new(Registry::new(state, Arc::new(log), config.compatibility));
    let mut app = crate::api::router(registry);
    match (&config.basic_auth, &config.guard) {
        (None, _) => {}
        (Some(settings), Some(guard)) => {
            let (settings, guard) = (settings.clone(), guard.clone());
            app = app.layer(axum::middleware::from_fn(move |req, next| {
                crate::auth::check(settings.clone(), guard.clone(), req, next)
            }));
        }
        (Some(_), None) => {
            return Err(RegistryError::store(
                "authentication.method=BASIC, but nothing was given to check passwords with",
            ));
        }
    }
    let (stop, stopped) = watch::channel(false);
    let mut addresses = Vec::new();
    let mut servers = Vec::new();
    for listener in &config.listeners {
        let address = listener.address;
        let sock = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| RegistryError::store(format!("cannot listen on {address}: {e}")))?;
        let bound = sock.local_addr().map_err(RegistryError::store)?;
        addresses.push(bound);
        let app = app.clone();
        let mut stopped = stopped.clone();
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let served = if listener.tls {
            let tls = config.tls.clone().ok_or_else(|| {
                RegistryError::store(format!("listener https://{address} has no TLS settings"))
            })?;
            let sock = sluice_tls::TlsListener::start(sock, tls).map_err(RegistryError::store)?;
            tokio::spawn(async move {
                axum::serve(sock, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            })
        } else {
            tokio::spawn(async move {
                axum::serve(sock, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            })
        };
        servers.push(tokio::spawn(async move {
            match served.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "schema registry listener failed"),
                Err(e) => tracing::error!(error = %e, "schema registry listener panicked"),
            }
        }));
        let scheme = if listener.tls { "https" } else { "http" };
        tracing::info!(%bound, scheme, "schema registry listening");
    }
    Ok(RunningRegistry {
        addresses,
        stop,
        servers,
    })
}
