//! The schemas topic in Kafka: a producer for writes and a reader thread that
//! applies every record, from the beginning, to the shared state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;

use crate::error::RegistryError;
use crate::log::LogKey;
use crate::store::{Log, SharedState};

/// How to reach the schemas topic.
#[derive(Clone)]
pub struct KafkaStoreConfig {
    /// `kafkastore.bootstrap.servers`, without `PLAINTEXT://` prefixes.
    pub bootstrap_servers: String,
    /// `kafkastore.topic`.
    pub topic: String,
    /// `kafkastore.topic.replication.factor`.
    pub replication_factor: i32,
    /// `kafkastore.timeout.ms`: how long a write waits to be read back.
    pub timeout: Duration,
    /// The store clients' security keys as the config gives them, in
    /// Java's names (`kafkastore.security.protocol`, `kafkastore.ssl.*`,
    /// `kafkastore.sasl.*`, `kafkastore.client.id`, prefix removed). The
    /// embedding program turns them into [`Self::client`]; they are not
    /// used as they are.
    pub java_client: std::collections::BTreeMap<String, String>,
    /// Further librdkafka settings for both clients, in librdkafka's names.
    pub client: Vec<(String, String)>,
}

impl std::fmt::Debug for KafkaStoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys only: the values hold passwords and private keys.
        f.debug_struct("KafkaStoreConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("topic", &self.topic)
            .field("replication_factor", &self.replication_factor)
            .field("timeout", &self.timeout)
            .field("java_client", &self.java_client.keys().collect::<Vec<_>>())
            .field(
                "client",
                &self.client.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The schemas topic as the registry's log.
pub struct KafkaLog {
    topic: String,
    producer: FutureProducer,
    applied: watch::Receiver<i64>,
    timeout: Duration,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl KafkaLog {
    /// Creates or checks the topic, starts the reader and returns once the
    /// state holds everything the topic held at start.
    pub async fn open(
        config: &KafkaStoreConfig,
        state: SharedState,
    ) -> Result<Self, RegistryError> {
        let mut client = ClientConfig::new();
        client.set("bootstrap.servers", &config.bootstrap_servers);
        // A metadata request must never auto-create the schemas topic with
        // the broker's defaults (cleanup.policy=delete would lose schemas).
        client.set("allow.auto.create.topics", "false");
        for (k, v) in &config.client {
            client.set(k, v);
        }
        ensure_topic(&client, config).await?;

        let producer: FutureProducer = client
            .clone()
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("queue.buffering.max.kbytes", "16384")
            .create()
            .map_err(RegistryError::store)?;
        let consumer: BaseConsumer = client
            .clone()
            .set(
                "group.id",
                format!("sluice-schema-registry-{}", config.topic),
            )
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "50")
            .set("queued.max.messages.kbytes", "16384")
            .create()
            .map_err(RegistryError::store)?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&config.topic, 0, Offset::Beginning)
            .map_err(RegistryError::store)?;
        consumer.assign(&assignment).map_err(RegistryError::store)?;
        let topic = config.topic.clone();
        let high = tokio::task::spawn_blocking({
            let topic = topic.clone();
            let consumer_client = client.clone();
            move || -> Result<i64, RegistryError> {
                let probe: BaseConsumer = consumer_client.create().map_err(RegistryError::store)?;
                let (_, high) = probe
                    .fetch_watermarks(&topic, 0, Duration::from_secs(10))
                    .map_err(RegistryError::store)?;
                Ok(high)
            }
        })
        .await
        .map_err(RegistryError::store)??;

        let (tx, applied) = watch::channel(0_i64);
        let stop = Arc::new(AtomicBool::new(false));
        std::thread::Builder::new()
            .name("schema-registry-reader".into())
            .spawn({
                let stop = stop.clone();
                move || read_loop(&consumer, &state, &tx, &stop)
            })
            .map_err(RegistryError::store)?;
        let log = Self {
            topic,
            producer,
            applied,
            timeout: config.timeout,
            stop,
        };
        // Loading the whole topic at start may take longer than one write
        // (Confluent's kafkastore.init.timeout.ms defaults to 60 s).
        log.wait_applied(high, log.timeout.max(Duration::from_secs(60)))
            .await?;
        tracing::info!(topic = %log.topic, records = high, "schema registry state loaded");
        Ok(log)
    }

    async fn wait_applied(&self, next_offset: i64, timeout: Duration) -> Result<(), RegistryError> {
        let mut applied = self.applied.clone();
        let wait = applied.wait_for(|&done| done >= next_offset);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(RegistryError::store("the schemas topic reader stopped")),
            Err(_) => Err(RegistryError::store_timeout(format!(
                "reading {} up to offset {next_offset}",
                self.topic
            ))),
        }
    }
}

#[async_trait]
impl Log for KafkaLog {
    async fn append(&self, key: LogKey, value: Option<Vec<u8>>) -> Result<(), RegistryError> {
        let key = key.to_bytes();
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.topic)
            .key(&key)
            .partition(0);
        if let Some(value) = &value {
            record = record.payload(value);
        }
        let delivery = self
            .producer
            .send(record, self.timeout)
            .await
            .map_err(|(e, _)| RegistryError::store(e))?;
        self.wait_applied(delivery.offset + 1, self.timeout).await
    }
}

fn read_loop(
    consumer: &BaseConsumer,
    state: &SharedState,
    applied: &watch::Sender<i64>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                tracing::warn!(error = %e, "schemas topic read failed; retrying");
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        match message.key().map(LogKey::from_bytes) {
            Some(Ok(key)) => match state.write() {
                Ok(mut state) => {
                    if let Err(why) = state.apply(&key, message.payload()) {
                        tracing::warn!(offset = message.offset(), %why, "schemas topic record skipped");
                    }
                }
                Err(_) => return,
            },
            Some(Err(why)) => {
                tracing::warn!(offset = message.offset(), %why, "schemas topic record skipped");
            }
            None => tracing::warn!(
                offset = message.offset(),
                "schemas topic record without key"
            ),
        }
        applied.send_replace(message.offset() + 1);
    }
}

async fn ensure_topic(
    client: &ClientConfig,
    config: &KafkaStoreConfig,
) -> Result<(), RegistryError> {
    let admin: AdminClient<DefaultClientContext> = client.create().map_err(RegistryError::store)?;
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let metadata = admin
        .inner()
        .fetch_metadata(Some(&config.topic), Duration::from_secs(10))
        .map_err(RegistryError::store)?;
    let partitions = metadata
        .topics()
        .first()
        .filter(|t| t.error().is_none())
        .map(|t| t.partitions().len());
    match partitions {
        Some(1) => {}
        Some(n) if n > 0 => {
            return Err(RegistryError::store(format!(
                "The schema topic {} should have exactly 1 partition but has {n}",
                config.topic
            )));
        }
        _ => {
            let topic = NewTopic::new(
                &config.topic,
                1,
                TopicReplication::Fixed(config.replication_factor),
            )
            .set("cleanup.policy", "compact");
            let results = admin
                .create_topics([&topic], &options)
                .await
                .map_err(RegistryError::store)?;
            for result in results {
                match result {
                    Ok(_) | Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((name, code)) => {
                        return Err(RegistryError::store(format!(
                            "creating the schema topic {name} failed: {code}"
                        )));
                    }
                }
            }
            return Ok(());
        }
    }
    let described = admin
        .describe_configs([&ResourceSpecifier::Topic(&config.topic)], &options)
        .await
        .map_err(RegistryError::store)?;
    for resource in described.into_iter().flatten() {
        if let Some(entry) = resource.get("cleanup.policy")
            && entry.value.as_deref() != Some("compact")
        {
            return Err(RegistryError::store(format!(
                "The retention policy of the schema topic {} is incorrect. Expected cleanup.policy to be 'compact' but it is {}",
                config.topic,
                entry.value.as_deref().unwrap_or("unset")
            )));
        }
    }
    Ok(())
}
