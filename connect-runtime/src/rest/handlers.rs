use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sluice_connect_api::Config;

use super::body;
use super::{ApiError, RestState};
use crate::herder::ConnectorInfo;
use crate::state::TargetState;
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

#[derive(Debug, Serialize)]
pub(crate) struct TaskId {
    connector: String,
    task: u32,
}

/// Kafka Connect's `ConnectorInfo` JSON.
#[derive(Debug, Serialize)]
pub(crate) struct InfoBody {
    name: String,
    config: Config,
    tasks: Vec<TaskId>,
    #[serde(rename = "type")]
    connector_type: &'static str,
}

impl InfoBody {
    /// The info as REST shows it: secrets as `[hidden]`.
    fn shown(s: &RestState, mut i: ConnectorInfo) -> Self {
        i.config = crate::secrets::mask(&s.herder.worker().registry, &i.config);
        Self::from(i)
    }
}

impl From<ConnectorInfo> for InfoBody {
    fn from(i: ConnectorInfo) -> Self {
        Self {
            tasks: i
                .tasks
                .iter()
                .map(|(id, _)| TaskId {
                    connector: i.name.clone(),
                    task: *id,
                })
                .collect(),
            name: i.name,
            config: i.config,
            connector_type: i.connector_type,
        }
    }
}

/// `?expand=status&expand=info` (repeated) for `GET /connectors`: `None`
/// without any `expand`; with one, a map even when no value is known (as
/// Kafka Connect answers `?expand=bogus`).
fn expands(query: Option<&str>) -> Option<(bool, bool)> {
    let values = super::query::all(query, "expand");
    if values.is_empty() {
        return None;
    }
    Some((
        values.iter().any(|v| v == "status"),
        values.iter().any(|v| v == "info"),
    ))
}

pub(crate) async fn list_connectors(
    State(s): State<Arc<RestState>>,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let names = s.herder.connector_names().await;
    let Some((with_status, with_info)) = expands(uri.query()) else {
        return Ok(Json(names).into_response());
    };
    let mut out = serde_json::Map::new();
    for name in names {
        let mut entry = serde_json::Map::new();
        if with_status && let Some(st) = s.herder.status(&name) {
            entry.insert(
                "status".into(),
                serde_json::to_value(st).unwrap_or_default(),
            );
        }
        if with_info && let Ok(info) = s.herder.info(&name).await {
            entry.insert(
                "info".into(),
                serde_json::to_value(InfoBody::shown(&s, info)).unwrap_or_default(),
            );
        }
        out.insert(name, serde_json::Value::Object(entry));
    }
    Ok(Json(out).into_response())
}

#[derive(Debug, Deserialize)]
struct CreateRequest {
    name: Option<String>,
    config: Option<serde_json::Value>,
    initial_state: Option<String>,
}

/// `initial_state` in any case, as Kafka Connect's `InitialState.forValue`
/// reads it (`STARTED`, the config topic's name for RUNNING, too).
fn initial_state(text: &str) -> Result<TargetState, ApiError> {
    match text.trim().to_ascii_uppercase().as_str() {
        "RUNNING" | "STARTED" => Ok(TargetState::Running),
        "PAUSED" => Ok(TargetState::Paused),
        "STOPPED" => Ok(TargetState::Stopped),
        _ => Err(ApiError::bad_request(format!(
            "Invalid initial_state '{text}': expected RUNNING, PAUSED or STOPPED"
        ))),
    }
}

/// A path segment percent-encoded (everything but RFC 3986's unreserved
/// characters), for the `Location` of a created connector.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Kafka Connect's `name` validator refuses control characters.
fn no_control_chars(name: &str) -> Result<(), ApiError> {
    let controls: Vec<String> = name
        .chars()
        .filter(|c| c.is_control())
        .map(|c| u32::from(c).to_string())
        .collect();
    if controls.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "Connector name {name:?} may not contain control sequences but had the following ASCII chars: {}",
        controls.join(", ")
    )))
}

fn location(name: &str) -> (header::HeaderName, String) {
    (
        header::LOCATION,
        format!("/connectors/{}", encode_segment(name)),
    )
}

fn check_name(name: &str, config: &mut Config) -> Result<(), ApiError> {
    match config.get("name") {
        Some(n) if n.trim() != name => Err(ApiError::bad_request(format!(
            "Connector name configuration ({}) doesn't match connector name in the URL ({name})",
            n.trim()
        ))),
        _ => {
            config.insert("name".to_string(), name.to_string());
            Ok(())
        }
    }
}

pub(crate) async fn create_connector(
    State(s): State<Arc<RestState>>,
    body::RawBody(bytes): body::RawBody,
) -> Result<Response, ApiError> {
    let req: CreateRequest = body::parse(&bytes)?;
    let name = req
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("Connector name must be provided in the request body")
        })?;
    if name.contains('/') {
        return Err(ApiError::bad_request(format!(
            "Connector name {name} must not contain '/'"
        )));
    }
    no_control_chars(&name)?;
    let initial = req
        .initial_state
        .as_deref()
        .map(initial_state)
        .transpose()?;
    let mut config = body::config(
        req.config
            .unwrap_or(serde_json::Value::Object(Default::default())),
    )?;
    check_name(&name, &mut config)?;
    crate::secrets::restore_hidden(&s.herder.worker().registry, &mut config, None)
        .map_err(ApiError::bad_request)?;
    let (_, info) = s
        .herder
        .put_connector(
            &name,
            config,
            Some(initial.unwrap_or(TargetState::Running)),
            false,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        [location(&name)],
        Json(InfoBody::shown(&s, info)),
    )
        .into_response())
}

pub(crate) async fn get_connector(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<Json<InfoBody>, ApiError> {
    Ok(Json(InfoBody::shown(&s, s.herder.info(&name).await?)))
}

pub(crate) async fn get_config(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<Json<Config>, ApiError> {
    let config = s.herder.info(&name).await?.config;
    Ok(Json(crate::secrets::mask(
        &s.herder.worker().registry,
        &config,
    )))
}

/// Kafka Connect's internal endpoint: the worker running a connector
/// hands the leader its task configs (a JSON array of objects).
pub(crate) async fn put_task_configs(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    body::RawBody(bytes): body::RawBody,
) -> Result<StatusCode, ApiError> {
    // Checked on whichever worker gets it, before anything else: every
    // worker has read the same session key (KIP-507).
    if let Some(crate::herder::InternalKey(key)) = s.herder.internal_request_key() {
        use crate::distributed::session_key::{self, Refusal};
        let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
        session_key::verify(
            key.as_ref(),
            header(session_key::SIGNATURE_HEADER),
            header(session_key::ALGORITHM_HEADER),
            &name,
            &bytes,
        )
        .map_err(|r| match r {
            Refusal::Missing(m) => ApiError::bad_request(m),
            Refusal::Invalid(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            Refusal::NoKey(m) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, m),
        })?;
    }
    let v: serde_json::Value = body::parse(&bytes)?;
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::bad_request("task configs must be a JSON array of objects"))?;
    let configs = arr
        .iter()
        .map(|c| body::config(c.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    s.herder.put_task_configs(&name, configs).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn put_config(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
    body::RawBody(bytes): body::RawBody,
) -> Result<Response, ApiError> {
    no_control_chars(&name)?;
    let mut config = body::config(body::parse(&bytes)?)?;
    check_name(&name, &mut config)?;
    let stored = s.herder.info(&name).await.ok().map(|i| i.config);
    crate::secrets::restore_hidden(&s.herder.worker().registry, &mut config, stored.as_ref())
        .map_err(ApiError::bad_request)?;
    let (created, info) = s.herder.put_connector(&name, config, None, true).await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    if created {
        return Ok((code, [location(&name)], Json(InfoBody::shown(&s, info))).into_response());
    }
    Ok((code, Json(InfoBody::shown(&s, info))).into_response())
}

/// Merges keys into the config; a `null` value removes the key.
pub(crate) async fn patch_config(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
    body::RawBody(bytes): body::RawBody,
) -> Result<Json<InfoBody>, ApiError> {
    let patch: serde_json::Value = body::parse(&bytes)?;
    let serde_json::Value::Object(patch) = patch else {
        return Err(ApiError::bad_request(
            "Connector config patch must be a JSON object",
        ));
    };
    let mut changes = std::collections::BTreeMap::new();
    let mut sets = serde_json::Map::new();
    for (k, v) in patch {
        if v.is_null() {
            changes.insert(k, None);
        } else {
            sets.insert(k, v);
        }
    }
    let mut sets = body::config(serde_json::Value::Object(sets))?;
    // `[hidden]` sent back for a secret keeps the stored value.
    // A worker that has not read the connector yet leaves the answer to
    // the herder (which forwards to the leader or says 404).
    let stored = s.herder.info(&name).await.ok().map(|i| i.config);
    crate::secrets::restore_hidden(&s.herder.worker().registry, &mut sets, stored.as_ref())
        .map_err(ApiError::bad_request)?;
    for (k, v) in sets {
        changes.insert(k, Some(v));
    }
    if let Some(Some(n)) = changes.get("name")
        && n.trim() != name
    {
        return Err(ApiError::bad_request(format!(
            "Connector name configuration ({}) doesn't match connector name in the URL ({name})",
            n.trim()
        )));
    }
    let info = s.herder.patch_connector(&name, changes).await?;
    Ok(Json(InfoBody::shown(&s, info)))
}

/// `GET /health` (and `/health/ready`): Kafka Connect's KIP-1017 shape.
/// 503 `starting` until startup completed; 500 `unhealthy` when the
/// brokers do not answer, the herder does not respond, or a running task
/// stopped making progress; else 200 `healthy`.
pub(crate) async fn health(State(s): State<Arc<RestState>>) -> Response {
    if !s.started.load(std::sync::atomic::Ordering::Acquire) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "starting", "message": "Worker is still starting up."})),
        )
            .into_response();
    }
    let unhealthy = |message: String| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({"status": "unhealthy", "message": message})),
        )
            .into_response()
    };
    let worker = s.herder.worker().clone();
    if tokio::time::timeout(std::time::Duration::from_secs(10), s.herder.metas())
        .await
        .is_err()
    {
        return unhealthy("Worker was unable to handle this request and may be unable to handle other requests (the herder did not respond within 10 s).".into());
    }
    let admin = worker.admin.clone();
    let reachable =
        tokio::task::spawn_blocking(move || admin.reachable(std::time::Duration::from_secs(3)))
            .await
            .unwrap_or(false);
    if !reachable {
        return unhealthy(format!(
            "Worker cannot reach Kafka at {} (no metadata answer within 3 s).",
            worker.config.bootstrap_servers
        ));
    }
    let limit = worker.config.offset_flush_interval * 3 + std::time::Duration::from_secs(60);
    let stuck = worker.metrics.stuck_tasks(&worker.status, limit);
    if !stuck.is_empty() {
        return unhealthy(format!(
            "Tasks stopped making progress (no loop turn for {} s): {}",
            limit.as_secs(),
            stuck.join(", ")
        ));
    }
    Json(serde_json::json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."}))
        .into_response()
}

/// `GET /health/live`: the process answers HTTP (a Kubernetes liveness
/// probe); readiness is `/health/ready`, the same as `/health`.
pub(crate) async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "live"}))
}

/// `GET /metrics`: Prometheus text exposition.
pub(crate) async fn metrics(State(s): State<Arc<RestState>>) -> Response {
    let worker = s.herder.worker().clone();
    // A herder busy starting or stopping connectors must not hang scrapes.
    let metas = tokio::time::timeout(std::time::Duration::from_secs(5), s.herder.metas())
        .await
        .unwrap_or_default();
    let mut body = worker.metrics.render(&worker.status, &metas);
    if let Some(a) = &s.auth {
        body.push_str(&format!(
            "# HELP sluice_rest_authentication_failures_total REST requests refused for missing or wrong credentials.\n\
             # TYPE sluice_rest_authentication_failures_total counter\n\
             sluice_rest_authentication_failures_total {}\n",
            a.failures.load(std::sync::atomic::Ordering::Relaxed)
        ));
        body.push_str(&super::auth_watch::render(a));
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

pub(crate) async fn delete_connector(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.herder.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn connector_status(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let status: ConnectorStatus = s
        .herder
        .status(&name)
        .ok_or_else(|| ApiError::not_found(format!("No status found for connector {name}")))?;
    let mut v = serde_json::to_value(status).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render the status: {e}"),
        )
    })?;
    // Numbers tasks report about themselves (a replication slot's lag), as
    // an extra "metrics" object of the task (clients ignore extra fields).
    if let Some(tasks) = v.get_mut("tasks").and_then(serde_json::Value::as_array_mut) {
        for t in tasks {
            let Some(id) = t.get("id").and_then(serde_json::Value::as_u64) else {
                continue;
            };
            let reported = s
                .herder
                .worker()
                .metrics
                .reported(&name, u32::try_from(id).unwrap_or(u32::MAX));
            if !reported.is_empty()
                && let Some(obj) = t.as_object_mut()
            {
                let m: serde_json::Map<String, serde_json::Value> = reported
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::from(v)))
                    .collect();
                obj.insert("metrics".into(), serde_json::Value::Object(m));
            }
        }
    }
    // An extra field (Kafka Connect clients ignore it) while any flow
    // anomaly is active, so a healthy connector's status keeps Kafka
    // Connect's exact shape.
    if let (Some(anomalies), Some(obj)) = (
        s.herder.worker().metrics.flows().active(&name),
        v.as_object_mut(),
    ) && !anomalies.is_empty()
    {
        obj.insert("anomalies".into(), serde_json::Value::Array(anomalies));
    }
    Ok(Json(v))
}

#[derive(Debug, Serialize)]
pub(crate) struct TaskInfo {
    id: TaskId,
    config: Config,
}

pub(crate) async fn connector_tasks(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<Json<Vec<TaskInfo>>, ApiError> {
    let info = s.herder.info(&name).await?;
    let registry = &s.herder.worker().registry;
    Ok(Json(
        info.tasks
            .into_iter()
            .map(|(id, config)| TaskInfo {
                id: TaskId {
                    connector: name.clone(),
                    task: id,
                },
                config: crate::secrets::mask(registry, &config),
            })
            .collect(),
    ))
}

pub(crate) async fn task_status(
    State(s): State<Arc<RestState>>,
    Path((name, task)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let st = s
        .herder
        .status(&name)
        .ok_or_else(|| ApiError::not_found(format!("No status found for connector {name}")))?;
    let id: u32 = task
        .parse()
        .map_err(|_| ApiError::not_found(format!("No status found for task {name}-{task}")))?;
    let t = st
        .tasks
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found(format!("No status found for task {name}-{id}")))?;
    Ok(Json(t).into_response())
}

/// Pause and resume answer 202, stop 204 (Kafka Connect's `void`
/// `stopConnector`).
async fn set_target(
    s: &RestState,
    name: &str,
    target: TargetState,
) -> Result<StatusCode, ApiError> {
    s.herder.set_target(name, target).await?;
    Ok(if target == TargetState::Stopped {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    })
}

pub(crate) async fn pause(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    set_target(&s, &name, TargetState::Paused).await
}

pub(crate) async fn resume(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    set_target(&s, &name, TargetState::Running).await
}

pub(crate) async fn stop(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    set_target(&s, &name, TargetState::Stopped).await
}

/// Both flags false: restart the connector only, 204. Otherwise 202 with
/// the status showing what is RESTARTING. Booleans as Kafka Connect reads
/// them (`True` from a Python client is true); unknown parameters are
/// ignored.
pub(crate) async fn restart(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let include_tasks = super::query::flag(uri.query(), "includeTasks", false);
    let only_failed = super::query::flag(uri.query(), "onlyFailed", false);
    let status = s.herder.restart(&name, include_tasks, only_failed).await?;
    if !include_tasks && !only_failed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}

pub(crate) async fn restart_task(
    State(s): State<Arc<RestState>>,
    Path((name, task)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id: u32 = task
        .parse()
        .map_err(|_| ApiError::not_found(format!("Task {name}-{task} not found")))?;
    s.herder.restart_task(&name, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub(crate) struct PluginInfo {
    class: &'static str,
    #[serde(rename = "type")]
    plugin_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
}

/// `connectorsOnly` defaults to true; any value but `true` (any case) is
/// false, as `Boolean.valueOf` has it.
pub(crate) async fn connector_plugins(
    State(s): State<Arc<RestState>>,
    uri: axum::http::Uri,
) -> Json<Vec<PluginInfo>> {
    let connectors_only = super::query::flag(uri.query(), "connectorsOnly", true);
    let registry = &s.herder.worker().registry;
    let mut out: Vec<PluginInfo> = registry
        .connectors()
        .iter()
        .map(|p| PluginInfo {
            class: p.class_name,
            plugin_type: p.connector_type().as_str(),
            version: Some(p.version),
        })
        .collect();
    if !connectors_only {
        out.extend(registry.converters().iter().map(|c| PluginInfo {
            class: c.class_name,
            plugin_type: "converter",
            version: Some(crate::VERSION),
        }));
        out.extend(registry.transforms().iter().map(|t| PluginInfo {
            class: t.class_name,
            plugin_type: "transformation",
            version: Some(t.version),
        }));
        out.extend(registry.predicates().iter().map(|t| PluginInfo {
            class: t.class_name,
            plugin_type: "predicate",
            version: Some(t.version),
        }));
    }
    Json(out)
}

/// `GET /connectors/{c}/topics`: `{"<c>": {"topics": [...]}}`.
pub(crate) async fn topics(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    s.herder.info(&name).await?;
    let topics = s.herder.worker().status.topics(&name);
    Ok(Json(serde_json::json!({ name: { "topics": topics } })))
}

pub(crate) async fn reset_topics(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.herder.info(&name).await?;
    s.herder.worker().status.reset_topics(&name);
    Ok(StatusCode::ACCEPTED)
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("HTTP 404 Not Found")
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTP 405 Method Not Allowed",
    )
}
