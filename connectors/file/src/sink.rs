//! FileStreamSink: appends one line per record, fsyncs on flush.

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use sluice_connect_api::config::{ConfigKey, ConnectorConfig, Importance, TypedDef};
use sluice_connect_api::{
    Config, ConfigConnector, ConnectError, ConnectResult, SinkRecord, SinkTask, SinkTaskContext,
    TopicPartition,
};
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncWriteExt, BufWriter, Stdout};

use crate::source::FILE_CONFIG;
use sluice_connect_api::schema::converter::to_java_string;

/// FileStreamSink's keys (Kafka Connect's `FileStreamSinkConnector`).
#[derive(Debug, Default)]
pub struct FileSinkConfig {
    /// `None`: standard output.
    pub file: Option<PathBuf>,
}

impl ConnectorConfig for FileSinkConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new().field(
            ConfigKey::named(FILE_CONFIG)
                .importance(Importance::High)
                .doc("Destination filename. If not specified, the standard output will be used"),
            |c, v| c.file = v,
        )
    }
}

/// The connector: every task gets the same config (tasks share the file in
/// Kafka too; use one task for ordered output).
pub type FileStreamSinkConnector = ConfigConnector<FileSinkConfig>;

#[derive(Debug)]
enum Output {
    File { path: PathBuf, w: BufWriter<File> },
    Stdout(BufWriter<Stdout>),
}

/// The task.
#[derive(Debug, Default)]
pub struct FileStreamSinkTask {
    out: Option<Output>,
    line: String,
}

impl FileStreamSinkTask {
    fn io_err(&self, what: &str, e: std::io::Error) -> ConnectError {
        let target = match &self.out {
            Some(Output::File { path, .. }) => path.display().to_string(),
            _ => "stdout".to_string(),
        };
        ConnectError::retriable_from(format!("{what} {target}"), e)
    }
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    async fn start(&mut self, config: Config, _ctx: SinkTaskContext) -> ConnectResult<()> {
        let c = FileSinkConfig::parse(&config)?;
        self.out = Some(match c.file {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .await
                    .map_err(|e| {
                        ConnectError::fatal_from(
                            format!(
                                "Couldn't find or create file '{}' for FileStreamSinkTask",
                                path.display()
                            ),
                            e,
                        )
                    })?;
                Output::File {
                    path,
                    w: BufWriter::with_capacity(256 * 1024, file),
                }
            }
            None => Output::Stdout(BufWriter::new(tokio::io::stdout())),
        });
        Ok(())
    }

    async fn put(&mut self, records: &mut Vec<SinkRecord>) -> ConnectResult<()> {
        // The whole batch as text first, then one write: an async write per
        // record costs more than the formatting.
        self.line.clear();
        for r in records.iter() {
            to_java_string(&mut self.line, r.value_schema.as_deref(), &r.value).map_err(|e| {
                ConnectError::fatal_from(
                    format!(
                        "cannot write the record at topic {} partition {} offset {} as text",
                        r.topic, r.kafka_partition, r.kafka_offset
                    ),
                    e,
                )
            })?;
            self.line.push('\n');
        }
        let res = match &mut self.out {
            Some(Output::File { w, .. }) => w.write_all(self.line.as_bytes()).await,
            Some(Output::Stdout(w)) => w.write_all(self.line.as_bytes()).await,
            None => return Err(ConnectError::fatal("FileStreamSinkTask is not started")),
        };
        res.map_err(|e| self.io_err("error writing to", e))?;
        Ok(())
    }

    async fn flush(&mut self, _offsets: &BTreeMap<TopicPartition, i64>) -> ConnectResult<()> {
        let res = match &mut self.out {
            Some(Output::File { w, .. }) => match w.flush().await {
                // Durable before the runtime commits the offsets.
                Ok(()) => w.get_ref().sync_data().await,
                Err(e) => Err(e),
            },
            Some(Output::Stdout(w)) => w.flush().await,
            None => Ok(()),
        };
        res.map_err(|e| self.io_err("error flushing", e))
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        if let Some(Output::File { w, .. }) = &mut self.out {
            let _ = w.flush().await;
        }
        self.out = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::TimestampType;
    use sluice_connect_api::schema::Value;

    fn rec(v: &str, off: i64) -> SinkRecord {
        SinkRecord {
            topic: "t".into(),
            kafka_partition: 0,
            kafka_offset: off,
            key_schema: None,
            key: Value::Null,
            value_schema: None,
            value: Value::String(v.into()),
            timestamp: None,
            timestamp_type: TimestampType::CreateTime,
            headers: vec![],
        }
    }

    #[tokio::test]
    async fn appends_lines_and_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, "existing\n").unwrap();
        let mut c = Config::new();
        c.insert("file".into(), p.display().to_string());
        let mut t = FileStreamSinkTask::default();
        t.start(c, SinkTaskContext::new()).await.unwrap();
        t.put(&mut vec![rec("a", 0), rec("b", 1)]).await.unwrap();
        t.flush(&BTreeMap::new()).await.unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "existing\na\nb\n");
        t.stop().await.unwrap();
    }

    #[tokio::test]
    async fn unwritable_file_fails_start() {
        let mut c = Config::new();
        c.insert("file".into(), "/nonexistent-dir/x/out.txt".into());
        let mut t = FileStreamSinkTask::default();
        let err = t.start(c, SinkTaskContext::new()).await.unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/x/out.txt"));
    }
}
