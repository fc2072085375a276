//! The REST admin API, with Kafka Connect's paths, JSON shapes, status codes
//! and error body `{"error_code": N, "message": "..."}`.
//!
//! [`app`] builds the router so tests can drive it without a socket.

pub mod audit;
pub mod auth;
pub mod auth_watch;
pub mod authz;
mod body;
mod error;
mod forward;
mod handlers;
pub mod jwt;
mod loggers;
mod offsets;
mod openapi;
pub mod passwords;
mod plugins;
mod query;
mod secrets;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::{get, post, put};

pub use error::{ApiError, ForwardTo};
pub use forward::FORWARDED_HEADER;

use crate::herder::Herder;

/// What the handlers need.
#[derive(Debug)]
pub struct RestState {
    pub herder: Arc<dyn Herder>,
    /// Sends requests on to other workers of a cluster.
    pub http: crate::http_client::HttpClient,
    /// Filled in once the broker answered.
    pub kafka_cluster_id: OnceLock<String>,
    /// Set once the connectors given at start are started (`GET /health`).
    pub started: std::sync::atomic::AtomicBool,
    /// Log levels for `/admin/loggers`.
    pub log_levels: Arc<crate::logging::LogLevels>,
    /// Basic authentication, when the worker turns it on.
    pub auth: Option<Arc<auth::BasicAuth>>,
    /// Roles bound to principals (`rest.auth.roles.file`); none: every
    /// authenticated principal may do everything.
    pub authz: Option<Arc<authz::Rbac>>,
    /// The audit log, when the worker keeps one.
    pub audit: Option<Arc<audit::AuditLog>>,
}

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The REST service: the routes behind Kafka Connect's request
/// normalization (a trailing slash is ignored).
pub type App =
    tower::util::MapRequest<Router, fn(axum::extract::Request) -> axum::extract::Request>;

/// Which routes a listener serves (`admin.listeners`, KIP-495).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routes {
    /// Everything (no `admin.listeners`).
    All,
    /// Everything but `/admin/*` (the REST listeners when
    /// `admin.listeners` is set, even to nothing).
    NoAdmin,
    /// Only `/admin/*` (the admin listeners).
    AdminOnly,
}

impl Routes {
    fn serves(self, path: &str) -> bool {
        let admin = path == "/admin" || path.starts_with("/admin/");
        match self {
            Self::All => true,
            Self::NoAdmin => !admin,
            Self::AdminOnly => admin,
        }
    }
}

pub fn app(state: Arc<RestState>) -> App {
    app_for(state, Routes::All)
}

/// The REST API as one listener serves it.
pub fn app_for(state: Arc<RestState>, served: Routes) -> App {
    let router = if served == Routes::All {
        routes(state)
    } else {
        routes(state).layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                use axum::response::IntoResponse;
                if served.serves(req.uri().path()) {
                    next.run(req).await
                } else {
                    error::ApiError::new(axum::http::StatusCode::NOT_FOUND, "HTTP 404 Not Found")
                        .into_response()
                }
            },
        ))
    };
    tower::ServiceExt::map_request(
        router,
        query::trim_trailing_slash as fn(axum::extract::Request) -> axum::extract::Request,
    )
}

fn routes(state: Arc<RestState>) -> Router {
    Router::new()
        .route("/", get(handlers::root))
        .route(
            "/connectors",
            get(handlers::list_connectors).post(handlers::create_connector),
        )
        .route(
            "/connectors/{name}",
            get(handlers::get_connector).delete(handlers::delete_connector),
        )
        .route(
            "/connectors/{name}/config",
            get(handlers::get_config)
                .put(handlers::put_config)
                .patch(handlers::patch_config),
        )
        .route("/connectors/{name}/status", get(handlers::connector_status))
        .route(
            "/connectors/{name}/tasks",
            get(handlers::connector_tasks).post(handlers::put_task_configs),
        )
        .route("/connectors/{name}/topics", get(handlers::topics))
        .route(
            "/connectors/{name}/topics/reset",
            put(handlers::reset_topics),
        )
        .route(
            "/connectors/{name}/offsets",
            get(offsets::get_offsets)
                .patch(offsets::alter_offsets)
                .delete(offsets::reset_offsets),
        )
        .route(
            "/connectors/{name}/tasks/{task}/status",
            get(handlers::task_status),
        )
        .route("/connectors/{name}/pause", put(handlers::pause))
        .route("/connectors/{name}/resume", put(handlers::resume))
        .route("/connectors/{name}/stop", put(handlers::stop))
        .route("/connectors/{name}/restart", post(handlers::restart))
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            post(handlers::restart_task),
        )
        .route("/connector-plugins", get(handlers::connector_plugins))
        .route(
            "/connector-plugins/{plugin}/config",
            get(plugins::plugin_config),
        )
        .route(
            "/connector-plugins/{plugin}/config/validate",
            put(plugins::validate_config),
        )
        .route("/health", get(handlers::health))
        .route("/health/ready", get(handlers::health))
        .route("/health/live", get(handlers::live))
        .route("/metrics", get(handlers::metrics))
        .route("/openapi.json", get(openapi::openapi))
        .route("/admin/loggers", get(loggers::all))
        .route(
            "/admin/loggers/{logger}",
            get(loggers::get).put(loggers::put),
        )
        .route("/admin/secrets/rotate", post(secrets::rotate))
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .fallback(handlers::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forward::layer,
        ))
        // A request without credentials is neither served nor forwarded.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        // Outermost: sees every answer, refusals included.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit_calls,
        ))
        .with_state(state)
}

/// The client's address (for the audit log) and, on a TLS listener that
/// asked for one, its certificate's subject common name.
#[derive(Debug, Clone)]
pub struct ClientAddr {
    pub addr: std::net::SocketAddr,
    pub cert_cn: Option<String>,
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for ClientAddr
{
    fn connect_info(s: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Self {
            addr: *s.remote_addr(),
            cert_cn: None,
        }
    }
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, sluice_tls::TlsListener>>
    for ClientAddr
{
    fn connect_info(s: axum::serve::IncomingStream<'_, sluice_tls::TlsListener>) -> Self {
        let cert_cn = s
            .io()
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|c| auth::subject_cn(c));
        Self {
            addr: *s.remote_addr(),
            cert_cn,
        }
    }
}

/// Lets an authenticated call through only if the principal's roles allow
/// it; filters the connector list down to what the principal may see.
async fn authorize(
    s: &Arc<RestState>,
    rbac: &authz::Rbac,
    user: &str,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let method = req.method().to_string();
    let path = req.uri().path().trim_end_matches('/').to_string();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return error::ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "Request body is too large",
        )
        .into_response();
    };
    if let Some((op, connector)) = authz::required(&method, &path, &bytes) {
        let mut needed = vec![op];
        // PUT config of a connector that does not exist creates it.
        if method == "PUT"
            && op == authz::Op::Configure
            && let Some(c) = &connector
            && !s.herder.connector_names().await.contains(c)
        {
            needed.push(authz::Op::Create);
        }
        if let Some(op) = needed
            .into_iter()
            .find(|op| !rbac.allows(user, *op, connector.as_deref()))
        {
            let what =
                connector.map_or_else(|| "the cluster".to_string(), |c| format!("connector {c}"));
            return error::ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                format!("Principal {user} is not allowed to {} {what}", op.name()),
            )
            .into_response();
        }
    }
    let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let resp = next.run(req).await;
    if method == "GET" && path == "/connectors" && resp.status().is_success() {
        return visible_connectors(rbac, user, resp).await;
    }
    resp
}

/// `GET /connectors` (and its `expand` forms) cut down to the connectors
/// the principal may read; `info` (configs) only where it may read those.
async fn visible_connectors(
    rbac: &authz::Rbac,
    user: &str,
    resp: axum::response::Response,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return axum::response::Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    let sees = |c: &str| rbac.allows(user, authz::Op::ReadStatus, Some(c));
    match &mut v {
        serde_json::Value::Array(names) => {
            names.retain(|n| n.as_str().is_some_and(sees));
        }
        serde_json::Value::Object(map) => {
            map.retain(|c, _| sees(c));
            for (c, entry) in map.iter_mut() {
                if !rbac.allows(user, authz::Op::ReadConfig, Some(c))
                    && let Some(e) = entry.as_object_mut()
                {
                    e.remove("info");
                }
            }
        }
        _ => {}
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, axum::body::Body::from(v.to_string()))
}

/// Who a request was authenticated as, and how (a response extension,
/// for the audit log).
#[derive(Debug, Clone)]
struct Principal(String, &'static str);

/// Records changes and refusals in the audit log (see [`audit`]) and
/// answers every call with its request id.
async fn audit_calls(
    axum::extract::State(s): axum::extract::State<Arc<RestState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(log) = s.audit.clone() else {
        return next.run(req).await;
    };
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let request_id = req
        .headers()
        .get(audit::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(audit::random_id, String::from);
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<ClientAddr>>()
        .map(|c| c.0.addr.to_string());
    // Recorded on every worker it reaches (a client could send the header
    // itself), marked when another worker says it sent it on.
    let forwarded = req.headers().contains_key(forward::FORWARDED_HEADER);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return error::ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "Request body is too large",
        )
        .into_response();
    };
    let class = audit::classify(&method, &path, &bytes);
    let mut resp = next
        .run(axum::extract::Request::from_parts(
            parts,
            axum::body::Body::from(bytes.clone()),
        ))
        .await;
    if let Ok(v) = axum::http::HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(audit::REQUEST_ID, v);
    }
    let status = resp.status().as_u16();
    let denied = status == 401 || status == 403;
    let (operation, resource) = match class {
        Some(c) => c,
        None if denied => ("read", path.clone()),
        None => return resp,
    };
    let found = resp.extensions().get::<Principal>().cloned();
    let mechanism = match (&found, operation) {
        (Some(p), _) => p.1,
        (None, "put-task-configs") => "signature",
        (None, _) => "none",
    };
    let principal = found.map(|p| p.0);
    let event = audit::AuditEvent {
        principal,
        mechanism,
        keys: audit::config_keys(operation, &bytes),
        method,
        path,
        operation,
        resource,
        status,
        request_id,
        client,
        forwarded,
    };
    if log.block {
        if let Err(e) = log.record(&event).await {
            tracing::error!(error = %e, request_id = %event.request_id, "cannot write an audit record");
            return error::ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                format!("the audit log cannot be written ({e}); the call itself answered {status}"),
            )
            .into_response();
        }
    } else {
        tokio::spawn(async move {
            if let Err(e) = log.record(&event).await {
                tracing::warn!(error = %e, request_id = %event.request_id, "audit record dropped");
            }
        });
    }
    resp
}

/// Refuses requests without valid credentials when authentication is on,
/// with Kafka Connect's 401 message.
async fn authenticate(
    axum::extract::State(s): axum::extract::State<Arc<RestState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let Some(auth) = s.auth.clone() else {
        return next.run(req).await;
    };
    if auth::anonymous(req.method(), req.uri().path(), auth.metrics_anonymous) {
        return next.run(req).await;
    }
    // A header that is there but not text is a bad credential, not none.
    let (authorization, api_key) = {
        let header = |h: &str| {
            req.headers().get(h).map(|v| {
                v.to_str()
                    .map(String::from)
                    .unwrap_or_else(|_| "invalid".to_string())
            })
        };
        (
            header(axum::http::header::AUTHORIZATION.as_str()),
            header("x-api-key"),
        )
    };
    let cert_cn = req
        .extensions()
        .get::<axum::extract::ConnectInfo<ClientAddr>>()
        .and_then(|c| c.0.cert_cn.clone());
    // Bearer tokens: checked against the identity provider's key set.
    if let (Some(jwt), Some(token)) = (
        auth.jwt.clone(),
        authorization
            .as_deref()
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_string()),
    ) {
        match jwt.verify(&token).await {
            Ok(claims) => {
                auth.note_success();
                let mut resp = match roles(&s, &auth) {
                    None => next.run(req).await,
                    Some(rbac) => {
                        let rbac = rbac.with_token_roles(&claims.principal, &claims.roles);
                        authorize(&s, &rbac, &claims.principal, req, next).await
                    }
                };
                resp.extensions_mut()
                    .insert(Principal(claims.principal, "oauthbearer"));
                return resp;
            }
            Err(why) => {
                tracing::info!(method = %req.method(), path = %req.uri().path(), reason = %why, "bearer token refused");
                return refuse(&auth);
            }
        }
    }
    // Argon2 takes tens of milliseconds: off the async threads, so a flood
    // of guesses cannot stall the API (or its health checks).
    let checker = auth.clone();
    let who = tokio::task::spawn_blocking(move || {
        checker.authenticate(
            authorization.as_deref(),
            api_key.as_deref(),
            cert_cn.as_deref(),
        )
    })
    .await
    .ok()
    .flatten();
    if let Some((user, mechanism)) = who {
        auth.note_success();
        let mut resp = match roles(&s, &auth) {
            None => next.run(req).await,
            Some(rbac) => authorize(&s, &rbac, &user, req, next).await,
        };
        resp.extensions_mut().insert(Principal(user, mechanism));
        return resp;
    }
    tracing::debug!(method = %req.method(), path = %req.uri().path(), "request refused: no valid credentials");
    refuse(&auth)
}

/// The roles every principal is checked against: the roles file's; with
/// bearer tokens that carry roles and no file, none but the tokens' (so
/// every mechanism is held to roles, not only tokens).
fn roles(s: &RestState, auth: &auth::BasicAuth) -> Option<Arc<authz::Rbac>> {
    s.authz.clone().or_else(|| {
        auth.jwt
            .as_ref()
            .is_some_and(|j| j.has_roles_claim())
            .then(|| Arc::new(authz::Rbac::default()))
    })
}

/// 401, counted, with the schemes the worker takes.
fn refuse(auth: &auth::BasicAuth) -> axum::response::Response {
    use axum::response::IntoResponse;
    auth.note_failure();
    let mut resp = error::ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "User cannot access the resource.",
    )
    .into_response();
    resp.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Basic realm=\"Sluice\""),
    );
    if auth.jwt.is_some() {
        resp.headers_mut().append(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer realm=\"Sluice\""),
        );
    }
    resp
}

/// Serves `app` on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<RestState>,
    routes: Routes,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        axum::ServiceExt::into_make_service_with_connect_info::<ClientAddr>(app_for(state, routes)),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Serves the REST API over TLS on `listener`.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<RestState>,
    routes: Routes,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = sluice_tls::TlsListener::start(listener, tls)?;
    axum::serve(
        listener,
        axum::ServiceExt::into_make_service_with_connect_info::<ClientAddr>(app_for(state, routes)),
    )
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
        state_with(&[])
    }

    fn state_with(worker_props: &[(&str, &str)]) -> Arc<RestState> {
        let props = worker_props
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let config = WorkerConfig::from_props(props).unwrap();
        let (auth, authz) = (config.rest_auth.clone(), config.rest_authz.clone());
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
            metrics: crate::metrics::Metrics::new("w:8083", std::time::Duration::from_secs(30)),
            transform_store: None,
        });
        let (herder, _rx) = crate::herder::StandaloneHerder::new(
            worker,
            Arc::new(crate::state::MemoryConnectorStore::default()),
        );
        Arc::new(RestState {
            herder,
            http: crate::http_client::HttpClient::system().unwrap(),
            kafka_cluster_id: OnceLock::new(),
            started: std::sync::atomic::AtomicBool::new(true),
            log_levels: Arc::new(crate::logging::LogLevels::new("info", None)),
            auth,
            authz,
            audit: None,
        })
    }

    async fn call(
        st: &Arc<RestState>,
        method: &str,
        path: &str,
        body: &str,
    ) -> (StatusCode, serde_json::Value, Option<String>) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = app(st.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json, location)
    }

    async fn get(path: &str) -> (StatusCode, serde_json::Value) {
        let (s, j, _) = call(&state(), "GET", path, "").await;
        (s, j)
    }

    /// What Kafka Connect's JAX-RS resources accept, and clients send: a
    /// Python client's `True`/`False`, trailing slashes, unknown
    /// parameters, repeated `expand`.
    #[tokio::test]
    async fn parameters_read_as_kafka_connect_reads_them() {
        let st = state();
        let body = r#"{"name":"src","config":{"connector.class":"FileStreamSource","topic":"t","file":"/nonexistent"},"initial_state":"STOPPED"}"#;
        let (code, json, _) = call(&st, "POST", "/connectors/", body).await;
        assert_eq!(code, StatusCode::CREATED, "{json}");
        let (code, json, _) = call(&st, "GET", "/connectors/?unknown=1", "").await;
        assert_eq!((code, json), (StatusCode::OK, serde_json::json!(["src"])));
        let (code, json, _) = call(&st, "GET", "/connectors/src/status/", "").await;
        assert_eq!(code, StatusCode::OK, "{json}");
        assert_eq!(json["connector"]["state"], "STOPPED");
        let (_, json, _) = call(&st, "GET", "/connectors/?expand=status&expand=info", "").await;
        assert_eq!(json["src"]["info"]["type"], "source");
        // Python's str(True) / str(False): 202 with what restarts, as
        // includeTasks=true&onlyFailed=false gives.
        let (code, json, _) = call(
            &st,
            "POST",
            "/connectors/src/restart?includeTasks=True&onlyFailed=False",
            "",
        )
        .await;
        assert_eq!(code, StatusCode::ACCEPTED, "{json}");
        assert_eq!(json["name"], "src");
        // Anything but "true" is false: both false restarts the connector
        // only, 204.
        let (code, _, _) = call(
            &st,
            "POST",
            "/connectors/src/restart?includeTasks=yes&onlyFailed=0&extra=1",
            "",
        )
        .await;
        assert_eq!(code, StatusCode::NO_CONTENT);
        // connectorsOnly defaults to true; "False" lists transforms too.
        let (_, only) = get("/connector-plugins").await;
        let (_, all) = get("/connector-plugins/?connectorsOnly=False").await;
        let types = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|p| p["type"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        assert!(!types(&only).iter().any(|t| t == "transformation"));
        assert!(types(&all).iter().any(|t| t == "transformation"));
        let (code, root) = get("/").await;
        assert_eq!(code, StatusCode::OK);
        assert!(root["version"].is_string(), "{root}");
    }

    /// What a walk of Kafka Connect's resources (`ConnectorsResource`,
    /// `ConnectorPluginsResource`, `LoggingResource`) found that clients
    /// rely on.
    #[tokio::test]
    async fn routes_answer_as_kafka_connect_resources_do() {
        let st = state();
        // initial_state in any case (InitialState.forValue upper-cases).
        let body = r#"{"name":"a b","config":{"connector.class":"FileStreamSource","topic":"t","file":"/nonexistent"},"initial_state":"paused"}"#;
        let (code, json, loc) = call(&st, "POST", "/connectors", body).await;
        assert_eq!(code, StatusCode::CREATED, "{json}");
        // The Location is percent-encoded.
        assert_eq!(loc.as_deref(), Some("/connectors/a%20b"));
        let (_, json, _) = call(&st, "GET", "/connectors/a%20b/status", "").await;
        assert_eq!(json["connector"]["state"], "PAUSED");
        let body = r#"{"name":"x","config":{"connector.class":"FileStreamSource","topic":"t","file":"/f"},"initial_state":"sleeping"}"#;
        let (code, json, _) = call(&st, "POST", "/connectors", body).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{json}");
        assert!(
            json["message"].as_str().unwrap().contains("initial_state"),
            "{json}"
        );
        // Control characters in a name: 400, and nothing is created.
        let body = r#"{"name":"ab","config":{"connector.class":"FileStreamSource","topic":"t","file":"/f"}}"#;
        let (code, json, _) = call(&st, "POST", "/connectors", body).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{json}");
        assert!(
            json["message"].as_str().unwrap().contains("control"),
            "{json}"
        );
        let (code, _, _) = call(
            &st,
            "PUT",
            "/connectors/a%01b/config",
            r#"{"connector.class":"FileStreamSource","topic":"t","file":"/f"}"#,
        )
        .await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        let (_, json, _) = call(&st, "GET", "/connectors", "").await;
        assert_eq!(json, serde_json::json!(["a b"]));
        // Any expand gives the map, even with no value it knows.
        let (_, json, _) = call(&st, "GET", "/connectors?expand=bogus", "").await;
        assert_eq!(json, serde_json::json!({"a b": {}}));
        let (_, json, _) = call(&st, "GET", "/connectors?expand=info&expand=info", "").await;
        assert_eq!(json["a b"]["info"]["name"], "a b");
        // Stop is 204 (a void resource method); pause and resume 202.
        let (code, _, _) = call(&st, "PUT", "/connectors/a%20b/stop", "").await;
        assert_eq!(code, StatusCode::NO_CONTENT);
        let (code, _, _) = call(&st, "PUT", "/connectors/a%20b/resume", "").await;
        assert_eq!(code, StatusCode::ACCEPTED);
        let (code, _, _) = call(&st, "PUT", "/connectors/a%20b/pause", "").await;
        assert_eq!(code, StatusCode::ACCEPTED);
        // Repeated parameters: the first counts (JAX-RS), no 400.
        let (code, json, _) = call(
            &st,
            "POST",
            "/connectors/a%20b/restart?includeTasks=true&includeTasks=false",
            "",
        )
        .await;
        assert_eq!(code, StatusCode::ACCEPTED, "{json}");
        // An unknown plugin's config definition: 404, Kafka's message.
        let (code, json, _) = call(&st, "GET", "/connector-plugins/Bogus/config", "").await;
        assert_eq!(
            (code, json),
            (
                StatusCode::NOT_FOUND,
                serde_json::json!({"error_code": 404, "message": "Unknown plugin Bogus."})
            )
        );
        // Loggers: last_modified null until set; log4j level names in any
        // case; an unknown level is 404; root in any case.
        let (_, json, _) = call(&st, "GET", "/admin/loggers/root", "").await;
        assert_eq!(
            json,
            serde_json::json!({"level": "INFO", "last_modified": null})
        );
        let (code, json, _) = call(&st, "PUT", "/admin/loggers/ROOT", r#"{"level":"loud"}"#).await;
        assert_eq!(
            (code, json),
            (
                StatusCode::NOT_FOUND,
                serde_json::json!({"error_code": 404, "message": "invalid log level 'loud'."})
            )
        );
        let (code, json, _) = call(
            &st,
            "PUT",
            "/admin/loggers/sluice_runtime",
            r#"{"level":"fatal"}"#,
        )
        .await;
        assert_eq!(
            (code, json),
            (StatusCode::OK, serde_json::json!(["sluice_runtime"]))
        );
        let (_, json, _) = call(&st, "GET", "/admin/loggers/sluice_runtime", "").await;
        assert_eq!(json["level"], "ERROR");
        assert!(json["last_modified"].is_u64(), "{json}");
        // scope=cluster (any case) answers 204 without a body; a standalone
        // worker is the whole cluster, so the level is set here.
        let (code, json, _) = call(
            &st,
            "PUT",
            "/admin/loggers/sluice_runtime?scope=Cluster",
            r#"{"level":"debug"}"#,
        )
        .await;
        assert_eq!(
            (code, json),
            (StatusCode::NO_CONTENT, serde_json::Value::Null)
        );
        let (_, json, _) = call(&st, "GET", "/admin/loggers/sluice_runtime", "").await;
        assert_eq!(json["level"], "DEBUG");
        // An unknown level is refused before anything is written.
        let (code, _, _) = call(
            &st,
            "PUT",
            "/admin/loggers/sluice_runtime?scope=cluster",
            r#"{"level":"loud"}"#,
        )
        .await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        // An unknown scope is the worker scope: the changed loggers.
        let (code, json, _) = call(
            &st,
            "PUT",
            "/admin/loggers/sluice_runtime?scope=galaxy",
            r#"{"level":"warn"}"#,
        )
        .await;
        assert_eq!(
            (code, json),
            (StatusCode::OK, serde_json::json!(["sluice_runtime"]))
        );
    }

    /// `connector.client.config.override.policy` (default None here) on
    /// create and on validate; code-loading client keys under any policy.
    #[tokio::test]
    async fn client_overrides_follow_the_policy() {
        let body = |extra: &str| {
            format!(
                r#"{{"name":"o","config":{{"connector.class":"FileStreamSource","topic":"t","file":"/nonexistent"{extra}}},"initial_state":"STOPPED"}}"#
            )
        };
        let st = state();
        let (code, json, _) = call(
            &st,
            "POST",
            "/connectors",
            &body(r#","producer.override.linger.ms":"50""#),
        )
        .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{json}");
        let msg = json["message"].as_str().unwrap();
        assert!(
            msg.contains("The 'None' policy does not allow 'linger.ms' to be overridden in the connector configuration."),
            "{msg}"
        );
        let (code, json, _) = call(
            &st,
            "PUT",
            "/connector-plugins/FileStreamSource/config/validate",
            r#"{"name":"o","topic":"t","file":"/x","producer.override.linger.ms":"50"}"#,
        )
        .await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(json["error_count"], 1, "{json}");
        let entry = json["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == "producer.override.linger.ms")
            .unwrap();
        assert_eq!(entry["value"]["value"], "50");
        assert!(
            entry["value"]["errors"][0]
                .as_str()
                .unwrap()
                .contains("'None' policy")
        );

        let all = state_with(&[("connector.client.config.override.policy", "All")]);
        let (code, json, _) = call(
            &all,
            "POST",
            "/connectors",
            &body(r#","producer.override.linger.ms":"50""#),
        )
        .await;
        assert_eq!(code, StatusCode::CREATED, "{json}");
        let (code, json, _) = call(
            &all,
            "POST",
            "/connectors",
            &body(r#","consumer.override.plugin.library.paths":"/tmp/evil.so""#)
                .replace(r#""name":"o""#, r#""name":"o2""#),
        )
        .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{json}");
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("'plugin.library.paths' cannot be overridden"),
            "{json}"
        );
    }

    #[tokio::test]
    async fn connector_lifecycle_without_tasks() {
        let st = state();
        let body = r#"{"name":"src","config":{"connector.class":"FileStreamSource","topic":"t","file":"/nonexistent","tasks.max":1},"initial_state":"STOPPED"}"#;
        let (code, json, loc) = call(&st, "POST", "/connectors", body).await;
        assert_eq!(code, StatusCode::CREATED, "{json}");
        assert_eq!(loc.as_deref(), Some("/connectors/src"));
        assert_eq!(json["name"], "src");
        assert_eq!(json["type"], "source");
        assert_eq!(json["config"]["tasks.max"], "1");
        assert_eq!(json["config"]["name"], "src");
        assert_eq!(json["tasks"], serde_json::json!([]));

        let (code, json, _) = call(&st, "POST", "/connectors", body).await;
        assert_eq!(
            (code, json),
            (
                StatusCode::CONFLICT,
                serde_json::json!({"error_code":409,"message":"Connector src already exists"})
            )
        );

        let (code, json, _) = call(&st, "GET", "/connectors", "").await;
        assert_eq!((code, json), (StatusCode::OK, serde_json::json!(["src"])));
        let (_, json, _) = call(&st, "GET", "/connectors/src/status", "").await;
        assert_eq!(json["connector"]["state"], "STOPPED");
        assert_eq!(json["tasks"], serde_json::json!([]));
        let (_, json, _) = call(&st, "GET", "/connectors?expand=status&expand=info", "").await;
        assert_eq!(json["src"]["status"]["connector"]["state"], "STOPPED");
        assert_eq!(json["src"]["info"]["type"], "source");
        let (_, json, _) = call(&st, "GET", "/connectors/src/config", "").await;
        assert_eq!(json["topic"], "t");
        let (code, json, _) = call(&st, "GET", "/connectors/src/tasks", "").await;
        assert_eq!((code, json), (StatusCode::OK, serde_json::json!([])));

        // PUT config on an existing connector updates it (200), keeping STOPPED.
        let (code, json, _) = call(
            &st,
            "PUT",
            "/connectors/src/config",
            r#"{"connector.class":"FileStreamSource","topic":"t2","file":"/nonexistent"}"#,
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{json}");
        assert_eq!(json["config"]["topic"], "t2");
        let (_, json, _) = call(&st, "GET", "/connectors/src/status", "").await;
        assert_eq!(json["connector"]["state"], "STOPPED");

        let (code, json, _) = call(
            &st,
            "PUT",
            "/connectors/src/config",
            r#"{"name":"other","connector.class":"FileStreamSource","topic":"t"}"#,
        )
        .await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert_eq!(
            json["message"],
            "Connector name configuration (other) doesn't match connector name in the URL (src)"
        );

        let (code, _, _) = call(&st, "DELETE", "/connectors/src", "").await;
        assert_eq!(code, StatusCode::NO_CONTENT);
        let (code, json, _) = call(&st, "GET", "/connectors/src", "").await;
        assert_eq!(
            (code, json),
            (
                StatusCode::NOT_FOUND,
                serde_json::json!({"error_code":404,"message":"Connector src not found"})
            )
        );
        for (method, path) in [
            ("PUT", "/connectors/src/pause"),
            ("PUT", "/connectors/src/resume"),
            ("PUT", "/connectors/src/stop"),
            ("POST", "/connectors/src/restart"),
            ("DELETE", "/connectors/src"),
            ("GET", "/connectors/src/tasks"),
        ] {
            let (code, json, _) = call(&st, method, path, "").await;
            assert_eq!(code, StatusCode::NOT_FOUND, "{method} {path}: {json}");
            assert_eq!(json["error_code"], 404);
        }
    }

    #[tokio::test]
    async fn bad_requests_get_the_error_body() {
        let st = state();
        let (code, json, _) = call(&st, "POST", "/connectors", r#"{"name": "x", "config": "#).await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert!(
            json["message"].as_str().unwrap().contains("line 1 column"),
            "{json}"
        );
        let (code, json, _) = call(&st, "POST", "/connectors", r#"{"config":{}}"#).await;
        assert_eq!(
            (code, json["error_code"].clone()),
            (StatusCode::BAD_REQUEST, serde_json::json!(400))
        );
        let (code, json, _) = call(
            &st,
            "POST",
            "/connectors",
            r#"{"name":"x","config":{"connector.class":"FileStreamSource","tasks.max":"x"}}"#,
        )
        .await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        let msg = json["message"].as_str().unwrap();
        assert!(
            msg.contains("tasks.max") && msg.contains("Missing required configuration \"topic\""),
            "{msg}"
        );
        let (code, json, _) = call(
            &st,
            "POST",
            "/connectors",
            r#"{"name":"x","config":{"connector.class":"com.acme.Nope"}}"#,
        )
        .await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("FileStreamSinkConnector"),
            "{json}"
        );
        let (code, json, _) = call(&st, "DELETE", "/connectors", "").await;
        assert_eq!(
            (code, json),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                serde_json::json!({"error_code":405,"message":"HTTP 405 Method Not Allowed"})
            )
        );
        assert!(
            call(&st, "GET", "/connectors", "").await.1 == serde_json::json!([]),
            "nothing half-created"
        );
    }

    #[tokio::test]
    async fn patch_merges_and_null_removes() {
        let st = state();
        let body = r#"{"name":"p","config":{"connector.class":"FileStreamSource","topic":"t","file":"/x","batch.size":"5"},"initial_state":"STOPPED"}"#;
        assert_eq!(
            call(&st, "POST", "/connectors", body).await.0,
            StatusCode::CREATED
        );
        let (code, json, _) = call(
            &st,
            "PATCH",
            "/connectors/p/config",
            r#"{"topic":"t9","batch.size":null}"#,
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{json}");
        assert_eq!(json["config"]["topic"], "t9");
        assert!(json["config"].get("batch.size").is_none(), "{json}");
        let (code, json, _) = call(&st, "PATCH", "/connectors/p/config", r#"{"topic":null}"#).await;
        assert_eq!(
            code,
            StatusCode::BAD_REQUEST,
            "an invalid result is refused: {json}"
        );
        let (_, json, _) = call(&st, "GET", "/connectors/p/config", "").await;
        assert_eq!(json["topic"], "t9", "nothing half-applied");
        assert_eq!(
            call(&st, "PATCH", "/connectors/nope/config", "{}").await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn health_and_plugin_config() {
        // No broker answers: started, but unhealthy (KIP-1017 shape).
        let (code, json) = get("/health").await;
        assert_eq!(
            (code, json["status"].clone()),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!("unhealthy")
            )
        );
        assert!(
            json["message"]
                .as_str()
                .is_some_and(|m| m.contains("cannot reach Kafka at")),
            "{json}"
        );
        let (code, json) = get("/health/live").await;
        assert_eq!(
            (code, json["status"].clone()),
            (StatusCode::OK, serde_json::json!("live"))
        );
        let (code, json) = get("/connector-plugins/FileStreamSource/config").await;
        assert_eq!(code, StatusCode::OK);
        let topic = json
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == "topic")
            .unwrap();
        assert_eq!(topic["type"], "STRING");
        assert_eq!(topic["required"], true);
        assert_eq!(topic["importance"], "HIGH");
        let (code, json) = get("/connector-plugins/com.acme.Nope/config").await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        assert_eq!(json["message"], "Unknown plugin com.acme.Nope.");
    }

    #[tokio::test]
    async fn validate_reports_every_key() {
        let st = state();
        let path = "/connector-plugins/FileStreamSinkConnector/config/validate";
        let (code, json, _) = call(&st, "PUT", path, r#"{"name":"v","tasks.max":"x"}"#).await;
        assert_eq!(code, StatusCode::OK, "{json}");
        assert_eq!(
            json["name"],
            "org.apache.kafka.connect.file.FileStreamSinkConnector"
        );
        assert_eq!(json["error_count"], 2, "tasks.max and topics: {json}");
        // Kafka Connect's groups, in its order.
        assert_eq!(
            json["groups"],
            serde_json::json!([
                "Common",
                "Transforms",
                "Predicates",
                "Error Handling",
                "Anomaly Detection"
            ])
        );
        let entry = |n: &str| {
            json["configs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["definition"]["name"] == n)
                .cloned()
                .unwrap()
        };
        assert_eq!(entry("tasks.max")["value"]["value"], "x");
        assert_eq!(
            entry("tasks.max")["value"]["errors"],
            serde_json::json!([
                "Invalid value x for configuration tasks.max: Not a number of type INT"
            ])
        );
        assert_eq!(
            entry("topics")["value"]["errors"],
            serde_json::json!(["Must configure one of topics or topics.regex"])
        );
        assert_eq!(entry("file")["value"]["errors"], serde_json::json!([]));
        let (code, json, _) = call(
            &st,
            "PUT",
            path,
            r#"{"connector.class":"FileStreamSource"}"#,
        )
        .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{json}");
        let (code, json, _) = call(&st, "PUT", path, r#"["not", "an", "object"]"#).await;
        assert_eq!(
            (code, json["error_code"].clone()),
            (StatusCode::BAD_REQUEST, serde_json::json!(400))
        );
        let (code, json, _) = call(
            &st,
            "PUT",
            path,
            r#"{"name":"v","topics":"a","file":"/tmp/x"}"#,
        )
        .await;
        assert_eq!(
            (code, json["error_count"].clone()),
            (StatusCode::OK, serde_json::json!(0))
        );
    }

    #[tokio::test]
    async fn source_offsets_api() {
        let st = state();
        let body = r#"{"name":"o","config":{"connector.class":"FileStreamSource","topic":"t","file":"/x"},"initial_state":"STOPPED"}"#;
        assert_eq!(
            call(&st, "POST", "/connectors", body).await.0,
            StatusCode::CREATED
        );
        let (code, json, _) = call(&st, "GET", "/connectors/o/offsets", "").await;
        assert_eq!(
            (code, json),
            (StatusCode::OK, serde_json::json!({"offsets": []}))
        );
        let patch = r#"{"offsets":[{"partition":{"filename":"/x"},"offset":{"position":42}}]}"#;
        let (code, json, _) = call(&st, "PATCH", "/connectors/o/offsets", patch).await;
        assert_eq!(code, StatusCode::OK, "{json}");
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("altered successfully")
        );
        let (_, json, _) = call(&st, "GET", "/connectors/o/offsets", "").await;
        assert_eq!(
            json,
            serde_json::json!({"offsets":[{"partition":{"filename":"/x"},"offset":{"position":42}}]})
        );
        let reset_one = r#"{"offsets":[{"partition":{"filename":"/x"},"offset":null}]}"#;
        assert_eq!(
            call(&st, "PATCH", "/connectors/o/offsets", reset_one)
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            call(&st, "GET", "/connectors/o/offsets", "").await.1,
            serde_json::json!({"offsets": []})
        );
        assert_eq!(
            call(&st, "PATCH", "/connectors/o/offsets", patch).await.0,
            StatusCode::OK
        );
        let (code, json, _) = call(&st, "DELETE", "/connectors/o/offsets", "").await;
        assert_eq!(code, StatusCode::OK);
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("reset successfully")
        );
        assert_eq!(
            call(&st, "GET", "/connectors/o/offsets", "").await.1,
            serde_json::json!({"offsets": []})
        );
        assert_eq!(
            call(&st, "PATCH", "/connectors/o/offsets", r#"{"offsets":[]}"#)
                .await
                .0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            call(&st, "GET", "/connectors/zz/offsets", "").await.0,
            StatusCode::NOT_FOUND
        );

        // Only while STOPPED.
        let body = r#"{"name":"q","config":{"connector.class":"FileStreamSource","topic":"t","file":"/x"},"initial_state":"PAUSED"}"#;
        assert_eq!(
            call(&st, "POST", "/connectors", body).await.0,
            StatusCode::CREATED
        );
        let (code, json, _) = call(&st, "DELETE", "/connectors/q/offsets", "").await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert!(
            json["message"].as_str().unwrap().contains("STOPPED state"),
            "{json}"
        );
    }

    #[tokio::test]
    async fn loggers() {
        let st = state();
        let (code, json, _) = call(&st, "GET", "/admin/loggers", "").await;
        assert_eq!(
            (code, json),
            (
                StatusCode::OK,
                serde_json::json!({"root": {"level": "INFO", "last_modified": null}})
            )
        );
        let (code, json, _) = call(
            &st,
            "PUT",
            "/admin/loggers/sluice_runtime::sink",
            r#"{"level":"DEBUG"}"#,
        )
        .await;
        assert_eq!(
            (code, json),
            (StatusCode::OK, serde_json::json!(["sluice_runtime::sink"]))
        );
        let (_, json, _) = call(&st, "GET", "/admin/loggers/sluice_runtime::sink", "").await;
        assert_eq!(json["level"], "DEBUG");
        assert!(json["last_modified"].is_u64(), "{json}");
        assert_eq!(
            call(&st, "GET", "/admin/loggers/nope", "").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&st, "PUT", "/admin/loggers/x", r#"{"level":"LOUD"}"#)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&st, "PUT", "/admin/loggers/x", r#"{}"#).await.0,
            StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn oversized_body_is_413_with_the_error_body() {
        let st = state();
        let big = format!(
            r#"{{"name":"x","config":{{"pad":"{}"}}}}"#,
            "a".repeat(MAX_BODY_BYTES + 10)
        );
        let (code, json, _) = call(&st, "POST", "/connectors", &big).await;
        assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(json["error_code"], 413);
    }

    #[tokio::test]
    async fn every_documented_endpoint_is_routed() {
        let st = state();
        let (code, doc, _) = call(&st, "GET", "/openapi.json", "").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["paths"].as_object().unwrap().len(), 23);
        for (method, path, ..) in openapi::OPERATIONS {
            let concrete = path
                .replace("{name}", "nope")
                .replace("{task}", "0")
                .replace("{plugin}", "FileStreamSource")
                .replace("{logger}", "root");
            let (code, json, _) = call(&st, &method.to_uppercase(), &concrete, "{}").await;
            assert_ne!(code, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(
                json["message"], "HTTP 404 Not Found",
                "{method} {path} is not routed"
            );
            assert!(
                doc["paths"][*path][*method]["responses"].is_object(),
                "{method} {path}"
            );
        }
    }

    /// Every documented route, called with no credentials, wrong ones, and
    /// as each role (bound on the cluster): 401, 401, then 403 exactly
    /// where the role table says the role may not, never for anonymous
    /// routes; and the document declares what each route needs.
    #[tokio::test]
    async fn every_route_follows_the_role_table() {
        let dir = tempfile::tempdir().unwrap();
        let roles = [
            "SystemAdmin",
            "ResourceOwner",
            "DeveloperManage",
            "DeveloperWrite",
            "DeveloperRead",
            "Operator",
        ];
        // The table in the README, written out again.
        let allowed = |role: &str, op: &str| -> bool {
            let ops: &[&str] = match role {
                "SystemAdmin" => &[
                    "read-status",
                    "read-config",
                    "create",
                    "configure",
                    "operate",
                    "alter-offsets",
                    "delete",
                    "loggers",
                    "rotate-secrets",
                ],
                "ResourceOwner" => &[
                    "read-status",
                    "read-config",
                    "create",
                    "configure",
                    "operate",
                    "alter-offsets",
                    "delete",
                ],
                "DeveloperManage" => &[
                    "read-status",
                    "read-config",
                    "create",
                    "configure",
                    "delete",
                ],
                "DeveloperWrite" => &["read-status", "read-config", "create", "configure"],
                "DeveloperRead" => &["read-status", "read-config"],
                _ => &["read-status", "operate"],
            };
            ops.contains(&op)
        };
        let creds = dir.path().join("creds.properties");
        let bindings = dir.path().join("roles.properties");
        std::fs::write(
            &creds,
            roles
                .iter()
                .map(|r| format!("{r}=pw\n"))
                .collect::<String>(),
        )
        .unwrap();
        std::fs::write(
            &bindings,
            roles
                .iter()
                .map(|r| format!("{r}={r}\n"))
                .collect::<String>(),
        )
        .unwrap();
        let st = state_with(&[
            (
                "rest.auth.basic.credentials.file",
                &creds.display().to_string(),
            ),
            ("rest.auth.roles.file", &bindings.display().to_string()),
        ]);
        let basic = |u: &str, p: &str| {
            use base64::Engine;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        };
        let doc = openapi::document();
        for (method, path, ..) in openapi::OPERATIONS {
            let concrete = path
                .replace("{name}", "c")
                .replace("{task}", "0")
                .replace("{plugin}", "FileStreamSource")
                .replace("{logger}", "root");
            // Written out here, not read from the code under test.
            let op = match (*method, *path) {
                ("get", "/" | "/health") => "anonymous",
                ("post", "/connectors") => "create",
                ("get", "/connectors/{name}" | "/connectors/{name}/config") => "read-config",
                ("get", "/connectors/{name}/tasks" | "/connectors/{name}/offsets") => "read-config",
                ("put" | "patch", "/connectors/{name}/config") => "configure",
                ("delete", "/connectors/{name}") => "delete",
                (
                    "get",
                    "/connectors/{name}/status"
                    | "/connectors/{name}/tasks/{task}/status"
                    | "/connectors/{name}/topics",
                ) => "read-status",
                (
                    "post",
                    "/connectors/{name}/restart" | "/connectors/{name}/tasks/{task}/restart",
                ) => "operate",
                (
                    "put",
                    "/connectors/{name}/pause"
                    | "/connectors/{name}/resume"
                    | "/connectors/{name}/stop",
                ) => "operate",
                ("patch" | "delete", "/connectors/{name}/offsets") => "alter-offsets",
                ("put", "/connectors/{name}/topics/reset") => "alter-offsets",
                (_, "/admin/loggers" | "/admin/loggers/{logger}") => "loggers",
                ("post", "/admin/secrets/rotate") => "rotate-secrets",
                (
                    _,
                    "/connectors"
                    | "/connector-plugins"
                    | "/connector-plugins/{plugin}/config"
                    | "/connector-plugins/{plugin}/config/validate"
                    | "/openapi.json",
                ) => "authenticated",
                other => panic!("no expected operation for {other:?}"),
            }
            .to_string();
            assert_eq!(
                doc["paths"][*path][*method]["x-sluice-operation"], op,
                "{method} {path} is documented with another operation"
            );
            let m = method.to_uppercase();
            let send = |auth: Option<String>| {
                let mut b = Request::builder()
                    .method(m.as_str())
                    .uri(concrete.as_str())
                    .header("content-type", "application/json");
                if let Some(a) = auth {
                    b = b.header("authorization", a);
                }
                let req = b.body(Body::from("{}")).unwrap();
                let st = st.clone();
                async move { app(st).oneshot(req).await.unwrap().status() }
            };
            if op == "anonymous" || op.starts_with("internal") {
                assert_ne!(send(None).await, StatusCode::UNAUTHORIZED, "{m} {path}");
                assert_eq!(
                    doc["paths"][*path][*method]["security"],
                    serde_json::json!([])
                );
                continue;
            }
            assert_eq!(send(None).await, StatusCode::UNAUTHORIZED, "{m} {path}");
            assert_eq!(
                send(Some(basic("SystemAdmin", "wrong"))).await,
                StatusCode::UNAUTHORIZED,
                "{m} {path}"
            );
            for role in roles {
                let code = send(Some(basic(role, "pw"))).await;
                let want_forbidden = op != "authenticated" && !allowed(role, &op);
                assert_eq!(
                    code == StatusCode::FORBIDDEN,
                    want_forbidden,
                    "{role} {m} {path} ({op}): {code}"
                );
                assert_ne!(code, StatusCode::UNAUTHORIZED, "{role} {m} {path}");
            }
        }
    }

    #[tokio::test]
    async fn concurrent_config_writes_apply_one_after_the_other() {
        let st = state();
        let make = |topic: &str| {
            format!(r#"{{"connector.class":"FileStreamSource","topic":"{topic}","file":"/x"}}"#)
        };
        let body = r#"{"name":"c","config":{"connector.class":"FileStreamSource","topic":"t0","file":"/x"},"initial_state":"STOPPED"}"#;
        assert_eq!(
            call(&st, "POST", "/connectors", body).await.0,
            StatusCode::CREATED
        );
        let (a, b) = (make("ta"), make("tb"));
        let (ra, rb) = tokio::join!(
            call(&st, "PUT", "/connectors/c/config", &a),
            call(&st, "PUT", "/connectors/c/config", &b)
        );
        assert_eq!((ra.0, rb.0), (StatusCode::OK, StatusCode::OK));
        // Each answer shows its own write fully applied; the final config is
        // exactly one of them.
        assert_eq!(ra.1["config"]["topic"], "ta");
        assert_eq!(rb.1["config"]["topic"], "tb");
        let (_, cfg, _) = call(&st, "GET", "/connectors/c/config", "").await;
        assert!(cfg["topic"] == "ta" || cfg["topic"] == "tb", "{cfg}");
        let (_, tasks, _) = call(&st, "GET", "/connectors/c/tasks", "").await;
        assert_eq!(
            tasks,
            serde_json::json!([]),
            "STOPPED: no tasks of either version"
        );
    }

    #[tokio::test]
    async fn health_is_503_while_starting() {
        let st = state();
        st.started
            .store(false, std::sync::atomic::Ordering::Release);
        let (code, json, _) = call(&st, "GET", "/health", "").await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(json["status"], "starting");
        assert!(json["message"].is_string());
    }

    #[tokio::test]
    async fn plugins() {
        let (code, json) = get("/connector-plugins").await;
        assert_eq!(code, StatusCode::OK);
        let classes: Vec<&str> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["class"].as_str().unwrap())
            .collect();
        assert!(classes.contains(&"org.apache.kafka.connect.file.FileStreamSourceConnector"));
        assert_eq!(json[0]["type"], "source");
        let (_, json) = get("/connector-plugins?connectorsOnly=false").await;
        assert!(
            json.as_array()
                .unwrap()
                .iter()
                .any(|p| p["type"] == "converter")
        );
    }

    #[tokio::test]
    async fn kafka_connect_shapes() {
        let (code, body) = get("/").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body["version"], crate::VERSION);
        assert!(body["kafka_cluster_id"].is_null());

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
