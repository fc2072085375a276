//! Where the registry's records go: a log that every instance applies in order.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::error::RegistryError;
use crate::log::LogKey;
use crate::state::State;

/// The state shared by the log reader and the request handlers.
pub type SharedState = Arc<RwLock<State>>;

/// An append-only, totally ordered log of registry records.
#[async_trait]
pub trait Log: Send + Sync + std::fmt::Debug {
    /// Appends a record and returns once the shared state has applied it (and
    /// everything before it), so a caller reads its own write.
    async fn append(&self, key: LogKey, value: Option<Vec<u8>>) -> Result<(), RegistryError>;
}

/// A log kept in memory only: for tests and for a throwaway registry.
#[derive(Debug)]
pub struct MemoryLog {
    state: SharedState,
}

impl MemoryLog {
    /// A log applying straight into `state`.
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }
}

#[async_trait]
impl Log for MemoryLog {
    async fn append(&self, key: LogKey, value: Option<Vec<u8>>) -> Result<(), RegistryError> {
        let mut state = self
            .state
            .write()
            .map_err(|_| RegistryError::store("state lock poisoned"))?;
        if let Err(why) = state.apply(&key, value.as_deref()) {
            tracing::debug!(%why, "registry record not applied");
        }
        Ok(())
    }
}
