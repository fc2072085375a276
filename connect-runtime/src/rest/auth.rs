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
//! A password may be stored as an Argon2 hash (`$argon2id$...`, made with
//! `sluice hash-password`), which is what a file should hold: the plain
//! form is read for migration. Anonymous: `/`, `/health*`, and `/metrics`
//! when `rest.auth.metrics.anonymous=true`; Kafka Connect's internal
//! `POST /connectors/{c}/tasks` is checked by its signature instead.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

pub const EXTENSIONS: &str = "rest.extension.classes";
pub const JAAS_CONFIG: &str = "java.security.auth.login.config";
pub const CREDENTIALS_FILE: &str = "rest.auth.basic.credentials.file";
pub const METRICS_ANONYMOUS: &str = "rest.auth.metrics.anonymous";
const BASIC_EXTENSION: &str = "BasicAuthSecurityRestExtension";
const LOGIN_MODULE: &str = "PropertyFileLoginModule";

#[derive(Clone)]
enum Secret {
    /// A password stored in plain text, kept only as its HMAC under a key
    /// made at start, so comparing takes the same time whatever it is.
    Plain(hmac::Tag),
    /// An Argon2 hash in PHC form.
    Argon2(String),
}

/// Users and their passwords, read once at start.
pub struct BasicAuth {
    users: BTreeMap<String, Secret>,
    mac: hmac::Key,
    pub metrics_anonymous: bool,
    /// Requests refused for missing or wrong credentials.
    pub failures: AtomicU64,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the passwords.
        f.debug_struct("BasicAuth")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

/// `-Djava.security.auth.login.config=PATH` in a `KAFKA_OPTS` value.
pub fn jaas_path_from_kafka_opts(opts: &str) -> Option<String> {
    opts.split_whitespace()
        .find_map(|o| o.strip_prefix(&format!("-D{JAAS_CONFIG}=")))
        .map(|p| p.trim_matches('"').to_string())
}

/// The credentials file a JAAS file's `KafkaConnect` section names.
fn credentials_from_jaas(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{JAAS_CONFIG}: cannot read {path}: {e}"))?;
    // Comments out, then `Name { module flag options; ... };` sections.
    let text: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let start = text
        .find("KafkaConnect")
        .and_then(|i| text[i..].find('{').map(|j| i + j + 1))
        .ok_or_else(|| format!("{path} has no KafkaConnect {{ ... }}; section"))?;
    let end = text[start..]
        .find('}')
        .map(|j| start + j)
        .ok_or_else(|| format!("{path}: the KafkaConnect section is not closed"))?;
    let section = &text[start..end];
    let entry = section
        .split(';')
        .map(str::trim)
        .find(|e| !e.is_empty())
        .ok_or_else(|| format!("{path}: the KafkaConnect section names no login module"))?;
    let module = entry.split_whitespace().next().unwrap_or("");
    if module.rsplit('.').next() != Some(LOGIN_MODULE) {
        return Err(format!(
            "{path}: login module {module} is not supported; Sluice reads org.apache.kafka.connect.rest.basic.auth.extension.{LOGIN_MODULE}"
        ));
    }
    let file = entry
        .split_whitespace()
        .find_map(|w| w.strip_prefix("file="))
        .map(|f| f.trim_matches('"').to_string())
        .filter(|f| !f.is_empty())
        .ok_or_else(|| format!("{path}: {LOGIN_MODULE} needs file=\"/path/to/credentials\""))?;
    Ok(file)
}

fn read_users(
    path: &str,
    named_by: &str,
    mac: &hmac::Key,
) -> Result<BTreeMap<String, Secret>, String> {
    let text = std::fs::read_to_string(Path::new(path))
        .map_err(|e| format!("{named_by}: cannot read the credentials file {path}: {e}"))?;
    let props = crate::config::properties::parse(&text)
        .map_err(|e| format!("{named_by}: credentials file {path}: {e}"))?;
    if props.is_empty() {
        return Err(format!(
            "{named_by}: the credentials file {path} is empty; Kafka Connect would let every request in, Sluice refuses to start"
        ));
    }
    props
        .into_iter()
        .map(|(user, pw)| {
            let secret = if pw.starts_with("$argon2") {
                PasswordHash::new(&pw)
                    .map_err(|e| format!("{path}: the hash of user {user} is not valid: {e}"))?;
                Secret::Argon2(pw)
            } else {
                Secret::Plain(hmac::sign(mac, pw.as_bytes()))
            };
            Ok((user, secret))
        })
        .collect()
}

impl BasicAuth {
    /// Reads the worker's authentication settings; `None` when none is set.
    pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        let rng = ring::rand::SystemRandom::new();
        let mac = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| "the system random generator failed".to_string())?;
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
                let file = credentials_from_jaas(jaas)?;
                users = Some(read_users(&file, jaas, &mac)?);
            }
        }
        if let Some(file) = props.get(CREDENTIALS_FILE).filter(|f| !f.trim().is_empty()) {
            if users.is_some() {
                return Err(format!("set {CREDENTIALS_FILE} or {EXTENSIONS}, not both"));
            }
            users = Some(read_users(file.trim(), CREDENTIALS_FILE, &mac)?);
        }
        let metrics_anonymous = props
            .get(METRICS_ANONYMOUS)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        Ok(users.map(|users| Self {
            users,
            mac,
            metrics_anonymous,
            failures: AtomicU64::new(0),
        }))
    }

    /// The user an `Authorization` header proves, or `None`.
    pub fn check(&self, header: Option<&str>) -> Option<String> {
        let (scheme, rest) = header?.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = STANDARD.decode(rest.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        let ok = match self.users.get(user)? {
            Secret::Plain(tag) => {
                hmac::verify(&self.mac, password.as_bytes(), tag.as_ref()).is_ok()
            }
            Secret::Argon2(phc) => PasswordHash::new(phc).is_ok_and(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            }),
        };
        ok.then(|| user.to_string())
    }

    pub fn note_failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// An Argon2id hash of `password` for a credentials file.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
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

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn basic(user: &str, pw: &str) -> String {
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
        let path = jaas_path_from_kafka_opts(&opts).unwrap();
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
