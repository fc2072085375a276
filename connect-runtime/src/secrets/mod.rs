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

/// A value holding a URL with a password (`scheme://user:pw@host/...`,
/// or a `password=`/`pwd=` query parameter, any case), with the password
/// shown as [`HIDDEN`]; `None` when there is none.
pub fn mask_url_password(value: &str) -> Option<String> {
    let scheme_end = value.find("://")?;
    let mut out = value.to_string();
    // Query parameters first (their positions come after the authority).
    let lower = out.to_ascii_lowercase();
    let mut cuts = Vec::new();
    for name in ["password=", "pwd="] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(name) {
            let start = from + i;
            let boundary = start > 0 && matches!(lower.as_bytes()[start - 1], b'?' | b'&' | b';');
            let vstart = start + name.len();
            let end = lower[vstart..]
                .find(['&', ';', '#'])
                .map_or(lower.len(), |e| vstart + e);
            if boundary && end > vstart {
                cuts.push((vstart, end));
            }
            from = end.max(vstart);
        }
    }
    let auth_start = scheme_end + 3;
    let auth_end = lower[auth_start..]
        .find(['/', '?', '#'])
        .map_or(lower.len(), |e| auth_start + e);
    if let Some(at) = lower[auth_start..auth_end].rfind('@')
        && let Some(colon) = lower[auth_start..auth_start + at].find(':')
        && colon + 1 < at
    {
        cuts.push((auth_start + colon + 1, auth_start + at));
    }
    if cuts.is_empty() {
        return None;
    }
    cuts.sort_unstable();
    for (a, b) in cuts.into_iter().rev() {
        out.replace_range(a..b, HIDDEN);
    }
    Some(out)
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
        // A URL sent back as REST showed it keeps its stored password.
        if !secret.contains(k)
            && let Some(old) = stored.and_then(|s| s.get(k))
            && mask_url_password(old).as_deref() == Some(v.as_str())
        {
            v.clone_from(old);
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
            ("http://host:8080/path?mypassword=no", None),
            ("tcp://user@host:1883", None),
            ("no url here password=x", None),
        ] {
            assert_eq!(mask_url_password(url).as_deref(), want, "{url}");
        }
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
        // A changed URL is the user's own, [hidden] and all.
        let mut changed = cfg(&[(
            "connection.url",
            "jdbc:postgresql://other/x?password=[hidden]",
        )]);
        restore_hidden(&registry, &mut changed, Some(&stored)).unwrap();
        assert_eq!(
            changed["connection.url"],
            "jdbc:postgresql://other/x?password=[hidden]"
        );
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
