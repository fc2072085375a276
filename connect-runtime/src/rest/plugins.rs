//! `/connector-plugins/{p}/config` and `/connector-plugins/{p}/config/validate`
//! in Kafka Connect's shapes (`ConfigKeyInfo`, `ConfigInfos`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use sluice_connect_api::config::{ConfigKey, ConfigType};
use sluice_connect_api::{Config, ConnectorPlugin, Registry};

use super::{ApiError, RestState, body};
use crate::connector_config::{self, CONNECTOR_CLASS};

#[derive(Debug, Serialize)]
pub(crate) struct KeyInfo {
    name: String,
    #[serde(rename = "type")]
    config_type: &'static str,
    required: bool,
    default_value: Option<String>,
    importance: &'static str,
    documentation: String,
    group: Option<String>,
    width: &'static str,
    display_name: String,
    dependents: Vec<String>,
    order: i32,
}

impl From<&ConfigKey> for KeyInfo {
    fn from(k: &ConfigKey) -> Self {
        Self {
            name: k.name.clone(),
            config_type: k.config_type.name(),
            required: k.default.is_none(),
            // A nullable key's empty default is Kafka Connect's null.
            default_value: if k.config_type == ConfigType::Password
                || (k.nullable && k.default.as_deref().is_some_and(str::is_empty))
            {
                None
            } else {
                k.default.clone()
            },
            importance: k.importance.name(),
            documentation: k.documentation.clone(),
            group: k.group.clone(),
            width: "NONE",
            display_name: k.display_name.clone(),
            dependents: k.dependents.clone(),
            order: k.order_in_group,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ValueInfo {
    name: String,
    value: Option<String>,
    recommended_values: Vec<String>,
    errors: Vec<String>,
    visible: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct ConfigInfo {
    definition: KeyInfo,
    value: ValueInfo,
}

#[derive(Debug, Serialize)]
pub(crate) struct ConfigInfos {
    name: String,
    error_count: usize,
    groups: Vec<String>,
    configs: Vec<ConfigInfo>,
}

fn find(registry: &Registry, name: &str) -> Result<ConnectorPlugin, ApiError> {
    registry.connector(name).copied().ok_or_else(|| {
        let available: Vec<&str> = registry.connectors().iter().map(|p| p.class_name).collect();
        ApiError::bad_request(format!(
            "Failed to find any class that implements Connector and which name matches {name}, available connectors are: {}",
            available.join(", ")
        ))
    })
}

pub(crate) async fn plugin_config(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    let registry = &s.herder.worker().registry;
    // Transforms and predicates answer too, as in Kafka Connect 3.2+.
    let def = if let Some(t) = registry.transform(&name) {
        (t.new)().config_def()
    } else if let Some(p) = registry.predicate(&name) {
        (p.new)().config_def()
    } else {
        let plugin = registry
            .connector(&name)
            .ok_or_else(|| ApiError::not_found(format!("Unknown plugin {name}.")))?;
        connector_config::full_def(plugin)
    };
    Ok(Json(
        def.keys()
            .iter()
            .filter(|k| !k.internal)
            .map(KeyInfo::from)
            .collect(),
    ))
}

/// Validates without creating anything. Every defined key gets an entry;
/// errors found by the whole-config check are attached to their key.
pub(crate) fn validate(
    worker: &crate::worker::Worker,
    plugin_name: &str,
    mut config: Config,
) -> Result<ConfigInfos, ApiError> {
    let registry = &worker.registry;
    let plugin = find(registry, plugin_name)?;
    if let Some(given) = config.get(CONNECTOR_CLASS)
        && registry.connector(given).map(|p| p.class_name) != Some(plugin.class_name)
    {
        return Err(ApiError::bad_request(format!(
            "Included connector type {given} does not match request type {plugin_name}"
        )));
    }
    config.insert(CONNECTOR_CLASS.to_string(), plugin.class_name.to_string());
    // Per-alias transform and predicate keys, as Kafka Connect's enrich().
    let def = connector_config::full_def(&plugin)
        .merge(&crate::transforms::enriched_def(registry, &config));
    let mut reports = def.validate(&config);
    if let Err(e) = connector_config::validate(registry, &config) {
        for issue in e.issues {
            if let Some(r) = reports.iter_mut().find(|r| r.name == issue.key)
                && !r.errors.contains(&issue.message)
            {
                r.errors.push(issue.message);
            }
        }
    }
    let mut groups: Vec<String> = Vec::new();
    for k in def.keys() {
        if let Some(g) = &k.group
            && !groups.contains(g)
        {
            groups.push(g.clone());
        }
    }
    // Reports leave internal keys out, as the key list does.
    let mut configs: Vec<ConfigInfo> = def
        .keys()
        .iter()
        .filter(|k| !k.internal)
        .zip(reports)
        .map(|(k, r)| ConfigInfo {
            definition: KeyInfo::from(k),
            value: ValueInfo {
                name: r.name,
                value: r.value,
                recommended_values: r.recommended_values,
                errors: r.errors,
                visible: r.visible,
            },
        })
        .collect();
    // Client overrides the policy refuses get an entry of their own, as
    // Kafka Connect adds the client's keys to its answer.
    for issue in worker.config.override_policy.check(&config) {
        let key = ConfigKey::new(&issue.key, ConfigType::String)
            .default_value("")
            .doc("A Kafka client setting overridden by this connector");
        configs.push(ConfigInfo {
            definition: KeyInfo::from(&key),
            value: ValueInfo {
                name: issue.key.clone(),
                // A refused sasl.jaas.config or ssl.key.password is
                // still a secret.
                value: config.get(&issue.key).map(|v| {
                    let k = issue.key.to_ascii_lowercase();
                    if ["password", "jaas", "secret", "key"]
                        .iter()
                        .any(|s| k.contains(s))
                    {
                        "[hidden]".to_string()
                    } else {
                        v.clone()
                    }
                }),
                recommended_values: Vec::new(),
                errors: vec![issue.message],
                visible: true,
            },
        });
    }
    Ok(ConfigInfos {
        name: plugin.class_name.to_string(),
        error_count: configs.iter().map(|c| c.value.errors.len()).sum(),
        groups,
        configs,
    })
}

pub(crate) async fn validate_config(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
    body::RawBody(bytes): body::RawBody,
) -> Result<Json<ConfigInfos>, ApiError> {
    let config = body::config(body::parse(&bytes)?)?;
    Ok(Json(validate(s.herder.worker(), &name, config)?))
}
