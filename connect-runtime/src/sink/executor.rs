use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Timestamp};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sluice_connect_api::schema::converter::Converter;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, SinkRecord, SinkTask, SinkTaskContext, SinkTaskRequests,
    TimestampType, TopicPartition,
};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::watch;

use super::consumer::{RebalanceEvent, SinkConsumerContext};
use crate::kafka::{CONSUMER_DEFAULTS, LogContext, TopicAdmin, client_config};
use crate::status::{State, StatusStore};

/// Most records handed to one `put`.
const MAX_BATCH: usize = 2000;

/// Everything a sink task needs to run.
pub struct SinkTaskParams {
    pub connector: String,
    pub task_id: u32,
    pub config: Config,
    pub task: Box<dyn SinkTask>,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub bootstrap: String,
    /// Worker `consumer.*` then connector `consumer.override.*` settings.
    pub consumer_props: Vec<BTreeMap<String, String>>,
    pub topics: Vec<String>,
    pub topics_regex: Option<String>,
    pub admin: Arc<TopicAdmin>,
    pub status: Arc<StatusStore>,
    pub flush_interval: Duration,
    pub stop: watch::Receiver<bool>,
    /// `true` while the connector is PAUSED: no polling, commits go on.
    pub paused: watch::Receiver<bool>,
}

impl std::fmt::Debug for SinkTaskParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkTaskParams")
            .field("connector", &self.connector)
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

type TaskConsumer = StreamConsumer<SinkConsumerContext>;

/// Runs one sink task until it is stopped (`None`) or fails (`Some`
/// with the trace, already shown as FAILED in the status store).
pub async fn run_sink_task(p: SinkTaskParams) -> Option<String> {
    let (name, id, status) = (p.connector.clone(), p.task_id, p.status.clone());
    let span = tracing::info_span!("task", connector = %name, task = id);
    match tracing::Instrument::instrument(run(p), span).await {
        Ok(()) => {
            tracing::info!(connector = %name, task = id, "sink task stopped");
            None
        }
        Err(e) => {
            tracing::error!(connector = %name, task = id, error = %e.trace(), "sink task failed");
            status.set_task(&name, id, State::Failed, Some(e.trace()));
            Some(e.trace())
        }
    }
}

/// The consuming side, kept apart from the task so a pending `recv` can
/// be held across an await without the task having to be `Sync`.
struct Input {
    consumer: TaskConsumer,
    key_converter: Box<dyn Converter>,
    value_converter: Box<dyn Converter>,
}

struct Loop {
    task: Box<dyn SinkTask>,
    input: Input,
    ctx: SinkTaskContext,
    events: UnboundedReceiver<RebalanceEvent>,
    assigned: BTreeSet<TopicPartition>,
    /// Per partition, the offset after the last record handed to `put`.
    current: BTreeMap<TopicPartition, i64>,
    last_committed: BTreeMap<TopicPartition, i64>,
    /// The connector is PAUSED: partitions are paused and nothing is put.
    paused: bool,
    connector: String,
    status: Arc<StatusStore>,
    /// Partitions the task paused through its context.
    task_paused: BTreeSet<TopicPartition>,
}

async fn run(p: SinkTaskParams) -> ConnectResult<()> {
    let SinkTaskParams {
        connector,
        task_id,
        config,
        task,
        key_converter,
        value_converter,
        bootstrap,
        consumer_props,
        topics,
        topics_regex,
        admin,
        status,
        flush_interval,
        mut stop,
        mut paused,
    } = p;
    let (tx, events) = unbounded_channel();
    let layers: Vec<&BTreeMap<String, String>> = consumer_props.iter().collect();
    let mut cfg = client_config(&bootstrap, &layers, CONSUMER_DEFAULTS);
    cfg.set("group.id", format!("connect-{connector}"));
    cfg.set(
        "client.id",
        format!("connector-consumer-{connector}-{task_id}"),
    );
    let consumer: TaskConsumer = cfg
        .create_with_context(SinkConsumerContext {
            events: tx,
            log: LogContext,
        })
        .map_err(|e| {
            ConnectError::fatal_from(
                "cannot create the Kafka consumer (check consumer.* settings)",
                e,
            )
        })?;
    let subscription: Vec<String> = match &topics_regex {
        // Kafka matches topics.regex against the whole topic name.
        Some(r) => vec![format!("^(?:{r})$")],
        None => {
            for t in &topics {
                // The broker may not auto-create; a sink started before its
                // source would otherwise wait for metadata refreshes.
                admin.ensure_retrying(t, 1, -1).await?;
            }
            topics.clone()
        }
    };
    let refs: Vec<&str> = subscription.iter().map(String::as_str).collect();
    consumer.subscribe(&refs).map_err(|e| {
        ConnectError::fatal_from(format!("cannot subscribe to {}", refs.join(",")), e)
    })?;

    let mut l = Loop {
        task,
        input: Input {
            consumer,
            key_converter,
            value_converter,
        },
        ctx: SinkTaskContext::new(),
        events,
        assigned: BTreeSet::new(),
        current: BTreeMap::new(),
        last_committed: BTreeMap::new(),
        paused: *paused.borrow(),
        connector: connector.clone(),
        status: status.clone(),
        task_paused: BTreeSet::new(),
    };
    l.task.start(config, l.ctx.clone()).await?;
    let task_state = |p: bool| if p { State::Paused } else { State::Running };
    status.set_task(&connector, task_id, task_state(*paused.borrow()), None);
    tracing::info!(topics = %refs.join(","), "sink task started");

    let mut tick = tokio::time::interval(flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let outcome: ConnectResult<()> = loop {
        if *stop.borrow() {
            break Ok(());
        }
        if let Err(e) = l.handle_rebalances().await {
            break Err(e);
        }
        tokio::select! {
            biased;
            _ = stop.changed() => break Ok(()),
            changed = paused.changed() => {
                if changed.is_err() {
                    break Ok(()); // the worker let go of this task
                }
                let p = *paused.borrow_and_update();
                l.paused = p;
                if let Err(e) = l.set_partitions_paused(p) {
                    break Err(e);
                }
                status.set_task(&connector, task_id, task_state(p), None);
                tracing::info!(paused = p, "task target state changed");
            }
            _ = tick.tick() => {
                if let Err(e) = l.commit(CommitMode::Async).await {
                    if !e.is_retriable() { break Err(e); }
                    tracing::warn!(error = %e.trace(), "offset commit failed; will retry at the next interval");
                }
            }
            batch = l.input.next_batch(), if !l.paused => {
                let step = match batch {
                    Ok(records) => l.put(records, &mut stop).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = step.and(l.apply_requests().await) {
                    break Err(e);
                }
            }
        }
    };
    // Stopping or failed: commit what the task made durable, close, stop.
    if let Err(e) = l.commit(CommitMode::Sync).await {
        tracing::warn!(error = %e.trace(), "final offset commit failed");
    }
    let all: Vec<TopicPartition> = l.assigned.iter().cloned().collect();
    if let Err(e) = l.task.close(&all).await {
        tracing::warn!(error = %e.trace(), "error closing partitions");
    }
    if let Err(e) = l.task.stop().await {
        tracing::warn!(error = %e.trace(), "error stopping sink task");
    }
    l.input.consumer.unsubscribe();
    outcome
}

impl Input {
    /// Waits for one record, then takes whatever else is ready, up to
    /// [`MAX_BATCH`].
    async fn next_batch(&self) -> ConnectResult<Vec<SinkRecord>> {
        let first = self.consumer.recv().await;
        let mut out = Vec::with_capacity(64);
        self.push(first, &mut out)?;
        while out.len() < MAX_BATCH {
            match self.consumer.recv().now_or_never() {
                Some(m) => self.push(m, &mut out)?,
                None => break,
            }
        }
        Ok(out)
    }

    fn push(
        &self,
        m: rdkafka::error::KafkaResult<BorrowedMessage<'_>>,
        out: &mut Vec<SinkRecord>,
    ) -> ConnectResult<()> {
        match m {
            Ok(m) => {
                out.push(self.convert(&m)?);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "consumer error");
                Ok(())
            }
        }
    }

    fn convert(&self, m: &BorrowedMessage<'_>) -> ConnectResult<SinkRecord> {
        let topic = m.topic();
        let at = || {
            format!(
                "topic {topic} partition {} offset {}",
                m.partition(),
                m.offset()
            )
        };
        let key = self.key_converter.to_connect(topic, m.key()).map_err(|e| {
            ConnectError::fatal_from(
                format!("cannot convert the key of the record at {}", at()),
                e,
            )
        })?;
        let value = self
            .value_converter
            .to_connect(topic, m.payload())
            .map_err(|e| {
                ConnectError::fatal_from(
                    format!("cannot convert the value of the record at {}", at()),
                    e,
                )
            })?;
        let (timestamp, timestamp_type) = match m.timestamp() {
            Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
        };
        let headers = m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| crate::headers::from_bytes(h.key, h.value))
                    .collect()
            })
            .unwrap_or_default();
        Ok(SinkRecord {
            topic: topic.to_string(),
            kafka_partition: m.partition(),
            kafka_offset: m.offset(),
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp,
            timestamp_type,
            headers,
        })
    }
}

impl Loop {
    async fn handle_rebalances(&mut self) -> ConnectResult<()> {
        while let Ok(ev) = self.events.try_recv() {
            match ev {
                RebalanceEvent::Assigned(ps) => {
                    let new: Vec<TopicPartition> = ps.difference(&self.assigned).cloned().collect();
                    for p in &ps {
                        self.status.add_topic(&self.connector, &p.topic);
                    }
                    self.assigned.extend(ps);
                    self.ctx.set_assignment(self.assigned.clone());
                    if self.paused {
                        self.set_partitions_paused(true)?;
                    }
                    tracing::info!(partitions = ?new, "partitions assigned");
                    self.task.open(&new).await?;
                }
                RebalanceEvent::Revoked(ps) => {
                    let gone: Vec<TopicPartition> =
                        ps.intersection(&self.assigned).cloned().collect();
                    for p in &gone {
                        self.assigned.remove(p);
                        // Records put but not yet committed for these
                        // partitions will be consumed again by their new
                        // owner: duplicates are possible, loss is not.
                        self.current.remove(p);
                        self.last_committed.remove(p);
                    }
                    self.ctx.set_assignment(self.assigned.clone());
                    tracing::info!(partitions = ?gone, "partitions revoked");
                    self.task.close(&gone).await?;
                }
            }
        }
        Ok(())
    }

    /// Hands a batch to the task, retrying retriable errors with backoff
    /// until it succeeds or the task is stopped.
    async fn put(
        &mut self,
        records: Vec<SinkRecord>,
        stop: &mut watch::Receiver<bool>,
    ) -> ConnectResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.task.put(&records).await {
                Ok(()) => break,
                Err(e) if e.is_retriable() => {
                    tracing::warn!(error = %e.trace(), backoff_ms = backoff.as_millis() as u64, "retriable error from put; retrying the same batch");
                    tokio::select! {
                        _ = stop.changed() => return Ok(()),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
                Err(e) => return Err(e),
            }
        }
        for r in &records {
            self.current.insert(
                TopicPartition::new(r.topic.clone(), r.kafka_partition),
                r.kafka_offset + 1,
            );
        }
        Ok(())
    }

    /// Pauses or resumes fetching for every assigned partition.
    fn set_partitions_paused(&self, paused: bool) -> ConnectResult<()> {
        let mut tpl = TopicPartitionList::new();
        // Partitions the task paused itself stay paused on resume.
        for p in self
            .assigned
            .iter()
            .filter(|p| paused || !self.task_paused.contains(*p))
        {
            tpl.add_partition(&p.topic, p.partition);
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let res = if paused {
            self.input.consumer.pause(&tpl)
        } else {
            self.input.consumer.resume(&tpl)
        };
        res.map_err(|e| ConnectError::retriable_from("cannot pause or resume partitions", e))
    }

    async fn apply_requests(&mut self) -> ConnectResult<()> {
        let SinkTaskRequests {
            pause,
            resume,
            offsets,
            commit,
        } = self.ctx.take_requests();
        let tpl = |ps: &BTreeSet<TopicPartition>| {
            let mut l = TopicPartitionList::new();
            for p in ps {
                l.add_partition(&p.topic, p.partition);
            }
            l
        };
        self.task_paused.extend(pause.iter().cloned());
        for p in &resume {
            self.task_paused.remove(p);
        }
        if !pause.is_empty() {
            self.input
                .consumer
                .pause(&tpl(&pause))
                .map_err(|e| ConnectError::retriable_from("cannot pause partitions", e))?;
        }
        if !resume.is_empty() {
            self.input
                .consumer
                .resume(&tpl(&resume))
                .map_err(|e| ConnectError::retriable_from("cannot resume partitions", e))?;
        }
        for (tp, off) in offsets {
            self.input
                .consumer
                .seek(
                    &tp.topic,
                    tp.partition,
                    Offset::Offset(off),
                    Duration::from_secs(5),
                )
                .map_err(|e| {
                    ConnectError::retriable_from(format!("cannot seek {tp} to {off}"), e)
                })?;
            self.current.insert(tp, off);
        }
        if commit {
            self.commit(CommitMode::Async).await?;
        }
        Ok(())
    }

    /// Asks the task what is durable (`pre_commit`, which flushes by
    /// default) and commits exactly that for the partitions still owned.
    async fn commit(&mut self, mode: CommitMode) -> ConnectResult<()> {
        if self.current.is_empty() || self.current == self.last_committed {
            return Ok(());
        }
        let committable = self.task.pre_commit(self.current.clone()).await?;
        let mut tpl = TopicPartitionList::new();
        let mut committed = BTreeMap::new();
        for (tp, off) in committable {
            if !self.assigned.contains(&tp) || self.last_committed.get(&tp) == Some(&off) {
                continue;
            }
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(off))
                .map_err(|e| ConnectError::fatal_from("bad offset from pre_commit", e))?;
            committed.insert(tp, off);
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let res = match mode {
            CommitMode::Sync => {
                tokio::task::block_in_place(|| self.input.consumer.commit(&tpl, CommitMode::Sync))
            }
            CommitMode::Async => self.input.consumer.commit(&tpl, CommitMode::Async),
        };
        res.map_err(|e| ConnectError::retriable_from("cannot commit consumer offsets", e))?;
        tracing::debug!(partitions = committed.len(), "committed sink offsets");
        self.last_committed.extend(committed);
        Ok(())
    }
}
