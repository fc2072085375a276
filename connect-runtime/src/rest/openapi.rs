//! `GET /openapi.json`: an OpenAPI 3 document of every endpoint and body.

use axum::Json;
use serde_json::{Value, json};

/// (method, path, summary, request body schema, success code, response schema)
type Op = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
);

/// Every endpoint; a test checks each one is routed.
pub(crate) const OPERATIONS: &[Op] = &[
    (
        "get",
        "/",
        "Worker version, commit and Kafka cluster id",
        None,
        "200",
        Some("ServerInfo"),
    ),
    (
        "get",
        "/health",
        "200 when the worker has started, 503 while starting",
        None,
        "200",
        Some("Health"),
    ),
    (
        "get",
        "/connectors",
        "Connector names; with ?expand=status and/or ?expand=info a map of details",
        None,
        "200",
        None,
    ),
    (
        "post",
        "/connectors",
        "Create a connector (initial_state RUNNING, PAUSED or STOPPED)",
        Some("CreateConnector"),
        "201",
        Some("ConnectorInfo"),
    ),
    (
        "get",
        "/connectors/{name}",
        "Config and tasks of a connector",
        None,
        "200",
        Some("ConnectorInfo"),
    ),
    (
        "delete",
        "/connectors/{name}",
        "Delete a connector (its offsets are kept)",
        None,
        "204",
        None,
    ),
    (
        "get",
        "/connectors/{name}/config",
        "A connector's config",
        None,
        "200",
        Some("Config"),
    ),
    (
        "put",
        "/connectors/{name}/config",
        "Create (201) or replace (200) a connector's config",
        Some("Config"),
        "200",
        Some("ConnectorInfo"),
    ),
    (
        "patch",
        "/connectors/{name}/config",
        "Merge keys into the config; a null value removes the key",
        Some("Config"),
        "200",
        Some("ConnectorInfo"),
    ),
    (
        "get",
        "/connectors/{name}/status",
        "Connector and task states",
        None,
        "200",
        Some("ConnectorStatus"),
    ),
    (
        "get",
        "/connectors/{name}/tasks",
        "Task ids and configs",
        None,
        "200",
        None,
    ),
    (
        "get",
        "/connectors/{name}/tasks/{task}/status",
        "One task's state",
        None,
        "200",
        Some("TaskStatus"),
    ),
    (
        "post",
        "/connectors/{name}/tasks/{task}/restart",
        "Restart one task",
        None,
        "204",
        None,
    ),
    (
        "post",
        "/connectors/{name}/restart",
        "Restart; ?includeTasks=&onlyFailed= (202 with RESTARTING states unless both false: 204)",
        None,
        "204",
        None,
    ),
    (
        "put",
        "/connectors/{name}/pause",
        "Pause: tasks keep their resources and move no data",
        None,
        "202",
        None,
    ),
    (
        "put",
        "/connectors/{name}/resume",
        "Resume from PAUSED or STOPPED",
        None,
        "202",
        None,
    ),
    (
        "put",
        "/connectors/{name}/stop",
        "Stop: tasks shut down and release resources",
        None,
        "204",
        None,
    ),
    (
        "get",
        "/connectors/{name}/offsets",
        "Committed offsets (source partitions, or kafka_topic/kafka_partition/kafka_offset for sinks)",
        None,
        "200",
        Some("Offsets"),
    ),
    (
        "patch",
        "/connectors/{name}/offsets",
        "Alter offsets of a STOPPED connector; a null offset resets one partition",
        Some("Offsets"),
        "200",
        Some("Message"),
    ),
    (
        "delete",
        "/connectors/{name}/offsets",
        "Reset all offsets of a STOPPED connector",
        None,
        "200",
        Some("Message"),
    ),
    (
        "get",
        "/connectors/{name}/topics",
        "Topics the connector used since its last reset",
        None,
        "200",
        None,
    ),
    (
        "put",
        "/connectors/{name}/topics/reset",
        "Forget the connector's active topics",
        None,
        "202",
        None,
    ),
    (
        "get",
        "/connector-plugins",
        "Installed plugins; ?connectorsOnly=false adds converters",
        None,
        "200",
        None,
    ),
    (
        "get",
        "/connector-plugins/{plugin}/config",
        "Config keys of a plugin",
        None,
        "200",
        None,
    ),
    (
        "put",
        "/connector-plugins/{plugin}/config/validate",
        "Validate a config without creating anything",
        Some("Config"),
        "200",
        Some("ConfigInfos"),
    ),
    ("get", "/admin/loggers", "Log levels", None, "200", None),
    (
        "get",
        "/admin/loggers/{logger}",
        "One logger's level",
        None,
        "200",
        None,
    ),
    (
        "put",
        "/admin/loggers/{logger}",
        "Change a logger's level at runtime; ?scope=worker (default: 200 with the changed loggers) or ?scope=cluster (every worker: 204)",
        Some("LoggerLevel"),
        "200",
        None,
    ),
    (
        "post",
        "/admin/secrets/rotate",
        "Seal every stored secret with the active key (secrets.encryption.key.id)",
        None,
        "200",
        None,
    ),
    ("get", "/openapi.json", "This document", None, "200", None),
];

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn components() -> Value {
    let str_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let state = json!({"type": "object", "properties": {
        "state": {"type": "string", "enum": ["UNASSIGNED", "RUNNING", "PAUSED", "FAILED", "RESTARTING", "STOPPED"]},
        "worker_id": {"type": "string"}, "trace": {"type": "string"},
        "restarts": {"type": "integer"}, "next_restart_ms": {"type": "integer"}}});
    json!({
        "Error": {"type": "object", "required": ["error_code", "message"],
            "properties": {"error_code": {"type": "integer"}, "message": {"type": "string"}}},
        "ServerInfo": {"type": "object", "properties": {"version": {"type": "string"}, "commit": {"type": "string"},
            "kafka_cluster_id": {"type": "string", "nullable": true}}},
        "Health": {"type": "object", "properties": {"status": {"type": "string"}, "message": {"type": "string"}}},
        "Config": str_map,
        "CreateConnector": {"type": "object", "required": ["name", "config"], "properties": {
            "name": {"type": "string"}, "config": schema_ref("Config"),
            "initial_state": {"type": "string", "enum": ["RUNNING", "PAUSED", "STOPPED"]}}},
        "ConnectorInfo": {"type": "object", "properties": {"name": {"type": "string"}, "config": schema_ref("Config"),
            "tasks": {"type": "array", "items": {"type": "object", "properties": {
                "connector": {"type": "string"}, "task": {"type": "integer"}}}},
            "type": {"type": "string", "enum": ["source", "sink"]}}},
        "TaskStatus": {"allOf": [state.clone(), {"type": "object", "properties": {"id": {"type": "integer"}}}]},
        "ConnectorStatus": {"type": "object", "properties": {"name": {"type": "string"}, "connector": state,
            "tasks": {"type": "array", "items": schema_ref("TaskStatus")}, "type": {"type": "string"}}},
        "Offsets": {"type": "object", "properties": {"offsets": {"type": "array", "items": {"type": "object", "properties": {
            "partition": {"type": "object"}, "offset": {"type": "object", "nullable": true}}}}}},
        "Message": {"type": "object", "properties": {"message": {"type": "string"}}},
        "ConfigInfos": {"type": "object", "properties": {"name": {"type": "string"}, "error_count": {"type": "integer"},
            "groups": {"type": "array", "items": {"type": "string"}},
            "configs": {"type": "array", "items": {"type": "object", "properties": {
                "definition": {"type": "object"}, "value": {"type": "object", "properties": {
                    "name": {"type": "string"}, "value": {"type": "string", "nullable": true},
                    "recommended_values": {"type": "array", "items": {"type": "string"}},
                    "errors": {"type": "array", "items": {"type": "string"}}, "visible": {"type": "boolean"}}}}}}}},
        "LoggerLevel": {"type": "object", "required": ["level"], "properties": {"level": {"type": "string"}}},
    })
}

pub(crate) fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, request, code, response) in OPERATIONS {
        let params: Vec<Value> = ["name", "task", "plugin", "logger"]
            .iter()
            .filter(|p| path.contains(&format!("{{{p}}}")))
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut ok = json!({"description": "success"});
        if let Some(r) = response {
            ok["content"] = json!({"application/json": {"schema": schema_ref(r)}});
        }
        let error = json!({"description": "error", "content": {"application/json": {"schema": schema_ref("Error")}}});
        let mut op = json!({"summary": summary, "parameters": params, "responses": {*code: ok, "default": error}});
        // Who may call it, when authentication and roles are on.
        let concrete = path
            .replace("{name}", "c")
            .replace("{task}", "0")
            .replace("{plugin}", "p")
            .replace("{logger}", "l");
        let m = method.to_ascii_uppercase();
        let verb: axum::http::Method = m.parse().unwrap_or(axum::http::Method::GET);
        if super::auth::anonymous(&verb, &concrete, false) {
            op["security"] = json!([]);
            op["x-sluice-operation"] = json!(if concrete.ends_with("/tasks") {
                "internal (signed)"
            } else {
                "anonymous"
            });
        } else {
            op["security"] = json!([{"basic": []}, {"apiKey": []}, {"apiKeyAuthorization": []}]);
            op["x-sluice-operation"] = json!(
                super::authz::required(&m, &concrete, b"").map_or("authenticated", |(o, _)| o.id())
            );
        }
        if let Some(r) = request {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema_ref(r)}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Sluice REST API", "version": crate::VERSION,
            "description": "Kafka Connect-compatible admin API of a Sluice worker"},
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "apiKeyAuthorization": {"type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "ApiKey <key>"},
            },
        },
    })
}

pub(crate) async fn openapi() -> Json<Value> {
    Json(document())
}
