//! Requests another worker must serve (the leader for config writes, a
//! task's owner for its restart) are sent on to it and its answer is
//! returned, as Kafka Connect's REST server does. As there, a request may
//! cross two workers at most (the first worker forwards it, the second may
//! forward it once more when leadership moved while it waited for a
//! round); past that, or when the client sent `forward=false`, the answer
//! is 409.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ForwardTo};
use super::{MAX_BODY_BYTES, RestState};

/// Marks a request sent on by another worker; its value counts the hops.
pub const FORWARDED_HEADER: &str = "x-sluice-forwarded";

/// How many times one request may be forwarded, as in Kafka Connect.
const MAX_HOPS: u32 = 2;

/// How many times this request was forwarded already (a header without a
/// number, from an older worker, counts as one).
fn hops(req: &Request) -> u32 {
    req.headers().get(FORWARDED_HEADER).map_or(0, |v| {
        v.to_str().ok().and_then(|v| v.parse().ok()).unwrap_or(1)
    })
}

/// Kafka Connect's `forward` query parameter: `false` forbids forwarding.
fn forward_param(query: Option<&str>) -> Option<bool> {
    super::query::first(query, "forward").map(|v| v.eq_ignore_ascii_case("true"))
}

pub(crate) async fn layer(State(s): State<Arc<RestState>>, req: Request, next: Next) -> Response {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let uri = req.uri().clone();
    let hops = hops(&req);
    let may_forward = hops < MAX_HOPS && forward_param(req.uri().query()) != Some(false);
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    // What a forwarded request keeps of the client's headers: its body
    // type, its credentials (the target checks them too, as Kafka
    // Connect's workers do) and an internal request's signature.
    let kept: Vec<(String, header::HeaderValue)> = [
        header::AUTHORIZATION.as_str(),
        "x-api-key",
        super::audit::REQUEST_ID,
        crate::distributed::session_key::SIGNATURE_HEADER,
        crate::distributed::session_key::ALGORITHM_HEADER,
    ]
    .iter()
    .filter_map(|h| Some(((*h).to_string(), req.headers().get(*h)?.clone())))
    .collect();
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
    let admin_route = uri.path() == "/admin" || uri.path().starts_with("/admin/");
    if admin_route && s.herder.worker().config.admin_listeners.is_some() {
        // The leader's advertised URL is its REST listener, which does not
        // serve /admin/* once admin.listeners is set.
        return ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "This worker is not the leader ({target}); with admin.listeners set, send {} {} to the leader's admin listener",
                method,
                uri.path()
            ),
        )
        .into_response();
    }
    if !may_forward {
        tracing::info!(%method, %uri, hops, target = %target, "not forwarding a request again");
        return ApiError::new(
            StatusCode::CONFLICT,
            "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
        )
        .into_response();
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", target.trim_end_matches('/'));
    tracing::debug!(%method, %url, "forwarding request");
    let mut headers = vec![(
        header::HeaderName::from_static(FORWARDED_HEADER),
        header::HeaderValue::from(hops + 1),
    )];
    if let Some(ct) = content_type {
        headers.push((header::CONTENT_TYPE, ct));
    }
    for (h, v) in kept {
        if let Ok(name) = header::HeaderName::from_bytes(h.as_bytes()) {
            headers.push((name, v));
        }
    }
    // The target may wait out a rebalance (90 s) and then read its write
    // back (30 s).
    match s
        .http
        .send(method, &url, &headers, bytes, Duration::from_secs(130))
        .await
    {
        Ok(r) => {
            let mut resp = (r.status, r.body).into_response();
            if let Some(ct) = r.content_type {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn req(header: Option<&str>) -> Request {
        let mut b = Request::builder().uri("/connectors");
        if let Some(h) = header {
            b = b.header(FORWARDED_HEADER, h);
        }
        b.body(Body::empty()).expect("request")
    }

    #[test]
    fn hops_count_the_forwarding_header() {
        assert_eq!(hops(&req(None)), 0);
        assert_eq!(hops(&req(Some("1"))), 1);
        assert_eq!(hops(&req(Some("2"))), 2);
        // An older worker sent "1" always; anything unreadable counts once.
        assert_eq!(hops(&req(Some("yes"))), 1);
    }

    #[test]
    fn the_forward_parameter_reads_as_jax_rs_reads_it() {
        assert_eq!(forward_param(None), None);
        assert_eq!(forward_param(Some("expand=status")), None);
        assert_eq!(forward_param(Some("forward=false")), Some(false));
        assert_eq!(forward_param(Some("forward=False&x=1")), Some(false));
        assert_eq!(forward_param(Some("a=b&forward=TRUE")), Some(true));
        // Boolean.valueOf: anything but "true" is false.
        assert_eq!(forward_param(Some("forward=1")), Some(false));
        assert_eq!(forward_param(Some("forward")), Some(false));
    }
}
