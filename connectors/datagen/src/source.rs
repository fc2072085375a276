//! DataGenSource: numbered records, per task, optionally paced.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use sluice_connect_api::config::{
    ConfigEnum, ConfigErrors, ConfigKey, ConfigValue, ConnectorConfig, Importance, TypedDef,
    Validator,
};
use sluice_connect_api::schema::{Schema, SchemaRef, Value};
use sluice_connect_api::{
    Config, ConfigConnector, ConnectError, ConnectResult, OffsetMap, SourceOffset, SourcePartition,
    SourceRecord, SourceTask, SourceTaskContext, Topic,
};
use tokio::time::Instant;

const TOPIC_CONFIG: &str = "topic";
const MAX_RECORDS_CONFIG: &str = "max.records";
const RATE_CONFIG: &str = "records.per.second";
const BATCH_SIZE_CONFIG: &str = "batch.size";
const VALUE_FORMAT_CONFIG: &str = "value.format";
const PAYLOAD_BYTES_CONFIG: &str = "payload.bytes";
const KEY_CONFIG: &str = "key";
/// Set by the connector in each task config, not by users.
const TASK_ID_CONFIG: &str = "task.id";

/// Largest `payload.bytes`: far above Kafka's default 1 MB record limit, low
/// enough that a typo cannot make every record gigabytes long.
const MAX_PAYLOAD_BYTES: i32 = 16 * 1024 * 1024;

const TASK_FIELD: &str = "task";
const SEQ_FIELD: &str = "seq";

/// How long `poll` waits before returning an empty batch when there is
/// nothing to produce (finished, idle, or a slow rate).
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// With a rate, `poll` waits until this much time's worth of records (at
/// least one, at most a batch) may be sent, so a fast rate is not served one
/// record per poll.
const PACE_CHUNK: Duration = Duration::from_millis(10);
/// Token bucket size in time: after a stall (paused task, full producer
/// queue) at most this much time's worth of records is caught up at once.
const BURST: Duration = Duration::from_secs(1);
/// Padding character of `payload.bytes` (needs no escaping in JSON).
const PADDING: char = 'x';

/// What a record value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueFormat {
    /// `"<task>-<seq>"`, optional string schema.
    #[default]
    Sequence,
    /// `{"task":T,"seq":N,"payload":"x…"}` as a string, optional string schema.
    Json,
    /// The bytes of `<task>-<seq>` followed by the padding, bytes schema.
    Bytes,
}

impl ConfigEnum for ValueFormat {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("sequence", Self::Sequence),
            ("json", Self::Json),
            ("bytes", Self::Bytes),
        ]
    }
}

/// What a record key looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyMode {
    /// No key (null, no schema).
    #[default]
    None,
    /// The task id as a string.
    Task,
}

impl ConfigEnum for KeyMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[("none", Self::None), ("task", Self::Task)]
    }
}

/// DataGenSource's keys, as the connector and its tasks read them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataGenConfig {
    /// The task's number; set by the connector in each task config.
    pub task: Option<u32>,
    pub topic: String,
    /// -1: unlimited.
    pub max_records: i64,
    /// 0: as fast as possible.
    pub rate: f64,
    pub batch_size: u32,
    pub format: ValueFormat,
    pub payload_bytes: u32,
    pub key: KeyMode,
}

impl ConnectorConfig for DataGenConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(TOPIC_CONFIG)
                    .importance(Importance::High)
                    .doc("The topic to write the generated records to")
                    .validator(Validator::custom(|v| {
                        let s = v.to_string();
                        if s.trim().is_empty() {
                            Err("String must be non-empty".to_string())
                        } else if s.contains(',') {
                            Err("DataGenSourceConnector requires exactly one topic".to_string())
                        } else {
                            Ok(())
                        }
                    })),
                |c, v| c.topic = v,
            )
            .field(
                ConfigKey::named(MAX_RECORDS_CONFIG)
                    .default_value("-1")
                    .importance(Importance::Medium)
                    .doc(
                        "Records per task: each task produces sequence numbers 0 to max.records-1 \
                         in total (a restarted task continues from its committed offset). \
                         -1 means unlimited; 0 makes idle tasks that never produce",
                    )
                    .validator(Validator::at_least(-1.0)),
                |c, v| c.max_records = v,
            )
            .field(
                ConfigKey::named(RATE_CONFIG)
                    .default_value("0")
                    .importance(Importance::Medium)
                    .doc(
                        "Records per second per task, averaged over time (token bucket: at most \
                         one second's worth is caught up after a stall). 0 means as fast as possible",
                    )
                    .validator(Validator::custom(|v| match v {
                        ConfigValue::Double(d) if !d.is_finite() => {
                            Err("Value must be a finite number".to_string())
                        }
                        ConfigValue::Double(d) if *d < 0.0 => {
                            Err("Value must be at least 0".to_string())
                        }
                        _ => Ok(()),
                    })),
                |c, v| c.rate = v,
            )
            .field(
                ConfigKey::named(BATCH_SIZE_CONFIG)
                    .default_value("1000")
                    .importance(Importance::Low)
                    .doc("The maximum number of records a task returns from one poll")
                    .validator(Validator::at_least(1.0)),
                |c, v| c.batch_size = v,
            )
            .field(
                ConfigKey::named(VALUE_FORMAT_CONFIG)
                    .default_value("sequence")
                    .importance(Importance::Medium)
                    .doc(
                        "Record value: 'sequence' is the string \"<task>-<seq>\"; 'json' is the \
                         string {\"task\":T,\"seq\":N,\"payload\":\"xxx...\"}; 'bytes' is the bytes \
                         of <task>-<seq> followed by the padding. sequence and json values have an \
                         optional string schema, bytes values a bytes schema",
                    ),
                |c, v| c.format = v,
            )
            .field(
                ConfigKey::named(PAYLOAD_BYTES_CONFIG)
                    .default_value("0")
                    .importance(Importance::Low)
                    .doc(
                        "Padding characters ('x') added to json and bytes values so records reach \
                         a size; ignored by the sequence format",
                    )
                    .validator(Validator::between(0.0, f64::from(MAX_PAYLOAD_BYTES))),
                |c, v| c.payload_bytes = v,
            )
            .field(
                ConfigKey::named(KEY_CONFIG)
                    .default_value("none")
                    .importance(Importance::Low)
                    .doc(
                        "Record key: 'none' for no key, 'task' for the task id as a string \
                         (optional string schema)",
                    ),
                |c, v| c.key = v,
            )
            .field(
                ConfigKey::named(TASK_ID_CONFIG)
                    .importance(Importance::Low)
                    .doc("This task's number, 0 to tasks.max-1; set by the connector in each task config")
                    .internal(),
                |c, v| c.task = v,
            )
    }
}

/// A task's settings, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    task: u32,
    topic: String,
    /// `None`: unlimited.
    max_records: Option<u64>,
    /// Records per second; `None`: as fast as possible.
    rate: Option<f64>,
    batch_size: usize,
    format: ValueFormat,
    payload_bytes: usize,
    key: KeyMode,
}

impl Settings {
    fn from_task_config(config: &Config) -> Result<Self, ConfigErrors> {
        let c = DataGenConfig::parse(config)?;
        let task = c.task.ok_or_else(|| {
            ConfigErrors::single(
                TASK_ID_CONFIG,
                format!("Missing required configuration \"{TASK_ID_CONFIG}\" which has no default value."),
            )
        })?;
        Ok(Self {
            task,
            topic: c.topic,
            // -1 (the only negative value allowed) means unlimited.
            max_records: u64::try_from(c.max_records).ok(),
            rate: (c.rate > 0.0).then_some(c.rate),
            batch_size: usize::try_from(c.batch_size).unwrap_or(1).max(1),
            format: c.format,
            payload_bytes: usize::try_from(c.payload_bytes).unwrap_or(0),
            key: c.key,
        })
    }
}

/// The connector: checks the config and makes exactly `tasks.max` task
/// configs, each with its `task.id`.
pub type DataGenSourceConnector = ConfigConnector<DataGenConfig>;

/// Token bucket: tokens (records) accrue at `rate` per second up to
/// `capacity`; a batch spends them.
#[derive(Debug)]
struct Pacer {
    rate: f64,
    capacity: f64,
    /// How many tokens to wait for before sending (see [`PACE_CHUNK`]).
    chunk: f64,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    fn new(rate: f64, batch_size: usize) -> Self {
        // usize -> f64 is exact for any sensible batch size.
        #[allow(clippy::cast_precision_loss)]
        let batch = batch_size as f64;
        Self {
            rate,
            capacity: (rate * BURST.as_secs_f64()).max(1.0),
            chunk: (rate * PACE_CHUNK.as_secs_f64()).floor().clamp(1.0, batch),
            // The first record goes out at once.
            tokens: 1.0,
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
    }

    /// How many of `want` records may be sent now, after waiting (at most
    /// [`IDLE_WAIT`]) for enough tokens. Cancel-safe: tokens are spent only
    /// when returned.
    async fn acquire(&mut self, want: u64) -> u64 {
        self.refill();
        #[allow(clippy::cast_precision_loss)]
        let need = self.chunk.min(want as f64).max(1.0);
        if self.tokens < need {
            let wait = Duration::try_from_secs_f64((need - self.tokens) / self.rate)
                .unwrap_or(IDLE_WAIT)
                .min(IDLE_WAIT);
            tokio::time::sleep(wait).await;
            self.refill();
        }
        // The epsilon absorbs rounding in the wait computed above.
        let available = (self.tokens + 1e-6).floor();
        if available < 1.0 {
            return 0;
        }
        // Float to int casts saturate; `available` is finite and positive.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let grant = (available as u64).min(want);
        #[allow(clippy::cast_precision_loss)]
        let spent = grant as f64;
        self.tokens = (self.tokens - spent).max(0.0);
        grant
    }
}

/// A started task's state: everything precomputed that can be.
#[derive(Debug)]
struct Generator {
    task: u32,
    topic: Topic,
    partition: SourcePartition,
    value_schema: SchemaRef,
    key: Option<(SchemaRef, String)>,
    bytes: bool,
    /// Value text before and after the sequence number (padding included).
    prefix: String,
    suffix: String,
    value_capacity: usize,
    batch_size: u64,
    max_records: Option<u64>,
    /// Sequence number of the next record.
    next_seq: u64,
    pacer: Option<Pacer>,
    announced_done: bool,
}

impl Generator {
    fn new(s: Settings, next_seq: u64) -> Self {
        let padding: String = std::iter::repeat_n(PADDING, s.payload_bytes).collect();
        let (prefix, suffix, value_schema) = match s.format {
            ValueFormat::Sequence => (
                format!("{}-", s.task),
                String::new(),
                Schema::optional_string(),
            ),
            ValueFormat::Json => (
                format!("{{\"{TASK_FIELD}\":{},\"{SEQ_FIELD}\":", s.task),
                format!(",\"payload\":\"{padding}\"}}"),
                Schema::optional_string(),
            ),
            ValueFormat::Bytes => (format!("{}-", s.task), padding, Schema::bytes()),
        };
        Self {
            task: s.task,
            topic: s.topic.into(),
            partition: SourcePartition::one(TASK_FIELD, s.task),
            value_schema,
            key: match s.key {
                KeyMode::None => None,
                KeyMode::Task => Some((Schema::optional_string(), s.task.to_string())),
            },
            bytes: s.format == ValueFormat::Bytes,
            // u64::MAX has 20 digits.
            value_capacity: prefix.len() + 20 + suffix.len(),
            prefix,
            suffix,
            batch_size: u64::try_from(s.batch_size).unwrap_or(u64::MAX),
            max_records: s.max_records,
            next_seq,
            pacer: s.rate.map(|r| Pacer::new(r, s.batch_size)),
            announced_done: false,
        }
    }

    /// Sequence numbers left to produce (`u64::MAX` is the hard end).
    fn remaining(&self) -> u64 {
        match self.max_records {
            Some(max) => max.saturating_sub(self.next_seq),
            None => u64::MAX - self.next_seq,
        }
    }

    fn value(&self, seq: u64) -> Value {
        let mut s = String::with_capacity(self.value_capacity);
        s.push_str(&self.prefix);
        push_decimal(&mut s, seq);
        s.push_str(&self.suffix);
        if self.bytes {
            Value::Bytes(s.into_bytes())
        } else {
            Value::String(s)
        }
    }

    fn record(&self, seq: u64) -> SourceRecord {
        let offset = SourceOffset::int(SEQ_FIELD, i64::try_from(seq + 1).unwrap_or(i64::MAX));
        let mut r = SourceRecord::new(
            self.partition.clone(),
            offset,
            self.topic.clone(),
            Some(self.value_schema.clone()),
            self.value(seq),
        );
        if let Some((schema, key)) = &self.key {
            r.key_schema = Some(schema.clone());
            r.key = Value::String(key.clone());
        }
        r
    }

    /// The next `n` records (`n <= remaining()`).
    fn batch(&mut self, n: u64) -> Vec<SourceRecord> {
        let first = self.next_seq;
        let end = first.saturating_add(n);
        let records: Vec<SourceRecord> = (first..end).map(|seq| self.record(seq)).collect();
        self.next_seq = end;
        records
    }
}

/// Appends `n` in decimal without going through `fmt`.
fn push_decimal(s: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        // n % 10 < 10 fits a u8.
        #[allow(clippy::cast_possible_truncation)]
        let d = (n % 10) as u8;
        digits[i] = b'0' + d;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.extend(digits[i..].iter().map(|&b| char::from(b)));
}

/// The task: produces its numbered records, resuming after its committed
/// offset. All state lives here, so a dropped `poll` loses nothing.
#[derive(Debug, Default)]
pub struct DataGenSourceTask {
    generator: Option<Generator>,
}

#[async_trait]
impl SourceTask for DataGenSourceTask {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()> {
        let settings = Settings::from_task_config(&config)?;
        let mut partition = OffsetMap::new();
        partition.insert(TASK_FIELD.to_string(), json!(settings.task));
        let next_seq = match ctx.offset_reader().offset(&partition).await? {
            Some(offset) => {
                let seq = offset
                    .get(SEQ_FIELD)
                    .and_then(serde_json::Value::as_u64)
                    .ok_or_else(|| {
                        ConnectError::fatal(format!(
                            "committed offset of DataGen task {} has no non-negative integer \
                             \"{SEQ_FIELD}\": {}",
                            settings.task,
                            serde_json::Value::Object(offset.clone())
                        ))
                    })?;
                tracing::info!(
                    task = settings.task,
                    next_seq = seq,
                    "resuming from committed offset"
                );
                seq
            }
            None => 0,
        };
        self.generator = Some(Generator::new(settings, next_seq));
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let Some(g) = self.generator.as_mut() else {
            return Err(ConnectError::fatal("DataGenSourceTask polled before start"));
        };
        let remaining = g.remaining();
        if remaining == 0 {
            if !g.announced_done {
                g.announced_done = true;
                tracing::info!(
                    task = g.task,
                    records = g.next_seq,
                    "all records produced; idle from now on"
                );
            }
            tokio::time::sleep(IDLE_WAIT).await;
            return Ok(Vec::new());
        }
        let mut n = remaining.min(g.batch_size);
        if let Some(pacer) = g.pacer.as_mut() {
            n = pacer.acquire(n).await;
        }
        Ok(g.batch(n))
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::ConnectorContext;
    use std::sync::Arc;

    #[derive(Debug)]
    struct Fixed(Option<OffsetMap>);
    #[async_trait::async_trait]
    impl sluice_connect_api::OffsetReader for Fixed {
        async fn offset(&self, p: &OffsetMap) -> ConnectResult<Option<OffsetMap>> {
            assert_eq!(p.len(), 1, "partition is {{\"task\": id}}: {p:?}");
            assert!(p["task"].is_u64());
            Ok(self.0.clone())
        }
    }

    fn props(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn seq_offset(seq: u64) -> OffsetMap {
        let mut m = OffsetMap::new();
        m.insert("seq".into(), json!(seq));
        m
    }

    async fn task_with(pairs: &[(&str, &str)], offset: Option<OffsetMap>) -> DataGenSourceTask {
        let mut c = props(&[("topic", "t"), ("task.id", "0")]);
        c.extend(props(pairs));
        let mut t = DataGenSourceTask::default();
        t.start(c, SourceTaskContext::new(Arc::new(Fixed(offset))))
            .await
            .unwrap();
        t
    }

    fn strings(rs: &[SourceRecord]) -> Vec<&str> {
        rs.iter().map(|r| r.value.as_str().unwrap()).collect()
    }

    fn seqs(rs: &[SourceRecord]) -> Vec<u64> {
        rs.iter()
            .map(|r| r.source_offset.get_i64("seq").unwrap() as u64)
            .collect()
    }

    #[tokio::test]
    async fn makes_exactly_tasks_max_task_configs() {
        let mut c = (crate::SOURCE_PLUGIN.new_connector)();
        let config = props(&[("topic", "bench"), ("tasks.max", "3"), ("batch.size", "7")]);
        c.start(config.clone(), ConnectorContext::new("dg", |_| {}))
            .await
            .unwrap();
        let tasks = c.task_configs(3).await.unwrap();
        assert_eq!(tasks.len(), 3);
        for (i, t) in tasks.iter().enumerate() {
            assert_eq!(t["task.id"], i.to_string());
            assert_eq!(t["topic"], "bench");
            assert_eq!(t["batch.size"], "7");
            assert_eq!(t.len(), config.len() + 1);
        }
        assert_eq!(c.task_configs(50).await.unwrap().len(), 50);
        assert!(c.task_configs(0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn sequence_records_carry_partition_and_offset() {
        let mut t = task_with(&[("task.id", "2"), ("batch.size", "5")], None).await;
        let rs = t.poll().await.unwrap();
        assert_eq!(strings(&rs), ["2-0", "2-1", "2-2", "2-3", "2-4"]);
        assert_eq!(seqs(&rs), [1, 2, 3, 4, 5]);
        for r in &rs {
            assert_eq!(
                serde_json::Value::Object(r.source_partition.as_map().clone()),
                json!({"task": 2})
            );
            assert_eq!(&*r.topic, "t");
            assert_eq!(r.value_schema, Some(Schema::optional_string()));
            assert_eq!(r.key, Value::Null);
            assert_eq!(r.key_schema, None);
            assert_eq!(r.kafka_partition, None);
        }
        let rs = t.poll().await.unwrap();
        assert_eq!(strings(&rs)[0], "2-5");
        assert_eq!(seqs(&rs)[4], 10);
    }

    #[tokio::test]
    async fn default_batch_is_1000() {
        let mut t = task_with(&[], None).await;
        let rs = t.poll().await.unwrap();
        assert_eq!(rs.len(), 1000);
        assert_eq!(strings(&rs)[999], "0-999");
    }

    #[tokio::test]
    async fn json_values_with_padding() {
        let mut t = task_with(
            &[
                ("task.id", "1"),
                ("batch.size", "2"),
                ("value.format", "json"),
                ("payload.bytes", "10"),
            ],
            None,
        )
        .await;
        let rs = t.poll().await.unwrap();
        assert_eq!(
            strings(&rs),
            [
                r#"{"task":1,"seq":0,"payload":"xxxxxxxxxx"}"#,
                r#"{"task":1,"seq":1,"payload":"xxxxxxxxxx"}"#
            ]
        );
        let v: serde_json::Value = serde_json::from_str(strings(&rs)[1]).unwrap();
        assert_eq!(v, json!({"task": 1, "seq": 1, "payload": "xxxxxxxxxx"}));
        assert_eq!(rs[0].value_schema, Some(Schema::optional_string()));

        let mut t = task_with(&[("batch.size", "1"), ("value.format", "JSON")], None).await;
        let rs = t.poll().await.unwrap();
        assert_eq!(strings(&rs), [r#"{"task":0,"seq":0,"payload":""}"#]);
    }

    #[tokio::test]
    async fn bytes_values_with_padding() {
        let mut t = task_with(
            &[
                ("task.id", "3"),
                ("batch.size", "2"),
                ("value.format", "bytes"),
                ("payload.bytes", "4"),
            ],
            Some(seq_offset(9)),
        )
        .await;
        let rs = t.poll().await.unwrap();
        assert_eq!(rs[0].value, Value::Bytes(b"3-9xxxx".to_vec()));
        assert_eq!(rs[1].value, Value::Bytes(b"3-10xxxx".to_vec()));
        assert_eq!(rs[0].value_schema, Some(Schema::bytes()));
        assert_eq!(seqs(&rs), [10, 11]);
    }

    #[tokio::test]
    async fn sequence_format_ignores_padding() {
        let mut t = task_with(&[("batch.size", "1"), ("payload.bytes", "100")], None).await;
        assert_eq!(strings(&t.poll().await.unwrap()), ["0-0"]);
    }

    #[tokio::test]
    async fn key_is_task_id_when_asked() {
        let mut t = task_with(
            &[("task.id", "4"), ("batch.size", "3"), ("key", "task")],
            None,
        )
        .await;
        for r in t.poll().await.unwrap() {
            assert_eq!(r.key, Value::String("4".into()));
            assert_eq!(r.key_schema, Some(Schema::optional_string()));
        }
        let mut t = task_with(&[("batch.size", "1"), ("key", "none")], None).await;
        assert_eq!(t.poll().await.unwrap()[0].key, Value::Null);
    }

    #[tokio::test]
    async fn resumes_after_committed_offset() {
        let mut t = task_with(&[("batch.size", "3")], Some(seq_offset(42))).await;
        let rs = t.poll().await.unwrap();
        assert_eq!(strings(&rs), ["0-42", "0-43", "0-44"]);
        assert_eq!(seqs(&rs), [43, 44, 45]);
    }

    #[tokio::test]
    async fn bad_committed_offset_fails_the_task() {
        for bad in [
            json!({"seq": -1}),
            json!({"seq": "7"}),
            json!({"position": 7}),
        ] {
            let serde_json::Value::Object(offset) = bad else {
                unreachable!()
            };
            let mut t = DataGenSourceTask::default();
            let err = t
                .start(
                    props(&[("topic", "t"), ("task.id", "0")]),
                    SourceTaskContext::new(Arc::new(Fixed(Some(offset)))),
                )
                .await
                .unwrap_err();
            assert!(!err.is_retriable());
            assert!(err.to_string().contains("\"seq\""), "{err}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn max_records_stops_exactly() {
        let mut t = task_with(&[("max.records", "7"), ("batch.size", "3")], None).await;
        let mut all = Vec::new();
        for expected in [3, 3, 1] {
            let rs = t.poll().await.unwrap();
            assert_eq!(rs.len(), expected);
            all.extend(rs);
        }
        assert_eq!(seqs(&all), [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(strings(&all)[6], "0-6");
        let start = Instant::now();
        assert!(t.poll().await.unwrap().is_empty());
        assert!(start.elapsed() >= Duration::from_millis(900));
        assert!(t.poll().await.unwrap().is_empty());

        // Counted in sequence numbers: a resumed task makes only the rest.
        let mut t = task_with(&[("max.records", "7")], Some(seq_offset(5))).await;
        assert_eq!(strings(&t.poll().await.unwrap()), ["0-5", "0-6"]);
        assert!(t.poll().await.unwrap().is_empty());
        let mut t = task_with(&[("max.records", "7")], Some(seq_offset(9))).await;
        assert!(t.poll().await.unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn zero_max_records_is_an_idle_task() {
        let mut t = task_with(&[("max.records", "0")], None).await;
        for _ in 0..3 {
            let start = Instant::now();
            assert!(t.poll().await.unwrap().is_empty());
            let waited = start.elapsed();
            assert!(waited >= Duration::from_millis(900) && waited <= Duration::from_millis(1500));
        }
    }

    /// Records produced by polling for `span` (of tokio time).
    async fn produced_within(
        t: &mut DataGenSourceTask,
        span: Duration,
    ) -> (Vec<SourceRecord>, Duration) {
        let start = Instant::now();
        let mut out = Vec::new();
        let mut longest = Duration::ZERO;
        while start.elapsed() < span {
            let before = Instant::now();
            out.extend(t.poll().await.unwrap());
            longest = longest.max(before.elapsed());
        }
        (out, longest)
    }

    #[tokio::test(start_paused = true)]
    async fn pacing_holds_the_rate() {
        let mut t = task_with(&[("records.per.second", "200")], None).await;
        let (rs, longest) = produced_within(&mut t, Duration::from_secs(1)).await;
        assert!((190..=210).contains(&rs.len()), "{}", rs.len());
        assert!(longest <= Duration::from_millis(20), "{longest:?}");
        // Still gapless.
        assert_eq!(seqs(&rs), (1..=rs.len() as u64).collect::<Vec<_>>());

        let mut t = task_with(
            &[("records.per.second", "50000"), ("batch.size", "1000")],
            None,
        )
        .await;
        let (rs, _) = produced_within(&mut t, Duration::from_secs(2)).await;
        assert!((98_000..=102_000).contains(&rs.len()), "{}", rs.len());

        // Slower than one per poll: polls return (empty) within ~1 s.
        let mut t = task_with(&[("records.per.second", "0.5")], None).await;
        let (rs, longest) = produced_within(&mut t, Duration::from_secs(10)).await;
        assert!((5..=6).contains(&rs.len()), "{}", rs.len());
        assert!(longest <= Duration::from_millis(1100), "{longest:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn stall_catches_up_at_most_one_second() {
        let mut t = task_with(
            &[("records.per.second", "100"), ("batch.size", "10000")],
            None,
        )
        .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        let rs = t.poll().await.unwrap();
        assert!((100..=101).contains(&rs.len()), "{}", rs.len());
    }

    #[tokio::test]
    async fn pacing_in_real_time() {
        let mut t = task_with(
            &[("records.per.second", "1000"), ("batch.size", "100")],
            None,
        )
        .await;
        let (rs, _) = produced_within(&mut t, Duration::from_secs(1)).await;
        assert!((600..=1300).contains(&rs.len()), "{}", rs.len());
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_poll_loses_nothing() {
        let mut t = task_with(&[("records.per.second", "1")], None).await;
        assert_eq!(strings(&t.poll().await.unwrap()), ["0-0"]);
        let cut = tokio::time::timeout(Duration::from_millis(300), t.poll()).await;
        assert!(cut.is_err());
        let mut next = Vec::new();
        while next.is_empty() {
            next = t.poll().await.unwrap();
        }
        assert_eq!(strings(&next), ["0-1"]);
    }

    #[test]
    fn bad_values_are_named() {
        let err = DataGenConfig::definition()
            .parse(&props(&[("topic", "t"), ("records.per.second", "-1")]))
            .unwrap_err();
        assert_eq!(err.keys(), ["records.per.second"]);
        assert!(
            err.to_string().contains(
                "Invalid value -1 for configuration records.per.second: Value must be at least 0"
            ),
            "{err}"
        );

        let err = DataGenConfig::definition()
            .parse(&props(&[("topic", "t"), ("value.format", "xml")]))
            .unwrap_err();
        assert_eq!(err.keys(), ["value.format"]);
        assert!(
            err.to_string().contains(
                "Invalid value xml for configuration value.format: String must be one of: sequence, json, bytes"
            ),
            "{err}"
        );

        let err = DataGenConfig::definition()
            .parse(&props(&[
                ("max.records", "-2"),
                ("records.per.second", "NaN"),
                ("batch.size", "0"),
                ("payload.bytes", "-1"),
                ("key", "value"),
            ]))
            .unwrap_err();
        assert_eq!(
            err.keys(),
            [
                "topic",
                "max.records",
                "records.per.second",
                "batch.size",
                "payload.bytes",
                "key"
            ]
        );
        let err = DataGenConfig::definition()
            .parse(&props(&[
                ("topic", "a,b"),
                ("records.per.second", "fast"),
                ("payload.bytes", "999999999"),
            ]))
            .unwrap_err();
        assert_eq!(err.keys(), ["topic", "records.per.second", "payload.bytes"]);
    }

    #[test]
    fn defaults() {
        let s = Settings::from_task_config(&props(&[("topic", "t"), ("task.id", "5")])).unwrap();
        assert_eq!(
            s,
            Settings {
                task: 5,
                topic: "t".into(),
                max_records: None,
                rate: None,
                batch_size: 1000,
                format: ValueFormat::Sequence,
                payload_bytes: 0,
                key: KeyMode::None,
            }
        );
    }

    #[tokio::test]
    async fn errors_reach_start_and_validate() {
        let mut c = (crate::SOURCE_PLUGIN.new_connector)();
        let err = c
            .start(
                props(&[("topic", "t"), ("records.per.second", "-1")]),
                ConnectorContext::new("dg", |_| {}),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("records.per.second"), "{err}");

        let reports = c.validate(&props(&[("topic", "t"), ("value.format", "avro")]));
        let bad: Vec<_> = reports
            .iter()
            .filter(|r| !r.errors.is_empty())
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(bad, ["value.format"]);
        assert!(reports.iter().all(|r| r.name != "task.id"));

        let mut t = DataGenSourceTask::default();
        let err = t
            .start(
                props(&[("topic", "t")]),
                SourceTaskContext::new(Arc::new(Fixed(None))),
            )
            .await
            .unwrap_err();
        let ConnectError::Config(errors) = err else {
            panic!("not a config error: {err}")
        };
        assert_eq!(errors.keys(), ["task.id"]);
        assert!(t.poll().await.is_err());
    }

    #[test]
    fn decimal_digits() {
        for n in [0, 7, 10, 99, 1234567890, u64::MAX] {
            let mut s = String::from(">");
            push_decimal(&mut s, n);
            assert_eq!(s, format!(">{n}"));
        }
    }
}
