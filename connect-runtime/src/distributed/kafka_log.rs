//! A Kafka topic read as a log: one thread consumes every partition from
//! given positions and hands each record to a callback; writes go through
//! an idempotent-ordered producer and return once acknowledged. Kafka
//! Connect's `KafkaBasedLog`, which backs the config, offsets and status
//! topics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;

use crate::kafka::{LogContext, client_config};

/// One record of the log.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// The log failed: Kafka unreachable, a write not acknowledged in time.
#[derive(Debug, thiserror::Error)]
#[error("{topic}: {message}")]
pub struct LogError {
    pub topic: String,
    pub message: String,
}

/// Called on the reader thread for every record, in offset order per
/// partition, before the position moves past it.
pub type Apply = Box<dyn FnMut(LogRecord) + Send>;

/// A topic read from the start (or given positions) to its end, and kept
/// read.
pub struct KafkaLog {
    topic: String,
    partitions: i32,
    producer: FutureProducer<LogContext>,
    consumer: Arc<BaseConsumer<LogContext>>,
    /// Next offset to read, per partition, after the callback applied it.
    positions: watch::Receiver<BTreeMap<i32, i64>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl KafkaLog {
    /// Starts reading `topic` (`partitions` partitions) at `start` (missing
    /// partitions from the beginning); `apply` sees every record.
    pub fn start(
        bootstrap: &str,
        props: &[&BTreeMap<String, String>],
        topic: &str,
        partitions: i32,
        start: &BTreeMap<i32, i64>,
        mut apply: Apply,
    ) -> Result<Self, LogError> {
        let err = |message: String| LogError {
            topic: topic.to_string(),
            message,
        };
        let producer: FutureProducer<LogContext> = client_config(
            bootstrap,
            props,
            &[
                ("acks", "all"),
                ("max.in.flight.requests.per.connection", "1"),
                ("linger.ms", "0"),
                ("message.timeout.ms", "30000"),
                // Java's partitioner: records land where Kafka Connect
                // would put them.
                ("partitioner", "murmur2_random"),
            ],
        )
        .create_with_context(LogContext)
        .map_err(|e| err(format!("cannot create a producer: {e}")))?;
        let consumer: BaseConsumer<LogContext> = client_config(
            bootstrap,
            props,
            &[
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "false"),
                ("auto.offset.reset", "earliest"),
                ("fetch.wait.max.ms", "50"),
                ("group.id", "sluice-internal-log"),
            ],
        )
        .create_with_context(LogContext)
        .map_err(|e| err(format!("cannot create a consumer: {e}")))?;
        let mut tpl = TopicPartitionList::new();
        let mut positions = BTreeMap::new();
        for p in 0..partitions {
            let from = start.get(&p).copied().unwrap_or(0);
            positions.insert(p, from);
            tpl.add_partition_offset(topic, p, Offset::Offset(from))
                .map_err(|e| err(format!("partition {p}: {e}")))?;
        }
        consumer
            .assign(&tpl)
            .map_err(|e| err(format!("cannot assign its partitions: {e}")))?;
        let consumer = Arc::new(consumer);
        let (tx, rx) = watch::channel(positions);
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (consumer, stop, topic) = (consumer.clone(), stop.clone(), topic.to_string());
            std::thread::Builder::new()
                .name(format!("log-{topic}"))
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        match consumer.poll(Duration::from_millis(100)) {
                            None => {}
                            Some(Ok(m)) => {
                                let rec = LogRecord {
                                    partition: m.partition(),
                                    offset: m.offset(),
                                    key: m.key().map(<[u8]>::to_vec),
                                    value: m.payload().map(<[u8]>::to_vec),
                                };
                                let (p, next) = (rec.partition, rec.offset + 1);
                                apply(rec);
                                tx.send_modify(|pos| {
                                    pos.insert(p, next);
                                });
                            }
                            Some(Err(e)) => {
                                tracing::warn!(topic = %topic, error = %e, "cannot read the internal topic; retrying");
                                std::thread::sleep(Duration::from_millis(200));
                            }
                        }
                    }
                })
                .map_err(|e| err(format!("cannot start its reader thread: {e}")))?;
        }
        Ok(Self {
            topic: topic.to_string(),
            partitions,
            producer,
            consumer,
            positions: rx,
            stop,
        })
    }

    fn err(&self, message: impl Into<String>) -> LogError {
        LogError {
            topic: self.topic.clone(),
            message: message.into(),
        }
    }

    /// Writes one record (a `None` value is a tombstone); returns its
    /// partition and offset once Kafka acknowledged it.
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<(i32, i64), LogError> {
        let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = value {
            rec = rec.payload(v);
        }
        match self.producer.send(rec, Duration::from_secs(30)).await {
            Ok(d) => Ok((d.partition, d.offset)),
            Err((e, _)) => Err(self.err(format!("write not acknowledged: {e}"))),
        }
    }

    /// The end offset of every partition, now.
    pub async fn end_offsets(&self) -> Result<BTreeMap<i32, i64>, LogError> {
        let (consumer, topic, n) = (self.consumer.clone(), self.topic.clone(), self.partitions);
        tokio::task::spawn_blocking(move || {
            let mut ends = BTreeMap::new();
            for p in 0..n {
                let (_, high) = consumer
                    .fetch_watermarks(&topic, p, Duration::from_secs(10))
                    .map_err(|e| format!("cannot read the end offset of partition {p}: {e}"))?;
                ends.insert(p, high);
            }
            Ok::<_, String>(ends)
        })
        .await
        .map_err(|e| self.err(e.to_string()))?
        .map_err(|e| self.err(e))
    }

    /// Waits until every record written before the call has been applied.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<(), LogError> {
        let ends = self.end_offsets().await?;
        self.wait_for(&ends, timeout).await
    }

    /// Waits until the positions reached `ends`.
    pub async fn wait_for(
        &self,
        ends: &BTreeMap<i32, i64>,
        timeout: Duration,
    ) -> Result<(), LogError> {
        let mut rx = self.positions.clone();
        let reached = |pos: &BTreeMap<i32, i64>| {
            ends.iter()
                .all(|(p, end)| pos.get(p).copied().unwrap_or(0) >= *end)
        };
        tokio::time::timeout(timeout, rx.wait_for(reached))
            .await
            .map_err(|_| {
                self.err(format!(
                    "not read to its end within {} ms",
                    timeout.as_millis()
                ))
            })?
            .map_err(|_| self.err("the reader stopped"))?;
        Ok(())
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}
