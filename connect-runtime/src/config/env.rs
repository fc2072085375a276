//! `CONNECT_*` environment overrides, with the naming rules of Confluent's
//! container images: `CONNECT_BOOTSTRAP_SERVERS` → `bootstrap.servers`;
//! `___` → `-`, `__` → `_`, `_` → `.`.

use std::collections::BTreeMap;

const PREFIX: &str = "CONNECT_";

/// The worker key a `CONNECT_*` variable name stands for.
pub fn key_for(var: &str) -> Option<String> {
    let rest = var.strip_prefix(PREFIX)?;
    if rest.is_empty() {
        return None;
    }
    let lower = rest.to_ascii_lowercase();
    Some(
        lower
            .replace("___", "\u{1}")
            .replace("__", "\u{2}")
            .replace('_', ".")
            .replace('\u{1}', "-")
            .replace('\u{2}', "_"),
    )
}

/// Applies overrides from `vars` onto `props`; returns the keys overridden.
pub fn apply(
    props: &mut BTreeMap<String, String>,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<String> {
    let mut applied = Vec::new();
    for (var, value) in vars {
        if let Some(key) = key_for(&var) {
            props.insert(key.clone(), value);
            applied.push(key);
        }
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            key_for("CONNECT_BOOTSTRAP_SERVERS").as_deref(),
            Some("bootstrap.servers")
        );
        assert_eq!(
            key_for("CONNECT_OFFSET_STORAGE_FILE_FILENAME").as_deref(),
            Some("offset.storage.file.filename")
        );
        assert_eq!(key_for("CONNECT_A__B___C").as_deref(), Some("a_b-c"));
        assert_eq!(key_for("PATH"), None);
        assert_eq!(key_for("CONNECT_"), None);
    }

    #[test]
    fn overrides_win() {
        let mut p = BTreeMap::from([("bootstrap.servers".to_string(), "a:1".to_string())]);
        let applied = apply(
            &mut p,
            vec![("CONNECT_BOOTSTRAP_SERVERS".to_string(), "b:2".to_string())],
        );
        assert_eq!(p["bootstrap.servers"], "b:2");
        assert_eq!(applied, vec!["bootstrap.servers"]);
    }
}
