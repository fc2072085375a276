//! What the runtime gives connectors and tasks to talk back to it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::error::ConnectResult;
use crate::record::{OffsetMap, SinkRecord, TopicPartition};

/// Reads committed source offsets (Kafka Connect's `OffsetStorageReader`).
///
/// Async: a store may have to read a disk or wait for a remote log, and a
/// task's `start` must not block the runtime's threads while it does.
#[async_trait]
pub trait OffsetReader: Send + Sync + fmt::Debug {
    /// The last committed offset of one source partition.
    async fn offset(&self, partition: &OffsetMap) -> ConnectResult<Option<OffsetMap>>;

    /// Several at once; partitions without an offset are absent.
    async fn offsets(
        &self,
        partitions: &[OffsetMap],
    ) -> ConnectResult<Vec<(OffsetMap, OffsetMap)>> {
        let mut out = Vec::with_capacity(partitions.len());
        for p in partitions {
            if let Some(o) = self.offset(p).await? {
                out.push((p.clone(), o));
            }
        }
        Ok(out)
    }
}

/// One number a task reports about itself.
#[derive(Debug, Clone, Default)]
pub struct TaskGauge(Arc<std::sync::atomic::AtomicI64>);

impl TaskGauge {
    pub fn set(&self, v: i64) {
        self.0.store(v, std::sync::atomic::Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Numbers a task reports about itself (a replication slot's lag in bytes,
/// the rows an incremental snapshot has left): the runtime shows them in
/// the task's status (`"metrics"`) and exports them as
/// `kafka_connect_task_reported{connector,task,metric}`. Names are
/// lower-case with `-`, as Kafka Connect's metric names.
#[derive(Debug, Clone, Default)]
pub struct TaskGauges(Arc<Mutex<Vec<(String, TaskGauge)>>>);

impl TaskGauges {
    /// The gauge called `name`, made at 0 the first time.
    pub fn gauge(&self, name: &str) -> TaskGauge {
        let mut g = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, x)) = g.iter().find(|(n, _)| n == name) {
            return x.clone();
        }
        let x = TaskGauge::default();
        g.push((name.to_string(), x.clone()));
        x
    }

    /// Whether both are the same set of gauges.
    pub fn same(&self, other: &TaskGauges) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Every gauge's name and value, in the order they were made.
    pub fn values(&self) -> Vec<(String, i64)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(n, g)| (n.clone(), g.get()))
            .collect()
    }
}

/// Given to [`crate::SourceTask::start`].
#[derive(Debug, Clone)]
pub struct SourceTaskContext {
    offset_reader: Arc<dyn OffsetReader>,
    gauges: TaskGauges,
}

impl SourceTaskContext {
    pub fn new(offset_reader: Arc<dyn OffsetReader>) -> Self {
        Self {
            offset_reader,
            gauges: TaskGauges::default(),
        }
    }

    /// The same, with gauges the runtime shows.
    pub fn with_gauges(mut self, gauges: TaskGauges) -> Self {
        self.gauges = gauges;
        self
    }

    pub fn offset_reader(&self) -> &dyn OffsetReader {
        self.offset_reader.as_ref()
    }

    /// Where the task reports numbers about itself.
    pub fn gauges(&self) -> &TaskGauges {
        &self.gauges
    }
}

/// Requests a sink task made since the runtime last looked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SinkTaskRequests {
    pub pause: BTreeSet<TopicPartition>,
    pub resume: BTreeSet<TopicPartition>,
    /// Rewind (or skip) to these offsets: the next record consumed from the
    /// partition is the one at this offset.
    pub offsets: BTreeMap<TopicPartition, i64>,
    pub commit: bool,
}

impl SinkTaskRequests {
    pub fn is_empty(&self) -> bool {
        self.pause.is_empty() && self.resume.is_empty() && self.offsets.is_empty() && !self.commit
    }
}

#[derive(Debug, Default)]
struct SinkShared {
    requests: SinkTaskRequests,
    assignment: BTreeSet<TopicPartition>,
}

/// Given to [`crate::SinkTask::start`]: pause/resume partitions, rewind
/// offsets, ask for a commit (Kafka Connect's `SinkTaskContext`). Cheap to
/// clone; all clones share one state.
#[derive(Debug, Clone, Default)]
pub struct SinkTaskContext {
    shared: Arc<Mutex<SinkShared>>,
    reporter: Option<ErrantRecordReporter>,
}

impl SinkTaskContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// A context whose tasks can report errant records.
    pub fn with_reporter(reporter: ErrantRecordReporter) -> Self {
        Self {
            shared: Arc::default(),
            reporter: Some(reporter),
        }
    }

    /// Where to report a record `put` cannot handle (Kafka Connect's
    /// `errantRecordReporter()`). The runtime handles a report as the
    /// connector's `errors.*` settings say: with `errors.tolerance=none`
    /// the task fails; with `all` the record goes to the dead letter queue
    /// (if configured) and the log, and its offset is committed only after
    /// that. `None` on runtimes that don't offer one.
    pub fn errant_record_reporter(&self) -> Option<&ErrantRecordReporter> {
        self.reporter.as_ref()
    }

    fn with<R>(&self, f: impl FnOnce(&mut SinkShared) -> R) -> R {
        let mut guard = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Stop fetching from these partitions until [`Self::resume`].
    pub fn pause(&self, partitions: &[TopicPartition]) {
        self.with(|s| {
            for p in partitions {
                s.requests.resume.remove(p);
                s.requests.pause.insert(p.clone());
            }
        });
    }

    pub fn resume(&self, partitions: &[TopicPartition]) {
        self.with(|s| {
            for p in partitions {
                s.requests.pause.remove(p);
                s.requests.resume.insert(p.clone());
            }
        });
    }

    /// Consume `partition` from `offset` next (rewind or skip).
    pub fn offset(&self, partition: TopicPartition, offset: i64) {
        self.with(|s| {
            s.requests.offsets.insert(partition, offset);
        });
    }

    /// Ask the runtime to flush and commit offsets soon.
    pub fn request_commit(&self) {
        self.with(|s| s.requests.commit = true);
    }

    /// Partitions currently assigned to this task.
    pub fn assignment(&self) -> BTreeSet<TopicPartition> {
        self.with(|s| s.assignment.clone())
    }

    /// Runtime side: take the pending requests.
    pub fn take_requests(&self) -> SinkTaskRequests {
        self.with(|s| std::mem::take(&mut s.requests))
    }

    /// Runtime side: record the current assignment.
    pub fn set_assignment(&self, assignment: BTreeSet<TopicPartition>) {
        self.with(|s| s.assignment = assignment);
    }
}

/// One record a sink task reported as errant.
#[derive(Debug, Clone)]
pub struct ErrantReport {
    pub record: SinkRecord,
    /// The error and its causes, one per line.
    pub error: String,
}

/// Collects the records a sink task could not handle; the runtime takes
/// them after each `put` and before each offset commit. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ErrantRecordReporter {
    reports: Arc<Mutex<Vec<ErrantReport>>>,
}

impl ErrantRecordReporter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports `record` as failed with `error` (its causes are kept too).
    pub fn report(&self, record: &SinkRecord, error: &(dyn std::error::Error + 'static)) {
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(c) = cause {
            text.push_str("\nCaused by: ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        self.reports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ErrantReport {
                record: record.clone(),
                error: text,
            });
    }

    /// Runtime side: the reports since the last call.
    pub fn take(&self) -> Vec<ErrantReport> {
        std::mem::take(&mut *self.reports.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// What a connector can ask of the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorRequest {
    /// The task configs changed (e.g. new tables appeared): call
    /// `task_configs` again and restart the tasks.
    ReconfigureTasks,
    /// The connector hit an error it cannot recover from; mark it FAILED.
    RaiseError(String),
}

type RequestSink = dyn Fn(ConnectorRequest) + Send + Sync;

/// Given to [`crate::Connector::start`].
#[derive(Clone)]
pub struct ConnectorContext {
    name: String,
    sink: Arc<RequestSink>,
}

impl ConnectorContext {
    pub fn new(
        name: impl Into<String>,
        sink: impl Fn(ConnectorRequest) + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            sink: Arc::new(sink),
        }
    }

    /// The connector's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn request_task_reconfiguration(&self) {
        (self.sink)(ConnectorRequest::ReconfigureTasks);
    }

    pub fn raise_error(&self, message: impl Into<String>) {
        (self.sink)(ConnectorRequest::RaiseError(message.into()));
    }
}

impl fmt::Debug for ConnectorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorContext")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_requests_are_taken_once() {
        let ctx = SinkTaskContext::new();
        let tp = TopicPartition::new("t", 0);
        ctx.pause(std::slice::from_ref(&tp));
        ctx.offset(tp.clone(), 5);
        ctx.request_commit();
        let r = ctx.clone().take_requests();
        assert!(r.pause.contains(&tp));
        assert_eq!(r.offsets.get(&tp), Some(&5));
        assert!(r.commit);
        assert!(ctx.take_requests().is_empty());
    }

    #[test]
    fn resume_cancels_pending_pause() {
        let ctx = SinkTaskContext::new();
        let tp = TopicPartition::new("t", 1);
        ctx.pause(std::slice::from_ref(&tp));
        ctx.resume(std::slice::from_ref(&tp));
        let r = ctx.take_requests();
        assert!(r.pause.is_empty());
        assert!(r.resume.contains(&tp));
    }
}
