//! MySQL/MariaDB writes: multi-row `INSERT` (with `ON DUPLICATE KEY
//! UPDATE` for upserts), batched `UPDATE` and `DELETE`.

use mysql_async::Value as MyValue;
use mysql_async::prelude::Queryable;

use super::config::InsertMode;
use super::value::SqlValue;
use super::writer::{Segment, WriteError, Writer};
use crate::db::DbError;
use crate::db::mysql::MyConn;
use crate::db::mysql::{date_value, wall_datetime};
use crate::dialect::Dialect;
use crate::types::time::{DbZone, MICROS_PER_DAY};

/// MySQL's limit on placeholders in one statement.
const MAX_PARAMS: usize = 65_535;
/// Statement size aimed at, well under the default `max_allowed_packet`.
const MAX_BYTES: usize = 4 * 1024 * 1024;

pub(super) async fn write(w: &mut Writer, c: &mut MyConn, seg: &Segment) -> Result<(), WriteError> {
    let d = Dialect::MySql;
    let q = w.s.quoting;
    let table = seg.table.sql(d, q);
    let zone = c.zone().clone();
    let keys: Vec<String> = seg.meta.keys.iter().map(|k| d.ident(&k.name, q)).collect();
    let non_keys: Vec<String> = seg
        .meta
        .values
        .iter()
        .map(|f| d.ident(&f.name, q))
        .collect();
    let context = |sql: &str| {
        format!(
            "writing to {} ('{}')",
            seg.table,
            sql.chars().take(200).collect::<String>()
        )
    };
    if seg.delete {
        let sql = format!(
            "DELETE FROM {table} WHERE {}",
            keys.iter()
                .map(|k| format!("{k} = ?"))
                .collect::<Vec<_>>()
                .join(" AND ")
        );
        let params = seg
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| row_params(seg, i, r.iter(), &zone))
            .collect::<Result<Vec<_>, _>>()?;
        c.conn_mut()
            .exec_batch(sql.as_str(), params)
            .await
            .map_err(|e| DbError::from_mysql(context(&sql), &e))?;
        return Ok(());
    }
    if w.s.insert_mode == InsertMode::Update {
        let sql = format!(
            "UPDATE {table} SET {} WHERE {}",
            non_keys
                .iter()
                .map(|c| format!("{c} = ?"))
                .collect::<Vec<_>>()
                .join(", "),
            keys.iter()
                .map(|k| format!("{k} = ?"))
                .collect::<Vec<_>>()
                .join(" AND ")
        );
        let nk = keys.len();
        let params = seg
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| row_params(seg, i, r[nk..].iter().chain(r[..nk].iter()), &zone))
            .collect::<Result<Vec<_>, _>>()?;
        c.conn_mut()
            .exec_batch(sql.as_str(), params)
            .await
            .map_err(|e| DbError::from_mysql(context(&sql), &e))?;
        return Ok(());
    }
    let cols: Vec<String> = keys.iter().chain(non_keys.iter()).cloned().collect();
    let head = format!("INSERT INTO {table} ({}) VALUES ", cols.join(","));
    let tail = if w.s.insert_mode == InsertMode::Upsert {
        let assign: Vec<&String> = if non_keys.is_empty() {
            keys.iter().collect()
        } else {
            non_keys.iter().collect()
        };
        format!(
            " ON DUPLICATE KEY UPDATE {}",
            assign
                .iter()
                .map(|c| format!("{c}=VALUES({c})"))
                .collect::<Vec<_>>()
                .join(",")
        )
    } else {
        String::new()
    };
    let tuple = format!("({})", vec!["?"; cols.len()].join(","));
    let per_stmt = (MAX_PARAMS / cols.len().max(1)).max(1);
    let mut start = 0;
    while start < seg.rows.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < seg.rows.len() && end - start < per_stmt && (bytes < MAX_BYTES || end == start)
        {
            bytes += seg.rows[end].iter().map(approx_len).sum::<usize>();
            end += 1;
        }
        let n = end - start;
        let mut sql = String::with_capacity(head.len() + n * (tuple.len() + 1) + tail.len());
        sql.push_str(&head);
        for i in 0..n {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&tuple);
        }
        sql.push_str(&tail);
        let mut params = Vec::with_capacity(n * cols.len());
        for i in start..end {
            params.extend(row_params(seg, i, seg.rows[i].iter(), &zone)?);
        }
        c.conn_mut()
            .exec_drop(sql.as_str(), params)
            .await
            .map_err(|e| DbError::from_mysql(context(&sql), &e))?;
        start = end;
    }
    Ok(())
}

/// One row's parameters; a value MySQL cannot hold names its record.
fn row_params<'a>(
    seg: &Segment,
    i: usize,
    values: impl Iterator<Item = &'a SqlValue>,
    zone: &DbZone,
) -> Result<Vec<MyValue>, WriteError> {
    values
        .map(|v| my_value(v, zone))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| WriteError::Record {
            index: seg.indexes[i],
            message,
        })
}

fn approx_len(v: &SqlValue) -> usize {
    match v {
        SqlValue::Text(s) | SqlValue::Json(s) => s.len(),
        SqlValue::Bytes(b) => b.len(),
        _ => 8,
    }
}

/// A column value as a MySQL parameter; times as wall-clock times in
/// db.timezone (the session's zone).
pub(super) fn my_value(v: &SqlValue, zone: &DbZone) -> Result<MyValue, String> {
    Ok(match v {
        SqlValue::Null => MyValue::NULL,
        SqlValue::Bool(b) => MyValue::Int(i64::from(*b)),
        SqlValue::Int(i) => MyValue::Int(*i),
        SqlValue::F32(f) => MyValue::Float(*f),
        SqlValue::F64(f) => MyValue::Double(*f),
        SqlValue::Decimal(d) => MyValue::Bytes(d.to_string().into_bytes()),
        SqlValue::Text(s) | SqlValue::Json(s) => MyValue::Bytes(s.clone().into_bytes()),
        SqlValue::Bytes(b) => MyValue::Bytes(b.clone()),
        SqlValue::Date(days) => return date_value(*days),
        SqlValue::Time(us) => {
            let us = us.rem_euclid(MICROS_PER_DAY);
            let s = us / 1_000_000;
            MyValue::Time(
                false,
                0,
                (s / 3600) as u8,
                (s / 60 % 60) as u8,
                (s % 60) as u8,
                (us % 1_000_000) as u32,
            )
        }
        SqlValue::Timestamp(us) => return wall_datetime(*us, zone),
        SqlValue::Array(_) => MyValue::Bytes(array_json(v).into_bytes()),
    })
}

fn array_json(v: &SqlValue) -> String {
    fn j(v: &SqlValue) -> serde_json::Value {
        match v {
            SqlValue::Null => serde_json::Value::Null,
            SqlValue::Bool(b) => (*b).into(),
            SqlValue::Int(i) => (*i).into(),
            SqlValue::F32(f) => f64::from(*f).into(),
            SqlValue::F64(f) => (*f).into(),
            SqlValue::Array(items) => serde_json::Value::Array(items.iter().map(j).collect()),
            SqlValue::Decimal(d) => d.to_string().into(),
            SqlValue::Text(s) | SqlValue::Json(s) => s.clone().into(),
            other => format!("{other:?}").into(),
        }
    }
    j(v).to_string()
}
