//! Writes a batch of records: routes them to tables, creates and evolves
//! tables, and writes each table's rows with bulk statements (COPY on
//! PostgreSQL, multi-row statements on MySQL) in the caller's transaction.

use std::collections::HashMap;

use sluice_connect_api::SinkRecord;
use sluice_connect_api::schema::{SchemaRef, Value};

use super::config::{InsertMode, JdbcSinkConfig, PkMode};
use super::ddl;
use super::fields::{self, FieldsMeta, SinkField};
use super::value::{SqlValue, to_sql_with};
use super::{my_write, pg_write};
use crate::db::{Conn, DbColumn, DbError};
use crate::dialect::{Dialect, Quoting};
use crate::table_id::TableId;

/// Why a write failed.
#[derive(Debug)]
pub enum WriteError {
    /// The database refused or broke; the transaction is lost.
    Db(DbError),
    /// One record cannot be written (bad shape, missing table...): it is
    /// named by its index in the batch.
    Record { index: usize, message: String },
}

impl From<DbError> for WriteError {
    fn from(e: DbError) -> Self {
        WriteError::Db(e)
    }
}

/// Rows of one table with one set of columns, in record order.
#[derive(Debug)]
pub struct Segment {
    pub table: TableId,
    pub meta: FieldsMeta,
    pub delete: bool,
    /// Keys then values (keys only for deletes), per row.
    pub rows: Vec<Vec<SqlValue>>,
    /// Batch index of each row's record.
    pub indexes: Vec<usize>,
}

/// Settings the writer needs, from the connector config.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    pub dialect: Dialect,
    pub quoting: Quoting,
    pub insert_mode: InsertMode,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub whitelist: Vec<String>,
    pub table_format: String,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub delete_enabled: bool,
    pub batch_size: usize,
    pub connector: String,
    pub zone: crate::types::time::DbZone,
    pub replace_null_with_default: bool,
}

impl WriterSettings {
    pub fn new(c: &JdbcSinkConfig, dialect: Dialect, connector: &str) -> Self {
        Self {
            dialect,
            quoting: c.quoting,
            insert_mode: c.insert_mode,
            pk_mode: c.pk_mode,
            pk_fields: c
                .pk_fields
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            whitelist: c
                .fields_whitelist
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            table_format: c.table_name_format.trim().to_string(),
            auto_create: c.auto_create,
            auto_evolve: c.auto_evolve,
            delete_enabled: c.delete_enabled,
            batch_size: usize::try_from(c.batch_size).unwrap_or(3000),
            connector: connector.to_string(),
            zone: c.zone(),
            replace_null_with_default: c.replace_null_with_default,
        }
    }
}

/// Writer state that lives across batches: known tables and the fields
/// of the shapes seen.
#[derive(Debug)]
pub struct Writer {
    pub s: WriterSettings,
    tables: HashMap<TableId, Vec<DbColumn>>,
    /// Fields per (table, key schema, value schema), most recent last.
    metas: Vec<(TableId, Option<SchemaRef>, Option<SchemaRef>, FieldsMeta)>,
    /// Staging tables created on the current connection (PostgreSQL).
    pub(crate) stages: HashMap<String, String>,
    /// Names staging tables uniquely on a connection.
    pub(crate) stage_seq: u64,
    /// Staging tables filled in the current transaction (emptied at
    /// commit by `ON COMMIT DELETE ROWS`; a second use must empty first).
    pub(crate) dirty_stages: std::collections::HashSet<String>,
    /// The table of the last topic seen.
    last_table: Option<(sluice_connect_api::Topic, TableId)>,
}

impl Writer {
    pub fn new(s: WriterSettings) -> Self {
        Self {
            s,
            tables: HashMap::new(),
            metas: Vec::new(),
            stages: HashMap::new(),
            stage_seq: 0,
            dirty_stages: std::collections::HashSet::new(),
            last_table: None,
        }
    }

    /// Forget what depends on the connection (after a reconnect).
    pub fn reset_connection_state(&mut self) {
        self.stages.clear();
        self.tables.clear();
    }

    pub fn zone(&self) -> &crate::types::time::DbZone {
        &self.s.zone
    }

    pub fn table_for(&self, topic: &str) -> Result<TableId, String> {
        let name = self.s.table_format.replace("${topic}", topic);
        if name.trim().is_empty() {
            return Err(format!(
                "Destination table name for topic '{topic}' is empty using the format string '{}'",
                self.s.table_format
            ));
        }
        TableId::parse(self.s.dialect, &name).map_err(|e| format!("table.name.format: {e}"))
    }

    /// The record's place: table, fields and whether it deletes.
    fn route(&mut self, r: &SinkRecord) -> Result<(TableId, FieldsMeta, bool), String> {
        let table = match &self.last_table {
            Some((topic, t)) if **topic == *r.topic => t.clone(),
            _ => {
                let t = self.table_for(&r.topic)?;
                self.last_table = Some((r.topic.clone(), t.clone()));
                t
            }
        };
        let delete = r.value.is_null();
        if delete && !self.s.delete_enabled {
            return Err(self.requires_value(r));
        }
        if self.s.pk_mode == PkMode::RecordKey || self.s.delete_enabled {
            let ok = r.key_schema.as_ref().is_some_and(|k| {
                k.schema_type.is_primitive()
                    || k.schema_type == sluice_connect_api::schema::SchemaType::Struct
            });
            if r.key.is_null() || !ok {
                return Err(format!(
                    "Sink connector '{}' is configured with 'delete.enabled={}' and 'pk.mode={}' and therefore requires records with a non-null key and non-null Struct or primitive key schema, but found record at (topic='{}',partition={},offset={},timestamp={}) with a {} key and {} key schema.",
                    self.s.connector,
                    self.s.delete_enabled,
                    self.s.pk_mode.name(),
                    r.topic,
                    r.kafka_partition,
                    r.kafka_offset,
                    r.timestamp.map_or("null".to_string(), |t| t.to_string()),
                    if r.key.is_null() { "null" } else { "non-null" },
                    r.key_schema
                        .as_ref()
                        .map_or("null", |s| s.schema_type.json_name()),
                ));
            }
        }
        let value_schema = if delete {
            None
        } else {
            fields::value_schema(r).map_err(|e| format!("{} {e}", position(r)))?
        };
        let same = |a: &Option<SchemaRef>, b: &Option<SchemaRef>| match (a, b) {
            (Some(x), Some(y)) => std::sync::Arc::ptr_eq(x, y) || x == y,
            (None, None) => true,
            _ => false,
        };
        let found =
            self.metas.iter().rev().find(|(t, k, v, _)| {
                *t == table && same(k, &r.key_schema) && same(v, &value_schema)
            });
        let meta = match found {
            Some((_, _, _, m)) => m.clone(),
            None => {
                let m = fields::extract(
                    &table.unquoted(),
                    self.s.pk_mode,
                    &self.s.pk_fields,
                    &self.s.whitelist,
                    r.key_schema.as_ref(),
                    value_schema.as_ref(),
                )?;
                if self.metas.len() >= 64 {
                    self.metas.remove(0);
                }
                self.metas.push((
                    table.clone(),
                    r.key_schema.clone(),
                    value_schema.clone(),
                    m.clone(),
                ));
                m
            }
        };
        Ok((table, meta, delete))
    }

    fn requires_value(&self, r: &SinkRecord) -> String {
        format!(
            "Sink connector '{}' is configured with 'delete.enabled={}' and 'pk.mode={}' and therefore requires records with a non-null Struct value and non-null Struct schema, but found record at (topic='{}',partition={},offset={},timestamp={}) with a {} value and {} value schema.",
            self.s.connector,
            self.s.delete_enabled,
            self.s.pk_mode.name(),
            r.topic,
            r.kafka_partition,
            r.kafka_offset,
            r.timestamp.map_or("null".to_string(), |t| t.to_string()),
            if r.value.is_null() {
                "null"
            } else {
                "non-null"
            },
            r.value_schema
                .as_ref()
                .map_or("null", |s| s.schema_type.json_name()),
        )
    }

    /// Splits a batch into segments: per table in record order, a new
    /// segment whenever the columns or the operation change. Records that
    /// cannot be routed or converted come back as errors by index.
    pub fn segments(&mut self, records: &[SinkRecord]) -> (Vec<Segment>, Vec<(usize, String)>) {
        let mut by_table: Vec<Segment> = Vec::new();
        let mut open: HashMap<TableId, usize> = HashMap::new();
        let mut errors = Vec::new();
        // The previous record's topic, schemas, operation and segment: a
        // record like it (same shared schemas) skips routing.
        let mut prev: Option<(usize, usize)> = None;
        let same_arc = |a: &Option<SchemaRef>, b: &Option<SchemaRef>| match (a, b) {
            (Some(x), Some(y)) => std::sync::Arc::ptr_eq(x, y),
            (None, None) => true,
            _ => false,
        };
        let batch_size = self.s.batch_size;
        let full = |s: &Segment| batch_size > 0 && s.rows.len() >= batch_size.max(1);
        for (i, r) in records.iter().enumerate() {
            let delete = r.value.is_null();
            if let Some((pi, j)) = prev {
                let p = &records[pi];
                let seg = &mut by_table[j];
                if *p.topic == *r.topic
                    && p.value.is_null() == delete
                    && r.value_schema.is_some() != delete
                    && same_arc(&p.key_schema, &r.key_schema)
                    && same_arc(&p.value_schema, &r.value_schema)
                    && !full(seg)
                {
                    match row_of(r, &seg.meta, delete, self.s.replace_null_with_default) {
                        Ok(row) => {
                            seg.rows.push(row);
                            seg.indexes.push(i);
                            prev = Some((i, j));
                        }
                        Err(e) => errors.push((i, format!("{} {e}", position(r)))),
                    }
                    continue;
                }
            }
            let (table, meta, delete) = match self.route(r) {
                Ok(x) => x,
                Err(e) => {
                    errors.push((i, e));
                    continue;
                }
            };
            let row = match row_of(r, &meta, delete, self.s.replace_null_with_default) {
                Ok(row) => row,
                Err(e) => {
                    errors.push((i, format!("{} {e}", position(r))));
                    continue;
                }
            };
            match open.get(&table).copied() {
                Some(j)
                    if by_table[j].meta == meta
                        && by_table[j].delete == delete
                        && !full(&by_table[j]) =>
                {
                    by_table[j].rows.push(row);
                    by_table[j].indexes.push(i);
                    prev = Some((i, j));
                }
                _ => {
                    open.insert(table.clone(), by_table.len());
                    prev = Some((i, by_table.len()));
                    by_table.push(Segment {
                        table,
                        meta,
                        delete,
                        rows: vec![row],
                        indexes: vec![i],
                    });
                }
            }
        }
        (by_table, errors)
    }

    /// Makes sure the table exists with the segment's columns.
    pub async fn prepare_table(
        &mut self,
        conn: &mut Conn,
        seg: &Segment,
    ) -> Result<Vec<DbColumn>, WriteError> {
        let record_error = |message: String| WriteError::Record {
            index: seg.indexes[0],
            message,
        };
        if !self.tables.contains_key(&seg.table) {
            match conn.describe_table(&seg.table).await? {
                Some(cols) => {
                    self.tables.insert(seg.table.clone(), cols);
                }
                None if seg.delete => {
                    // Nothing to delete from.
                    return Ok(Vec::new());
                }
                None if !self.s.auto_create => {
                    return Err(record_error(format!(
                        "Table {} is missing and auto-creation is disabled (record key: {}): create it, or set auto.create=true",
                        seg.table,
                        seg.rows
                            .first()
                            .and_then(|r| r.first())
                            .map_or("-".to_string(), |k| format!("{k:?}"))
                    )));
                }
                None => {
                    let sql =
                        ddl::create_table(self.s.dialect, self.s.quoting, &seg.table, &seg.meta)
                            .map_err(record_error)?;
                    tracing::info!(table = %seg.table, "JDBC sink: creating table: {sql}");
                    if let Err(e) = conn.execute_batch(&sql).await {
                        // Another task may have created it meanwhile.
                        if conn.describe_table(&seg.table).await?.is_none() {
                            return Err(e.into());
                        }
                    }
                    let cols = conn.describe_table(&seg.table).await?.ok_or_else(|| {
                        record_error(format!(
                            "Table {} was created but cannot be read back",
                            seg.table
                        ))
                    })?;
                    self.tables.insert(seg.table.clone(), cols);
                }
            }
        }
        let cols = self.tables.get(&seg.table).cloned().unwrap_or_default();
        let missing: Vec<&SinkField> = seg
            .meta
            .all()
            .filter(|f| {
                !cols
                    .iter()
                    .any(|c| c.name == f.name || c.name.eq_ignore_ascii_case(&f.name))
            })
            .collect();
        if missing.is_empty() || seg.delete {
            return Ok(cols);
        }
        if let Some(f) = missing
            .iter()
            .find(|f| !f.optional() && f.schema.default.is_none())
        {
            return Err(record_error(format!(
                "Cannot ALTER TABLE {} to add missing field {}, as the field is not optional and does not have a default value",
                seg.table, f.name
            )));
        }
        if !self.s.auto_evolve {
            let names: Vec<&str> = missing.iter().map(|f| f.name.as_str()).collect();
            return Err(record_error(format!(
                "Table {} is missing fields ({}) and auto-evolution is disabled",
                seg.table,
                names.join(", ")
            )));
        }
        let sql = ddl::alter_table(self.s.dialect, self.s.quoting, &seg.table, &missing)
            .map_err(record_error)?;
        tracing::info!(table = %seg.table, "JDBC sink: evolving table: {sql}");
        conn.execute_batch(&sql).await?;
        let cols = conn
            .describe_table(&seg.table)
            .await?
            .ok_or_else(|| record_error(format!("Table {} disappeared", seg.table)))?;
        self.tables.insert(seg.table.clone(), cols.clone());
        self.stages
            .retain(|k, _| !k.starts_with(&seg.table.unquoted()));
        Ok(cols)
    }

    /// A transaction begins: staging tables are empty again.
    pub fn begin(&mut self) {
        self.dirty_stages.clear();
    }

    /// Writes segments in the connection's open transaction.
    pub async fn write(&mut self, conn: &mut Conn, segments: &[Segment]) -> Result<(), WriteError> {
        for seg in segments {
            let cols = self.prepare_table(conn, seg).await?;
            if seg.delete && cols.is_empty() {
                continue;
            }
            match conn {
                Conn::Pg(c) => pg_write::write(self, c, seg, &cols).await?,
                Conn::My(c) => my_write::write(self, c, seg).await?,
            }
        }
        Ok(())
    }
}

fn position(r: &SinkRecord) -> String {
    format!(
        "record at (topic='{}',partition={},offset={})",
        r.topic, r.kafka_partition, r.kafka_offset
    )
}

/// A record's column values: keys then values (keys only for a delete).
fn row_of(
    r: &SinkRecord,
    meta: &FieldsMeta,
    delete: bool,
    use_default: bool,
) -> Result<Vec<SqlValue>, String> {
    // A delete binds the keys only (they come first).
    let n = if delete {
        meta.keys.len()
    } else {
        meta.keys.len() + meta.values.len()
    };
    let mut row = Vec::with_capacity(n);
    for f in meta.all().take(n) {
        let v = fields::field_value(r, &f.source);
        let value: &Value = v.get();
        let sql = to_sql_with(&f.schema, value, use_default)
            .map_err(|e| format!("field {}: {e}", f.name))?;
        if sql == SqlValue::Null && !f.optional() {
            return Err(format!(
                "field {} is null but its column is NOT NULL",
                f.name
            ));
        }
        row.push(sql);
    }
    Ok(row)
}

/// Keeps the last row per key (for statements that may touch a row once).
pub fn last_per_key(seg: &Segment) -> Vec<&Vec<SqlValue>> {
    let nkeys = seg.meta.keys.len();
    if nkeys == 0 {
        return seg.rows.iter().collect();
    }
    let mut keep: Vec<usize> =
        if nkeys == 1 && seg.rows.iter().all(|r| matches!(r[0], SqlValue::Int(_))) {
            // The common case, one integer key: no key text built.
            let mut seen: HashMap<i64, usize> = HashMap::with_capacity(seg.rows.len());
            for (i, row) in seg.rows.iter().enumerate() {
                if let SqlValue::Int(k) = row[0] {
                    seen.insert(k, i);
                }
            }
            seen.into_values().collect()
        } else {
            let mut seen: HashMap<String, usize> = HashMap::with_capacity(seg.rows.len());
            for (i, row) in seg.rows.iter().enumerate() {
                seen.insert(format!("{:?}", &row[..nkeys]), i);
            }
            seen.into_values().collect()
        };
    keep.sort_unstable();
    keep.into_iter().map(|i| &seg.rows[i]).collect()
}
