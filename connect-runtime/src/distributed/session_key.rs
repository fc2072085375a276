//! Signed internal requests (Kafka Connect's KIP-507): the leader keeps a
//! random key in the config topic (`session-key`), rotated every
//! `inter.worker.key.ttl.ms`; a worker handing the leader task configs
//! signs them with it (`X-Connect-Authorization`, HMAC-SHA256 in base64,
//! and `X-Connect-Request-Signature-Algorithm`), and every worker checks
//! the signature in constant time before acting on the request. Kafka
//! Connect signs the body alone; Sluice signs the connector name and the
//! body, so a captured request cannot be replayed against another
//! connector (Sluice workers only sign for each other).
//! Without it anyone who reaches the REST port could hand the cluster task
//! configs of their own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use serde_json::{Value, json};

pub const SIGNATURE_HEADER: &str = "x-connect-authorization";
pub const ALGORITHM_HEADER: &str = "x-connect-request-signature-algorithm";
pub const ALGORITHM: &str = "HmacSHA256";
pub const RECORD_KEY: &str = "session-key";
/// Kafka Connect's `inter.worker.key.ttl.ms` default: one hour.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// The cluster's current key, as read from the config topic.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey {
    pub key: Vec<u8>,
    pub algorithm: String,
    /// When the leader made it (ms since the epoch).
    pub created_ms: i64,
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        f.debug_struct("SessionKey")
            .field("algorithm", &self.algorithm)
            .field("created_ms", &self.created_ms)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl SessionKey {
    /// A new random 256-bit key.
    pub fn generate() -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let key: [u8; 32] = ring::rand::generate(&rng)
            .map_err(|_| "the system random generator failed".to_string())?
            .expose();
        Ok(Self {
            key: key.to_vec(),
            algorithm: ALGORITHM.to_string(),
            created_ms: now_ms(),
        })
    }

    /// Old enough to be replaced.
    pub fn expired(&self, ttl: Duration) -> bool {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        now_ms().saturating_sub(self.created_ms) >= ttl
    }

    /// The config topic record, in Kafka Connect's layout.
    pub fn record(&self) -> (String, Vec<u8>) {
        (
            RECORD_KEY.to_string(),
            json!({
                "key": STANDARD.encode(&self.key),
                "algorithm": self.algorithm,
                "creation-timestamp": self.created_ms,
            })
            .to_string()
            .into_bytes(),
        )
    }

    /// Reads a `session-key` record's value.
    pub fn parse(v: &Value) -> Result<Self, String> {
        let key = v
            .get("key")
            .and_then(Value::as_str)
            .ok_or("no \"key\" string")?;
        let key = STANDARD
            .decode(key)
            .map_err(|e| format!("\"key\" is not base64: {e}"))?;
        let algorithm = v
            .get("algorithm")
            .and_then(Value::as_str)
            .ok_or("no \"algorithm\" string")?
            .to_string();
        let created_ms = v
            .get("creation-timestamp")
            .and_then(Value::as_i64)
            .ok_or("no \"creation-timestamp\" number")?;
        Ok(Self {
            key,
            algorithm,
            created_ms,
        })
    }

    /// The `X-Connect-Authorization` value for task configs of
    /// `connector` (names hold no control characters, so the newline
    /// separates the two unambiguously).
    pub fn sign(&self, connector: &str, body: &[u8]) -> String {
        let k = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        STANDARD.encode(hmac::sign(&k, &signed(connector, body)).as_ref())
    }
}

fn signed(connector: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(connector.len() + 1 + body.len());
    m.extend_from_slice(connector.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m
}

/// Why an internal request is refused; Kafka Connect's status codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400.
    Missing(String),
    /// 403.
    Invalid(String),
    /// 503: no key has been read yet (a new cluster); the sender retries.
    NoKey(String),
}

/// Checks an internal request's signature headers against the key.
pub fn verify(
    key: Option<&SessionKey>,
    signature: Option<&str>,
    algorithm: Option<&str>,
    connector: &str,
    body: &[u8],
) -> Result<(), Refusal> {
    let Some(signature) = signature else {
        return Err(Refusal::Missing(
            "Internal request missing required signature".into(),
        ));
    };
    let algorithm = algorithm.unwrap_or(ALGORITHM);
    if algorithm != ALGORITHM {
        return Err(Refusal::Missing(format!(
            "This worker does not support the '{algorithm}' signature algorithm used by other workers in the cluster; supported: {ALGORITHM}"
        )));
    }
    let Some(key) = key else {
        return Err(Refusal::NoKey(
            "This worker has not read the cluster's session key yet; retry".into(),
        ));
    };
    let invalid = || Refusal::Invalid("Internal request contained invalid signature.".into());
    let tag = STANDARD.decode(signature.trim()).map_err(|_| invalid())?;
    let k = hmac::Key::new(hmac::HMAC_SHA256, &key.key);
    // ring compares in constant time.
    hmac::verify(&k, &signed(connector, body), &tag).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_signatures_check() {
        let k = SessionKey::generate().unwrap();
        assert_eq!(k.key.len(), 32);
        let (name, v) = k.record();
        assert_eq!(name, "session-key");
        let parsed = SessionKey::parse(&serde_json::from_slice(&v).unwrap()).unwrap();
        assert_eq!(parsed, k);
        assert!(!format!("{k:?}").contains(&STANDARD.encode(&k.key)));

        let body = br#"[{"task.class":"x"}]"#;
        let sig = k.sign("c", body);
        assert_eq!(
            verify(Some(&k), Some(&sig), Some(ALGORITHM), "c", body),
            Ok(())
        );
        assert_eq!(verify(Some(&k), Some(&sig), None, "c", body), Ok(()));
        assert!(matches!(
            verify(Some(&k), None, None, "c", body),
            Err(Refusal::Missing(m)) if m == "Internal request missing required signature"
        ));
        assert!(matches!(
            verify(Some(&k), Some(&sig), None, "c", b"[]"),
            Err(Refusal::Invalid(_))
        ));
        // Not valid for another connector.
        assert!(matches!(
            verify(Some(&k), Some(&sig), None, "d", body),
            Err(Refusal::Invalid(_))
        ));
        let other = SessionKey::generate().unwrap();
        assert!(matches!(
            verify(Some(&other), Some(&sig), None, "c", body),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            verify(Some(&k), Some("not base64!"), None, "c", body),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            verify(Some(&k), Some(&sig), Some("HmacSHA1"), "c", body),
            Err(Refusal::Missing(_))
        ));
        assert!(matches!(
            verify(None, Some(&sig), None, "c", body),
            Err(Refusal::NoKey(_))
        ));
    }

    #[test]
    fn keys_expire_after_their_ttl() {
        let mut k = SessionKey::generate().unwrap();
        assert!(!k.expired(DEFAULT_TTL));
        k.created_ms -= 3_600_001;
        assert!(k.expired(DEFAULT_TTL));
    }
}
