//! One sealed value: AES-256-GCM under a fresh data key, the data key
//! wrapped (AES-256-GCM) by a key-encryption key named by its id.
//!
//! Text form, safe in a properties value and in JSON:
//!
//! ```text
//! sluice:enc:v1:<key id>:<base64 nonce+wrapped data key>:<base64 nonce+ciphertext>
//! ```
//!
//! The data key's associated data is the key id; the value's binds the
//! connector and the config key, so a sealed value copied into another
//! connector or key does not open.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Every sealed value starts with this.
pub const PREFIX: &str = "sluice:enc:v1:";

/// Why a value did not seal or open. Never holds the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("is not a sealed value of this version ({PREFIX}...)")]
    Malformed,
    #[error("is sealed with key id {0}, which this worker does not have")]
    UnknownKey(String),
    #[error(
        "does not open with key id {0}: the key's bytes differ from those it was sealed with, or the value was moved to another connector or key"
    )]
    Tampered(String),
    #[error("the system random number generator failed")]
    Random,
}

/// A key-encryption key with its id.
pub struct Kek {
    pub id: String,
    key: LessSafeKey,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Kek {
    pub fn new(id: &str, bytes: &[u8; 32]) -> Self {
        Self {
            id: id.to_string(),
            key: aes_key(bytes),
        }
    }
}

fn aes_key(bytes: &[u8; 32]) -> LessSafeKey {
    // A 32-byte slice is always a valid AES-256 key.
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).unwrap_or_else(|_| unreachable!()))
}

fn random<const N: usize>() -> Result<[u8; N], EnvelopeError> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| EnvelopeError::Random)?;
    Ok(b)
}

fn value_aad(connector: &str, key: &str) -> Vec<u8> {
    format!("sluice-secret\0v1\0{connector}\0{key}").into_bytes()
}

fn dek_aad(kid: &str) -> Vec<u8> {
    format!("sluice-dek\0v1\0{kid}").into_bytes()
}

/// `nonce || seal(plain)`.
fn seal_bytes(key: &LessSafeKey, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let nonce = random::<NONCE_LEN>()?;
    let mut buf = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buf,
    )
    .map_err(|_| EnvelopeError::Random)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

fn open_bytes(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = rest.to_vec();
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut buf).ok()?;
    Some(plain.to_vec())
}

pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// The key id a sealed value names.
pub fn key_id(value: &str) -> Option<&str> {
    value.strip_prefix(PREFIX)?.split(':').next()
}

/// Seals `plain` for `connector`'s `key` under `kek` with a fresh data key.
pub fn seal(kek: &Kek, connector: &str, key: &str, plain: &str) -> Result<String, EnvelopeError> {
    let dek = random::<32>()?;
    let wrapped = seal_bytes(&kek.key, &dek_aad(&kek.id), &dek)?;
    let body = seal_bytes(&aes_key(&dek), &value_aad(connector, key), plain.as_bytes())?;
    Ok(format!(
        "{PREFIX}{}:{}:{}",
        kek.id,
        STANDARD.encode(wrapped),
        STANDARD.encode(body)
    ))
}

/// The parts of a sealed value: key id, wrapped data key, body.
fn parts(value: &str) -> Result<(&str, Vec<u8>, Vec<u8>), EnvelopeError> {
    let rest = value.strip_prefix(PREFIX).ok_or(EnvelopeError::Malformed)?;
    let mut it = rest.split(':');
    let (Some(kid), Some(w), Some(b), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(EnvelopeError::Malformed);
    };
    let w = STANDARD.decode(w).map_err(|_| EnvelopeError::Malformed)?;
    let b = STANDARD.decode(b).map_err(|_| EnvelopeError::Malformed)?;
    Ok((kid, w, b))
}

/// Opens a sealed value with the key its id names.
pub fn open<'k>(
    find: impl Fn(&str) -> Option<&'k Kek>,
    connector: &str,
    key: &str,
    value: &str,
) -> Result<String, EnvelopeError> {
    let (kid, wrapped, body) = parts(value)?;
    let kek = find(kid).ok_or_else(|| EnvelopeError::UnknownKey(kid.to_string()))?;
    let tampered = || EnvelopeError::Tampered(kid.to_string());
    let dek: [u8; 32] = open_bytes(&kek.key, &dek_aad(kid), &wrapped)
        .and_then(|d| d.try_into().ok())
        .ok_or_else(tampered)?;
    let plain =
        open_bytes(&aes_key(&dek), &value_aad(connector, key), &body).ok_or_else(tampered)?;
    String::from_utf8(plain).map_err(|_| tampered())
}

/// The same value with its data key wrapped by `to` instead (the body is
/// not touched).
pub fn rewrap<'k>(
    find: impl Fn(&str) -> Option<&'k Kek>,
    to: &Kek,
    value: &str,
) -> Result<String, EnvelopeError> {
    let (kid, wrapped, body) = parts(value)?;
    let kek = find(kid).ok_or_else(|| EnvelopeError::UnknownKey(kid.to_string()))?;
    let dek = open_bytes(&kek.key, &dek_aad(kid), &wrapped)
        .ok_or_else(|| EnvelopeError::Tampered(kid.to_string()))?;
    let wrapped = seal_bytes(&to.key, &dek_aad(&to.id), &dek)?;
    Ok(format!(
        "{PREFIX}{}:{}:{}",
        to.id,
        STANDARD.encode(wrapped),
        STANDARD.encode(body)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_binds_connector_and_key() {
        let k1 = Kek::new("k1", &[7; 32]);
        let find = |id: &str| (id == "k1").then_some(&k1);
        let s = seal(&k1, "c", "connection.password", "hunter2").unwrap();
        assert!(s.starts_with("sluice:enc:v1:k1:"), "{s}");
        assert!(!s.contains("hunter2"));
        // Fresh data key and nonces: sealing twice differs.
        assert_ne!(s, seal(&k1, "c", "connection.password", "hunter2").unwrap());
        assert_eq!(
            open(find, "c", "connection.password", &s).unwrap(),
            "hunter2"
        );
        assert_eq!(
            open(find, "other", "connection.password", &s),
            Err(EnvelopeError::Tampered("k1".into()))
        );
        assert_eq!(
            open(find, "c", "ssl.key.password", &s),
            Err(EnvelopeError::Tampered("k1".into()))
        );
        let wrong = Kek::new("k1", &[8; 32]);
        assert_eq!(
            open(|_| Some(&wrong), "c", "connection.password", &s),
            Err(EnvelopeError::Tampered("k1".into()))
        );
        assert_eq!(
            open(|_| None, "c", "connection.password", &s),
            Err(EnvelopeError::UnknownKey("k1".into()))
        );
        for bad in ["sluice:enc:v1:k1", "sluice:enc:v1:k1:!!:AA", "x"] {
            assert_eq!(
                open(find, "c", "k", bad),
                Err(EnvelopeError::Malformed),
                "{bad}"
            );
        }
        // A flipped bit in the body.
        let mut b = s.into_bytes();
        let n = b.len() - 3;
        b[n] = if b[n] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(b).unwrap();
        assert_eq!(
            open(find, "c", "connection.password", &flipped),
            Err(EnvelopeError::Tampered("k1".into()))
        );
    }

    #[test]
    fn rewrap_moves_to_the_new_key_and_keeps_the_body() {
        let k1 = Kek::new("k1", &[1; 32]);
        let k2 = Kek::new("k2", &[2; 32]);
        let both = |id: &str| match id {
            "k1" => Some(&k1),
            "k2" => Some(&k2),
            _ => None,
        };
        let s = seal(&k1, "c", "p", "v").unwrap();
        let r = rewrap(both, &k2, &s).unwrap();
        assert_eq!(key_id(&r), Some("k2"));
        assert_eq!(s.rsplit(':').next(), r.rsplit(':').next());
        assert_eq!(
            open(|id| (id == "k2").then_some(&k2), "c", "p", &r).unwrap(),
            "v"
        );
    }
}
