//! `NatsJetStreamSource`: a JetStream stream into a Kafka topic through a
//! durable pull consumer (explicit acknowledgements), each message
//! acknowledged only once Kafka has its record. The consumer's position
//! lives on the server, so a restarted task goes on where the
//! acknowledgements stopped; what was delivered and not acknowledged comes
//! again after `nats.ack.wait.ms`, or at once to the restarted consumer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, message::Acker};
use async_trait::async_trait;
use futures::StreamExt;
use sluice_connect_api::config::ConnectorConfig;
use sluice_connect_api::schema::{SchemaBuilder, SchemaRef, Value};
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, Header, RecordMetadata, SourceAcknowledger, SourceOffset,
    SourcePartition, SourceRecord, SourceTask, SourceTaskContext, TaskGauge, Topic,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::{Connection, NatsSourceConfig};
use super::connection::connect;
use crate::backoff::{Backoff, Failure};
use crate::sync::lock;

struct Received {
    message: async_nats::Message,
    acker: Acker,
    stream_sequence: u64,
    delivered: i64,
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Received")
            .field("subject", &self.message.subject)
            .field("stream_sequence", &self.stream_sequence)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Shared {
    fatal: Mutex<Option<String>>,
    connected: TaskGauge,
    received: TaskGauge,
    acks_sent: TaskGauge,
    acks_failed: TaskGauge,
}

struct Acknowledger {
    shared: Arc<Shared>,
    tokens: Mutex<VecDeque<(u64, Acker)>>,
    acks: mpsc::UnboundedSender<Acker>,
}

impl std::fmt::Debug for Acknowledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acknowledger").finish_non_exhaustive()
    }
}

impl SourceAcknowledger for Acknowledger {
    fn per_record(&self) -> bool {
        true
    }

    fn commit_record(&self, record: &SourceRecord, _metadata: Option<&RecordMetadata>) {
        let Some((seq, acker)) = lock(&self.tokens).pop_front() else {
            tracing::error!("NATS source: a record was acknowledged that this task did not poll");
            return;
        };
        let polled = record
            .headers
            .iter()
            .find(|h| h.key == "nats.sequence")
            .and_then(|h| match h.value {
                Value::Int64(v) => u64::try_from(v).ok(),
                _ => None,
            });
        if polled != Some(seq) {
            // Never acknowledge on a guess; the server delivers it again.
            tracing::error!(
                seq,
                "NATS source: an acknowledged record does not match the message polled in its place; not acknowledging it"
            );
            self.shared
                .acks_failed
                .set(self.shared.acks_failed.get() + 1);
            return;
        }
        if self.acks.send(acker).is_err() {
            self.shared
                .acks_failed
                .set(self.shared.acks_failed.get() + 1);
        }
    }
}

async fn ack_loop(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Acker>) {
    while let Some(acker) = rx.recv().await {
        match acker.ack_with(AckKind::Ack).await {
            Ok(()) => shared.acks_sent.set(shared.acks_sent.get() + 1),
            Err(e) => {
                tracing::warn!(error = %e, "NATS source: an acknowledgement failed; the server delivers the message again");
                shared.acks_failed.set(shared.acks_failed.get() + 1);
            }
        }
    }
}

#[derive(Debug)]
struct Schemas {
    bytes: SchemaRef,
    string: SchemaRef,
    int64: SchemaRef,
}

impl Default for Schemas {
    fn default() -> Self {
        Self {
            bytes: SchemaBuilder::bytes().build(),
            string: SchemaBuilder::string().build(),
            int64: SchemaBuilder::int64().build(),
        }
    }
}

/// The NATS JetStream source task.
#[derive(Debug, Default)]
pub struct NatsSourceTask {
    rx: Option<mpsc::Receiver<Received>>,
    tasks: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    acknowledger: Option<Arc<Acknowledger>>,
    topic: Option<Topic>,
    stream: String,
    batch_size: usize,
    poll_wait: Duration,
    schemas: Schemas,
}

#[async_trait]
impl SourceTask for NatsSourceTask {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()> {
        let cfg = NatsSourceConfig::parse(&config)?;
        let name = config.get("name").cloned().unwrap_or_default();
        let durable = cfg
            .durable
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| durable_name(&name));
        let gauges = ctx.gauges();
        self.shared = Arc::new(Shared {
            connected: gauges.gauge("nats-connected"),
            received: gauges.gauge("nats-received"),
            acks_sent: gauges.gauge("nats-acks-sent"),
            acks_failed: gauges.gauge("nats-acks-failed"),
            ..Shared::default()
        });
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        self.acknowledger = Some(Arc::new(Acknowledger {
            shared: self.shared.clone(),
            tokens: Mutex::default(),
            acks: ack_tx,
        }));
        let (tx, rx) = mpsc::channel(cfg.batch_size.max(1));
        let consumer = pull::Config {
            durable_name: Some(durable.clone()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: cfg.ack_wait,
            max_ack_pending: cfg.max_ack_pending,
            filter_subject: cfg.subject.clone(),
            ..pull::Config::default()
        };
        tracing::info!(stream = %cfg.stream, durable = %durable, subject = %cfg.subject, "NATS source starting");
        self.tasks = vec![
            tokio::spawn(drive(
                self.shared.clone(),
                cfg.conn.clone(),
                name,
                cfg.stream.clone(),
                consumer,
                tx,
            )),
            tokio::spawn(ack_loop(self.shared.clone(), ack_rx)),
        ];
        self.rx = Some(rx);
        self.topic = Some(cfg.kafka_topic.as_str().into());
        self.stream = cfg.stream;
        self.batch_size = cfg.batch_size.max(1);
        self.poll_wait = cfg.poll_wait;
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let not_started = || ConnectError::fatal("the NATS source task was not started");
        let rx = self.rx.as_mut().ok_or_else(not_started)?;
        let batch = crate::sync::next_batch(
            rx,
            self.poll_wait,
            self.batch_size,
            &self.shared.fatal,
            "the NATS consumer stopped",
        )
        .await?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let topic = self.topic.clone().ok_or_else(not_started)?;
        let acknowledger = self.acknowledger.clone().ok_or_else(not_started)?;
        let mut tokens = Vec::with_capacity(batch.len());
        let records = batch
            .into_iter()
            .map(|m| {
                let (record, acker) = self.record(&topic, m);
                tokens.push(acker);
                record
            })
            .collect();
        lock(&acknowledger.tokens).extend(tokens);
        Ok(records)
    }

    fn acknowledger(&self) -> Option<Arc<dyn SourceAcknowledger>> {
        self.acknowledger
            .clone()
            .map(|a| a as Arc<dyn SourceAcknowledger>)
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.rx = None;
        Ok(())
    }
}

/// A durable consumer name from the connector's name: NATS allows no
/// whitespace, `.`, `*`, `>`, path separators.
fn durable_name(connector: &str) -> String {
    let n: String = connector
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if n.is_empty() {
        "sluice".to_string()
    } else {
        n
    }
}

impl NatsSourceTask {
    /// Value = the payload (bytes), key = the subject, headers
    /// `nats.subject`, `nats.stream`, `nats.sequence`, `nats.delivered`
    /// and each NATS header as `nats.<name>` (repeated values as repeated
    /// headers).
    fn record(&self, topic: &Topic, m: Received) -> (SourceRecord, (u64, Acker)) {
        let s = &self.schemas;
        let subject = m.message.subject.to_string();
        let mut headers = vec![
            header("nats.subject", &s.string, Value::String(subject.clone())),
            header("nats.stream", &s.string, Value::String(self.stream.clone())),
            header(
                "nats.sequence",
                &s.int64,
                Value::Int64(i64::try_from(m.stream_sequence).unwrap_or(i64::MAX)),
            ),
            header("nats.delivered", &s.int64, Value::Int64(m.delivered)),
        ];
        if let Some(map) = &m.message.headers {
            for (name, values) in map.iter() {
                for v in values {
                    headers.push(header(
                        &format!("nats.{name}"),
                        &s.string,
                        Value::String(v.as_str().to_string()),
                    ));
                }
            }
        }
        let record = SourceRecord {
            source_partition: SourcePartition::empty(),
            source_offset: SourceOffset::empty(),
            topic: topic.clone(),
            kafka_partition: None,
            key_schema: Some(s.string.clone()),
            key: Value::String(subject),
            value_schema: Some(s.bytes.clone()),
            value: Value::Bytes(m.message.payload.to_vec()),
            timestamp: None,
            headers,
        };
        (record, (m.stream_sequence, m.acker))
    }
}

fn header(key: &str, schema: &SchemaRef, value: Value) -> Header {
    Header {
        key: key.to_string(),
        schema: Some(schema.clone()),
        value,
    }
}

/// Connects, binds the durable consumer, and pulls until the task stops;
/// starts over with backoff when any of it fails.
async fn drive(
    shared: Arc<Shared>,
    conn: Connection,
    name: String,
    stream: String,
    consumer: pull::Config,
    tx: mpsc::Sender<Received>,
) {
    let mut backoff = Backoff::new(conn.max_retry);
    let mut client = None;
    loop {
        if client.is_none() {
            match connect(&conn, &name).await {
                Ok(c) => client = Some(c),
                Err(Failure::Refused(why)) => {
                    tracing::error!("{why}");
                    *lock(&shared.fatal) = Some(why);
                    return;
                }
                Err(Failure::Transient(why)) => {
                    tracing::warn!("NATS source cannot connect (will retry): {why}");
                }
            }
        }
        if let Some(c) = &client {
            match consume(&shared, c, &stream, &consumer, &tx).await {
                Ok(()) => return, // the task is gone
                Err(Failure::Refused(why)) => {
                    tracing::error!("{why}");
                    *lock(&shared.fatal) = Some(why);
                    return;
                }
                Err(Failure::Transient(why)) => {
                    shared.connected.set(0);
                    tracing::warn!("NATS source: {why} (will retry)");
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(backoff.next_wait()).await;
    }
}

async fn consume(
    shared: &Shared,
    client: &async_nats::Client,
    stream: &str,
    config: &pull::Config,
    tx: &mpsc::Sender<Received>,
) -> Result<(), Failure> {
    let js = jetstream::new(client.clone());
    let s = js.get_stream(stream).await.map_err(|e| {
        use async_nats::jetstream::context::GetStreamErrorKind;
        match e.kind() {
            GetStreamErrorKind::JetStream(_) => Failure::Refused(format!(
                "NATS stream '{stream}' cannot be read: {e} (check nats.stream; the stream must exist)"
            )),
            _ => Failure::Transient(format!("stream '{stream}': {e}")),
        }
    })?;
    let durable = config.durable_name.clone().unwrap_or_default();
    let consumer: jetstream::consumer::Consumer<pull::Config> = s
        .get_or_create_consumer(&durable, config.clone())
        .await
        .map_err(|e| {
            Failure::Transient(format!("consumer '{durable}' on stream '{stream}': {e}"))
        })?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| Failure::Transient(format!("pulling from consumer '{durable}': {e}")))?;
    shared.connected.set(1);
    tracing::info!(stream, durable = %durable, "NATS source consuming");
    while let Some(next) = messages.next().await {
        let m = next
            .map_err(|e| Failure::Transient(format!("pulling from consumer '{durable}': {e}")))?;
        let (stream_sequence, delivered) = match m.info() {
            Ok(i) => (i.stream_sequence, i.delivered),
            Err(e) => {
                tracing::warn!(error = %e, "NATS source: a message without JetStream metadata; skipped (it is not acknowledged)");
                continue;
            }
        };
        shared.received.set(shared.received.get() + 1);
        let (message, acker) = m.split();
        let r = Received {
            message,
            acker,
            stream_sequence,
            delivered,
        };
        if tx.send(r).await.is_err() {
            return Ok(());
        }
    }
    Err(Failure::Transient(format!(
        "the pull from consumer '{durable}' ended"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_names_are_what_nats_allows() {
        assert_eq!(durable_name("my connector.v1"), "my_connector_v1");
        assert_eq!(durable_name(""), "sluice");
    }
}
