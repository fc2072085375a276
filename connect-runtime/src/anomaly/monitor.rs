//! Feeds each connector's detector with samples of its flow, taken from the
//! metric families, and publishes what it finds: `sluice_flow_anomaly`, a
//! WARN log line, and the `anomalies` list of the connector's status.

use std::collections::{BTreeMap, HashMap};
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
    /// When the last sample was taken; `None` until the flow is primed.
    last: Option<Instant>,
    /// Last value per task of the record and error counters, so a task
    /// restart (its counters start again at 0) is not read as a drop.
    prev_records: HashMap<String, u64>,
    prev_errors: HashMap<String, u64>,
    since_ms: BTreeMap<AnomalyKind, i64>,
    /// Records have flowed since the (re)start: idle samples before the
    /// first record would teach the detector that zero is normal.
    flowing: bool,
}

/// Every connector's flow detector.
#[derive(Debug)]
pub struct FlowMonitor {
    flows: Mutex<BTreeMap<String, Flow>>,
    f: FlowFamilies,
}

type Series = HashMap<(String, String), u64>;

/// `(connector, task) -> value` of every series of a counter family.
fn counters(c: &IntCounterVec) -> Series {
    let mut out = HashMap::new();
    for family in c.collect() {
        for m in family.get_metric() {
            let get = |n: &str| crate::metrics::label(m, n);
            out.insert(
                (get("connector"), get("task")),
                m.get_counter().get_value().max(0.0) as u64,
            );
        }
    }
    out
}

/// Sum of a gauge family's series per connector.
fn gauge_sums(g: &IntGaugeVec) -> HashMap<String, i64> {
    let mut out = HashMap::new();
    for family in g.collect() {
        for m in family.get_metric() {
            if let Some(c) = m.get_label().iter().find(|l| l.name() == "connector") {
                *out.entry(c.value().to_string()).or_insert(0i64) +=
                    m.get_gauge().get_value() as i64;
            }
        }
    }
    out
}

/// What a connector's counters grew by since `prev`, per task; a counter
/// that went down was reset (task restarted) and counts from zero.
fn growth(prev: &mut HashMap<String, u64>, now: &Series, connector: &str) -> u64 {
    let mut total = 0u64;
    let mut next = HashMap::new();
    for ((c, task), v) in now {
        if c != connector {
            continue;
        }
        let grown = match prev.get(task) {
            Some(p) if v >= p => v - p,
            _ => *v,
        };
        total = total.saturating_add(grown);
        next.insert(task.clone(), *v);
    }
    *prev = next;
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
                prev_records: HashMap::new(),
                prev_errors: HashMap::new(),
                since_ms: BTreeMap::new(),
                flowing: false,
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
    /// sampled, and its detector starts afresh when it runs again: a
    /// paused flow is not a stall, and anomalies do not stay raised
    /// through a pause.
    pub fn sample(&self, f: &Families, status: &StatusStore) {
        // Gather the families once per tick, before taking the lock.
        let written = counters(&f.source.write_total);
        let read = counters(&f.sink.read_total);
        let errors = counters(&f.errors.record_errors);
        let lags = gauge_sums(&f.sink.lag);
        let now = Instant::now();
        let mut flows = self.lock();
        for (name, flow) in flows.iter_mut() {
            let running = status.connector(name).is_some_and(|s| {
                s.connector.state == State::Running
                    && s.tasks.iter().any(|t| t.info.state == State::Running)
            });
            if !running {
                if flow.last.is_some() {
                    flow.last = None;
                    flow.detector = Detector::new(flow.config.detector.clone());
                    flow.since_ms.clear();
                    flow.flowing = false;
                    for kind in AnomalyKind::ALL {
                        self.f
                            .anomaly
                            .with_label_values(&[name, kind.as_str()])
                            .set(0);
                    }
                }
                continue;
            }
            if flow
                .last
                .is_some_and(|t| now.duration_since(t) < flow.config.interval)
            {
                continue;
            }
            let source = flow.connector_type == ConnectorType::Source;
            let grown = growth(
                &mut flow.prev_records,
                if source { &written } else { &read },
                name,
            );
            let errant = growth(&mut flow.prev_errors, &errors, name);
            let Some(t0) = flow.last.replace(now) else {
                continue; // primed: the next sample has a baseline
            };
            let sample = Sample {
                // Sinks: records read and not errant.
                records: if source {
                    grown
                } else {
                    grown.saturating_sub(errant)
                },
                errors: errant,
                lag: if source {
                    None
                } else {
                    lags.get(name).copied()
                },
                seconds: now.duration_since(t0).as_secs_f64(),
            };
            flow.flowing |= sample.records > 0 || sample.errors > 0;
            if !flow.flowing && sample.lag.is_none_or(|l| l <= 0) {
                continue;
            }
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
