//! `io.confluent.connect.jdbc.JdbcSourceConnector`.

pub mod config;
mod connector;
pub mod querier;
pub mod tables;
mod task;

pub use config::JdbcSourceConfig;
pub use connector::JdbcSourceConnector;
pub use task::JdbcSourceTask;
