//! `/admin/loggers`: read and change log levels at runtime.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use super::{ApiError, RestState, body};
use crate::logging::LevelError;

pub(crate) async fn all(State(s): State<Arc<RestState>>) -> Json<serde_json::Value> {
    let map: serde_json::Map<String, serde_json::Value> = s
        .log_levels
        .all()
        .into_iter()
        .map(|(k, v)| {
            let last = s.log_levels.last_modified(&k);
            (k, serde_json::json!({ "level": v, "last_modified": last }))
        })
        .collect();
    Json(serde_json::Value::Object(map))
}

pub(crate) async fn get(
    State(s): State<Arc<RestState>>,
    Path(logger): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let last = s.log_levels.last_modified(&logger);
    s.log_levels
        .get(&logger)
        .map(|l| Json(serde_json::json!({ "level": l, "last_modified": last })))
        .ok_or_else(|| ApiError::not_found(format!("Logger {logger} not found.")))
}

#[derive(Debug, Deserialize)]
struct LevelBody {
    level: Option<String>,
}

pub(crate) async fn put(
    State(s): State<Arc<RestState>>,
    Path(logger): Path<String>,
    body::RawBody(bytes): body::RawBody,
) -> Result<Json<Vec<String>>, ApiError> {
    let b: LevelBody = body::parse(&bytes)?;
    let level = b.level.ok_or_else(|| {
        ApiError::bad_request("Desired 'level' parameter was not specified in request.")
    })?;
    s.log_levels
        .set(&logger, &level)
        .map(Json)
        .map_err(|e| match e {
            LevelError::UnknownLevel(m) => ApiError::not_found(m),
            LevelError::Invalid(m) => ApiError::bad_request(m),
        })
}
