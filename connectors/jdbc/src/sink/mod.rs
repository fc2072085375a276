//! `io.confluent.connect.jdbc.JdbcSinkConnector`.

pub mod config;
pub mod ddl;
pub mod fields;
mod my_write;
mod pg_write;
mod task;
pub mod value;
pub mod writer;

pub use config::JdbcSinkConfig;
pub use task::JdbcSinkTask;
