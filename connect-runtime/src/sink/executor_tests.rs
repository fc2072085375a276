//! The real sink executor without a broker (`SinkInput::Null`): `put` by
//! ownership with retries of what the task left, commits after `put`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sluice_connect_api::{
    Config, ConnectError, ConnectResult, SinkRecord, SinkTask, SinkTaskContext, TopicPartition,
};
use tokio::sync::watch;

use super::{SinkInput, SinkTaskParams, run_sink_task};
use crate::converters::TaskConverter;
use crate::errors::ErrorConfig;
use crate::status::StatusStore;
use crate::transforms::TransformChain;

#[derive(Debug, Default)]
struct Seen {
    /// Kafka offsets of the records taken, in the order taken.
    offsets: Vec<i64>,
    /// The offsets `pre_commit` was asked about, last call.
    committable: BTreeMap<TopicPartition, i64>,
    retried: bool,
}

/// Takes half of its first batch and fails retriably, then takes
/// everything it is given.
#[derive(Debug)]
struct HalfThenAll(Arc<Mutex<Seen>>);

impl HalfThenAll {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl SinkTask for HalfThenAll {
    async fn start(&mut self, _c: Config, _ctx: SinkTaskContext) -> ConnectResult<()> {
        Ok(())
    }

    async fn put(&mut self, records: &mut Vec<SinkRecord>) -> ConnectResult<()> {
        let mut seen = self.seen();
        if !seen.retried && records.len() >= 4 {
            seen.retried = true;
            let half = records.len() / 2;
            seen.offsets
                .extend(records.drain(..half).map(|r| r.kafka_offset));
            return Err(ConnectError::retriable("the destination is busy"));
        }
        for r in records.drain(..) {
            assert_eq!(&*r.topic, "in");
            assert_eq!(r.value.as_str(), Some("v"));
            seen.offsets.push(r.kafka_offset);
        }
        Ok(())
    }

    async fn pre_commit(
        &mut self,
        offsets: BTreeMap<TopicPartition, i64>,
    ) -> ConnectResult<BTreeMap<TopicPartition, i64>> {
        self.seen().committable = offsets.clone();
        Ok(offsets)
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

#[tokio::test]
async fn put_again_gets_what_the_task_left_and_every_record_once() {
    const N: i64 = 5000;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (stop_tx, stop) = watch::channel(false);
    let (_paused_tx, paused) = watch::channel(false);
    let params = SinkTaskParams {
        connector: "c".into(),
        task_id: 0,
        config: Config::new(),
        connector_class: "test.HalfThenAll",
        task: Box::new(HalfThenAll(seen.clone())),
        key_converter: TaskConverter::string(),
        value_converter: TaskConverter::string(),
        transforms: TransformChain::default(),
        errors: ErrorConfig::default(),
        correlation_header: None,
        input: SinkInput::Null {
            topic: "in".into(),
            records: N as u64,
            value: b"v".to_vec(),
        },
        status: Arc::new(StatusStore::new("w")),
        metrics: crate::metrics::Metrics::new("w", Duration::from_secs(60)),
        flush_interval: Duration::from_millis(20),
        flush_timeout: Duration::from_secs(1),
        stop,
        paused,
    };
    let task = tokio::spawn(run_sink_task(params));
    let tp = TopicPartition::new("in", 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let done = {
            let s = seen.lock().unwrap();
            s.committable.get(&tp) == Some(&N)
        };
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all records committed: {:?}",
            seen.lock().unwrap().committable
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop_tx.send(true).unwrap();
    assert_eq!(task.await.unwrap(), None);
    let s = seen.lock().unwrap();
    assert!(s.retried);
    assert_eq!(
        s.offsets,
        (0..N).collect::<Vec<_>>(),
        "each record once, in order"
    );
}
