//! The key-encryption keys a worker holds, from a file and/or an
//! environment variable, and the one new values are sealed with.
//!
//! ```properties
//! secrets.encryption.keys.file=/etc/sluice/secrets.keys
//! secrets.encryption.keys.env=SLUICE_SECRETS_KEYS
//! secrets.encryption.key.id=2026-12
//! ```
//!
//! Both hold `<key id>=<base64 of 32 random bytes>` entries, one per line
//! in the file (`#` comments), separated by commas or newlines in the
//! variable; `sluice secrets generate-key <id>` prints one. Old keys stay
//! listed after a rotation so that what they sealed still opens.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::envelope::Kek;

pub const KEYS_FILE: &str = "secrets.encryption.keys.file";
pub const KEYS_ENV: &str = "secrets.encryption.keys.env";
pub const ACTIVE_KEY: &str = "secrets.encryption.key.id";

/// The worker's key-encryption keys.
#[derive(Debug)]
pub struct Keyring {
    keys: BTreeMap<String, Kek>,
    active: String,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `id=base64` entries, split at `separators` (a file's lines; a
/// variable's lines or commas); `source` names where they came from in
/// errors, which never show key bytes.
fn parse_entries(
    text: &str,
    separators: &[char],
    source: &str,
) -> Result<Vec<(String, [u8; 32])>, String> {
    let mut out = Vec::new();
    for (i, entry) in text.split(separators).enumerate() {
        let entry = entry.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let bad = |m: &str| format!("{source}: entry {}: {m}", i + 1);
        let (id, b64) = entry
            .split_once('=')
            .ok_or_else(|| bad("expected <key id>=<base64 key>"))?;
        let id = id.trim();
        if !valid_id(id) {
            return Err(bad(&format!(
                "key id '{id}' must be 1 to 64 letters, digits, '-', '_' or '.'"
            )));
        }
        let bytes: [u8; 32] = STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                bad(&format!(
                    "key {id} is not the base64 of 32 bytes (make one with `sluice secrets generate-key {id}`)"
                ))
            })?;
        out.push((id.to_string(), bytes));
    }
    Ok(out)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path,
            "the secrets key file can be read by other users than its owner; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &str) {}

impl Keyring {
    /// `None` when the worker configures no key (values are then stored
    /// as given, and a warning says so).
    pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut entries = Vec::new();
        if let Some(path) = get(KEYS_FILE) {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{KEYS_FILE}: cannot read {path}: {e}"))?;
            warn_if_readable_by_others(path);
            entries.extend(parse_entries(
                &text,
                &['\n'],
                &format!("{KEYS_FILE} {path}"),
            )?);
        }
        if let Some(var) = get(KEYS_ENV) {
            let text = std::env::var(var)
                .map_err(|_| format!("{KEYS_ENV}: environment variable {var} is not set"))?;
            entries.extend(parse_entries(
                &text,
                &['\n', ','],
                &format!("{KEYS_ENV} (variable {var})"),
            )?);
        }
        if entries.is_empty() {
            if get(KEYS_FILE).is_some() || get(KEYS_ENV).is_some() {
                return Err(format!(
                    "{KEYS_FILE}/{KEYS_ENV} hold no key: add one made by `sluice secrets generate-key <id>`"
                ));
            }
            if let Some(id) = get(ACTIVE_KEY) {
                return Err(format!(
                    "{ACTIVE_KEY}={id} but no key is configured: set {KEYS_FILE} or {KEYS_ENV}"
                ));
            }
            return Ok(None);
        }
        let mut keys: BTreeMap<String, [u8; 32]> = BTreeMap::new();
        for (id, bytes) in entries {
            if let Some(old) = keys.insert(id.clone(), bytes)
                && old != bytes
            {
                return Err(format!(
                    "secrets key id {id} is listed twice with different keys"
                ));
            }
        }
        let active = match get(ACTIVE_KEY) {
            Some(id) if keys.contains_key(id) => id.to_string(),
            Some(id) => {
                return Err(format!(
                    "{ACTIVE_KEY}={id}: no such key (have {})",
                    keys.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            None if keys.len() == 1 => keys.keys().next().cloned().unwrap_or_default(),
            None => {
                return Err(format!(
                    "{ACTIVE_KEY} must name the key new secrets are sealed with (have {})",
                    keys.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        };
        Ok(Some(Self {
            keys: keys
                .into_iter()
                .map(|(id, b)| {
                    let k = Kek::new(&id, &b);
                    (id, k)
                })
                .collect(),
            active,
        }))
    }

    /// A keyring of given keys (tests; `active` must be one of them).
    #[cfg(test)]
    pub(crate) fn of(keys: &[(&str, [u8; 32])], active: &str) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|(id, b)| ((*id).to_string(), Kek::new(id, b)))
                .collect(),
            active: active.to_string(),
        }
    }

    pub fn find(&self, id: &str) -> Option<&Kek> {
        self.keys.get(id)
    }

    /// The key new values are sealed with.
    pub fn active(&self) -> &Kek {
        // The constructors only accept an active id that is a key.
        self.keys
            .get(&self.active)
            .unwrap_or_else(|| unreachable!("active key {} is listed", self.active))
    }
}

/// A new key entry for a keys file: `<id>=<base64 of 32 random bytes>`.
pub fn generate(id: &str) -> Result<String, String> {
    use ring::rand::SecureRandom;
    if !valid_id(id) {
        return Err(format!(
            "key id '{id}' must be 1 to 64 letters, digits, '-', '_' or '.'"
        ));
    }
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| "the system random number generator failed".to_string())?;
    Ok(format!("{id}={}", STANDARD.encode(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props;

    #[test]
    fn loads_keys_and_picks_the_active_one() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("keys");
        let (a, b) = (generate("a").unwrap(), generate("b").unwrap());
        std::fs::write(&f, format!("# keys, rotated yearly\n{a}\n\n{b}\n")).unwrap();
        let path = f.display().to_string();
        let e = Keyring::from_worker(&props(&[(KEYS_FILE, &path)])).unwrap_err();
        assert!(e.contains(ACTIVE_KEY) && e.contains("a, b"), "{e}");
        let k = Keyring::from_worker(&props(&[(KEYS_FILE, &path), (ACTIVE_KEY, "b")]))
            .unwrap()
            .unwrap();
        assert_eq!(k.active().id, "b");
        assert!(k.find("a").is_some() && k.find("c").is_none());
        let e = Keyring::from_worker(&props(&[(KEYS_FILE, &path), (ACTIVE_KEY, "c")])).unwrap_err();
        assert!(e.contains("no such key"), "{e}");
        assert!(Keyring::from_worker(&props(&[])).unwrap().is_none());
    }

    #[test]
    fn bad_entries_are_named_without_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("keys");
        let path = f.display().to_string();
        for (text, want) in [
            ("k1", "expected <key id>=<base64 key>"),
            ("k1=c2hvcnQ=", "not the base64 of 32 bytes"),
            ("bad id=AAAA", "key id 'bad id'"),
            ("# only a comment", "hold no key"),
        ] {
            std::fs::write(&f, text).unwrap();
            let e = Keyring::from_worker(&props(&[(KEYS_FILE, &path)])).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
            assert!(!e.contains("c2hvcnQ"), "{e}");
        }
        let e = Keyring::from_worker(&props(&[(ACTIVE_KEY, "x")])).unwrap_err();
        assert!(e.contains("no key is configured"), "{e}");
    }
}
