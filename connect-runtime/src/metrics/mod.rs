//! Prometheus metrics (`GET /metrics`): Kafka Connect's metric set as
//! labeled series, librdkafka queue statistics, and the flow anomaly
//! detector's output.
//!
//! Hot paths never lock or allocate per record: tasks hold handles with
//! their label values resolved once ([`SourceTaskMetrics`],
//! [`SinkTaskMetrics`], [`ErrorMetrics`]) and add whole batches. Status
//! series, ratios and counts are refreshed when `/metrics` is scraped;
//! rates and anomalies by the sampler ([`Metrics::sample`]) every second.

pub(crate) mod families;
mod rates;
mod task;
mod window;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus::{Encoder, IntGauge, IntGaugeVec, Registry, TextEncoder};

pub use families::Families;
pub use task::{ErrorMetrics, SinkTaskMetrics, SourceTaskMetrics};
pub use window::WindowStat;

use crate::anomaly::FlowMonitor;
use crate::status::{State, StatusStore};

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Removes every series of `vec` whose first two labels are `connector`
/// and `task` (e.g. lag per partition of a task that ended).
pub(crate) fn remove_matching(vec: &IntGaugeVec, connector: &str, task: &str) {
    remove_matching_except(vec, connector, task, &[]);
}

/// Removes the `{connector, task, topic, partition}` series of `vec` for
/// this task whose (topic, partition) is not in `keep`.
pub(crate) fn remove_matching_except(
    vec: &IntGaugeVec,
    connector: &str,
    task: &str,
    keep: &[(String, String)],
) {
    use prometheus::core::Collector;
    let mut gone = Vec::new();
    for family in vec.collect() {
        for m in family.get_metric() {
            let get = |n: &str| label(m, n);
            if get("connector") == connector && get("task") == task {
                let tp = (get("topic"), get("partition"));
                if !keep.contains(&tp) {
                    gone.push(tp);
                }
            }
        }
    }
    for (topic, partition) in gone {
        let _ = vec.remove_label_values(&[connector, task, &topic, &partition]);
    }
}

/// Removes every `{connector, task}` series of a connector from `vec`.
fn remove_connector<T: prometheus::core::MetricVecBuilder>(
    vec: &prometheus::core::MetricVec<T>,
    connector: &str,
) {
    use prometheus::core::Collector;
    let mut tasks = Vec::new();
    for family in vec.collect() {
        for m in family.get_metric() {
            if label(m, "connector") == connector {
                tasks.push(label(m, "task"));
            }
        }
    }
    for t in tasks {
        let _ = vec.remove_label_values(&[connector, &t]);
    }
}

/// A series' value for label `name` (empty when it has none).
pub(crate) fn label(m: &prometheus::proto::Metric, name: &str) -> String {
    m.get_label()
        .iter()
        .find(|l| l.name() == name)
        .map(|l| l.value().to_string())
        .unwrap_or_default()
}

/// What `/metrics` shows about a connector besides its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorMeta {
    pub name: String,
    pub connector_type: &'static str,
    pub class: String,
    pub version: String,
}

/// Time a task spent per state, measured between scrapes.
#[derive(Debug, Clone, Copy)]
struct StateClock {
    last: Instant,
    state: State,
    running: Duration,
    paused: Duration,
    total: Duration,
}

/// The worker's metrics.
pub struct Metrics {
    registry: Registry,
    f: Families,
    worker: String,
    window: Duration,
    clocks: Mutex<HashMap<(String, u32), StateClock>>,
    rates: Mutex<rates::Rates>,
    flows: FlowMonitor,
    heartbeats: task::Heartbeats,
    /// Gauges tasks report about themselves, per (connector, task).
    reported: Mutex<HashMap<(String, u32), sluice_connect_api::TaskGauges>>,
    /// One scrape at a time: a refresh resets the status series.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// `window`: Kafka Connect's `metrics.sample.window.ms`, over which
    /// averages, maxima and rates are computed.
    pub fn new(worker: impl Into<String>, window: Duration) -> Arc<Self> {
        let registry = Registry::new();
        let f = Families::new(&registry);
        Arc::new(Self {
            flows: FlowMonitor::new(f.flow.clone()),
            registry,
            f,
            worker: worker.into(),
            window,
            clocks: Mutex::new(HashMap::new()),
            rates: Mutex::new(rates::Rates::default()),
            heartbeats: Arc::default(),
            reported: Mutex::new(HashMap::new()),
            scrape: Mutex::new(()),
        })
    }

    pub fn families(&self) -> &Families {
        &self.f
    }

    pub fn flows(&self) -> &FlowMonitor {
        &self.flows
    }

    pub fn source_task(&self, connector: &str, task: u32) -> SourceTaskMetrics {
        SourceTaskMetrics::new(&self.f, &self.heartbeats, connector, task, self.window)
    }

    /// The gauges a task reports about itself, shown until
    /// [`Self::forget_task_gauges`].
    pub fn task_gauges(&self, connector: &str, task: u32) -> sluice_connect_api::TaskGauges {
        let g = sluice_connect_api::TaskGauges::default();
        self.reported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((connector.to_string(), task), g.clone());
        g
    }

    /// Forgets a task's gauges, unless a newer run of the task has
    /// registered its own since.
    pub fn forget_task_gauges(
        &self,
        connector: &str,
        task: u32,
        gauges: &sluice_connect_api::TaskGauges,
    ) {
        let mut r = self.reported.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (connector.to_string(), task);
        if r.get(&key).is_some_and(|g| g.same(gauges)) {
            r.remove(&key);
        }
    }

    /// A task's reported gauges, for its status.
    pub fn reported(&self, connector: &str, task: u32) -> Vec<(String, i64)> {
        self.reported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(connector.to_string(), task))
            .map(sluice_connect_api::TaskGauges::values)
            .unwrap_or_default()
    }

    pub fn sink_task(&self, connector: &str, task: u32) -> SinkTaskMetrics {
        SinkTaskMetrics::new(&self.f, &self.heartbeats, connector, task, self.window)
    }

    pub fn errors(&self, connector: &str, task: u32) -> ErrorMetrics {
        ErrorMetrics::new(&self.f, connector, task)
    }

    /// librdkafka statistics sink for one client of a task.
    pub fn client(&self, connector: &str, task: u32, client: &'static str) -> ClientStats {
        let t = task.to_string();
        let l = [connector, t.as_str(), client];
        let c = &self.f.client;
        ClientStats {
            queue_messages: c.queue_messages.with_label_values(&l),
            queue_bytes: c.queue_bytes.with_label_values(&l),
            queue_max: c.queue_max_messages.with_label_values(&l),
            consumer: client == "consumer",
        }
    }

    /// Running tasks whose loop has not turned (an offset commit tick) for
    /// longer than `limit`, as `connector-task`.
    pub fn stuck_tasks(&self, status: &StatusStore, limit: Duration) -> Vec<String> {
        let beats = self
            .heartbeats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut out = Vec::new();
        for ((connector, task), at) in beats {
            let running = status.connector(&connector).is_some_and(|s| {
                s.tasks
                    .iter()
                    .any(|t| t.id == task && t.info.state == State::Running)
            });
            if running && at.elapsed() > limit {
                out.push(format!("{connector}-{task}"));
            }
        }
        out.sort();
        out
    }

    /// Drops every series of a deleted connector, its error history too.
    pub fn forget_connector(&self, connector: &str) {
        self.flows.remove(connector);
        self.reported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(c, _), _| c != connector);
        let e = &self.f.errors;
        for c in [
            &e.record_failures,
            &e.record_errors,
            &e.records_skipped,
            &e.retries,
            &e.errors_logged,
            &e.dlq_requests,
            &e.dlq_failures,
        ] {
            remove_connector(c, connector);
        }
        remove_connector(&e.last_error_timestamp, connector);
        remove_connector(&self.f.task.running_ratio, connector);
        remove_connector(&self.f.task.pause_ratio, connector);
    }

    pub fn connector_started(&self, ok: bool) {
        let w = &self.f.worker;
        let l = [self.worker.as_str()];
        w.connector_startup_attempts.with_label_values(&l).inc();
        if ok {
            w.connector_startup_success.with_label_values(&l).inc();
        } else {
            w.connector_startup_failure.with_label_values(&l).inc();
        }
    }

    pub fn task_started(&self, ok: bool) {
        let w = &self.f.worker;
        let l = [self.worker.as_str()];
        w.task_startup_attempts.with_label_values(&l).inc();
        if ok {
            w.task_startup_success.with_label_values(&l).inc();
        } else {
            w.task_startup_failure.with_label_values(&l).inc();
        }
    }

    /// Called every second by the worker: rate gauges and flow anomalies.
    pub fn sample(&self, status: &StatusStore) {
        self.rates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .update(&self.f, self.window);
        self.flows.sample(&self.f, status);
    }

    /// The Prometheus text exposition, after refreshing status series.
    pub fn render(&self, status: &StatusStore, connectors: &[ConnectorMeta]) -> String {
        let _one = self.scrape.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(status, connectors);
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    fn refresh(&self, status: &StatusStore, connectors: &[ConnectorMeta]) {
        let f = &self.f;
        f.connector.info.reset();
        for c in connectors {
            f.connector
                .info
                .with_label_values(&[&c.name, c.connector_type, &c.class, &c.version])
                .set(1);
        }
        f.connector.status.reset();
        f.task.status.reset();
        f.task.reported.reset();
        for ((c, t), g) in self
            .reported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let t = t.to_string();
            for (name, v) in g.values() {
                f.task.reported.with_label_values(&[c, &t, &name]).set(v);
            }
        }
        for (_, g) in &f.worker.connector_tasks {
            g.reset();
        }
        let now = Instant::now();
        let mut clocks = self.clocks.lock().unwrap_or_else(PoisonError::into_inner);
        let mut seen = Vec::new();
        let (mut n_connectors, mut n_tasks) = (0i64, 0i64);
        let w = self.worker.as_str();
        for name in status.names() {
            let Some(st) = status.connector(&name) else {
                continue;
            };
            n_connectors += 1;
            f.connector
                .status
                .with_label_values(&[&name, state_name(st.connector.state)])
                .set(1);
            let mut per_state: BTreeMap<&'static str, i64> = BTreeMap::new();
            for t in &st.tasks {
                n_tasks += 1;
                let s = state_name(t.info.state);
                *per_state.entry(s).or_default() += 1;
                let id = t.id.to_string();
                f.task.status.with_label_values(&[&name, &id, s]).set(1);
                let key = (name.clone(), t.id);
                let clock = clocks.entry(key.clone()).or_insert(StateClock {
                    last: now,
                    state: t.info.state,
                    running: Duration::ZERO,
                    paused: Duration::ZERO,
                    total: Duration::ZERO,
                });
                let spent = now.duration_since(clock.last);
                match clock.state {
                    State::Running => clock.running += spent,
                    State::Paused => clock.paused += spent,
                    _ => {}
                }
                clock.total += spent;
                clock.last = now;
                clock.state = t.info.state;
                let (running, paused) = if clock.total.is_zero() {
                    (
                        f64::from(u8::from(t.info.state == State::Running)),
                        f64::from(u8::from(t.info.state == State::Paused)),
                    )
                } else {
                    let total = clock.total.as_secs_f64();
                    (
                        clock.running.as_secs_f64() / total,
                        clock.paused.as_secs_f64() / total,
                    )
                };
                f.task
                    .running_ratio
                    .with_label_values(&[&name, &id])
                    .set(running);
                f.task
                    .pause_ratio
                    .with_label_values(&[&name, &id])
                    .set(paused);
                seen.push(key);
            }
            for (state, g) in &f.worker.connector_tasks {
                g.with_label_values(&[w, &name])
                    .set(per_state.get(state).copied().unwrap_or(0));
            }
        }
        clocks.retain(|k, _| {
            let keep = seen.contains(k);
            if !keep {
                let l = [k.0.as_str(), &k.1.to_string()];
                let _ = f.task.running_ratio.remove_label_values(&l);
                let _ = f.task.pause_ratio.remove_label_values(&l);
            }
            keep
        });
        f.worker
            .connector_count
            .with_label_values(&[w])
            .set(n_connectors);
        f.worker.task_count.with_label_values(&[w]).set(n_tasks);
    }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Unassigned => "unassigned",
        State::Running => "running",
        State::Paused => "paused",
        State::Failed => "failed",
        State::Restarting => "restarting",
        State::Stopped => "stopped",
    }
}

/// librdkafka statistics of one client: its queue sizes.
#[derive(Debug, Clone)]
pub struct ClientStats {
    queue_messages: IntGauge,
    queue_bytes: IntGauge,
    queue_max: IntGauge,
    consumer: bool,
}

impl ClientStats {
    pub fn update(&self, s: &rdkafka::Statistics) {
        let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        if self.consumer {
            // A consumer's queues are its partitions' fetch queues; the
            // top-level counts are producer queues only.
            let (mut cnt, mut size) = (0i64, 0u64);
            for t in s.topics.values() {
                for (id, p) in &t.partitions {
                    if *id >= 0 {
                        cnt = cnt.saturating_add(p.fetchq_cnt.max(0));
                        size = size.saturating_add(p.fetchq_size);
                    }
                }
            }
            self.queue_messages.set(cnt);
            self.queue_bytes.set(i(size));
        } else {
            self.queue_messages.set(i(s.msg_cnt));
            self.queue_bytes.set(i(s.msg_size));
        }
        self.queue_max.set(i(s.msg_max));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kafka_connects_in_prometheus_style() {
        let m = Metrics::new("w:8083", Duration::from_secs(30));
        let mut s = m.source_task("c", 0);
        s.polled(10, Duration::from_millis(3));
        s.acknowledged(10, 0);
        let e = m.errors("c", 0);
        e.records_skipped.inc();
        m.connector_started(true);
        let status = StatusStore::new("w:8083");
        status.set_connector(
            "c",
            sluice_connect_api::ConnectorType::Source,
            State::Running,
            None,
        );
        status.set_task("c", 0, State::Running, None);
        let text = m.render(
            &status,
            &[ConnectorMeta {
                name: "c".into(),
                connector_type: "source",
                class: "org.apache.kafka.connect.file.FileStreamSourceConnector".into(),
                version: "1".into(),
            }],
        );
        for line in [
            "kafka_connect_source_task_source_record_poll_total{connector=\"c\",task=\"0\"} 10",
            "kafka_connect_source_task_source_record_write_total{connector=\"c\",task=\"0\"} 10",
            "kafka_connect_connector_task_batch_size_max{connector=\"c\",task=\"0\"} 10",
            "kafka_connect_task_error_total_records_skipped{connector=\"c\",task=\"0\"} 1",
            "kafka_connect_connector_status{connector=\"c\",status=\"running\"} 1",
            "kafka_connect_connector_task_status{connector=\"c\",status=\"running\",task=\"0\"} 1",
            "kafka_connect_worker_connector_count{worker=\"w:8083\"} 1",
            "kafka_connect_worker_connector_running_task_count{connector=\"c\",worker=\"w:8083\"} 1",
            "kafka_connect_worker_connector_startup_success_total{worker=\"w:8083\"} 1",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(text.contains("kafka_connect_connector_info{class=\"org.apache.kafka.connect.file.FileStreamSourceConnector\",connector=\"c\",type=\"source\",version=\"1\"} 1"));
        drop(s);
        let text = m.render(&status, &[]);
        assert!(
            !text.contains("kafka_connect_source_task_source_record_poll_total{"),
            "an ended task's series go away"
        );
    }
}
