//! Keystores and truststores as Kafka's `ssl.*` keys name them.
//!
//! - PEM: a file, or inline text (`ssl.keystore.certificate.chain` +
//!   `ssl.keystore.key`, `ssl.truststore.certificates`). A private key
//!   may be encrypted PKCS#8 (`-----BEGIN ENCRYPTED PRIVATE KEY-----`),
//!   decrypted with `ssl.key.password`, as Kafka's PEM stores allow.
//! - PKCS12: what `keytool` makes by default since JDK 9 and what
//!   `openssl pkcs12 -export` makes, opened with `ssl.keystore.password`
//!   (`ssl.truststore.password`). Modern (PBES2 with AES) and legacy
//!   (3DES, RC2) encryption are read.
//! - JKS and JCEKS are refused with the `keytool` command that converts
//!   them to PKCS12.
//!
//! The type comes from `ssl.keystore.type` (`ssl.truststore.type`); when
//! unset, or `JKS` (Kafka's default, which Java also uses to open PKCS12
//! files), the file's content decides.

use base64::Engine as _;
use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::config::SslProps;

pub const KEYSTORE_TYPE: &str = "ssl.keystore.type";
pub const KEYSTORE_LOCATION: &str = "ssl.keystore.location";
pub const KEYSTORE_PASSWORD: &str = "ssl.keystore.password";
pub const KEYSTORE_CHAIN: &str = "ssl.keystore.certificate.chain";
pub const KEYSTORE_KEY: &str = "ssl.keystore.key";
pub const KEY_PASSWORD: &str = "ssl.key.password";
pub const TRUSTSTORE_TYPE: &str = "ssl.truststore.type";
pub const TRUSTSTORE_LOCATION: &str = "ssl.truststore.location";
pub const TRUSTSTORE_PASSWORD: &str = "ssl.truststore.password";
pub const TRUSTSTORE_CERTIFICATES: &str = "ssl.truststore.certificates";

/// A certificate chain (leaf first) and its private key.
pub type KeyPair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// What a store file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pem,
    Pkcs12,
}

const JKS_MAGIC: [u8; 4] = [0xfe, 0xed, 0xfe, 0xed];
const JCEKS_MAGIC: [u8; 4] = [0xce, 0xce, 0xce, 0xce];

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The command that turns a Java store into one Sluice reads.
fn to_pkcs12(location: &str) -> String {
    format!(
        "keytool -importkeystore -srckeystore {location} -destkeystore store.p12 -deststoretype PKCS12"
    )
}

/// The format of the store file at `loc` (read into `bytes`), from the
/// declared type and the content.
fn format_of(
    p: &SslProps<'_>,
    type_key: &str,
    loc_key: &str,
    loc: &str,
    bytes: &[u8],
) -> Result<Format, String> {
    let declared = p
        .get(type_key)
        .map(|(k, t)| (k, t.trim().to_ascii_uppercase()));
    let magic = bytes.get(..4);
    if magic == Some(&JKS_MAGIC[..]) || magic == Some(&JCEKS_MAGIC[..]) {
        let ty = if magic == Some(&JKS_MAGIC[..]) {
            "JKS"
        } else {
            "JCEKS"
        };
        return Err(format!(
            "{loc_key}: {loc} is a {ty} store, which Sluice does not read; convert it with `{}` and set {}=PKCS12",
            to_pkcs12(loc),
            p.name(type_key)
        ));
    }
    let content = if is_pem(bytes) {
        Some(Format::Pem)
    } else if bytes.first() == Some(&0x30) {
        // A DER SEQUENCE: PKCS12's PFX.
        Some(Format::Pkcs12)
    } else {
        None
    };
    match (declared, content) {
        (None, Some(f)) => Ok(f),
        (Some((_, t)), Some(Format::Pem)) if t == "PEM" => Ok(Format::Pem),
        (Some((_, t)), Some(Format::Pkcs12)) if t == "PKCS12" || t == "JKS" => Ok(Format::Pkcs12),
        (Some((k, t)), _) if !matches!(t.as_str(), "PEM" | "PKCS12" | "JKS") => Err(format!(
            "Invalid value {t} for configuration {k}: Sluice reads PEM and PKCS12 stores; convert with `{}`",
            to_pkcs12(loc)
        )),
        (Some((k, t)), Some(f)) => Err(format!(
            "{loc_key}: {loc} holds {} but {k}={t}; set {k}={}",
            match f {
                Format::Pem => "PEM text",
                Format::Pkcs12 => "a PKCS12 store",
            },
            match f {
                Format::Pem => "PEM",
                Format::Pkcs12 => "PKCS12",
            }
        )),
        (_, None) => Err(format!(
            "{loc_key}: {loc} is neither PEM text nor a PKCS12 store"
        )),
    }
}

/// PEM certificates (at least one).
pub fn pem_certs(pem: &[u8], key: &str) -> Result<Vec<CertificateDer<'static>>, String> {
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

const ENCRYPTED_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// The PEM private key in `pem`; an encrypted PKCS#8 key is decrypted
/// with `password` (`(key, value)` of `ssl.key.password`).
pub fn pem_key(
    pem: &[u8],
    key: &str,
    password: Option<(String, &str)>,
    password_name: &str,
) -> Result<PrivateKeyDer<'static>, String> {
    let text = String::from_utf8_lossy(pem);
    if let Some(start) = text.find(ENCRYPTED_BEGIN) {
        let body = &text[start + ENCRYPTED_BEGIN.len()..];
        let end = body
            .find(ENCRYPTED_END)
            .ok_or_else(|| format!("{key}: the encrypted private key has no {ENCRYPTED_END}"))?;
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("{key}: the encrypted private key is not base64: {e}"))?;
        let (pw_key, pw) = password.ok_or_else(|| {
            format!("{key}: the private key is encrypted; set {password_name} to its password")
        })?;
        let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
            .map_err(|e| format!("{key}: not an encrypted PKCS#8 private key: {e}"))?;
        let plain = info.decrypt(pw.as_bytes()).map_err(|e| {
            format!("{key}: the private key cannot be decrypted with {pw_key} (wrong password, or an unsupported cipher: {e})")
        })?;
        return Ok(pkcs8_key(plain.as_bytes().to_vec()));
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(format!(
            "{key}: the private key is encrypted in OpenSSL's legacy PEM form, which Sluice (like Kafka) does not read; \
             convert it with `openssl pkcs8 -topk8 -in key.pem -out key-pkcs8.pem` (it asks for the old and a new password)"
        ));
    }
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(PrivateKeyDer::Pkcs8(k)) => Ok(pkcs8_key(k.secret_pkcs8_der().to_vec())),
        Ok(k) => Ok(k),
        Err(e) => Err(format!(
            "{key}: no PEM private key (PKCS#8, PKCS#1 or SEC1) found: {e}"
        )),
    }
}

/// A PKCS#8 key as rustls takes it. Java's keytool writes EC keys
/// without their public half, which ring (rustls' provider here) needs:
/// P-256 and P-384 keys are written out again with it.
fn pkcs8_key(der: Vec<u8>) -> PrivateKeyDer<'static> {
    use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
    let completed = if let Ok(k) = p256::SecretKey::from_pkcs8_der(&der) {
        k.to_pkcs8_der().ok()
    } else if let Ok(k) = p384::SecretKey::from_pkcs8_der(&der) {
        k.to_pkcs8_der().ok()
    } else {
        None
    };
    let der = completed.map_or(der, |d| d.as_bytes().to_vec());
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der))
}

/// Opens the PKCS12 store in `bytes` with the password under
/// `password_key`.
fn open_pkcs12(
    p: &SslProps<'_>,
    bytes: &[u8],
    loc_key: &str,
    loc: &str,
    password_key: &str,
    policy: Pkcs12ImportPolicy,
) -> Result<KeyStore, String> {
    let (pw_key, pw) = p.get(password_key).ok_or_else(|| {
        format!(
            "{loc_key}: {loc} is a PKCS12 store; set {} to its password",
            p.name(password_key)
        )
    })?;
    KeyStore::from_pkcs12(bytes, pw, policy).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => {
            format!("{loc_key}: {loc} cannot be opened with {pw_key} (wrong password?)")
        }
        e => format!("{loc_key}: {loc} is not a PKCS12 store Sluice reads: {e}"),
    })
}

/// The key and chain of a PKCS12 keystore, which must hold exactly one
/// private key (Kafka has no key alias setting).
fn pkcs12_key_pair(
    p: &SslProps<'_>,
    bytes: &[u8],
    loc_key: &str,
    loc: &str,
) -> Result<KeyPair, String> {
    // keytool, like Java's PKCS12 store, protects the key with the store
    // password ("Different store and key passwords not supported for
    // PKCS12 KeyStores"), so `ssl.key.password` is not needed here.
    let store = open_pkcs12(
        p,
        bytes,
        loc_key,
        loc,
        KEYSTORE_PASSWORD,
        Pkcs12ImportPolicy::Strict,
    )?;
    let chains: Vec<(&String, &p12_keystore::PrivateKeyChain)> = store
        .entries()
        .filter_map(|(alias, e)| match e {
            KeyStoreEntry::PrivateKeyChain(c) => Some((alias, c)),
            _ => None,
        })
        .collect();
    let (_, chain) = match chains.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "{loc_key}: {loc} holds no private key with its certificate"
            ));
        }
        many => {
            let aliases: Vec<&str> = many.iter().map(|(a, _)| a.as_str()).collect();
            return Err(format!(
                "{loc_key}: {loc} holds {} private keys ({}); Sluice needs a store with one: \
                 copy it out with `keytool -importkeystore -srckeystore {loc} -destkeystore one.p12 -srcalias <alias>`",
                many.len(),
                aliases.join(", ")
            ));
        }
    };
    let certs = chain
        .certs()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    let key = pkcs8_key(chain.key().as_der().to_vec());
    Ok((certs, key))
}

/// Every certificate in a PKCS12 truststore: Java's trusted-certificate
/// entries (keytool -importcert), and the certificate bags that
/// `openssl pkcs12 -export -nokeys` writes without Java's trust mark.
fn pkcs12_certs(
    p: &SslProps<'_>,
    bytes: &[u8],
    loc_key: &str,
    loc: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let store = open_pkcs12(
        p,
        bytes,
        loc_key,
        loc,
        TRUSTSTORE_PASSWORD,
        Pkcs12ImportPolicy::Raw,
    )?;
    let certs: Vec<CertificateDer<'static>> = store
        .entries()
        .filter_map(|(_, e)| match e {
            KeyStoreEntry::Certificate(c) => Some(CertificateDer::from(c.as_der().to_vec())),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(format!("{loc_key}: {loc} holds no certificate"));
    }
    Ok(certs)
}

/// Reads the store file under `loc_key`.
fn read(loc_key: &str, loc: &str) -> Result<Vec<u8>, String> {
    std::fs::read(loc).map_err(|e| format!("{loc_key}: cannot read {loc}: {e}"))
}

/// The keystore of `p`: inline PEM, a PEM file or a PKCS12 file.
pub fn keystore(p: &SslProps<'_>) -> Result<KeyPair, String> {
    let key_password = p.get(KEY_PASSWORD);
    let pw_name = p.name(KEY_PASSWORD);
    if let Some((chain_key, chain)) = p.get(KEYSTORE_CHAIN) {
        let (key_key, key) = p
            .get(KEYSTORE_KEY)
            .ok_or_else(|| format!("{chain_key} needs {} as well", p.name(KEYSTORE_KEY)))?;
        return Ok((
            pem_certs(chain.as_bytes(), &chain_key)?,
            pem_key(key.as_bytes(), &key_key, key_password, &pw_name)?,
        ));
    }
    let (loc_key, loc) = p.get(KEYSTORE_LOCATION).ok_or_else(|| {
        format!(
            "a TLS key needs {} (a PEM or PKCS12 file with the key and certificate chain) or {} and {}",
            p.name(KEYSTORE_LOCATION),
            p.name(KEYSTORE_CHAIN),
            p.name(KEYSTORE_KEY)
        )
    })?;
    let bytes = read(&loc_key, loc)?;
    match format_of(p, KEYSTORE_TYPE, &loc_key, loc, &bytes)? {
        Format::Pem => Ok((
            pem_certs(&bytes, &loc_key)?,
            pem_key(&bytes, &loc_key, key_password, &pw_name)?,
        )),
        Format::Pkcs12 => pkcs12_key_pair(p, &bytes, &loc_key, loc),
    }
}

/// The certificates of `p`'s truststore, with the key that set it, when
/// one is configured.
pub fn trusted_certs(
    p: &SslProps<'_>,
) -> Result<Option<(String, Vec<CertificateDer<'static>>)>, String> {
    if let Some((k, pem)) = p.get(TRUSTSTORE_CERTIFICATES) {
        let c = pem_certs(pem.as_bytes(), &k)?;
        return Ok(Some((k, c)));
    }
    let Some((k, loc)) = p.get(TRUSTSTORE_LOCATION) else {
        return Ok(None);
    };
    let bytes = read(&k, loc)?;
    let certs = match format_of(p, TRUSTSTORE_TYPE, &k, loc, &bytes)? {
        Format::Pem => pem_certs(&bytes, &k)?,
        Format::Pkcs12 => pkcs12_certs(p, &bytes, &k, loc)?,
    };
    Ok(Some((k, certs)))
}

/// The truststore of `p` as PEM text, for clients that read only PEM
/// (librdkafka's `ssl.ca.pem`).
pub fn trusted_pem(p: &SslProps<'_>) -> Result<Option<String>, String> {
    Ok(trusted_certs(p)?.map(|(_, certs)| {
        let mut out = String::new();
        for c in certs {
            out.push_str("-----BEGIN CERTIFICATE-----\n");
            let b64 = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
            for line in b64.as_bytes().chunks(64) {
                out.push_str(&String::from_utf8_lossy(line));
                out.push('\n');
            }
            out.push_str("-----END CERTIFICATE-----\n");
        }
        out
    }))
}
