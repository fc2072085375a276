//! `io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector`: Kafka
//! records published to a RabbitMQ exchange with publisher confirms; Kafka
//! offsets commit only over records the broker confirmed.
//!
//! Every publish is `mandatory`, so a message no queue takes comes back as
//! an error instead of vanishing, and carries `message_id` =
//! `<topic>-<partition>-<offset>`, so consumers can drop the repeats that
//! at-least-once delivery brings. The task keeps each record until its
//! confirmation arrived (the outbox); a lost connection publishes again
//! everything not confirmed.

use std::collections::{BTreeMap, HashMap, VecDeque};

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
    PublisherConfirm,
};
use sluice_connect_api::config::ConnectorConfig;
use sluice_connect_api::schema::Value;
use sluice_connect_api::schema::converter::JsonConverter;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, SinkRecord, SinkTask, SinkTaskContext, TopicPartition,
};

use super::config::{DeliveryMode, RabbitSinkConfig};
use super::connection::{classify, open};
use crate::backoff::Failure;
use crate::template::Template;

/// One record on its way to the broker.
#[derive(Debug)]
struct Entry {
    tp: TopicPartition,
    offset: i64,
    routing_key: String,
    payload: Vec<u8>,
    properties: BasicProperties,
    /// The confirmation awaited, on the current channel; `None` when it
    /// must be published (again).
    confirm: Option<PublisherConfirm>,
    done: bool,
}

#[derive(Debug)]
struct Link {
    connection: Connection,
    channel: Channel,
}

/// The RabbitMQ sink task.
#[derive(Debug, Default)]
pub struct RabbitSinkTask {
    cfg: Option<RabbitSinkConfig>,
    name: String,
    template: Option<Template>,
    link: Option<Link>,
    outbox: VecDeque<Entry>,
    json: Option<JsonConverter>,
    ctx: Option<SinkTaskContext>,
    /// Commits in a row that ended with publishes unconfirmed.
    short_commits: u32,
    correlation_header: Option<String>,
}

#[async_trait]
impl SinkTask for RabbitSinkTask {
    async fn start(&mut self, config: Config, ctx: SinkTaskContext) -> ConnectResult<()> {
        let cfg = RabbitSinkConfig::parse(&config)?;
        self.template = if cfg.routing_key.is_empty() {
            None
        } else {
            Some(Template::parse(&cfg.routing_key).map_err(|e| {
                ConnectError::fatal(format!("Invalid configuration rabbitmq.routing.key: {e}"))
            })?)
        };
        self.json = Some(crate::sink_util::json_converter()?);
        self.name = config.get("name").cloned().unwrap_or_default();
        self.correlation_header = super::source::correlation_header(&config);
        self.ctx = Some(ctx);
        tracing::info!(exchange = %cfg.exchange, routing_key = %cfg.routing_key, "RabbitMQ sink starting");
        self.cfg = Some(cfg);
        // A first connection now, so a wrong exchange or password fails
        // the task at once; a broker that is down is retried by `put`.
        match self.connect().await {
            Ok(()) | Err(Failure::Transient(_)) => Ok(()),
            Err(Failure::Refused(why)) => Err(ConnectError::fatal(why)),
        }
    }

    async fn put(&mut self, records: &mut Vec<SinkRecord>) -> ConnectResult<()> {
        let max = self.cfg()?.max_batch.max(1);
        let mut taken = 0;
        let result = loop {
            if taken == records.len() {
                break Ok(());
            }
            if self.pending() >= max {
                // Make room: wait for the oldest confirmations.
                if let Err(e) = self.settle(false).await {
                    break Err(e);
                }
                if self.pending() >= max {
                    break Err(ConnectError::retriable(
                        "the RabbitMQ broker confirmed too little within rabbitmq.publish.ack.timeout",
                    ));
                }
            }
            let record = &records[taken];
            taken += 1;
            if let Some(entry) = self.entry(record)? {
                self.outbox.push_back(entry);
            }
        };
        records.drain(..taken);
        match self.publish_unsent().await {
            Ok(()) => result,
            Err(e) => result.and(Err(e)),
        }
    }

    async fn pre_commit(
        &mut self,
        offsets: BTreeMap<TopicPartition, i64>,
    ) -> ConnectResult<BTreeMap<TopicPartition, i64>> {
        let all = self.settle(true).await;
        if let Err(e) = all {
            if !e.is_retriable() {
                return Err(e);
            }
            tracing::warn!(error = %e.trace(), "RabbitMQ sink: committing only what the broker confirmed");
        }
        let waiting = self.outbox.iter().filter(|e| !e.done).count();
        if waiting > 0 {
            self.short_commits += 1;
            let max = self.cfg()?.max_retries;
            if self.short_commits > max {
                return Err(ConnectError::fatal(format!(
                    "{waiting} publishes were still unconfirmed after {} commits (rabbitmq.publish.max.retries = {max})",
                    self.short_commits
                )));
            }
        } else {
            self.short_commits = 0;
        }
        Ok(self.committable(offsets))
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        if let Some(link) = self.link.take() {
            let _ = link.connection.close(200, "task stopped".into()).await;
        }
        Ok(())
    }
}

impl RabbitSinkTask {
    fn cfg(&self) -> ConnectResult<&RabbitSinkConfig> {
        self.cfg
            .as_ref()
            .ok_or_else(|| ConnectError::fatal("the RabbitMQ sink task was not started"))
    }

    fn pending(&self) -> usize {
        self.outbox.iter().filter(|e| !e.done).count()
    }

    /// The message of a record; `None` when it was reported as errant.
    fn entry(&self, record: &SinkRecord) -> ConnectResult<Option<Entry>> {
        match self.message(record) {
            Ok((routing_key, payload, properties)) => Ok(Some(Entry {
                tp: record.topic_partition(),
                offset: record.kafka_offset,
                routing_key,
                payload,
                properties,
                confirm: None,
                done: false,
            })),
            Err(why) => crate::sink_util::errant(self.ctx.as_ref(), record, &why).map(|()| None),
        }
    }

    fn message(&self, record: &SinkRecord) -> Result<(String, Vec<u8>, BasicProperties), String> {
        let cfg = self.cfg().map_err(|e| e.to_string())?;
        let routing_key = match &self.template {
            Some(t) => t.render(record)?,
            None => String::new(),
        };
        if routing_key.len() > 255 {
            return Err(format!(
                "the routing key is {} bytes; AMQP allows 255",
                routing_key.len()
            ));
        }
        let payload = crate::sink_util::body(record, self.json.as_ref())?;
        let mut message_id = format!(
            "{}-{}-{}",
            record.topic, record.kafka_partition, record.kafka_offset
        );
        if message_id.len() > 255 {
            // AMQP's short strings hold 255 bytes: keep the end, which has
            // the partition and offset (topic names are ASCII).
            message_id = message_id.split_off(message_id.len() - 255);
        }
        let mut props = BasicProperties::default()
            .with_message_id(ShortString::from(message_id))
            .with_delivery_mode(match cfg.delivery_mode {
                DeliveryMode::Persistent => 2,
                DeliveryMode::Transient => 1,
            });
        if let Some(ts) = record.timestamp.filter(|t| *t >= 0) {
            props = props.with_timestamp(u64::try_from(ts / 1000).unwrap_or(0));
        }
        // The record's key (Confluent's rabbitmq.forward.kafka.key), else
        // the correlation id the record carries from its source.
        let correlation = if cfg.forward_key {
            text(&record.key)
        } else {
            self.correlation_header.as_ref().and_then(|name| {
                record
                    .headers
                    .iter()
                    .rev()
                    .find(|h| &h.key == name)
                    .and_then(|h| text(&h.value))
            })
        };
        if let Some(id) = correlation.filter(|id| id.len() <= 255) {
            props = props.with_correlation_id(ShortString::from(id));
        }
        let mut headers = FieldTable::default();
        if cfg.forward_metadata {
            headers.insert(
                "KAFKA_TOPIC".into(),
                AMQPValue::LongString(LongString::from(record.topic.to_string())),
            );
            headers.insert(
                "KAFKA_PARTITION".into(),
                AMQPValue::LongInt(record.kafka_partition),
            );
            headers.insert(
                "KAFKA_OFFSET".into(),
                AMQPValue::LongLongInt(record.kafka_offset),
            );
        }
        if cfg.forward_headers {
            for h in record.headers.iter().filter(|h| h.key.len() <= 255) {
                if let Some(v) = header_value(&h.value) {
                    headers.insert(h.key.as_str().into(), v);
                }
            }
        }
        if !headers.inner().is_empty() {
            props = props.with_headers(headers);
        }
        Ok((routing_key, payload, props))
    }

    async fn connect(&mut self) -> Result<(), Failure> {
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| Failure::Refused("the RabbitMQ sink task was not started".into()))?;
        let where_ = format!("RabbitMQ {}:{}", cfg.conn.host, cfg.conn.port);
        let props = ConnectionProperties::default()
            .with_connection_name(format!("sluice {}", self.name).into());
        let connection =
            tokio::time::timeout(cfg.conn.connection_timeout, open(&cfg.conn, props, &where_))
                .await
                .map_err(|_| {
                    Failure::Transient(format!(
                        "{where_}: no connection within rabbitmq.connection.timeout.ms"
                    ))
                })??;
        let what = format!("exchange '{}'", cfg.exchange);
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| classify(&where_, &what, &e))?;
        channel
            .exchange_declare(
                cfg.exchange.as_str().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    passive: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| classify(&where_, &what, &e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| classify(&where_, &what, &e))?;
        tracing::info!(host = %cfg.conn.host, exchange = %cfg.exchange, "RabbitMQ sink connected");
        self.link = Some(Link {
            connection,
            channel,
        });
        // Whatever the old channel did not confirm goes out again.
        for e in &mut self.outbox {
            if !e.done {
                e.confirm = None;
            }
        }
        Ok(())
    }

    fn lost(&mut self, why: &str) {
        tracing::warn!("RabbitMQ sink lost its connection: {why}");
        self.link = None;
        for e in &mut self.outbox {
            if !e.done {
                e.confirm = None;
            }
        }
    }

    /// Connects if needed and publishes every entry not yet on the
    /// current channel, in order.
    async fn publish_unsent(&mut self) -> ConnectResult<()> {
        if self.link.is_none() {
            match self.connect().await {
                Ok(()) => {}
                Err(Failure::Refused(why)) => return Err(ConnectError::fatal(why)),
                Err(Failure::Transient(why)) => {
                    if !self.cfg()?.conn.automatic_recovery {
                        return Err(ConnectError::fatal(format!(
                            "{why} (rabbitmq.automatic.recovery.enabled is false)"
                        )));
                    }
                    return Err(ConnectError::retriable(why));
                }
            }
        }
        let exchange = self.cfg()?.exchange.clone();
        let Some(channel) = self.link.as_ref().map(|l| l.channel.clone()) else {
            return Ok(());
        };
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let mut failed = None;
        for e in self
            .outbox
            .iter_mut()
            .filter(|e| !e.done && e.confirm.is_none())
        {
            match channel
                .basic_publish(
                    exchange.as_str().into(),
                    e.routing_key.as_str().into(),
                    options,
                    &e.payload,
                    e.properties.clone(),
                )
                .await
            {
                Ok(confirm) => e.confirm = Some(confirm),
                Err(err) => {
                    failed = Some(err.to_string());
                    break;
                }
            }
        }
        if let Some(why) = failed {
            self.lost(&why);
            return Err(ConnectError::retriable(format!(
                "RabbitMQ publish failed: {why}"
            )));
        }
        Ok(())
    }

    /// Awaits confirmations in order, up to `rabbitmq.publish.ack.timeout`;
    /// with `all`, every one, else until the outbox has room.
    async fn settle(&mut self, all: bool) -> ConnectResult<()> {
        self.publish_unsent().await?;
        let cfg = self.cfg()?;
        let (ack_timeout, exchange) = (cfg.ack_timeout, cfg.exchange.clone());
        let deadline = tokio::time::Instant::now() + ack_timeout;
        let room_at = cfg.max_batch.max(1) / 2;
        let mut i = 0;
        while i < self.outbox.len() {
            if !all && self.pending() <= room_at {
                break;
            }
            let Some(confirm) = self.outbox[i].confirm.as_mut() else {
                i += 1;
                continue;
            };
            let Ok(outcome) = tokio::time::timeout_at(deadline, confirm).await else {
                // Still awaited: keep waiting for it at the next commit.
                return Err(ConnectError::retriable(format!(
                    "no confirmation from RabbitMQ within rabbitmq.publish.ack.timeout ({} ms)",
                    ack_timeout.as_millis()
                )));
            };
            let entry = &mut self.outbox[i];
            entry.confirm = None;
            match outcome {
                Ok(Confirmation::Ack(None) | Confirmation::NotRequested) => entry.done = true,
                Ok(Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned))) => {
                    // Unroutable: no queue is bound for this routing key.
                    let why = format!(
                        "RabbitMQ returned the message (exchange '{exchange}', routing key '{}'): {} {}",
                        entry.routing_key, returned.reply_code, returned.reply_text
                    );
                    entry.done = true;
                    let (tp, offset) = (entry.tp.clone(), entry.offset);
                    crate::sink_util::errant_at(self.ctx.as_ref(), &tp, offset, &why)?;
                }
                Ok(Confirmation::Nack(None)) => {
                    // The broker could not take it: publish again.
                    tracing::warn!(
                        offset = entry.offset,
                        "RabbitMQ refused (nack) a message; publishing it again"
                    );
                    i += 1;
                    continue;
                }
                Err(e) => {
                    let why = e.to_string();
                    self.lost(&why);
                    return Err(ConnectError::retriable(format!(
                        "RabbitMQ connection: {why}"
                    )));
                }
            }
            i += 1;
        }
        Ok(())
    }

    fn committable(
        &mut self,
        offered: BTreeMap<TopicPartition, i64>,
    ) -> BTreeMap<TopicPartition, i64> {
        let mut first: HashMap<&TopicPartition, i64> = HashMap::new();
        for e in self.outbox.iter().filter(|e| !e.done) {
            first.entry(&e.tp).or_insert(e.offset);
        }
        let out = offered
            .into_iter()
            .map(|(tp, off)| {
                let o = first.get(&tp).map_or(off, |f| (*f).min(off));
                (tp, o)
            })
            .collect();
        self.outbox.retain(|e| !e.done);
        out
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bytes(b) => std::str::from_utf8(b).ok().map(str::to_string),
        Value::Int8(n) => Some(n.to_string()),
        Value::Int16(n) => Some(n.to_string()),
        Value::Int32(n) => Some(n.to_string()),
        Value::Int64(n) => Some(n.to_string()),
        _ => None,
    }
}

fn header_value(v: &Value) -> Option<AMQPValue> {
    Some(match v {
        Value::Null => return None,
        Value::Boolean(b) => AMQPValue::Boolean(*b),
        Value::Int8(n) => AMQPValue::ShortShortInt(*n),
        Value::Int16(n) => AMQPValue::ShortInt(*n),
        Value::Int32(n) => AMQPValue::LongInt(*n),
        Value::Int64(n) => AMQPValue::LongLongInt(*n),
        Value::Float32(f) => AMQPValue::Float(*f),
        Value::Float64(f) => AMQPValue::Double(*f),
        Value::String(s) => AMQPValue::LongString(LongString::from(s.clone())),
        Value::Bytes(b) => AMQPValue::LongString(LongString::from(b.clone())),
        other => AMQPValue::LongString(LongString::from(format!("{other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(p: i32, offset: i64, done: bool) -> Entry {
        Entry {
            tp: TopicPartition::new("t", p),
            offset,
            routing_key: String::new(),
            payload: Vec::new(),
            properties: BasicProperties::default(),
            confirm: None,
            done,
        }
    }

    #[test]
    fn commits_stop_at_the_first_unconfirmed_record() {
        let mut t = RabbitSinkTask::default();
        t.outbox.extend([
            entry(0, 4, true),
            entry(0, 5, false),
            entry(0, 6, true),
            entry(1, 9, true),
        ]);
        let c = t.committable(BTreeMap::from([
            (TopicPartition::new("t", 0), 7),
            (TopicPartition::new("t", 1), 10),
        ]));
        assert_eq!(c[&TopicPartition::new("t", 0)], 5);
        assert_eq!(c[&TopicPartition::new("t", 1)], 10);
        assert_eq!(t.outbox.len(), 1);
    }

    #[test]
    fn record_headers_keep_their_types() {
        assert_eq!(header_value(&Value::Int32(3)), Some(AMQPValue::LongInt(3)));
        assert!(header_value(&Value::Null).is_none());
        assert_eq!(text(&Value::Int64(12)).as_deref(), Some("12"));
    }
}
