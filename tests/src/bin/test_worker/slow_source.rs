//! `sluice.test.SlowSource`: a connector whose `start` takes `start.ms`,
//! and one task that polls `records.per.poll` records named `rec-<n>` every `poll.ms`, from its committed offset
//! (`{"next": n}` in partition `{"task": 0}`) up to `max.records`.
//!
//! With `ack.file`, what the runtime acknowledges is appended there:
//! `ack.mode=record` writes `rec-<n>@<partition>:<offset>` (or
//! `rec-<n>@none`) per record, `ack.mode=batch` writes `next <n>` per
//! acknowledged run of batches. A test compares the file with the topic.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use sluice_connect_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use sluice_connect_api::schema::Value;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, Connector, ConnectorContext, ConnectorPlugin,
    RecordMetadata, Registry, SourceAcknowledger, SourceOffset, SourcePartition, SourceRecord,
    SourceTask, SourceTaskContext, TaskFactory,
};

pub(crate) fn register(r: &mut Registry) {
    r.register_connector(ConnectorPlugin {
        class_name: "sluice.test.SlowSourceConnector",
        aliases: &[],
        version: "test",
        new_connector: || Box::new(SlowSourceConnector::default()),
        new_task: TaskFactory::Source(|| Box::new(SlowSourceTask::default())),
    });
}

fn def() -> ConfigDef {
    ConfigDef::new()
        .key(
            ConfigKey::new("topic", ConfigType::String)
                .importance(Importance::High)
                .doc("Topic to write to"),
        )
        .key(
            ConfigKey::new("start.ms", ConfigType::Long)
                .default_value("0")
                .validator(Validator::at_least(0.0))
                .doc("How long the connector's start takes (a slow database connect)"),
        )
        .key(
            ConfigKey::new("poll.ms", ConfigType::Long)
                .default_value("0")
                .validator(Validator::at_least(0.0))
                .doc("How long each poll takes"),
        )
        .key(
            ConfigKey::new("records.per.poll", ConfigType::Int)
                .default_value("10")
                .validator(Validator::at_least(1.0))
                .doc("Records per poll"),
        )
        .key(
            ConfigKey::new("max.records", ConfigType::Long)
                .default_value("-1")
                .doc("Stop producing after this many (-1: never)"),
        )
        .key(
            ConfigKey::new("ack.mode", ConfigType::String)
                .default_value("none")
                .validator(Validator::one_of(&["none", "batch", "record"]))
                .doc("What to acknowledge to ack.file"),
        )
        .key(
            ConfigKey::new("ack.file", ConfigType::String)
                .default_value("")
                .doc("Where acknowledgements are appended"),
        )
}

#[derive(Debug, Default)]
struct SlowSourceConnector {
    config: Config,
}

#[async_trait]
impl Connector for SlowSourceConnector {
    fn version(&self) -> String {
        "test".into()
    }

    fn config_def(&self) -> ConfigDef {
        def()
    }

    async fn start(&mut self, config: Config, _ctx: ConnectorContext) -> ConnectResult<()> {
        let c = def().parse(&config)?;
        let wait = u64::try_from(c.long("start.ms")?).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        self.config = config;
        Ok(())
    }

    async fn task_configs(&mut self, _max_tasks: usize) -> ConnectResult<Vec<Config>> {
        Ok(vec![self.config.clone()])
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

#[derive(Debug, Default)]
struct SlowSourceTask {
    topic: String,
    poll: Duration,
    per_poll: u64,
    max: Option<u64>,
    next: u64,
    acks: Option<Arc<FileAcks>>,
}

fn partition() -> SourcePartition {
    SourcePartition::one("task", 0)
}

#[async_trait]
impl SourceTask for SlowSourceTask {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()> {
        let c = def().parse(&config)?;
        self.topic = c.string("topic")?;
        self.poll = Duration::from_millis(u64::try_from(c.long("poll.ms")?).unwrap_or(0));
        self.per_poll = u64::try_from(c.int("records.per.poll")?).unwrap_or(1);
        self.max = u64::try_from(c.long("max.records")?).ok();
        self.next = ctx
            .offset_reader()
            .offset(&partition())
            .await?
            .and_then(|o| o.get("next").and_then(serde_json::Value::as_u64))
            .unwrap_or(0);
        let mode = c.string("ack.mode")?;
        let path = c.string("ack.file")?;
        if mode != "none" && !path.is_empty() {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| ConnectError::fatal_from(format!("cannot open {path}"), e))?;
            self.acks = Some(Arc::new(FileAcks {
                file: Mutex::new(file),
                per_record: mode == "record",
            }));
        }
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let remaining = self
            .max
            .map_or(self.per_poll, |m| m.saturating_sub(self.next));
        if remaining == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Ok(Vec::new());
        }
        tokio::time::sleep(self.poll).await;
        let n = remaining.min(self.per_poll);
        let records = (self.next..self.next + n)
            .map(|i| {
                SourceRecord::new(
                    partition(),
                    SourceOffset::int("next", i64::try_from(i + 1).unwrap_or(i64::MAX)),
                    self.topic.clone(),
                    None,
                    Value::String(format!("rec-{i}")),
                )
            })
            .collect();
        self.next += n;
        Ok(records)
    }

    fn acknowledger(&self) -> Option<Arc<dyn SourceAcknowledger>> {
        self.acks.clone().map(|a| a as Arc<dyn SourceAcknowledger>)
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

/// Appends acknowledgements to a file, one line each.
#[derive(Debug)]
struct FileAcks {
    file: Mutex<std::fs::File>,
    per_record: bool,
}

impl FileAcks {
    fn line(&self, text: &str) {
        let mut f = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = writeln!(f, "{text}") {
            eprintln!("cannot write an acknowledgement: {e}");
        }
    }
}

impl SourceAcknowledger for FileAcks {
    fn per_record(&self) -> bool {
        self.per_record
    }

    fn commit_record(&self, record: &SourceRecord, metadata: Option<&RecordMetadata>) {
        let value = record.value.as_str().unwrap_or("?");
        match metadata {
            Some(m) => self.line(&format!("{value}@{}:{}", m.partition, m.offset)),
            None => self.line(&format!("{value}@none")),
        }
    }

    fn commit_offsets(&self, acknowledged: &[(SourcePartition, SourceOffset)]) {
        if self.per_record {
            return;
        }
        for (_, offset) in acknowledged {
            if let Some(n) = offset.get_i64("next") {
                self.line(&format!("next {n}"));
            }
        }
    }
}
