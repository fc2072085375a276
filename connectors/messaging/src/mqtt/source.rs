//! `io.confluent.connect.mqtt.MqttSourceConnector`: MQTT messages into a
//! Kafka topic, acknowledged to the broker (PUBACK, or PUBREC for QoS 2)
//! only after Kafka acknowledged them.
//!
//! A background driver owns the connection: it connects (retrying with
//! backoff, also the first time), subscribes whenever the broker has no
//! session for us, and hands each message to `poll` through a bounded
//! queue, so a slow Kafka slows reading from the broker. Every connection
//! has a generation number; an acknowledgement is sent only on the
//! connection its message arrived on. After a reconnect the broker
//! redelivers everything not acknowledged (persistent session), and those
//! copies are acknowledged instead: a packet id may then name another
//! message, so an acknowledgement from an older connection must never be
//! sent on a newer one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rumqttc::{AsyncClient, Event, Packet, Publish, QoS, SubscribeFilter, SubscribeReasonCode};
use sluice_connect_api::config::ConnectorConfig;
use sluice_connect_api::schema::{SchemaBuilder, SchemaRef, Value};
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, Header, RecordMetadata, SourceAcknowledger, SourceOffset,
    SourcePartition, SourceRecord, SourceTask, SourceTaskContext, TaskGauge, Topic,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::{Connection, MqttSourceConfig};
use super::connection::{self, REQUEST_CAPACITY};
use crate::backoff::{Backoff, Failure};
use crate::sync::lock;

/// A message as the driver received it.
#[derive(Debug)]
struct Received {
    publish: Publish,
    generation: u64,
}

/// What acknowledging one polled record takes.
#[derive(Debug)]
struct Token {
    generation: u64,
    pkid: u16,
    qos: QoS,
    topic: String,
}

/// The connection of the moment, shared by the driver and the acknowledger.
#[derive(Debug, Default)]
struct Current {
    generation: u64,
    client: Option<AsyncClient>,
}

#[derive(Debug, Default)]
struct Shared {
    current: Mutex<Current>,
    fatal: Mutex<Option<String>>,
    connected: TaskGauge,
    subscribed: TaskGauge,
    connections: TaskGauge,
    received: TaskGauge,
    acks_sent: TaskGauge,
    acks_skipped: TaskGauge,
}

/// Sends the acknowledgements, in poll order, on the right connection.
#[derive(Debug)]
struct Acknowledger {
    shared: Arc<Shared>,
    tokens: Mutex<VecDeque<Token>>,
    /// Set when a record and its token disagree: from then on nothing is
    /// acknowledged on this connection (the broker redelivers after the
    /// next reconnect), rather than risk acknowledging the wrong message.
    mismatch_generation: Mutex<Option<u64>>,
}

impl SourceAcknowledger for Acknowledger {
    fn per_record(&self) -> bool {
        true
    }

    fn commit_record(&self, record: &SourceRecord, _metadata: Option<&RecordMetadata>) {
        let Some(token) = lock(&self.tokens).pop_front() else {
            tracing::error!("MQTT source: a record was acknowledged that this task did not poll");
            return;
        };
        if token.qos == QoS::AtMostOnce {
            return;
        }
        let matches = matches!(&record.key, Value::String(t) if *t == token.topic)
            && header_i64(record, "mqtt.message.id") == Some(i64::from(token.pkid));
        if !matches {
            tracing::error!(
                pkid = token.pkid,
                topic = %token.topic,
                "MQTT source: an acknowledged record does not match the message polled in its place; no more acknowledgements on this connection, the broker redelivers after a reconnect"
            );
            *lock(&self.mismatch_generation) = Some(token.generation);
            // Reconnect, so the broker redelivers what this connection
            // will not acknowledge any more.
            let current = lock(&self.shared.current);
            if current.generation == token.generation
                && let Some(c) = &current.client
            {
                let _ = c.try_disconnect();
            }
        }
        let current = lock(&self.shared.current);
        if current.generation != token.generation
            || *lock(&self.mismatch_generation) == Some(token.generation)
        {
            // Received on an earlier connection: the broker redelivered it
            // on this one, and that copy is acknowledged instead.
            self.shared
                .acks_skipped
                .set(self.shared.acks_skipped.get() + 1);
            return;
        }
        let Some(client) = &current.client else {
            self.shared
                .acks_skipped
                .set(self.shared.acks_skipped.get() + 1);
            return;
        };
        let mut ack = Publish::new("", token.qos, Vec::new());
        ack.pkid = token.pkid;
        match client.try_ack(&ack) {
            Ok(()) => self.shared.acks_sent.set(self.shared.acks_sent.get() + 1),
            Err(e) => {
                // Only when the connection is going away; the broker
                // redelivers the message on the next one.
                tracing::warn!(pkid = token.pkid, error = %e, "MQTT source: could not queue an acknowledgement");
                self.shared
                    .acks_skipped
                    .set(self.shared.acks_skipped.get() + 1);
            }
        }
    }
}

fn header_i64(record: &SourceRecord, key: &str) -> Option<i64> {
    record
        .headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| match h.value {
            Value::Int32(v) => Some(i64::from(v)),
            Value::Int64(v) => Some(v),
            _ => None,
        })
}

/// Schemas of the records, made once.
#[derive(Debug)]
struct Schemas {
    string: SchemaRef,
    bytes: SchemaRef,
    int32: SchemaRef,
    boolean: SchemaRef,
}

impl Default for Schemas {
    fn default() -> Self {
        Self {
            string: SchemaBuilder::string().build(),
            bytes: SchemaBuilder::bytes().build(),
            int32: SchemaBuilder::int32().build(),
            boolean: SchemaBuilder::boolean().build(),
        }
    }
}

/// The MQTT source task.
#[derive(Debug, Default)]
pub struct MqttSourceTask {
    rx: Option<mpsc::Receiver<Received>>,
    driver: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    acknowledger: Option<Arc<Acknowledger>>,
    topic: Option<Topic>,
    max_batch: usize,
    empty_timeout: Duration,
    schemas: Schemas,
}

#[async_trait]
impl SourceTask for MqttSourceTask {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()> {
        let cfg = MqttSourceConfig::parse(&config)?;
        let name = config.get("name").map(String::as_str).unwrap_or("");
        let client_id = cfg.conn.client_id(name, cfg.task_index);
        let gauges = ctx.gauges();
        self.shared = Arc::new(Shared {
            connected: gauges.gauge("mqtt-connected"),
            subscribed: gauges.gauge("mqtt-subscribed"),
            connections: gauges.gauge("mqtt-connections"),
            received: gauges.gauge("mqtt-received"),
            acks_sent: gauges.gauge("mqtt-acks-sent"),
            acks_skipped: gauges.gauge("mqtt-acks-skipped"),
            ..Shared::default()
        });
        self.acknowledger = Some(Arc::new(Acknowledger {
            shared: self.shared.clone(),
            tokens: Mutex::default(),
            mismatch_generation: Mutex::default(),
        }));
        let (tx, rx) = mpsc::channel(cfg.queue_size.max(1));
        let filters: Vec<SubscribeFilter> = cfg
            .topics
            .iter()
            .map(|t| SubscribeFilter::new(t.clone(), connection::qos(cfg.conn.qos)))
            .collect();
        tracing::info!(client_id = %client_id, topics = ?cfg.topics, qos = cfg.conn.qos, clean_session = cfg.conn.clean_session, "MQTT source starting");
        self.driver = Some(tokio::spawn(drive(
            self.shared.clone(),
            cfg.conn.clone(),
            client_id,
            filters,
            tx,
        )));
        self.rx = Some(rx);
        self.topic = Some(cfg.kafka_topic.as_str().into());
        self.max_batch = cfg.max_batch.max(1);
        self.empty_timeout = cfg.empty_timeout;
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let rx = self
            .rx
            .as_mut()
            .ok_or_else(|| ConnectError::fatal("the MQTT source task was not started"))?;
        let batch = crate::sync::next_batch(
            rx,
            self.empty_timeout,
            self.max_batch,
            &self.shared.fatal,
            "the MQTT connection driver stopped",
        )
        .await?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let topic = self
            .topic
            .clone()
            .ok_or_else(|| ConnectError::fatal("the MQTT source task was not started"))?;
        let acknowledger = self
            .acknowledger
            .as_ref()
            .ok_or_else(|| ConnectError::fatal("the MQTT source task was not started"))?;
        let mut tokens = Vec::with_capacity(batch.len());
        let records = batch
            .into_iter()
            .map(|m| {
                tokens.push(Token {
                    generation: m.generation,
                    pkid: m.publish.pkid,
                    qos: m.publish.qos,
                    topic: m.publish.topic.clone(),
                });
                self.record(&topic, m.publish)
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
        if let Some(client) = lock(&self.shared.current).client.take() {
            // A clean DISCONNECT; the persistent session stays.
            let _ = client.try_disconnect();
        }
        if let Some(d) = self.driver.take() {
            // Give the DISCONNECT a moment to leave, then stop the driver.
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                while !d.is_finished() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
            .await;
            d.abort();
        }
        self.rx = None;
        Ok(())
    }
}

impl MqttSourceTask {
    /// Confluent's record shape: key = the MQTT topic (string), value =
    /// the payload (bytes), the message's properties as headers.
    fn record(&self, topic: &Topic, p: Publish) -> SourceRecord {
        let s = &self.schemas;
        let qos = match p.qos {
            QoS::AtMostOnce => 0,
            QoS::AtLeastOnce => 1,
            QoS::ExactlyOnce => 2,
        };
        let headers = vec![
            header("mqtt.topic", &s.string, Value::String(p.topic.clone())),
            header("mqtt.qos", &s.int32, Value::Int32(qos)),
            header("mqtt.duplicate", &s.boolean, Value::Boolean(p.dup)),
            header("mqtt.retained", &s.boolean, Value::Boolean(p.retain)),
            header("mqtt.message.id", &s.int32, Value::Int32(i32::from(p.pkid))),
        ];
        SourceRecord {
            source_partition: SourcePartition::empty(),
            source_offset: SourceOffset::empty(),
            topic: topic.clone(),
            kafka_partition: None,
            key_schema: Some(s.string.clone()),
            key: Value::String(p.topic),
            value_schema: Some(s.bytes.clone()),
            value: Value::Bytes(p.payload.to_vec()),
            timestamp: None,
            headers,
        }
    }
}

fn header(key: &str, schema: &SchemaRef, value: Value) -> Header {
    Header {
        key: key.to_string(),
        schema: Some(schema.clone()),
        value,
    }
}

/// Connects, subscribes and reads until the task stops; reconnects with
/// backoff. Returns when the task's queue is gone or the broker refuses
/// the configuration (then `fatal` says why).
async fn drive(
    shared: Arc<Shared>,
    conn: Connection,
    client_id: String,
    filters: Vec<SubscribeFilter>,
    tx: mpsc::Sender<Received>,
) {
    let mut backoff = Backoff::new(conn.max_retry);
    let mut attempt = 0usize;
    let mut generation = 0u64;
    loop {
        let (mut options, server) = match connection::options(&conn, &client_id, attempt) {
            Ok(o) => o,
            Err(why) => {
                tracing::error!("{why}");
                *lock(&shared.fatal) = Some(why);
                return;
            }
        };
        // PUBACK only when the acknowledger says Kafka has the message.
        options.set_manual_acks(true);
        let (client, mut events) = AsyncClient::new(options, REQUEST_CAPACITY);
        events
            .network_options
            .set_connection_timeout(u64::from(conn.connect_timeout_secs));
        events.network_options.set_tcp_nodelay(true);
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                generation += 1;
                {
                    let mut cur = lock(&shared.current);
                    cur.generation = generation;
                    cur.client = Some(client.clone());
                }
                shared.connected.set(1);
                shared.connections.set(shared.connections.get() + 1);
                tracing::info!(server = %server, session_present = ack.session_present, generation, "MQTT source connected");
                // Subscribe on every connection, also when the broker kept
                // the session: the filters may have changed since.
                if let Err(e) = client.try_subscribe_many(filters.clone()) {
                    tracing::warn!(error = %e, "MQTT source: could not queue the subscription");
                }
                let lost = pump(&shared, &mut events, generation, &tx).await;
                {
                    let mut cur = lock(&shared.current);
                    cur.client = None;
                }
                shared.connected.set(0);
                shared.subscribed.set(0);
                match lost {
                    Pumped::TaskGone => return,
                    Pumped::Refused(why) => {
                        tracing::error!("{why}");
                        *lock(&shared.fatal) = Some(why);
                        return;
                    }
                    Pumped::Lost(why) => {
                        tracing::warn!(server = %server, "MQTT source lost its connection: {why}");
                        backoff.reset();
                    }
                }
            }
            Ok(other) => {
                tracing::warn!(server = %server, event = ?other, "MQTT source: expected a CONNACK");
            }
            Err(e) => match connection::classify(&server, &client_id, &e) {
                Failure::Refused(why) => {
                    tracing::error!("{why}");
                    *lock(&shared.fatal) = Some(why);
                    return;
                }
                Failure::Transient(why) => {
                    tracing::warn!("MQTT source cannot connect (will retry): {why}");
                }
            },
        }
        if tx.is_closed() {
            return;
        }
        attempt += 1;
        tokio::time::sleep(backoff.next_wait()).await;
    }
}

enum Pumped {
    TaskGone,
    Refused(String),
    Lost(String),
}

async fn pump(
    shared: &Shared,
    events: &mut rumqttc::EventLoop,
    generation: u64,
    tx: &mpsc::Sender<Received>,
) -> Pumped {
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                shared.received.set(shared.received.get() + 1);
                if tx
                    .send(Received {
                        publish,
                        generation,
                    })
                    .await
                    .is_err()
                {
                    return Pumped::TaskGone;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack.return_codes.contains(&SubscribeReasonCode::Failure) {
                    return Pumped::Refused(
                        "the MQTT broker refused a subscription in mqtt.topics (check the topic filters and the broker's ACLs)".to_string(),
                    );
                }
                shared.subscribed.set(1);
            }
            Ok(_) => {}
            Err(e) => return Pumped::Lost(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_for(task: &MqttSourceTask, topic: &str, pkid: u16) -> SourceRecord {
        let mut p = Publish::new(topic, QoS::AtLeastOnce, b"x".to_vec());
        p.pkid = pkid;
        task.record(&Topic::from("k"), p)
    }

    #[test]
    fn records_have_confluents_shape() {
        let task = MqttSourceTask::default();
        let mut p = Publish::new("a/b", QoS::AtLeastOnce, b"payload".to_vec());
        p.pkid = 9;
        p.dup = true;
        let r = task.record(&Topic::from("k"), p);
        assert_eq!(r.key, Value::String("a/b".into()));
        assert_eq!(r.value, Value::Bytes(b"payload".to_vec()));
        let h: Vec<(&str, &Value)> = r
            .headers
            .iter()
            .map(|h| (h.key.as_str(), &h.value))
            .collect();
        assert_eq!(
            h,
            vec![
                ("mqtt.topic", &Value::String("a/b".into())),
                ("mqtt.qos", &Value::Int32(1)),
                ("mqtt.duplicate", &Value::Boolean(true)),
                ("mqtt.retained", &Value::Boolean(false)),
                ("mqtt.message.id", &Value::Int32(9)),
            ]
        );
    }

    fn acknowledger(generation: u64) -> (Acknowledger, Arc<Shared>) {
        let shared = Arc::new(Shared::default());
        lock(&shared.current).generation = generation;
        (
            Acknowledger {
                shared: shared.clone(),
                tokens: Mutex::default(),
                mismatch_generation: Mutex::default(),
            },
            shared,
        )
    }

    fn token(generation: u64, pkid: u16, topic: &str) -> Token {
        Token {
            generation,
            pkid,
            qos: QoS::AtLeastOnce,
            topic: topic.into(),
        }
    }

    #[test]
    fn acknowledgements_from_an_earlier_connection_are_not_sent() {
        let task = MqttSourceTask::default();
        let (a, shared) = acknowledger(2);
        lock(&a.tokens).push_back(token(1, 5, "t"));
        a.commit_record(&record_for(&task, "t", 5), None);
        assert_eq!((shared.acks_sent.get(), shared.acks_skipped.get()), (0, 1));
    }

    #[test]
    fn a_record_that_does_not_match_its_token_stops_acknowledgements() {
        let task = MqttSourceTask::default();
        let (a, shared) = acknowledger(1);
        lock(&a.tokens).push_back(token(1, 5, "t"));
        lock(&a.tokens).push_back(token(1, 6, "t"));
        a.commit_record(&record_for(&task, "t", 4), None);
        a.commit_record(&record_for(&task, "t", 6), None);
        assert_eq!((shared.acks_sent.get(), shared.acks_skipped.get()), (0, 2));
    }
}
