//! Incremental snapshots (Debezium's signal table and the DBLog watermark
//! algorithm), run while the stream goes on.
//!
//! A row `('<id>', 'execute-snapshot', '{"data-collections": ["public.t"],
//! "type": "incremental"}')` inserted into `signal.data.collection` queues
//! the tables. Each chunk of `incremental.snapshot.chunk.size` rows, in
//! primary-key order: a `snapshot-window-open` row is written to the signal
//! table, the chunk is read, a `snapshot-window-close` row is written. When
//! the stream shows the open mark, every change of a key in the chunk drops
//! that key from it (the change is newer); at the close mark what is left
//! is sent as `r` events with `source.snapshot = "incremental"`. A
//! `stop-snapshot` signal drops the queue.

use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;

use bytes::BytesMut;
use futures::StreamExt;
use sluice_connect_api::schema::Value;
use sluice_connect_api::{SourceOffset, SourceRecord, TaskGauge};
use tokio_postgres::Client;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use crate::envelope::Op;
use crate::error::CdcError;
use crate::pg::catalog::{self, TableName, literal, quote};
use crate::pg::events::{self, Change, Settings, SourcePoint};
use crate::pg::table::{Raw, TableInfo};

/// Any column's raw binary value.
struct RawCol<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawCol<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(RawCol(Some(raw)))
    }
    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(RawCol(None))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A key value sent back as it came: binary, of the column's own type.
#[derive(Debug)]
struct RawParam(Vec<u8>);

impl ToSql for RawParam {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

/// A parsed signal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub id: String,
    pub kind: String,
    pub data: String,
}

/// The tables an `execute-snapshot` signal names, if it asks for an
/// incremental snapshot.
pub fn snapshot_tables(data: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(data).map_err(|e| format!("signal data is not JSON: {e}"))?;
    let kind = v
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("incremental");
    if !kind.eq_ignore_ascii_case("incremental") {
        return Err(format!(
            "snapshot type '{kind}' is not supported; use incremental"
        ));
    }
    let list = v
        .get("data-collections")
        .and_then(|d| d.as_array())
        .ok_or("signal data has no data-collections list")?;
    Ok(list
        .iter()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect())
}

/// A chunk read and waiting for its window to close.
#[derive(Debug)]
struct Window {
    id: String,
    open_seen: bool,
    /// The chunk's last key, and whether it ended its table.
    last_key: Option<Vec<Vec<u8>>>,
    table_done: bool,
    /// Records by key, in key order of arrival.
    rows: Vec<(Value, Vec<SourceRecord>)>,
    /// Rows by key (several when `message.key.columns` is not unique).
    index: HashMap<String, Vec<usize>>,
}

/// The table being snapshotted.
#[derive(Debug)]
struct Current {
    name: TableName,
    info: TableInfo,
    /// Key column positions in the table's columns, and their names.
    key_cols: Vec<String>,
    /// The last key read, as raw binary values.
    last_key: Option<Vec<Vec<u8>>>,
    /// The last key of the chunks sent (what a restart goes on after).
    released_key: Option<Vec<Vec<u8>>>,
    done: bool,
}

/// Incremental snapshot state of a stream.
#[derive(Debug, Default)]
pub struct Incremental {
    queue: VecDeque<String>,
    current: Option<Current>,
    window: Option<Window>,
    chunk_no: u64,
    /// From a stored offset: where the first queued table goes on.
    resume_key: Option<Vec<Vec<u8>>>,
    /// A new snapshot began: its progress gauges start at 0.
    fresh: bool,
}

/// What the stream needs to run chunks.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub client: &'a Client,
    pub settings: &'a Settings,
    pub signal_table: &'a str,
    pub chunk_size: usize,
    pub done: &'a TaskGauge,
    pub estimated: &'a TaskGauge,
}

/// A random number from the standard library's hasher keys.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

fn key_text(v: &Value) -> String {
    format!("{v:?}")
}

impl Incremental {
    pub fn active(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty() || self.window.is_some()
    }

    /// Goes on with a snapshot a stored offset recorded.
    pub fn restore(&mut self, p: crate::pg::offsets::IncProgress) {
        tracing::info!(tables = ?p.tables, "incremental snapshot resumed from the stored offset");
        self.queue = p.tables.into();
        self.resume_key = p.key;
    }

    /// What offsets record while a snapshot runs: tables not fully sent,
    /// and the last key sent of the first.
    pub fn progress(&self) -> Option<crate::pg::offsets::IncProgress> {
        if !self.active() {
            return None;
        }
        let mut tables = Vec::new();
        let mut key = None;
        if let Some(c) = &self.current {
            let sent_all = c.done && self.window.is_none();
            if !sent_all {
                tables.push(c.info.qualified.clone());
                key = c.released_key.clone();
            }
        }
        if tables.is_empty() {
            key = self.resume_key.clone();
        }
        tables.extend(self.queue.iter().cloned());
        (!tables.is_empty()).then_some(crate::pg::offsets::IncProgress { tables, key })
    }

    /// A signal row arrived in the stream. Returns records to send (the
    /// rest of a closed window).
    pub fn on_signal(&mut self, s: &Signal) -> Result<Vec<SourceRecord>, String> {
        match s.kind.as_str() {
            "execute-snapshot" => {
                let tables = snapshot_tables(&s.data)?;
                self.fresh = !self.active();
                tracing::info!(signal = %s.id, ?tables, "incremental snapshot requested");
                self.queue.extend(tables);
                Ok(Vec::new())
            }
            "stop-snapshot" => {
                tracing::info!(signal = %s.id, "incremental snapshot stopped");
                self.queue.clear();
                self.current = None;
                self.window = None;
                Ok(Vec::new())
            }
            "snapshot-window-open" => {
                if let Some(w) = &mut self.window
                    && s.id == format!("{}-open", w.id)
                {
                    w.open_seen = true;
                }
                Ok(Vec::new())
            }
            "snapshot-window-close" => match &self.window {
                Some(w) if s.id == format!("{}-close", w.id) => {
                    let Some(w) = self.window.take() else {
                        return Ok(Vec::new());
                    };
                    if let Some(c) = &mut self.current {
                        if w.last_key.is_some() {
                            c.released_key = w.last_key.clone();
                        }
                        if w.table_done {
                            c.done = true;
                        }
                    }
                    Ok(w.rows.into_iter().flat_map(|(_, r)| r).collect())
                }
                _ => Ok(Vec::new()),
            },
            other => {
                tracing::debug!(signal = %s.id, kind = other, "signal ignored");
                Ok(Vec::new())
            }
        }
    }

    /// A change of `table` with `key` went by: inside an open window it
    /// replaces the chunk's read of that key.
    pub fn on_change(&mut self, table: &str, key: &Value) {
        let (Some(w), Some(c)) = (&mut self.window, &self.current) else {
            return;
        };
        if !w.open_seen || c.info.qualified != table {
            return;
        }
        for i in w.index.remove(&key_text(key)).unwrap_or_default() {
            w.rows[i].1.clear();
        }
    }

    /// `table` was truncated: inside an open window, nothing read before
    /// is current any more.
    pub fn on_truncate(&mut self, table: &str) {
        let (Some(w), Some(c)) = (&mut self.window, &self.current) else {
            return;
        };
        if w.open_seen && c.info.qualified == table {
            w.rows.clear();
            w.index.clear();
        }
    }

    /// Reads the next chunk when no window is waiting. Call between stream
    /// messages.
    pub async fn step(&mut self, cx: &Ctx<'_>) -> Result<(), CdcError> {
        if self.window.is_some() {
            return Ok(());
        }
        if std::mem::take(&mut self.fresh) {
            cx.done.set(0);
            cx.estimated.set(0);
        }
        if self.current.as_ref().is_none_or(|c| c.done) {
            self.current = None;
            let Some(next) = self.queue.pop_front() else {
                return Ok(());
            };
            let mut cur = match self.open_table(cx, &next).await {
                Ok(c) => c,
                Err(CdcError::Data(e)) => {
                    tracing::warn!("{e}; the table is skipped");
                    self.resume_key = None;
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            if let Some(k) = self.resume_key.take() {
                cur.last_key = Some(k.clone());
                cur.released_key = Some(k);
            }
            self.current = Some(cur);
            return Ok(());
        }
        let Some(cur) = self.current.as_mut() else {
            return Ok(());
        };
        self.chunk_no += 1;
        // Unique across restarts: marks of an earlier run must not match.
        let id = format!("sluice-{:016x}-{}", random_u64(), self.chunk_no);
        let signal = |suffix: &str, kind: &str| {
            format!(
                "INSERT INTO {} VALUES ({}, {}, NULL)",
                cx.signal_table,
                literal(&format!("{id}-{suffix}")),
                literal(kind)
            )
        };
        cx.client
            .batch_execute(&signal("open", "snapshot-window-open"))
            .await?;
        let cols: Vec<String> = cur.info.column_names().map(quote).collect();
        let keys: Vec<String> = cur.key_cols.iter().map(|k| quote(k)).collect();
        let order = keys.join(", ");
        let (sql, params) = match &cur.last_key {
            None => (
                format!(
                    "SELECT {} FROM {} ORDER BY {order} LIMIT {}",
                    cols.join(", "),
                    cur.name.quoted(),
                    cx.chunk_size
                ),
                Vec::new(),
            ),
            Some(last) => (
                format!(
                    "SELECT {} FROM {} WHERE ({order}) > ({}) ORDER BY {order} LIMIT {}",
                    cols.join(", "),
                    cur.name.quoted(),
                    (1..=last.len())
                        .map(|i| format!("${i}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    cx.chunk_size
                ),
                last.iter().map(|b| RawParam(b.clone())).collect(),
            ),
        };
        let rows = cx
            .client
            .query_raw(&sql, params.iter().map(|p| p as &(dyn ToSql + Sync)))
            .await?;
        futures::pin_mut!(rows);
        let key_idx: Vec<usize> = cur
            .key_cols
            .iter()
            .filter_map(|k| cur.info.column_names().position(|c| c == k))
            .collect();
        let mut window = Window {
            id: id.clone(),
            open_seen: false,
            last_key: None,
            table_done: false,
            rows: Vec::new(),
            index: HashMap::new(),
        };
        let now = crate::envelope::now_micros();
        let mut n = 0usize;
        let mut last_key = None;
        while let Some(row) = rows.next().await {
            let row = row?;
            let mut raw = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                let v: RawCol<'_> = row.try_get(i)?;
                raw.push(v.0.map_or(Raw::Null, Raw::Bytes));
            }
            let key = cur.info.key(&raw).map_err(CdcError::Data)?;
            let mut recs = Vec::with_capacity(1);
            let point = SourcePoint {
                ts_us: now,
                snapshot: "incremental",
                xid: None,
                lsn: None,
                sequence: None,
            };
            events::emit(
                cx.settings,
                &cur.info,
                Change::Row {
                    op: Op::Read,
                    new: &raw,
                },
                point,
                &SourceOffset::empty(),
                &mut recs,
            )
            .map_err(CdcError::Data)?;
            last_key = Some(
                key_idx
                    .iter()
                    .map(|&i| match raw[i] {
                        Raw::Bytes(b) => b.to_vec(),
                        _ => Vec::new(),
                    })
                    .collect::<Vec<_>>(),
            );
            window
                .index
                .entry(key_text(&key))
                .or_default()
                .push(window.rows.len());
            window.rows.push((key, recs));
            n += 1;
        }
        cx.done.set(cx.done.get() + i64::try_from(n).unwrap_or(0));
        if n < cx.chunk_size {
            window.table_done = true;
            tracing::info!(table = %cur.info.topic, "incremental snapshot of the table read");
        }
        if let Some(k) = last_key {
            cur.last_key = Some(k.clone());
            window.last_key = Some(k);
        }
        cx.client
            .batch_execute(&signal("close", "snapshot-window-close"))
            .await?;
        self.window = Some(window);
        Ok(())
    }

    async fn open_table(&mut self, cx: &Ctx<'_>, qualified: &str) -> Result<Current, CdcError> {
        let (schema, table) = qualified.split_once('.').unwrap_or(("public", qualified));
        let row = cx
            .client
            .query_opt(
                "SELECT c.oid::int8, greatest(c.reltuples, 0)::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                &[&schema, &table],
            )
            .await?
            .ok_or_else(|| {
                CdcError::Data(format!(
                    "incremental snapshot: table '{qualified}' does not exist"
                ))
            })?;
        let oid: i64 = row.get(0);
        let estimate: i64 = row.get(1);
        cx.estimated.set(cx.estimated.get() + estimate);
        let cols = catalog::describe(cx.client, oid as u32).await?;
        let info = cx.settings.table(schema, table, &cols);
        let mut pk: Vec<(i32, String)> = cols
            .iter()
            .filter_map(|c| c.pk_pos.map(|p| (p, c.name.clone())))
            .collect();
        pk.sort();
        if pk.is_empty() {
            return Err(CdcError::Data(format!(
                "incremental snapshot: table '{qualified}' has no primary key to read it in chunks by"
            )));
        }
        tracing::info!(
            table = qualified,
            estimate,
            "incremental snapshot of the table starting"
        );
        Ok(Current {
            name: TableName {
                oid: oid as u32,
                schema: schema.to_string(),
                name: table.to_string(),
            },
            info,
            key_cols: pk.into_iter().map(|(_, n)| n).collect(),
            last_key: None,
            released_key: None,
            done: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse() {
        assert_eq!(
            snapshot_tables(r#"{"data-collections": ["public.a", "s.b"], "type": "incremental"}"#)
                .unwrap(),
            ["public.a", "s.b"]
        );
        assert_eq!(
            snapshot_tables(r#"{"data-collections": ["public.a"]}"#).unwrap(),
            ["public.a"]
        );
        assert!(snapshot_tables(r#"{"data-collections": ["a"], "type": "blocking"}"#).is_err());
        assert!(snapshot_tables("nope").is_err());
        assert!(snapshot_tables("{}").is_err());
    }

    #[test]
    fn window_changes_drop_keys_and_close_sends_the_rest() {
        let mut inc = Incremental {
            window: Some(Window {
                id: "w1".into(),
                open_seen: false,
                last_key: None,
                table_done: false,
                rows: Vec::new(),
                index: HashMap::new(),
            }),
            ..Incremental::default()
        };
        let sig = |id: &str, kind: &str| Signal {
            id: id.into(),
            kind: kind.into(),
            data: String::new(),
        };
        assert!(
            inc.on_signal(&sig("other-open", "snapshot-window-open"))
                .unwrap()
                .is_empty()
        );
        assert!(!inc.window.as_ref().unwrap().open_seen);
        inc.on_signal(&sig("w1-open", "snapshot-window-open"))
            .unwrap();
        assert!(inc.window.as_ref().unwrap().open_seen);
        let out = inc
            .on_signal(&sig("w1-close", "snapshot-window-close"))
            .unwrap();
        assert!(out.is_empty());
        assert!(inc.window.is_none());
        inc.on_signal(&Signal {
            id: "x".into(),
            kind: "execute-snapshot".into(),
            data: r#"{"data-collections": ["public.t"]}"#.into(),
        })
        .unwrap();
        assert!(inc.active());
        inc.on_signal(&sig("y", "stop-snapshot")).unwrap();
        assert!(!inc.active());
    }
}
