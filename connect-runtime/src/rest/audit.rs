//! The audit log (issue 21, item 7 in part): every REST call that changes
//! something, and every call refused for its credentials or signature, as
//! one CloudEvents 1.0 JSON record — who (principal and mechanism), what
//! (operation, resource, the config key names a write touched; never their
//! values), the outcome and status, the request id and the client address.
//!
//! Written to `audit.log.file` (JSON lines) and/or `audit.log.topic` (a
//! Kafka topic, keyed by resource). `audit.log.failure.policy=block` (the
//! default) makes the call wait until its record is written and answer 503
//! when it cannot be; `drop` writes in the background and drops what
//! fails, with a warning.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};

use crate::config::worker::WorkerConfig;
use crate::kafka::{LogContext, TopicAdmin, client_config};

pub const FILE: &str = "audit.log.file";
pub const TOPIC: &str = "audit.log.topic";
pub const POLICY: &str = "audit.log.failure.policy";
/// The response header (and accepted request header) with the request id.
pub const REQUEST_ID: &str = "x-request-id";

/// One audited call.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub principal: Option<String>,
    pub mechanism: &'static str,
    pub method: String,
    pub path: String,
    pub operation: &'static str,
    pub resource: String,
    pub status: u16,
    pub request_id: String,
    pub client: Option<String>,
    pub keys: Vec<String>,
    /// Sent on by another worker (which recorded it too).
    pub forwarded: bool,
}

impl AuditEvent {
    /// Something the worker did by itself (no caller): `status` 2xx is a
    /// success, 5xx a failure.
    pub fn by_worker(operation: &'static str, resource: String, status: u16) -> Self {
        Self {
            principal: None,
            mechanism: "worker",
            method: String::new(),
            path: String::new(),
            operation,
            resource,
            status,
            request_id: random_id(),
            client: None,
            keys: Vec::new(),
            forwarded: false,
        }
    }

    fn outcome(&self) -> &'static str {
        match self.status {
            200..=299 => "success",
            401 | 403 => "denied",
            _ => "failure",
        }
    }

    /// The CloudEvents 1.0 record.
    pub fn to_cloudevent(&self, source: &str) -> Value {
        json!({
            "specversion": "1.0",
            "id": random_id(),
            "source": source,
            "type": format!("io.sluice.audit.{}", self.operation),
            "time": rfc3339_now(),
            "datacontenttype": "application/json",
            "subject": self.resource,
            "data": {
                "principal": self.principal,
                "mechanism": self.mechanism,
                "operation": self.operation,
                "resource": self.resource,
                "method": self.method,
                "path": self.path,
                "status": self.status,
                "outcome": self.outcome(),
                "request_id": self.request_id,
                "client": self.client,
                "config_keys": self.keys,
                "forwarded": self.forwarded,
            }
        })
    }
}

/// 16 random bytes in hex (CloudEvents ids, request ids).
pub fn random_id() -> String {
    let rng = ring::rand::SystemRandom::new();
    let bytes: [u8; 16] = ring::rand::generate(&rng)
        .map(|r| r.expose())
        .unwrap_or_default();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now as RFC 3339 UTC with milliseconds.
fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = sluice_schema::converter::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// What a REST call does, and to what; `None` for calls that change
/// nothing (reads and validation), which are audited only when refused.
pub fn classify(method: &str, path: &str, body: &[u8]) -> Option<(&'static str, String)> {
    let decoded = super::authz::segments(path);
    let parts: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let connector = |name: &str| format!("Connector:{name}");
    let op = match (method, parts.as_slice()) {
        ("POST", ["connectors"]) => {
            let name = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("name").and_then(Value::as_str).map(String::from))
                .unwrap_or_default();
            ("create", connector(&name))
        }
        ("PUT" | "PATCH", ["connectors", c, "config"]) => ("configure", connector(c)),
        ("DELETE", ["connectors", c]) => ("delete", connector(c)),
        ("PUT", ["connectors", c, "pause"]) => ("pause", connector(c)),
        ("PUT", ["connectors", c, "resume"]) => ("resume", connector(c)),
        ("PUT", ["connectors", c, "stop"]) => ("stop", connector(c)),
        ("POST", ["connectors", c, "restart"]) => ("restart", connector(c)),
        ("POST", ["connectors", c, "tasks", t, "restart"]) => {
            ("restart", format!("Connector:{c}/task:{t}"))
        }
        ("PATCH", ["connectors", c, "offsets"]) => ("alter-offsets", connector(c)),
        ("DELETE", ["connectors", c, "offsets"]) => ("reset-offsets", connector(c)),
        ("PUT", ["connectors", c, "topics", "reset"]) => ("reset-topics", connector(c)),
        ("POST", ["connectors", c, "tasks"]) => ("put-task-configs", connector(c)),
        ("PUT", ["admin", "loggers", l]) => ("set-log-level", format!("Logger:{l}")),
        ("POST", ["admin", "secrets", "rotate"]) => ("rotate-secrets", "Cluster".to_string()),
        _ => return None,
    };
    Some(op)
}

/// The config key names a write sent (never the values).
pub fn config_keys(operation: &str, body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let obj = match operation {
        "create" => v.get("config").and_then(Value::as_object),
        "configure" => v.as_object(),
        _ => None,
    };
    obj.map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

/// Records what the worker itself does to connectors and tasks: each
/// failure (`connector-failed`, `task-failed`, with the restart count when
/// a restart is scheduled) and each restart after one (`task-restarted`,
/// `connector-restarted`: RUNNING again after FAILED). Traces are not
/// copied (they are in the status); the principal is the worker.
pub fn follow_status(audit: Arc<AuditLog>, status: &crate::status::StatusStore) {
    use crate::status::State;
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // Connectors and tasks seen FAILED, until they run again.
    type Failed = std::collections::BTreeSet<(String, Option<u32>)>;
    let failed: Arc<Mutex<Failed>> = Arc::default();
    status.add_listener(Arc::new(move |u| {
        let id = (u.connector.clone(), u.task);
        let mut failed = failed.lock().unwrap_or_else(PoisonError::into_inner);
        let what = match u.info.state {
            State::Failed => {
                failed.insert(id);
                "failed"
            }
            State::Running if failed.remove(&id) => "restarted",
            _ => {
                failed.remove(&id);
                return;
            }
        };
        drop(failed);
        let (operation, resource) = match (u.task, what) {
            (Some(t), "failed") => ("task-failed", format!("Connector:{}/task:{t}", u.connector)),
            (Some(t), _) => ("task-restarted", format!("Connector:{}/task:{t}", u.connector)),
            (None, "failed") => ("connector-failed", format!("Connector:{}", u.connector)),
            (None, _) => ("connector-restarted", format!("Connector:{}", u.connector)),
        };
        let event =
            AuditEvent::by_worker(operation, resource, if what == "failed" { 500 } else { 200 });
        let a = audit.clone();
        rt.spawn(async move {
            if let Err(e) = a.record(&event).await {
                tracing::warn!(error = %e, operation = event.operation, "cannot write an audit record");
            }
        });
    }));
}

/// Where audit records go.
pub struct AuditLog {
    file: Option<Mutex<std::fs::File>>,
    topic: Option<(String, FutureProducer<LogContext>, Arc<TopicAdmin>)>,
    topic_ready: tokio::sync::OnceCell<()>,
    pub block: bool,
    source: String,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("block", &self.block)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Checks the audit keys of a worker config without opening anything.
pub fn check_config(props: &std::collections::BTreeMap<String, String>) -> Result<(), String> {
    match props.get(POLICY).map(|p| p.trim().to_ascii_lowercase()) {
        None => Ok(()),
        Some(p) if p == "block" || p == "drop" => Ok(()),
        Some(p) => Err(format!(
            "Invalid value {p} for configuration {POLICY}: block or drop"
        )),
    }
}

impl AuditLog {
    /// Opens what the worker config names; `None` when it names nothing.
    pub fn start(
        config: &WorkerConfig,
        admin: Arc<TopicAdmin>,
        worker_id: &str,
    ) -> Result<Option<Arc<Self>>, String> {
        let props = &config.originals;
        let file = match props.get(FILE).map(|f| f.trim()).filter(|f| !f.is_empty()) {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("{FILE}: cannot open {path}: {e}"))?,
            )),
            None => None,
        };
        let topic = match props.get(TOPIC).map(|t| t.trim()).filter(|t| !t.is_empty()) {
            Some(t) => {
                let producer: FutureProducer<LogContext> = client_config(
                    &config.bootstrap_servers,
                    &[&config.producer],
                    &[
                        ("acks", "all"),
                        ("linger.ms", "0"),
                        ("message.timeout.ms", "30000"),
                    ],
                )
                .create_with_context(LogContext)
                .map_err(|e| format!("{TOPIC}: cannot create a producer: {e}"))?;
                Some((t.to_string(), producer, admin))
            }
            None => None,
        };
        if file.is_none() && topic.is_none() {
            return Ok(None);
        }
        let block = props
            .get(POLICY)
            .is_none_or(|p| p.trim().eq_ignore_ascii_case("block"));
        Ok(Some(Arc::new(Self {
            file,
            topic,
            topic_ready: tokio::sync::OnceCell::new(),
            block,
            source: format!("sluice://{worker_id}"),
        })))
    }

    /// Writes one record everywhere it goes.
    pub async fn record(&self, event: &AuditEvent) -> Result<(), String> {
        let line = self.to_line(event);
        if let Some(f) = &self.file {
            let mut f = f.lock().unwrap_or_else(PoisonError::into_inner);
            f.write_all(line.as_bytes())
                .and_then(|()| f.write_all(b"\n"))
                .and_then(|()| f.flush())
                .map_err(|e| format!("{FILE}: {e}"))?;
        }
        if let Some((topic, producer, admin)) = &self.topic {
            self.topic_ready
                .get_or_try_init(|| async {
                    admin
                        .ensure_retrying(topic, 1, -1)
                        .await
                        .map_err(|e| format!("{TOPIC}: cannot create {topic}: {e}"))
                })
                .await?;
            let rec = FutureRecord::to(topic)
                .key(event.resource.as_bytes())
                .payload(line.as_bytes());
            producer
                .send(rec, Duration::from_secs(30))
                .await
                .map_err(|(e, _)| format!("{TOPIC}: {e}"))?;
        }
        Ok(())
    }

    fn to_line(&self, event: &AuditEvent) -> String {
        event.to_cloudevent(&self.source).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_classified_and_only_key_names_kept() {
        let body = br#"{"name":"db","config":{"connector.class":"JdbcSource","connection.password":"hunter2"}}"#;
        let (op, res) = classify("POST", "/connectors", body).unwrap();
        assert_eq!((op, res.as_str()), ("create", "Connector:db"));
        let keys = config_keys(op, body);
        assert_eq!(keys, vec!["connector.class", "connection.password"]);
        assert_eq!(
            classify("PUT", "/connectors/db/pause", b""),
            Some(("pause", "Connector:db".into()))
        );
        assert_eq!(
            classify("POST", "/connectors/db/tasks/0/restart", b""),
            Some(("restart", "Connector:db/task:0".into()))
        );
        assert_eq!(classify("GET", "/connectors", b""), None);
        assert_eq!(
            classify("PUT", "/connector-plugins/X/config/validate", b"{}"),
            None
        );
        let ev = AuditEvent {
            principal: Some("ops".into()),
            mechanism: "basic",
            method: "POST".into(),
            path: "/connectors".into(),
            operation: op,
            resource: res,
            status: 201,
            request_id: "r1".into(),
            client: Some("127.0.0.1:5000".into()),
            keys,
            forwarded: false,
        };
        let ce = ev.to_cloudevent("sluice://w:8083");
        assert_eq!(ce["specversion"], "1.0");
        assert_eq!(ce["type"], "io.sluice.audit.create");
        assert_eq!(ce["data"]["outcome"], "success");
        assert!(!ce.to_string().contains("hunter2"));
        let t = ce["time"].as_str().unwrap();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
    }
}
