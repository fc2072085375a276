//! SASL for the group client's connections (`SASL_PLAINTEXT`,
//! `SASL_SSL`): the PLAIN mechanism (RFC 4616), SCRAM-SHA-256/512
//! (RFC 5802, RFC 7677) and OAUTHBEARER (RFC 7628, with tokens from a
//! [`TokenSource`]) as Kafka runs them over SaslHandshake and
//! SaslAuthenticate. Pure logic here; the exchanges are in `client.rs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::{digest, hmac, pbkdf2};

/// A SASL mechanism the group client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}

impl Mechanism {
    /// `sasl.mechanism`'s value (Kafka's names).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "PLAIN" => Some(Self::Plain),
            "SCRAM-SHA-256" => Some(Self::ScramSha256),
            "SCRAM-SHA-512" => Some(Self::ScramSha512),
            "OAUTHBEARER" => Some(Self::OAuthBearer),
            _ => None,
        }
    }

    /// The name sent in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// A bearer token, fetched when a connection needs one.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// Where OAUTHBEARER tokens come from (the runtime's OIDC client
/// credentials login); caching is its business.
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    fn token(&self) -> TokenFuture<'_>;

    /// The broker refused the last token: do not hand it out again.
    fn invalidate(&self) {}
}

/// Credentials for one mechanism: a user and password, or for
/// OAUTHBEARER a token source (`username` then names it in messages).
#[derive(Clone)]
pub struct Sasl {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: String,
    pub tokens: Option<Arc<dyn TokenSource>>,
}

impl PartialEq for Sasl {
    fn eq(&self, other: &Self) -> bool {
        self.mechanism == other.mechanism
            && self.username == other.username
            && self.password == other.password
            && match (&self.tokens, &other.tokens) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for Sasl {}

impl std::fmt::Debug for Sasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Sasl")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// RFC 7628's initial client response: `n,,\x01auth=Bearer <token>\x01\x01`.
pub(crate) fn bearer(token: &str) -> Vec<u8> {
    format!("n,,\u{1}auth=Bearer {token}\u{1}\u{1}").into_bytes()
}

/// `\0user\0password`.
pub(crate) fn plain(s: &Sasl) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + s.username.len() + s.password.len());
    out.push(0);
    out.extend_from_slice(s.username.as_bytes());
    out.push(0);
    out.extend_from_slice(s.password.as_bytes());
    out
}

/// One SCRAM conversation, client side.
pub(crate) struct Scram {
    mechanism: Mechanism,
    password: String,
    client_first_bare: String,
    nonce: String,
    server_signature: Option<Vec<u8>>,
}

fn escape_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

impl Scram {
    /// Starts with a fresh random nonce.
    pub(crate) fn new(s: &Sasl) -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let bytes: [u8; 24] = ring::rand::generate(&rng)
            .map_err(|_| "the system random generator failed".to_string())?
            .expose();
        Ok(Self::with_nonce(s, &STANDARD.encode(bytes)))
    }

    fn with_nonce(s: &Sasl, nonce: &str) -> Self {
        Self {
            mechanism: s.mechanism,
            password: s.password.clone(),
            client_first_bare: format!("n={},r={nonce}", escape_name(&s.username)),
            nonce: nonce.to_string(),
            server_signature: None,
        }
    }

    /// `n,,n=user,r=nonce`.
    pub(crate) fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    fn algorithms(
        &self,
    ) -> (
        pbkdf2::Algorithm,
        hmac::Algorithm,
        &'static digest::Algorithm,
    ) {
        match self.mechanism {
            Mechanism::ScramSha512 => (
                pbkdf2::PBKDF2_HMAC_SHA512,
                hmac::HMAC_SHA512,
                &digest::SHA512,
            ),
            _ => (
                pbkdf2::PBKDF2_HMAC_SHA256,
                hmac::HMAC_SHA256,
                &digest::SHA256,
            ),
        }
    }

    /// The client-final message for the server-first one.
    pub(crate) fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| "the server's first SCRAM message is not UTF-8".to_string())?;
        let attr = |name: &str| {
            server_first
                .split(',')
                .find_map(|a| a.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        };
        if let Some(e) = attr("e") {
            return Err(format!("the server refused: {e}"));
        }
        let nonce = attr("r").ok_or("the server's first SCRAM message has no nonce")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("the server's nonce does not extend the client's".into());
        }
        let salt = attr("s")
            .and_then(|s| STANDARD.decode(s).ok())
            .ok_or("the server's first SCRAM message has no valid salt")?;
        let iterations = attr("i")
            .and_then(|i| i.parse::<u32>().ok())
            .and_then(std::num::NonZeroU32::new)
            // Kafka's bounds for SCRAM credentials; more would let a
            // broker that has not proven itself yet keep us hashing.
            .filter(|i| (4096..=16384).contains(&i.get()))
            .ok_or("the server asks for no SCRAM iteration count between 4096 and 16384")?;
        let (kdf, mac, hash) = self.algorithms();
        let mut salted = vec![0u8; hash.output_len()];
        pbkdf2::derive(
            kdf,
            iterations,
            &salt,
            self.password.as_bytes(),
            &mut salted,
        );
        let salted = hmac::Key::new(mac, &salted);
        let client_key = hmac::sign(&salted, b"Client Key");
        let stored_key = digest::digest(hash, client_key.as_ref());
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = hmac::sign(
            &hmac::Key::new(mac, stored_key.as_ref()),
            auth_message.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(signature.as_ref())
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac::sign(&salted, b"Server Key");
        self.server_signature = Some(
            hmac::sign(
                &hmac::Key::new(mac, server_key.as_ref()),
                auth_message.as_bytes(),
            )
            .as_ref()
            .to_vec(),
        );
        Ok(format!("{without_proof},p={}", STANDARD.encode(proof)).into_bytes())
    }

    /// Checks the server-final message: the server proves it knew the
    /// password too.
    pub(crate) fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(server_final)
            .map_err(|_| "the server's final SCRAM message is not UTF-8".to_string())?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(format!("the server refused: {e}"));
        }
        let got = text
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .and_then(|v| STANDARD.decode(v).ok())
            .ok_or("the server's final SCRAM message has no verifier")?;
        let want = self
            .server_signature
            .as_deref()
            .ok_or("the server's final message came before the client's")?;
        // Public values by now; a plain comparison is enough.
        if got == want {
            Ok(())
        } else {
            Err("the server's SCRAM signature is wrong: it does not know the password".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl(mechanism: Mechanism) -> Sasl {
        Sasl {
            mechanism,
            username: "user".into(),
            password: "pencil".into(),
            tokens: None,
        }
    }

    /// RFC 7677's example exchange.
    #[test]
    fn scram_sha_256_matches_rfc_7677() {
        let mut s = Scram::with_nonce(&sasl(Mechanism::ScramSha256), "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(s.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final = s.client_final(server_first).unwrap();
        assert_eq!(
            String::from_utf8(client_final).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        s.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(
            s.verify_server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .is_err()
        );
        assert!(s.verify_server_final(b"e=invalid-proof").is_err());
    }

    #[test]
    fn bad_server_messages_are_refused() {
        let mut s = Scram::with_nonce(&sasl(Mechanism::ScramSha512), "abc");
        for bad in [
            &b"r=xyz,s=QUJD,i=4096"[..],
            b"r=abc,s=QUJD,i=4096",
            b"r=abcd,s=QUJD,i=1",
            b"r=abcd,s=QUJD,i=4294967295",
            b"r=abcd,s=!!,i=4096",
            b"e=unknown-user",
            b"\xff",
        ] {
            assert!(s.client_final(bad).is_err(), "{bad:?}");
        }
        assert!(s.verify_server_final(b"v=QUJD").is_err());
    }

    #[test]
    fn plain_and_names() {
        assert_eq!(plain(&sasl(Mechanism::Plain)), b"\0user\0pencil");
        assert_eq!(bearer("t.k.n"), b"n,,\x01auth=Bearer t.k.n\x01\x01");
        assert_eq!(
            Mechanism::parse("oauthbearer"),
            Some(Mechanism::OAuthBearer)
        );
        assert_eq!(
            Mechanism::parse("scram-sha-512"),
            Some(Mechanism::ScramSha512)
        );
        assert_eq!(Mechanism::parse("GSSAPI"), None);
        assert_eq!(escape_name("a=b,c"), "a=3Db=2Cc");
        assert!(!format!("{:?}", sasl(Mechanism::Plain)).contains("pencil"));
    }
}
