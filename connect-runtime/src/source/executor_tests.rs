//! The real source executor without a broker (`SourceOutput::Null`):
//! commit ordering, acknowledgements, stop during a pending poll, a fatal
//! poll error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_connect_api::schema::Value;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, SourceAcknowledger, SourceOffset, SourcePartition,
    SourceRecord, SourceTask, SourceTaskContext,
};
use tokio::sync::watch;

use super::{SourceOutput, SourceTaskParams, run_source_task};
use crate::converters::TaskConverter;
use crate::errors::ErrorConfig;
use crate::offsets::{MemoryOffsetStore, OffsetStore};
use crate::status::StatusStore;
use crate::transforms::TransformChain;

/// Polls `per_poll` records numbered from 0 until `total`, then waits
/// (forever) in `poll`; or fails with a fatal error once `fail_after`
/// records were returned.
#[derive(Debug)]
struct Numbers {
    per_poll: u64,
    total: u64,
    fail_after: Option<u64>,
    next: u64,
    partition: SourcePartition,
    acks: Arc<Acks>,
}

impl Numbers {
    fn new(per_poll: u64, total: u64, fail_after: Option<u64>) -> (Self, Arc<Acks>) {
        let acks = Arc::new(Acks::default());
        let task = Self {
            per_poll,
            total,
            fail_after,
            next: 0,
            partition: SourcePartition::one("numbers", 0),
            acks: acks.clone(),
        };
        (task, acks)
    }
}

#[async_trait::async_trait]
impl SourceTask for Numbers {
    async fn start(&mut self, _c: Config, _ctx: SourceTaskContext) -> ConnectResult<()> {
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        if self.fail_after.is_some_and(|f| self.next >= f) {
            return Err(ConnectError::fatal("the source went away"));
        }
        if self.next >= self.total {
            std::future::pending::<()>().await;
        }
        let end = (self.next + self.per_poll).min(self.total);
        let records = (self.next..end)
            .map(|i| {
                SourceRecord::new(
                    self.partition.clone(),
                    SourceOffset::int("next", i64::try_from(i + 1).unwrap_or(i64::MAX)),
                    "numbers",
                    None,
                    Value::String(format!("n-{i}")),
                )
            })
            .collect();
        self.next = end;
        Ok(records)
    }

    fn acknowledger(&self) -> Option<Arc<dyn SourceAcknowledger>> {
        Some(self.acks.clone())
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

/// The batch-form acknowledgements, in order.
#[derive(Debug, Default)]
struct Acks {
    offsets: Mutex<Vec<i64>>,
    calls: AtomicU64,
}

impl SourceAcknowledger for Acks {
    fn commit_offsets(&self, acknowledged: &[(SourcePartition, SourceOffset)]) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut seen = self
            .offsets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.extend(acknowledged.iter().filter_map(|(_, o)| o.get_i64("next")));
    }
}

struct Run {
    offsets: Arc<MemoryOffsetStore>,
    stop: watch::Sender<bool>,
    _paused: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Option<String>>,
}

fn start(task: Numbers) -> Run {
    let offsets = Arc::new(MemoryOffsetStore::default());
    let (stop_tx, stop) = watch::channel(false);
    let (paused_tx, paused) = watch::channel(false);
    let params = SourceTaskParams {
        connector: "numbers".into(),
        task_id: 0,
        config: Config::new(),
        task: Box::new(task),
        key_converter: TaskConverter::string(),
        value_converter: TaskConverter::string(),
        transforms: TransformChain::default(),
        errors: ErrorConfig::default(),
        correlation: None,
        output: SourceOutput::Null,
        offsets: offsets.clone(),
        status: Arc::new(StatusStore::new("w")),
        metrics: crate::metrics::Metrics::new("w", Duration::from_secs(60)),
        flush_interval: Duration::from_millis(20),
        flush_timeout: Duration::from_secs(1),
        stop,
        paused,
        transform_store: None,
    };
    Run {
        offsets,
        stop: stop_tx,
        _paused: paused_tx,
        task: tokio::spawn(run_source_task(params)),
    }
}

async fn committed(store: &MemoryOffsetStore) -> u64 {
    let partition = SourcePartition::one("numbers", 0);
    store
        .get("numbers", &partition)
        .await
        .unwrap()
        .and_then(|o| o.get("next").and_then(serde_json::Value::as_u64))
        .unwrap_or(0)
}

/// Waits (up to 10 s) until the stored offset reaches `n`.
async fn wait_committed(store: &MemoryOffsetStore, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while committed(store).await < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "offset {} stored, {n} expected",
            committed(store).await
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn every_record_is_committed_and_acknowledged_in_order() {
    let (task, acks) = Numbers::new(7, 1000, None);
    let run = start(task);
    wait_committed(&run.offsets, 1000).await;
    run.stop.send(true).unwrap();
    assert_eq!(run.task.await.unwrap(), None);
    let seen = acks.offsets.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "acknowledged offsets go forward: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&1000));
    assert!(acks.calls.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn stop_during_a_pending_poll_ends_the_task_with_its_records_committed() {
    // 50 records, then the poll never returns.
    let (task, _acks) = Numbers::new(50, 50, None);
    let run = start(task);
    wait_committed(&run.offsets, 50).await;
    run.stop.send(true).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), run.task).await;
    assert_eq!(ended.expect("the task ended").unwrap(), None);
    assert_eq!(committed(&run.offsets).await, 50);
}

#[tokio::test]
async fn a_fatal_poll_error_fails_the_task_after_committing_what_kafka_has() {
    let (task, _acks) = Numbers::new(10, 1000, Some(30));
    let run = start(task);
    let trace = tokio::time::timeout(Duration::from_secs(5), run.task)
        .await
        .expect("the task ended")
        .unwrap()
        .expect("the task failed");
    assert!(trace.contains("the source went away"), "{trace}");
    // The final commit covers the 30 records acknowledged before the error.
    assert_eq!(committed(&run.offsets).await, 30);
}
