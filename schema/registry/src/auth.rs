//! HTTP basic authentication on the registry's REST API, with Confluent's
//! keys: `authentication.method=BASIC`, `authentication.realm` (the JAAS
//! section naming the users file), `authentication.roles` (a user must
//! hold one of them; `*`, the default, lets any known user in) and
//! `authentication.skip.paths`.
//!
//! Checking a password is the embedding program's job ([`Guard`]): the
//! worker reads Jetty's `PropertyFileLoginModule` files with Argon2
//! hashes. A registry whose method is BASIC and that was given no guard
//! does not start (fail closed).

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Checks credentials for the registry.
pub trait Guard: Send + Sync + std::fmt::Debug {
    /// The roles of the user an `Authorization` header value proves, or
    /// `None` when it proves no one.
    fn roles(&self, authorization: &str) -> Option<Vec<String>>;
}

/// `authentication.*` settings, when `authentication.method=BASIC`.
#[derive(Debug, Clone)]
pub struct BasicSettings {
    /// `authentication.realm`: the JAAS section that names the users.
    pub realm: String,
    /// `authentication.roles`: the roles let in (`*`: any user).
    pub roles: Vec<String>,
    /// `authentication.skip.paths`: paths answered without credentials
    /// (Jetty's path specs: `/a/*`, `*.ext`, exact paths).
    pub skip_paths: Vec<String>,
}

impl BasicSettings {
    /// Jetty's path specs: `/a/*` is `/a` and everything under it,
    /// `*.ext` a suffix, anything else the exact path.
    fn skips(&self, path: &str) -> bool {
        self.skip_paths.iter().any(|p| {
            if let Some(prefix) = p.strip_suffix("/*") {
                path == prefix || path.starts_with(&format!("{prefix}/"))
            } else if let Some(ext) = p.strip_prefix("*.") {
                path.ends_with(&format!(".{ext}"))
            } else {
                path == p
            }
        })
    }

    fn lets_in(&self, roles: &[String]) -> bool {
        self.roles.iter().any(|r| r == "*") || roles.iter().any(|r| self.roles.contains(r))
    }
}

fn refusal(status: StatusCode, message: &str) -> Response {
    let body = json!({"error_code": status.as_u16(), "message": message}).to_string();
    (
        status,
        [(header::CONTENT_TYPE, crate::api::CONTENT_TYPE)],
        body,
    )
        .into_response()
}

/// The middleware: 401 without valid credentials, 403 for a user without
/// any of the roles.
pub async fn check(
    settings: Arc<BasicSettings>,
    guard: Arc<dyn Guard>,
    req: Request,
    next: Next,
) -> Response {
    if settings.skips(req.uri().path()) {
        return next.run(req).await;
    }
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    // A password check may take tens of milliseconds (Argon2): off the
    // async threads, so junk credentials cannot stall the others.
    let roles = match header {
        Some(h) => tokio::task::spawn_blocking(move || guard.roles(&h))
            .await
            .ok()
            .flatten(),
        None => None,
    };
    match roles {
        Some(roles) if settings.lets_in(&roles) => next.run(req).await,
        Some(_) => refusal(StatusCode::FORBIDDEN, "Forbidden"),
        None => {
            let mut resp = refusal(StatusCode::UNAUTHORIZED, "Unauthorized");
            let challenge = format!("Basic realm=\"{}\"", settings.realm.replace('"', ""));
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(roles: &[&str], skip: &[&str]) -> BasicSettings {
        BasicSettings {
            realm: "SchemaRegistry".into(),
            roles: roles.iter().map(|r| (*r).into()).collect(),
            skip_paths: skip.iter().map(|r| (*r).into()).collect(),
        }
    }

    #[test]
    fn roles_and_skipped_paths() {
        let s = settings(&["admin", "developer"], &["/", "/schemas/types", "/v1/*"]);
        assert!(s.lets_in(&["developer".into()]));
        assert!(!s.lets_in(&["user".into()]));
        assert!(!s.lets_in(&[]));
        assert!(settings(&["*"], &[]).lets_in(&[]));
        assert!(s.skips("/"));
        assert!(s.skips("/schemas/types"));
        assert!(!s.skips("/schemas/types/"));
        assert!(s.skips("/v1/anything"));
        assert!(s.skips("/v1"));
        assert!(!s.skips("/v10"));
        assert!(!s.skips("/subjects"));
        assert!(!s.skips("/schemas/ids/1"));
    }
}
