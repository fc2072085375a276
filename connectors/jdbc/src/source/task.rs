//! `JdbcSourceTask`: runs each table's query when it is due and streams
//! its rows into batches.
//!
//! A query runs on a task of its own and sends rows through a bounded
//! channel, so a table is never loaded into memory and a long query is
//! never cancelled by the runtime: `poll` only waits for rows (the
//! runtime does not drop a pending poll except to stop the task).

use std::time::Duration;

use async_trait::async_trait;
use sluice_connect_api::schema::{SchemaRef, Struct, Value};
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, SourcePartition, SourceRecord, SourceTask,
    SourceTaskContext, Topic,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::{JdbcSourceConfig, Mode};
use super::querier::{Criteria, Position, Target, partition_query, partition_v0, partition_v1};
use crate::db::{Conn, ConnectSettings, DbError, Param, RowChunk};
use crate::dialect::Dialect;
use crate::table_id::split_list;
use crate::types::{self, Cell, Column, FieldPlan};
use sluice_connect_api::config::ConnectorConfig;

/// Chunks (of up to 256 rows) read ahead of `poll`.
const READ_AHEAD: usize = 8;
/// Longest `poll` waits for a table to come due before returning nothing.
const IDLE_WAIT: Duration = Duration::from_millis(500);

const NO_TABLE: &str = "Task is being killed because it was not assigned a table nor a query to execute. If run in table mode please make sure that the tables exist on the database. If the table does exist on the database, we recommend using the fully qualified table name.";

#[derive(Debug)]
struct Querier {
    target: Target,
    topic: Topic,
    /// Where records say they come from (empty in bulk mode: nothing to
    /// resume from, nothing stored).
    partition: SourcePartition,
    criteria: Criteria,
    /// The position after the last row handed out.
    pos: Position,
    next_run: Instant,
    /// Incrementing mode: a gap after this id, first seen then.
    gap: Option<(i64, Instant)>,
    /// Incrementing mode, table mode: the largest id when runs started.
    /// Ids below one seen `incrementing.gap.wait.ms` ago were taken that
    /// long ago, so gaps below it are not waited for (old deleted or
    /// rolled-back ids would otherwise cost a wait each).
    watermarks: std::collections::VecDeque<(Instant, i64)>,
    /// Columns of the last run and what they became.
    plan: Option<RunPlan>,
    failures: u32,
    checked: bool,
}

#[derive(Debug, Clone)]
struct RunPlan {
    columns: Vec<Column>,
    /// (column index, field) for each column in the records.
    fields: Vec<(usize, FieldPlan)>,
    schema: SchemaRef,
    inc_index: Option<usize>,
    ts_indexes: Vec<usize>,
}

/// A query in progress.
#[derive(Debug)]
struct Run {
    querier: usize,
    rx: mpsc::Receiver<RowChunk>,
    /// Rows of the last chunk not handed out yet.
    pending: std::collections::VecDeque<Vec<Cell>>,
    /// `None` in unit tests that feed rows themselves.
    reader: Option<JoinHandle<Conn>>,
    /// Timestamp mode: a record waiting for the next row, which decides
    /// whether its own timestamp may become the committed offset.
    held: Option<(SourceRecord, Position)>,
}

#[derive(Debug, Default)]
pub struct JdbcSourceTask {
    config: JdbcSourceConfig,
    settings: Option<ConnectSettings>,
    dialect: Option<Dialect>,
    conn: Option<Conn>,
    queriers: Vec<Querier>,
    run: Option<Run>,
}

fn fatal(e: DbError) -> ConnectError {
    ConnectError::fatal_from(e.to_string(), e)
}

fn classify(e: DbError) -> ConnectError {
    if e.is_transient() {
        ConnectError::retriable_from(e.to_string(), e)
    } else {
        fatal(e)
    }
}

impl Querier {
    /// The largest id seen at least `wait` ago, if any.
    fn settled(&self, wait: Duration) -> Option<i64> {
        let now = Instant::now();
        self.watermarks
            .iter()
            .filter(|(t, _)| now.duration_since(*t) >= wait)
            .map(|(_, m)| *m)
            .max()
    }

    /// Remembers the largest id now; keeps the newest old-enough sample
    /// and the younger ones.
    fn note_watermark(&mut self, max: i64, wait: Duration) {
        let now = Instant::now();
        self.watermarks.push_back((now, max));
        while self.watermarks.len() > 1
            && self
                .watermarks
                .get(1)
                .is_some_and(|(t, _)| now.duration_since(*t) >= wait)
        {
            self.watermarks.pop_front();
        }
    }
}

impl JdbcSourceTask {
    fn dialect(&self) -> Dialect {
        self.dialect.unwrap_or(Dialect::Postgres)
    }

    async fn connection(&mut self) -> ConnectResult<Conn> {
        if let Some(c) = self.conn.take()
            && c.is_open()
        {
            return Ok(c);
        }
        let settings = self
            .settings
            .as_ref()
            .ok_or_else(|| ConnectError::fatal("task not started"))?;
        let mut conn = Conn::connect(settings).await.map_err(classify)?;
        if let Some(level) = self.config.isolation.sql() {
            let sql = match conn.dialect() {
                Dialect::Postgres => {
                    format!("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {level}")
                }
                Dialect::MySql => format!("SET SESSION TRANSACTION ISOLATION LEVEL {level}"),
            };
            conn.execute_batch(&sql).await.map_err(classify)?;
        }
        Ok(conn)
    }

    /// Column checks, incrementing column detection: once per table.
    async fn check_table(&mut self, conn: &mut Conn, q: usize) -> ConnectResult<()> {
        let querier = &self.queriers[q];
        let Target::Table(table) = querier.target.clone() else {
            return Ok(());
        };
        let mode = querier.criteria.mode;
        if mode == Mode::Bulk {
            return Ok(());
        }
        let columns = conn.table_columns(&table).await.map_err(classify)?;
        let find = |name: &str| {
            columns
                .iter()
                .find(|c| c.name == name)
                .or_else(|| columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)))
        };
        let mut criteria = querier.criteria.clone();
        if mode.uses_incrementing() {
            let col = match criteria.incrementing.as_deref() {
                Some(name) => find(name).ok_or_else(|| {
                    ConnectError::fatal(format!(
                        "Incrementing column: {name} does not exist in table '{table}'"
                    ))
                })?,
                None => columns.iter().find(|c| c.auto_increment).ok_or_else(|| {
                    ConnectError::fatal(format!(
                        "Table '{table}' has no auto-increment column: set incrementing.column.name"
                    ))
                })?,
            };
            if self.config.validate_non_null && col.nullable {
                return Err(ConnectError::fatal(format!(
                    "Cannot make incremental queries using incrementing column {} on {table} because this column is nullable.",
                    col.name
                )));
            }
            criteria.incrementing = Some(col.name.clone());
        }
        if mode.uses_timestamp() {
            let mut missing = Vec::new();
            let mut all_nullable = true;
            for name in &criteria.timestamps {
                match find(name) {
                    Some(c) => all_nullable &= c.nullable,
                    None => missing.push(name.clone()),
                }
            }
            if !missing.is_empty() {
                return Err(ConnectError::fatal(format!(
                    "Timestamp columns: {} do not exist in table '{table}'",
                    missing.join(",")
                )));
            }
            if self.config.validate_non_null && all_nullable {
                return Err(ConnectError::fatal(format!(
                    "Cannot make incremental queries using timestamp columns {} on {table} because all of these columns are nullable.",
                    criteria.timestamps.join(",")
                )));
            }
        }
        self.queriers[q].criteria = criteria;
        Ok(())
    }

    /// Starts the query of the querier that is due first, if one is due.
    async fn start_run(&mut self) -> ConnectResult<bool> {
        let Some((q, due)) = self
            .queriers
            .iter()
            .enumerate()
            .map(|(i, q)| (i, q.next_run))
            .min_by_key(|(_, t)| *t)
        else {
            tokio::time::sleep(IDLE_WAIT).await;
            return Ok(false);
        };
        let now = Instant::now();
        if due > now {
            tokio::time::sleep((due - now).min(IDLE_WAIT)).await;
            if due > Instant::now() {
                return Ok(false);
            }
        }
        let mut conn = self.connection().await?;
        let result = self.prepare_run(&mut conn, q).await;
        match result {
            Ok((prepared, params)) => {
                let (tx, rx) = mpsc::channel(READ_AHEAD);
                let reader = conn.stream(&prepared, params, tx);
                self.run = Some(Run {
                    querier: q,
                    rx,
                    pending: std::collections::VecDeque::new(),
                    reader: Some(reader),
                    held: None,
                });
                Ok(true)
            }
            Err(e) => {
                self.conn = Some(conn);
                Err(e)
            }
        }
    }

    async fn prepare_run(
        &mut self,
        conn: &mut Conn,
        q: usize,
    ) -> ConnectResult<(crate::db::Prepared, Vec<Param>)> {
        if !self.queriers[q].checked {
            self.check_table(conn, q).await?;
            self.queriers[q].checked = true;
        }
        let dialect = self.dialect();
        let querier = &self.queriers[q];
        let end = if querier.criteria.mode.uses_timestamp() {
            let now = conn.now().await.map_err(classify)?;
            let delay = i64::try_from(self.config.timestamp_delay.as_micros()).unwrap_or(i64::MAX);
            Some(now.saturating_sub(delay))
        } else {
            None
        };
        let gap_wait = self.config.incrementing_gap_wait;
        if querier.criteria.mode == Mode::Incrementing
            && !gap_wait.is_zero()
            && let (Target::Table(t), Some(col)) = (&querier.target, &querier.criteria.incrementing)
            && let Some(max) = conn
                .max_i64(t, col, self.config.quoting)
                .await
                .map_err(classify)?
        {
            self.queriers[q].note_watermark(max, gap_wait);
        }
        let querier = &self.queriers[q];
        let sql = querier.criteria.sql(
            dialect,
            self.config.quoting,
            &querier.target,
            &querier.pos,
            end,
            &self.config.query_suffix,
        );
        tracing::debug!(sql = %sql.text, params = ?sql.params, "JDBC source query");
        let prepared = conn.prepare(&sql.text).await.map_err(classify)?;
        let plan = match &querier.plan {
            Some(p) if p.columns == prepared.columns => p.clone(),
            _ => self.plan_for(q, &prepared.columns)?,
        };
        self.queriers[q].plan = Some(plan);
        Ok((prepared, sql.params))
    }

    fn plan_for(&self, q: usize, columns: &[Column]) -> ConnectResult<RunPlan> {
        let querier = &self.queriers[q];
        let mut fields = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            match types::plan(c, self.config.numeric(), self.config.timestamp_granularity) {
                Some(f) => fields.push((i, f)),
                None => tracing::warn!(
                    column = %c.name,
                    r#type = %c.type_name,
                    "JDBC source: column '{}' of type {} is not supported and is left out of records",
                    c.name,
                    c.type_name
                ),
            }
        }
        let find = |name: &str| {
            columns.iter().position(|c| c.name == name).or_else(|| {
                columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(name))
            })
        };
        let what = match &querier.target {
            Target::Table(t) => format!("table '{t}'"),
            Target::Query(_) => "the query".to_string(),
        };
        let inc_index = match &querier.criteria.incrementing {
            Some(name) if querier.criteria.mode.uses_incrementing() => {
                Some(find(name).ok_or_else(|| {
                    ConnectError::fatal(format!(
                        "Incrementing column: {name} is not in the results of {what}"
                    ))
                })?)
            }
            _ => None,
        };
        let mut ts_indexes = Vec::new();
        if querier.criteria.mode.uses_timestamp() {
            for name in &querier.criteria.timestamps {
                ts_indexes.push(find(name).ok_or_else(|| {
                    ConnectError::fatal(format!(
                        "Timestamp column: {name} is not in the results of {what}"
                    ))
                })?);
            }
        }
        let struct_name = match &querier.target {
            Target::Table(t) => Some(t.table.as_str()),
            Target::Query(_) => None,
        };
        let planned: Vec<FieldPlan> = fields.iter().map(|(_, f)| f.clone()).collect();
        Ok(RunPlan {
            columns: columns.to_vec(),
            schema: types::struct_schema(struct_name, &planned),
            fields,
            inc_index,
            ts_indexes,
        })
    }

    /// Ends the run: the reader gives the connection back.
    async fn finish_run(&mut self, next_in: Duration) {
        if let Some(run) = self.run.take() {
            drop(run.rx);
            if let Some(reader) = run.reader
                && let Ok(conn) = reader.await
            {
                self.conn = Some(conn);
            }
            if let Some(q) = self.queriers.get_mut(run.querier) {
                q.next_run = Instant::now() + next_in;
            }
        }
    }

    /// A row's record and the position after it.
    fn record(&self, q: usize, cells: Vec<Cell>) -> ConnectResult<(SourceRecord, Position)> {
        let querier = &self.queriers[q];
        let plan = querier
            .plan
            .as_ref()
            .ok_or_else(|| ConnectError::fatal("no plan for a running query"))?;
        let mut pos = querier.pos;
        if let Some(i) = plan.inc_index {
            let name = &plan.columns[i].name;
            pos.incrementing = Some(match cells.get(i) {
                Some(Cell::Int(v)) => *v,
                Some(Cell::UInt(v)) => i64::try_from(*v).map_err(|_| {
                    ConnectError::fatal(format!(
                        "Incrementing column {name}: {v} is larger than a 64-bit integer"
                    ))
                })?,
                Some(Cell::Decimal(d)) if d.scale() <= 0 => d
                    .rescale(0)
                    .ok()
                    .and_then(|d| i64::try_from(d.unscaled()).ok())
                    .ok_or_else(|| {
                        ConnectError::fatal(format!(
                            "Incrementing column {name}: {d} does not fit a 64-bit integer"
                        ))
                    })?,
                Some(Cell::Null) | None => {
                    return Err(ConnectError::fatal(format!(
                        "Null value for incrementing column {name} of type: {}",
                        plan.columns[i].type_name
                    )));
                }
                Some(other) => {
                    return Err(ConnectError::fatal(format!(
                        "Incrementing column {name} must be an integer, found {other:?}"
                    )));
                }
            });
        }
        if !plan.ts_indexes.is_empty() {
            let ts = plan.ts_indexes.iter().find_map(|i| match cells.get(*i) {
                Some(Cell::Timestamp(t)) => Some(*t),
                Some(Cell::Date(d)) => Some(i64::from(*d) * types::time::MICROS_PER_DAY),
                _ => None,
            });
            if ts.is_some() {
                pos.timestamp = ts;
            }
        }
        let mut values = Vec::with_capacity(plan.fields.len());
        let mut cells = cells;
        for (i, f) in &plan.fields {
            let cell = cells
                .get_mut(*i)
                .map_or(Cell::Null, |c| std::mem::replace(c, Cell::Null));
            let value = types::to_value(cell, &f.conv, &f.name).map_err(|e| {
                ConnectError::fatal(format!("{e} (row after offset {:?})", querier.pos))
            })?;
            if value.is_null() && !f.schema.optional {
                return Err(ConnectError::fatal(format!(
                    "column '{}' is NULL but declared NOT NULL",
                    f.name
                )));
            }
            values.push(value);
        }
        let value = Struct::from_parts_unchecked(plan.schema.clone(), values);
        let record = SourceRecord::new(
            querier.partition.clone(),
            pos.offset(querier.criteria.mode),
            querier.topic.clone(),
            Some(plan.schema.clone()),
            Value::Struct(value),
        );
        Ok((record, pos))
    }

    /// Reads up to a batch from the running query.
    async fn drain(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let Some(run) = self.run.as_mut() else {
            return Ok(Vec::new());
        };
        let q = run.querier;
        let mode = self.queriers[q].criteria.mode;
        let max = usize::try_from(self.config.batch_max_rows)
            .unwrap_or(100)
            .max(1);
        let gap_wait = self.config.incrementing_gap_wait;
        let mut out = Vec::new();
        let mut ended = None;
        while out.len() < max {
            let Some(run) = self.run.as_mut() else { break };
            let cells = match run.pending.pop_front() {
                Some(cells) => cells,
                None => match run.rx.recv().await {
                    None => {
                        ended = Some(Ok(()));
                        break;
                    }
                    Some(Err(e)) => {
                        ended = Some(Err(e));
                        break;
                    }
                    Some(Ok(rows)) => {
                        run.pending.extend(rows);
                        continue;
                    }
                },
            };
            let (record, pos) = self.record(q, cells)?;
            let querier = &mut self.queriers[q];
            if mode == Mode::Incrementing
                && !gap_wait.is_zero()
                && let (Some(prev), Some(id)) = (querier.pos.incrementing, pos.incrementing)
                && id > prev.saturating_add(1)
                && querier.settled(gap_wait).is_none_or(|s| id - 1 > s)
            {
                let now = Instant::now();
                match querier.gap {
                    Some((after, since))
                        if after == prev && now.duration_since(since) >= gap_wait =>
                    {
                        tracing::debug!(after, next = id, "JDBC source: reading past a gap in ids");
                        querier.gap = None;
                    }
                    Some((after, since)) if after == prev => {
                        let left = gap_wait.saturating_sub(now.duration_since(since));
                        self.finish_run(left.min(self.config.poll_interval)).await;
                        return Ok(out);
                    }
                    _ => {
                        tracing::debug!(
                            after = prev,
                            next = id,
                            "JDBC source: gap in ids, waiting for it to fill"
                        );
                        querier.gap = Some((prev, now));
                        self.finish_run(gap_wait.min(self.config.poll_interval))
                            .await;
                        return Ok(out);
                    }
                }
            }
            if mode == Mode::Timestamp {
                // A record may carry its timestamp as offset only once a
                // later timestamp follows: rows sharing it may be unread.
                let Some(run) = self.run.as_mut() else { break };
                if let Some((mut held, held_pos)) = run.held.take() {
                    if pos.timestamp > held_pos.timestamp {
                        querier.pos = held_pos;
                    }
                    held.source_offset = querier.pos.offset(mode);
                    out.push(held);
                }
                run.held = Some((record, pos));
                continue;
            }
            querier.pos = pos;
            out.push(record);
        }
        match ended {
            None => {}
            Some(Ok(())) => {
                // All rows read: a held record's timestamp is complete.
                if let Some(run) = self.run.as_mut()
                    && let Some((mut held, held_pos)) = run.held.take()
                {
                    self.queriers[q].pos = held_pos;
                    held.source_offset = held_pos.offset(mode);
                    out.push(held);
                }
                self.queriers[q].failures = 0;
                self.finish_run(self.config.poll_interval).await;
            }
            Some(Err(e)) => {
                // Records before the error are good; the held one is read
                // again next run (its position was not taken).
                self.finish_run(self.config.poll_interval.min(Duration::from_secs(5)))
                    .await;
                let querier = &mut self.queriers[q];
                querier.failures += 1;
                let limit = self.config.query_retry_attempts;
                if !e.is_transient()
                    || (limit > 0 && querier.failures >= u32::try_from(limit).unwrap_or(u32::MAX))
                {
                    return Err(fatal(e));
                }
                tracing::warn!(
                    "JDBC source query failed (attempt {}): {e}",
                    querier.failures
                );
                if out.is_empty() {
                    return Err(classify(e));
                }
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl SourceTask for JdbcSourceTask {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()> {
        let c = JdbcSourceConfig::parse(&config)?;
        let settings = c
            .connect_settings()
            .map_err(|e| ConnectError::fatal(e.to_string()))?;
        let dialect = settings.dialect();
        let mode = c.mode();
        let timestamps: Vec<String> = c
            .timestamp_columns
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let incrementing = Some(c.incrementing_column.trim().to_string()).filter(|s| !s.is_empty());
        let criteria = Criteria {
            mode,
            incrementing,
            timestamps,
        };
        let mut targets = Vec::new();
        if c.query_mode() {
            targets.push((
                Target::Query(c.query.clone()),
                Topic::from(c.topic_prefix()),
            ));
        } else {
            let tables = split_list(dialect, c.tables.as_deref().unwrap_or(""))
                .map_err(|e| ConnectError::fatal(format!("task config 'tables': {e}")))?;
            if tables.is_empty() {
                return Err(ConnectError::fatal(NO_TABLE));
            }
            for t in tables {
                let topic = Topic::from(format!("{}{}", c.topic_prefix(), t.table));
                targets.push((Target::Table(t), topic));
            }
        }
        let now = Instant::now();
        let mut initial_now = None;
        for (target, topic) in targets {
            let (partition, pos) = match (&target, mode) {
                (_, Mode::Bulk) => (SourcePartition::empty(), Position::default()),
                (Target::Query(_), _) => {
                    let p = partition_query();
                    let stored = ctx.offset_reader().offset(p.as_map()).await?;
                    (
                        p,
                        stored
                            .as_ref()
                            .map(Position::from_offset)
                            .unwrap_or_default(),
                    )
                }
                (Target::Table(t), _) => {
                    let v1 = partition_v1(t);
                    let stored = match ctx.offset_reader().offset(v1.as_map()).await? {
                        Some(o) => Some(o),
                        None => ctx.offset_reader().offset(partition_v0(t).as_map()).await?,
                    };
                    (
                        v1,
                        stored
                            .as_ref()
                            .map(Position::from_offset)
                            .unwrap_or_default(),
                    )
                }
            };
            let mut pos = pos;
            if mode.uses_timestamp() && pos == Position::default() {
                pos.timestamp = match c.timestamp_initial {
                    Some(-1) => {
                        if initial_now.is_none() {
                            let mut conn = Conn::connect(&settings).await.map_err(classify)?;
                            initial_now = Some(conn.now().await.map_err(classify)?);
                            self.conn = Some(conn);
                        }
                        initial_now
                    }
                    Some(ms) => Some(ms.saturating_mul(1000)),
                    None => None,
                };
            }
            self.queriers.push(Querier {
                target,
                topic,
                partition,
                criteria: criteria.clone(),
                pos,
                next_run: now,
                gap: None,
                watermarks: std::collections::VecDeque::new(),
                plan: None,
                failures: 0,
                checked: false,
            });
        }
        self.dialect = Some(dialect);
        self.settings = Some(settings);
        self.config = c;
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        if self.run.is_none() && !self.start_run().await? {
            return Ok(Vec::new());
        }
        self.drain().await
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        if let Some(run) = self.run.take() {
            drop(run.rx);
            if let Some(reader) = run.reader {
                reader.abort();
            }
        }
        if let Some(c) = self.conn.take() {
            c.close().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table_id::TableId;
    use crate::types::ColumnKind;
    use serde_json::json;

    fn column(name: &str, kind: ColumnKind) -> Column {
        Column {
            name: name.into(),
            kind,
            nullable: false,
            type_name: "t".into(),
            auto_increment: false,
        }
    }

    /// A task with one table querier whose rows come from the returned
    /// sender instead of a database.
    fn task(mode: Mode, batch: i32, gap_wait_ms: u64) -> (JdbcSourceTask, mpsc::Sender<RowChunk>) {
        let mut t = JdbcSourceTask::default();
        t.config.batch_max_rows = batch;
        t.config.poll_interval = Duration::from_millis(10);
        t.config.incrementing_gap_wait = Duration::from_millis(gap_wait_ms);
        let table = TableId::new(None, Some("public"), "t");
        let criteria = Criteria {
            mode,
            incrementing: Some("id".into()),
            timestamps: vec!["at".into()],
        };
        t.queriers.push(Querier {
            target: Target::Table(table.clone()),
            topic: Topic::from("p-t"),
            partition: partition_v1(&table),
            criteria,
            pos: Position::default(),
            next_run: Instant::now(),
            gap: None,
            watermarks: std::collections::VecDeque::new(),
            plan: None,
            failures: 0,
            checked: true,
        });
        let cols = vec![
            column("id", ColumnKind::Int64),
            column("at", ColumnKind::Timestamp),
        ];
        let plan = t.plan_for(0, &cols).unwrap();
        t.queriers[0].plan = Some(plan);
        let (tx, rx) = mpsc::channel(100);
        t.run = Some(Run {
            querier: 0,
            rx,
            pending: Default::default(),
            reader: None,
            held: None,
        });
        (t, tx)
    }

    fn row(id: i64, at_us: i64) -> RowChunk {
        Ok(vec![vec![Cell::Int(id), Cell::Timestamp(at_us)]])
    }

    fn offsets(records: &[SourceRecord]) -> Vec<serde_json::Value> {
        records
            .iter()
            .map(|r| serde_json::Value::Object(r.source_offset.to_map()))
            .collect()
    }

    #[tokio::test]
    async fn timestamp_offsets_wait_for_the_last_row_sharing_a_timestamp() {
        let (mut t, tx) = task(Mode::Timestamp, 2, 0);
        for (id, at) in [
            (1, 1_000_000),
            (2, 1_000_000),
            (3, 1_000_000),
            (4, 2_000_000),
            (5, 2_000_000),
        ] {
            tx.send(row(id, at)).await.unwrap();
        }
        drop(tx);
        let first = t.drain().await.unwrap();
        // Rows 1 and 2 share a timestamp with row 3, which is not out yet:
        // their offset may not claim it.
        assert_eq!(first.len(), 2);
        assert_eq!(offsets(&first), vec![json!({}), json!({})]);
        let second = t.drain().await.unwrap();
        assert_eq!(
            offsets(&second),
            vec![
                json!({"timestamp": 1000, "timestamp_nanos": 0}),
                json!({"timestamp": 1000, "timestamp_nanos": 0}),
            ],
            "row 3 is the last at 1 s (row 4 followed it); row 4 shares 2 s with row 5"
        );
        let third = t.drain().await.unwrap();
        assert_eq!(
            offsets(&third),
            vec![json!({"timestamp": 2000, "timestamp_nanos": 0})],
            "the end of the results completes the last timestamp"
        );
        assert!(t.run.is_none());
        assert_eq!(t.queriers[0].pos.timestamp, Some(2_000_000));
    }

    #[tokio::test]
    async fn incrementing_stops_at_a_gap_until_it_fills_or_the_wait_ends() {
        let (mut t, tx) = task(Mode::Incrementing, 10, 60_000);
        for id in [1, 2, 4, 5] {
            tx.send(row(id, 0)).await.unwrap();
        }
        drop(tx);
        let out = t.drain().await.unwrap();
        assert_eq!(
            offsets(&out),
            vec![json!({"incrementing": 1}), json!({"incrementing": 2})]
        );
        assert!(t.run.is_none(), "the run ends at the gap");
        assert_eq!(t.queriers[0].pos.incrementing, Some(2));
        assert!(t.queriers[0].gap.is_some());
        // The gap filled by the next run: everything comes.
        let (tx, rx) = mpsc::channel(10);
        t.run = Some(Run {
            querier: 0,
            rx,
            pending: Default::default(),
            reader: None,
            held: None,
        });
        for id in [3, 4, 5] {
            tx.send(row(id, 0)).await.unwrap();
        }
        drop(tx);
        let out = t.drain().await.unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(t.queriers[0].pos.incrementing, Some(5));
        // With no wait, gaps are read past at once.
        let (mut t, tx) = task(Mode::Incrementing, 10, 0);
        for id in [1, 7] {
            tx.send(row(id, 0)).await.unwrap();
        }
        drop(tx);
        assert_eq!(t.drain().await.unwrap().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn gaps_below_an_old_watermark_are_not_waited_for() {
        let wait = Duration::from_secs(5);
        let (mut t, tx) = task(Mode::Incrementing, 10, 5_000);
        t.queriers[0].note_watermark(50, wait);
        tokio::time::advance(Duration::from_secs(6)).await;
        t.queriers[0].note_watermark(60, wait);
        assert_eq!(t.queriers[0].settled(wait), Some(50));
        for id in [1, 3, 7, 55, 70] {
            tx.send(row(id, 0)).await.unwrap();
        }
        drop(tx);
        let out = t.drain().await.unwrap();
        // 1 → 3 → 7: ids taken long ago, gone for good. 7 → 55: ids up
        // to 54 may belong to transactions still open.
        assert_eq!(
            offsets(&out),
            vec![
                json!({"incrementing": 1}),
                json!({"incrementing": 3}),
                json!({"incrementing": 7})
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_query_keeps_the_rows_before_it_and_retries() {
        let (mut t, tx) = task(Mode::Incrementing, 10, 0);
        t.config.query_retry_attempts = -1;
        tx.send(row(1, 0)).await.unwrap();
        tx.send(Err(DbError::Sql {
            context: "q".into(),
            message: "gone".into(),
            transient: true,
            code: None,
        }))
        .await
        .unwrap();
        let out = t.drain().await.unwrap();
        assert_eq!(out.len(), 1);
        assert!(t.run.is_none());
        assert_eq!(t.queriers[0].pos.incrementing, Some(1));
        assert_eq!(t.queriers[0].failures, 1);
        // A NULL incrementing value fails the task, naming the column.
        let (mut t, tx) = task(Mode::Incrementing, 10, 0);
        tx.send(Ok(vec![vec![Cell::Null, Cell::Timestamp(0)]]))
            .await
            .unwrap();
        let e = t.drain().await.unwrap_err().to_string();
        assert!(e.contains("Null value for incrementing column id"), "{e}");
    }
}
