//! Per-task metric handles: label values resolved once at task start,
//! counters bumped once per batch (never per record), series removed when
//! the task ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus::{Gauge, IntCounter, IntGauge};

use super::families::Families;
use super::window::WindowStat;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Commit timing and success share, shared by source and sink tasks.
#[derive(Debug)]
struct Commits {
    time: WindowStat,
    ok: u64,
    failed: u64,
}

/// When each task's loop last turned, for `/health`.
pub(crate) type Heartbeats = Arc<Mutex<HashMap<(String, u32), Instant>>>;

/// What source and sink task handles have in common.
#[derive(Debug)]
struct Common {
    f: Families,
    connector: String,
    task: String,
    id: u32,
    heartbeats: Heartbeats,
    batch: WindowStat,
    commits: Commits,
    /// Gauges resolved once: `with_label_values` hashes and locks.
    g: CommonGauges,
}

#[derive(Debug)]
struct CommonGauges {
    batch_max: Gauge,
    batch_avg: Gauge,
    commit_max: Gauge,
    commit_avg: Gauge,
    commit_ok: Gauge,
    commit_failed: Gauge,
}

impl Common {
    fn new(f: &Families, h: &Heartbeats, connector: &str, task: u32, window: Duration) -> Self {
        let t = task.to_string();
        let l = [connector, t.as_str()];
        let tf = &f.task;
        let g = CommonGauges {
            batch_max: tf.batch_size_max.with_label_values(&l),
            batch_avg: tf.batch_size_avg.with_label_values(&l),
            commit_max: tf.commit_max_ms.with_label_values(&l),
            commit_avg: tf.commit_avg_ms.with_label_values(&l),
            commit_ok: tf.commit_success_pct.with_label_values(&l),
            commit_failed: tf.commit_failure_pct.with_label_values(&l),
        };
        let c = Self {
            g,
            f: f.clone(),
            connector: connector.to_string(),
            task: t,
            id: task,
            heartbeats: h.clone(),
            batch: WindowStat::new(window),
            commits: Commits {
                time: WindowStat::new(window),
                ok: 0,
                failed: 0,
            },
        };
        c.heartbeat();
        c
    }

    fn heartbeat(&self) {
        self.heartbeats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((self.connector.clone(), self.id), Instant::now());
    }

    fn labels(&self) -> [&str; 2] {
        [&self.connector, &self.task]
    }

    fn batch(&mut self, n: usize) {
        self.batch.record(n as f64);
        self.g.batch_max.set(self.batch.max());
        self.g.batch_avg.set(self.batch.avg());
    }

    fn committed(&mut self, took: Duration, ok: bool) {
        self.commits.time.record(ms(took));
        if ok {
            self.commits.ok += 1;
        } else {
            self.commits.failed += 1;
        }
        let total = (self.commits.ok + self.commits.failed) as f64;
        self.g.commit_max.set(self.commits.time.max());
        self.g.commit_avg.set(self.commits.time.avg());
        self.g.commit_ok.set(100.0 * self.commits.ok as f64 / total);
        self.g
            .commit_failed
            .set(100.0 * self.commits.failed as f64 / total);
    }

    fn remove(&self) {
        self.heartbeats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(self.connector.clone(), self.id));
        let l = self.labels();
        let t = &self.f.task;
        for g in [
            &t.commit_max_ms,
            &t.commit_avg_ms,
            &t.commit_success_pct,
            &t.commit_failure_pct,
            &t.batch_size_max,
            &t.batch_size_avg,
        ] {
            let _ = g.remove_label_values(&l);
        }
        let c = &self.f.client;
        for client in ["producer", "consumer", "dlq-producer"] {
            let l3 = [l[0], l[1], client];
            for g in [&c.queue_messages, &c.queue_bytes, &c.queue_max_messages] {
                let _ = g.remove_label_values(&l3);
            }
        }
    }
}

/// A source task's metrics.
#[derive(Debug)]
pub struct SourceTaskMetrics {
    common: Common,
    poll_total: IntCounter,
    write_total: IntCounter,
    active: IntGauge,
    poll_time: WindowStat,
    poll_max: Gauge,
    poll_avg: Gauge,
    /// Acknowledged records already added to `write_total`.
    written: u64,
}

impl SourceTaskMetrics {
    pub(crate) fn new(
        f: &Families,
        h: &Heartbeats,
        connector: &str,
        task: u32,
        window: Duration,
    ) -> Self {
        let common = Common::new(f, h, connector, task, window);
        let l = common.labels();
        Self {
            poll_total: f.source.poll_total.with_label_values(&l),
            write_total: f.source.write_total.with_label_values(&l),
            active: f.source.active.with_label_values(&l),
            poll_time: WindowStat::new(window),
            poll_max: f.source.poll_batch_max_ms.with_label_values(&l),
            poll_avg: f.source.poll_batch_avg_ms.with_label_values(&l),
            written: 0,
            common,
        }
    }

    /// A polled batch of `n` records took `took` to transform, convert and
    /// hand to the producer.
    pub fn polled(&mut self, n: usize, took: Duration) {
        self.poll_total.inc_by(n as u64);
        self.common.batch(n);
        self.poll_time.record(ms(took));
        self.poll_max.set(self.poll_time.max());
        self.poll_avg.set(self.poll_time.avg());
    }

    /// `acked` is the running total of records Kafka acknowledged;
    /// `in_flight` those still waiting.
    pub fn acknowledged(&mut self, acked: u64, in_flight: i64) {
        if acked > self.written {
            self.write_total.inc_by(acked - self.written);
            self.written = acked;
        }
        self.active.set(in_flight.max(0));
    }

    pub fn committed(&mut self, took: Duration, ok: bool) {
        self.common.committed(took, ok);
        self.common.heartbeat();
    }
}

impl Drop for SourceTaskMetrics {
    fn drop(&mut self) {
        self.common.remove();
        let l = self.common.labels();
        let s = &self.common.f.source;
        let _ = s.poll_total.remove_label_values(&l);
        let _ = s.write_total.remove_label_values(&l);
        let _ = s.poll_rate.remove_label_values(&l);
        let _ = s.write_rate.remove_label_values(&l);
        let _ = s.poll_batch_max_ms.remove_label_values(&l);
        let _ = s.poll_batch_avg_ms.remove_label_values(&l);
        let _ = s.active.remove_label_values(&l);
    }
}

/// A sink task's metrics.
#[derive(Debug)]
pub struct SinkTaskMetrics {
    common: Common,
    read_total: IntCounter,
    send_total: IntCounter,
    partitions: IntGauge,
    completion: IntCounter,
    skip: IntCounter,
    active: IntGauge,
    put_time: WindowStat,
    put_max: Gauge,
    put_avg: Gauge,
}

impl SinkTaskMetrics {
    pub(crate) fn new(
        f: &Families,
        h: &Heartbeats,
        connector: &str,
        task: u32,
        window: Duration,
    ) -> Self {
        let common = Common::new(f, h, connector, task, window);
        let l = common.labels();
        Self {
            read_total: f.sink.read_total.with_label_values(&l),
            send_total: f.sink.send_total.with_label_values(&l),
            partitions: f.sink.partition_count.with_label_values(&l),
            completion: f.sink.commit_completion_total.with_label_values(&l),
            skip: f.sink.commit_skip_total.with_label_values(&l),
            active: f.sink.active.with_label_values(&l),
            put_time: WindowStat::new(window),
            put_max: f.sink.put_batch_max_ms.with_label_values(&l),
            put_avg: f.sink.put_batch_avg_ms.with_label_values(&l),
            common,
        }
    }

    /// A fetched batch of `n` records.
    pub fn read(&mut self, n: usize) {
        self.read_total.inc_by(n as u64);
    }

    /// `n` records were put, taking `took`; `uncommitted` are put and not
    /// yet committed.
    pub fn put(&mut self, n: usize, took: Duration, uncommitted: i64) {
        self.send_total.inc_by(n as u64);
        self.common.batch(n);
        self.put_time.record(ms(took));
        self.active.set(uncommitted.max(0));
        self.put_max.set(self.put_time.max());
        self.put_avg.set(self.put_time.avg());
    }

    pub fn partitions(&self, n: usize) {
        self.partitions.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn committed(&mut self, took: Duration, ok: bool) {
        if ok {
            self.completion.inc();
            self.active.set(0);
        }
        self.common.committed(took, ok);
        self.common.heartbeat();
    }

    /// The task is alive (retrying, not stuck), for `/health`.
    pub fn alive(&self) {
        self.common.heartbeat();
    }

    pub fn commit_skipped(&self) {
        self.skip.inc();
        self.common.heartbeat();
    }
}

impl Drop for SinkTaskMetrics {
    fn drop(&mut self) {
        self.common.remove();
        let l = self.common.labels();
        let s = &self.common.f.sink;
        for c in [
            &s.read_total,
            &s.send_total,
            &s.commit_completion_total,
            &s.commit_skip_total,
        ] {
            let _ = c.remove_label_values(&l);
        }
        for g in [
            &s.read_rate,
            &s.send_rate,
            &s.put_batch_max_ms,
            &s.put_batch_avg_ms,
        ] {
            let _ = g.remove_label_values(&l);
        }
        let _ = s.partition_count.remove_label_values(&l);
        let _ = s.active.remove_label_values(&l);
        // Lag series of this task's partitions.
        super::remove_matching(&s.lag, &self.common.connector, &self.common.task);
    }
}

/// Error-handling counters of one task (Kafka Connect's
/// `task-error-metrics`). Kept after the task ends: failures are history.
#[derive(Debug, Clone)]
pub struct ErrorMetrics {
    pub record_failures: IntCounter,
    pub record_errors: IntCounter,
    pub records_skipped: IntCounter,
    pub retries: IntCounter,
    pub errors_logged: IntCounter,
    pub dlq_requests: IntCounter,
    pub dlq_failures: IntCounter,
    pub last_error_timestamp: IntGauge,
}

impl ErrorMetrics {
    pub(crate) fn new(f: &Families, connector: &str, task: u32) -> Self {
        let task = task.to_string();
        let l = [connector, task.as_str()];
        let e = &f.errors;
        Self {
            record_failures: e.record_failures.with_label_values(&l),
            record_errors: e.record_errors.with_label_values(&l),
            records_skipped: e.records_skipped.with_label_values(&l),
            retries: e.retries.with_label_values(&l),
            errors_logged: e.errors_logged.with_label_values(&l),
            dlq_requests: e.dlq_requests.with_label_values(&l),
            dlq_failures: e.dlq_failures.with_label_values(&l),
            last_error_timestamp: e.last_error_timestamp.with_label_values(&l),
        }
    }

    /// Unregistered counters, for tests of the error handler.
    pub fn detached() -> Self {
        let f = Families::new(&prometheus::Registry::new());
        Self::new(&f, "detached", 0)
    }

    pub fn error_now(&self) {
        self.last_error_timestamp.set(crate::metrics::now_ms());
    }
}
