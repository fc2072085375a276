//! Kafka's Java client settings (what worker files and Kafka Connect
//! tutorials hold) as librdkafka reads them: renamed keys, converted
//! units, `sasl.jaas.config` taken apart, Java keystores and truststores
//! turned into librdkafka's PEM and PKCS#12 keys. Keys that mean nothing
//! to librdkafka are dropped with one warning each.

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Warns once per key for the life of the process.
fn warn_once(key: &str, why: &str) {
    static SEEN: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(|| Mutex::new(BTreeSet::new()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if seen.insert(key.to_string()) {
        tracing::warn!(key, "Kafka client setting ignored: {why}");
    }
}

/// Java-only settings with no librdkafka meaning.
fn java_only(key: &str) -> bool {
    key.ends_with(".serializer")
        || key.ends_with(".deserializer")
        || key.ends_with(".callback.handler.class")
        || matches!(
            key,
            "interceptor.classes"
                | "partitioner.class"
                | "ssl.truststore.type"
                | "ssl.keystore.type"
                | "ssl.truststore.password"
                | "ssl.protocol"
                | "ssl.enabled.protocols"
                | "ssl.keymanager.algorithm"
                | "ssl.trustmanager.algorithm"
                | "ssl.secure.random.implementation"
                | "ssl.provider"
                | "ssl.engine.factory.class"
                | "ssl.principal.mapping.rules"
        )
        || key.starts_with("sasl.login.")
        // Kafka's OAUTHBEARER settings librdkafka has no equivalent for
        // (it reads `sub` and `exp` from the token itself).
        || matches!(
            key,
            "sasl.oauthbearer.sub.claim.name"
                | "sasl.oauthbearer.scope.claim.name"
                | "sasl.oauthbearer.clock.skew.seconds"
                | "sasl.oauthbearer.header.urlencode"
                | "sasl.oauthbearer.expected.audience"
                | "sasl.oauthbearer.expected.issuer"
        )
        || key.starts_with("sasl.oauthbearer.jwks.endpoint.")
}

/// `Module required key="value" key2=value2;` → the module and options.
pub fn parse_jaas(text: &str) -> Option<(String, Vec<(String, String)>)> {
    let text = text.trim().trim_end_matches(';').trim();
    let mut chars = text.char_indices().peekable();
    let mut tokens: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => {
                if let Some((_, n)) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    let mut it = tokens.into_iter();
    let module = it.next()?;
    let _flag = it.next()?;
    let options = it
        .filter_map(|t| {
            t.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    Some((module, options))
}

fn looks_pem(path: &str) -> bool {
    std::fs::read(path)
        .map(|b| b.windows(11).any(|w| w == b"-----BEGIN "))
        .unwrap_or(false)
}

/// A DER SEQUENCE: a PKCS12 file rather than JKS (whose magic is
/// `FEEDFEED`).
fn looks_pkcs12(path: &str) -> bool {
    std::fs::read(path)
        .map(|b| b.first() == Some(&0x30))
        .unwrap_or(false)
}

/// One layer of Java-named settings as librdkafka settings, in order.
/// `setting(key)` reads the store settings that go with a location
/// (`ssl.truststore.type`, `ssl.truststore.password`, ...) from all
/// layers.
pub fn translate(
    key: &str,
    value: &str,
    setting: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let one = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    match key {
        // Read by the sink runtime (records per put), not by librdkafka.
        "max.poll.records" => Vec::new(),
        // Java's TLS 1.2 suite names (TLS_ECDHE_...) are not OpenSSL's.
        "ssl.cipher.suites"
            if value.split(',').any(|c| {
                ["TLS_ECDHE_", "TLS_RSA_", "TLS_DHE_"]
                    .iter()
                    .any(|p| c.trim().starts_with(p))
            }) =>
        {
            warn_once(
                key,
                "Java cipher suite names are not OpenSSL's; use OpenSSL names (ECDHE-RSA-AES128-GCM-SHA256)",
            );
            Vec::new()
        }
        "buffer.memory" => match value.trim().parse::<u64>() {
            Ok(bytes) => one(
                "queue.buffering.max.kbytes",
                &(bytes / 1024).max(1).to_string(),
            ),
            Err(_) => {
                warn_once(key, "not a number of bytes");
                Vec::new()
            }
        },
        "delivery.timeout.ms" => one("message.timeout.ms", value),
        "ssl.endpoint.identification.algorithm" if value.trim().is_empty() => one(key, "none"),
        "ssl.truststore.certificates" => one("ssl.ca.pem", value),
        "ssl.truststore.location" => {
            let ty = setting("ssl.truststore.type");
            if ty.as_deref().map(str::to_ascii_uppercase).as_deref() == Some("PEM")
                || (ty.is_none() && looks_pem(value))
            {
                return one("ssl.ca.location", value);
            }
            // librdkafka reads PEM CAs only: a PKCS12 truststore is read
            // here and handed over as PEM text.
            let mut store = std::collections::BTreeMap::new();
            store.insert(key.to_string(), value.to_string());
            for k in ["ssl.truststore.type", "ssl.truststore.password"] {
                if let Some(v) = setting(k) {
                    store.insert(k.to_string(), v);
                }
            }
            let p = sluice_tls::SslProps::new(&store, sluice_tls::Scope::Prefix(""));
            match sluice_tls::stores::trusted_pem(&p) {
                Ok(Some(pem)) => one("ssl.ca.pem", &pem),
                Ok(None) => Vec::new(),
                Err(e) => {
                    warn_once(key, &e);
                    Vec::new()
                }
            }
        }
        "ssl.keystore.certificate.chain" => one("ssl.certificate.pem", value),
        "ssl.keystore.key" => one("ssl.key.pem", value),
        "ssl.keystore.location" => {
            let ty = setting("ssl.keystore.type").map(|t| t.to_ascii_uppercase());
            let pem = || {
                vec![
                    ("ssl.certificate.location".to_string(), value.to_string()),
                    ("ssl.key.location".to_string(), value.to_string()),
                ]
            };
            match ty.as_deref() {
                Some("PKCS12") => one(key, value),
                Some("PEM") => pem(),
                None if looks_pem(value) => pem(),
                // Java opens PKCS12 files under the JKS type (its
                // default) too; so does librdkafka's keystore key.
                None | Some("JKS") if looks_pkcs12(value) => one(key, value),
                _ => {
                    warn_once(
                        key,
                        "JKS keystores are not read by librdkafka: convert with `keytool -importkeystore -deststoretype PKCS12` and set ssl.keystore.type=PKCS12",
                    );
                    Vec::new()
                }
            }
        }
        "sasl.jaas.config" => match parse_jaas(value) {
            Some((module, opts)) => {
                let opt = |k: &str| opts.iter().find(|(o, _)| o == k).map(|(_, v)| v.clone());
                let simple = module.rsplit('.').next().unwrap_or(&module).to_string();
                match simple.as_str() {
                    "PlainLoginModule" | "ScramLoginModule" => {
                        let mut out = Vec::new();
                        if let Some(u) = opt("username") {
                            out.push(("sasl.username".to_string(), u));
                        }
                        if let Some(p) = opt("password") {
                            out.push(("sasl.password".to_string(), p));
                        }
                        out
                    }
                    "OAuthBearerLoginModule" => {
                        let mut out = Vec::new();
                        if let Some(id) = opt("clientId") {
                            out.push(("sasl.oauthbearer.method".to_string(), "oidc".to_string()));
                            out.push(("sasl.oauthbearer.client.id".to_string(), id));
                        }
                        if let Some(s) = opt("clientSecret") {
                            out.push(("sasl.oauthbearer.client.secret".to_string(), s));
                        }
                        if let Some(s) = opt("scope") {
                            out.push(("sasl.oauthbearer.scope".to_string(), s));
                        }
                        out
                    }
                    _ => {
                        warn_once(
                            key,
                            "only the PLAIN, SCRAM and OAUTHBEARER login modules are understood",
                        );
                        Vec::new()
                    }
                }
            }
            None => {
                warn_once(key, "not a JAAS entry (Module required key=\"value\";)");
                Vec::new()
            }
        },
        k if java_only(k) => {
            warn_once(k, "a Java client setting with no librdkafka equivalent");
            Vec::new()
        }
        _ => one(key, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(key: &str, value: &str) -> Vec<(String, String)> {
        translate(key, value, &|_| None)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn java_settings_become_librdkafka_settings() {
        assert_eq!(
            t("buffer.memory", "33554432"),
            pairs(&[("queue.buffering.max.kbytes", "32768")])
        );
        assert_eq!(
            t("ssl.endpoint.identification.algorithm", ""),
            pairs(&[("ssl.endpoint.identification.algorithm", "none")])
        );
        assert_eq!(t("max.poll.records", "500"), Vec::new());
        assert_eq!(t("ssl.enabled.protocols", "TLSv1.3"), Vec::new());
        assert_eq!(t("sasl.login.refresh.window.factor", "0.8"), Vec::new());
        assert_eq!(
            t("ssl.cipher.suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            Vec::new()
        );
        assert_eq!(
            t("ssl.cipher.suites", "ECDHE-RSA-AES128-GCM-SHA256"),
            pairs(&[("ssl.cipher.suites", "ECDHE-RSA-AES128-GCM-SHA256")])
        );
        assert_eq!(t("key.serializer", "x"), Vec::new());
        assert_eq!(t("linger.ms", "5"), pairs(&[("linger.ms", "5")]));
        assert_eq!(
            t(
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="s3 \"cret\"";"#
            ),
            pairs(&[
                ("sasl.username", "connect"),
                ("sasl.password", "s3 \"cret\"")
            ])
        );
        assert_eq!(
            t(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=app clientSecret=xyz scope=kafka;"
            ),
            pairs(&[
                ("sasl.oauthbearer.method", "oidc"),
                ("sasl.oauthbearer.client.id", "app"),
                ("sasl.oauthbearer.client.secret", "xyz"),
                ("sasl.oauthbearer.scope", "kafka"),
            ])
        );
        let pem = |k: &str| {
            (k == "ssl.truststore.type" || k == "ssl.keystore.type").then(|| "PEM".to_string())
        };
        assert_eq!(
            translate("ssl.truststore.location", "/ca.pem", &pem),
            pairs(&[("ssl.ca.location", "/ca.pem")])
        );
        assert_eq!(
            translate("ssl.keystore.location", "/me.pem", &pem),
            pairs(&[
                ("ssl.certificate.location", "/me.pem"),
                ("ssl.key.location", "/me.pem")
            ])
        );
        let p12 = |k: &str| (k == "ssl.keystore.type").then(|| "PKCS12".to_string());
        assert_eq!(
            translate("ssl.keystore.location", "/me.p12", &p12),
            pairs(&[("ssl.keystore.location", "/me.p12")])
        );
        // A JKS truststore (the Java default) cannot be read: dropped, warned.
        assert_eq!(t("ssl.truststore.location", "/nonexistent.jks"), Vec::new());
    }

    /// keytool-made PKCS12 stores (tls/tests/fixtures): the truststore
    /// reaches librdkafka as PEM text, the keystore as itself even with
    /// Kafka's default store type (JKS) in force.
    #[test]
    fn pkcs12_stores_reach_librdkafka() {
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../tls/tests/fixtures");
        let trust = format!("{fixtures}/truststore.p12");
        let ca = std::fs::read_to_string(format!("{fixtures}/ca.pem")).unwrap();
        let with_password = |k: &str| (k == "ssl.truststore.password").then(|| "changeit".into());
        let out = translate("ssl.truststore.location", &trust, &with_password);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].0, "ssl.ca.pem");
        let b64 = |pem: &str| -> String {
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>()
        };
        assert_eq!(b64(&out[0].1), b64(&ca));
        // Without the password the store cannot be opened: dropped, warned.
        assert_eq!(t("ssl.truststore.location", &trust), Vec::new());
        let keystore = format!("{fixtures}/worker.p12");
        assert_eq!(
            t("ssl.keystore.location", &keystore),
            pairs(&[("ssl.keystore.location", keystore.as_str())])
        );
        let jks = |k: &str| (k == "ssl.keystore.type").then(|| "JKS".to_string());
        assert_eq!(
            translate("ssl.keystore.location", &keystore, &jks),
            pairs(&[("ssl.keystore.location", keystore.as_str())])
        );
        assert_eq!(
            translate(
                "ssl.keystore.location",
                &format!("{fixtures}/worker.jks"),
                &jks
            ),
            Vec::new()
        );
    }
}
