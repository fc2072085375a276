//! TLS configurations from Kafka's `ssl.*` keys, with rustls and the ring
//! provider: REST listeners (`listeners=https://host:port`), the schema
//! registry's listeners, and clients (worker to worker, the registry
//! client of the converters, the group client).
//!
//! A REST listener's keys are `listeners.https.ssl.<key>`, falling back to
//! `ssl.<key>`, as Kafka Connect reads them; other keys sit under a prefix
//! ([`Scope`]). Keystores and truststores are PEM (files or inline text)
//! or PKCS12 files, read by [`crate::stores`].

use std::collections::BTreeMap;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::stores::{self, keystore};
pub use crate::stores::{
    KEY_PASSWORD, KEYSTORE_CHAIN, KEYSTORE_KEY, KEYSTORE_LOCATION, KEYSTORE_PASSWORD,
    KEYSTORE_TYPE, TRUSTSTORE_CERTIFICATES, TRUSTSTORE_LOCATION, TRUSTSTORE_PASSWORD,
    TRUSTSTORE_TYPE,
};
pub const CLIENT_AUTH: &str = "ssl.client.auth";
pub const ENABLED_PROTOCOLS: &str = "ssl.enabled.protocols";
pub const ENDPOINT_IDENTIFICATION: &str = "ssl.endpoint.identification.algorithm";
/// The pseudo-listener whose keys are only the top-level `ssl.*` ones,
/// Kafka's client keys (`listeners.kafka.ssl.*` is never set).
pub const KAFKA: &str = "kafka";

/// The ring provider: the one crypto provider Sluice builds with (aws-lc
/// needs cmake). rustls 0.23.48 deprecates it because ring has no
/// post-quantum key exchange; TLS 1.3 with X25519 is what it offers.
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Where a set of `ssl.*` keys is read from.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// A REST listener's keys: `listeners.<name>.ssl.x`, falling back to
    /// `ssl.x`, as Kafka Connect reads them.
    Listener(&'a str),
    /// Keys under a prefix (`""` for Kafka's top-level client keys,
    /// `schema.registry.` for a converter's registry client), named with
    /// it in errors.
    Prefix(&'a str),
    /// A connector's own names for Kafka's keys (`(kafka key, own key)`,
    /// e.g. `("ssl.truststore.location", "mqtt.ssl.trust.store.path")`),
    /// named by their own names in errors. Kafka keys not in the list are
    /// not set; peers' names are always checked.
    Renamed(&'a [(&'a str, &'a str)]),
}

/// One scope's view of a set of `ssl.*` keys.
#[derive(Debug, Clone, Copy)]
pub struct SslProps<'a> {
    props: &'a BTreeMap<String, String>,
    scope: Scope<'a>,
}

impl<'a> SslProps<'a> {
    /// The keys of `scope` in `props`.
    pub fn new(props: &'a BTreeMap<String, String>, scope: Scope<'a>) -> Self {
        // Kafka's client keys have no listener form
        // (`listeners.kafka.ssl.*` is never set).
        let scope = match scope {
            Scope::Listener(KAFKA) => Scope::Prefix(""),
            s => s,
        };
        Self { props, scope }
    }

    /// The key actually set and its value.
    pub fn get(&self, key: &str) -> Option<(String, &'a str)> {
        let set = |k: String| {
            self.props
                .get(&k)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (k, v.as_str()))
        };
        match self.scope {
            Scope::Listener(l) => set(format!("listeners.{l}.{key}")).or_else(|| set(key.into())),
            Scope::Prefix(p) => set(format!("{p}{key}")),
            Scope::Renamed(names) => names
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, own)| set((*own).to_string())),
        }
    }

    /// How errors name `key`.
    pub fn name(&self, key: &str) -> String {
        match self.scope {
            Scope::Listener(l) => format!("listeners.{l}.{key} (or {key})"),
            Scope::Prefix(p) => format!("{p}{key}"),
            Scope::Renamed(names) => names
                .iter()
                .find(|(k, _)| *k == key)
                .map_or_else(|| key.to_string(), |(_, own)| (*own).to_string()),
        }
    }

    /// What errors call this set of keys.
    fn label(&self) -> String {
        match self.scope {
            Scope::Listener(l) => format!("listener {l}"),
            Scope::Prefix("") => "the ssl.* keys".into(),
            Scope::Prefix(p) => format!("the {p}ssl.* keys"),
            Scope::Renamed(_) => "the TLS keys".into(),
        }
    }

    /// Whether a keystore (a client certificate) is configured.
    pub fn has_keystore(&self) -> bool {
        self.get(KEYSTORE_LOCATION).is_some() || self.get(KEYSTORE_CHAIN).is_some()
    }
}

/// CA certificates from `ssl.truststore.*`, when set.
fn truststore(p: &SslProps<'_>) -> Result<Option<RootCertStore>, String> {
    let Some((key, certs)) = stores::trusted_certs(p)? else {
        return Ok(None);
    };
    let mut roots = RootCertStore::empty();
    for c in certs {
        roots
            .add(c)
            .map_err(|e| format!("{key}: a certificate cannot be used as a trust anchor: {e}"))?;
    }
    Ok(Some(roots))
}

fn versions(p: &SslProps<'_>) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let Some((key, list)) = p.get(ENABLED_PROTOCOLS) else {
        return Ok(rustls::DEFAULT_VERSIONS.to_vec());
    };
    let mut out = Vec::new();
    for v in list.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        match v {
            "TLSv1.3" => out.push(&rustls::version::TLS13),
            "TLSv1.2" => out.push(&rustls::version::TLS12),
            // Older versions are not offered by rustls; leaving them in
            // the list (as Kafka's older defaults do) is harmless.
            "TLSv1.1" | "TLSv1" => {}
            other => {
                return Err(format!(
                    "Invalid value {list} for configuration {key}: unknown protocol {other} (TLSv1.2, TLSv1.3)"
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("{key}={list} enables neither TLSv1.2 nor TLSv1.3"));
    }
    Ok(out)
}

/// The server side of an https listener named `listener` (`https`).
pub fn server_config(
    props: &BTreeMap<String, String>,
    listener: &str,
) -> Result<Arc<ServerConfig>, String> {
    server_config_of(&SslProps::new(props, Scope::Listener(listener)))
}

/// The server side of a TLS listener from the keys of `p`: a keystore,
/// and `ssl.client.auth` (`none`, `requested`, `required`) with a
/// truststore to check client certificates against.
pub fn server_config_of(p: &SslProps<'_>) -> Result<Arc<ServerConfig>, String> {
    let p = *p;
    let listener = p.label();
    let (chain, key) = keystore(&p)?;
    let roots = truststore(&p)?;
    let auth = p
        .get(CLIENT_AUTH)
        .map(|(k, v)| (k, v.trim().to_ascii_lowercase()))
        .unwrap_or_else(|| (CLIENT_AUTH.to_string(), "none".to_string()));
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions(&p)?)
        .map_err(|e| format!("TLS settings of {listener}: {e}"))?;
    let builder = match auth.1.as_str() {
        "none" => builder.with_no_client_auth(),
        "requested" | "required" => {
            let roots = roots.ok_or_else(|| {
                format!(
                    "{}={} needs a truststore ({} or {}) to check client certificates against",
                    auth.0,
                    auth.1,
                    p.name(TRUSTSTORE_LOCATION),
                    p.name(TRUSTSTORE_CERTIFICATES)
                )
            })?;
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let v = if auth.1 == "requested" {
                v.allow_unauthenticated()
            } else {
                v
            };
            builder.with_client_cert_verifier(
                v.build()
                    .map_err(|e| format!("{}: cannot check client certificates: {e}", auth.0))?,
            )
        }
        other => {
            return Err(format!(
                "Invalid value {other} for configuration {}: none, requested or required",
                auth.0
            ));
        }
    };
    let mut cfg = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("{listener}: the key does not fit the certificate: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// CA certificates of the system (Debian's bundle), for https peers the
/// worker has no truststore for.
pub fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    if let Ok(pem) = std::fs::read("/etc/ssl/certs/ca-certificates.crt") {
        for c in CertificateDer::pem_slice_iter(&pem).flatten() {
            let _ = roots.add(c);
        }
    }
    roots
}

/// The CAs a client of `listener`'s keys trusts: its truststore, or the
/// system's.
pub fn roots(props: &BTreeMap<String, String>, listener: &str) -> Result<RootCertStore, String> {
    roots_of(&SslProps::new(props, Scope::Listener(listener)))
}

/// The CAs the keys of `p` trust: their truststore, or the system's.
pub fn roots_of(p: &SslProps<'_>) -> Result<RootCertStore, String> {
    Ok(truststore(p)?.unwrap_or_else(system_roots))
}

/// The client side of calls to other workers over https, as Kafka
/// Connect's REST client sets it up from the listener's keys: their
/// certificates are checked against the truststore (the system's CAs
/// without one), and the keystore is offered as this worker's client
/// certificate when there is one (for peers with `ssl.client.auth`).
pub fn client_config(
    props: &BTreeMap<String, String>,
    listener: &str,
) -> Result<Arc<rustls::ClientConfig>, String> {
    client_config_of(&SslProps::new(props, Scope::Listener(listener)))
}

/// The client side from the keys of `p`: their truststore (the system's
/// CAs without one), their keystore as the client certificate, and for
/// prefixed (Kafka client) keys an empty
/// `ssl.endpoint.identification.algorithm`, which checks the chain but
/// not the name.
pub fn client_config_of(p: &SslProps<'_>) -> Result<Arc<rustls::ClientConfig>, String> {
    let p = *p;
    let listener = p.label();
    let roots = roots_of(&p)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions(&p)?)
        .map_err(|e| format!("TLS settings of {listener}: {e}"))?
        .with_root_certificates(roots.clone());
    let cfg = if p.has_keystore() {
        let (chain, key) = keystore(&p)?;
        builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("{listener}: the key does not fit the certificate: {e}"))?
    } else {
        builder.with_no_client_auth()
    };
    // Kafka's clients check the name unless the algorithm is set empty;
    // REST listeners' peers always have their names checked.
    let names = match p.scope {
        Scope::Listener(_) | Scope::Renamed(_) => true,
        Scope::Prefix(prefix) => p
            .props
            .get(&format!("{prefix}{ENDPOINT_IDENTIFICATION}"))
            .is_none_or(|v| !v.trim().is_empty()),
    };
    if names {
        return Ok(Arc::new(cfg));
    }
    let mut cfg = cfg;
    cfg.dangerous()
        .set_certificate_verifier(crate::chain_only::verifier(roots)?);
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn refused(pairs: &[(&str, &str)]) -> String {
        server_config(&props(pairs), "https").unwrap_err()
    }

    #[test]
    fn missing_and_foreign_stores_are_named() {
        let e = refused(&[]);
        assert!(
            e.contains("listeners.https.ssl.keystore.location (or ssl.keystore.location)"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let jks = dir.path().join("ks.jks");
        std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let loc = jks.display().to_string();
        // The listener's own key wins over the plain one.
        let e = refused(&[
            ("listeners.https.ssl.keystore.location", &loc),
            ("ssl.keystore.location", "/nonexistent"),
        ]);
        assert!(
            e.starts_with("listeners.https.ssl.keystore.location"),
            "{e}"
        );
        assert!(
            e.contains("keytool -importkeystore") && e.contains("JKS store"),
            "{e}"
        );
        let e = refused(&[("ssl.keystore.certificate.chain", "x")]);
        assert!(e.contains("ssl.keystore.key"), "{e}");
    }
}
