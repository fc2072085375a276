use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use sluice_connect_api::OffsetMap;

use super::{OffsetStore, StoreError, decode_key, decode_value, encode_key, key_prefix};

/// Offsets in memory: for tests and `offset.storage` experiments.
#[derive(Debug, Default)]
pub struct MemoryOffsetStore {
    data: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

#[async_trait::async_trait]
impl OffsetStore for MemoryOffsetStore {
    async fn get(
        &self,
        connector: &str,
        partition: &OffsetMap,
    ) -> Result<Option<OffsetMap>, StoreError> {
        let key = encode_key(connector, partition);
        let data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        data.get(&key).map(|v| decode_value(&key, v)).transpose()
    }

    async fn put_all(
        &self,
        connector: &str,
        entries: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), StoreError> {
        let mut data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        for (p, o) in entries {
            let key = encode_key(connector, &p);
            match o {
                Some(o) => {
                    data.insert(key, serde_json::Value::Object(o).to_string().into_bytes());
                }
                None => {
                    data.remove(&key);
                }
            }
        }
        Ok(())
    }

    async fn all(&self, connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StoreError> {
        let prefix = key_prefix(connector);
        let data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        data.range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| Ok((decode_key(k)?.1, decode_value(k, v)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conformance() {
        super::super::conformance::run_all(&super::MemoryOffsetStore::default()).await;
    }
}
