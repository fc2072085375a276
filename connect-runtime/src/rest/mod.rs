//! The REST admin API, with Kafka Connect's paths, JSON shapes, status codes
//! and error body `{"error_code": N, "message": "..."}`.
//!
//! [`app`] builds the router so tests can drive it without a socket.

mod error;
mod handlers;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;

pub use error::ApiError;

use crate::herder::StandaloneHerder;

/// What the handlers need.
#[derive(Debug)]
pub struct RestState {
    pub herder: Arc<StandaloneHerder>,
    /// Filled in once the broker answered.
    pub kafka_cluster_id: OnceLock<String>,
}

pub fn app(state: Arc<RestState>) -> Router {
    Router::new()
        .route("/", get(handlers::root))
        .route("/connectors", get(handlers::list_connectors))
        .route("/connectors/{name}/status", get(handlers::connector_status))
        .fallback(handlers::not_found)
        .with_state(state)
}

/// Serves `app` on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<RestState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
