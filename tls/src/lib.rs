//! TLS for Sluice's listeners and clients from Kafka's `ssl.*` keys:
//! PEM and PKCS12 stores read into rustls (ring provider) configurations,
//! and a TLS listener for axum. Used by the worker's REST API, the schema registry
//! and the Avro converter's registry client.

mod chain_only;
mod config;
#[cfg(feature = "listener")]
mod listener;
pub mod stores;

pub use config::*;
#[cfg(feature = "listener")]
pub use listener::TlsListener;
