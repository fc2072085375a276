//! Helpers the unit tests share.

use std::collections::BTreeMap;

/// A config or worker properties from `(key, value)` pairs.
pub(crate) fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}
