//! `/admin/loggers`: read and change log levels at runtime.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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

fn level_error(e: LevelError) -> ApiError {
    match e {
        LevelError::UnknownLevel(m) => ApiError::not_found(m),
        LevelError::Invalid(m) => ApiError::bad_request(m),
    }
}

/// `?scope=worker` (the default, and what an unknown scope means, as in
/// Kafka Connect) sets the level here and answers the loggers it changed;
/// `?scope=cluster` (any case) sets it on every worker and answers 204.
pub(crate) async fn put(
    State(s): State<Arc<RestState>>,
    Path(logger): Path<String>,
    uri: axum::http::Uri,
    body::RawBody(bytes): body::RawBody,
) -> Result<Response, ApiError> {
    let b: LevelBody = body::parse(&bytes)?;
    let level = b.level.ok_or_else(|| {
        ApiError::bad_request("Desired 'level' parameter was not specified in request.")
    })?;
    let scope = super::query::first(uri.query(), "scope");
    match scope.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("cluster") => {
            crate::logging::LogLevels::check(&logger, &level).map_err(level_error)?;
            if !s.herder.set_cluster_logger_level(&logger, &level).await? {
                s.log_levels.set(&logger, &level).map_err(level_error)?;
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        other => {
            if let Some(scope) = other.filter(|v| *v != "worker") {
                tracing::warn!(
                    scope,
                    "unknown scope in a log level request; using 'worker'"
                );
            }
            let changed = s.log_levels.set(&logger, &level).map_err(level_error)?;
            Ok(Json(changed).into_response())
        }
    }
}
