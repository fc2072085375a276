//! TLS configurations from Kafka's `ssl.*` keys, with rustls and the ring
//! provider: REST listeners (`listeners=https://host:port`), the schema
//! registry's listeners, and clients (worker to worker, the registry
//! client of the converters, the group client).
//!
//! A REST listener's keys are `listeners.https.ssl.<key>`, falling back to
//! `ssl.<key>`, as Kafka Connect reads them; other keys sit under a prefix
//! ([`Scope`]). Keystores and truststores are
//! PEM: a file (`ssl.keystore.location` with the private key and the
//! certificate chain, `ssl.truststore.location` with CA certificates) or
//! inline PEM text (`ssl.keystore.certificate.chain` + `ssl.keystore.key`,
//! `ssl.truststore.certificates`), as Kafka's `PEM` store type has them.
//! JKS and PKCS12 stores, and encrypted keys, are refused with the command
//! that converts them.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

pub const KEYSTORE_TYPE: &str = "ssl.keystore.type";
pub const KEYSTORE_LOCATION: &str = "ssl.keystore.location";
pub const KEYSTORE_CHAIN: &str = "ssl.keystore.certificate.chain";
pub const KEYSTORE_KEY: &str = "ssl.keystore.key";
pub const KEY_PASSWORD: &str = "ssl.key.password";
pub const TRUSTSTORE_TYPE: &str = "ssl.truststore.type";
pub const TRUSTSTORE_LOCATION: &str = "ssl.truststore.location";
pub const TRUSTSTORE_CERTIFICATES: &str = "ssl.truststore.certificates";
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
        }
    }

    /// How errors name `key`.
    pub fn name(&self, key: &str) -> String {
        match self.scope {
            Scope::Listener(l) => format!("listeners.{l}.{key} (or {key})"),
            Scope::Prefix(p) => format!("{p}{key}"),
        }
    }

    /// What errors call this set of keys.
    fn label(&self) -> String {
        match self.scope {
            Scope::Listener(l) => format!("listener {l}"),
            Scope::Prefix("") => "the ssl.* keys".into(),
            Scope::Prefix(p) => format!("the {p}ssl.* keys"),
        }
    }

    /// Whether a keystore (a client certificate) is configured.
    pub fn has_keystore(&self) -> bool {
        self.get(KEYSTORE_LOCATION).is_some() || self.get(KEYSTORE_CHAIN).is_some()
    }
}

fn pem_certs(pem: &[u8], key: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{key}: not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "{key}: no certificate (-----BEGIN CERTIFICATE-----) found"
        ));
    }
    Ok(certs)
}

fn pem_key(pem: &[u8], key: &str) -> Result<PrivateKeyDer<'static>, String> {
    if pem.windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(format!(
            "{key}: the private key is encrypted, which Sluice does not read yet ({KEY_PASSWORD}); \
             store it decrypted with `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-plain.pem` \
             and protect the file with its permissions"
        ));
    }
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| format!("{key}: no PEM private key (PKCS#8, PKCS#1 or SEC1) found: {e}"))
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The refusal of a store type Sluice does not read, with the conversion.
fn unsupported_store(key: &str, location: &str, ty: &str) -> String {
    let to_p12 = format!(
        "keytool -importkeystore -srckeystore {location} -destkeystore store.p12 -deststoretype PKCS12"
    );
    let to_pem = "openssl pkcs12 -in store.p12 -out store.pem -nodes";
    match ty {
        "PKCS12" => format!(
            "{key}: PKCS12 stores are not read yet; convert with `{to_pem}` and set the store type to PEM"
        ),
        _ => format!(
            "{key}: {location} is a {ty} store, which Sluice does not read; convert it with `{to_p12}` then `{to_pem}`, and set the store type to PEM"
        ),
    }
}

/// Reads a PEM store file, refusing other store types.
fn read_store(
    p: &SslProps<'_>,
    type_key: &str,
    loc_key: &str,
    loc: &str,
) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(loc).map_err(|e| format!("{loc_key}: cannot read {loc}: {e}"))?;
    let ty = p
        .get(type_key)
        .map(|(_, t)| t.trim().to_ascii_uppercase())
        .unwrap_or_else(|| {
            if is_pem(&bytes) {
                "PEM".into()
            } else {
                "JKS".into()
            }
        });
    if ty != "PEM" || !is_pem(&bytes) {
        return Err(unsupported_store(loc_key, loc, &ty));
    }
    Ok(bytes)
}

type KeyPair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn keystore(p: &SslProps<'_>) -> Result<KeyPair, String> {
    if let Some((chain_key, chain)) = p.get(KEYSTORE_CHAIN) {
        let (key_key, key) = p
            .get(KEYSTORE_KEY)
            .ok_or_else(|| format!("{chain_key} needs {} as well", p.name(KEYSTORE_KEY)))?;
        return Ok((
            pem_certs(chain.as_bytes(), &chain_key)?,
            pem_key(key.as_bytes(), &key_key)?,
        ));
    }
    let (loc_key, loc) = p.get(KEYSTORE_LOCATION).ok_or_else(|| {
        format!(
            "a TLS key needs {} (a PEM file with the key and certificate chain) or {} and {}",
            p.name(KEYSTORE_LOCATION),
            p.name(KEYSTORE_CHAIN),
            p.name(KEYSTORE_KEY)
        )
    })?;
    let bytes = read_store(p, KEYSTORE_TYPE, &loc_key, loc)?;
    Ok((pem_certs(&bytes, &loc_key)?, pem_key(&bytes, &loc_key)?))
}

/// CA certificates from `ssl.truststore.*`, when set.
fn truststore(p: &SslProps<'_>) -> Result<Option<RootCertStore>, String> {
    let (key, certs) = if let Some((k, pem)) = p.get(TRUSTSTORE_CERTIFICATES) {
        let c = pem_certs(pem.as_bytes(), &k)?;
        (k, c)
    } else if let Some((k, loc)) = p.get(TRUSTSTORE_LOCATION) {
        let bytes = read_store(p, TRUSTSTORE_TYPE, &k, loc)?;
        let c = pem_certs(&bytes, &k)?;
        (k, c)
    } else {
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
        Scope::Listener(_) => true,
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
            e.contains("keytool -importkeystore") && e.contains("JKS"),
            "{e}"
        );
        let e = refused(&[
            ("ssl.keystore.location", &loc),
            ("ssl.keystore.type", "PKCS12"),
        ]);
        assert!(
            e.contains("PKCS12 stores are not read yet") && e.contains("openssl pkcs12"),
            "{e}"
        );
        let e = refused(&[("ssl.keystore.certificate.chain", "x")]);
        assert!(e.contains("ssl.keystore.key"), "{e}");
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(
            pem_key(enc.as_bytes(), "k")
                .unwrap_err()
                .contains("openssl pkcs8")
        );
    }
}
