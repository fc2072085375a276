//! Requests another worker must serve (the leader for config writes, a
//! task's owner for its restart) are sent on to it and its answer is
//! returned, as Kafka Connect's REST server does. A request that was
//! already forwarded once is not forwarded again: it gets 409, the answer
//! Kafka Connect gives during a rebalance.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ForwardTo};
use super::{MAX_BODY_BYTES, RestState};

/// Marks a request sent on by another worker.
pub const FORWARDED_HEADER: &str = "x-sluice-forwarded";

pub(crate) async fn layer(State(s): State<Arc<RestState>>, req: Request, next: Next) -> Response {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let uri = req.uri().clone();
    let forwarded = req.headers().contains_key(FORWARDED_HEADER);
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
            .into_response();
    };
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    let Some(ForwardTo(target)) = resp.extensions().get::<ForwardTo>().cloned() else {
        return resp;
    };
    if forwarded {
        return ApiError::new(
            StatusCode::CONFLICT,
            "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
        )
        .into_response();
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", target.trim_end_matches('/'));
    tracing::debug!(%method, %url, "forwarding request");
    let mut out = s
        .http
        .request(method, &url)
        .header(FORWARDED_HEADER, "1")
        .timeout(Duration::from_secs(90))
        .body(bytes);
    if let Some(ct) = content_type {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    match out.send().await {
        Ok(r) => {
            let status = r.status();
            let ct = r.headers().get(header::CONTENT_TYPE).cloned();
            let body = r.bytes().await.unwrap_or_default();
            let mut resp = (status, body).into_response();
            if let Some(ct) = ct {
                resp.headers_mut().insert(header::CONTENT_TYPE, ct);
            } else {
                resp.headers_mut().remove(header::CONTENT_TYPE);
            }
            resp
        }
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Error trying to forward REST request: {e}"),
        )
        .into_response(),
    }
}
