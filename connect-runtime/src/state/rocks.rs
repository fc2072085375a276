use std::path::PathBuf;
use std::sync::Arc;

use rocksdb::{DB, IteratorMode, WriteOptions};

use super::{ConnectorStore, StoredConnector};
use crate::offsets::{RocksOffsetStore, StoreError};

/// Connector state in the worker's RocksDB (its own column family), one
/// synced write per change.
#[derive(Debug, Clone)]
pub struct RocksConnectorStore {
    db: Arc<DB>,
    path: PathBuf,
}

impl RocksConnectorStore {
    /// Shares the database of the offset store.
    pub fn new(offsets: &RocksOffsetStore) -> Self {
        let (db, path) = offsets.db();
        Self { db, path }
    }

    fn io(&self, message: impl std::fmt::Display) -> StoreError {
        StoreError::Io {
            path: self.path.display().to_string(),
            message: message.to_string(),
        }
    }

    fn cf(&self) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(crate::offsets::CONNECTORS_CF)
            .ok_or_else(|| self.io("column family connectors is missing"))
    }

    fn synced() -> WriteOptions {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        wo
    }
}

impl ConnectorStore for RocksConnectorStore {
    fn put(&self, name: &str, connector: &StoredConnector) -> Result<(), StoreError> {
        let value = serde_json::to_vec(connector).map_err(|e| self.io(e))?;
        self.db
            .put_cf_opt(self.cf()?, name.as_bytes(), value, &Self::synced())
            .map_err(|e| self.io(e))
    }

    fn remove(&self, name: &str) -> Result<(), StoreError> {
        self.db
            .delete_cf_opt(self.cf()?, name.as_bytes(), &Self::synced())
            .map_err(|e| self.io(e))
    }

    fn all(&self) -> Result<Vec<(String, StoredConnector)>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf()?, IteratorMode::Start) {
            let (k, v) = item.map_err(|e| self.io(e))?;
            let name = String::from_utf8_lossy(&k).into_owned();
            let c: StoredConnector =
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    key: name.clone(),
                    message: e.to_string(),
                })?;
            out.push((name, c));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = RocksOffsetStore::open(dir.path()).unwrap();
            super::super::conformance::run_all(&RocksConnectorStore::new(&s));
        }
        let s = RocksOffsetStore::open(dir.path()).unwrap();
        assert_eq!(RocksConnectorStore::new(&s).all().unwrap().len(), 1);
    }
}
