//! FileStreamSource: one record per line of a file that may still grow.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use sluice_connect_api::config::{ConfigKey, ConnectorConfig, Importance, TypedDef, Validator};
use sluice_connect_api::schema::{Schema, SchemaRef, Value};
use sluice_connect_api::{
    Config, ConfigConnector, ConnectError, ConnectResult, SourceOffset, SourcePartition,
    SourceRecord, SourceTask, SourceTaskContext, Topic,
};
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt, SeekFrom};

pub(crate) const FILE_CONFIG: &str = "file";
const TOPIC_CONFIG: &str = "topic";
const BATCH_SIZE_CONFIG: &str = "batch.size";
const DEFAULT_BATCH_SIZE: &str = "2000";

const FILENAME_FIELD: &str = "filename";
const POSITION_FIELD: &str = "position";

/// How long `poll` waits for new data before returning an empty batch.
const IDLE_WAIT: Duration = Duration::from_millis(100);
const READ_CHUNK: usize = 256 * 1024;

/// FileStreamSource's keys (Kafka Connect's `FileStreamSourceConnector`).
#[derive(Debug, Default)]
pub struct FileSourceConfig {
    /// `None`: standard input.
    pub file: Option<PathBuf>,
    pub topic: String,
    pub batch_size: u32,
}

impl ConnectorConfig for FileSourceConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(FILE_CONFIG)
                    .importance(Importance::High)
                    .doc("Source filename. If not specified, the standard input will be used"),
                |c, v| c.file = v,
            )
            .field(
                ConfigKey::named(TOPIC_CONFIG)
                    .importance(Importance::High)
                    .doc("The topic to publish data to")
                    .validator(Validator::custom(|v| {
                        let s = v.to_string();
                        if s.trim().is_empty() {
                            Err("String must be non-empty".to_string())
                        } else if s.contains(',') {
                            Err("FileStreamSourceConnector requires exactly one topic".to_string())
                        } else {
                            Ok(())
                        }
                    })),
                |c, v| c.topic = v,
            )
            .field(
                ConfigKey::named(BATCH_SIZE_CONFIG)
                    .default_value(DEFAULT_BATCH_SIZE)
                    .importance(Importance::Low)
                    .doc("The maximum number of records the source task can read from the file each time it is polled")
                    .validator(Validator::at_least(1.0)),
                |c, v| c.batch_size = v,
            )
    }
}

/// The connector: checks the config and hands it to exactly one task (one
/// file, one reader: more tasks would duplicate every line).
pub type FileStreamSourceConnector = ConfigConnector<FileSourceConfig>;

enum Input {
    File { path: PathBuf, file: Option<File> },
    Stdin(tokio::io::Stdin),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File { path, .. } => write!(f, "File({})", path.display()),
            Self::Stdin(_) => f.write_str("Stdin"),
        }
    }
}

/// Most records a poll's vector is sized for up front.
const MAX_RESERVE: usize = 10_000;

/// The task: reads lines, remembers the byte position after each.
#[derive(Debug, Default)]
pub struct FileStreamSourceTask {
    input: Option<Input>,
    ctx: Option<SourceTaskContext>,
    topic: Topic,
    batch_size: usize,
    partition: SourcePartition,
    value_schema: Option<SchemaRef>,
    /// Byte position of the first byte in `buf`: the next unread line.
    position: u64,
    /// Bytes read from the file but not yet returned as lines.
    buf: Vec<u8>,
    /// How far `buf` was already searched for a line end.
    scanned: usize,
    /// Where reads land before they are appended to `buf`. `poll` may be
    /// dropped mid-read (the runtime cancels it to commit or stop), so
    /// `buf` must never hold bytes that were not read.
    chunk: Vec<u8>,
    /// Lines cut but not yet returned: they live here, not in a local, so
    /// a poll dropped at an await loses none of them.
    pending: Vec<SourceRecord>,
    warned_missing: bool,
}

impl FileStreamSourceTask {
    fn path_display(&self) -> String {
        match &self.input {
            Some(Input::File { path, .. }) => path.display().to_string(),
            _ => "stdin".to_string(),
        }
    }

    /// Opens the file when it exists, seeking to the committed position.
    async fn open(&mut self) -> ConnectResult<bool> {
        let Some(Input::File { path, file }) = &mut self.input else {
            return Ok(true);
        };
        if file.is_some() {
            return Ok(true);
        }
        let mut f = match File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if !self.warned_missing {
                    tracing::warn!(
                        file = %path.display(),
                        "Couldn't find file {} for FileStreamSourceTask, sleeping to wait for it to be created",
                        path.display()
                    );
                    self.warned_missing = true;
                }
                return Ok(false);
            }
            Err(e) => {
                return Err(ConnectError::retriable_from(
                    format!("cannot open {}", path.display()),
                    e,
                ));
            }
        };
        let committed = match &self.ctx {
            Some(ctx) => ctx.offset_reader().offset(&self.partition).await?,
            None => None,
        };
        if let Some(offset) = committed {
            let pos = offset
                .get(POSITION_FIELD)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| {
                    ConnectError::fatal(format!(
                        "committed offset for {} has no numeric \"{POSITION_FIELD}\": {}",
                        path.display(),
                        serde_json::Value::Object(offset.clone())
                    ))
                })?;
            let len = f
                .metadata()
                .await
                .map_err(|e| ConnectError::retriable_from("cannot stat source file", e))?
                .len();
            if len < pos {
                return Err(truncated(path, len, pos));
            }
            f.seek(SeekFrom::Start(pos))
                .await
                .map_err(|e| ConnectError::retriable_from("cannot seek source file", e))?;
            tracing::info!(file = %path.display(), position = pos, "resuming from committed offset");
            self.position = pos;
        }
        *file = Some(f);
        Ok(true)
    }

    /// Reads more bytes; `Ok(0)` at the end of the file for now.
    /// Cancellation-safe: `buf` changes only after a read completed (tokio
    /// keeps the data of a read whose future was dropped for the next one).
    async fn fill(&mut self) -> ConnectResult<usize> {
        if self.chunk.len() != READ_CHUNK {
            self.chunk = vec![0; READ_CHUNK];
        }
        let res = match &mut self.input {
            Some(Input::File { file: Some(f), .. }) => f.read(&mut self.chunk).await,
            Some(Input::Stdin(s)) => s.read(&mut self.chunk).await,
            _ => Ok(0),
        };
        let n = res.map_err(|e| {
            ConnectError::retriable_from(format!("error reading {}", self.path_display()), e)
        })?;
        self.buf.extend_from_slice(&self.chunk[..n]);
        Ok(n)
    }

    /// At the end of the data: fails if the file shrank below what was read.
    async fn check_truncation(&mut self) -> ConnectResult<()> {
        if let Some(Input::File {
            path,
            file: Some(f),
        }) = &mut self.input
        {
            let len = f
                .metadata()
                .await
                .map_err(|e| ConnectError::retriable_from("cannot stat source file", e))?
                .len();
            let read_upto = self.position + self.buf.len() as u64;
            if len < read_upto {
                return Err(truncated(path, len, read_upto));
            }
        }
        Ok(())
    }

    /// Cuts complete lines off the front of `buf` into records.
    fn extract_lines(&mut self) {
        // One clock read per call, not per line (it showed in profiles).
        let now = now_millis();
        let mut consumed = 0usize;
        let mut i = self.scanned;
        while self.pending.len() < self.batch_size && i < self.buf.len() {
            // The next line end, found a word at a time.
            let Some(at) = memchr::memchr2(b'\n', b'\r', &self.buf[i..]) else {
                i = self.buf.len();
                break;
            };
            i += at;
            let b = self.buf[i];
            // "\r\n" is one line end; a trailing '\r' waits for the next byte.
            let mut end = i + 1;
            if b == b'\r' {
                if end == self.buf.len() {
                    break;
                }
                if self.buf[end] == b'\n' {
                    end += 1;
                }
            }
            let bytes = &self.buf[consumed..i];
            // Valid UTF-8 (the common case) is checked word-at-a-time by
            // `from_utf8`; only a line with bad bytes takes the slower
            // lossy path (each bad sequence becomes U+FFFD, as Java does).
            let line = match std::str::from_utf8(bytes) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(bytes).into_owned(),
            };
            self.position += (end - consumed) as u64;
            consumed = end;
            i = end;
            let record = self.record(line, now);
            self.pending.push(record);
        }
        self.buf.drain(..consumed);
        self.scanned = i - consumed;
    }

    fn record(&self, line: String, timestamp: i64) -> SourceRecord {
        let offset = if matches!(self.input, Some(Input::File { .. })) {
            SourceOffset::int(
                POSITION_FIELD,
                i64::try_from(self.position).unwrap_or(i64::MAX),
            )
        } else {
            SourceOffset::empty()
        };
        let mut r = SourceRecord::new(
            self.partition.clone(),
            offset,
            self.topic.clone(),
            self.value_schema.clone(),
            Value::String(line),
        );
        r.timestamp = Some(timestamp);
        r
    }
}

fn truncated(path: &std::path::Path, len: u64, pos: u64) -> ConnectError {
    ConnectError::fatal(format!(
        "file {} has {len} bytes but the committed/read position is {pos}: it was truncated or replaced. \
         Lines will not be re-read silently; reset this connector's offsets (or point it at a new file) to continue",
        path.display()
    ))
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()> {
        let c = FileSourceConfig::parse(&config)?;
        self.topic = c.topic.into();
        self.batch_size = usize::try_from(c.batch_size).unwrap_or(1).max(1);
        self.value_schema = Some(Schema::string());
        self.input = Some(match c.file {
            Some(path) => {
                self.partition = SourcePartition::one(FILENAME_FIELD, path.display().to_string());
                Input::File { path, file: None }
            }
            None => Input::Stdin(tokio::io::stdin()),
        });
        self.ctx = Some(ctx);
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        if !self.open().await? {
            tokio::time::sleep(Duration::from_secs(1)).await;
            return Ok(Vec::new());
        }
        self.extract_lines();
        while self.pending.len() < self.batch_size {
            let n = self.fill().await?;
            if n == 0 {
                if self.pending.is_empty() {
                    self.check_truncation().await?;
                    tokio::time::sleep(IDLE_WAIT).await;
                }
                break;
            }
            self.extract_lines();
        }
        // The next batch's vector is sized up front: records are large
        // enough that growing it by doubling shows in a profile.
        let next = Vec::with_capacity(self.batch_size.min(MAX_RESERVE));
        Ok(std::mem::replace(&mut self.pending, next))
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        self.input = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sluice_connect_api::OffsetMap;
    use std::sync::Arc;

    #[derive(Debug)]
    struct Fixed(Option<OffsetMap>);
    #[async_trait::async_trait]
    impl sluice_connect_api::OffsetReader for Fixed {
        async fn offset(&self, _p: &OffsetMap) -> ConnectResult<Option<OffsetMap>> {
            Ok(self.0.clone())
        }
    }

    fn cfg(file: &std::path::Path) -> Config {
        let mut c = Config::new();
        c.insert("file".into(), file.display().to_string());
        c.insert("topic".into(), "t".into());
        c
    }

    async fn started(file: &std::path::Path, offset: Option<u64>) -> FileStreamSourceTask {
        let mut t = FileStreamSourceTask::default();
        let o = offset.map(|p| {
            let mut m = OffsetMap::new();
            m.insert("position".into(), json!(p));
            m
        });
        t.start(cfg(file), SourceTaskContext::new(Arc::new(Fixed(o))))
            .await
            .unwrap();
        t
    }

    fn lines(rs: &[SourceRecord]) -> Vec<(String, u64)> {
        rs.iter()
            .map(|r| {
                (
                    r.value.as_str().unwrap().to_string(),
                    r.source_offset.get_i64("position").unwrap() as u64,
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn reads_lines_with_byte_positions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.txt");
        std::fs::write(&p, "a\r\nbb\nccc\rpartial").unwrap();
        let mut t = started(&p, None).await;
        let rs = t.poll().await.unwrap();
        assert_eq!(
            lines(&rs),
            vec![("a".into(), 3), ("bb".into(), 6), ("ccc".into(), 10)]
        );
        assert_eq!(
            rs[0].source_partition["filename"],
            json!(p.display().to_string())
        );
        // The partial line waits for its end.
        assert!(t.poll().await.unwrap().is_empty());
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b" line\n"))
            .unwrap();
        assert_eq!(
            lines(&t.poll().await.unwrap()),
            vec![("partial line".into(), 23)]
        );
    }

    /// The runtime drops a pending `poll` to commit, pause or stop. A poll
    /// dropped in the middle of a read must not leave unread bytes behind
    /// (this once turned into a line of NUL bytes and a position past the
    /// end of the file).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_poll_loses_and_invents_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.txt");
        let want: Vec<String> = (0..20_000)
            .map(|i| format!("{i:08}-{}", "y".repeat(60)))
            .collect();
        std::fs::write(&p, want.join("\n") + "\n").unwrap();
        let mut c = cfg(&p);
        c.insert("batch.size".into(), "500".into());
        let mut t = FileStreamSourceTask::default();
        t.start(c, SourceTaskContext::new(Arc::new(Fixed(None))))
            .await
            .unwrap();
        let mut got = Vec::new();
        let mut last = 0;
        for round in 0..2_000 {
            // Every other poll is cut short at its first await point (if it
            // gets that far: one that completes at once counts).
            let batch = if round % 2 == 0 {
                match tokio::time::timeout(std::time::Duration::ZERO, t.poll()).await {
                    Ok(r) => r.unwrap(),
                    Err(_) => continue,
                }
            } else {
                t.poll().await.unwrap()
            };
            for (line, pos) in lines(&batch) {
                assert!(!line.contains('\0'), "NUL bytes in a line");
                assert!(pos > last);
                last = pos;
                got.push(line);
            }
            if got.len() == want.len() {
                break;
            }
        }
        assert_eq!(got.len(), want.len(), "every line once");
        assert!(got == want, "lines in order, none lost, none invented");
        assert_eq!(last, std::fs::metadata(&p).unwrap().len());
    }

    #[tokio::test]
    async fn resumes_from_offset_and_respects_batch_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.txt");
        std::fs::write(&p, "one\ntwo\nthree\nfour\n").unwrap();
        let mut c = cfg(&p);
        c.insert("batch.size".into(), "1".into());
        let mut t = FileStreamSourceTask::default();
        let mut m = OffsetMap::new();
        m.insert("position".into(), json!(4));
        t.start(c, SourceTaskContext::new(Arc::new(Fixed(Some(m)))))
            .await
            .unwrap();
        assert_eq!(lines(&t.poll().await.unwrap()), vec![("two".into(), 8)]);
        assert_eq!(lines(&t.poll().await.unwrap()), vec![("three".into(), 14)]);
    }

    #[tokio::test]
    async fn shorter_file_than_offset_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.txt");
        std::fs::write(&p, "x\n").unwrap();
        let mut t = started(&p, Some(100)).await;
        let err = t.poll().await.unwrap_err();
        assert!(!err.is_retriable());
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[tokio::test]
    async fn truncation_while_following_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.txt");
        std::fs::write(&p, "first line\nsecond line\n").unwrap();
        let mut t = started(&p, None).await;
        assert_eq!(t.poll().await.unwrap().len(), 2);
        std::fs::write(&p, "x\n").unwrap();
        let err = t.poll().await.unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[tokio::test]
    async fn missing_file_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("later.txt");
        let mut t = started(&p, None).await;
        assert!(t.poll().await.unwrap().is_empty());
        std::fs::write(&p, "hello\n").unwrap();
        assert_eq!(lines(&t.poll().await.unwrap()), vec![("hello".into(), 6)]);
    }

    #[test]
    fn config_errors_name_keys() {
        let mut c = Config::new();
        c.insert("topic".into(), "a,b".into());
        c.insert("batch.size".into(), "zero".into());
        let err = FileSourceConfig::parse(&c).unwrap_err();
        assert_eq!(err.keys(), vec!["topic", "batch.size"]);
    }
}
