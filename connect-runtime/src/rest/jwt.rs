//! OAuth 2.0 / OpenID Connect bearer tokens on the REST API: JWTs signed by
//! an identity provider, checked against its JSON Web Key Set.
//!
//! ```properties
//! # The key set, or the issuer alone (its OpenID discovery document names it).
//! rest.auth.oauthbearer.jwks.endpoint.url=https://idp.example.com/realms/data/protocol/openid-connect/certs
//! rest.auth.oauthbearer.expected.issuer=https://idp.example.com/realms/data
//! rest.auth.oauthbearer.expected.audience=sluice
//! rest.auth.oauthbearer.sub.claim.name=sub
//! rest.auth.oauthbearer.roles.claim.name=realm_access.roles
//! rest.auth.oauthbearer.clock.skew.seconds=30
//! rest.auth.oauthbearer.jwks.endpoint.refresh.ms=3600000
//! rest.auth.oauthbearer.ssl.truststore.location=/etc/sluice/idp-ca.pem
//! ```
//!
//! The names follow Kafka's broker keys for OAUTHBEARER
//! (`sasl.oauthbearer.jwks.endpoint.url`, ...). Signatures: RS256/384/512,
//! PS256/384/512, ES256/384, EdDSA; `none` and HMAC are refused. A token
//! naming a key id the cached set lacks makes the worker fetch the set
//! again (at most every 10 s), so an identity provider's key rotation is
//! followed without a restart. The roles claim (a dotted path to a string
//! or a list) holds role bindings in the roles file's form
//! (`Operator:Connector:orders-*`), added to the principal's own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature;
use serde_json::Value;

pub const JWKS_URL: &str = "rest.auth.oauthbearer.jwks.endpoint.url";
pub const ISSUER: &str = "rest.auth.oauthbearer.expected.issuer";
pub const AUDIENCE: &str = "rest.auth.oauthbearer.expected.audience";
pub const SUB_CLAIM: &str = "rest.auth.oauthbearer.sub.claim.name";
pub const ROLES_CLAIM: &str = "rest.auth.oauthbearer.roles.claim.name";
pub const SKEW: &str = "rest.auth.oauthbearer.clock.skew.seconds";
pub const REFRESH: &str = "rest.auth.oauthbearer.jwks.endpoint.refresh.ms";
pub const TRUSTSTORE: &str = "rest.auth.oauthbearer.ssl.truststore.location";

/// The least time between two fetches the tokens cause.
const MIN_REFETCH: Duration = Duration::from_secs(10);

/// What a valid token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub principal: String,
    /// Role bindings from the roles claim.
    pub roles: Vec<String>,
}

/// A key of the set, ready to verify with.
#[derive(Clone)]
enum Key {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { point: Vec<u8>, curve: &'static str },
    Ed25519(Vec<u8>),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rsa { .. } => "RSA",
            Self::Ec { .. } => "EC",
            Self::Ed25519(_) => "Ed25519",
        })
    }
}

#[derive(Debug, Default)]
struct KeySet {
    keys: BTreeMap<String, Key>,
    /// Keys without a `kid`, tried in turn.
    anonymous: Vec<Key>,
    fetched: Option<Instant>,
    /// The last fetch tried, successful or not.
    attempted: Option<Instant>,
}

/// Bearer-token authentication.
#[derive(Debug)]
pub struct JwtAuth {
    jwks_url: Option<String>,
    issuer: Option<String>,
    audiences: Vec<String>,
    sub_claim: String,
    roles_claim: Option<String>,
    skew: u64,
    refresh: Duration,
    http: crate::http_client::HttpClient,
    keys: tokio::sync::Mutex<KeySet>,
}

fn b64(s: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| "not base64url".to_string())
}

fn parse_key(k: &Value) -> Option<Key> {
    let field = |n: &str| k.get(n).and_then(Value::as_str).and_then(|s| b64(s).ok());
    if k.get("use")
        .and_then(Value::as_str)
        .is_some_and(|u| u != "sig")
    {
        return None;
    }
    match k.get("kty").and_then(Value::as_str)? {
        "RSA" => Some(Key::Rsa {
            n: field("n")?,
            e: field("e")?,
        }),
        "EC" => {
            let curve = match k.get("crv").and_then(Value::as_str)? {
                "P-256" => "P-256",
                "P-384" => "P-384",
                _ => return None,
            };
            let mut point = vec![4u8];
            point.extend(field("x")?);
            point.extend(field("y")?);
            Some(Key::Ec { point, curve })
        }
        "OKP" if k.get("crv").and_then(Value::as_str) == Some("Ed25519") => {
            Some(Key::Ed25519(field("x")?))
        }
        _ => None,
    }
}

/// Verifies `sig` over `msg` with `key` under the token's `alg`.
fn verify(alg: &str, key: &Key, msg: &[u8], sig: &[u8]) -> bool {
    use signature::*;
    match (alg, key) {
        ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512", Key::Rsa { n, e }) => {
            let params: &RsaParameters = match alg {
                "RS256" => &RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &RSA_PKCS1_2048_8192_SHA384,
                "RS512" => &RSA_PKCS1_2048_8192_SHA512,
                "PS256" => &RSA_PSS_2048_8192_SHA256,
                "PS384" => &RSA_PSS_2048_8192_SHA384,
                _ => &RSA_PSS_2048_8192_SHA512,
            };
            RsaPublicKeyComponents { n, e }
                .verify(params, msg, sig)
                .is_ok()
        }
        (
            "ES256",
            Key::Ec {
                point,
                curve: "P-256",
            },
        ) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            .verify(msg, sig)
            .is_ok(),
        (
            "ES384",
            Key::Ec {
                point,
                curve: "P-384",
            },
        ) => UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point)
            .verify(msg, sig)
            .is_ok(),
        ("EdDSA", Key::Ed25519(x)) => UnparsedPublicKey::new(&ED25519, x).verify(msg, sig).is_ok(),
        _ => false,
    }
}

/// Key sets and discovery documents come over https; plain http only
/// from this machine (a provider on loopback, tests).
fn check_url(key: &str, url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!("{key}={url}: expected an https URL"));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    if matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        Ok(())
    } else {
        Err(format!(
            "{key}={url}: keys must come over https (http only from localhost): anyone on the path could replace them"
        ))
    }
}

/// A claim by dotted path (`realm_access.roles`).
fn claim<'v>(claims: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(claims, |v, p| v.get(p))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl JwtAuth {
    /// Reads the worker's `rest.auth.oauthbearer.*` keys; `None` when
    /// neither a key set nor an issuer is named.
    pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        let get = |k: &str| {
            props
                .get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let (jwks_url, issuer) = (get(JWKS_URL), get(ISSUER));
        if jwks_url.is_none() && issuer.is_none() {
            return Ok(None);
        }
        for (key, url) in [(JWKS_URL, &jwks_url), (ISSUER, &issuer)] {
            if let Some(u) = url {
                check_url(key, u)?;
            }
        }
        if get(AUDIENCE).is_none() {
            return Err(format!(
                "{AUDIENCE} must name this API's audience: without it any token the provider issues, for any client, would be accepted"
            ));
        }
        let number = |k: &str, default: u64| -> Result<u64, String> {
            get(k).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| format!("Invalid value {v} for configuration {k}: not a number"))
            })
        };
        let mut roots = rustls::RootCertStore::empty();
        let store = get(TRUSTSTORE).unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
        match std::fs::read(&store) {
            Ok(pem) => {
                use rustls::pki_types::CertificateDer;
                use rustls::pki_types::pem::PemObject;
                for c in CertificateDer::pem_slice_iter(&pem).flatten() {
                    let _ = roots.add(c);
                }
            }
            Err(e) if get(TRUSTSTORE).is_some() => {
                return Err(format!("{TRUSTSTORE}: cannot read {store}: {e}"));
            }
            Err(_) => {}
        }
        let tls = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Some(Self {
            jwks_url,
            issuer,
            audiences: get(AUDIENCE)
                .map(|a| {
                    a.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            sub_claim: get(SUB_CLAIM).unwrap_or_else(|| "sub".into()),
            roles_claim: get(ROLES_CLAIM),
            skew: number(SKEW, 30)?,
            refresh: Duration::from_millis(number(REFRESH, 3_600_000)?),
            http: crate::http_client::HttpClient::new(Arc::new(tls)),
            keys: tokio::sync::Mutex::new(KeySet::default()),
        }))
    }

    /// Whether tokens carry role bindings (so roles are enforced even
    /// without a roles file).
    pub fn has_roles_claim(&self) -> bool {
        self.roles_claim.is_some()
    }

    async fn fetch_json(&self, url: &str) -> Result<Value, String> {
        let body = self.http.get_ok(url, Duration::from_secs(10)).await?;
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
    }

    /// Fetches the key set (through discovery when only the issuer is
    /// known): keys by id, and those without one.
    async fn fetch(&self) -> Result<(BTreeMap<String, Key>, Vec<Key>), String> {
        let url = match (&self.jwks_url, &self.issuer) {
            (Some(u), _) => u.clone(),
            (None, Some(iss)) => {
                let doc = format!(
                    "{}/.well-known/openid-configuration",
                    iss.trim_end_matches('/')
                );
                let d = self.fetch_json(&doc).await?;
                if d.get("issuer").and_then(Value::as_str) != Some(iss.as_str()) {
                    return Err(format!("{doc} is for another issuer than {iss}"));
                }
                let uri = d
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{doc} names no jwks_uri"))?;
                check_url("jwks_uri", uri)?;
                uri.to_string()
            }
            (None, None) => return Err("no key set".into()),
        };
        let jwks = self.fetch_json(&url).await?;
        let list = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{url}: no \"keys\" array"))?;
        let (mut keys, mut anonymous) = (BTreeMap::new(), Vec::new());
        for k in list {
            let Some(key) = parse_key(k) else { continue };
            match k.get("kid").and_then(Value::as_str) {
                Some(kid) => {
                    keys.insert(kid.to_string(), key);
                }
                None => anonymous.push(key),
            }
        }
        tracing::info!(
            url,
            keys = keys.len() + anonymous.len(),
            "fetched the bearer tokens' key set"
        );
        Ok((keys, anonymous))
    }

    /// The keys that may have signed a token with `kid`, fetching the set
    /// when it is stale or lacks the key. The fetch runs without the lock
    /// (requests with known keys go on meanwhile); one request fetches at
    /// a time, at most every 10 s.
    async fn keys_for(&self, kid: Option<&str>) -> Result<Vec<Key>, String> {
        let fetch_now = {
            let mut set = self.keys.lock().await;
            let stale = set.fetched.is_none_or(|t| t.elapsed() > self.refresh);
            let missing = kid.is_some_and(|k| !set.keys.contains_key(k));
            let may_try = set.attempted.is_none_or(|t| t.elapsed() > MIN_REFETCH);
            if (stale || missing) && may_try {
                set.attempted = Some(Instant::now());
                true
            } else {
                false
            }
        };
        if fetch_now {
            match self.fetch().await {
                Ok((keys, anonymous)) => {
                    let mut set = self.keys.lock().await;
                    set.keys = keys;
                    set.anonymous = anonymous;
                    set.fetched = Some(Instant::now());
                }
                Err(e) => tracing::warn!(error = %e, "cannot fetch the bearer tokens' key set"),
            }
        }
        let set = self.keys.lock().await;
        if set.fetched.is_none() {
            return Err("the key set could not be fetched yet".into());
        }
        Ok(match kid {
            Some(k) => set.keys.get(k).cloned().into_iter().collect(),
            None => set
                .anonymous
                .iter()
                .chain(set.keys.values())
                .cloned()
                .collect(),
        })
    }

    /// Checks a compact JWS: signature, `exp`, `nbf`, `iss`, `aud`; the
    /// reason when it is refused (for the log, never for the client).
    pub async fn verify(&self, token: &str) -> Result<Claims, String> {
        let mut parts = token.trim().split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a compact JWS (header.payload.signature)".into());
        };
        let header: Value =
            serde_json::from_slice(&b64(h)?).map_err(|_| "the header is not JSON".to_string())?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("none");
        if alg == "none" || alg.starts_with("HS") {
            return Err(format!("alg {alg} is not accepted"));
        }
        if header.get("crit").is_some() {
            return Err("critical header extensions are not understood".into());
        }
        let kid = header.get("kid").and_then(Value::as_str);
        let sig = b64(s)?;
        let msg = &token.trim().as_bytes()[..h.len() + 1 + p.len()];
        let keys = self.keys_for(kid).await?;
        if !keys.iter().any(|k| verify(alg, k, msg, &sig)) {
            return Err(format!(
                "the signature does not verify with {} (alg {alg})",
                kid.map_or("any key of the set".to_string(), |k| format!("key {k}"))
            ));
        }
        let claims: Value =
            serde_json::from_slice(&b64(p)?).map_err(|_| "the payload is not JSON".to_string())?;
        let now = now_secs();
        let time = |n: &str| claims.get(n).and_then(Value::as_u64);
        match time("exp") {
            None => return Err("no exp claim".into()),
            Some(exp) if now > exp.saturating_add(self.skew) => {
                return Err(format!("expired at {exp}"));
            }
            _ => {}
        }
        if let Some(nbf) = time("nbf")
            && now.saturating_add(self.skew) < nbf
        {
            return Err(format!("not valid before {nbf}"));
        }
        if let Some(iss) = &self.issuer
            && claims.get("iss").and_then(Value::as_str) != Some(iss.as_str())
        {
            return Err("another issuer".into());
        }
        if !self.audiences.is_empty() {
            let aud: Vec<&str> = match claims.get("aud") {
                Some(Value::String(a)) => vec![a.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !aud.iter().any(|a| self.audiences.iter().any(|w| w == a)) {
                return Err("not for this audience".into());
            }
        }
        let principal = claim(&claims, &self.sub_claim)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("no {} claim", self.sub_claim))?
            .to_string();
        let roles = match self.roles_claim.as_deref().and_then(|c| claim(&claims, c)) {
            Some(Value::String(r)) => r
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Claims { principal, roles })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    fn signer() -> EcdsaKeyPair {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    fn token(k: &EcdsaKeyPair, kid: &str, claims: &Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#));
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let msg = format!("{h}.{p}");
        let sig = k
            .sign(&ring::rand::SystemRandom::new(), msg.as_bytes())
            .unwrap();
        format!("{msg}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn auth(k: &EcdsaKeyPair) -> JwtAuth {
        let props = [
            (JWKS_URL.to_string(), "http://127.0.0.1:1/jwks".to_string()),
            (ISSUER.to_string(), "https://idp".to_string()),
            (AUDIENCE.to_string(), "sluice".to_string()),
            (ROLES_CLAIM.to_string(), "realm_access.roles".to_string()),
        ]
        .into();
        let a = JwtAuth::from_worker(&props).unwrap().unwrap();
        let mut set = a.keys.try_lock().unwrap();
        set.keys.insert(
            "k1".into(),
            Key::Ec {
                point: k.public_key().as_ref().to_vec(),
                curve: "P-256",
            },
        );
        set.fetched = Some(Instant::now());
        drop(set);
        a
    }

    #[test]
    fn keys_come_over_https_or_from_this_machine() {
        assert!(check_url("k", "https://idp.example.com/jwks").is_ok());
        assert!(check_url("k", "http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_url("k", "http://localhost/jwks").is_ok());
        let e = check_url("k", "http://idp.example.com/jwks").unwrap_err();
        assert!(e.contains("https"), "{e}");
        assert!(check_url("k", "http://127.0.0.1.evil.com/jwks").is_err());
        let props = [(JWKS_URL.to_string(), "https://idp/jwks".to_string())].into();
        let e = JwtAuth::from_worker(&props).unwrap_err();
        assert!(e.contains(AUDIENCE), "{e}");
    }

    #[tokio::test]
    async fn tokens_are_checked_claim_by_claim() {
        let k = signer();
        let a = auth(&k);
        let now = now_secs();
        let good = serde_json::json!({"sub": "alice", "iss": "https://idp", "aud": ["x", "sluice"],
            "exp": now + 60, "realm_access": {"roles": ["Operator:Connector:orders-*"]}});
        assert_eq!(
            a.verify(&token(&k, "k1", &good)).await.unwrap(),
            Claims {
                principal: "alice".into(),
                roles: vec!["Operator:Connector:orders-*".into()]
            }
        );
        for (change, want) in [
            (serde_json::json!({"exp": now - 120}), "expired"),
            (serde_json::json!({"nbf": now + 120}), "not valid before"),
            (serde_json::json!({"aud": "other"}), "audience"),
            (serde_json::json!({"iss": "https://evil"}), "issuer"),
            (serde_json::json!({"sub": ""}), "no sub claim"),
        ] {
            let mut c = good.clone();
            for (key, v) in change.as_object().unwrap() {
                c[key] = v.clone();
            }
            let e = a.verify(&token(&k, "k1", &c)).await.unwrap_err();
            assert!(e.contains(want), "{change}: {e}");
        }
        // Another key under the same id, a forged alg, a tampered payload.
        let e = a.verify(&token(&signer(), "k1", &good)).await.unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        let t = token(&k, "k1", &good);
        let (_, rest) = t.split_once('.').unwrap();
        let none = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert!(a.verify(&none).await.unwrap_err().contains("alg none"));
        let hs = format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k1"}"#)
        );
        assert!(a.verify(&hs).await.unwrap_err().contains("HS256"));
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(good.to_string().replace("alice", "admin"));
        assert!(a.verify(&parts.join(".")).await.is_err());
    }
}
