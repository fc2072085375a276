//! Tracks which produced batches Kafka has acknowledged.
//!
//! Each polled batch gets an id; every record of it is produced with that id
//! as its delivery opaque. A batch is complete when it is sealed (all its
//! records were handed to the producer) and every record was acknowledged.
//! Only the complete batches at the front are committable, so an offset is
//! never stored past a record Kafka has not acknowledged.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use std::sync::Arc;

use super::offsets::PartitionOffsets;

#[derive(Debug, Default)]
struct Batch {
    /// Records sent minus records acknowledged (may dip below zero before
    /// the batch is sealed).
    outstanding: i64,
    sealed: bool,
    offsets: PartitionOffsets,
}

#[derive(Debug, Default)]
struct Inner {
    first_id: u64,
    batches: VecDeque<Batch>,
    failure: Option<String>,
    /// Records acknowledged so far.
    acked: u64,
}

/// Set in a delivery opaque for a dead letter queue record: it counts for
/// its batch but is not a written record.
pub(crate) const DLQ_OPAQUE: u64 = 1 << 62;

#[derive(Debug, Default)]
pub(crate) struct AckTracker {
    inner: Mutex<Inner>,
}

impl AckTracker {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a batch; returns its id.
    pub(crate) fn open(&self) -> u64 {
        let mut g = self.lock();
        g.batches.push_back(Batch::default());
        g.first_id + g.batches.len() as u64 - 1
    }

    /// All of the batch's `sent` records are with the producer.
    pub(crate) fn seal(&self, id: u64, sent: usize, offsets: PartitionOffsets) {
        let mut g = self.lock();
        let idx = id.wrapping_sub(g.first_id) as usize;
        if let Some(b) = g.batches.get_mut(idx) {
            b.outstanding += i64::try_from(sent).unwrap_or(i64::MAX);
            b.sealed = true;
            b.offsets = offsets;
        }
    }

    /// Delivery report of one record.
    pub(crate) fn ack(&self, id: u64, error: Option<String>) {
        let dlq = id & DLQ_OPAQUE != 0;
        let id = id & !DLQ_OPAQUE;
        let mut g = self.lock();
        if let Some(e) = error {
            // Keep the first failure: it is the cause.
            g.failure.get_or_insert(e);
            return;
        }
        if !dlq {
            g.acked += 1;
        }
        let idx = id.wrapping_sub(g.first_id) as usize;
        if let Some(b) = g.batches.get_mut(idx) {
            b.outstanding -= 1;
        }
    }

    /// Removes the complete batches at the front and returns their offsets,
    /// the latest per source partition.
    pub(crate) fn take_committable(&self) -> PartitionOffsets {
        let mut g = self.lock();
        let mut out = PartitionOffsets::default();
        while g
            .batches
            .front()
            .is_some_and(|b| b.sealed && b.outstanding <= 0)
        {
            if let Some(b) = g.batches.pop_front() {
                out.merge(b.offsets);
                g.first_id += 1;
            }
        }
        out
    }

    /// Records handed to the producer and not yet acknowledged.
    pub(crate) fn in_flight(&self) -> i64 {
        self.lock()
            .batches
            .iter()
            .map(|b| b.outstanding.max(0))
            .sum()
    }

    /// Records (not DLQ records) acknowledged since the tracker was made.
    pub(crate) fn acked(&self) -> u64 {
        self.lock().acked
    }

    /// The first delivery failure, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        self.lock().failure.clone()
    }
}

/// The producer's context: logs like [`crate::kafka::LogContext`] and feeds
/// delivery reports to the tracker.
#[derive(Debug, Clone)]
pub(crate) struct AckContext {
    pub(crate) tracker: Arc<AckTracker>,
    pub(crate) log: crate::kafka::LogContext,
    pub(crate) stats: Option<crate::metrics::ClientStats>,
}

impl ClientContext for AckContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.log.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.log.error(error, reason);
    }

    fn stats(&self, statistics: rdkafka::Statistics) {
        if let Some(s) = &self.stats {
            s.update(&statistics);
        }
    }
}

impl ProducerContext for AckContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: usize) {
        let error = match result {
            Ok(_) => None,
            Err((e, m)) => Some(format!(
                "Kafka did not accept a record for topic {}: {e}",
                rdkafka::Message::topic(m)
            )),
        };
        self.tracker.ack(batch as u64, error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sluice_connect_api::OffsetMap;

    fn m(v: serde_json::Value) -> OffsetMap {
        v.as_object().cloned().unwrap()
    }

    fn offsets(pos: u64) -> PartitionOffsets {
        let mut p = PartitionOffsets::default();
        p.record(m(json!({"f": "a"})), m(json!({"position": pos})));
        p
    }

    #[test]
    fn only_acknowledged_prefix_is_committable() {
        let t = AckTracker::default();
        let a = t.open();
        let b = t.open();
        t.ack(a, None); // an ack may arrive before the seal
        t.seal(a, 2, offsets(10));
        t.seal(b, 1, offsets(20));
        t.ack(b, None);
        // Batch a still has one record outstanding: nothing is committable,
        // even though the later batch b is done.
        assert!(t.take_committable().is_empty());
        assert_eq!(t.in_flight(), 1);
        t.ack(a, None);
        let c = t.take_committable();
        assert_eq!(c.entries()[0].1["position"], 20);
        assert_eq!(t.in_flight(), 0);
        let d = t.open();
        assert_eq!(d, 2);
    }

    #[test]
    fn failures_block_commit_and_are_kept() {
        let t = AckTracker::default();
        let a = t.open();
        t.seal(a, 1, offsets(5));
        t.ack(a, Some("boom".into()));
        t.ack(a, Some("later".into()));
        assert!(t.take_committable().is_empty());
        assert_eq!(t.failure().as_deref(), Some("boom"));
    }
}
