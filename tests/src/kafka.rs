use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// Creates a topic with one partition.
pub fn create_topic(bootstrap: &str, topic: &str) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let res = rt.block_on(admin.create_topics(
        [&NewTopic::new(topic, 1, TopicReplication::Fixed(-1))],
        &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
    ))?;
    for r in res {
        r.map_err(|(t, code)| anyhow::anyhow!("cannot create {t}: {code}"))?;
    }
    Ok(())
}

/// Produces string values (no key) and waits for every acknowledgement.
pub fn produce_strings(bootstrap: &str, topic: &str, values: &[String]) -> Result<()> {
    let bytes: Vec<&[u8]> = values.iter().map(String::as_bytes).collect();
    produce_bytes(bootstrap, topic, &bytes)
}

/// Produces raw values (no key) and waits for every acknowledgement.
pub fn produce_bytes(bootstrap: &str, topic: &str, values: &[&[u8]]) -> Result<()> {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()?;
    for v in values {
        loop {
            match p.send(BaseRecord::<(), [u8]>::to(topic).payload(*v)) {
                Ok(()) => break,
                Err((e, _)) => {
                    p.poll(Duration::from_millis(50));
                    if !matches!(
                        e,
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull
                        )
                    ) {
                        bail!("produce failed: {e}");
                    }
                }
            }
        }
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(30))?;
    Ok(())
}

/// A consumed record's key and value.
pub type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Reads partition 0 of `topic` from the beginning for `quiet` after the
/// last record seen (or until `limit` records), returning every record.
pub fn consume_all(
    bootstrap: &str,
    topic: &str,
    quiet: Duration,
    limit: usize,
) -> Result<Vec<KeyValue>> {
    consume_all_with(bootstrap, &[], topic, quiet, limit)
}

/// [`consume_all`] with further librdkafka settings (`security.protocol`,
/// `sasl.*`, ...).
pub fn consume_all_with(
    bootstrap: &str,
    settings: &[(&str, &str)],
    topic: &str,
    quiet: Duration,
    limit: usize,
) -> Result<Vec<KeyValue>> {
    read_from_start(bootstrap, settings, topic, |n, _, since_last| {
        since_last >= quiet || n >= limit
    })
}

/// Every record of partition 0 from the beginning: waits up to `first`
/// for the first one (a loaded broker can be slow to answer a fetch from
/// the start of a large topic), then stops after `quiet` without more.
pub fn consume_from_start(
    bootstrap: &str,
    topic: &str,
    first: Duration,
    quiet: Duration,
) -> Result<Vec<KeyValue>> {
    read_from_start(bootstrap, &[], topic, |n, since_start, since_last| {
        if n == 0 {
            since_start >= first
        } else {
            since_last >= quiet
        }
    })
}

/// Reads partition 0 of `topic` from the beginning until `done(records
/// read, time since the start, time since the last record)`.
fn read_from_start(
    bootstrap: &str,
    settings: &[(&str, &str)],
    topic: &str,
    done: impl Fn(usize, Duration, Duration) -> bool,
) -> Result<Vec<KeyValue>> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", crate::unique("test-reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    for (k, v) in settings {
        config.set(*k, *v);
    }
    let c: BaseConsumer = config.create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    c.assign(&tpl)?;
    let mut out = Vec::new();
    let start = Instant::now();
    let mut last = start;
    while !done(out.len(), start.elapsed(), last.elapsed()) {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                out.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec)));
                last = Instant::now();
            }
            Some(Err(e)) => {
                let text = e.to_string();
                if !text.contains("UnknownTopicOrPartition") && !text.contains("Unknown topic") {
                    return Err(e).context("consume");
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// Consumes until at least `n` records are in the topic (or `timeout`),
/// returning the values as strings.
pub fn wait_for_records(
    bootstrap: &str,
    topic: &str,
    n: usize,
    timeout: Duration,
) -> Result<Vec<String>> {
    let start = Instant::now();
    loop {
        let recs = consume_all(bootstrap, topic, Duration::from_secs(2), usize::MAX)?;
        if recs.len() >= n || start.elapsed() > timeout {
            return Ok(recs
                .into_iter()
                .map(|(_, v)| String::from_utf8_lossy(&v.unwrap_or_default()).into_owned())
                .collect());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A consumed record with its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Consumed {
    /// A header's value as text (the last one of that name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn value_text(&self) -> String {
        String::from_utf8_lossy(self.value.as_deref().unwrap_or_default()).into_owned()
    }
}

/// A value and its headers.
pub type ValueWithHeaders<'a> = (&'a [u8], &'a [(&'a str, &'a str)]);

/// Produces values, each with its headers, and waits for every
/// acknowledgement.
pub fn produce_with_headers(
    bootstrap: &str,
    topic: &str,
    records: &[ValueWithHeaders<'_>],
) -> Result<()> {
    use rdkafka::message::{Header, OwnedHeaders};
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    for (value, headers) in records {
        let mut hs = OwnedHeaders::new();
        for (k, v) in *headers {
            hs = hs.insert(Header {
                key: k,
                value: Some(v.as_bytes()),
            });
        }
        p.send(
            BaseRecord::<(), [u8]>::to(topic)
                .payload(*value)
                .headers(hs),
        )
        .map_err(|(e, _)| anyhow::anyhow!("produce failed: {e}"))?;
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(30))?;
    Ok(())
}

/// Reads partition 0 of `topic` from the beginning, with headers, until
/// `n` records were read or `timeout` passed.
pub fn consume_records(
    bootstrap: &str,
    topic: &str,
    n: usize,
    timeout: Duration,
) -> Result<Vec<Consumed>> {
    use rdkafka::message::Headers;
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", crate::unique("test-reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    c.assign(&tpl)?;
    let start = Instant::now();
    let mut out = Vec::new();
    while out.len() < n && start.elapsed() < timeout {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => out.push(Consumed {
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Some(Err(e)) => {
                let text = e.to_string();
                if !text.contains("UnknownTopicOrPartition") && !text.contains("Unknown topic") {
                    return Err(e).context("consume");
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// A consumer that stays assigned to partition 0 of a topic from its
/// start and keeps what it read, for topics too large to fetch from the
/// start in one go (the test broker times out on such fetches): it reads
/// as the topic grows, in small fetches.
pub struct TopicReader {
    consumer: BaseConsumer,
    pub records: Vec<Consumed>,
}

impl std::fmt::Debug for TopicReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicReader")
            .field("records", &self.records.len())
            .finish()
    }
}

impl TopicReader {
    pub fn new(bootstrap: &str, topic: &str) -> Result<Self> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", crate::unique("test-reader"))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("max.partition.fetch.bytes", "2097152")
            .set("fetch.max.bytes", "4194304")
            .create()?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
        consumer.assign(&tpl)?;
        Ok(Self {
            consumer,
            records: Vec::new(),
        })
    }

    /// Reads until it holds `n` records or `timeout` passed (not waiting
    /// for the topic to go quiet, which a steady stream never does).
    pub fn read_until(&mut self, n: usize, timeout: Duration) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        while self.records.len() < n && Instant::now() < deadline {
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => self.records.push(Consumed {
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers: Vec::new(),
                }),
                Some(Err(e)) => {
                    let text = e.to_string();
                    if !text.contains("UnknownTopicOrPartition") && !text.contains("Unknown topic")
                    {
                        return Err(e).context("consume");
                    }
                }
                None => {}
            }
        }
        Ok(self.records.len())
    }

    /// Reads until nothing came for `quiet`; returns how many were new.
    pub fn read_more(&mut self, quiet: Duration) -> Result<usize> {
        let before = self.records.len();
        let mut last = Instant::now();
        while last.elapsed() < quiet {
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    self.records.push(Consumed {
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                        headers: Vec::new(),
                    });
                    last = Instant::now();
                }
                Some(Err(e)) => {
                    let text = e.to_string();
                    if !text.contains("UnknownTopicOrPartition") && !text.contains("Unknown topic")
                    {
                        return Err(e).context("consume");
                    }
                }
                None => {}
            }
        }
        Ok(self.records.len() - before)
    }
}
