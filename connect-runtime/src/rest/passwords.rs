//! Users and passwords read from a credentials file, and the JAAS files
//! that name such files: shared by the REST API's basic authentication
//! (Kafka's `PropertyFileLoginModule`, `user=password`) and the schema
//! registry's (Jetty's `PropertyFileLoginModule`, `user: password,role,...`).
//!
//! A password is stored as an Argon2 hash (`$argon2id$...`, made with
//! `sluice hash-password`) or, for migration, in plain text; a plain one
//! is kept only as its HMAC under a key made at start, so comparing takes
//! the same time whatever it is.

use std::collections::BTreeMap;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

pub const JAAS_CONFIG: &str = "java.security.auth.login.config";

#[derive(Clone)]
enum Secret {
    Plain(hmac::Tag),
    /// An Argon2 hash in PHC form.
    Argon2(String),
}

/// Users and their passwords; never printed.
pub struct Passwords {
    users: BTreeMap<String, Secret>,
    /// An Argon2 hash of nothing anyone knows, checked for unknown users
    /// when any password is hashed, so an unknown name takes as long as a
    /// known one.
    dummy: Option<String>,
    mac: hmac::Key,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// `user → stored password` pairs read from `path`. With `jetty`,
    /// Jetty's obfuscated and digested forms (`OBF:`, `MD5:`, `CRYPT:`)
    /// are refused with the way to an Argon2 hash (Kafka's login module
    /// reads them as plain passwords, and so does this without `jetty`).
    pub fn new(entries: BTreeMap<String, String>, path: &str, jetty: bool) -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let mac = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| "the system random generator failed".to_string())?;
        let users = entries
            .into_iter()
            .map(|(user, pw)| {
                let secret = if pw.starts_with("$argon2") {
                    PasswordHash::new(&pw)
                        .map_err(|e| format!("{path}: the hash of user {user} is not valid: {e}"))?;
                    Secret::Argon2(pw)
                } else if let Some(form) = ["OBF:", "MD5:", "CRYPT:"]
                    .into_iter()
                    .find(|p| jetty && pw.starts_with(p))
                {
                    return Err(format!(
                        "{path}: the password of user {user} is in Jetty's {} form, which Sluice does not read; store an Argon2 hash made with `sluice hash-password`",
                        form.trim_end_matches(':')
                    ));
                } else {
                    Secret::Plain(hmac::sign(&mac, pw.as_bytes()))
                };
                Ok((user, secret))
            })
            .collect::<Result<_, String>>()?;
        let users: BTreeMap<String, Secret> = users;
        let dummy = if users.values().any(|s| matches!(s, Secret::Argon2(_))) {
            Some(super::auth::hash_password(&super::audit::random_id())?)
        } else {
            None
        };
        Ok(Self { users, dummy, mac })
    }

    /// Whether `password` is `user`'s.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let Some(secret) = self.users.get(user) else {
            if let Some(phc) = &self.dummy
                && let Ok(h) = PasswordHash::new(phc)
            {
                let _ = argon2::Argon2::default().verify_password(password.as_bytes(), &h);
            }
            return false;
        };
        match secret {
            Secret::Plain(tag) => {
                hmac::verify(&self.mac, password.as_bytes(), tag.as_ref()).is_ok()
            }
            Secret::Argon2(phc) => PasswordHash::new(phc).is_ok_and(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            }),
        }
    }

    /// The user an `Authorization: Basic` header proves, or `None`.
    pub fn check_basic(&self, header: &str) -> Option<String> {
        let (user, password) = basic_credentials(header)?;
        self.verify(&user, &password).then_some(user)
    }
}

/// The user and password of an `Authorization: Basic` header value.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// `-Djava.security.auth.login.config=PATH` in a JVM options value
/// (`KAFKA_OPTS`, `SCHEMA_REGISTRY_OPTS`).
pub fn jaas_path_from_opts(opts: &str) -> Option<String> {
    opts.split_whitespace()
        .find_map(|o| o.strip_prefix(&format!("-D{JAAS_CONFIG}=")))
        .map(|p| p.trim_matches('"').to_string())
}

/// The `file="..."` that section `section` of the JAAS file at `path`
/// gives its login module, whose class name must end in `module`.
pub fn login_file(path: &str, section: &str, module: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{JAAS_CONFIG}: cannot read {path}: {e}"))?;
    // Comments out, then `Name { module flag options; ... };` sections.
    let text: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let start = find_section(&text, section)
        .ok_or_else(|| format!("{path} has no {section} {{ ... }}; section"))?;
    let end = text[start..]
        .find('}')
        .map(|j| start + j)
        .ok_or_else(|| format!("{path}: the {section} section is not closed"))?;
    let entry = text[start..end]
        .split(';')
        .map(str::trim)
        .find(|e| !e.is_empty())
        .ok_or_else(|| format!("{path}: the {section} section names no login module"))?;
    let class = entry.split_whitespace().next().unwrap_or("");
    if class.rsplit('.').next() != Some(module) {
        return Err(format!(
            "{path}: login module {class} is not supported; Sluice reads {module} files"
        ));
    }
    entry
        .split_whitespace()
        .find_map(|w| w.strip_prefix("file="))
        .map(|f| f.trim_matches('"').to_string())
        .filter(|f| !f.is_empty())
        .ok_or_else(|| format!("{path}: {module} needs file=\"/path/to/credentials\""))
}

/// Where the body of section `name` starts: the name as a whole word
/// followed by `{`.
fn find_section(text: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(name).map(|i| from + i) {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].trim_start();
        let word_start = before.is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'));
        if word_start && after.starts_with('{') {
            let brace = text.len() - after.len();
            return Some(brace + 1);
        }
        from = i + name.len();
    }
    None
}

/// Reads a credentials file of `user=value` (or `user: value`) lines;
/// an empty file is an error, since an empty list would let everyone in
/// under Kafka's rules.
pub fn read_credentials(path: &str, named_by: &str) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{named_by}: cannot read the credentials file {path}: {e}"))?;
    let props = crate::config::properties::parse(&text)
        .map_err(|e| format!("{named_by}: credentials file {path}: {e}"))?;
    if props.is_empty() {
        return Err(format!(
            "{named_by}: the credentials file {path} is empty; Kafka Connect would let every request in, Sluice refuses to start"
        ));
    }
    Ok(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_found_by_whole_name() {
        let dir = tempfile::tempdir().unwrap();
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            "SchemaRegistry-Props-Old { x.PropertyFileLoginModule required file=\"/old\"; };\n\
             // SchemaRegistry-Props { commented out };\n\
             SchemaRegistry-Props {\n  org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required\n  file=\"/etc/sr/passwords\"\n  debug=\"false\";\n};\n",
        )
        .unwrap();
        let path = jaas.display().to_string();
        assert_eq!(
            login_file(&path, "SchemaRegistry-Props", "PropertyFileLoginModule").unwrap(),
            "/etc/sr/passwords"
        );
        let e = login_file(&path, "KafkaConnect", "PropertyFileLoginModule").unwrap_err();
        assert!(e.contains("no KafkaConnect"), "{e}");
        let e = login_file(&path, "SchemaRegistry-Props", "JDBCLoginModule").unwrap_err();
        assert!(e.contains("not supported"), "{e}");
    }

    #[test]
    fn jetty_digests_are_refused_and_plain_and_argon2_checked() {
        let e = Passwords::new(
            [(
                "u".to_string(),
                "MD5:164c88b302622e17050af52c89945d44".to_string(),
            )]
            .into(),
            "/p",
            true,
        )
        .unwrap_err();
        assert!(
            e.contains("MD5") && e.contains("sluice hash-password"),
            "{e}"
        );
        let hash = super::super::auth::hash_password("pw2").unwrap();
        let p = Passwords::new(
            [
                ("a".to_string(), "pw1".to_string()),
                ("b".to_string(), hash),
                ("k".to_string(), "OBF:as-written".to_string()),
            ]
            .into(),
            "/p",
            false,
        )
        .unwrap();
        // Kafka's module reads Jetty's prefixes as part of the password.
        assert!(p.verify("k", "OBF:as-written"));
        assert!(p.verify("a", "pw1") && p.verify("b", "pw2"));
        assert!(!p.verify("a", "pw2") && !p.verify("c", "pw1"));
        let h = format!("Basic {}", STANDARD.encode("b:pw2"));
        assert_eq!(p.check_basic(&h).as_deref(), Some("b"));
        assert_eq!(p.check_basic("Bearer x"), None);
        assert!(!format!("{p:?}").contains("pw1"));
    }
}
