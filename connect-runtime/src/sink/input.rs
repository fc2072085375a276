//! The consuming side of a sink task: fetches a batch, converts and
//! transforms each record, and sorts out the ones that failed.

use futures::FutureExt;
use rdkafka::Message;
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::{BorrowedMessage, Headers, Timestamp};
use sluice_connect_api::schema::converter::ConvertError;
use sluice_connect_api::{Header, SinkRecord, TimestampType, Topic, TopicPartition};

use super::consumer::SinkConsumerContext;
use crate::converters::TaskConverter;
use crate::errors::context::{DATA_EXCEPTION, RETRIABLE_EXCEPTION};
use crate::errors::{OriginalRecord, Stage, StageFailure};
use crate::transforms::TransformChain;

/// Most records handed to one `put` unless the consumer's
/// `max.poll.records` (Kafka's name; Kafka Connect's default is 500) says
/// otherwise.
pub(super) const MAX_BATCH: usize = 2000;

pub(super) type TaskConsumer = StreamConsumer<SinkConsumerContext>;

/// One fetched record in owned form, for retrying its conversion and for
/// the dead letter queue.
#[derive(Debug)]
pub(super) struct Retry {
    pub original: OriginalRecord,
    pub timestamp_type: TimestampType,
    pub failure: StageFailure,
}

/// What one fetch produced.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// Records for `put`, in consumed order.
    pub records: Vec<SinkRecord>,
    /// Per partition, the offset after the last record consumed (put,
    /// filtered or errant), in consumed order.
    pub positions: Vec<(TopicPartition, i64)>,
    /// Records that failed for good, to be handled by the error handler.
    pub errant: Vec<(StageFailure, OriginalRecord)>,
    /// A record whose conversion failed with a retriable error; the batch
    /// stops before it so order is kept. Its position is not in `positions`.
    pub retry: Option<Retry>,
    /// Records consumed (put, filtered, errant or retried).
    pub consumed: usize,
    /// The consumed bytes of `records`, kept only with a dead letter queue,
    /// for records the task reports from `put`.
    pub originals: Vec<OriginalRecord>,
}

impl Batch {
    pub(super) fn note_position(&mut self, topic: &str, partition: i32, next: i64) {
        match self.positions.last_mut() {
            Some((tp, off)) if tp.partition == partition && tp.topic == topic => *off = next,
            _ => self
                .positions
                .push((TopicPartition::new(topic, partition), next)),
        }
    }
}

/// The raw parts of a consumed record.
pub(super) struct Raw<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub headers: Vec<Header>,
}

impl Raw<'_> {
    fn original(&self) -> OriginalRecord {
        OriginalRecord {
            topic: self.topic.to_string(),
            partition: Some(self.partition),
            offset: Some(self.offset),
            timestamp: self.timestamp,
            key: self.key.map(<[u8]>::to_vec),
            value: self.value.map(<[u8]>::to_vec),
            headers: self
                .headers
                .iter()
                .map(|h| (h.key.clone(), crate::headers::to_bytes(h)))
                .collect(),
            source: None,
        }
    }

    pub(super) fn from_original(o: &OriginalRecord, timestamp_type: TimestampType) -> Raw<'_> {
        Raw {
            topic: &o.topic,
            partition: o.partition.unwrap_or(0),
            offset: o.offset.unwrap_or(-1),
            key: o.key.as_deref(),
            value: o.value.as_deref(),
            timestamp: o.timestamp,
            timestamp_type,
            headers: o
                .headers
                .iter()
                .map(|(k, v)| crate::headers::from_bytes(k, v.as_deref()))
                .collect(),
        }
    }
}

fn raw<'a>(m: &'a BorrowedMessage<'_>) -> Raw<'a> {
    let (timestamp, timestamp_type) = match m.timestamp() {
        Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
        Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
        Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
    };
    Raw {
        topic: m.topic(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key(),
        value: m.payload(),
        timestamp,
        timestamp_type,
        headers: m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| crate::headers::from_bytes(h.key, h.value))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Why one record did not become a `put` record.
pub(super) enum Failed {
    /// Conversion failed with a retriable error.
    Retriable(StageFailure),
    Errant(StageFailure),
}

/// The consuming side, kept apart from the task so a pending `recv` can
/// be held across an await.
pub(super) struct Input {
    pub feed: Feed,
    pub pipeline: Pipeline,
    /// Most records per `put`.
    pub max_batch: usize,
}

/// Where consumed records come from.
pub(super) enum Feed {
    Kafka(std::sync::Arc<TaskConsumer>),
    /// Benchmarks and executor tests: `end` records of the same value from
    /// partition 0 of `topic`, then nothing.
    Null {
        topic: String,
        value: Vec<u8>,
        next: i64,
        end: i64,
    },
}

/// What turns consumed bytes into `put` records.
pub(super) struct Pipeline {
    pub key_converter: TaskConverter,
    pub value_converter: TaskConverter,
    pub transforms: TransformChain,
    /// `errors.retry.timeout` is not 0: retriable failures are retried.
    pub retries: bool,
    /// Keep the consumed bytes of put records (a DLQ is configured).
    pub keep_originals: bool,
    /// The topic of the last record, shared by the records after it that
    /// come from the same topic (no string per record).
    pub last_topic: Option<Topic>,
}

fn conversion_failure(stage: Stage, class: &'static str, e: &ConvertError) -> StageFailure {
    let exception = if e.is_retriable() {
        RETRIABLE_EXCEPTION
    } else {
        DATA_EXCEPTION
    };
    StageFailure::new(stage, class, exception, e)
}

impl Input {
    /// The Kafka consumer (`None` for the null feed).
    pub(super) fn consumer(&self) -> Option<&std::sync::Arc<TaskConsumer>> {
        match &self.feed {
            Feed::Kafka(c) => Some(c),
            Feed::Null { .. } => None,
        }
    }

    /// Waits for one record, then takes whatever else is ready, up to
    /// `max_batch` records or a record to retry.
    pub(super) async fn next_batch(&mut self) -> Batch {
        let mut batch = Batch {
            records: Vec::with_capacity(64),
            ..Batch::default()
        };
        match &mut self.feed {
            Feed::Kafka(consumer) => {
                let first = consumer.recv().await;
                self.pipeline.push_message(first, &mut batch);
                // Every consumed record counts, put or not, so a run of
                // filtered or errant records cannot grow a batch without
                // bound.
                while batch.consumed < self.max_batch && batch.retry.is_none() {
                    match consumer.recv().now_or_never() {
                        Some(m) => self.pipeline.push_message(m, &mut batch),
                        None => break,
                    }
                }
            }
            Feed::Null {
                topic,
                value,
                next,
                end,
            } => {
                if *next >= *end {
                    std::future::pending::<()>().await;
                }
                while batch.consumed < self.max_batch && batch.retry.is_none() && *next < *end {
                    let offset = *next;
                    let parts = || Raw {
                        topic,
                        partition: 0,
                        offset,
                        key: None,
                        value: Some(value),
                        timestamp: Some(0),
                        timestamp_type: TimestampType::CreateTime,
                        headers: Vec::new(),
                    };
                    self.pipeline.push(parts(), parts, &mut batch);
                    *next += 1;
                }
            }
        }
        batch
    }
}

impl Pipeline {
    fn push_message(
        &mut self,
        m: rdkafka::error::KafkaResult<BorrowedMessage<'_>>,
        batch: &mut Batch,
    ) {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "consumer error");
                return;
            }
        };
        self.push(raw(&m), || raw(&m), batch);
    }

    /// One consumed record: `again` gives its parts a second time (the
    /// first ones lose their headers to the record).
    fn push<'a>(&mut self, mut parts: Raw<'a>, again: impl Fn() -> Raw<'a>, batch: &mut Batch) {
        batch.consumed += 1;
        match self.make_record(&mut parts) {
            Ok(Some(r)) => {
                if self.keep_originals {
                    batch.originals.push(again().original());
                }
                batch.records.push(r);
            }
            Ok(None) => {}
            Err(Failed::Retriable(failure)) if self.retries => {
                batch.retry = Some(Retry {
                    original: again().original(),
                    timestamp_type: parts.timestamp_type,
                    failure,
                });
                return;
            }
            Err(Failed::Retriable(failure) | Failed::Errant(failure)) => {
                batch.errant.push((failure, again().original()));
            }
        }
        batch.note_position(parts.topic, parts.partition, parts.offset + 1);
    }

    /// Converts and transforms one record (moving its headers out of
    /// `raw`); `Ok(None)` when a transform dropped it.
    pub(super) fn make_record(&mut self, raw: &mut Raw<'_>) -> Result<Option<SinkRecord>, Failed> {
        let fail = |stage, class, e: ConvertError| {
            let f = conversion_failure(stage, class, &e);
            if e.is_retriable() {
                Failed::Retriable(f)
            } else {
                Failed::Errant(f)
            }
        };
        let key = self
            .key_converter
            .converter
            .to_connect(raw.topic, raw.key)
            .map_err(|e| fail(Stage::KeyConverter, self.key_converter.class_name, e))?;
        let value = self
            .value_converter
            .converter
            .to_connect(raw.topic, raw.value)
            .map_err(|e| fail(Stage::ValueConverter, self.value_converter.class_name, e))?;
        let topic = match &self.last_topic {
            Some(t) if **t == *raw.topic => t.clone(),
            _ => {
                let t: Topic = raw.topic.into();
                self.last_topic = Some(t.clone());
                t
            }
        };
        let mut record = SinkRecord {
            topic,
            kafka_partition: raw.partition,
            kafka_offset: raw.offset,
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp: raw.timestamp,
            timestamp_type: raw.timestamp_type,
            headers: std::mem::take(&mut raw.headers),
        };
        match self.transforms.apply(&mut record) {
            Ok(true) => Ok(Some(record)),
            Ok(false) => Ok(None),
            Err(f) => Err(Failed::Errant(StageFailure::new(
                Stage::Transformation,
                f.class_name,
                DATA_EXCEPTION,
                &f.error,
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_collapse_runs_of_one_partition() {
        let mut b = Batch::default();
        b.note_position("a", 0, 1);
        b.note_position("a", 0, 2);
        b.note_position("a", 1, 7);
        b.note_position("a", 0, 3);
        assert_eq!(
            b.positions,
            vec![
                (TopicPartition::new("a", 0), 2),
                (TopicPartition::new("a", 1), 7),
                (TopicPartition::new("a", 0), 3),
            ]
        );
    }
}
