//! Tracks which produced batches Kafka has acknowledged.
//!
//! Each polled batch gets an id; every record of it is produced with that id
//! (and, for per-record acknowledgements, its index) as its delivery opaque. A batch is complete when it is sealed (all its
//! records were handed to the producer) and every record was acknowledged.
//! Only the complete batches at the front are committable, so an offset is
//! never stored past a record Kafka has not acknowledged.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use sluice_connect_api::{RecordMetadata, SourceRecord};
use tokio::sync::Notify;

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
    /// Per-record acknowledgements only: the records as polled, and where
    /// Kafka stored each (by index; `None` until acknowledged, or for
    /// records that were not sent).
    records: Vec<SourceRecord>,
    metadata: Vec<Option<RecordMetadata>>,
}

impl Batch {
    fn done(&self) -> bool {
        self.sealed && self.outstanding <= 0
    }
}

#[derive(Debug, Default)]
struct Inner {
    first_id: u64,
    batches: VecDeque<Batch>,
    failure: Option<String>,
    /// Records acknowledged so far.
    acked: u64,
}

impl Inner {
    /// The position of batch `id` (as carried in an opaque) in `batches`.
    fn index_of(&self, id: u64) -> usize {
        usize::try_from(id.wrapping_sub(self.first_id) & ID_MASK).unwrap_or(usize::MAX)
    }
}

/// A delivery opaque: the batch id in the low 40 bits, the record's index
/// in its batch in the next 22 (per-record acknowledgements only), the DLQ
/// flag in bit 62.
const ID_MASK: u64 = (1 << 40) - 1;
const INDEX_SHIFT: u32 = 40;
const INDEX_MAX: u64 = (1 << 22) - 1;
/// Set in a delivery opaque for a dead letter queue record: it counts for
/// its batch but is not a written record.
pub(crate) const DLQ_OPAQUE: u64 = 1 << 62;

/// The opaque of record `index` of batch `id`. Indexes past 4M are not
/// told apart (their records get no metadata).
pub(crate) fn opaque(id: u64, index: usize) -> usize {
    let index = u64::try_from(index).unwrap_or(INDEX_MAX).min(INDEX_MAX);
    // usize is 64 bits on every target librdkafka builds for here.
    usize::try_from((id & ID_MASK) | (index << INDEX_SHIFT)).unwrap_or(usize::MAX)
}

/// What became complete at the front: the latest offset per source
/// partition, and (per-record mode) each record with its metadata.
#[derive(Debug, Default)]
pub(crate) struct Acknowledged {
    pub(crate) offsets: PartitionOffsets,
    pub(crate) records: Vec<(SourceRecord, Option<RecordMetadata>)>,
}

#[derive(Debug, Default)]
pub(crate) struct AckTracker {
    inner: Mutex<Inner>,
    /// Woken when the front batch becomes complete.
    front_done: Notify,
    /// Keep each record's metadata (per-record acknowledgements); set
    /// once, after the task started and before its first record.
    per_record: AtomicBool,
}

impl AckTracker {
    /// A tracker; `per_record` keeps each record's delivery metadata.
    pub(crate) fn new(per_record: bool) -> Self {
        let t = Self::default();
        t.set_per_record(per_record);
        t
    }

    pub(crate) fn set_per_record(&self, on: bool) {
        self.per_record.store(on, Ordering::Relaxed);
    }

    fn per_record(&self) -> bool {
        self.per_record.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a batch; returns its id.
    pub(crate) fn open(&self) -> u64 {
        let mut g = self.lock();
        g.batches.push_back(Batch::default());
        g.first_id.wrapping_add(g.batches.len() as u64 - 1)
    }

    /// All of the batch's `sent` records are with the producer; `records`
    /// (per-record mode, else empty) are kept until the batch is done.
    pub(crate) fn seal(
        &self,
        id: u64,
        sent: usize,
        offsets: PartitionOffsets,
        records: Vec<SourceRecord>,
    ) {
        let mut g = self.lock();
        let idx = g.index_of(id);
        if let Some(b) = g.batches.get_mut(idx) {
            b.outstanding += i64::try_from(sent).unwrap_or(i64::MAX);
            b.sealed = true;
            b.offsets = offsets;
            b.records = records;
            if idx == 0 && b.done() {
                self.front_done.notify_one();
            }
        }
    }

    /// Delivery report of one record: where Kafka stored it, or why not.
    pub(crate) fn ack(&self, opaque: usize, result: Result<RecordMetadata, String>) {
        let opaque = opaque as u64;
        let dlq = opaque & DLQ_OPAQUE != 0;
        let mut g = self.lock();
        let metadata = match result {
            Ok(m) => m,
            Err(e) => {
                // Keep the first failure: it is the cause.
                g.failure.get_or_insert(e);
                self.front_done.notify_one();
                return;
            }
        };
        if !dlq {
            g.acked += 1;
        }
        let idx = g.index_of(opaque & ID_MASK);
        if let Some(b) = g.batches.get_mut(idx) {
            b.outstanding -= 1;
            let at = (opaque >> INDEX_SHIFT) & INDEX_MAX;
            if self.per_record()
                && !dlq
                && at < INDEX_MAX
                && let Ok(at) = usize::try_from(at)
            {
                if b.metadata.len() <= at {
                    b.metadata.resize(at + 1, None);
                }
                b.metadata[at] = Some(metadata);
            }
            if idx == 0 && b.done() {
                self.front_done.notify_one();
            }
        }
    }

    /// Waits until the front batch may be complete (or a delivery failed).
    pub(crate) async fn front_done(&self) {
        self.front_done.notified().await;
    }

    /// Removes the complete batches at the front and returns what they
    /// acknowledged.
    pub(crate) fn take_committable(&self) -> Acknowledged {
        let mut g = self.lock();
        let mut out = Acknowledged::default();
        while g.batches.front().is_some_and(Batch::done) {
            if let Some(b) = g.batches.pop_front() {
                out.offsets.merge(b.offsets);
                let mut metadata = b.metadata.into_iter();
                for r in b.records {
                    out.records.push((r, metadata.next().flatten()));
                }
                g.first_id = g.first_id.wrapping_add(1);
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

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        use rdkafka::Message;
        let result = match result {
            Ok(m) => Ok(RecordMetadata {
                topic: if self.tracker.per_record() {
                    m.topic().to_string()
                } else {
                    String::new()
                },
                partition: m.partition(),
                offset: m.offset(),
            }),
            Err((e, m)) => Err(format!(
                "Kafka did not accept a record for topic {}: {e}",
                m.topic()
            )),
        };
        self.tracker.ack(opaque, result);
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

    fn meta(offset: i64) -> Result<RecordMetadata, String> {
        Ok(RecordMetadata {
            topic: "t".into(),
            partition: 0,
            offset,
        })
    }

    fn rec(n: u64) -> SourceRecord {
        SourceRecord::new(
            m(json!({"f": "a"})),
            m(json!({"position": n})),
            "t",
            None,
            sluice_connect_api::schema::Value::Int64(n as i64),
        )
    }

    #[test]
    fn only_acknowledged_prefix_is_committable() {
        let t = AckTracker::default();
        let a = t.open();
        let b = t.open();
        t.ack(opaque(a, 0), meta(0)); // an ack may arrive before the seal
        t.seal(a, 2, offsets(10), Vec::new());
        t.seal(b, 1, offsets(20), Vec::new());
        t.ack(opaque(b, 0), meta(2));
        // Batch a still has one record outstanding: nothing is committable,
        // even though the later batch b is done.
        assert!(t.take_committable().offsets.is_empty());
        assert_eq!(t.in_flight(), 1);
        t.ack(opaque(a, 0), meta(1));
        let c = t.take_committable();
        assert_eq!(c.offsets.entries()[0].1["position"], 20);
        assert!(c.records.is_empty());
        assert_eq!(t.in_flight(), 0);
        let d = t.open();
        assert_eq!(d, 2);
    }

    #[test]
    fn per_record_mode_keeps_records_with_their_metadata() {
        let t = AckTracker::new(true);
        let a = t.open();
        // Acknowledged out of order, before and after the seal.
        t.ack(opaque(a, 1), meta(11));
        t.seal(a, 3, offsets(2), vec![rec(0), rec(1), rec(2)]);
        // The DLQ record of record 2 counts for the batch, without metadata.
        t.ack(opaque(a, 2) | DLQ_OPAQUE as usize, meta(99));
        assert!(t.take_committable().records.is_empty());
        t.ack(opaque(a, 0), meta(10));
        let done = t.take_committable();
        let got: Vec<(i64, Option<i64>)> = done
            .records
            .iter()
            .map(|(r, m)| match r.value {
                sluice_connect_api::schema::Value::Int64(n) => (n, m.as_ref().map(|m| m.offset)),
                _ => (-1, None),
            })
            .collect();
        assert_eq!(got, vec![(0, Some(10)), (1, Some(11)), (2, None)]);
        assert_eq!(t.acked(), 2);
    }

    #[tokio::test]
    async fn completing_the_front_batch_wakes_the_waiter() {
        let t = Arc::new(AckTracker::default());
        let a = t.open();
        t.seal(a, 1, offsets(1), Vec::new());
        let waiter = tokio::spawn({
            let t = t.clone();
            async move { t.front_done().await }
        });
        t.ack(opaque(a, 0), meta(0));
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert_eq!(t.take_committable().offsets.entries().len(), 1);
    }

    #[test]
    fn ids_wrap_within_the_opaque() {
        let t = AckTracker::default();
        t.lock().first_id = ID_MASK; // the last id before the wrap
        let a = t.open();
        let b = t.open();
        t.seal(a, 1, offsets(1), Vec::new());
        t.seal(b, 1, offsets(2), Vec::new());
        t.ack(opaque(a, 0), meta(0));
        t.ack(opaque(b, 0), meta(1));
        assert_eq!(t.take_committable().offsets.entries()[0].1["position"], 2);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn failures_block_commit_and_are_kept() {
        let t = AckTracker::default();
        let a = t.open();
        t.seal(a, 1, offsets(5), Vec::new());
        t.ack(opaque(a, 0), Err("boom".into()));
        t.ack(opaque(a, 0), Err("later".into()));
        assert!(t.take_committable().offsets.is_empty());
        assert_eq!(t.failure().as_deref(), Some("boom"));
    }
}
