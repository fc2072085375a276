//! `io.debezium.connector.postgresql.PostgresConnector`: logical
//! replication with pgoutput, Debezium's events, offsets and keys.

pub mod catalog;
pub mod config;
pub mod decode;
pub mod events;
pub mod incremental;
pub mod lsn;
pub mod offsets;
pub mod pgoutput;
pub mod snapshot;
pub mod stream;
pub mod table;
pub mod task;
pub mod wire;

pub use config::PgCdcConfig;
pub use task::PgCdcTask;
