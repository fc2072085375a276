//! HTTP basic authentication on the REST API (issue 21, first part).
//!
//! Two ways to turn it on, both fail closed (the worker does not start
//! when the credentials cannot be read or are empty):
//!
//! - Kafka Connect's: `rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension`
//!   with a JAAS file named by `-Djava.security.auth.login.config=PATH`
//!   in `KAFKA_OPTS` (as Confluent's images pass it) or by the worker key
//!   `java.security.auth.login.config`; its `KafkaConnect` section names
//!   `PropertyFileLoginModule` and its `file="..."` of `user=password`
//!   lines. Kafka Connect lets everyone in when that file is empty;
//!   Sluice refuses to start.
//! - Sluice's: `rest.auth.basic.credentials.file=PATH`, the same format.
//!
//! Besides passwords (or instead of them):
//!
//! - API keys: `rest.auth.api.keys.file` holds `principal=sha256:<hex>`
//!   lines (`sluice api-key` makes a key and its line; only the hash is
//!   stored); a client sends `X-API-Key: <key>` or
//!   `Authorization: ApiKey <key>`.
//! - Client certificates: `rest.auth.mtls.enable=true` on a worker whose
//!   https listener asks for them (`ssl.client.auth`); the certificate's
//!   subject common name is the principal.
//!
//! A password may be stored as an Argon2 hash (`$argon2id$...`, made with
//! `sluice hash-password`), which is what a file should hold: the plain
//! form is read for migration. Anonymous: `/`, `/health*`, and `/metrics`
//! when `rest.auth.metrics.anonymous=true`; Kafka Connect's internal
//! `POST /connectors/{c}/tasks` is checked by its signature instead.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;

pub use super::passwords::JAAS_CONFIG;
use super::passwords::{Passwords, login_file, read_credentials};

pub const EXTENSIONS: &str = "rest.extension.classes";
pub const CREDENTIALS_FILE: &str = "rest.auth.basic.credentials.file";
pub const METRICS_ANONYMOUS: &str = "rest.auth.metrics.anonymous";
pub const API_KEYS_FILE: &str = "rest.auth.api.keys.file";
pub const MTLS: &str = "rest.auth.mtls.enable";
const BASIC_EXTENSION: &str = "BasicAuthSecurityRestExtension";
const LOGIN_MODULE: &str = "PropertyFileLoginModule";

/// Users and their passwords, API keys and whether client certificates
/// name principals; read once at start.
pub struct BasicAuth {
    users: Passwords,
    /// SHA-256 of each API key → its principal.
    api_keys: BTreeMap<Vec<u8>, String>,
    mtls: bool,
    /// OAuth 2.0 / OpenID Connect bearer tokens, when configured.
    pub jwt: Option<std::sync::Arc<super::jwt::JwtAuth>>,
    pub metrics_anonymous: bool,
    /// Requests refused for missing or wrong credentials.
    pub failures: AtomicU64,
    /// Requests whose credentials were accepted.
    pub successes: AtomicU64,
    /// Bursts of refusals (`auth_watch`).
    pub watch: super::auth_watch::Watch,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the passwords.
        f.debug_struct("BasicAuth")
            .field("users", &self.users)
            .field("api_keys", &self.api_keys.len())
            .field("mtls", &self.mtls)
            .field("jwt", &self.jwt.is_some())
            .finish_non_exhaustive()
    }
}

impl BasicAuth {
    /// Reads the worker's authentication settings; `None` when none is set.
    pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        // The users and the file they came from.
        let mut users = None;
        if let Some(list) = props.get(EXTENSIONS) {
            for class in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if class.rsplit('.').next() != Some(BASIC_EXTENSION) {
                    return Err(format!(
                        "Invalid value {class} for configuration {EXTENSIONS}: Sluice runs org.apache.kafka.connect.rest.basic.auth.extension.{BASIC_EXTENSION} only"
                    ));
                }
                let jaas = props.get(JAAS_CONFIG).ok_or_else(|| {
                    format!(
                        "{EXTENSIONS}={class} needs a JAAS file: -D{JAAS_CONFIG}=PATH in KAFKA_OPTS, or {JAAS_CONFIG}=PATH in the worker config"
                    )
                })?;
                let file = login_file(jaas, "KafkaConnect", LOGIN_MODULE)?;
                users = Some((read_credentials(&file, jaas)?, file));
            }
        }
        if let Some(file) = props.get(CREDENTIALS_FILE).filter(|f| !f.trim().is_empty()) {
            if users.is_some() {
                return Err(format!("set {CREDENTIALS_FILE} or {EXTENSIONS}, not both"));
            }
            users = Some((
                read_credentials(file.trim(), CREDENTIALS_FILE)?,
                file.trim().to_string(),
            ));
        }
        let flag = |k: &str| {
            props
                .get(k)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let api_keys = match props
            .get(API_KEYS_FILE)
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
        {
            Some(f) => Some(read_api_keys(f)?),
            None => None,
        };
        let mtls = flag(MTLS);
        let jwt = super::jwt::JwtAuth::from_worker(props)?.map(std::sync::Arc::new);
        if users.is_none() && api_keys.is_none() && !mtls && jwt.is_none() {
            return Ok(None);
        }
        let (users, file) = users.unwrap_or_default();
        // Kafka's PropertyFileLoginModule compares passwords as written,
        // Jetty's prefixes included.
        let users = Passwords::new(users, &file, false)?;
        Ok(Some(Self {
            users,
            api_keys: api_keys.unwrap_or_default(),
            mtls,
            jwt,
            metrics_anonymous: flag(METRICS_ANONYMOUS),
            failures: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            watch: Default::default(),
        }))
    }

    /// Whether client certificates name principals.
    pub fn mtls(&self) -> bool {
        self.mtls
    }

    /// The principal a request proves, and how: a password
    /// (`Authorization: Basic`), an API key (`X-API-Key` or
    /// `Authorization: ApiKey`), or the client certificate's subject
    /// (`cert_cn`, when client certificates name principals).
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        api_key: Option<&str>,
        cert_cn: Option<&str>,
    ) -> Option<(String, &'static str)> {
        if let Some(h) = authorization {
            let (scheme, rest) = h.trim().split_once(' ')?;
            if scheme.eq_ignore_ascii_case("apikey") {
                return self.api_key(rest).map(|p| (p, "api-key"));
            }
            // Credentials that do not prove who they claim are a refusal,
            // whatever else comes with them.
            return self.check(Some(h)).map(|p| (p, "basic"));
        }
        if let Some(k) = api_key {
            return self.api_key(k).map(|p| (p, "api-key"));
        }
        // Certificate principals have their own form, so a certificate
        // with CN=admin is not the password user admin.
        if self.mtls {
            return cert_cn.map(|cn| (format!("CN={cn}"), "mtls"));
        }
        None
    }

    fn api_key(&self, key: &str) -> Option<String> {
        let digest = ring::digest::digest(&ring::digest::SHA256, key.trim().as_bytes());
        self.api_keys.get(digest.as_ref()).cloned()
    }

    /// The user an `Authorization: Basic` header proves, or `None`.
    pub fn check(&self, header: Option<&str>) -> Option<String> {
        self.users.check_basic(header?)
    }

    pub fn note_failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn note_success(&self) {
        self.successes.fetch_add(1, Ordering::Relaxed);
    }
}

/// `principal=sha256:<hex>` lines.
fn read_api_keys(path: &str) -> Result<BTreeMap<Vec<u8>, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{API_KEYS_FILE}: cannot read {path}: {e}"))?;
    let props = crate::config::properties::parse(&text)
        .map_err(|e| format!("{API_KEYS_FILE}: {path}: {e}"))?;
    if props.is_empty() {
        return Err(format!("{API_KEYS_FILE}: {path} holds no key"));
    }
    let mut out = BTreeMap::new();
    for (principal, v) in props {
        let hex = v.trim().strip_prefix("sha256:").ok_or_else(|| {
            format!("{path}: the key of {principal} is not sha256:<hex> (store hashes, not keys; `sluice api-key` makes both)")
        })?;
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| format!("{path}: the hash of {principal} is not 64 hex digits"))?;
        out.insert(bytes, principal);
    }
    Ok(out)
}

/// A new random API key and the line that stores its hash.
pub fn new_api_key(principal: &str) -> Result<(String, String), String> {
    let rng = ring::rand::SystemRandom::new();
    let bytes: [u8; 32] = ring::rand::generate(&rng)
        .map_err(|_| "the system random generator failed".to_string())?
        .expose();
    let key = format!(
        "sk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Ok((key, format!("{principal}=sha256:{hex}")))
}

/// The subject common name of a DER certificate (the principal of a
/// client certificate), read without a full X.509 parser: the subject is
/// the sixth element of the TBS certificate when a version is present.
pub fn subject_cn(der: &[u8]) -> Option<String> {
    // One DER element: (tag, contents, rest).
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let first = usize::from(*b.get(1)?);
        let (len, hdr) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7f;
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | usize::from(*b.get(2 + i)?);
            }
            (len, 2 + n)
        };
        let end = hdr.checked_add(len)?;
        Some((tag, b.get(hdr..end)?, b.get(end..)?))
    }
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let (tag, body, r) = tlv(rest)?;
        fields.push((tag, body));
        rest = r;
    }
    // [0] version?, serial, signature, issuer, validity, subject.
    let skip = usize::from(fields.first()?.0 == 0xa0);
    let (_, subject) = *fields.get(skip + 4)?;
    let mut rdns = subject;
    while !rdns.is_empty() {
        let (_, set, r) = tlv(rdns)?;
        rdns = r;
        let (_, atv, _) = tlv(set)?;
        let (_, oid, value) = tlv(atv)?;
        if oid == [0x55, 0x04, 0x03] {
            let (_, v, _) = tlv(value)?;
            return String::from_utf8(v.to_vec()).ok();
        }
    }
    None
}

/// An Argon2id hash of `password` for a credentials file.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    // The salt from ring's generator: argon2's own needs a getrandom
    // feature that only other crates happen to turn on.
    let rng = ring::rand::SystemRandom::new();
    let bytes: [u8; 16] = ring::rand::generate(&rng)
        .map_err(|_| "the system random generator failed".to_string())?
        .expose();
    let salt = SaltString::encode_b64(&bytes).map_err(|e| format!("cannot make a salt: {e}"))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Requests that need no credentials.
pub fn anonymous(method: &axum::http::Method, path: &str, metrics_anonymous: bool) -> bool {
    let path = path.trim_end_matches('/');
    path.is_empty()
        || path == "/health"
        || path.starts_with("/health/")
        || (metrics_anonymous && path == "/metrics")
        // Internal: checked by its KIP-507 signature.
        || (method == axum::http::Method::POST
            && path
                .strip_prefix("/connectors/")
                .and_then(|r| r.strip_suffix("/tasks"))
                .is_some_and(|c| !c.is_empty() && !c.contains('/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props;

    fn basic(user: &str, pw: &str) -> String {
        use base64::engine::general_purpose::STANDARD;
        format!("Basic {}", STANDARD.encode(format!("{user}:{pw}")))
    }

    #[test]
    fn kafka_connect_jaas_setup_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let hash = hash_password("s3cret").unwrap();
        let creds = dir.path().join("credentials.properties");
        std::fs::write(&creds, format!("admin=admin-pw\nops: {hash}\n")).unwrap();
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            format!(
                "// Kafka Connect's documented layout\nKafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
                creds.display()
            ),
        )
        .unwrap();
        let opts = format!("-Xmx1g -D{JAAS_CONFIG}={}", jaas.display());
        let path = super::super::passwords::jaas_path_from_opts(&opts).unwrap();
        let auth = BasicAuth::from_worker(&props(&[
            (
                EXTENSIONS,
                "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension",
            ),
            (JAAS_CONFIG, &path),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            auth.check(Some(&basic("admin", "admin-pw"))),
            Some("admin".into())
        );
        assert_eq!(
            auth.check(Some(&basic("ops", "s3cret"))),
            Some("ops".into())
        );
        for bad in [
            basic("admin", "wrong"),
            basic("ops", "admin-pw"),
            basic("nobody", ""),
            "Bearer abc".into(),
            "Basic !!!".into(),
            "Basic".into(),
        ] {
            assert_eq!(auth.check(Some(&bad)), None, "{bad}");
        }
        assert_eq!(auth.check(None), None);
        assert!(!format!("{auth:?}").contains("admin-pw"));
    }

    #[test]
    fn fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.properties");
        std::fs::write(&empty, "# nobody\n").unwrap();
        let e = BasicAuth::from_worker(&props(&[(CREDENTIALS_FILE, &empty.display().to_string())]))
            .unwrap_err();
        assert!(e.contains("empty") && e.contains("refuses to start"), "{e}");
        let e = BasicAuth::from_worker(&props(&[(EXTENSIONS, BASIC_EXTENSION)])).unwrap_err();
        assert!(e.contains("KAFKA_OPTS"), "{e}");
        let e =
            BasicAuth::from_worker(&props(&[(EXTENSIONS, "com.example.MyExtension")])).unwrap_err();
        assert!(e.contains(EXTENSIONS), "{e}");
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(&jaas, "KafkaConnect { com.example.Ldap required; };").unwrap();
        let e = BasicAuth::from_worker(&props(&[
            (EXTENSIONS, BASIC_EXTENSION),
            (JAAS_CONFIG, &jaas.display().to_string()),
        ]))
        .unwrap_err();
        assert!(e.contains("com.example.Ldap"), "{e}");
        assert!(BasicAuth::from_worker(&props(&[])).unwrap().is_none());
        let keys = dir.path().join("keys.properties");
        std::fs::write(&keys, "ci=plaintext-key\n").unwrap();
        let e = BasicAuth::from_worker(&props(&[(API_KEYS_FILE, &keys.display().to_string())]))
            .unwrap_err();
        assert!(e.contains("sha256:"), "{e}");
    }

    #[test]
    fn api_keys_are_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let (key, line) = new_api_key("ci").unwrap();
        assert!(
            line.starts_with("ci=sha256:") && !line.contains(&key),
            "{line}"
        );
        let keys = dir.path().join("keys.properties");
        std::fs::write(&keys, format!("{line}\n")).unwrap();
        let auth = BasicAuth::from_worker(&props(&[(API_KEYS_FILE, &keys.display().to_string())]))
            .unwrap()
            .unwrap();
        assert_eq!(
            auth.authenticate(None, Some(&key), None),
            Some(("ci".into(), "api-key"))
        );
        let h = format!("ApiKey {key}");
        assert_eq!(
            auth.authenticate(Some(&h), None, None),
            Some(("ci".into(), "api-key"))
        );
        assert_eq!(auth.authenticate(None, Some("sk_wrong"), None), None);
        // Client certificates name nobody unless turned on.
        assert_eq!(auth.authenticate(None, None, Some("cn")), None);
        // Wrong basic credentials are not rescued by a key.
        let bad = basic("ci", "x");
        assert_eq!(auth.authenticate(Some(&bad), Some(&key), None), None);
    }

    #[test]
    fn anonymous_paths() {
        use axum::http::Method;
        for (m, p, want) in [
            (Method::GET, "/", true),
            (Method::GET, "/health/ready", true),
            (Method::GET, "/metrics", false),
            (Method::POST, "/connectors/c/tasks", true),
            (Method::GET, "/connectors/c/tasks", false),
            (Method::POST, "/connectors/c/tasks/0/restart", false),
            (Method::POST, "/connectors//tasks", false),
            (Method::GET, "/connectors", false),
            (Method::GET, "/healthz", false),
        ] {
            assert_eq!(anonymous(&m, p, false), want, "{m} {p}");
        }
        assert!(anonymous(&Method::GET, "/metrics", true));
    }
}
