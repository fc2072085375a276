//! Secrets at rest (issue 21, item 8): the secret values of connector and
//! task configs are sealed (envelope encryption, [`envelope`]) where they
//! are stored, the config topic and RocksDB, and opened when read back;
//! REST shows them as `[hidden]`, and a config sent back with `[hidden]`
//! keeps the stored value.
//!
//! Which values are secrets: [`sensitive`]. The keys: [`keyring`]. A
//! worker without keys stores values as given (and says so at start).

pub mod cli;
pub mod envelope;
pub mod keyring;
pub mod sensitive;

use std::collections::BTreeSet;

use sluice_connect_api::{Config, Registry};

pub use envelope::EnvelopeError;
pub use keyring::Keyring;

/// What REST shows in place of a secret, as Kafka Connect shows PASSWORD
/// values.
pub const HIDDEN: &str = "[hidden]";

/// A stored value that does not open, named by its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key {key} {source}")]
pub struct SecretError {
    pub key: String,
    pub source: EnvelopeError,
}

/// Seals and opens configs with the worker's keys.
#[derive(Debug, Default)]
pub struct Secrets {
    keyring: Option<Keyring>,
}

impl Secrets {
    pub fn new(keyring: Option<Keyring>) -> Self {
        Self { keyring }
    }

    pub fn from_worker(props: &std::collections::BTreeMap<String, String>) -> Result<Self, String> {
        Ok(Self::new(Keyring::from_worker(props)?))
    }

    /// Whether values are sealed at all.
    pub fn enabled(&self) -> bool {
        self.keyring.is_some()
    }

    /// The id of the key new values are sealed with.
    pub fn active_key_id(&self) -> Option<&str> {
        self.keyring.as_ref().map(|k| k.active().id.as_str())
    }

    /// `config` as it is stored: the values of `sensitive` keys sealed
    /// for `connector` with the active key.
    pub fn seal(
        &self,
        connector: &str,
        config: &Config,
        sensitive: &BTreeSet<String>,
    ) -> Result<Config, SecretError> {
        let Some(ring) = &self.keyring else {
            return Ok(config.clone());
        };
        config
            .iter()
            .map(|(k, v)| {
                if sensitive.contains(k) && !envelope::is_sealed(v) {
                    envelope::seal(ring.active(), connector, k, v)
                        .map(|s| (k.clone(), s))
                        .map_err(|source| SecretError {
                            key: k.clone(),
                            source,
                        })
                } else {
                    Ok((k.clone(), v.clone()))
                }
            })
            .collect()
    }

    /// A stored config with every sealed value opened.
    pub fn open(&self, connector: &str, stored: &Config) -> Result<Config, SecretError> {
        stored
            .iter()
            .map(|(k, v)| {
                if !envelope::is_sealed(v) {
                    return Ok((k.clone(), v.clone()));
                }
                let found = match &self.keyring {
                    Some(r) => envelope::open(|id| r.find(id), connector, k, v),
                    None => envelope::open(|_| None, connector, k, v),
                };
                found.map(|p| (k.clone(), p)).map_err(|source| SecretError {
                    key: k.clone(),
                    source,
                })
            })
            .collect()
    }

    /// Whether a stored config holds values sealed with another key than
    /// the active one (or, with keys configured, values not sealed that
    /// `sensitive` says should be).
    pub fn stale(&self, stored: &Config, sensitive: &BTreeSet<String>) -> bool {
        let Some(active) = self.active_key_id() else {
            return false;
        };
        stored.iter().any(|(k, v)| match envelope::key_id(v) {
            Some(id) => id != active,
            None => sensitive.contains(k),
        })
    }
}

/// The secret keys of a connector or task config.
pub fn sensitive_keys(registry: &Registry, config: &Config) -> BTreeSet<String> {
    sensitive::keys(registry, config)
}

/// `config` (a connector's or a task's) with every secret shown as
/// [`HIDDEN`], and the password inside a URL value too
/// ([`mask_url_password`]).
pub fn mask(registry: &Registry, config: &Config) -> Config {
    let secret = sensitive::keys(registry, config);
    config
        .iter()
        .map(|(k, v)| {
            let shown = if secret.contains(k) {
                HIDDEN.to_string()
            } else {
                mask_url_password(v).unwrap_or_else(|| v.clone())
            };
            (k.clone(), shown)
        })
        .collect()
}

/// A value that is a URL with a password (`scheme://user:pw@host/...`, or
/// a parameter whose name ends in `password`, `passwd` or `pwd`, after
/// `?`, `&` or `;`, any case), with each password shown as [`HIDDEN`];
/// `None` when there is none.
pub fn mask_url_password(value: &str) -> Option<String> {
    let scheme_end = value.find("://")?;
    let scheme = &value[..scheme_end];
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b':'))
    {
        return None;
    }
    let rest = scheme_end + 3;
    let mut spans: Vec<(usize, usize)> = Vec::new();
    // user:password@ in the authority (which ends where a path, query or
    // the `;` properties of SQL Server URLs start).
    let auth_end = value[rest..]
        .find(['/', '?', '#', ';'])
        .map_or(value.len(), |e| rest + e);
    if let Some(at) = value[rest..auth_end].rfind('@')
        && let Some(colon) = value[rest..rest + at].find(':')
        && colon + 1 < at
    {
        spans.push((rest + colon + 1, rest + at));
    }
    // name=value parameters.
    let bytes = value.as_bytes();
    let mut i = rest;
    while i < bytes.len() {
        if !matches!(bytes[i], b'?' | b'&' | b';') {
            i += 1;
            continue;
        }
        let start = i + 1;
        let end = value[start..]
            .find(['&', ';', '#'])
            .map_or(value.len(), |e| start + e);
        if let Some(eq) = value[start..end].find('=') {
            let name = value[start..start + eq].to_ascii_lowercase();
            if ["password", "passwd", "pwd"]
                .iter()
                .any(|n| name.ends_with(n))
                && start + eq + 1 < end
            {
                spans.push((start + eq + 1, end));
            }
        }
        i = end;
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut out = String::with_capacity(value.len());
    let mut pos = 0;
    for (a, b) in merged {
        out.push_str(&value[pos..a]);
        out.push_str(HIDDEN);
        pos = b;
    }
    out.push_str(&value[pos..]);
    Some(out)
}

/// `text` (a status trace, a log line) with the password of every URL in
/// it shown as [`HIDDEN`].
pub fn mask_urls_in_text(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    let is_edge = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '(' | ')' | '[' | ']' | ',' | '<' | '>' | '`'
            )
    };
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    for c in text.chars() {
        if is_edge(c) {
            out.push_str(&mask_url_password(&token).unwrap_or_else(|| token.clone()));
            token.clear();
            out.push(c);
        } else {
            token.push(c);
        }
    }
    out.push_str(&mask_url_password(&token).unwrap_or(token));
    out
}

/// A submitted config's problems with secrets: a value that looks sealed
/// (only the worker writes those), or [`HIDDEN`] for a key with nothing
/// stored to keep. `[hidden]` for a secret key that is stored is replaced
/// by the stored value.
pub fn restore_hidden(
    registry: &Registry,
    submitted: &mut Config,
    stored: Option<&Config>,
) -> Result<(), String> {
    if let Some((k, _)) = submitted.iter().find(|(_, v)| envelope::is_sealed(v)) {
        return Err(format!(
            "the value of {k} starts with {}, which only the worker writes: send the value itself",
            envelope::PREFIX
        ));
    }
    let secret = sensitive_keys(registry, submitted);
    for (k, v) in submitted.iter_mut() {
        if !secret.contains(k) && v.contains(HIDDEN) {
            // A URL sent back as REST showed it keeps its stored password;
            // one whose password is [hidden] otherwise has nothing to keep.
            match stored.and_then(|s| s.get(k)) {
                Some(old) if mask_url_password(old).as_deref() == Some(v.as_str()) => {
                    v.clone_from(old);
                }
                _ if mask_url_password(v).as_deref() == Some(v.as_str()) => {
                    return Err(format!(
                        "the password in {k} is {HIDDEN} and the URL differs from the stored one: send the URL with its password"
                    ));
                }
                _ => {}
            }
            continue;
        }
        if v != HIDDEN || !secret.contains(k) {
            continue;
        }
        match stored.and_then(|s| s.get(k)) {
            Some(old) => v.clone_from(old),
            None => {
                return Err(format!(
                    "{k} is {HIDDEN} but no value is stored for it: send the value itself"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props as cfg;

    #[test]
    fn seals_only_secrets_and_opens_them_back() {
        let s = Secrets::new(Some(Keyring::of(&[("k1", [3; 32])], "k1")));
        let c = cfg(&[("connection.password", "pw"), ("topic", "t")]);
        let keys: BTreeSet<String> = ["connection.password".to_string()].into();
        let sealed = s.seal("c", &c, &keys).unwrap();
        assert_eq!(sealed["topic"], "t");
        assert!(sealed["connection.password"].starts_with("sluice:enc:v1:k1:"));
        assert!(!s.stale(&sealed, &keys));
        assert!(s.stale(&c, &keys));
        assert_eq!(s.open("c", &sealed).unwrap(), c);
        let e = Secrets::default().open("c", &sealed).unwrap_err();
        assert_eq!(e.key, "connection.password");
        assert!(e.to_string().contains("key id k1"), "{e}");
        // No keys: stored as given.
        assert_eq!(Secrets::default().seal("c", &c, &keys).unwrap(), c);
        let newer = Secrets::new(Some(Keyring::of(&[("k1", [3; 32]), ("k2", [4; 32])], "k2")));
        assert!(newer.stale(&sealed, &keys));
    }

    #[test]
    fn passwords_in_urls_are_hidden_and_kept() {
        for (url, want) in [
            (
                "jdbc:postgresql://db:5432/x?user=u&password=s3cret&ssl=true",
                Some("jdbc:postgresql://db:5432/x?user=u&password=[hidden]&ssl=true"),
            ),
            (
                "amqp://guest:s3cret@rabbit:5672/vh",
                Some("amqp://guest:[hidden]@rabbit:5672/vh"),
            ),
            (
                "jdbc:mysql://u:p@h/db?PASSWORD=q",
                Some("jdbc:mysql://u:[hidden]@h/db?PASSWORD=[hidden]"),
            ),
            (
                "jdbc:sqlserver://h;databaseName=d;pwd=z",
                Some("jdbc:sqlserver://h;databaseName=d;pwd=[hidden]"),
            ),
            (
                "jdbc:postgresql://h/d?sslpassword=k&user=u",
                Some("jdbc:postgresql://h/d?sslpassword=[hidden]&user=u"),
            ),
            // Overlapping places (seen panicking in review) merge.
            (
                "jdbc:sqlserver://db:1433;user=sa;password=Passw0rd12@x",
                Some("jdbc:sqlserver://db:1433;user=sa;password=[hidden]"),
            ),
            (
                "jdbc:sqlserver://srv:1433;database=d;password=LongPassword123;user=admin@srv",
                Some("jdbc:sqlserver://srv:1433;database=d;password=[hidden];user=admin@srv"),
            ),
            (
                "http://h/?password=a?pwd=123456789",
                Some("http://h/?password=[hidden]"),
            ),
            (
                "x://u:a;pwd=b;cdefghijklmnop@h",
                Some("x://u:a;pwd=[hidden];cdefghijklmnop@h"),
            ),
            ("mqtt://ü:pässwörd@höst/x", Some("mqtt://ü:[hidden]@höst/x")),
            ("http://host:8080/path?mypasswordx=no", None),
            ("tcp://user@host:1883", None),
            ("no url here password=x", None),
            ("SELECT 'a://b' FROM t WHERE pwd=1", None),
        ] {
            assert_eq!(mask_url_password(url).as_deref(), want, "{url}");
        }
        assert_eq!(
            mask_urls_in_text("NATS nats://u:pw@h:4222, nats://v:q@i refused (\"amqp://g:s@r\")"),
            "NATS nats://u:[hidden]@h:4222, nats://v:[hidden]@i refused (\"amqp://g:[hidden]@r\")"
        );
        let registry = crate::plugins::registry();
        let stored = cfg(&[("connection.url", "jdbc:postgresql://db/x?password=s3cret")]);
        let shown = mask(&registry, &stored);
        assert_eq!(
            shown["connection.url"],
            "jdbc:postgresql://db/x?password=[hidden]"
        );
        let mut sent = shown.clone();
        restore_hidden(&registry, &mut sent, Some(&stored)).unwrap();
        assert_eq!(sent, stored);
        // A changed URL with the password still [hidden]: nothing to keep.
        let mut changed = cfg(&[(
            "connection.url",
            "jdbc:postgresql://other/x?password=[hidden]",
        )]);
        let e = restore_hidden(&registry, &mut changed, Some(&stored)).unwrap_err();
        assert!(e.contains("connection.url"), "{e}");
    }

    #[test]
    fn hidden_values_are_kept_and_sealed_ones_refused() {
        let registry = crate::plugins::registry();
        let stored = cfg(&[("connection.password", "pw"), ("topic", "t")]);
        let mut sent = cfg(&[("connection.password", HIDDEN), ("topic", HIDDEN)]);
        restore_hidden(&registry, &mut sent, Some(&stored)).unwrap();
        // Only secrets are restored; a literal "[hidden]" topic is the
        // user's own value.
        assert_eq!(
            sent,
            cfg(&[("connection.password", "pw"), ("topic", HIDDEN)])
        );
        let mut new = cfg(&[("ssl.key.password", HIDDEN)]);
        let e = restore_hidden(&registry, &mut new, Some(&stored)).unwrap_err();
        assert!(e.contains("ssl.key.password is [hidden]"), "{e}");
        let mut forged = cfg(&[("x", "sluice:enc:v1:k:AA:AA")]);
        let e = restore_hidden(&registry, &mut forged, None).unwrap_err();
        assert!(e.contains("of x"), "{e}");
        assert_eq!(
            mask(&registry, &stored),
            cfg(&[("connection.password", HIDDEN), ("topic", "t")])
        );
    }
}
