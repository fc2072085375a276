//! `CsvSource`: one record per CSV row, as a struct of optional strings
//! named after the header's columns. Quoting is not handled: a field is
//! whatever lies between two commas (enough for an example).

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use sluice_connect_api::config::{ConfigKey, ConnectorConfig, Importance, TypedDef, Validator};
use sluice_connect_api::schema::{SchemaBuilder, SchemaRef, Struct, Value};
use sluice_connect_api::{
    Config, ConfigConnector, ConnectError, ConnectResult, SourceOffset, SourcePartition,
    SourceRecord, SourceTask, SourceTaskContext, Topic,
};

/// The source's configuration, declared once: parsing, validation, the
/// REST API's key listing and `sluice docs` all come from it.
#[derive(Debug, Default)]
pub struct CsvSourceConfig {
    pub file: PathBuf,
    pub topic: String,
    pub batch_size: u32,
}

impl ConnectorConfig for CsvSourceConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named("csv.file")
                    .importance(Importance::High)
                    .validator(Validator::NonEmptyString)
                    .doc("The CSV file to read; its first line names the columns."),
                |c, v| c.file = v,
            )
            .field(
                ConfigKey::named("topic")
                    .importance(Importance::High)
                    .validator(Validator::NonEmptyString)
                    .doc("The topic to write rows to."),
                |c, v| c.topic = v,
            )
            .field(
                ConfigKey::named("batch.size")
                    .default_value("500")
                    .validator(Validator::at_least(1.0))
                    .importance(Importance::Low)
                    .doc("At most this many rows per poll."),
                |c, v| c.batch_size = v,
            )
    }
}

/// The connector: one task reads the whole file. The SDK's
/// `ConfigConnector` checks the config and hands it to the task.
pub type CsvSourceConnector = ConfigConnector<CsvSourceConfig>;

/// The task: reads rows after the committed one, `batch.size` per poll.
#[derive(Debug, Default)]
pub struct CsvSourceTask {
    file: PathBuf,
    /// Shared: cloning it into a record is a reference count.
    topic: Topic,
    batch: usize,
    /// Rows read so far (the source offset of the last record returned).
    rows: u64,
    schema: Option<SchemaRef>,
    /// Built once, cloned into every record (a reference count).
    partition: SourcePartition,
}

impl CsvSourceTask {
    /// The file's rows after the first `self.rows` (the header excluded).
    async fn unread_rows(&mut self) -> ConnectResult<Vec<String>> {
        let text = tokio::fs::read_to_string(&self.file).await.map_err(|e| {
            ConnectError::retriable_from(format!("cannot read {}", self.file.display()), e)
        })?;
        let mut lines = text.lines();
        let Some(header) = lines.next() else {
            return Ok(Vec::new()); // empty so far
        };
        if self.schema.is_none() {
            let mut b = SchemaBuilder::struct_().name("example.CsvRow");
            for column in header.split(',') {
                b = b.field(column.trim(), SchemaBuilder::string().optional().build());
            }
            self.schema = Some(b.try_build()?);
        }
        let skip = usize::try_from(self.rows).unwrap_or(usize::MAX);
        Ok(lines
            .filter(|l| !l.trim().is_empty())
            .skip(skip)
            .take(self.batch)
            .map(str::to_string)
            .collect())
    }

    fn record(&self, schema: &SchemaRef, row: &str, number: u64) -> ConnectResult<SourceRecord> {
        let mut value = Struct::new(schema.clone());
        for (field, cell) in schema.fields.iter().zip(row.split(',')) {
            value.set(&field.name, Value::String(cell.trim().to_string()))?;
        }
        let offset = SourceOffset::int("rows", i64::try_from(number).unwrap_or(i64::MAX));
        Ok(SourceRecord::new(
            self.partition.clone(),
            offset,
            self.topic.clone(),
            Some(schema.clone()),
            Value::Struct(value),
        ))
    }
}

#[async_trait]
impl SourceTask for CsvSourceTask {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()> {
        let c = CsvSourceConfig::parse(&config)?;
        self.file = c.file;
        self.topic = c.topic.into();
        self.batch = usize::try_from(c.batch_size).unwrap_or(1);
        self.partition = SourcePartition::one("file", self.file.display().to_string());
        // Resume after the last row whose offset was committed.
        if let Some(o) = ctx.offset_reader().offset(&self.partition).await? {
            self.rows = o
                .get("rows")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
        }
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let rows = self.unread_rows().await?;
        if rows.is_empty() {
            // Nothing new: wait a little before the runtime polls again.
            tokio::time::sleep(Duration::from_millis(500)).await;
            return Ok(Vec::new());
        }
        let Some(schema) = self.schema.clone() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            self.rows += 1;
            out.push(self.record(&schema, &row, self.rows)?);
        }
        Ok(out)
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}
