use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use super::{ConnectorStore, StoredConnector};
use crate::offsets::StoreError;

/// Connector state in memory (tests).
#[derive(Debug, Default)]
pub struct MemoryConnectorStore {
    data: Mutex<BTreeMap<String, StoredConnector>>,
}

impl ConnectorStore for MemoryConnectorStore {
    fn put(&self, name: &str, connector: &StoredConnector) -> Result<(), StoreError> {
        self.data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string(), connector.clone());
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<(), StoreError> {
        self.data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
        Ok(())
    }

    fn all(&self) -> Result<Vec<(String, StoredConnector)>, StoreError> {
        Ok(self
            .data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance() {
        super::super::conformance::run_all(&super::MemoryConnectorStore::default());
    }
}
