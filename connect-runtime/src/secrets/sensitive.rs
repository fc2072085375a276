//! Which config values are secrets: any key that is PASSWORD-typed in any
//! registered connector, transform or predicate (so that a secret stays
//! one when the connector class or the transforms change), and keys that
//! name a secret whatever declares them (`sasl.jaas.config`, `*.password`,
//! `*.secret`, `*.token`, ...), with any prefix (`producer.override.`,
//! `value.converter.`).

use std::collections::BTreeSet;

use sluice_connect_api::Config;
use sluice_connect_api::Registry;
use sluice_connect_api::config::{ConfigDef, ConfigType};

/// Secrets by name alone.
pub fn by_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let segments: Vec<&str> = k.split(['.', '_', '-']).collect();
    [
        "sasl.jaas.config",
        "basic.auth.user.info",
        "ssl.keystore.key",
        "private.key",
        "api.key",
        "apikey",
        "nkey.seed",
    ]
    .iter()
    .any(|s| k.ends_with(s))
        || segments
            .iter()
            .any(|s| matches!(*s, "password" | "passwd" | "secret" | "passphrase"))
        || segments
            .last()
            .is_some_and(|s| matches!(*s, "token" | "credentials" | "seed"))
}

fn passwords(def: &ConfigDef, into: &mut BTreeSet<String>) {
    into.extend(
        def.keys()
            .iter()
            .filter(|k| k.config_type == ConfigType::Password)
            .map(|k| k.name.clone()),
    );
}

/// PASSWORD-typed key names: of connectors (as they are), of transforms
/// and predicates (after their `transforms.<alias>.` prefix).
fn typed(registry: &Registry) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut own = BTreeSet::new();
    for plugin in registry.connectors() {
        passwords(&crate::connector_config::full_def(plugin), &mut own);
    }
    let mut chained = BTreeSet::new();
    for t in registry.transforms() {
        passwords(&(t.new)().config_def(), &mut chained);
    }
    for p in registry.predicates() {
        passwords(&(p.new)().config_def(), &mut chained);
    }
    (own, chained)
}

/// The keys of `config` whose values are secrets.
pub fn keys(registry: &Registry, config: &Config) -> BTreeSet<String> {
    let (own, chained) = typed(registry);
    config
        .keys()
        .filter(|k| {
            by_name(k)
                || own.contains(*k)
                || ["transforms.", "predicates."].iter().any(|p| {
                    k.strip_prefix(p)
                        .and_then(|rest| rest.split_once('.'))
                        .is_some_and(|(_, name)| chained.contains(name))
                })
        })
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
            "nats.token",
            "producer.override.ssl.keystore.key",
            "gcp.credentials",
            "nats.nkey.seed",
        ] {
            assert!(by_name(k), "{k}");
        }
        for k in [
            "connection.user",
            "connection.url",
            "topic.prefix",
            "password.reset.topic.suffix.x",
            "secretary",
            "oauth2.token.url",
            "aws.credentials.provider.class",
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
        let k = keys(&registry, &c);
        assert_eq!(k.into_iter().collect::<Vec<_>>(), ["connection.password"]);
        // Another connector's PASSWORD key is a secret here too, so a
        // class change does not show what was hidden.
        let mut other = c.clone();
        other.insert("connector.class".into(), "FileStreamSource".into());
        assert!(keys(&registry, &other).contains("connection.password"));
    }
}
