//! Anomaly detection on message flows (Sluice only): per connector, the
//! worker learns the normal record rate and error ratio and flags stalls,
//! drops, spikes, error bursts and growing sink lag.

pub mod config;
pub mod detector;
mod monitor;

pub use config::AnomalyConfig;
pub use monitor::FlowMonitor;
