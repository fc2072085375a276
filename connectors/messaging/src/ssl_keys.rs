//! Kafka's client TLS keys (`ssl.truststore.location`, ...) under a
//! connector's prefix (`nats.`, `rabbitmq.https.`), declared once for
//! every connector that takes them, and the validation issue when their
//! stores cannot be read.

use std::collections::BTreeMap;

use sluice_connect_api::config::{ConfigKey, Importance, Password, TypedDef};

/// The keys after the prefix: (Kafka key, secret, what it holds).
const SUFFIXES: [(&str, bool, &str); 10] = [
    (
        "ssl.truststore.location",
        false,
        "CA certificates the server's certificate is checked against: a PEM or PKCS12 file (a JKS store gets the keytool command that converts it). Unset: the system's CAs.",
    ),
    (
        "ssl.truststore.password",
        true,
        "Password of a PKCS12 truststore.",
    ),
    (
        "ssl.truststore.type",
        false,
        "PEM or PKCS12; unset (or JKS, Kafka's default), the file's content decides.",
    ),
    (
        "ssl.truststore.certificates",
        false,
        "CA certificates as PEM text, instead of a truststore file.",
    ),
    (
        "ssl.keystore.location",
        false,
        "The client certificate and key, for servers that verify clients: a PEM file (key and chain) or a PKCS12 store with one key.",
    ),
    (
        "ssl.keystore.password",
        true,
        "Password of a PKCS12 keystore.",
    ),
    (
        "ssl.keystore.type",
        false,
        "PEM or PKCS12; unset (or JKS, Kafka's default), the file's content decides.",
    ),
    (
        "ssl.keystore.certificate.chain",
        false,
        "The client certificate chain as PEM text, with the keystore key.",
    ),
    (
        "ssl.keystore.key",
        true,
        "The client key as PEM text, with the keystore certificate chain.",
    ),
    (
        "ssl.key.password",
        true,
        "Password of an encrypted PEM key (-----BEGIN ENCRYPTED PRIVATE KEY-----).",
    ),
];

/// The full key names of one prefix, in the order of [`SUFFIXES`].
pub(crate) type Names = [&'static str; 10];

/// Declares the keys `names` (in group `group`), storing the ones that
/// are set into the map `ssl` returns, by full name.
pub(crate) fn declare<C, F>(
    def: TypedDef<C>,
    names: &'static Names,
    group: &'static str,
    ssl: F,
) -> TypedDef<C>
where
    C: Default + 'static,
    F: Fn(&mut C) -> &mut BTreeMap<String, String> + Copy + Send + Sync + 'static,
{
    let mut def = def;
    for (i, (name, (suffix, secret, doc))) in names.iter().zip(SUFFIXES).enumerate() {
        debug_assert!(name.ends_with(suffix), "{name} is not a {suffix} key");
        let key = ConfigKey::named(*name)
            .importance(Importance::Medium)
            .group(group, i32::try_from(i).unwrap_or(0) + 1)
            .doc(doc);
        let name: &'static str = name;
        def = if secret {
            def.field(key, move |c, v: Option<Password>| {
                if let Some(v) = v.filter(|p| !p.expose().is_empty()) {
                    ssl(c).insert(name.to_string(), v.expose().to_string());
                }
            })
        } else {
            def.field(key.default_value(""), move |c, v: String| {
                if !v.trim().is_empty() {
                    ssl(c).insert(name.to_string(), v);
                }
            })
        };
    }
    def
}

/// The client TLS settings of the keys `ssl` holds under `prefix`.
pub(crate) fn client_config(
    ssl: &BTreeMap<String, String>,
    prefix: &str,
) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    let p = sluice_tls::SslProps::new(ssl, sluice_tls::Scope::Prefix(prefix));
    sluice_tls::client_config_of(&p)
}

/// A validation issue for `result`'s error, on the key it names (the
/// truststore location when it names none).
pub(crate) fn issue<T>(
    result: Result<T, String>,
    names: &'static Names,
) -> Vec<(&'static str, String)> {
    match result {
        Ok(_) => vec![],
        Err(e) => {
            let key = names
                .iter()
                .copied()
                .find(|k| e.starts_with(k))
                .unwrap_or(names[0]);
            vec![(key, e)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_name_the_key() {
        const N: Names = [
            "x.ssl.truststore.location",
            "x.ssl.truststore.password",
            "x.ssl.truststore.type",
            "x.ssl.truststore.certificates",
            "x.ssl.keystore.location",
            "x.ssl.keystore.password",
            "x.ssl.keystore.type",
            "x.ssl.keystore.certificate.chain",
            "x.ssl.keystore.key",
            "x.ssl.key.password",
        ];
        for (n, (s, _, _)) in N.iter().zip(SUFFIXES) {
            assert!(n.ends_with(s));
        }
        let mut ssl = BTreeMap::new();
        ssl.insert(
            "x.ssl.keystore.location".to_string(),
            "/nonexistent".to_string(),
        );
        let got = issue(client_config(&ssl, "x."), &N);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "x.ssl.keystore.location", "{got:?}");
        assert!(got[0].1.contains("/nonexistent"), "{got:?}");
    }
}
