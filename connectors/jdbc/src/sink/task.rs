//! `JdbcSinkTask`: each `put` is one transaction, committed before `put`
//! returns, so the runtime commits Kafka offsets only for rows that are
//! in the database. A failed batch is retried (`max.retries`); a record
//! the database refuses is written alone to find it, reported as errant
//! (DLQ) while the rest of the batch lands, or fails the task.

use std::fmt;

use async_trait::async_trait;
use sluice_connect_api::config::ConnectorConfig;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, ErrantRecordReporter, SinkRecord, SinkTask,
    SinkTaskContext,
};

use super::config::JdbcSinkConfig;
use super::writer::{WriteError, Writer, WriterSettings};
use crate::db::{Conn, ConnectSettings, DbError};

/// An error about one record, for the errant-record reporter.
#[derive(Debug)]
struct RecordError(String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecordError {}

#[derive(Debug, Default)]
pub struct JdbcSinkTask {
    settings: Option<ConnectSettings>,
    writer: Option<Writer>,
    conn: Option<Conn>,
    reporter: Option<ErrantRecordReporter>,
    max_retries: u32,
    retries_left: u32,
    backoff: std::time::Duration,
}

fn describe(r: &SinkRecord) -> String {
    format!(
        "record at (topic='{}',partition={},offset={}) with key {}",
        r.topic,
        r.kafka_partition,
        r.kafka_offset,
        key_text(&r.key)
    )
}

fn key_text(v: &sluice_connect_api::schema::Value) -> String {
    let s = super::value::to_json(v).to_string();
    if s.len() > 200 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(200).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

impl JdbcSinkTask {
    async fn connection(&mut self) -> ConnectResult<&mut Conn> {
        let reconnect = !self.conn.as_ref().is_some_and(Conn::is_open);
        if reconnect {
            let settings = self
                .settings
                .as_ref()
                .ok_or_else(|| ConnectError::fatal("task not started"))?;
            let conn = Conn::connect(settings)
                .await
                .map_err(|e| ConnectError::retriable_from(e.to_string(), e))?;
            if let Some(w) = self.writer.as_mut() {
                w.reset_connection_state();
            }
            self.conn = Some(conn);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| ConnectError::fatal("no connection"))
    }

    async fn begin(conn: &mut Conn) -> Result<(), DbError> {
        conn.execute_batch(match conn.dialect() {
            crate::dialect::Dialect::Postgres => "BEGIN",
            crate::dialect::Dialect::MySql => "START TRANSACTION",
        })
        .await
    }

    async fn rollback(conn: &mut Conn) {
        if let Err(e) = conn.execute_batch("ROLLBACK").await {
            tracing::debug!("JDBC sink: rollback failed: {e}");
        }
    }

    /// Writes `records` in one transaction.
    async fn write_all(&mut self, records: &[SinkRecord]) -> Result<(), WriteError> {
        let writer = self
            .writer
            .as_mut()
            .ok_or(WriteError::Db(DbError::data("task not started")))?;
        let (segments, errors) = writer.segments(records);
        if let Some((index, message)) = errors.into_iter().next() {
            return Err(WriteError::Record { index, message });
        }
        let conn = self
            .conn
            .as_mut()
            .ok_or(WriteError::Db(DbError::data("no connection")))?;
        Self::begin(conn).await?;
        let writer = self
            .writer
            .as_mut()
            .ok_or(WriteError::Db(DbError::data("task not started")))?;
        writer.begin();
        if let Err(e) = writer.write(conn, &segments).await {
            Self::rollback(conn).await;
            if matches!(e, WriteError::Db(_)) {
                // A failed COPY can leave the protocol out of step: start
                // over on a fresh connection.
                if let Some(c) = self.conn.take() {
                    c.close().await;
                }
            }
            return Err(e);
        }
        conn.execute_batch("COMMIT").await?;
        Ok(())
    }

    /// Writes records one at a time (each in a savepoint of one
    /// transaction) and reports those the database refuses.
    async fn write_one_by_one(&mut self, records: &[SinkRecord]) -> ConnectResult<()> {
        let reporter = self.reporter.clone();
        let conn = self.connection().await?;
        Self::begin(conn)
            .await
            .map_err(|e| ConnectError::retriable_from(e.to_string(), e))?;
        if let Some(w) = self.writer.as_mut() {
            w.begin();
        }
        for r in records {
            let conn = self
                .conn
                .as_mut()
                .ok_or_else(|| ConnectError::fatal("no connection"))?;
            conn.execute_batch("SAVEPOINT sluice_record")
                .await
                .map_err(|e| ConnectError::retriable_from(e.to_string(), e))?;
            let writer = self
                .writer
                .as_mut()
                .ok_or_else(|| ConnectError::fatal("task not started"))?;
            let (segments, errors) = writer.segments(std::slice::from_ref(r));
            let result = match errors.into_iter().next() {
                Some((_, m)) => Err(WriteError::Record {
                    index: 0,
                    message: m,
                }),
                None => writer.write(conn, &segments).await,
            };
            let conn = self
                .conn
                .as_mut()
                .ok_or_else(|| ConnectError::fatal("no connection"))?;
            match result {
                Ok(()) => {
                    conn.execute_batch("RELEASE SAVEPOINT sluice_record")
                        .await
                        .map_err(|e| ConnectError::retriable_from(e.to_string(), e))?;
                }
                Err(WriteError::Db(e)) if e.is_transient() => {
                    Self::rollback(conn).await;
                    return Err(ConnectError::retriable_from(e.to_string(), e));
                }
                Err(e) => {
                    let message = match e {
                        WriteError::Db(e) => e.to_string(),
                        WriteError::Record { message, .. } => message,
                    };
                    let message = format!("{}: {message}", describe(r));
                    conn.execute_batch("ROLLBACK TO SAVEPOINT sluice_record")
                        .await
                        .map_err(|e| ConnectError::retriable_from(e.to_string(), e))?;
                    match &reporter {
                        Some(rep) => {
                            tracing::warn!("JDBC sink: {message}");
                            rep.report(r, &RecordError(message));
                        }
                        None => {
                            Self::rollback(conn).await;
                            return Err(ConnectError::fatal(message));
                        }
                    }
                }
            }
        }
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| ConnectError::fatal("no connection"))?;
        conn.execute_batch("COMMIT")
            .await
            .map_err(|e| ConnectError::retriable_from(e.to_string(), e))?;
        Ok(())
    }
}

#[async_trait]
impl SinkTask for JdbcSinkTask {
    async fn start(&mut self, config: Config, ctx: SinkTaskContext) -> ConnectResult<()> {
        let c = JdbcSinkConfig::parse(&config)?;
        let settings = c
            .connect_settings()
            .map_err(|e| ConnectError::fatal(e.to_string()))?;
        let name = config.get("name").cloned().unwrap_or_default();
        self.writer = Some(Writer::new(WriterSettings::new(
            &c,
            settings.dialect(),
            &name,
        )));
        self.settings = Some(settings);
        self.reporter = ctx.errant_record_reporter().cloned();
        self.max_retries = u32::try_from(c.max_retries).unwrap_or(0);
        self.retries_left = self.max_retries;
        self.backoff = c.retry_backoff;
        self.connection().await.map_err(|e| match e {
            ConnectError::Retriable { message, source } => ConnectError::Fatal { message, source },
            other => other,
        })?;
        Ok(())
    }

    async fn put(&mut self, records: &mut Vec<SinkRecord>) -> ConnectResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.connection().await?;
        match self.write_all(records).await {
            Ok(()) => {
                self.retries_left = self.max_retries;
                Ok(())
            }
            Err(WriteError::Db(e)) if e.is_transient() && self.retries_left > 0 => {
                self.retries_left -= 1;
                if let Some(c) = self.conn.as_mut() {
                    Self::rollback(c).await;
                }
                tracing::warn!(
                    "JDBC sink: write failed, {} retries left: {e}",
                    self.retries_left
                );
                tokio::time::sleep(self.backoff).await;
                Err(ConnectError::retriable_from(e.to_string(), e))
            }
            Err(e) => {
                if let WriteError::Db(db) = &e {
                    tracing::warn!(
                        "JDBC sink: batch refused ({db}); writing its records one by one"
                    );
                }
                self.write_one_by_one(records).await?;
                self.retries_left = self.max_retries;
                Ok(())
            }
        }
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        if let Some(c) = self.conn.take() {
            c.close().await;
        }
        Ok(())
    }
}
