//! Writing dead letter queue records. Sinks get their own producer
//! ([`DlqWriter`]); sources send DLQ records through the task's producer so
//! a batch's offsets wait for its DLQ records too.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use sluice_connect_api::{ConnectError, ConnectResult};
use tokio::sync::watch;

use super::context::DlqRecord;
use crate::kafka::{LogContext, PRODUCER_DEFAULTS, TopicAdmin, client_config};

/// The producer record of a DLQ record, with `opaque` as delivery opaque.
pub fn base_record(r: &DlqRecord, opaque: usize) -> BaseRecord<'_, [u8], [u8], usize> {
    let mut record: BaseRecord<'_, [u8], [u8], usize> =
        BaseRecord::with_opaque_to(&r.topic, opaque);
    if let Some(k) = r.key.as_deref() {
        record = record.key(k);
    }
    if let Some(v) = r.value.as_deref() {
        record = record.payload(v);
    }
    if let Some(ts) = r.timestamp {
        record = record.timestamp(ts);
    }
    if !r.headers.is_empty() {
        let mut hs = OwnedHeaders::new_with_capacity(r.headers.len());
        for (k, v) in &r.headers {
            hs = hs.insert(KafkaHeader {
                key: k,
                value: v.as_deref(),
            });
        }
        record = record.headers(hs);
    }
    record
}

#[derive(Debug, Default)]
struct State {
    in_flight: AtomicI64,
    failure: Mutex<Option<String>>,
}

struct DlqContext {
    state: Arc<State>,
    log: LogContext,
    stats: Option<crate::metrics::ClientStats>,
    failures: Option<prometheus::IntCounter>,
}

impl ClientContext for DlqContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.log.log(level, fac, log_message);
    }
    fn error(&self, error: KafkaError, reason: &str) {
        self.log.error(error, reason);
    }

    fn stats(&self, statistics: rdkafka::Statistics) {
        if let Some(s) = &self.stats {
            s.update(&statistics);
        }
    }
}

impl ProducerContext for DlqContext {
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, _: usize) {
        if let Err((e, _)) = result {
            if let Some(f) = &self.failures {
                f.inc();
            }
            self.state
                .failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert_with(|| e.to_string());
        }
        self.state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A sink task's dead letter queue producer.
pub struct DlqWriter {
    topic: String,
    producer: ThreadedProducer<DlqContext>,
    state: Arc<State>,
}

impl std::fmt::Debug for DlqWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DlqWriter")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl DlqWriter {
    /// Creates the topic if missing (1 partition, as Kafka Connect) and the
    /// producer (worker `producer.*`, then connector `producer.override.*`).
    pub async fn start(
        topic: &str,
        replication: i32,
        bootstrap: &str,
        producer_props: &[BTreeMap<String, String>],
        admin: &TopicAdmin,
        client_id: String,
        instruments: (crate::metrics::ClientStats, prometheus::IntCounter),
    ) -> ConnectResult<Self> {
        let (stats, failures) = instruments;
        admin
            .ensure_retrying(topic, 1, replication)
            .await
            .map_err(|e| {
                ConnectError::fatal_from(
                    format!("cannot create the dead letter queue topic {topic}"),
                    e,
                )
            })?;
        let layers: Vec<&BTreeMap<String, String>> = producer_props.iter().collect();
        let mut cfg = client_config(bootstrap, &layers, PRODUCER_DEFAULTS);
        cfg.set("client.id", client_id);
        let state = Arc::new(State::default());
        let producer = cfg
            .create_with_context(DlqContext {
                state: state.clone(),
                log: LogContext,
                stats: Some(stats),
                failures: Some(failures),
            })
            .map_err(|e| {
                ConnectError::fatal_from("cannot create the dead letter queue producer", e)
            })?;
        Ok(Self {
            topic: topic.to_string(),
            producer,
            state,
        })
    }

    /// Hands a record to the producer (waiting while its queue is full).
    pub async fn send(&self, r: &DlqRecord, stop: &watch::Receiver<bool>) -> ConnectResult<()> {
        let mut record = base_record(r, 0);
        self.state.in_flight.fetch_add(1, Ordering::AcqRel);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    if *stop.borrow() {
                        self.state.in_flight.fetch_sub(1, Ordering::AcqRel);
                        return Err(ConnectError::retriable("stopping"));
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err((e, _)) => {
                    self.state.in_flight.fetch_sub(1, Ordering::AcqRel);
                    return Err(ConnectError::fatal_from(
                        format!("cannot write to the dead letter queue topic {}", self.topic),
                        e,
                    ));
                }
            }
        }
    }

    /// Waits until Kafka acknowledged every DLQ record sent so far. Offsets
    /// of errant records may be committed only after this succeeds.
    pub async fn flush(&self, timeout: Duration) -> ConnectResult<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(e) = self
                .state
                .failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
            {
                return Err(ConnectError::fatal(format!(
                    "cannot write to the dead letter queue topic {}: {e}",
                    self.topic
                )));
            }
            let n = self.state.in_flight.load(Ordering::Acquire);
            if n <= 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ConnectError::retriable(format!(
                    "{n} dead letter queue records not yet acknowledged by Kafka"
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
