use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, ThreadedProducer};
use sluice_connect_api::schema::converter::ConvertError;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, SourceRecord, SourceTask, SourceTaskContext,
};
use tokio::sync::watch;

use super::acks::{AckContext, AckTracker};
use super::offsets::PartitionOffsets;
use crate::converters::TaskConverter;
use crate::errors::context::{DATA_EXCEPTION, RETRIABLE_EXCEPTION};
use crate::errors::{ErrorConfig, ErrorHandler, OriginalRecord, Stage, StageFailure};
use crate::kafka::{LogContext, PRODUCER_DEFAULTS, TopicAdmin, client_config};
use crate::offsets::{ConnectorOffsetReader, OffsetStore};
use crate::status::{State, StatusStore};
use crate::transforms::TransformChain;

/// Everything a source task needs to run.
pub struct SourceTaskParams {
    pub connector: String,
    pub task_id: u32,
    pub config: Config,
    pub task: Box<dyn SourceTask>,
    pub key_converter: TaskConverter,
    pub value_converter: TaskConverter,
    pub transforms: TransformChain,
    pub errors: ErrorConfig,
    /// Gives records a correlation id header (`None`: off).
    pub correlation: Option<crate::correlation::Correlation>,
    pub bootstrap: String,
    /// Worker `producer.*` then connector `producer.override.*` settings.
    pub producer_props: Vec<BTreeMap<String, String>>,
    pub offsets: Arc<dyn OffsetStore>,
    pub admin: Arc<TopicAdmin>,
    pub status: Arc<StatusStore>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub flush_interval: Duration,
    pub flush_timeout: Duration,
    pub stop: watch::Receiver<bool>,
    /// `true` while the connector is PAUSED: no polling, commits go on.
    pub paused: watch::Receiver<bool>,
}

impl std::fmt::Debug for SourceTaskParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceTaskParams")
            .field("connector", &self.connector)
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

type TaskProducer = ThreadedProducer<AckContext>;

struct Sender {
    connector: String,
    producer: TaskProducer,
    tracker: Arc<AckTracker>,
    key_converter: TaskConverter,
    value_converter: TaskConverter,
    transforms: TransformChain,
    handler: ErrorHandler,
    correlation: Option<crate::correlation::Correlation>,
    /// Clone polled records before transforming them, so a failed one can
    /// go to the dead letter queue as it was polled.
    keep_originals: bool,
    admin: Arc<TopicAdmin>,
    offsets: Arc<dyn OffsetStore>,
    status: Arc<StatusStore>,
    topic_partitions: i32,
    topic_replication: i32,
    flush_timeout: Duration,
    /// Acknowledged offsets not yet stored (kept across a failed commit).
    pending: PartitionOffsets,
    stop: watch::Receiver<bool>,
}

/// Runs one source task until it is stopped (`None`) or fails (`Some`
/// with the trace, already shown as FAILED in the status store).
pub async fn run_source_task(p: SourceTaskParams) -> Option<String> {
    let (name, id, status) = (p.connector.clone(), p.task_id, p.status.clone());
    let span = tracing::info_span!("task", connector = %name, task = id);
    match tracing::Instrument::instrument(run(p), span).await {
        Ok(()) => {
            tracing::info!(connector = %name, task = id, "source task stopped");
            None
        }
        Err(e) => {
            tracing::error!(connector = %name, task = id, error = %e.trace(), "source task failed");
            status.set_task(&name, id, State::Failed, Some(e.trace()));
            Some(e.trace())
        }
    }
}

async fn run(p: SourceTaskParams) -> ConnectResult<()> {
    let SourceTaskParams {
        connector,
        task_id,
        config,
        mut task,
        key_converter,
        value_converter,
        transforms,
        errors,
        correlation,
        bootstrap,
        producer_props,
        offsets,
        admin,
        status,
        metrics,
        flush_interval,
        flush_timeout,
        mut stop,
        mut paused,
    } = p;
    let mut tm = metrics.source_task(&connector, task_id);
    let tracker = Arc::new(AckTracker::default());
    let layers: Vec<&BTreeMap<String, String>> = producer_props.iter().collect();
    let mut cfg = client_config(&bootstrap, &layers, PRODUCER_DEFAULTS);
    cfg.set(
        "client.id",
        format!("connector-producer-{connector}-{task_id}"),
    );
    let producer: TaskProducer = cfg
        .create_with_context(AckContext {
            tracker: tracker.clone(),
            log: LogContext,
            stats: Some(metrics.client(&connector, task_id, "producer")),
        })
        .map_err(|e| {
            ConnectError::fatal_from(
                "cannot create the Kafka producer (check producer.* settings)",
                e,
            )
        })?;
    let parse_i32 = |k: &str, d: i32| {
        config
            .get(k)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(d)
    };
    if let Some(dlq) = &errors.dlq_topic {
        admin
            .ensure_retrying(dlq, 1, errors.dlq_replication)
            .await
            .map_err(|e| {
                ConnectError::fatal_from(
                    format!("cannot create the dead letter queue topic {dlq}"),
                    e,
                )
            })?;
    }
    let mut sender = Sender {
        connector: connector.clone(),
        producer,
        tracker,
        key_converter,
        value_converter,
        keep_originals: errors.tolerate_all && errors.dlq_topic.is_some() && !transforms.is_empty(),
        transforms,
        handler: ErrorHandler::new(
            errors,
            connector.clone(),
            task_id,
            metrics.errors(&connector, task_id),
        )
        .with_correlation_header(correlation.as_ref().map(|c| c.header().to_string())),
        correlation,
        admin,
        offsets: offsets.clone(),
        status: status.clone(),
        topic_partitions: parse_i32("topic.creation.default.partitions", 1),
        topic_replication: parse_i32("topic.creation.default.replication.factor", -1),
        flush_timeout,
        pending: PartitionOffsets::default(),
        stop: stop.clone(),
    };
    let ctx = SourceTaskContext::new(Arc::new(ConnectorOffsetReader::new(
        offsets,
        connector.clone(),
    )));
    if let Err(e) = task.start(config, ctx).await {
        metrics.task_started(false);
        return Err(e);
    }
    metrics.task_started(true);
    let task_state = |p: bool| if p { State::Paused } else { State::Running };
    status.set_task(&connector, task_id, task_state(*paused.borrow()), None);
    tracing::info!("source task started");

    let mut tick = tokio::time::interval(flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut backoff = Duration::from_millis(100);
    let outcome: ConnectResult<()> = loop {
        if *stop.borrow() {
            break Ok(());
        }
        if let Some(f) = sender.tracker.failure() {
            break Err(ConnectError::fatal(f));
        }
        let is_paused = *paused.borrow();
        let poll_started = std::time::Instant::now();
        tokio::select! {
            biased;
            _ = stop.changed() => break Ok(()),
            changed = paused.changed() => {
                if changed.is_err() {
                    break Ok(()); // the worker let go of this task
                }
                let p = *paused.borrow_and_update();
                                status.set_task(&connector, task_id, task_state(p), None);
                tracing::info!(paused = p, "task target state changed");
            }
            _ = tick.tick() => {
                let started = std::time::Instant::now();
                let committed = sender.commit(&mut *task).await;
                tm.committed(started.elapsed(), committed.is_ok());
                tm.acknowledged(sender.tracker.acked(), sender.tracker.in_flight());
                if let Err(e) = committed {
                    tracing::warn!(error = %e.trace(), "offset commit failed; will retry at the next interval");
                }
            }
            polled = task.poll(), if !is_paused => match polled {
                Ok(records) => {
                    backoff = Duration::from_millis(100);
                    // Kafka Connect's poll-batch time: how long poll took.
                    let (n, took) = (records.len(), poll_started.elapsed());
                    let sent = sender.send(records).await;
                    if n > 0 {
                        tm.polled(n, took);
                    }
                    tm.acknowledged(sender.tracker.acked(), sender.tracker.in_flight());
                    if let Err(e) = sent {
                        break Err(e);
                    }
                }
                Err(e) if e.is_retriable() => {
                    tracing::warn!(error = %e.trace(), backoff_ms = backoff.as_millis() as u64, "retriable error from poll");
                    tokio::select! {
                        _ = stop.changed() => break Ok(()),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Err(e) => break Err(e),
            }
        }
    };
    // Stopping or failed: wait for what is in flight, commit what Kafka
    // acknowledged, then let the task release its resources.
    sender.drain().await;
    if let Err(e) = sender.commit(&mut *task).await {
        tracing::warn!(error = %e.trace(), "final offset commit failed");
    }
    if let Err(e) = task.stop().await {
        tracing::warn!(error = %e.trace(), "error stopping source task");
    }
    outcome
}

/// Bytes of a converted record.
struct Converted {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Sender {
    /// Transforms, converts and produces a polled batch. A record that
    /// fails is handled as `errors.*` say: the task fails (records before it
    /// stay committable), or the record is logged and/or dead-lettered (in
    /// this batch, so its offset waits for the DLQ acknowledgement).
    async fn send(&mut self, records: Vec<SourceRecord>) -> ConnectResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let id = self.tracker.open();
        let mut offsets = PartitionOffsets::default();
        let mut sent = 0usize;
        let mut result = Ok(());
        // Topic checks once per run of records to the same topic, not per record.
        let mut checked_topic: Option<String> = None;
        for (i, mut record) in records.into_iter().enumerate() {
            if let Some(c) = &mut self.correlation {
                c.ensure(&mut record.headers);
            }
            let original = self.keep_originals.then(|| record.clone());
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
            let step = match step {
                Ok(true) => {
                    let topic_ok = match checked_topic.as_deref() {
                        Some(t) if t == record.topic => Ok(()),
                        _ => self.ensure_topic(&record.topic).await.map(|()| {
                            checked_topic = Some(record.topic.clone());
                        }),
                    };
                    match topic_ok {
                        Err(e) => Err(e),
                        Ok(()) => match self.convert(&record).await {
                            Ok(c) => self.produce_record(id, &record, &c, i).await.map(|()| 1),
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
            match step {
                Ok(n) => {
                    sent += n;
                    offsets.record(record.source_partition, record.source_offset);
                }
                Err(_) if *self.stop.borrow() => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.tracker.seal(id, sent, offsets);
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
                let opaque = (id | super::acks::DLQ_OPAQUE) as usize;
                self.produce(crate::errors::dlq::base_record(&dlq, opaque), what)
                    .await?;
                Ok(1)
            }
        }
    }

    /// Key, value and headers as bytes, retrying a retriable converter
    /// failure (registry away) within `errors.retry.timeout`.
    async fn convert(&self, r: &SourceRecord) -> Result<Converted, StageFailure> {
        let key = self
            .convert_one(&self.key_converter, Stage::KeyConverter, r, true)
            .await?;
        let value = self
            .convert_one(&self.value_converter, Stage::ValueConverter, r, false)
            .await?;
        let headers = r
            .headers
            .iter()
            .map(|h| (h.key.clone(), crate::headers::to_bytes(h)))
            .collect();
        Ok(Converted {
            key,
            value,
            headers,
        })
    }

    async fn convert_one(
        &self,
        conv: &TaskConverter,
        stage: Stage,
        r: &SourceRecord,
        is_key: bool,
    ) -> Result<Option<Vec<u8>>, StageFailure> {
        let (schema, value) = if is_key {
            (r.key_schema.as_ref(), &r.key)
        } else {
            (r.value_schema.as_ref(), &r.value)
        };
        let first = conv.converter.from_connect(&r.topic, schema, value);
        let result = match first {
            Err(e) if e.is_retriable() => {
                let mut stop = self.stop.clone();
                self.handler
                    .retry(
                        || async { conv.converter.from_connect(&r.topic, schema, value) },
                        ConvertError::is_retriable,
                        &mut stop,
                    )
                    .await
            }
            other => other,
        };
        result.map_err(|e| {
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
        id: u64,
        r: &SourceRecord,
        c: &Converted,
        index: usize,
    ) -> ConnectResult<()> {
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(&r.topic, id as usize);
        if let Some(k) = c.key.as_deref() {
            record = record.key(k);
        }
        if let Some(v) = c.value.as_deref() {
            record = record.payload(v);
        }
        if let Some(p) = r.kafka_partition {
            record = record.partition(p);
        }
        if let Some(ts) = r.timestamp {
            record = record.timestamp(ts);
        }
        if !c.headers.is_empty() {
            let mut hs = OwnedHeaders::new_with_capacity(c.headers.len());
            for (k, v) in &c.headers {
                hs = hs.insert(KafkaHeader {
                    key: k,
                    value: v.as_deref(),
                });
            }
            record = record.headers(hs);
        }
        let describe = || {
            format!(
                "record {index} of the batch for topic {} (source partition {}, offset {})",
                r.topic,
                serde_json::Value::Object(r.source_partition.clone()),
                serde_json::Value::Object(r.source_offset.clone())
            )
        };
        self.produce(record, describe).await
    }

    /// Hands a record to the producer, waiting while its queue is full.
    async fn produce(
        &self,
        mut record: BaseRecord<'_, [u8], [u8], usize>,
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
        self.admin
            .ensure_retrying(topic, self.topic_partitions, self.topic_replication)
            .await?;
        self.status.add_topic(&self.connector, topic);
        Ok(())
    }

    /// Waits up to the flush timeout for in-flight records.
    async fn drain(&self) {
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

    /// Stores the offsets of acknowledged records (one batch, one sync).
    async fn commit(&mut self, task: &mut dyn SourceTask) -> ConnectResult<()> {
        self.pending.merge(self.tracker.take_committable());
        if self.pending.is_empty() {
            return Ok(());
        }
        let entries = self.pending.clone().into_store_entries();
        let n = entries.len();
        self.offsets
            .put_all(&self.connector, &entries)
            .map_err(|e| ConnectError::retriable_from("cannot store source offsets", e))?;
        self.pending = PartitionOffsets::default();
        tracing::debug!(partitions = n, "committed source offsets");
        task.commit().await
    }
}
