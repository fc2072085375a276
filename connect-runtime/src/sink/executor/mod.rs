use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, ErrantRecordReporter, SinkRecord, SinkTask,
    SinkTaskContext, SinkTaskRequests, TopicPartition,
};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::watch;

mod commit;
mod errant;

use crate::converters::TaskConverter;
use crate::errors::{DlqWriter, ErrorConfig, ErrorHandler};
use crate::kafka::{CONSUMER_DEFAULTS, LogContext, TopicAdmin, client_config};
use crate::sink::consumer::{RebalanceEvent, SinkConsumerContext};
use crate::sink::input::{
    Batch, Failed, Feed, Input, MAX_BATCH, Pipeline, Raw, Retry, TaskConsumer,
};
use crate::status::{State, StatusStore};
use crate::transforms::TransformChain;

/// Everything a sink task needs to run.
pub struct SinkTaskParams {
    pub connector: String,
    pub task_id: u32,
    pub config: Config,
    /// The connector's class, named in `TASK_PUT` error reports.
    pub connector_class: &'static str,
    pub task: Box<dyn SinkTask>,
    pub key_converter: TaskConverter,
    pub value_converter: TaskConverter,
    pub transforms: TransformChain,
    pub errors: ErrorConfig,
    /// The correlation id header, named in error logs.
    pub correlation_header: Option<String>,
    /// Where records come from.
    pub input: SinkInput,
    pub status: Arc<StatusStore>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub flush_interval: Duration,
    /// How long a commit waits for dead letter queue acknowledgements.
    pub flush_timeout: Duration,
    pub stop: watch::Receiver<bool>,
    /// `true` while the connector is PAUSED: no polling, commits go on.
    pub paused: watch::Receiver<bool>,
}

/// Where a sink task's records come from.
#[derive(Debug)]
pub enum SinkInput {
    /// A worker's tasks: a consumer in the connector's group.
    Kafka {
        bootstrap: String,
        /// Worker `consumer.*` then connector `consumer.override.*` settings.
        consumer_props: Vec<BTreeMap<String, String>>,
        /// Worker `producer.*` then connector `producer.override.*`
        /// settings, for the dead letter queue producer.
        producer_props: Vec<BTreeMap<String, String>>,
        topics: Vec<String>,
        topics_regex: Option<String>,
        admin: Arc<TopicAdmin>,
    },
    /// Benchmarks and executor tests: no Kafka client at all. `records`
    /// records whose value is `value` (no key, no headers), from partition
    /// 0 of `topic`, assigned at start; commits only remember offsets. No
    /// dead letter queue.
    Null {
        topic: String,
        records: u64,
        value: Vec<u8>,
    },
}

impl std::fmt::Debug for SinkTaskParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkTaskParams")
            .field("connector", &self.connector)
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

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
    connector_class: &'static str,
    handler: ErrorHandler,
    dlq: Option<DlqWriter>,
    reporter: ErrantRecordReporter,
    flush_timeout: Duration,
    stop: watch::Receiver<bool>,
    tm: crate::metrics::SinkTaskMetrics,
    /// Records put since the last commit.
    uncommitted: i64,
}

async fn run(p: SinkTaskParams) -> ConnectResult<()> {
    let SinkTaskParams {
        connector,
        task_id,
        config,
        connector_class,
        task,
        key_converter,
        value_converter,
        transforms,
        errors,
        correlation_header,
        input,
        status,
        metrics,
        flush_interval,
        flush_timeout,
        mut stop,
        mut paused,
    } = p;
    let error_metrics = metrics.errors(&connector, task_id);
    let (tx, events) = unbounded_channel();
    // The consumer's max.poll.records (worker consumer.*, then the
    // connector's consumer.override.*) bounds a put, as in Kafka Connect.
    let max_batch = match &input {
        SinkInput::Kafka { consumer_props, .. } => consumer_props
            .iter()
            .rev()
            .find_map(|l| l.get("max.poll.records"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(MAX_BATCH),
        SinkInput::Null { .. } => MAX_BATCH,
    };
    let (feed, dlq, subscribed, _lag_probe) = match input {
        SinkInput::Null {
            topic,
            records,
            value,
        } => {
            if errors.dlq_topic.is_some() {
                return Err(ConnectError::fatal(
                    "the null sink input has no dead letter queue",
                ));
            }
            let _ = tx.send(RebalanceEvent::Assigned(BTreeSet::from([
                TopicPartition::new(&*topic, 0),
            ])));
            let feed = Feed::Null {
                topic: topic.clone(),
                value,
                next: 0,
                end: i64::try_from(records).unwrap_or(i64::MAX),
            };
            (feed, None, topic, None)
        }
        SinkInput::Kafka {
            bootstrap,
            consumer_props,
            producer_props,
            topics,
            topics_regex,
            admin,
        } => {
            let dlq = match &errors.dlq_topic {
                Some(topic) => Some(
                    DlqWriter::start(
                        topic,
                        errors.dlq_replication,
                        &bootstrap,
                        &producer_props,
                        &admin,
                        format!("connector-dlq-producer-{connector}-{task_id}"),
                        (
                            metrics.client(&connector, task_id, "dlq-producer"),
                            error_metrics.dlq_failures.clone(),
                        ),
                    )
                    .await?,
                ),
                None => None,
            };
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
                    stats: Some(metrics.client(&connector, task_id, "consumer")),
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
                        // The broker may not auto-create; a sink started
                        // before its source would otherwise wait for
                        // metadata refreshes.
                        admin.ensure_retrying(t, 1, -1).await?;
                    }
                    topics.clone()
                }
            };
            let refs: Vec<&str> = subscription.iter().map(String::as_str).collect();
            consumer.subscribe(&refs).map_err(|e| {
                ConnectError::fatal_from(format!("cannot subscribe to {}", refs.join(",")), e)
            })?;
            let consumer = Arc::new(consumer);
            // Ends with this function, however it ends (a failed start
            // included).
            let lag_probe = super::lag::AbortOnDrop(tokio::spawn(super::lag::probe(
                consumer.clone(),
                metrics.families().sink.lag.clone(),
                connector.clone(),
                task_id.to_string(),
                flush_interval.clamp(Duration::from_millis(200), Duration::from_secs(5)),
                stop.clone(),
            )));
            (Feed::Kafka(consumer), dlq, refs.join(","), Some(lag_probe))
        }
    };
    let reporter = ErrantRecordReporter::new();
    let mut l = Loop {
        task,
        input: Input {
            feed,
            max_batch,
            pipeline: Pipeline {
                key_converter,
                value_converter,
                keep_originals: errors.tolerate_all && errors.dlq_topic.is_some(),
                last_topic: None,
                transforms,
                retries: errors.retry_timeout != Some(Duration::ZERO),
            },
        },
        ctx: SinkTaskContext::with_reporter(reporter.clone()),
        events,
        assigned: BTreeSet::new(),
        current: BTreeMap::new(),
        last_committed: BTreeMap::new(),
        paused: *paused.borrow(),
        connector: connector.clone(),
        status: status.clone(),
        task_paused: BTreeSet::new(),
        connector_class,
        handler: ErrorHandler::new(errors, connector.clone(), task_id, error_metrics)
            .with_correlation_header(correlation_header),
        tm: metrics.sink_task(&connector, task_id),
        uncommitted: 0,
        dlq,
        reporter,
        flush_timeout,
        stop: stop.clone(),
    };
    // Sink chains are not settled yet: a stateful transform refuses them.
    let opened = l
        .input
        .pipeline
        .transforms
        .open(&sluice_connect_api::TransformContext {
            connector: connector.clone(),
            task: i32::try_from(task_id).unwrap_or(i32::MAX),
            alias: String::new(),
            source: false,
            gauges: sluice_connect_api::TaskGauges::default(),
            store: None,
        });
    if let Err(e) = opened {
        metrics.task_started(false);
        return Err(ConnectError::fatal(e));
    }
    if let Err(e) = l.task.start(config, l.ctx.clone()).await {
        metrics.task_started(false);
        return Err(e);
    }
    metrics.task_started(true);
    let task_state = |p: bool| if p { State::Paused } else { State::Running };
    status.set_task(&connector, task_id, task_state(*paused.borrow()), None);
    tracing::info!(topics = %subscribed, "sink task started");

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
                let step = l.process(batch, &mut stop).await;
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
    // Dead letter queue records written before a failure still get out.
    if let Some(dlq) = &l.dlq
        && let Err(e) = dlq.flush(l.flush_timeout).await
    {
        tracing::warn!(error = %e.trace(), "dead letter queue records not all acknowledged; their offsets were not committed");
    }
    let all: Vec<TopicPartition> = l.assigned.iter().cloned().collect();
    if let Err(e) = l.task.close(&all).await {
        tracing::warn!(error = %e.trace(), "error closing partitions");
    }
    if let Err(e) = l.task.stop().await {
        tracing::warn!(error = %e.trace(), "error stopping sink task");
    }
    if let Some(c) = l.input.consumer() {
        c.unsubscribe();
    }
    outcome
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
                    self.tm.partitions(self.assigned.len());
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
                    self.tm.partitions(self.assigned.len());
                    tracing::info!(partitions = ?gone, "partitions revoked");
                    self.task.close(&gone).await?;
                }
            }
        }
        Ok(())
    }

    /// Handles one fetched batch: errant records first (which may fail the
    /// task before anything is put), then `put`, then a record whose
    /// conversion is being retried. Positions advance only past records
    /// that were put, filtered or handled as errant.
    async fn process(
        &mut self,
        batch: Batch,
        stop: &mut watch::Receiver<bool>,
    ) -> ConnectResult<()> {
        let Batch {
            mut records,
            positions,
            errant,
            retry,
            consumed,
            originals,
        } = batch;
        self.tm.read(consumed);
        for (failure, original) in &errant {
            if let Err(e) = self.errant(failure, original).await {
                if *stop.borrow() {
                    return Ok(()); // stopping: nothing of this batch is committed
                }
                return Err(e);
            }
        }
        if !self.put(&mut records, stop).await? {
            return Ok(()); // stopped while retrying
        }
        self.handle_reports(&originals).await?;
        for (tp, off) in positions {
            self.current.insert(tp, off);
        }
        if let Some(r) = retry {
            self.retry(r, stop).await?;
        }
        Ok(())
    }

    /// Converts a record again until it works or `errors.retry.timeout`
    /// runs out, then puts it or handles it as errant.
    async fn retry(&mut self, r: Retry, stop: &mut watch::Receiver<bool>) -> ConnectResult<()> {
        let Retry {
            original,
            timestamp_type,
            failure,
        } = r;
        tracing::warn!(at = %original.describe(), error = %failure.message, "retriable conversion failure; retrying");
        let input = &mut self.input.pipeline;
        let outcome = self
            .handler
            .retry(
                || {
                    let mut raw = Raw::from_original(&original, timestamp_type);
                    let res = input.make_record(&mut raw);
                    async move { res }
                },
                |f| matches!(f, Failed::Retriable(_)),
                stop,
            )
            .await;
        if *stop.borrow() {
            return Ok(()); // not handled: its offset is not committed
        }
        match outcome {
            Ok(Some(record)) => {
                if !self.put(&mut vec![record], stop).await? {
                    return Ok(());
                }
                self.handle_reports(std::slice::from_ref(&original)).await?;
            }
            Ok(None) => {}
            Err(Failed::Retriable(f) | Failed::Errant(f)) => self.errant(&f, &original).await?,
        }
        if let (Some(p), Some(o)) = (original.partition, original.offset) {
            self.current
                .insert(TopicPartition::new(original.topic.clone(), p), o + 1);
        }
        Ok(())
    }

    /// Hands a batch to the task, retrying retriable errors with backoff
    /// (with what the task left in `records`) until it succeeds or the task
    /// is stopped (`Ok(false)`).
    async fn put(
        &mut self,
        records: &mut Vec<SinkRecord>,
        stop: &mut watch::Receiver<bool>,
    ) -> ConnectResult<bool> {
        if records.is_empty() {
            return Ok(true);
        }
        let n = records.len();
        let mut backoff = Duration::from_millis(100);
        let started = std::time::Instant::now();
        loop {
            match self.task.put(records).await {
                Ok(()) => {
                    self.uncommitted += n as i64;
                    self.tm.put(n, started.elapsed(), self.uncommitted);
                    return Ok(true);
                }
                Err(e) if e.is_retriable() && records.is_empty() => {
                    // The task took everything before failing: nothing
                    // is left to put again.
                    tracing::warn!(error = %e.trace(), "retriable error from put after the task took the whole batch");
                    self.uncommitted += n as i64;
                    self.tm.put(n, started.elapsed(), self.uncommitted);
                    return Ok(true);
                }
                Err(e) if e.is_retriable() => {
                    self.tm.alive();
                    tracing::warn!(error = %e.trace(), left = records.len(), backoff_ms = backoff.as_millis() as u64, "retriable error from put; retrying what the task left");
                    tokio::select! {
                        _ = stop.changed() => return Ok(false),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
                Err(e) => return Err(e),
            }
        }
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
        let Some(consumer) = self.input.consumer() else {
            return Ok(()); // the null feed has nothing to pause
        };
        let res = if paused {
            consumer.pause(&tpl)
        } else {
            consumer.resume(&tpl)
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
        if let Some(consumer) = self.input.consumer().cloned() {
            if !pause.is_empty() {
                consumer
                    .pause(&tpl(&pause))
                    .map_err(|e| ConnectError::retriable_from("cannot pause partitions", e))?;
            }
            if !resume.is_empty() {
                consumer
                    .resume(&tpl(&resume))
                    .map_err(|e| ConnectError::retriable_from("cannot resume partitions", e))?;
            }
            for (tp, off) in &offsets {
                consumer
                    .seek(
                        &tp.topic,
                        tp.partition,
                        Offset::Offset(*off),
                        Duration::from_secs(5),
                    )
                    .map_err(|e| {
                        ConnectError::retriable_from(format!("cannot seek {tp} to {off}"), e)
                    })?;
            }
        }
        self.current.extend(offsets);
        if commit {
            self.commit(CommitMode::Async).await?;
        }
        Ok(())
    }
}
