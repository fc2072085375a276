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
    let app = crate::api::router(registry);
    let (stop, stopped) = watch::channel(false);
    let mut addresses = Vec::new();
    let mut servers = Vec::new();
    for address in &config.listeners {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| RegistryError::store(format!("cannot listen on {address}: {e}")))?;
        let bound = listener.local_addr().map_err(RegistryError::store)?;
        addresses.push(bound);
        let app = app.clone();
        let mut stopped = stopped.clone();
        servers.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "schema registry listener failed");
            }
        }));
        tracing::info!(%bound, "schema registry listening");
    }
    Ok(RunningRegistry {
        addresses,
        stop,
        servers,
    })
}
