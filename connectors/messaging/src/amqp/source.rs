//! `io.confluent.connect.rabbitmq.RabbitMQSourceConnector`: messages from
//! RabbitMQ queues into a Kafka topic, acknowledged to the broker only
//! after Kafka acknowledged them.
//!
//! A background driver owns the connection, with one channel per queue:
//! delivery tags are per channel and increase in delivery order, and the
//! task polls each queue's messages in that order, so once Kafka has a
//! record, one `basic.ack` with `multiple` for its tag acknowledges it and
//! everything before it on that channel. `basic.qos` bounds what the broker
//! sends ahead of those acknowledgements. Every connection has a
//! generation: an acknowledgement is sent only on the connection its
//! message arrived on; after a reconnect the broker redelivers what was not
//! acknowledged (flagged `redelivered`), and that copy is acknowledged.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use sluice_connect_api::config::ConnectorConfig;
use sluice_connect_api::schema::{SchemaBuilder, SchemaRef, Value};
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, Header, RecordMetadata, SourceAcknowledger, SourceOffset,
    SourcePartition, SourceRecord, SourceTask, SourceTaskContext, TaskGauge, Topic,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::{Connection as ConnConfig, RabbitSourceConfig};
use super::connection::{classify, open};
use crate::backoff::{Backoff, Failure};
use crate::sync::lock;

#[derive(Debug)]
struct Received {
    delivery: Delivery,
    queue: usize,
    generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    generation: u64,
    queue: usize,
    tag: u64,
}

#[derive(Debug, Default)]
struct Current {
    generation: u64,
    channels: Vec<Channel>,
}

#[derive(Debug, Default)]
struct Shared {
    current: Mutex<Current>,
    fatal: Mutex<Option<String>>,
    connected: TaskGauge,
    connections: TaskGauge,
    received: TaskGauge,
    acks_sent: TaskGauge,
    acks_skipped: TaskGauge,
}

/// What the ack task is asked to do.
#[derive(Debug)]
enum AckMsg {
    Ack(Token),
    /// A record did not match its token: send nothing more on that
    /// connection and close its channels, so the broker redelivers.
    Poison(u64),
}

/// Hands acknowledged tags to the ack task, in poll order.
#[derive(Debug)]
struct Acknowledger {
    shared: Arc<Shared>,
    tokens: Mutex<VecDeque<Token>>,
    acks: mpsc::UnboundedSender<AckMsg>,
}

impl SourceAcknowledger for Acknowledger {
    fn per_record(&self) -> bool {
        true
    }

    fn commit_record(&self, record: &SourceRecord, _metadata: Option<&RecordMetadata>) {
        let Some(token) = lock(&self.tokens).pop_front() else {
            tracing::error!(
                "RabbitMQ source: a record was acknowledged that this task did not poll"
            );
            return;
        };
        let tag = record
            .headers
            .iter()
            .find(|h| h.key == "rabbitmq.delivery.tag");
        if !matches!(tag.map(|h| &h.value), Some(Value::Int64(t)) if *t as u64 == token.tag) {
            // Never acknowledge on a guess: reconnect, and the broker
            // redelivers.
            tracing::error!(
                tag = token.tag,
                "RabbitMQ source: an acknowledged record does not match the message polled in its place; reconnecting without acknowledging it"
            );
            self.shared
                .acks_skipped
                .set(self.shared.acks_skipped.get() + 1);
            let _ = self.acks.send(AckMsg::Poison(token.generation));
            return;
        }
        if self.acks.send(AckMsg::Ack(token)).is_err() {
            self.shared
                .acks_skipped
                .set(self.shared.acks_skipped.get() + 1);
        }
    }
}

/// Sends `basic.ack` with `multiple` for the highest tag acknowledged per
/// channel, as the tokens come.
async fn ack_loop(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<AckMsg>) {
    while let Some(first) = rx.recv().await {
        let mut highest: BTreeMap<(u64, usize), u64> = BTreeMap::new();
        let mut note = |m: AckMsg| match m {
            AckMsg::Ack(t) => {
                let e = highest.entry((t.generation, t.queue)).or_insert(t.tag);
                *e = (*e).max(t.tag);
            }
            AckMsg::Poison(generation) => {
                let channels = {
                    let mut cur = lock(&shared.current);
                    if cur.generation == generation {
                        std::mem::take(&mut cur.channels)
                    } else {
                        Vec::new()
                    }
                };
                for ch in channels {
                    tokio::spawn(async move {
                        let _ = ch.close(200, "reconnecting".into()).await;
                    });
                }
            }
        };
        note(first);
        while let Ok(m) = rx.try_recv() {
            note(m);
        }
        for ((generation, queue), tag) in highest {
            let channel = {
                let cur = lock(&shared.current);
                (cur.generation == generation)
                    .then(|| cur.channels.get(queue).cloned())
                    .flatten()
            };
            let Some(channel) = channel else {
                // An earlier connection's delivery: redelivered on this one.
                shared.acks_skipped.set(shared.acks_skipped.get() + 1);
                continue;
            };
            match channel
                .basic_ack(tag, BasicAckOptions { multiple: true })
                .await
            {
                Ok(()) => shared.acks_sent.set(shared.acks_sent.get() + 1),
                Err(e) => {
                    tracing::warn!(tag, error = %e, "RabbitMQ source: basic.ack failed; the broker redelivers after a reconnect");
                    shared.acks_skipped.set(shared.acks_skipped.get() + 1);
                }
            }
        }
    }
}

#[derive(Debug)]
struct Schemas {
    bytes: SchemaRef,
    string: SchemaRef,
    opt_string: SchemaRef,
    int64: SchemaRef,
    int32: SchemaRef,
    boolean: SchemaRef,
    float64: SchemaRef,
}

impl Default for Schemas {
    fn default() -> Self {
        Self {
            bytes: SchemaBuilder::bytes().build(),
            string: SchemaBuilder::string().build(),
            opt_string: SchemaBuilder::string().optional().build(),
            int64: SchemaBuilder::int64().build(),
            int32: SchemaBuilder::int32().build(),
            boolean: SchemaBuilder::boolean().build(),
            float64: SchemaBuilder::float64().build(),
        }
    }
}

/// The RabbitMQ source task.
#[derive(Debug, Default)]
pub struct RabbitSourceTask {
    rx: Option<mpsc::Receiver<Received>>,
    tasks: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    acknowledger: Option<Arc<Acknowledger>>,
    topic: Option<Topic>,
    queues: Vec<String>,
    batch_size: usize,
    poll_wait: Duration,
    schemas: Schemas,
    /// The worker's correlation header (`correlation.id.header`): a
    /// message's `correlation_id` travels on in it.
    correlation_header: Option<String>,
}

#[async_trait]
impl SourceTask for RabbitSourceTask {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()> {
        let cfg = RabbitSourceConfig::parse(&config)?;
        let name = config.get("name").cloned().unwrap_or_default();
        let gauges = ctx.gauges();
        self.shared = Arc::new(Shared {
            connected: gauges.gauge("rabbitmq-connected"),
            connections: gauges.gauge("rabbitmq-connections"),
            received: gauges.gauge("rabbitmq-received"),
            acks_sent: gauges.gauge("rabbitmq-acks-sent"),
            acks_skipped: gauges.gauge("rabbitmq-acks-skipped"),
            ..Shared::default()
        });
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        self.acknowledger = Some(Arc::new(Acknowledger {
            shared: self.shared.clone(),
            tokens: Mutex::default(),
            acks: ack_tx,
        }));
        let prefetch = cfg
            .prefetch
            .unwrap_or_else(|| u16::try_from(cfg.batch_size.saturating_mul(2)).unwrap_or(u16::MAX));
        let (tx, rx) = mpsc::channel(cfg.batch_size.max(1));
        let driver = Driver {
            shared: self.shared.clone(),
            conn: cfg.conn.clone(),
            queues: cfg.queues.clone(),
            prefetch,
            prefetch_global: cfg.prefetch_global,
            name,
        };
        tracing::info!(queues = ?cfg.queues, prefetch, "RabbitMQ source starting");
        self.tasks = vec![
            tokio::spawn(driver.run(tx)),
            tokio::spawn(ack_loop(self.shared.clone(), ack_rx)),
        ];
        self.rx = Some(rx);
        self.topic = Some(cfg.kafka_topic.as_str().into());
        self.queues = cfg.queues;
        self.batch_size = cfg.batch_size.max(1);
        self.poll_wait = cfg.poll_wait;
        self.correlation_header = correlation_header(&config);
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let not_started = || ConnectError::fatal("the RabbitMQ source task was not started");
        let rx = self.rx.as_mut().ok_or_else(not_started)?;
        let batch = crate::sync::next_batch(
            rx,
            self.poll_wait,
            self.batch_size,
            &self.shared.fatal,
            "the RabbitMQ connection driver stopped",
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
                tokens.push(Token {
                    generation: m.generation,
                    queue: m.queue,
                    tag: m.delivery.delivery_tag,
                });
                self.record(&topic, m)
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
        lock(&self.shared.current).channels.clear();
        self.rx = None;
        Ok(())
    }
}

impl RabbitSourceTask {
    /// Value = the body (bytes), key = the `message_id` (or null), the
    /// delivery and the message's properties and headers as `rabbitmq.*`
    /// headers.
    fn record(&self, topic: &Topic, m: Received) -> SourceRecord {
        let s = &self.schemas;
        let d = m.delivery;
        let mut headers = vec![
            header(
                "rabbitmq.queue",
                &s.string,
                Value::String(self.queues.get(m.queue).cloned().unwrap_or_default()),
            ),
            header(
                "rabbitmq.exchange",
                &s.string,
                Value::String(d.exchange.to_string()),
            ),
            header(
                "rabbitmq.routing.key",
                &s.string,
                Value::String(d.routing_key.to_string()),
            ),
            header(
                "rabbitmq.delivery.tag",
                &s.int64,
                Value::Int64(d.delivery_tag as i64),
            ),
            header(
                "rabbitmq.redelivered",
                &s.boolean,
                Value::Boolean(d.redelivered),
            ),
        ];
        properties(&d.properties, s, &mut headers);
        if let (Some(name), Some(id)) = (&self.correlation_header, d.properties.correlation_id()) {
            headers.push(header(name, &s.string, Value::String(id.to_string())));
        }
        let key = d
            .properties
            .message_id()
            .as_ref()
            .map_or(Value::Null, |id| Value::String(id.to_string()));
        SourceRecord {
            source_partition: SourcePartition::empty(),
            source_offset: SourceOffset::empty(),
            topic: topic.clone(),
            kafka_partition: None,
            key_schema: Some(s.opt_string.clone()),
            key,
            value_schema: Some(s.bytes.clone()),
            value: Value::Bytes(d.data),
            timestamp: None,
            headers,
        }
    }
}

/// The header correlation ids travel in (`correlation.id.header`, default
/// `correlation-id`; empty turns them off).
pub(crate) fn correlation_header(config: &Config) -> Option<String> {
    let h = config
        .get("correlation.id.header")
        .map_or("correlation-id", |h| h.trim());
    (!h.is_empty()).then(|| h.to_string())
}

fn header(key: &str, schema: &SchemaRef, value: Value) -> Header {
    Header {
        key: key.to_string(),
        schema: Some(schema.clone()),
        value,
    }
}

fn properties(p: &BasicProperties, s: &Schemas, out: &mut Vec<Header>) {
    let mut text = |key: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push(header(key, &s.string, Value::String(v)));
        }
    };
    text(
        "rabbitmq.content.type",
        p.content_type().as_ref().map(|v| v.to_string()),
    );
    text(
        "rabbitmq.content.encoding",
        p.content_encoding().as_ref().map(|v| v.to_string()),
    );
    text(
        "rabbitmq.correlation.id",
        p.correlation_id().as_ref().map(|v| v.to_string()),
    );
    text(
        "rabbitmq.reply.to",
        p.reply_to().as_ref().map(|v| v.to_string()),
    );
    text(
        "rabbitmq.expiration",
        p.expiration().as_ref().map(|v| v.to_string()),
    );
    text(
        "rabbitmq.message.id",
        p.message_id().as_ref().map(|v| v.to_string()),
    );
    text("rabbitmq.type", p.kind().as_ref().map(|v| v.to_string()));
    text(
        "rabbitmq.user.id",
        p.user_id().as_ref().map(|v| v.to_string()),
    );
    text(
        "rabbitmq.app.id",
        p.app_id().as_ref().map(|v| v.to_string()),
    );
    if let Some(m) = p.delivery_mode() {
        out.push(header(
            "rabbitmq.delivery.mode",
            &s.int32,
            Value::Int32(i32::from(*m)),
        ));
    }
    if let Some(pr) = p.priority() {
        out.push(header(
            "rabbitmq.priority",
            &s.int32,
            Value::Int32(i32::from(*pr)),
        ));
    }
    if let Some(t) = p.timestamp() {
        out.push(header(
            "rabbitmq.timestamp",
            &s.int64,
            Value::Int64(*t as i64),
        ));
    }
    if let Some(table) = p.headers() {
        for (k, v) in table {
            if let Some((schema, value)) = field_value(v, s) {
                out.push(header(&format!("rabbitmq.{k}"), &schema, value));
            }
        }
    }
}

/// A message header's value as a Kafka header value; nested tables and
/// arrays as their text.
fn field_value(v: &AMQPValue, s: &Schemas) -> Option<(SchemaRef, Value)> {
    Some(match v {
        AMQPValue::Boolean(b) => (s.boolean.clone(), Value::Boolean(*b)),
        AMQPValue::ShortShortInt(n) => (s.int32.clone(), Value::Int32(i32::from(*n))),
        AMQPValue::ShortShortUInt(n) => (s.int32.clone(), Value::Int32(i32::from(*n))),
        AMQPValue::ShortInt(n) => (s.int32.clone(), Value::Int32(i32::from(*n))),
        AMQPValue::ShortUInt(n) => (s.int32.clone(), Value::Int32(i32::from(*n))),
        AMQPValue::LongInt(n) => (s.int32.clone(), Value::Int32(*n)),
        AMQPValue::LongUInt(n) => (s.int64.clone(), Value::Int64(i64::from(*n))),
        AMQPValue::LongLongInt(n) => (s.int64.clone(), Value::Int64(*n)),
        AMQPValue::Timestamp(n) => (s.int64.clone(), Value::Int64(*n as i64)),
        AMQPValue::Float(f) => (s.float64.clone(), Value::Float64(f64::from(*f))),
        AMQPValue::Double(f) => (s.float64.clone(), Value::Float64(*f)),
        AMQPValue::ShortString(t) => (s.string.clone(), Value::String(t.to_string())),
        AMQPValue::LongString(t) => match std::str::from_utf8(t.as_bytes()) {
            Ok(text) => (s.string.clone(), Value::String(text.to_string())),
            Err(_) => (s.bytes.clone(), Value::Bytes(t.as_bytes().to_vec())),
        },
        AMQPValue::ByteArray(b) => (s.bytes.clone(), Value::Bytes(b.as_slice().to_vec())),
        AMQPValue::Void => return None,
        other => (s.string.clone(), Value::String(format!("{other:?}"))),
    })
}

/// Connects, consumes and reconnects.
struct Driver {
    shared: Arc<Shared>,
    conn: ConnConfig,
    queues: Vec<String>,
    prefetch: u16,
    prefetch_global: bool,
    name: String,
}

impl Driver {
    async fn run(self, tx: mpsc::Sender<Received>) {
        let mut backoff = Backoff::new(self.conn.recovery_interval);
        let mut generation = 0u64;
        loop {
            match self.connect().await {
                Ok((connection, channels, consumers)) => {
                    generation += 1;
                    {
                        let mut cur = lock(&self.shared.current);
                        cur.generation = generation;
                        cur.channels = channels;
                    }
                    self.shared.connected.set(1);
                    self.shared
                        .connections
                        .set(self.shared.connections.get() + 1);
                    backoff.reset();
                    tracing::info!(host = %self.conn.host, generation, "RabbitMQ source connected");
                    // Each consumer's stream ends with a `None`: a queue the
                    // broker stopped delivering from (deleted, failed over)
                    // makes the task reconnect rather than go quiet.
                    let streams = consumers.into_iter().enumerate().map(|(i, c)| {
                        c.map(move |d| (i, Some(d)))
                            .chain(futures::stream::iter([(i, None)]))
                    });
                    let mut all = futures::stream::select_all(streams);
                    let why = loop {
                        match all.next().await {
                            Some((queue, Some(Ok(delivery)))) => {
                                self.shared.received.set(self.shared.received.get() + 1);
                                let m = Received {
                                    delivery,
                                    queue,
                                    generation,
                                };
                                if tx.send(m).await.is_err() {
                                    let _ = connection.close(200, "task stopped".into()).await;
                                    return;
                                }
                            }
                            Some((_, Some(Err(e)))) => break e.to_string(),
                            Some((queue, None)) => {
                                break format!(
                                    "the broker stopped delivering from queue '{}'",
                                    self.queues.get(queue).map_or("?", String::as_str)
                                );
                            }
                            None => break "the consumers were cancelled".to_string(),
                        }
                    };
                    lock(&self.shared.current).channels.clear();
                    self.shared.connected.set(0);
                    let _ = connection.close(200, "reconnecting".into()).await;
                    if !self.conn.automatic_recovery {
                        self.fail(format!(
                            "the RabbitMQ connection was lost ({why}) and rabbitmq.automatic.recovery.enabled is false"
                        ));
                        return;
                    }
                    tracing::warn!(host = %self.conn.host, "RabbitMQ source lost its connection: {why}");
                }
                Err(Failure::Refused(why)) => {
                    self.fail(why);
                    return;
                }
                Err(Failure::Transient(why)) => {
                    if !self.conn.automatic_recovery {
                        self.fail(format!(
                            "{why} (rabbitmq.automatic.recovery.enabled is false, so the task does not retry)"
                        ));
                        return;
                    }
                    tracing::warn!("RabbitMQ source cannot connect (will retry): {why}");
                }
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(backoff.next_wait()).await;
        }
    }

    fn fail(&self, why: String) {
        tracing::error!("{why}");
        *lock(&self.shared.fatal) = Some(why);
    }

    async fn connect(&self) -> Result<(Connection, Vec<Channel>, Vec<lapin::Consumer>), Failure> {
        let where_ = format!(
            "RabbitMQ {}:{}{}",
            self.conn.host,
            self.conn.port,
            vhost_suffix(&self.conn.vhost)
        );
        let props = ConnectionProperties::default()
            .with_connection_name(format!("sluice {}", self.name).into());
        let connection = tokio::time::timeout(
            self.conn.connection_timeout,
            open(&self.conn, props, &where_),
        )
        .await
        .map_err(|_| {
            Failure::Transient(format!(
                "{where_}: no connection within rabbitmq.connection.timeout.ms"
            ))
        })??;
        let mut channels = Vec::new();
        let mut consumers = Vec::new();
        for (i, queue) in self.queues.iter().enumerate() {
            let what = format!("queue '{queue}'");
            let channel = connection
                .create_channel()
                .await
                .map_err(|e| classify(&where_, &what, &e))?;
            channel
                .basic_qos(
                    self.prefetch,
                    BasicQosOptions {
                        global: self.prefetch_global,
                    },
                )
                .await
                .map_err(|e| classify(&where_, &what, &e))?;
            let tag = format!("sluice-{}-{i}", self.name);
            let consumer = channel
                .basic_consume(
                    queue.as_str().into(),
                    tag.as_str().into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| classify(&where_, &what, &e))?;
            channels.push(channel);
            consumers.push(consumer);
        }
        Ok((connection, channels, consumers))
    }
}

fn vhost_suffix(vhost: &str) -> String {
    if vhost == "/" {
        String::new()
    } else {
        format!(" (virtual host '{vhost}')")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_keep_their_types() {
        let s = Schemas::default();
        assert_eq!(
            field_value(&AMQPValue::LongInt(7), &s).map(|x| x.1),
            Some(Value::Int32(7))
        );
        assert_eq!(
            field_value(&AMQPValue::LongString("abc".into()), &s).map(|x| x.1),
            Some(Value::String("abc".into()))
        );
        assert_eq!(
            field_value(&AMQPValue::Boolean(true), &s).map(|x| x.1),
            Some(Value::Boolean(true))
        );
        assert!(field_value(&AMQPValue::Void, &s).is_none());
    }

    #[test]
    fn properties_become_headers() {
        let s = Schemas::default();
        let mut table = FieldTable::default();
        table.insert("trace".into(), AMQPValue::LongString("t-1".into()));
        let p = BasicProperties::default()
            .with_message_id("m-1".into())
            .with_correlation_id("c-1".into())
            .with_content_type("application/json".into())
            .with_headers(table);
        let mut out = Vec::new();
        properties(&p, &s, &mut out);
        let got: Vec<(&str, &Value)> = out.iter().map(|h| (h.key.as_str(), &h.value)).collect();
        assert!(got.contains(&("rabbitmq.message.id", &Value::String("m-1".into()))));
        assert!(got.contains(&("rabbitmq.correlation.id", &Value::String("c-1".into()))));
        assert!(got.contains(&(
            "rabbitmq.content.type",
            &Value::String("application/json".into())
        )));
        assert!(got.contains(&("rabbitmq.trace", &Value::String("t-1".into()))));
    }
}
