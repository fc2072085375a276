//! The worker group of distributed mode.
//!
//! - [`work`]: what a worker runs (connectors and tasks), shared by the rest.
//! - [`protocol`]: member metadata and assignments, encoded as Kafka
//!   Connect's incremental cooperative protocol (`compatible`, version 1).
//! - [`assignor`]: the leader's incremental cooperative assignment.
//! - [`client`]: group membership over the Kafka protocol, over TLS and
//!   SASL when configured ([`sasl`]: PLAIN, SCRAM, OAUTHBEARER).

pub mod assignor;
pub mod client;
pub mod protocol;
pub mod sasl;
pub mod work;

pub use client::{GroupClient, GroupConfig, GroupError, Joined, Tls};
pub use sasl::{Mechanism, Sasl, TokenFuture, TokenSource};
pub use work::{TaskId, Work};
