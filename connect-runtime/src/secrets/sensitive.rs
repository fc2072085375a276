//! Which config values are secrets: PASSWORD-typed keys of the connector,
//! its transforms and predicates, and keys that name a secret whatever
//! declares them (`sasl.jaas.config`, `*.password`, `*.secret`, ...), with
//! any prefix (`producer.override.`, `value.converter.`).

use std::collections::BTreeSet;

use sluice_connect_api::Config;
use sluice_connect_api::Registry;
use sluice_connect_api::config::{ConfigDef, ConfigType};

/// Secrets by name alone.
pub fn by_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "sasl.jaas.config",
        "basic.auth.user.info",
        "bearer.auth.token",
    ]
    .iter()
    .any(|s| k.ends_with(s))
        || k.split(['.', '_', '-'])
            .any(|s| matches!(s, "password" | "passwd" | "secret" | "passphrase"))
}

fn passwords(def: &ConfigDef, into: &mut BTreeSet<String>) {
    into.extend(
        def.keys()
            .iter()
            .filter(|k| k.config_type == ConfigType::Password)
            .map(|k| k.name.clone()),
    );
}

/// The keys of `config` (a connector's config, or a task's with its
/// connector's config as `connector`) whose values are secrets.
pub fn keys(registry: &Registry, connector: &Config, config: &Config) -> BTreeSet<String> {
    let mut typed = BTreeSet::new();
    if let Some(plugin) = connector
        .get(crate::connector_config::CONNECTOR_CLASS)
        .and_then(|c| registry.connector(c))
    {
        passwords(&crate::connector_config::full_def(plugin), &mut typed);
    }
    passwords(
        &crate::transforms::enriched_def(registry, connector),
        &mut typed,
    );
    config
        .keys()
        .filter(|k| typed.contains(*k) || by_name(k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_secrets() {
        for k in [
            "connection.password",
            "database.password",
            "producer.override.sasl.jaas.config",
            "ssl.key.password",
            "oauth2.client.secret",
            "aws.secret.access.key",
            "value.converter.basic.auth.user.info",
            "mqtt.password",
            "client_secret",
        ] {
            assert!(by_name(k), "{k}");
        }
        for k in [
            "connection.user",
            "connection.url",
            "topic.prefix",
            "password.reset.topic.suffix.x",
            "secretary",
        ] {
            assert_eq!(by_name(k), k.starts_with("password."), "{k}");
        }
    }

    #[test]
    fn password_typed_keys_of_the_plugin_count() {
        let registry = crate::plugins::registry();
        let c: Config = [
            (
                "connector.class".to_string(),
                "io.confluent.connect.jdbc.JdbcSourceConnector".to_string(),
            ),
            ("connection.password".to_string(), "x".to_string()),
            ("connection.user".to_string(), "u".to_string()),
        ]
        .into();
        let k = keys(&registry, &c, &c);
        assert_eq!(k.into_iter().collect::<Vec<_>>(), ["connection.password"]);
    }
}
