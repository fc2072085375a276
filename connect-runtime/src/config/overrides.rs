//! `connector.client.config.override.policy`: which Kafka client keys a
//! connector config may set through `producer.override.*`,
//! `consumer.override.*` and `admin.override.*` (KIP-458).
//!
//! Kafka's policies by their aliases or class names: `None` (nothing; the
//! default here, as Kafka recommends, where Kafka Connect defaults to
//! `All`), `Principal` (`sasl.jaas.config`, `sasl.mechanism`,
//! `security.protocol`), `All`, and `Allowlist` with
//! `connector.client.config.override.allowlist`. Whatever the policy,
//! librdkafka keys that load a library or run a command are refused: a
//! connector config arrives over REST, and these would run code on the
//! worker.

use std::collections::BTreeMap;

use sluice_connect_api::Config;
use sluice_connect_api::config::ConfigIssue;

pub const POLICY: &str = "connector.client.config.override.policy";
pub const ALLOWLIST: &str = "connector.client.config.override.allowlist";

/// The connector keys that override client settings.
pub const PREFIXES: &[&str] = &[
    "producer.override.",
    "consumer.override.",
    "admin.override.",
];

/// librdkafka keys that load a shared library or an OpenSSL engine or
/// provider, or run a command (the Kerberos principal and keytab are
/// pasted into the kinit shell command).
const CODE_LOADING: &[&str] = &[
    "plugin.library.paths",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.principal",
    "sasl.kerberos.keytab",
    "ssl.engine.location",
    "ssl.engine.id",
    "ssl.providers",
];

const PRINCIPAL_KEYS: &[&str] = &["sasl.jaas.config", "sasl.mechanism", "security.protocol"];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OverridePolicy {
    #[default]
    None,
    Principal,
    All,
    Allowlist(Vec<String>),
}

impl OverridePolicy {
    /// Reads the policy from worker properties.
    pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Self, String> {
        let Some(raw) = props
            .get(POLICY)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        else {
            return Ok(Self::None);
        };
        let simple = raw.rsplit('.').next().unwrap_or(raw);
        let simple = simple
            .strip_suffix("ConnectorClientConfigOverridePolicy")
            .unwrap_or(simple);
        match simple.to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "principal" => Ok(Self::Principal),
            "all" => Ok(Self::All),
            "allowlist" => Ok(Self::Allowlist(
                props
                    .get(ALLOWLIST)
                    .map(|l| {
                        l.split(',')
                            .map(str::trim)
                            .filter(|k| !k.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            _ => Err(format!(
                "Invalid value {raw} for configuration {POLICY}: use None, Principal, All or Allowlist"
            )),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Principal => "Principal",
            Self::All => "All",
            Self::Allowlist(_) => "Allowlist",
        }
    }

    fn allows(&self, client_key: &str) -> bool {
        match self {
            Self::None => false,
            Self::Principal => PRINCIPAL_KEYS.contains(&client_key),
            Self::All => true,
            Self::Allowlist(keys) => keys.iter().any(|k| k == client_key),
        }
    }

    /// Every client override in `config` the policy refuses, under its
    /// connector key, with Kafka's message.
    pub fn check(&self, config: &Config) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        for key in config.keys() {
            let Some(client_key) = PREFIXES.iter().find_map(|p| key.strip_prefix(p)) else {
                continue;
            };
            let message = if loads_code(client_key) {
                format!(
                    "'{client_key}' cannot be overridden in the connector configuration under any policy: it makes the Kafka client load a library or run a command on the worker."
                )
            } else if self.allows(client_key) {
                continue;
            } else {
                format!(
                    "The '{}' policy does not allow '{client_key}' to be overridden in the connector configuration.",
                    self.name()
                )
            };
            issues.push(ConfigIssue {
                key: key.clone(),
                message,
            });
        }
        issues
    }
}

/// librdkafka reads `a.b` and `a_b` alike for some keys; compare both.
fn loads_code(client_key: &str) -> bool {
    let k = client_key.trim().to_ascii_lowercase().replace('_', ".");
    CODE_LOADING.contains(&k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props;

    fn keys(p: &OverridePolicy, pairs: &[(&str, &str)]) -> Vec<String> {
        p.check(&props(pairs)).into_iter().map(|i| i.key).collect()
    }

    #[test]
    fn policies_as_kafka_names_them() {
        assert_eq!(
            OverridePolicy::from_worker(&props(&[])),
            Ok(OverridePolicy::None)
        );
        for (v, want) in [
            ("None", OverridePolicy::None),
            ("principal", OverridePolicy::Principal),
            (
                "org.apache.kafka.connect.connector.policy.AllConnectorClientConfigOverridePolicy",
                OverridePolicy::All,
            ),
        ] {
            assert_eq!(
                OverridePolicy::from_worker(&props(&[(POLICY, v)])),
                Ok(want)
            );
        }
        assert_eq!(
            OverridePolicy::from_worker(&props(&[
                (POLICY, "Allowlist"),
                (ALLOWLIST, "acks, linger.ms")
            ])),
            Ok(OverridePolicy::Allowlist(vec![
                "acks".into(),
                "linger.ms".into()
            ]))
        );
        let e = OverridePolicy::from_worker(&props(&[(POLICY, "Some")])).unwrap_err();
        assert!(e.contains(POLICY), "{e}");
    }

    #[test]
    fn overrides_checked_against_the_policy() {
        let cfg = [
            ("producer.override.acks", "1"),
            ("consumer.override.sasl.jaas.config", "x"),
            ("admin.override.security.protocol", "SASL_SSL"),
            ("name", "c"),
        ];
        assert_eq!(
            keys(&OverridePolicy::None, &cfg),
            vec![
                "admin.override.security.protocol",
                "consumer.override.sasl.jaas.config",
                "producer.override.acks"
            ]
        );
        assert_eq!(
            keys(&OverridePolicy::Principal, &cfg),
            vec!["producer.override.acks"]
        );
        assert!(keys(&OverridePolicy::All, &cfg).is_empty());
        assert_eq!(
            keys(&OverridePolicy::Allowlist(vec!["acks".into()]), &cfg),
            vec![
                "admin.override.security.protocol",
                "consumer.override.sasl.jaas.config"
            ]
        );
        let issues = OverridePolicy::None.check(&props(&[("producer.override.acks", "1")]));
        assert_eq!(
            issues[0].message,
            "The 'None' policy does not allow 'acks' to be overridden in the connector configuration."
        );
    }

    #[test]
    fn code_loading_keys_refused_under_every_policy() {
        for key in [
            "producer.override.plugin.library.paths",
            "consumer.override.sasl.kerberos.kinit.cmd",
            "admin.override.ssl.engine.location",
            "producer.override.ssl_engine_location",
            "producer.override.SSL.PROVIDERS",
        ] {
            let issues = OverridePolicy::All.check(&props(&[(key, "/tmp/x.so")]));
            assert_eq!(issues.len(), 1, "{key}");
            assert!(
                issues[0].message.contains("under any policy"),
                "{}",
                issues[0].message
            );
        }
    }
}
