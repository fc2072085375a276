//! Feeds each connector's detector with samples of its flow, taken from the
//! metric families, and publishes what it finds: `sluice_flow_anomaly`, a
//! WARN log line, and the `anomalies` list of the connector's status.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use prometheus::core::Collector;
use prometheus::{IntCounterVec, IntGaugeVec};
use sluice_connect_api::{Config, ConnectorType};

use super::config::AnomalyConfig;
use super::detector::{AnomalyKind, Detector, Sample, Transition};
use crate::metrics::Families;
use crate::metrics::families::FlowFamilies;
use crate::status::{State, StatusStore};

#[derive(Debug)]
struct Flow {
    connector_type: ConnectorType,
    config: AnomalyConfig,
    detector: Detector,
    last: Option<(Instant, u64, u64)>,
    since_ms: BTreeMap<AnomalyKind, i64>,
}

/// Every connector's flow detector.
#[derive(Debug)]
pub struct FlowMonitor {
    flows: Mutex<BTreeMap<String, Flow>>,
    f: FlowFamilies,
}

fn sum_counter(c: &IntCounterVec, connector: &str) -> u64 {
    let mut total = 0.0;
    for family in c.collect() {
        for m in family.get_metric() {
            if m.get_label()
                .iter()
                .any(|l| l.name() == "connector" && l.value() == connector)
            {
                total += m.get_counter().get_value();
            }
        }
    }
    total.max(0.0) as u64
}

fn sum_gauge(g: &IntGaugeVec, connector: &str) -> Option<i64> {
    let mut total = None;
    for family in g.collect() {
        for m in family.get_metric() {
            if m.get_label()
                .iter()
                .any(|l| l.name() == "connector" && l.value() == connector)
            {
                *total.get_or_insert(0i64) += m.get_gauge().get_value() as i64;
            }
        }
    }
    total
}

impl FlowMonitor {
    pub fn new(f: FlowFamilies) -> Self {
        Self {
            flows: Mutex::new(BTreeMap::new()),
            f,
        }
    }

    /// Starts (or restarts, on a config change) watching a connector, as
    /// its `anomaly.*` keys say.
    pub fn configure(&self, connector: &str, connector_type: ConnectorType, config: &Config) {
        self.remove(connector);
        let config = match AnomalyConfig::from_config(config) {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(connector, error = %e, "anomaly detection off: bad anomaly.* settings");
                return;
            }
        };
        for kind in AnomalyKind::ALL {
            self.f
                .anomaly
                .with_label_values(&[connector, kind.as_str()])
                .set(0);
        }
        self.lock().insert(
            connector.to_string(),
            Flow {
                connector_type,
                detector: Detector::new(config.detector.clone()),
                config,
                last: None,
                since_ms: BTreeMap::new(),
            },
        );
    }

    pub fn remove(&self, connector: &str) {
        if self.lock().remove(connector).is_some() {
            for kind in AnomalyKind::ALL {
                let _ = self
                    .f
                    .anomaly
                    .remove_label_values(&[connector, kind.as_str()]);
            }
            let _ = self.f.rate.remove_label_values(&[connector]);
            let _ = self.f.rate_expected.remove_label_values(&[connector]);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Flow>> {
        self.flows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a sample of every connector whose interval has passed. A
    /// connector that is not running (or has no running task) is not
    /// sampled: a paused flow is not a stall.
    pub fn sample(&self, f: &Families, status: &StatusStore) {
        let now = Instant::now();
        let mut flows = self.lock();
        for (name, flow) in flows.iter_mut() {
            if flow
                .last
                .is_some_and(|(t, _, _)| now.duration_since(t) < flow.config.interval)
            {
                continue;
            }
            let running = status.connector(name).is_some_and(|s| {
                s.connector.state == State::Running
                    && s.tasks.iter().any(|t| t.info.state == State::Running)
            });
            let errors = sum_counter(&f.errors.record_errors, name);
            // Records that went through: acknowledged by Kafka (sources), or
            // read and not errant (sinks).
            let (records, lag) = match flow.connector_type {
                ConnectorType::Source => (sum_counter(&f.source.write_total, name), None),
                ConnectorType::Sink => (
                    sum_counter(&f.sink.read_total, name).saturating_sub(errors),
                    sum_gauge(&f.sink.lag, name),
                ),
            };
            let previous = flow.last.replace((now, records, errors));
            let Some((t0, r0, e0)) = previous else {
                continue;
            };
            if !running {
                continue;
            }
            let sample = Sample {
                // A restarted task starts its counters again from zero.
                records: records.saturating_sub(r0),
                errors: errors.saturating_sub(e0),
                lag,
                seconds: now.duration_since(t0).as_secs_f64(),
            };
            for t in flow.detector.observe(&sample) {
                match t {
                    Transition::Raised(a) => {
                        tracing::warn!(
                            connector = %name,
                            kind = a.kind.as_str(),
                            "flow anomaly: {} ({})",
                            a.kind.as_str(),
                            a.message
                        );
                        flow.since_ms.insert(a.kind, crate::metrics::now_ms());
                        self.f
                            .anomaly
                            .with_label_values(&[name, a.kind.as_str()])
                            .set(1);
                    }
                    Transition::Cleared(kind) => {
                        tracing::info!(connector = %name, kind = kind.as_str(), "flow anomaly cleared");
                        flow.since_ms.remove(&kind);
                        self.f
                            .anomaly
                            .with_label_values(&[name, kind.as_str()])
                            .set(0);
                    }
                }
            }
            if sample.seconds > 0.0 {
                self.f
                    .rate
                    .with_label_values(&[name])
                    .set(sample.records as f64 / sample.seconds);
            }
            if let Some((mean, _)) = flow.detector.expected_rate() {
                self.f.rate_expected.with_label_values(&[name]).set(mean);
            }
        }
    }

    /// The connector's active anomalies, for its status; `None` when its
    /// flow is not watched (detection off, or not started).
    pub fn active(&self, connector: &str) -> Option<Vec<serde_json::Value>> {
        let flows = self.lock();
        let flow = flows.get(connector)?;
        let list = flow
            .detector
            .active()
            .into_iter()
            .map(|a| {
                serde_json::json!({
                    "kind": a.kind.as_str(),
                    "since": flow.since_ms.get(&a.kind).copied(),
                    "message": a.message,
                })
            })
            .collect();
        Some(list)
    }
}
