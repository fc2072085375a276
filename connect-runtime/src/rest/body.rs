//! JSON request bodies parsed by hand, so malformed input gets Kafka
//! Connect's error body (with the position) instead of a framework default.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use sluice_connect_api::Config;

use super::ApiError;

pub(crate) fn parse<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON in request body: {e}")))
}

/// A config object: string values; numbers and booleans become strings (as
/// Jackson does for `Map<String, String>`); nulls are dropped.
pub(crate) fn config(value: serde_json::Value) -> Result<Config, ApiError> {
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "Connector config must be a JSON object",
        ));
    };
    crate::config::connector::config_from_json(map).map_err(ApiError::bad_request)
}

/// The raw request body; a body that cannot be read (too large, broken
/// connection) is answered with the error body and the matching status
/// (413 for oversized bodies).
#[derive(Debug)]
pub(crate) struct RawBody(pub(crate) Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|r| ApiError::new(r.status(), r.body_text()))
    }
}
