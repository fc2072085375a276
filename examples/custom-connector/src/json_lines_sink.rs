//! `JsonLinesSink`: each record's value as one JSON line, fsynced in
//! `flush` (the runtime commits consumer offsets only after that).

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use sluice_connect_api::config::{ConfigKey, ConnectorConfig, Importance, TypedDef, Validator};
use sluice_connect_api::schema::Value;
use sluice_connect_api::{
    Config, ConfigConnector, ConnectError, ConnectResult, SinkRecord, SinkTask, SinkTaskContext,
    TopicPartition,
};
use tokio::io::AsyncWriteExt;

/// The sink's configuration.
#[derive(Debug, Default)]
pub struct JsonLinesSinkConfig {
    pub output: PathBuf,
}

impl ConnectorConfig for JsonLinesSinkConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new().field(
            ConfigKey::named("output.file")
                .importance(Importance::High)
                .validator(Validator::NonEmptyString)
                .doc("The file JSON lines are appended to."),
            |c, v| c.output = v,
        )
    }
}

/// The connector: every task appends to the same file.
pub type JsonLinesSinkConnector = ConfigConnector<JsonLinesSinkConfig>;

/// The task: buffers lines in `put`, writes and fsyncs them in `flush`.
#[derive(Debug, Default)]
pub struct JsonLinesSinkTask {
    path: PathBuf,
    file: Option<tokio::fs::File>,
    buffer: String,
}

/// A Connect value as JSON (structs as objects by field name).
fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Int8(n) => (*n).into(),
        Value::Int16(n) => (*n).into(),
        Value::Int32(n) => (*n).into(),
        Value::Int64(n) => (*n).into(),
        Value::Float32(n) => f64::from(*n).into(),
        Value::Float64(n) => (*n).into(),
        Value::Boolean(b) => (*b).into(),
        Value::String(s) => s.clone().into(),
        Value::Bytes(b) => J::Array(b.iter().map(|x| (*x).into()).collect()),
        Value::Array(a) => J::Array(a.iter().map(to_json).collect()),
        Value::Map(m) => J::Array(
            m.iter()
                .map(|(k, v)| J::Array(vec![to_json(k), to_json(v)]))
                .collect(),
        ),
        Value::Struct(s) => J::Object(
            s.schema()
                .fields
                .iter()
                .zip(s.values())
                .map(|(f, v)| (f.name.clone(), to_json(v)))
                .collect(),
        ),
    }
}

#[async_trait]
impl SinkTask for JsonLinesSinkTask {
    async fn start(&mut self, config: Config, _ctx: SinkTaskContext) -> ConnectResult<()> {
        self.path = JsonLinesSinkConfig::parse(&config)?.output;
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| {
                ConnectError::fatal_from(format!("cannot open {}", self.path.display()), e)
            })?;
        self.file = Some(file);
        Ok(())
    }

    async fn put(&mut self, records: &mut Vec<SinkRecord>) -> ConnectResult<()> {
        for r in records.iter() {
            self.buffer.push_str(&to_json(&r.value).to_string());
            self.buffer.push('\n');
        }
        Ok(())
    }

    async fn flush(&mut self, _offsets: &BTreeMap<TopicPartition, i64>) -> ConnectResult<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let io = |e| ConnectError::retriable_from("cannot write the output file", e);
        if !self.buffer.is_empty() {
            file.write_all(self.buffer.as_bytes()).await.map_err(io)?;
            self.buffer.clear();
        }
        file.sync_data().await.map_err(io)
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}
