//! Tracks which produced batches Kafka has acknowledged.
//!
//! Each polled batch gets an id; every record of it is produced with that id
//! (and, for per-record acknowledgements, its index) as its delivery
//! opaque. A batch is complete when it is sealed (all its records were
//! handed to the producer) and every record was acknowledged; its count is
//! an atomic, so delivery reports take no lock.
//! Only the complete batches at the front are committable, so an offset is
//! never stored past a record Kafka has not acknowledged.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use sluice_connect_api::{RecordMetadata, SourceRecord};
use tokio::sync::Notify;

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use std::sync::Arc;

use super::offsets::PartitionOffsets;
use crate::transforms::Marks;

#[derive(Debug, Default)]
struct Batch {
    offsets: PartitionOffsets,
    /// Per-record acknowledgements only: the records as polled, and where
    /// Kafka stored each (by index; `None` until acknowledged, or for
    /// records that were not sent).
    records: Vec<SourceRecord>,
    metadata: Vec<Option<RecordMetadata>>,
    /// The transforms' marks after this batch was applied.
    marks: Marks,
}

#[derive(Debug, Default)]
struct Inner {
    first_id: u64,
    batches: VecDeque<Batch>,
    failure: Option<String>,
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

/// At most this many batches are open (handed to the producer and not yet
/// taken as committable) at once; a slot per batch holds its count.
const SLOTS: usize = 1024;
/// A slot's value while its batch is not sealed: far below any count, so
/// acknowledgements arriving before the seal never make it look done.
const UNSEALED: i64 = i64::MIN / 2;

fn slot_of(id: u64) -> usize {
    // SLOTS divides 2^40, so slots stay consistent across the id wrap.
    usize::try_from(id & ID_MASK).unwrap_or(0) % SLOTS
}

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
    /// The transforms' marks after the last complete batch: every record
    /// they cover is in Kafka.
    pub(crate) marks: Option<Marks>,
}

/// Which batches Kafka acknowledged. A delivery report touches only
/// atomics (its batch's count, the acknowledged total), never the lock,
/// unless the task asked for per-record metadata.
#[derive(Debug)]
pub(crate) struct AckTracker {
    inner: Mutex<Inner>,
    /// Per open batch (by [`slot_of`] its id): records sent minus records
    /// acknowledged once sealed (done at 0), [`UNSEALED`] plus the
    /// acknowledgements so far before.
    counts: Box<[AtomicI64]>,
    /// Records (not DLQ records) acknowledged so far.
    acked: AtomicU64,
    failed: AtomicBool,
    /// Woken when a batch becomes complete (or a delivery failed).
    done: Notify,
    /// Keep each record's metadata (per-record acknowledgements); set
    /// once, after the task started and before its first record.
    per_record: AtomicBool,
}

impl Default for AckTracker {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            counts: (0..SLOTS).map(|_| AtomicI64::new(UNSEALED)).collect(),
            acked: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            done: Notify::new(),
            per_record: AtomicBool::new(false),
        }
    }
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

    fn count(&self, id: u64) -> &AtomicI64 {
        &self.counts[slot_of(id)]
    }

    /// Starts a batch and returns its id, or `None` while [`SLOTS`]
    /// batches are open (take the committable ones, then try again).
    pub(crate) fn try_open(&self) -> Option<u64> {
        let mut g = self.lock();
        if g.batches.len() >= SLOTS {
            return None;
        }
        g.batches.push_back(Batch::default());
        Some(g.first_id.wrapping_add(g.batches.len() as u64 - 1))
    }

    /// All of the batch's `sent` records are with the producer; `records`
    /// (per-record mode, else empty) are kept until the batch is done.
    pub(crate) fn seal(
        &self,
        id: u64,
        sent: usize,
        offsets: PartitionOffsets,
        records: Vec<SourceRecord>,
        marks: Marks,
    ) {
        {
            let mut g = self.lock();
            let idx = g.index_of(id);
            match g.batches.get_mut(idx) {
                Some(b) => {
                    b.offsets = offsets;
                    b.records = records;
                    b.marks = marks;
                }
                None => return,
            }
        }
        let sent = i64::try_from(sent).unwrap_or(i64::MAX / 4);
        let delta = sent - UNSEALED;
        let before = self.count(id).fetch_add(delta, Ordering::AcqRel);
        if before.wrapping_add(delta) <= 0 {
            self.done.notify_one();
        }
    }

    /// Delivery report of one record: where Kafka stored it, or why not.
    pub(crate) fn ack(&self, opaque: usize, result: Result<RecordMetadata, String>) {
        let opaque = opaque as u64;
        let dlq = opaque & DLQ_OPAQUE != 0;
        let id = opaque & ID_MASK;
        let metadata = match result {
            Ok(m) => m,
            Err(e) => {
                // Keep the first failure: it is the cause.
                self.lock().failure.get_or_insert(e);
                self.failed.store(true, Ordering::Release);
                self.done.notify_one();
                return;
            }
        };
        if !dlq {
            self.acked.fetch_add(1, Ordering::Relaxed);
        }
        let at = (opaque >> INDEX_SHIFT) & INDEX_MAX;
        if self.per_record()
            && !dlq
            && at < INDEX_MAX
            && let Ok(at) = usize::try_from(at)
        {
            // Stored before the count can reach zero, so the batch is
            // never taken without it.
            let mut g = self.lock();
            let idx = g.index_of(id);
            if let Some(b) = g.batches.get_mut(idx) {
                if b.metadata.len() <= at {
                    b.metadata.resize(at + 1, None);
                }
                b.metadata[at] = Some(metadata);
            }
        }
        if self.count(id).fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_one();
        }
    }

    /// Waits until a batch may have become complete (or a delivery failed).
    pub(crate) async fn front_done(&self) {
        self.done.notified().await;
    }

    /// Removes the complete batches at the front and returns what they
    /// acknowledged.
    pub(crate) fn take_committable(&self) -> Acknowledged {
        let mut g = self.lock();
        let mut out = Acknowledged::default();
        while !g.batches.is_empty() {
            let count = self.count(g.first_id);
            let c = count.load(Ordering::Acquire);
            if !(UNSEALED / 2..=0).contains(&c) {
                break; // records outstanding, or not sealed yet
            }
            if let Some(b) = g.batches.pop_front() {
                out.offsets.merge(b.offsets);
                if !b.marks.is_empty() {
                    out.marks = Some(b.marks);
                }
                let mut metadata = b.metadata.into_iter();
                for r in b.records {
                    out.records.push((r, metadata.next().flatten()));
                }
            }
            count.store(UNSEALED, Ordering::Release);
            g.first_id = g.first_id.wrapping_add(1);
        }
        out
    }

    /// Records handed to the producer and not yet acknowledged.
    pub(crate) fn in_flight(&self) -> i64 {
        let g = self.lock();
        (0..g.batches.len() as u64)
            .map(|i| {
                self.count(g.first_id.wrapping_add(i))
                    .load(Ordering::Relaxed)
            })
            .filter(|c| *c > 0)
            .sum()
    }

    /// Records (not DLQ records) acknowledged since the tracker was made.
    pub(crate) fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// The first delivery failure, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
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

    fn m<T: From<OffsetMap>>(v: serde_json::Value) -> T {
        T::from(v.as_object().cloned().unwrap())
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
        let a = t.try_open().unwrap();
        let b = t.try_open().unwrap();
        t.ack(opaque(a, 0), meta(0)); // an ack may arrive before the seal
        t.seal(a, 2, offsets(10), Vec::new(), Vec::new());
        t.seal(b, 1, offsets(20), Vec::new(), Vec::new());
        t.ack(opaque(b, 0), meta(2));
        // Batch a still has one record outstanding: nothing is committable,
        // even though the later batch b is done.
        assert!(t.take_committable().offsets.is_empty());
        assert_eq!(t.in_flight(), 1);
        t.ack(opaque(a, 0), meta(1));
        let c = t.take_committable();
        assert_eq!(c.offsets.entries()[0].1.get_i64("position").unwrap(), 20);
        assert!(c.records.is_empty());
        assert_eq!(t.in_flight(), 0);
        let d = t.try_open().unwrap();
        assert_eq!(d, 2);
    }

    #[test]
    fn per_record_mode_keeps_records_with_their_metadata() {
        let t = AckTracker::new(true);
        let a = t.try_open().unwrap();
        // Acknowledged out of order, before and after the seal.
        t.ack(opaque(a, 1), meta(11));
        t.seal(a, 3, offsets(2), vec![rec(0), rec(1), rec(2)], Vec::new());
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
        let a = t.try_open().unwrap();
        t.seal(a, 1, offsets(1), Vec::new(), Vec::new());
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
        let a = t.try_open().unwrap();
        let b = t.try_open().unwrap();
        t.seal(a, 1, offsets(1), Vec::new(), Vec::new());
        t.seal(b, 1, offsets(2), Vec::new(), Vec::new());
        t.ack(opaque(a, 0), meta(0));
        t.ack(opaque(b, 0), meta(1));
        assert_eq!(
            t.take_committable().offsets.entries()[0]
                .1
                .get_i64("position")
                .unwrap(),
            2
        );
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn at_most_slots_batches_are_open() {
        let t = AckTracker::default();
        let ids: Vec<u64> = (0..SLOTS).map(|_| t.try_open().unwrap()).collect();
        assert_eq!(t.try_open(), None, "full");
        t.seal(ids[0], 1, offsets(1), Vec::new(), Vec::new());
        assert_eq!(t.try_open(), None, "the front is not done yet");
        t.ack(opaque(ids[0], 0), meta(0));
        assert_eq!(
            t.take_committable().offsets.entries()[0]
                .1
                .get_i64("position")
                .unwrap(),
            1
        );
        let next = t.try_open().expect("a slot freed");
        // The reused slot starts unsealed: nothing is committable yet.
        t.ack(opaque(next, 0), meta(1));
        assert!(t.take_committable().offsets.is_empty());
    }

    #[test]
    fn concurrent_delivery_reports_complete_every_batch_once() {
        let t = Arc::new(AckTracker::default());
        let per_batch = 50usize;
        let ids: Vec<u64> = (0..200).map(|_| t.try_open().unwrap()).collect();
        for (n, id) in ids.iter().enumerate() {
            t.seal(*id, per_batch, offsets(n as u64), Vec::new(), Vec::new());
        }
        let threads: Vec<_> = (0..4)
            .map(|k| {
                let (t, ids) = (t.clone(), ids.clone());
                std::thread::spawn(move || {
                    for id in ids {
                        for r in 0..per_batch {
                            if r % 4 == k {
                                t.ack(opaque(id, r), meta(r as i64));
                            }
                        }
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        assert_eq!(t.acked(), 200 * per_batch as u64);
        assert_eq!(t.in_flight(), 0);
        let done = t.take_committable();
        assert_eq!(
            done.offsets.entries()[0].1.get_i64("position").unwrap(),
            199
        );
        assert_eq!(t.try_open(), Some(200));
    }

    #[test]
    fn failures_block_commit_and_are_kept() {
        let t = AckTracker::default();
        let a = t.try_open().unwrap();
        t.seal(a, 1, offsets(5), Vec::new(), Vec::new());
        t.ack(opaque(a, 0), Err("boom".into()));
        t.ack(opaque(a, 0), Err("later".into()));
        assert!(t.take_committable().offsets.is_empty());
        assert_eq!(t.failure().as_deref(), Some("boom"));
    }
}
