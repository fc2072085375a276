use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use sluice_connect_api::{Config, ConnectError, ConnectResult, SourceTask, SourceTaskContext};
use tokio::sync::watch;

use super::acks::{AckContext, AckTracker};
use super::offsets::PartitionOffsets;
use super::output::{NullProducer, Produce};
use super::poller::Poller;
use super::sender::{CommitDone, CommitJob, Sender, TaskProducer};
use crate::converters::TaskConverter;
use crate::errors::{ErrorConfig, ErrorHandler};
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
    /// Where records go.
    pub output: SourceOutput,
    pub offsets: Arc<dyn OffsetStore>,
    pub status: Arc<StatusStore>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub flush_interval: Duration,
    pub flush_timeout: Duration,
    pub stop: watch::Receiver<bool>,
    /// `true` while the connector is PAUSED: no polling, commits go on.
    pub paused: watch::Receiver<bool>,
    /// The worker's store for stateful transforms (Deduplicate).
    pub transform_store: Option<Arc<dyn sluice_connect_api::TransformStore>>,
}

/// Where a source task's records go.
#[derive(Debug)]
pub enum SourceOutput {
    /// A worker's tasks: a Kafka producer per task, topics created as
    /// `topic.creation.*` says.
    Kafka {
        bootstrap: String,
        /// Worker `producer.*` then connector `producer.override.*` settings.
        producer_props: Vec<BTreeMap<String, String>>,
        admin: Arc<TopicAdmin>,
    },
    /// Benchmarks and executor tests: no Kafka client at all. Every record
    /// is acknowledged the moment it is handed over (at the next offset of
    /// partition 0) and no topic is created, so what is measured or tested
    /// is the executor itself.
    Null,
}

impl std::fmt::Debug for SourceTaskParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceTaskParams")
            .field("connector", &self.connector)
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
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
        output,
        offsets,
        status,
        metrics,
        flush_interval,
        flush_timeout,
        mut stop,
        mut paused,
        transform_store,
    } = p;
    let mut tm = metrics.source_task(&connector, task_id);
    // Whether records are kept for per-record acknowledgements is known
    // after `start` (the task's acknowledger says).
    let tracker = Arc::new(AckTracker::new(false));
    let (producer, admin): (Box<dyn Produce>, Option<Arc<TopicAdmin>>) = match output {
        SourceOutput::Null => (
            Box::new(NullProducer {
                tracker: tracker.clone(),
                next_offset: AtomicI64::new(0),
            }),
            None,
        ),
        SourceOutput::Kafka {
            bootstrap,
            producer_props,
            admin,
        } => {
            let layers: Vec<&BTreeMap<String, String>> = producer_props.iter().collect();
            let mut cfg = client_config(&bootstrap, &layers, PRODUCER_DEFAULTS);
            cfg.set(
                "client.id",
                format!("connector-producer-{connector}-{task_id}"),
            );
            let p: TaskProducer = cfg
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
            (Box::new(p), Some(admin))
        }
    };
    // Validated before the task was started; an error here names the key.
    let topic_creation = crate::connector_config::source_topic_creation(&config)?;
    if let (Some(dlq), Some(admin)) = (&errors.dlq_topic, &admin) {
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
        acknowledger: None,
        per_record: false,
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
        topic_creation,
        flush_timeout,
        pending: PartitionOffsets::default(),
        stop: stop.clone(),
        key_buf: Vec::new(),
        value_buf: Vec::new(),
    };
    let gauges = metrics.task_gauges(&connector, task_id);
    let opened = sender
        .transforms
        .open(&sluice_connect_api::TransformContext {
            connector: connector.clone(),
            task: i32::try_from(task_id).unwrap_or(i32::MAX),
            alias: String::new(),
            source: true,
            gauges: gauges.clone(),
            store: transform_store,
        });
    if let Err(e) = opened {
        metrics.task_started(false);
        metrics.forget_task_gauges(&connector, task_id, &gauges);
        return Err(ConnectError::fatal(e));
    }
    let ctx = SourceTaskContext::new(Arc::new(ConnectorOffsetReader::new(
        offsets,
        connector.clone(),
    )))
    .with_gauges(gauges.clone());
    if let Err(e) = task.start(config, ctx).await {
        metrics.task_started(false);
        metrics.forget_task_gauges(&connector, task_id, &gauges);
        return Err(e);
    }
    metrics.task_started(true);
    sender.acknowledger = task.acknowledger();
    sender.per_record = sender.acknowledger.as_ref().is_some_and(|a| a.per_record());
    sender.tracker.set_per_record(sender.per_record);
    let task_state = |p: bool| if p { State::Paused } else { State::Running };
    status.set_task(&connector, task_id, task_state(*paused.borrow()), None);
    tracing::info!("source task started");

    let mut poller = Poller::start(task, stop.clone(), paused.clone());
    let mut tick = tokio::time::interval(flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let tracker = sender.tracker.clone();
    let mut poll_loop_ended = false;
    let mut committing: Option<CommitJob> = None;
    let outcome: ConnectResult<()> = loop {
        if *stop.borrow() {
            break Ok(());
        }
        if let Some(f) = tracker.failure() {
            break Err(ConnectError::fatal(f));
        }
        tokio::select! {
            biased;
            _ = stop.changed() => break Ok(()),
            changed = paused.changed() => {
                if changed.is_err() {
                    break Ok(()); // the worker let go of this task
                }
                // The poll loop sees it too; the state follows the loop.
                paused.borrow_and_update();
            }
            changed = poller.paused.changed(), if !poll_loop_ended => {
                if changed.is_err() {
                    // The poll loop ended (finish() says how): produce the
                    // batches it queued before; the queue then ends.
                    poll_loop_ended = true;
                    continue;
                }
                let p = *poller.paused.borrow_and_update();
                status.set_task(&connector, task_id, task_state(p), None);
                tracing::info!(paused = p, "task target state changed");
            }
            () = tracker.front_done() => {
                sender.acknowledge();
                // Kafka Connect's write counters follow acknowledgements.
                tm.acknowledged(tracker.acked(), tracker.in_flight());
            }
            // One store write at a time, in the background: producing goes
            // on while it syncs.
            _ = tick.tick(), if committing.is_none() => {
                committing = sender.start_commit();
                tm.acknowledged(tracker.acked(), tracker.in_flight());
            }
            done = async { committing.as_mut().expect("guarded").await }, if committing.is_some() => {
                committing = None;
                match done {
                    Ok(CommitDone { result: Ok(()), took, .. }) => {
                        tm.committed(took, true);
                        poller.request_commit();
                    }
                    Ok(CommitDone { result: Err(e), offsets, took }) => {
                        tm.committed(took, false);
                        sender.restore(offsets);
                        tracing::warn!(error = %e.trace(), "offset commit failed; will retry at the next interval");
                    }
                    Err(e) => {
                        break Err(ConnectError::fatal(format!("the offset commit job ended abnormally: {e}")));
                    }
                }
            }
            polled = poller.batches.recv() => match polled {
                Some(batch) => {
                    let n = batch.records.len();
                    tm.polled(n, batch.took);
                    let sent = sender.send(batch.records).await;
                    tm.acknowledged(tracker.acked(), tracker.in_flight());
                    if let Err(e) = sent {
                        break Err(e);
                    }
                }
                // The poll loop ended: a fatal poll error (or it was stopped).
                None => break Ok(()),
            }
        }
    };
    // Stopping or failed: end polling, wait for what is in flight, commit
    // what Kafka acknowledged, then let the task release its resources.
    let (task, polled) = poller.finish().await;
    let outcome = outcome.and(polled);
    // A commit still running finishes first (a failed one is retried by
    // the final commit), so offsets are stored in order.
    if let Some(job) = committing.take()
        && let Ok(done) = job.await
        && done.result.is_err()
    {
        sender.restore(done.offsets);
    }
    sender.drain().await;
    match sender.commit().await {
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e.trace(), "final offset commit failed"),
    }
    if let Some(mut task) = task {
        if let Err(e) = task.commit().await {
            tracing::warn!(error = %e.trace(), "the source task's commit() failed");
        }
        if let Err(e) = task.stop().await {
            tracing::warn!(error = %e.trace(), "error stopping source task");
        }
    }
    metrics.forget_task_gauges(&connector, task_id, &gauges);
    outcome
}
