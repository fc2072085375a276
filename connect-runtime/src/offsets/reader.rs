use std::sync::Arc;

use sluice_connect_api::{ConnectError, ConnectResult, OffsetMap, OffsetReader};

use super::OffsetStore;

/// A task's view of its connector's committed offsets.
#[derive(Debug, Clone)]
pub struct ConnectorOffsetReader {
    store: Arc<dyn OffsetStore>,
    connector: String,
}

impl ConnectorOffsetReader {
    pub fn new(store: Arc<dyn OffsetStore>, connector: impl Into<String>) -> Self {
        Self {
            store,
            connector: connector.into(),
        }
    }
}

#[async_trait::async_trait]
impl OffsetReader for ConnectorOffsetReader {
    async fn offset(&self, partition: &OffsetMap) -> ConnectResult<Option<OffsetMap>> {
        self.store
            .get(&self.connector, partition)
            .await
            .map_err(|e| ConnectError::retriable_from("cannot read committed offsets", e))
    }
}
