//! Turning changes into Debezium records: settings shared by the
//! snapshot and the stream, the `source` block, and the records of one
//! change (with the tombstone after a delete, and delete + tombstone +
//! create for a primary-key change).

use std::collections::HashSet;
use std::sync::Arc;

use sluice_connect_api::schema::{SchemaRef, Struct, Value};
use sluice_connect_api::{Header, SourceOffset, SourcePartition, SourceRecord, Topic};

use crate::envelope::{self, DEBEZIUM_VERSION, Op};
use crate::filters::Filters;
use crate::pg::config::PgCdcConfig;
use crate::pg::table::{Raw, TableInfo};
use crate::types::Modes;

/// Everything the reading side needs from the configuration.
#[derive(Debug)]
pub struct Settings {
    pub prefix: String,
    pub dbname: String,
    pub filters: Filters,
    pub modes: Modes,
    pub source_schema: SchemaRef,
    pub partition: SourcePartition,
    pub tombstones: bool,
    pub skipped: HashSet<char>,
    pub placeholder: String,
    pub toast_fill: bool,
    pub max_batch: usize,
    pub heartbeat_topic: Topic,
    pub avro_names: bool,
    /// `provide.transaction.metadata`: BEGIN/END records on this topic and
    /// the `transaction` block in events.
    pub tx_topic: Option<Topic>,
}

impl Settings {
    pub fn new(c: &PgCdcConfig, skipped: HashSet<char>) -> Result<Self, String> {
        Ok(Self {
            prefix: c.prefix().to_string(),
            dbname: c.dbname.clone(),
            filters: c.filters()?,
            modes: Modes {
                decimal: c.decimal_mode,
                time: c.time_mode,
                binary: c.binary_mode,
            },
            source_schema: envelope::pg_source_schema(),
            partition: crate::pg::offsets::partition(c.prefix()),
            tombstones: c.tombstones_on_delete,
            skipped,
            placeholder: c.unavailable_placeholder.clone(),
            toast_fill: c.toast_fill,
            max_batch: usize::try_from(c.max_batch_size).unwrap_or(2048).max(1),
            heartbeat_topic: Arc::from(c.heartbeat_topic()),
            avro_names: c.schema_name_adjustment == "avro",
            tx_topic: c
                .provide_transaction_metadata
                .then(|| Arc::from(format!("{}.transaction", c.prefix()))),
        })
    }

    pub fn table(
        &self,
        schema: &str,
        name: &str,
        cols: &[crate::pg::catalog::ColDesc],
    ) -> TableInfo {
        let (t, warnings) = TableInfo::build(
            &self.prefix,
            schema,
            name,
            cols,
            &self.filters,
            self.modes,
            &self.source_schema,
            &self.placeholder,
            self.avro_names,
        );
        for w in warnings {
            tracing::warn!("{w}");
        }
        t
    }
}

/// Where an event comes from, for the `source` block.
#[derive(Debug, Clone, Copy)]
pub struct SourcePoint<'a> {
    /// µs since the epoch: commit time (stream) or read time (snapshot).
    pub ts_us: i64,
    pub snapshot: &'a str,
    pub xid: Option<i64>,
    pub lsn: Option<u64>,
    /// `sequence`: the last commit's LSN before this event (if any) and its
    /// own.
    pub sequence: Option<(Option<u64>, u64)>,
}

pub fn source(s: &Settings, t: &TableInfo, p: SourcePoint<'_>) -> Struct {
    Struct::from_parts_unchecked(
        s.source_schema.clone(),
        vec![
            Value::String(DEBEZIUM_VERSION.into()),
            Value::String("postgresql".into()),
            Value::String(s.prefix.clone()),
            Value::Int64(p.ts_us.div_euclid(1000)),
            Value::String(p.snapshot.into()),
            Value::String(s.dbname.clone()),
            p.sequence.map_or(Value::Null, |(a, b)| {
                let a = a.map_or("null".to_string(), |a| format!("\"{a}\""));
                Value::String(format!("[{a},\"{b}\"]"))
            }),
            Value::Int64(p.ts_us),
            Value::Int64(p.ts_us.saturating_mul(1000)),
            Value::String(t.schema.clone()),
            Value::String(t.name.clone()),
            p.xid.map_or(Value::Null, Value::Int64),
            p.lsn.map_or(Value::Null, |l| Value::Int64(l as i64)),
            Value::Null,
        ],
    )
}

fn record(
    s: &Settings,
    t: &TableInfo,
    offset: &SourceOffset,
    key: Value,
    value: Option<Value>,
) -> SourceRecord {
    let mut r = SourceRecord::new(
        s.partition.clone(),
        offset.clone(),
        t.topic.clone(),
        value.as_ref().map(|_| t.envelope_schema.clone()),
        value.unwrap_or(Value::Null),
    );
    r.key_schema = t.key_schema.clone();
    r.key = key;
    r
}

/// One change, ready to become records.
#[derive(Debug)]
pub enum Change<'a> {
    /// An insert (`c`) or a snapshot row (`r`).
    Row {
        op: Op,
        new: &'a [Raw<'a>],
    },
    Update {
        /// `(full, values)`: the old image, full (REPLICA IDENTITY FULL) or
        /// key only.
        old: Option<(bool, &'a [Raw<'a>])>,
        new: &'a [Raw<'a>],
    },
    Delete {
        old: &'a [Raw<'a>],
    },
    Truncate,
}

/// The records of one change, appended to `out`. Errors name the table.
pub fn emit(
    s: &Settings,
    t: &TableInfo,
    change: Change<'_>,
    point: SourcePoint<'_>,
    offset: &SourceOffset,
    out: &mut Vec<SourceRecord>,
) -> Result<(), String> {
    let now = envelope::now_micros();
    let ctx = |e: String| format!("table '{}.{}': {e}", t.schema, t.name);
    let env = |op: Op, before: Value, after: Value| {
        envelope::envelope(
            &t.envelope_schema,
            op,
            before,
            after,
            source(s, t, point),
            Value::Null,
            now,
        )
    };
    let skipped = |op: Op| {
        s.skipped
            .contains(&op.code().chars().next().unwrap_or_default())
    };
    match change {
        Change::Row { op, new } => {
            if skipped(op) {
                return Ok(());
            }
            let key = t.key(new).map_err(ctx)?;
            let after = t.row(new, None, false).map_err(ctx)?;
            out.push(record(s, t, offset, key, Some(env(op, Value::Null, after))));
        }
        Change::Update { old, new } => {
            let new_key = t.key(new).map_err(ctx)?;
            let old_key = match old {
                Some((_, o)) if t.has_key() => Some(t.key(o).map_err(ctx)?),
                _ => None,
            };
            let before = match old {
                Some((_, o)) => t.row(o, None, true).map_err(ctx)?,
                None => Value::Null,
            };
            let prev = match old {
                Some((true, o)) if s.toast_fill => Some(o),
                _ => None,
            };
            let after = t.row(new, prev, false).map_err(ctx)?;
            match old_key {
                Some(k) if k != new_key => {
                    // The primary key changed: delete the old key, then
                    // create the new one; each names the other in a header.
                    let header = |name: &str, v: &Value| Header {
                        key: name.to_string(),
                        schema: t.key_schema.clone(),
                        value: v.clone(),
                    };
                    if !skipped(Op::Delete) {
                        let mut d = record(
                            s,
                            t,
                            offset,
                            k.clone(),
                            Some(env(Op::Delete, before, Value::Null)),
                        );
                        d.headers.push(header("__debezium.newkey", &new_key));
                        if s.tombstones {
                            let mut ts = record(s, t, offset, k.clone(), None);
                            ts.headers = d.headers.clone();
                            out.push(d);
                            out.push(ts);
                        } else {
                            out.push(d);
                        }
                    }
                    if !skipped(Op::Create) {
                        let mut c = record(
                            s,
                            t,
                            offset,
                            new_key,
                            Some(env(Op::Create, Value::Null, after)),
                        );
                        c.headers.push(header("__debezium.oldkey", &k));
                        out.push(c);
                    }
                }
                _ => {
                    if !skipped(Op::Update) {
                        out.push(record(
                            s,
                            t,
                            offset,
                            new_key,
                            Some(env(Op::Update, before, after)),
                        ));
                    }
                }
            }
        }
        Change::Delete { old } => {
            if skipped(Op::Delete) {
                return Ok(());
            }
            let key = t.key(old).map_err(ctx)?;
            let before = t.row(old, None, true).map_err(ctx)?;
            out.push(record(
                s,
                t,
                offset,
                key.clone(),
                Some(env(Op::Delete, before, Value::Null)),
            ));
            if s.tombstones && !key.is_null() {
                out.push(record(s, t, offset, key, None));
            }
        }
        Change::Truncate => {
            if skipped(Op::Truncate) {
                return Ok(());
            }
            let mut r = record(
                s,
                t,
                offset,
                Value::Null,
                Some(env(Op::Truncate, Value::Null, Value::Null)),
            );
            r.key_schema = None;
            out.push(r);
        }
    }
    Ok(())
}

/// A BEGIN or END record of the transaction topic; `collections` only for
/// END.
pub fn transaction_record(
    s: &Settings,
    topic: &Topic,
    id: &str,
    ts_ms: i64,
    end: Option<&[(String, i64)]>,
    offset: SourceOffset,
) -> SourceRecord {
    let key = Struct::from_parts_unchecked(
        envelope::transaction_key_schema(),
        vec![Value::String(id.to_string())],
    );
    let (status, count, collections) = match end {
        None => ("BEGIN", Value::Null, Value::Null),
        Some(per) => {
            let schema = envelope::event_collection_schema();
            (
                "END",
                Value::Int64(per.iter().map(|(_, n)| n).sum()),
                Value::Array(
                    per.iter()
                        .map(|(t, n)| {
                            Value::Struct(Struct::from_parts_unchecked(
                                schema.clone(),
                                vec![Value::String(t.clone()), Value::Int64(*n)],
                            ))
                        })
                        .collect(),
                ),
            )
        }
    };
    let value = Struct::from_parts_unchecked(
        envelope::transaction_value_schema(),
        vec![
            Value::String(status.into()),
            Value::String(id.to_string()),
            count,
            collections,
            Value::Int64(ts_ms),
        ],
    );
    let mut r = SourceRecord::new(
        s.partition.clone(),
        offset,
        topic.clone(),
        Some(envelope::transaction_value_schema()),
        Value::Struct(value),
    );
    r.key_schema = Some(envelope::transaction_key_schema());
    r.key = Value::Struct(key);
    r
}

/// Sets an event's `transaction` block.
pub fn set_transaction(r: &mut SourceRecord, id: &str, total: i64, in_table: i64) {
    if let Value::Struct(env) = &mut r.value {
        let block = Struct::from_parts_unchecked(
            envelope::transaction_block_schema(),
            vec![
                Value::String(id.to_string()),
                Value::Int64(total),
                Value::Int64(in_table),
            ],
        );
        let _ = env.set("transaction", Value::Struct(block));
    }
}

/// A heartbeat record.
pub fn heartbeat(s: &Settings, offset: SourceOffset) -> SourceRecord {
    let key = Struct::from_parts_unchecked(
        envelope::heartbeat_key_schema(),
        vec![Value::String(s.prefix.clone())],
    );
    let value = Struct::from_parts_unchecked(
        envelope::heartbeat_value_schema(),
        vec![Value::Int64(envelope::now_micros() / 1000)],
    );
    let mut r = SourceRecord::new(
        s.partition.clone(),
        offset,
        s.heartbeat_topic.clone(),
        Some(envelope::heartbeat_value_schema()),
        Value::Struct(value),
    );
    r.key_schema = Some(envelope::heartbeat_key_schema());
    r.kafka_partition = Some(0);
    r.key = Value::Struct(key);
    r
}
