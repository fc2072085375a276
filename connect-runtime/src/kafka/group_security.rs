//! TLS and SASL for the worker group's own Kafka connections (distributed
//! mode's group protocol client, which is not librdkafka), from the
//! worker's top-level Kafka client keys as Kafka Connect reads them:
//! `security.protocol`, `ssl.truststore.*` (PEM), `ssl.keystore.*` (PEM,
//! for brokers that want client certificates),
//! `ssl.endpoint.identification.algorithm` (empty: the certificate's
//! chain is checked, not its name), `sasl.mechanism` (PLAIN,
//! SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER) and the credentials of
//! `sasl.jaas.config` (or librdkafka's `sasl.username` /
//! `sasl.password`; for OAUTHBEARER the OIDC client credentials and
//! `sasl.oauthbearer.token.endpoint.url`).

use std::collections::BTreeMap;
/// The group client's TLS and SASL settings.
#[derive(Debug, Default)]
pub struct GroupSecurity {
    pub tls: Option<sluice_group::Tls>,
    pub sasl: Option<sluice_group::Sasl>,
}

/// The group client's settings for `security.protocol`; an error names
/// the key of what it cannot do.
pub fn from_worker(props: &BTreeMap<String, String>) -> Result<GroupSecurity, String> {
    let protocol = props
        .get("security.protocol")
        .map(|p| p.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "PLAINTEXT".into());
    let (tls, sasl) = match protocol.as_str() {
        "PLAINTEXT" => (false, false),
        "SSL" => (true, false),
        "SASL_PLAINTEXT" => (false, true),
        "SASL_SSL" => (true, true),
        other => {
            return Err(format!(
                "Invalid value {other} for configuration security.protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            ));
        }
    };
    Ok(GroupSecurity {
        tls: if tls {
            Some(tls_settings(props)?)
        } else {
            None
        },
        sasl: if sasl {
            Some(sasl_settings(props)?)
        } else {
            None
        },
    })
}

fn tls_settings(props: &BTreeMap<String, String>) -> Result<sluice_group::Tls, String> {
    // Kafka's client keys: the top-level `ssl.*`, with
    // `ssl.endpoint.identification.algorithm`.
    let keys = crate::tls::SslProps::new(props, crate::tls::Scope::Prefix(""));
    crate::tls::client_config_of(&keys).map(sluice_group::Tls)
}

/// `sasl.mechanism` (Kafka's default is GSSAPI, which the group client
/// does not speak: it must be set) and the credentials.
fn sasl_settings(props: &BTreeMap<String, String>) -> Result<sluice_group::Sasl, String> {
    let name = props
        .get("sasl.mechanism")
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .unwrap_or("GSSAPI");
    let mechanism = sluice_group::Mechanism::parse(name).ok_or_else(|| {
        format!(
            "Invalid value {name} for configuration sasl.mechanism: the worker group client of distributed mode speaks PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER"
        )
    })?;
    // The Java keys as librdkafka reads them: `sasl.jaas.config` becomes
    // `sasl.username` / `sasl.password`.
    let sasl: BTreeMap<String, String> = props
        .iter()
        .filter(|(k, _)| k.starts_with("sasl."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let settings = crate::kafka::librdkafka_settings(&[&sasl]);
    let get = |key: &str| {
        settings
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    if mechanism == sluice_group::Mechanism::OAuthBearer {
        // Kafka's OIDC login: the keys librdkafka's clients use too.
        let (Some(url), Some(id), Some(secret)) = (
            get("sasl.oauthbearer.token.endpoint.url"),
            get("sasl.oauthbearer.client.id"),
            get("sasl.oauthbearer.client.secret"),
        ) else {
            return Err(
                "sasl.mechanism=OAUTHBEARER in distributed mode needs sasl.oauthbearer.token.endpoint.url and sasl.jaas.config with OAuthBearerLoginModule clientId=\"...\" clientSecret=\"...\""
                    .into(),
            );
        };
        let tokens = crate::kafka::oidc::OidcTokens::new(
            url,
            id.clone(),
            secret,
            get("sasl.oauthbearer.scope"),
        );
        return Ok(sluice_group::Sasl {
            mechanism,
            username: id,
            password: String::new(),
            tokens: Some(std::sync::Arc::new(tokens)),
        });
    }
    match (get("sasl.username"), get("sasl.password")) {
        (Some(username), Some(password)) => Ok(sluice_group::Sasl {
            mechanism,
            username,
            password,
            tokens: None,
        }),
        _ => Err(format!(
            "sasl.mechanism={name} needs sasl.jaas.config with username=\"...\" password=\"...\" (PlainLoginModule or ScramLoginModule), or sasl.username and sasl.password"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props;

    #[test]
    fn protocols() {
        let none = from_worker(&props(&[])).unwrap();
        assert!(none.tls.is_none() && none.sasl.is_none());
        let ssl = from_worker(&props(&[("security.protocol", "SSL")])).unwrap();
        assert!(ssl.tls.is_some() && ssl.sasl.is_none());
        let e = from_worker(&props(&[("security.protocol", "TLS")])).unwrap_err();
        assert!(e.contains("security.protocol"), "{e}");
    }

    #[test]
    fn sasl_from_kafka_connect_keys() {
        let jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"connect\" password=\"c0nnect\";";
        let s = from_worker(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", jaas),
        ]))
        .unwrap();
        assert!(s.tls.is_some());
        assert_eq!(
            s.sasl,
            Some(sluice_group::Sasl {
                mechanism: sluice_group::Mechanism::ScramSha512,
                username: "connect".into(),
                password: "c0nnect".into(),
                tokens: None,
            })
        );
        let s = from_worker(&props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ]))
        .unwrap();
        assert!(s.tls.is_none());
        assert_eq!(s.sasl.map(|s| s.username), Some("u".to_string()));
        // Kafka's default mechanism is GSSAPI: refused, naming the key.
        let e = from_worker(&props(&[("security.protocol", "SASL_PLAINTEXT")])).unwrap_err();
        assert!(e.contains("sasl.mechanism") && e.contains("GSSAPI"), "{e}");
        let e = from_worker(&props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
        ]))
        .unwrap_err();
        assert!(e.contains("sasl.jaas.config"), "{e}");
        // OAUTHBEARER: Kafka's OIDC keys.
        let jaas = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"app\" clientSecret=\"s\";";
        let s = from_worker(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.oauthbearer.token.endpoint.url", "https://idp/token"),
            ("sasl.jaas.config", jaas),
        ]))
        .unwrap();
        let sasl = s.sasl.unwrap();
        assert_eq!(sasl.mechanism, sluice_group::Mechanism::OAuthBearer);
        assert!(sasl.tokens.is_some() && sasl.username == "app");
        let e = from_worker(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.jaas.config", jaas),
        ]))
        .unwrap_err();
        assert!(e.contains("token.endpoint.url"), "{e}");
    }
}
