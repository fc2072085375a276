//! The producer side of a source task: transform, convert and produce a
//! polled batch; acknowledge to the task what Kafka acknowledged; store the
//! offsets of acknowledged records.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, ThreadedProducer};
use sluice_connect_api::schema::converter::ConvertError;
use sluice_connect_api::schema::{SchemaRef, Value};
use sluice_connect_api::{ConnectError, ConnectResult, SourceAcknowledger, SourceRecord, Topic};
use tokio::sync::watch;

use super::acks::{AckContext, AckTracker, opaque};
use super::offsets::PartitionOffsets;
use super::output::{Outgoing, Produce};
use crate::converters::TaskConverter;
use crate::errors::context::{DATA_EXCEPTION, RETRIABLE_EXCEPTION};
use crate::errors::{ErrorHandler, OriginalRecord, Stage, StageFailure};
use crate::kafka::TopicAdmin;
use crate::offsets::OffsetStore;
use crate::status::StatusStore;
use crate::transforms::TransformChain;

pub(super) type TaskProducer = ThreadedProducer<AckContext>;

pub(super) struct Sender {
    pub(super) connector: String,
    pub(super) producer: Box<dyn Produce>,
    pub(super) tracker: Arc<AckTracker>,
    pub(super) key_converter: TaskConverter,
    pub(super) value_converter: TaskConverter,
    pub(super) transforms: TransformChain,
    pub(super) handler: ErrorHandler,
    pub(super) correlation: Option<crate::correlation::Correlation>,
    /// Clone polled records before transforming them, so a failed one can
    /// go to the dead letter queue as it was polled.
    pub(super) keep_originals: bool,
    /// Who hears about acknowledged records (the task's acknowledger).
    pub(super) acknowledger: Option<Arc<dyn SourceAcknowledger>>,
    /// Keep every record until acknowledged (`commit_record`).
    pub(super) per_record: bool,
    /// Creates missing topics; `None` with the null producer.
    pub(super) admin: Option<Arc<TopicAdmin>>,
    pub(super) offsets: Arc<dyn OffsetStore>,
    pub(super) status: Arc<StatusStore>,
    /// How a missing topic is created (`topic.creation.default.*`).
    pub(super) topic_creation: crate::connector_config::TopicCreation,
    pub(super) flush_timeout: Duration,
    /// Acknowledged offsets not yet stored (kept across a failed commit).
    pub(super) pending: PartitionOffsets,
    pub(super) stop: watch::Receiver<bool>,
    /// The converted key and value of the record being produced, reused
    /// from record to record (librdkafka copies them).
    pub(super) key_buf: Vec<u8>,
    pub(super) value_buf: Vec<u8>,
}

/// Where the converted key and value are.
#[derive(Clone, Copy)]
struct Converted {
    key: Bytes,
    value: Bytes,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bytes {
    Null,
    /// In the sender's reused buffer.
    Buffer,
    /// The record's own bytes (the converter's `borrowed_bytes`): no copy
    /// before librdkafka's.
    Borrowed,
}

impl Sender {
    /// Transforms, converts and produces a polled batch. A record that
    /// fails is handled as `errors.*` say: the task fails (records before it
    /// stay committable), or the record is logged and/or dead-lettered (in
    /// this batch, so its offset waits for the DLQ acknowledgement).
    pub(super) async fn send(&mut self, records: Vec<SourceRecord>) -> ConnectResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let id = loop {
            if let Some(id) = self.tracker.try_open() {
                break id;
            }
            // Every batch slot is open: take what is complete, else wait
            // for Kafka (backpressure, like a full producer queue).
            self.acknowledge();
            if *self.stop.borrow() {
                return Ok(()); // nothing of this batch was sent
            }
            if self.tracker.failure().is_some() {
                return Ok(()); // the task loop fails on it next
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let mut offsets = PartitionOffsets::default();
        let mut sent = 0usize;
        let mut result = Ok(());
        // Topic checks once per run of records to the same topic, not per record.
        let mut checked_topic: Option<Topic> = None;
        // Per-record acknowledgements: the records as polled, by index.
        let mut kept: Vec<SourceRecord> = Vec::new();
        for (i, mut record) in records.into_iter().enumerate() {
            if let Some(c) = &mut self.correlation {
                c.ensure(&mut record.headers);
            }
            let original = (self.keep_originals || self.per_record && !self.transforms.is_empty())
                .then(|| record.clone());
            let step = match self.transforms.apply(&mut record) {
                Ok(true) => Ok(true),
                // Filtered out: nothing to send, the offset still counts.
                Ok(false) => Ok(false),
                Err(f) => Err(StageFailure::new(
                    Stage::Transformation,
                    f.class_name,
                    DATA_EXCEPTION,
                    &f.error,
                )),
            };
            // Whether the record went to its own topic (not filtered, not
            // errant): only then may the transforms keep what they learned.
            let mut produced = false;
            let step = match step {
                Ok(true) => {
                    let topic_ok = match &checked_topic {
                        Some(t) if Arc::ptr_eq(t, &record.topic) || *t == record.topic => Ok(()),
                        _ => self.ensure_topic(&record.topic).await.map(|()| {
                            checked_topic = Some(record.topic.clone());
                        }),
                    };
                    match topic_ok {
                        Err(e) => Err(e),
                        Ok(()) => match self.convert(&record).await {
                            Ok(c) => self
                                .produce_record(opaque(id, kept.len()), &record, c, i)
                                .await
                                .map(|()| {
                                    produced = true;
                                    1
                                }),
                            // Retries cut short by a stop: not errant, just
                            // not sent, and its offset is not committed.
                            Err(_) if *self.stop.borrow() => {
                                Err(ConnectError::retriable("stopping"))
                            }
                            Err(failure) => {
                                self.errant(id, &failure, original.as_ref(), &record).await
                            }
                        },
                    }
                }
                Ok(false) => Ok(0),
                Err(failure) => self.errant(id, &failure, original.as_ref(), &record).await,
            };
            if !produced {
                self.transforms.forget_last();
            }
            match step {
                Ok(n) => {
                    sent += n;
                    if self.per_record {
                        let polled = original.unwrap_or(record);
                        offsets.record(
                            polled.source_partition.clone(),
                            polled.source_offset.clone(),
                        );
                        kept.push(polled);
                    } else {
                        offsets.record(record.source_partition, record.source_offset);
                    }
                }
                Err(_) if *self.stop.borrow() => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let marks = self.transforms.mark();
        self.tracker.seal(id, sent, offsets, kept, marks);
        result
    }

    /// Handles an errant record; the number of DLQ records sent (0 or 1).
    async fn errant(
        &mut self,
        id: u64,
        failure: &StageFailure,
        original: Option<&SourceRecord>,
        record: &SourceRecord,
    ) -> ConnectResult<usize> {
        let orig = OriginalRecord::from_source(original.unwrap_or(record));
        match self.handler.handle(failure, &orig)? {
            None => Ok(0),
            Some(dlq) => {
                let what = || format!("the dead letter queue record for {}", orig.describe());
                let opaque = opaque(id, 0) | super::acks::DLQ_OPAQUE as usize;
                self.produce(crate::errors::dlq::base_record(&dlq, opaque), what)
                    .await?;
                Ok(1)
            }
        }
    }

    /// Key and value as bytes in the reused buffers, retrying a retriable
    /// converter failure (registry away) within `errors.retry.timeout`.
    async fn convert(&mut self, r: &SourceRecord) -> Result<Converted, StageFailure> {
        let mut key_buf = std::mem::take(&mut self.key_buf);
        let key = self
            .convert_one(
                &self.key_converter,
                Stage::KeyConverter,
                r,
                true,
                &mut key_buf,
            )
            .await;
        self.key_buf = key_buf;
        let mut value_buf = std::mem::take(&mut self.value_buf);
        let value = self
            .convert_one(
                &self.value_converter,
                Stage::ValueConverter,
                r,
                false,
                &mut value_buf,
            )
            .await;
        self.value_buf = value_buf;
        Ok(Converted {
            key: key?,
            value: value?,
        })
    }

    async fn convert_one(
        &self,
        conv: &TaskConverter,
        stage: Stage,
        r: &SourceRecord,
        is_key: bool,
        out: &mut Vec<u8>,
    ) -> Result<Bytes, StageFailure> {
        let (schema, value) = if is_key {
            (r.key_schema.as_ref(), &r.key)
        } else {
            (r.value_schema.as_ref(), &r.value)
        };
        if conv.converter.borrowed_bytes(schema, value).is_some() {
            return Ok(Bytes::Borrowed);
        }
        let result = match conv
            .converter
            .from_connect_into(&r.topic, schema, value, out)
        {
            Err(e) if e.is_retriable() => {
                let mut stop = self.stop.clone();
                self.handler
                    .retry(
                        || async { conv.converter.from_connect(&r.topic, schema, value) },
                        ConvertError::is_retriable,
                        &mut stop,
                    )
                    .await
                    .map(|bytes| match bytes {
                        Some(b) => {
                            *out = b;
                            true
                        }
                        None => false,
                    })
            }
            other => other,
        };
        result
            .map(|some| if some { Bytes::Buffer } else { Bytes::Null })
            .map_err(|e| {
                let class = if e.is_retriable() {
                    RETRIABLE_EXCEPTION
                } else {
                    DATA_EXCEPTION
                };
                StageFailure::new(stage, conv.class_name, class, &e)
            })
    }

    async fn produce_record(
        &self,
        opaque: usize,
        r: &SourceRecord,
        c: Converted,
        index: usize,
    ) -> ConnectResult<()> {
        let mut record: Outgoing<'_> = BaseRecord::with_opaque_to(&r.topic, opaque);
        let key = bytes(
            c.key,
            &self.key_converter,
            r.key_schema.as_ref(),
            &r.key,
            &self.key_buf,
        );
        if let Some(k) = key {
            record = record.key(k);
        }
        let value = bytes(
            c.value,
            &self.value_converter,
            r.value_schema.as_ref(),
            &r.value,
            &self.value_buf,
        );
        if let Some(v) = value {
            record = record.payload(v);
        }
        if let Some(p) = r.kafka_partition {
            record = record.partition(p);
        }
        if let Some(ts) = r.timestamp {
            record = record.timestamp(ts);
        }
        if !r.headers.is_empty() {
            // Straight into librdkafka's header list: string and byte
            // values are borrowed, not copied first.
            let mut hs = OwnedHeaders::new_with_capacity(r.headers.len());
            for h in &r.headers {
                let value = crate::headers::value_bytes(h);
                hs = hs.insert(KafkaHeader {
                    key: &h.key,
                    value: value.as_deref(),
                });
            }
            record = record.headers(hs);
        }
        let describe = || {
            format!(
                "record {index} of the batch for topic {} (source partition {}, offset {})",
                r.topic,
                serde_json::Value::Object(r.source_partition.as_map().clone()),
                serde_json::Value::Object(r.source_offset.to_map())
            )
        };
        self.produce(record, describe).await
    }

    /// Hands a record to the producer, waiting while its queue is full.
    async fn produce(
        &self,
        mut record: Outgoing<'_>,
        describe: impl Fn() -> String,
    ) -> ConnectResult<()> {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // Backpressure: the producer queue is bounded.
                    record = back;
                    if *self.stop.borrow() {
                        // Stopping with a full queue (broker away): this
                        // record is not sent and its offset not committed.
                        return Err(ConnectError::retriable("stopping"));
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err((e, _)) => {
                    return Err(ConnectError::fatal_from(
                        format!("cannot produce {}", describe()),
                        e,
                    ));
                }
            }
        }
    }

    async fn ensure_topic(&self, topic: &str) -> ConnectResult<()> {
        let Some(admin) = &self.admin else {
            return Ok(());
        };
        admin
            .ensure_with_configs(
                topic,
                self.topic_creation.partitions,
                i32::from(self.topic_creation.replication),
                &self.topic_creation.configs,
            )
            .await?;
        self.status.add_topic(&self.connector, topic);
        Ok(())
    }

    /// Waits up to the flush timeout for in-flight records.
    pub(super) async fn drain(&self) {
        let deadline = tokio::time::Instant::now() + self.flush_timeout.max(Duration::from_secs(1));
        while self.tracker.in_flight() > 0 && self.tracker.failure().is_none() {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    in_flight = self.tracker.in_flight(),
                    "records still unacknowledged at shutdown; their offsets are not committed"
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Moves what Kafka acknowledged (complete batches at the front) to
    /// the offsets to store, telling the task's acknowledger first.
    pub(super) fn acknowledge(&mut self) {
        let done = self.tracker.take_committable();
        if let Some(marks) = &done.marks {
            // What the transforms learned from these records may be kept
            // now that Kafka has them (before the task's acknowledger
            // tells the source, to keep the window for repeats small).
            self.transforms.settle(marks);
        }
        if done.offsets.is_empty() && done.records.is_empty() {
            return;
        }
        if let Some(a) = &self.acknowledger {
            for (record, metadata) in &done.records {
                a.commit_record(record, metadata.as_ref());
            }
            if !done.offsets.is_empty() {
                a.commit_offsets(done.offsets.entries());
            }
        }
        self.pending.merge(done.offsets);
    }

    /// Starts storing the offsets of acknowledged records in the
    /// background (one batch, one sync), so producing goes on meanwhile;
    /// `None` when there is nothing to store. The job gives back what it
    /// stored, for [`Self::restore`] when it failed.
    pub(super) fn start_commit(&mut self) -> Option<CommitJob> {
        self.acknowledge();
        if self.pending.is_empty() {
            return None;
        }
        let taken = std::mem::take(&mut self.pending);
        let entries = taken.to_store_entries();
        let (store, connector) = (self.offsets.clone(), self.connector.clone());
        let started = std::time::Instant::now();
        Some(tokio::spawn(async move {
            let n = entries.len();
            let result = store
                .put_all(&connector, entries)
                .await
                .map_err(|e| ConnectError::retriable_from("cannot store source offsets", e));
            if result.is_ok() {
                tracing::debug!(partitions = n, "committed source offsets");
            }
            CommitDone {
                result,
                offsets: taken,
                took: started.elapsed(),
            }
        }))
    }

    /// Puts back offsets whose store write failed, under anything
    /// acknowledged since (which is newer), for the next commit.
    pub(super) fn restore(&mut self, failed: PartitionOffsets) {
        let newer = std::mem::replace(&mut self.pending, failed);
        self.pending.merge(newer);
    }

    /// Stores the offsets of acknowledged records (one batch, one sync)
    /// and waits for it. `Ok(true)` when something was stored.
    pub(super) async fn commit(&mut self) -> ConnectResult<bool> {
        self.acknowledge();
        if self.pending.is_empty() {
            return Ok(false);
        }
        let entries = self.pending.to_store_entries();
        let n = entries.len();
        self.offsets
            .put_all(&self.connector, entries)
            .await
            .map_err(|e| ConnectError::retriable_from("cannot store source offsets", e))?;
        self.pending = PartitionOffsets::default();
        tracing::debug!(partitions = n, "committed source offsets");
        Ok(true)
    }
}

/// A background offset commit ([`Sender::start_commit`]).
pub(super) type CommitJob = tokio::task::JoinHandle<CommitDone>;

/// How a background offset commit ended.
#[derive(Debug)]
pub(super) struct CommitDone {
    pub(super) result: ConnectResult<()>,
    /// What it stored (or failed to).
    pub(super) offsets: PartitionOffsets,
    pub(super) took: Duration,
}

/// The bytes [`Sender::convert`] decided on.
fn bytes<'a>(
    at: Bytes,
    conv: &TaskConverter,
    schema: Option<&SchemaRef>,
    value: &'a Value,
    buffer: &'a [u8],
) -> Option<&'a [u8]> {
    match at {
        Bytes::Null => None,
        Bytes::Buffer => Some(buffer),
        Bytes::Borrowed => conv.converter.borrowed_bytes(schema, value),
    }
}
