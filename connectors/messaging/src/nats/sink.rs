//! `NatsJetStreamSink`: Kafka records published to JetStream; Kafka
//! offsets commit only over records the stream acknowledged. Each message
//! carries `Nats-Msg-Id` = `<topic>-<partition>-<offset>`, so a publish
//! repeated after a timeout or a restart is dropped by the stream within
//! its duplicate window.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use async_nats::HeaderMap;
use async_nats::jetstream::context::{GetStreamByNameErrorKind, PublishErrorKind};
use async_nats::jetstream::{self, context::PublishError, publish::PublishAck};
use async_trait::async_trait;
use bytes::Bytes;
use sluice_connect_api::config::ConnectorConfig;
use sluice_connect_api::schema::Value;
use sluice_connect_api::schema::converter::JsonConverter;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, SinkRecord, SinkTask, SinkTaskContext, TopicPartition,
};

use super::config::NatsSinkConfig;
use super::connection::connect;
use crate::backoff::Failure;
use crate::template::Template;

type AckFuture = Pin<Box<dyn Future<Output = Result<PublishAck, PublishError>> + Send>>;

struct Entry {
    tp: TopicPartition,
    offset: i64,
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
    ack: Option<AckFuture>,
    done: bool,
}

/// The NATS JetStream sink task.
#[derive(Default)]
pub struct NatsSinkTask {
    cfg: Option<NatsSinkConfig>,
    name: String,
    template: Option<Template>,
    js: Option<jetstream::Context>,
    outbox: VecDeque<Entry>,
    json: Option<JsonConverter>,
    ctx: Option<SinkTaskContext>,
    /// Settles in a row in which an acknowledgement timed out.
    timeouts: u32,
}

/// Settles in a row with a timed-out acknowledgement after which the
/// connection is replaced.
const TIMEOUTS_BEFORE_RECONNECT: u32 = 2;

impl std::fmt::Debug for NatsSinkTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSinkTask")
            .field("pending", &self.outbox.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SinkTask for NatsSinkTask {
    async fn start(&mut self, config: Config, ctx: SinkTaskContext) -> ConnectResult<()> {
        let cfg = NatsSinkConfig::parse(&config)?;
        self.template = Some(Template::parse(&cfg.subject).map_err(|e| {
            ConnectError::fatal(format!("Invalid configuration nats.subject: {e}"))
        })?);
        self.json = Some(crate::sink_util::json_converter()?);
        self.name = config.get("name").cloned().unwrap_or_default();
        self.ctx = Some(ctx);
        self.cfg = Some(cfg);
        match self.connect().await {
            Ok(()) | Err(Failure::Transient(_)) => Ok(()),
            Err(Failure::Refused(why)) => Err(ConnectError::fatal(why)),
        }
    }

    async fn put(&mut self, records: &mut Vec<SinkRecord>) -> ConnectResult<()> {
        let max = self.cfg()?.max_pending.max(1);
        let mut taken = 0;
        let result = loop {
            if taken == records.len() {
                break Ok(());
            }
            if self.waiting() >= max {
                if let Err(e) = self.settle(max / 2).await {
                    break Err(e);
                }
                if self.waiting() >= max {
                    break Err(ConnectError::retriable(
                        "the NATS stream acknowledged too little within nats.publish.ack.timeout.ms",
                    ));
                }
            }
            let record = &records[taken];
            taken += 1;
            match self.message(record) {
                Ok((subject, headers, payload)) => self.outbox.push_back(Entry {
                    tp: record.topic_partition(),
                    offset: record.kafka_offset,
                    subject,
                    headers,
                    payload,
                    ack: None,
                    done: false,
                }),
                Err(why) => crate::sink_util::errant(self.ctx.as_ref(), record, &why)?,
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
        if let Err(e) = self.settle(0).await {
            if !e.is_retriable() {
                return Err(e);
            }
            tracing::warn!(error = %e.trace(), "NATS sink: committing only what the stream acknowledged");
        }
        let mut first: HashMap<&TopicPartition, i64> = HashMap::new();
        for e in self.outbox.iter().filter(|e| !e.done) {
            first.entry(&e.tp).or_insert(e.offset);
        }
        let out = offsets
            .into_iter()
            .map(|(tp, off)| {
                let o = first.get(&tp).map_or(off, |f| (*f).min(off));
                (tp, o)
            })
            .collect();
        self.outbox.retain(|e| !e.done);
        Ok(out)
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        self.js = None;
        Ok(())
    }
}

impl NatsSinkTask {
    /// Publishes not yet acknowledged; forgets the acknowledged ones (only
    /// the first unacknowledged entry of a partition decides its commit
    /// offset).
    fn waiting(&mut self) -> usize {
        self.outbox.retain(|e| !e.done);
        self.outbox.len()
    }

    fn cfg(&self) -> ConnectResult<&NatsSinkConfig> {
        self.cfg
            .as_ref()
            .ok_or_else(|| ConnectError::fatal("the NATS sink task was not started"))
    }

    fn message(&self, record: &SinkRecord) -> Result<(String, HeaderMap, Bytes), String> {
        let subject = self
            .template
            .as_ref()
            .ok_or("the task was not started")?
            .render(record)?;
        if subject.is_empty()
            || subject.contains([' ', '\t', '\r', '\n', '*', '>'])
            || subject.split('.').any(str::is_empty)
        {
            return Err(format!("'{subject}' is not a NATS subject to publish to"));
        }
        let payload = Bytes::from(crate::sink_util::body(record, self.json.as_ref())?);
        let mut headers = HeaderMap::new();
        headers.insert(
            "Nats-Msg-Id",
            format!(
                "{}-{}-{}",
                record.topic, record.kafka_partition, record.kafka_offset
            )
            .as_str(),
        );
        for h in &record.headers {
            // Only names and values NATS accepts (printable ASCII names
            // without ':'); the others are left out rather than panic.
            if let Value::String(v) = &h.value
                && !h.key.is_empty()
                && h.key.bytes().all(|b| b.is_ascii_graphic() && b != b':')
                && !v.contains(['\r', '\n'])
                && let Ok(name) = h.key.parse::<async_nats::header::HeaderName>()
            {
                headers.append(name, v.as_str());
            }
        }
        Ok((subject, headers, payload))
    }

    async fn connect(&mut self) -> Result<(), Failure> {
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| Failure::Refused("the NATS sink task was not started".into()))?;
        let client = connect(&cfg.conn, &self.name).await?;
        let mut js = jetstream::new(client);
        js.set_timeout(cfg.ack_timeout);
        self.js = Some(js);
        Ok(())
    }

    async fn publish_unsent(&mut self) -> ConnectResult<()> {
        if self.js.is_none() {
            match self.connect().await {
                Ok(()) => {}
                Err(Failure::Refused(why)) => return Err(ConnectError::fatal(why)),
                Err(Failure::Transient(why)) => return Err(ConnectError::retriable(why)),
            }
        }
        let Some(js) = self.js.clone() else {
            return Ok(());
        };
        let mut errant = Vec::new();
        let mut failed = None;
        for e in self
            .outbox
            .iter_mut()
            .filter(|e| !e.done && e.ack.is_none())
        {
            match js
                .publish_with_headers(e.subject.clone(), e.headers.clone(), e.payload.clone())
                .await
            {
                Ok(ack) => e.ack = Some(Box::pin(ack.into_future())),
                Err(err) if err.kind() == PublishErrorKind::MaxPayloadExceeded => {
                    e.done = true;
                    errant.push((
                        e.tp.clone(),
                        e.offset,
                        format!("NATS publish to '{}': {err}", e.subject),
                    ));
                }
                Err(err) => {
                    if err.kind() == PublishErrorKind::TimedOut {
                        self.timeouts = self.timeouts.saturating_add(1);
                    }
                    failed = Some(format!("NATS publish to '{}' failed: {err}", e.subject));
                    break;
                }
            }
        }
        self.report_all(errant)?;
        match failed {
            None => Ok(()),
            Some(why) => Err(ConnectError::retriable(why)),
        }
    }

    fn report_all(&self, errant: Vec<(TopicPartition, i64, String)>) -> ConnectResult<()> {
        for (tp, offset, why) in errant {
            crate::sink_util::errant_at(self.ctx.as_ref(), &tp, offset, &why)?;
        }
        Ok(())
    }

    /// Awaits acknowledgements in order until at most `leave` publishes
    /// wait, for `nats.publish.ack.timeout.ms` in all. A timeout or a lost
    /// connection sends the publish again later (the stream drops the
    /// repeat by its `Nats-Msg-Id`). A subject no stream takes (asked of
    /// the server, so a stream that is only restarting is waited for) is an
    /// errant record.
    async fn settle(&mut self, leave: usize) -> ConnectResult<()> {
        self.publish_unsent().await?;
        let deadline = tokio::time::Instant::now() + self.cfg()?.ack_timeout;
        let js = self.js.clone();
        let mut failed = None;
        let mut errant = Vec::new();
        let mut waiting = self.outbox.iter().filter(|e| !e.done).count();
        let mut timed_out = false;
        for e in self.outbox.iter_mut() {
            if waiting <= leave {
                break;
            }
            if e.done {
                continue;
            }
            let Some(ack) = e.ack.as_mut() else {
                continue;
            };
            let Ok(outcome) = tokio::time::timeout_at(deadline, ack.as_mut()).await else {
                timed_out = true;
                failed.get_or_insert(format!(
                    "no acknowledgement from the NATS stream for '{}' within nats.publish.ack.timeout.ms",
                    e.subject
                ));
                break;
            };
            e.ack = None;
            match outcome {
                Ok(_) => {
                    e.done = true;
                    waiting -= 1;
                }
                Err(err) => {
                    timed_out |= err.kind() == PublishErrorKind::TimedOut;
                    let why = format!("NATS publish to '{}': {err}", e.subject);
                    let unroutable = err.kind() == PublishErrorKind::StreamNotFound
                        && match &js {
                            Some(js) => matches!(
                                js.stream_by_subject(e.subject.clone())
                                    .await
                                    .map_err(|x| x.kind()),
                                Err(GetStreamByNameErrorKind::NotFound)
                            ),
                            None => false,
                        };
                    if unroutable {
                        e.done = true;
                        waiting -= 1;
                        errant.push((
                            e.tp.clone(),
                            e.offset,
                            format!("{why}: no stream takes this subject"),
                        ));
                    } else {
                        failed.get_or_insert(why);
                    }
                }
            }
        }
        self.report_all(errant)?;
        if timed_out {
            self.timeouts = self.timeouts.saturating_add(1);
        } else if failed.is_none() {
            self.timeouts = 0;
        }
        // After timeouts in a row the next publishes go through a new
        // connection: after a server restart a client was seen (in CI) to
        // stay connected without ever getting an acknowledgement again.
        // Nothing is lost: the entries stay in the outbox until
        // acknowledged, and the stream drops repeats by `Nats-Msg-Id`
        // (within its duplicate window, two minutes by default).
        if self.timeouts >= TIMEOUTS_BEFORE_RECONNECT {
            tracing::warn!(
                timeouts = self.timeouts,
                "NATS sink: acknowledgements keep timing out; publishing again on a new connection"
            );
            self.timeouts = 0;
            self.js = None;
            for e in self.outbox.iter_mut().filter(|e| !e.done) {
                e.ack = None;
            }
        }
        match failed {
            None => Ok(()),
            Some(why) => Err(ConnectError::retriable(why)),
        }
    }
}
