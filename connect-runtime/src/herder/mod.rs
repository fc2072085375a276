//! Herders own the lifecycle of connectors and tasks. Standalone: one
//! worker, configs from files (and REST). Distributed mode comes later.

mod standalone;

pub use standalone::{ConnectorInfo, HerderError, StandaloneHerder};
