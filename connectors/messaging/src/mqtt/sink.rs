//! `io.confluent.connect.mqtt.MqttSinkConnector`: Kafka records published
//! to MQTT; the Kafka offsets commit only over records the broker
//! acknowledged (PUBACK for QoS 1, PUBCOMP for QoS 2).
//!
//! The task keeps every record it published until the broker acknowledged
//! it (the outbox). A background driver owns the connection and turns the
//! broker's acknowledgements into outbox entries marked done: publishes
//! leave through one queue in outbox order, so the n-th publish the event
//! loop writes is the n-th the task sent, and its packet id names it until
//! the broker acknowledges it. When the connection is lost, everything not
//! acknowledged is published again on the next one (at least once).
//! `pre_commit` commits, per partition, up to the first record not yet
//! acknowledged.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rumqttc::{AsyncClient, Event, Outgoing, Packet, QoS};
use sluice_connect_api::config::ConnectorConfig;
use sluice_connect_api::schema::converter::JsonConverter;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, SinkRecord, SinkTask, SinkTaskContext, TopicPartition,
};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::config::{Connection, MqttSinkConfig};
use super::connection::{self, REQUEST_CAPACITY};
use super::topic::check_name;
use crate::backoff::{Backoff, Failure};
use crate::sync::lock;
use crate::template::Template;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not yet handed to a connection.
    Unsent,
    /// Handed to the connection of this generation.
    Sent(u64),
    /// The broker acknowledged it.
    Acked,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    tp: TopicPartition,
    offset: i64,
    topic: String,
    payload: Bytes,
    state: State,
}

/// Records published and not yet known to be acknowledged, and the
/// connection of the moment.
#[derive(Debug, Default)]
struct Outbox {
    entries: VecDeque<Entry>,
    next_seq: u64,
    generation: u64,
    client: Option<AsyncClient>,
    /// Sequence numbers handed to the current connection whose packet id
    /// the event loop has not reported yet, in the order they were sent.
    awaiting_pkid: VecDeque<u64>,
    /// Packet id -> sequence number, for publishes awaiting the broker.
    inflight: HashMap<u16, u64>,
    fatal: Option<String>,
}

impl Outbox {
    fn entry_mut(&mut self, seq: u64) -> Option<&mut Entry> {
        // Sequence numbers are increasing: binary search by seq.
        let i = self.entries.binary_search_by_key(&seq, |e| e.seq).ok()?;
        self.entries.get_mut(i)
    }

    fn acked(&mut self, seq: u64) {
        if let Some(e) = self.entry_mut(seq) {
            e.state = State::Acked;
        }
    }

    /// A new connection (or none): whatever the old one did not get
    /// acknowledged goes out again.
    fn reset(&mut self, generation: u64, client: Option<AsyncClient>) {
        self.generation = generation;
        self.client = client;
        self.awaiting_pkid.clear();
        self.inflight.clear();
        for e in &mut self.entries {
            if matches!(e.state, State::Sent(_)) {
                e.state = State::Unsent;
            }
        }
    }

    fn unacked(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.state != State::Acked)
            .count()
    }

    /// Per partition, the offset to commit: the first record not yet
    /// acknowledged, or what the runtime offered when all are. Drops the
    /// acknowledged entries.
    fn committable(
        &mut self,
        offered: BTreeMap<TopicPartition, i64>,
    ) -> BTreeMap<TopicPartition, i64> {
        let mut first_unacked: HashMap<&TopicPartition, i64> = HashMap::new();
        for e in &self.entries {
            if e.state != State::Acked {
                first_unacked.entry(&e.tp).or_insert(e.offset);
            }
        }
        let out = offered
            .into_iter()
            .map(|(tp, off)| {
                let off = first_unacked.get(&tp).map_or(off, |o| (*o).min(off));
                (tp, off)
            })
            .collect();
        self.drop_acked();
        out
    }

    /// Forgets acknowledged entries: the first unacknowledged entry of a
    /// partition alone decides its commit offset.
    fn drop_acked(&mut self) {
        self.entries.retain(|e| e.state != State::Acked);
    }
}

#[derive(Debug, Default)]
struct Shared {
    outbox: Mutex<Outbox>,
    /// Signalled on every acknowledgement and connection change.
    changed: Notify,
}

/// The MQTT sink task.
#[derive(Debug, Default)]
pub struct MqttSinkTask {
    shared: Arc<Shared>,
    driver: Option<JoinHandle<()>>,
    template: Option<Template>,
    qos: Option<QoS>,
    retain: bool,
    publish_timeout: Duration,
    max_pending: usize,
    json: Option<JsonConverter>,
    ctx: Option<SinkTaskContext>,
}

#[async_trait]
impl SinkTask for MqttSinkTask {
    async fn start(&mut self, config: Config, ctx: SinkTaskContext) -> ConnectResult<()> {
        let cfg = MqttSinkConfig::parse(&config)?;
        let name = config.get("name").map(String::as_str).unwrap_or("");
        let client_id = cfg.conn.client_id(name, cfg.task_index);
        self.template = Some(Template::parse(&cfg.topic_template).map_err(|e| {
            ConnectError::fatal(format!("Invalid configuration mqtt.topic.template: {e}"))
        })?);
        self.qos = Some(connection::qos(cfg.conn.qos));
        self.retain = cfg.retained;
        self.publish_timeout = cfg.publish_timeout;
        self.max_pending = usize::from(cfg.max_inflight) * 4;
        self.json = Some(crate::sink_util::json_converter()?);
        self.ctx = Some(ctx);
        self.shared = Arc::new(Shared::default());
        tracing::info!(client_id = %client_id, qos = cfg.conn.qos, template = %cfg.topic_template, "MQTT sink starting");
        self.driver = Some(tokio::spawn(drive(
            self.shared.clone(),
            cfg.conn.clone(),
            client_id,
            cfg.max_inflight,
        )));
        Ok(())
    }

    async fn put(&mut self, records: &mut Vec<SinkRecord>) -> ConnectResult<()> {
        let deadline = tokio::time::Instant::now() + self.publish_timeout;
        let mut taken = 0;
        let result = loop {
            if taken == records.len() {
                break Ok(());
            }
            self.check_fatal()?;
            if self.full() {
                self.send_unsent().await;
                let notified = self.shared.changed.notified();
                if self.full() && tokio::time::timeout_at(deadline, notified).await.is_err() {
                    break Err(ConnectError::retriable(format!(
                        "the MQTT broker acknowledged too little within mqtt.publish.timeout.ms ({} ms); {} publishes wait",
                        self.publish_timeout.as_millis(),
                        lock(&self.shared.outbox).unacked()
                    )));
                }
                continue;
            }
            let record = &records[taken];
            taken += 1;
            if let Some((topic, payload)) = self.message(record)? {
                let mut outbox = lock(&self.shared.outbox);
                let seq = outbox.next_seq;
                outbox.next_seq += 1;
                outbox.entries.push_back(Entry {
                    seq,
                    tp: record.topic_partition(),
                    offset: record.kafka_offset,
                    topic,
                    payload,
                    state: State::Unsent,
                });
            }
        };
        records.drain(..taken);
        self.send_unsent().await;
        result
    }

    async fn pre_commit(
        &mut self,
        offsets: BTreeMap<TopicPartition, i64>,
    ) -> ConnectResult<BTreeMap<TopicPartition, i64>> {
        let deadline = tokio::time::Instant::now() + self.publish_timeout;
        loop {
            self.check_fatal()?;
            self.send_unsent().await;
            let notified = self.shared.changed.notified();
            let waiting = lock(&self.shared.outbox).unacked();
            if waiting == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                tracing::warn!(
                    waiting,
                    "MQTT sink: the broker did not acknowledge every publish within mqtt.publish.timeout.ms; committing what it did acknowledge"
                );
                break;
            }
        }
        Ok(lock(&self.shared.outbox).committable(offsets))
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        if let Some(client) = lock(&self.shared.outbox).client.take() {
            let _ = client.try_disconnect();
        }
        if let Some(d) = self.driver.take() {
            d.abort();
        }
        Ok(())
    }
}

impl MqttSinkTask {
    /// Whether as many publishes wait for the broker as may; forgets the
    /// acknowledged ones first (only the first unacknowledged entry of a
    /// partition decides its commit offset).
    fn full(&self) -> bool {
        let mut outbox = lock(&self.shared.outbox);
        outbox.drop_acked();
        outbox.entries.len() >= self.max_pending
    }

    fn check_fatal(&self) -> ConnectResult<()> {
        match &lock(&self.shared.outbox).fatal {
            Some(why) => Err(ConnectError::fatal(why.clone())),
            None => Ok(()),
        }
    }

    /// The MQTT topic and payload of a record; `None` when the record was
    /// reported as errant.
    fn message(&self, record: &SinkRecord) -> ConnectResult<Option<(String, Bytes)>> {
        let built = self.topic(record).and_then(|t| {
            let body = crate::sink_util::body(record, self.json.as_ref())?;
            Ok((t, Bytes::from(body)))
        });
        match built {
            Ok(m) => Ok(Some(m)),
            Err(why) => crate::sink_util::errant(self.ctx.as_ref(), record, &why).map(|()| None),
        }
    }

    fn topic(&self, record: &SinkRecord) -> Result<String, String> {
        let topic = self
            .template
            .as_ref()
            .ok_or_else(|| "the task was not started".to_string())?
            .render(record)?;
        check_name(&topic)?;
        Ok(topic)
    }

    /// Hands every unsent entry to the current connection, in order.
    async fn send_unsent(&mut self) {
        let qos = self.qos.unwrap_or(QoS::AtLeastOnce);
        loop {
            let next = {
                let mut outbox = lock(&self.shared.outbox);
                let Some(client) = outbox.client.clone() else {
                    return;
                };
                let generation = outbox.generation;
                let Some(e) = outbox.entries.iter_mut().find(|e| e.state == State::Unsent) else {
                    return;
                };
                e.state = State::Sent(generation);
                let (seq, topic, payload) = (e.seq, e.topic.clone(), e.payload.clone());
                outbox.awaiting_pkid.push_back(seq);
                (client, topic, payload)
            };
            let (client, topic, payload) = next;
            if client
                .publish_bytes(topic, qos, self.retain, payload)
                .await
                .is_err()
            {
                // The connection is gone; its entries go out again on
                // the next one.
                return;
            }
        }
    }
}

/// Keeps a connection up and turns the broker's acknowledgements into
/// outbox entries marked done.
async fn drive(shared: Arc<Shared>, conn: Connection, client_id: String, max_inflight: u16) {
    let mut backoff = Backoff::new(conn.max_retry);
    let mut attempt = 0usize;
    let mut generation = 0u64;
    loop {
        let (mut options, server) = match connection::options(&conn, &client_id, attempt) {
            Ok(o) => o,
            Err(why) => {
                tracing::error!("{why}");
                lock(&shared.outbox).fatal = Some(why);
                shared.changed.notify_waiters();
                return;
            }
        };
        options.set_inflight(max_inflight.max(1));
        let (client, mut events) = AsyncClient::new(options, REQUEST_CAPACITY);
        events
            .network_options
            .set_connection_timeout(u64::from(conn.connect_timeout_secs));
        events.network_options.set_tcp_nodelay(true);
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                generation += 1;
                lock(&shared.outbox).reset(generation, Some(client));
                shared.changed.notify_waiters();
                tracing::info!(server = %server, generation, "MQTT sink connected");
                backoff.reset();
                let why = loop {
                    match events.poll().await {
                        Ok(event) => on_event(&shared, event),
                        Err(e) => break e.to_string(),
                    }
                };
                lock(&shared.outbox).reset(generation, None);
                shared.changed.notify_waiters();
                tracing::warn!(server = %server, "MQTT sink lost its connection: {why}");
            }
            Ok(other) => {
                tracing::warn!(server = %server, event = ?other, "MQTT sink: expected a CONNACK");
            }
            Err(e) => match connection::classify(&server, &client_id, &e) {
                Failure::Refused(why) => {
                    tracing::error!("{why}");
                    lock(&shared.outbox).fatal = Some(why);
                    shared.changed.notify_waiters();
                    return;
                }
                Failure::Transient(why) => {
                    tracing::warn!("MQTT sink cannot connect (will retry): {why}");
                }
            },
        }
        attempt += 1;
        tokio::time::sleep(backoff.next_wait()).await;
    }
}

fn on_event(shared: &Shared, event: Event) {
    let mut outbox = lock(&shared.outbox);
    match event {
        Event::Outgoing(Outgoing::Publish(pkid)) => {
            let Some(seq) = outbox.awaiting_pkid.pop_front() else {
                tracing::error!(pkid, "MQTT sink: a publish left that the task did not send");
                return;
            };
            if pkid == 0 {
                // QoS 0: written is all there is.
                outbox.acked(seq);
                drop(outbox);
                shared.changed.notify_waiters();
            } else {
                outbox.inflight.insert(pkid, seq);
            }
        }
        Event::Incoming(Packet::PubAck(ack)) => complete(shared, outbox, ack.pkid),
        Event::Incoming(Packet::PubComp(comp)) => complete(shared, outbox, comp.pkid),
        _ => {}
    }
}

fn complete(shared: &Shared, mut outbox: std::sync::MutexGuard<'_, Outbox>, pkid: u16) {
    if let Some(seq) = outbox.inflight.remove(&pkid) {
        outbox.acked(seq);
        drop(outbox);
        shared.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, p: i32, offset: i64, state: State) -> Entry {
        Entry {
            seq,
            tp: TopicPartition::new("t", p),
            offset,
            topic: "m".into(),
            payload: Bytes::new(),
            state,
        }
    }

    #[test]
    fn commits_up_to_the_first_unacknowledged_record_per_partition() {
        let mut o = Outbox::default();
        o.entries.push_back(entry(0, 0, 10, State::Acked));
        o.entries.push_back(entry(1, 0, 11, State::Sent(1)));
        o.entries.push_back(entry(2, 0, 12, State::Acked));
        o.entries.push_back(entry(3, 1, 5, State::Acked));
        let offered = BTreeMap::from([
            (TopicPartition::new("t", 0), 13),
            (TopicPartition::new("t", 1), 6),
        ]);
        let c = o.committable(offered);
        assert_eq!(c[&TopicPartition::new("t", 0)], 11);
        assert_eq!(c[&TopicPartition::new("t", 1)], 6);
        assert_eq!(o.entries.len(), 1);
    }

    #[test]
    fn a_new_connection_sends_again_what_was_not_acknowledged() {
        let mut o = Outbox::default();
        o.entries.push_back(entry(0, 0, 1, State::Sent(1)));
        o.entries.push_back(entry(1, 0, 2, State::Acked));
        o.awaiting_pkid.push_back(0);
        o.inflight.insert(3, 0);
        o.reset(2, None);
        assert_eq!(o.entries[0].state, State::Unsent);
        assert_eq!(o.entries[1].state, State::Acked);
        assert!(o.awaiting_pkid.is_empty() && o.inflight.is_empty());
    }

    #[test]
    fn acknowledgements_follow_packet_ids() {
        let shared = Shared::default();
        {
            let mut o = lock(&shared.outbox);
            o.entries.push_back(entry(0, 0, 1, State::Sent(1)));
            o.entries.push_back(entry(1, 0, 2, State::Sent(1)));
            o.awaiting_pkid.extend([0, 1]);
        }
        on_event(&shared, Event::Outgoing(Outgoing::Publish(7)));
        on_event(&shared, Event::Outgoing(Outgoing::Publish(8)));
        on_event(
            &shared,
            Event::Incoming(Packet::PubAck(rumqttc::PubAck::new(8))),
        );
        let o = lock(&shared.outbox);
        assert_eq!(o.entries[0].state, State::Sent(1));
        assert_eq!(o.entries[1].state, State::Acked);
    }
}
