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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use sluice_connect_api::ConnectorType;
    use tower::ServiceExt;

    use super::*;
    use crate::config::worker::WorkerConfig;
    use crate::kafka::TopicAdmin;
    use crate::offsets::MemoryOffsetStore;
    use crate::status::{State, StatusStore};
    use crate::worker::Worker;

    fn state() -> Arc<RestState> {
        let config = WorkerConfig::from_props(BTreeMap::new()).unwrap();
        // The admin client connects lazily; nothing here talks to Kafka.
        let admin = Arc::new(TopicAdmin::new("127.0.0.1:1", &BTreeMap::new()).unwrap());
        let status = Arc::new(StatusStore::new("w:8083"));
        status.set_connector("c1", ConnectorType::Sink, State::Running, None);
        let worker = Arc::new(Worker {
            config,
            registry: crate::plugins::registry(),
            offsets: Arc::new(MemoryOffsetStore::default()),
            status,
            admin,
        });
        let (herder, _rx) = crate::herder::StandaloneHerder::new(worker);
        Arc::new(RestState {
            herder,
            kafka_cluster_id: OnceLock::new(),
        })
    }

    async fn get(path: &str) -> (StatusCode, serde_json::Value) {
        let res = app(state())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn kafka_connect_shapes() {
        let (code, body) = get("/").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body["version"], crate::VERSION);
        assert!(body["kafka_cluster_id"].is_null());

        assert_eq!(
            get("/connectors").await,
            (StatusCode::OK, serde_json::json!(["c1"]))
        );

        let (code, body) = get("/connectors/c1/status").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(
            body,
            serde_json::json!({"name":"c1","connector":{"state":"RUNNING","worker_id":"w:8083"},"tasks":[],"type":"sink"})
        );

        assert_eq!(
            get("/connectors/zz/status").await,
            (
                StatusCode::NOT_FOUND,
                serde_json::json!({"error_code":404,"message":"No status found for connector zz"})
            )
        );
        assert_eq!(
            get("/no/such/path").await,
            (
                StatusCode::NOT_FOUND,
                serde_json::json!({"error_code":404,"message":"HTTP 404 Not Found"})
            )
        );
    }
}
