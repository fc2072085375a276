use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

use super::{ApiError, RestState};
use crate::status::ConnectorStatus;

/// `GET /` body.
#[derive(Debug, Serialize)]
pub(crate) struct ServerInfo {
    version: &'static str,
    commit: &'static str,
    kafka_cluster_id: Option<String>,
}

pub(crate) async fn root(State(s): State<Arc<RestState>>) -> Json<ServerInfo> {
    Json(ServerInfo {
        version: crate::VERSION,
        commit: crate::COMMIT,
        kafka_cluster_id: s.kafka_cluster_id.get().cloned(),
    })
}

pub(crate) async fn list_connectors(State(s): State<Arc<RestState>>) -> Json<Vec<String>> {
    Json(s.herder.connector_names())
}

pub(crate) async fn connector_status(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<Json<ConnectorStatus>, ApiError> {
    s.herder
        .status(&name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("No status found for connector {name}")))
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("HTTP 404 Not Found")
}
