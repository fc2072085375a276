//! Connectors created over REST and their target states, kept across
//! restarts (standalone keeps what REST created, unlike Kafka Connect).

mod memory;
mod rocks;
mod transform_store;

use serde::{Deserialize, Serialize};
use sluice_connect_api::Config;

pub use memory::MemoryConnectorStore;
pub use rocks::RocksConnectorStore;
pub use transform_store::RocksTransformStore;

use crate::offsets::StoreError;

/// What the user asked a connector to be (Kafka Connect's `TargetState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetState {
    #[serde(alias = "STARTED")]
    Running,
    Paused,
    Stopped,
}

/// One stored connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConnector {
    pub config: Config,
    pub target_state: TargetState,
}

/// Durable connector configs and target states.
pub trait ConnectorStore: Send + Sync + std::fmt::Debug {
    fn put(&self, name: &str, connector: &StoredConnector) -> Result<(), StoreError>;
    fn remove(&self, name: &str) -> Result<(), StoreError>;
    fn all(&self) -> Result<Vec<(String, StoredConnector)>, StoreError>;
}

#[cfg(test)]
pub(crate) mod conformance {
    use super::*;

    pub(crate) fn run_all(store: &dyn ConnectorStore) {
        let c = StoredConnector {
            config: [("connector.class".to_string(), "FileStreamSink".to_string())].into(),
            target_state: TargetState::Paused,
        };
        assert!(store.all().unwrap().is_empty());
        store.put("b", &c).unwrap();
        store
            .put(
                "a",
                &StoredConnector {
                    target_state: TargetState::Running,
                    ..c.clone()
                },
            )
            .unwrap();
        let all = store.all().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1], ("b".to_string(), c.clone()));
        store.remove("a").unwrap();
        store.remove("zz").unwrap();
        assert_eq!(store.all().unwrap(), vec![("b".to_string(), c)]);
    }
}
