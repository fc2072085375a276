use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::herder::HerderError;

/// An error answer in Kafka Connect's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Set when another worker must serve the request: its REST base URL.
    pub forward: Option<String>,
}

/// Response extension: the request is to be sent to this worker instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTo(pub String);

#[derive(Serialize)]
struct Body<'a> {
    error_code: u16,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            forward: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<HerderError> for ApiError {
    fn from(e: HerderError) -> Self {
        let status = match &e {
            HerderError::AlreadyExists(_) => StatusCode::CONFLICT,
            HerderError::NotFound(_) | HerderError::TaskNotFound(_) => StatusCode::NOT_FOUND,
            HerderError::Invalid(_) | HerderError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HerderError::Store(_) | HerderError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            HerderError::Rebalancing => StatusCode::CONFLICT,
            HerderError::Forward(url) => {
                let mut err = Self::new(StatusCode::CONFLICT, e.to_string());
                err.forward = Some(url.clone());
                return err;
            }
        };
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error_code: self.status.as_u16(),
            message: &self.message,
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(url) = self.forward {
            resp.extensions_mut().insert(ForwardTo(url));
        }
        resp
    }
}
