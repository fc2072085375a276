//! MySQL and MariaDB: `mysql_async`, binary protocol (prepared
//! statements), rows read one at a time from the socket.

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Column as MyColumn, OptsBuilder, Statement, Value as MyValue};
use tokio::sync::mpsc;

use super::{
    CHUNK_ROWS, ConnectSettings, DbColumn, DbError, Param, RowChunk, RowResult, TableQuery,
};
use crate::table_id::TableId;
use crate::types::time::{
    DbZone, MICROS_PER_SECOND, civil_from_days, civil_from_micros, days_from_civil,
};
use crate::types::{Cell, Column, ColumnKind, parse_decimal};

/// The `binary` character set: BLOB and BINARY columns hold bytes.
const BINARY_CHARSET: u16 = 63;

#[derive(Debug)]
pub struct MyConn {
    conn: mysql_async::Conn,
    zone: DbZone,
    database: String,
}

impl MyConn {
    pub async fn connect(s: &ConnectSettings) -> Result<Self, DbError> {
        let (host, port) = s
            .url
            .hosts
            .first()
            .cloned()
            .unwrap_or_else(|| ("localhost".to_string(), 3306));
        let opts = OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port)
            .user(s.url.user.clone().or_else(|| Some("root".to_string())))
            .pass(s.url.password.clone())
            .db_name((!s.url.database.is_empty()).then(|| s.url.database.clone()))
            .prefer_socket(false)
            .stmt_cache_size(64);
        let conn = mysql_async::Conn::new(opts)
            .await
            .map_err(|e| DbError::from_mysql(format!("connecting to {}", s.shown_url), &e))?;
        let mut me = Self {
            conn,
            zone: s.zone.clone(),
            database: s.url.database.clone(),
        };
        // TIMESTAMP columns come back in the session zone: make it
        // db.timezone, so they read like DATETIME columns.
        let zone = if s.zone.is_utc() {
            "+00:00".to_string()
        } else {
            s.zone.name().to_string()
        };
        me.conn
            .query_drop(format!("SET time_zone = '{}'", zone.replace('\'', "''")))
            .await
            .map_err(|e| {
                DbError::from_mysql(
                    format!(
                        "setting db.timezone '{zone}' (named zones need the server's time zone tables; an offset such as +02:00 always works)"
                    ),
                    &e,
                )
            })?;
        Ok(me)
    }

    pub fn is_open(&self) -> bool {
        !self.conn.is_disconnected()
    }

    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }

    pub async fn scalar_i64(&mut self, sql: &str) -> Result<Option<i64>, DbError> {
        let v: Option<Option<i64>> = self
            .conn
            .exec_first(sql, ())
            .await
            .map_err(|e| DbError::from_mysql(format!("running '{sql}'"), &e))?;
        Ok(v.flatten())
    }

    pub fn conn_mut(&mut self) -> &mut mysql_async::Conn {
        &mut self.conn
    }

    pub fn zone(&self) -> &DbZone {
        &self.zone
    }

    pub async fn describe_table(
        &mut self,
        table: &TableId,
    ) -> Result<Option<Vec<DbColumn>>, DbError> {
        let context = || format!("reading the columns of {table}");
        let db = table.catalog.clone().or_else(|| table.schema.clone());
        let rows: Vec<(String, String, String)> = self
            .conn
            .exec(
                "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                (db, table.table.clone()),
            )
            .await
            .map_err(|e| DbError::from_mysql(context(), &e))?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            rows.into_iter()
                .map(|(name, ty, nullable)| DbColumn {
                    name,
                    type_name: ty.to_ascii_lowercase(),
                    nullable: nullable.eq_ignore_ascii_case("YES"),
                })
                .collect(),
        ))
    }

    pub async fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn
            .query_drop(sql)
            .await
            .map_err(|e| DbError::from_mysql(format!("running '{sql}'"), &e))
    }

    pub async fn now(&mut self) -> Result<i64, DbError> {
        let v: Option<MyValue> = self
            .conn
            .exec_first("SELECT CURRENT_TIMESTAMP(6)", ())
            .await
            .map_err(|e| DbError::from_mysql("reading the database time", &e))?;
        match v {
            Some(v) => match to_cell(v, &ColumnKind::Timestamp, &self.zone) {
                Ok(Cell::Timestamp(t)) => Ok(t),
                other => Err(DbError::data(format!("unexpected database time {other:?}"))),
            },
            None => Err(DbError::data("the database returned no time")),
        }
    }

    pub async fn list_tables(&mut self, q: &TableQuery) -> Result<Vec<TableId>, DbError> {
        let mut types = Vec::new();
        for t in &q.types {
            match t.trim().to_ascii_uppercase().as_str() {
                "TABLE" => types.extend(["BASE TABLE", "SYSTEM VERSIONED"]),
                "VIEW" => types.push("VIEW"),
                other => tracing::warn!("table.types: '{other}' is not a MySQL table type"),
            }
        }
        if types.is_empty() {
            return Ok(Vec::new());
        }
        let list = types
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(",");
        // Without catalog.pattern: the URL's database, or every database
        // but the server's own when the URL names none.
        let (catalog_sql, params): (&str, Vec<MyValue>) = match &q.catalog_pattern {
            Some(p) => ("TABLE_SCHEMA LIKE ?", vec![MyValue::from(p.as_str())]),
            None if !self.database.is_empty() => ("TABLE_SCHEMA = DATABASE()", vec![]),
            None => (
                "TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')",
                vec![],
            ),
        };
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE {catalog_sql} AND TABLE_TYPE IN ({list}) ORDER BY 1, 2"
        );
        let rows: Vec<(String, String)> = self
            .conn
            .exec(sql, params)
            .await
            .map_err(|e| DbError::from_mysql("listing tables", &e))?;
        Ok(rows
            .into_iter()
            .map(|(db, t)| TableId::new(Some(&db), None, &t))
            .collect())
    }

    pub async fn prepare(&mut self, sql: &str) -> Result<(Vec<Column>, Statement), DbError> {
        let st = self
            .conn
            .prep(sql)
            .await
            .map_err(|e| DbError::from_mysql(format!("preparing '{sql}'"), &e))?;
        let columns = st.columns().iter().map(column_of).collect();
        Ok((columns, st))
    }

    pub async fn stream(
        mut self,
        st: Statement,
        columns: Vec<Column>,
        params: Vec<Param>,
        tx: mpsc::Sender<RowChunk>,
    ) -> Self {
        let zone = self.zone.clone();
        let context = "querying";
        let bound: Vec<MyValue> = match params.into_iter().map(|p| to_param(p, &zone)).collect() {
            Ok(b) => b,
            Err(e) => {
                let _ = tx.send(Err(DbError::data(format!("{context}: {e}")))).await;
                return self;
            }
        };
        let mut result = match self.conn.exec_iter(&st, bound).await {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(DbError::from_mysql(context, &e))).await;
                return self;
            }
        };
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        loop {
            let item = match result.next().await {
                Ok(Some(row)) => decode_row(row, &columns, &zone),
                Ok(None) => break,
                Err(e) => Err(DbError::from_mysql(context, &e)),
            };
            match item {
                Ok(cells) => {
                    chunk.push(cells);
                    if chunk.len() >= CHUNK_ROWS
                        && tx.send(Ok(std::mem::take(&mut chunk))).await.is_err()
                    {
                        chunk.clear();
                        break;
                    }
                }
                Err(e) => {
                    if !chunk.is_empty() {
                        let _ = tx.send(Ok(std::mem::take(&mut chunk))).await;
                    }
                    let _ = tx.send(Err(e)).await;
                    break;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.send(Ok(chunk)).await;
        }
        // Reads (and drops) what is left, so the connection can be reused.
        if let Err(e) = result.drop_result().await {
            tracing::debug!("MySQL result not drained: {e}");
        }
        self
    }
}

fn decode_row(row: mysql_async::Row, columns: &[Column], zone: &DbZone) -> RowResult {
    let values = row.unwrap();
    values
        .into_iter()
        .zip(columns)
        .map(|(v, c)| {
            to_cell(v, &c.kind, zone)
                .map_err(|e| DbError::data(format!("column '{}': {e}", c.name)))
        })
        .collect()
}

fn column_of(c: &MyColumn) -> Column {
    let flags = c.flags();
    let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = c.character_set() == BINARY_CHARSET;
    let kind = match c.column_type() {
        ColumnType::MYSQL_TYPE_TINY if unsigned => ColumnKind::Int16,
        ColumnType::MYSQL_TYPE_TINY => ColumnKind::Int8,
        ColumnType::MYSQL_TYPE_SHORT if unsigned => ColumnKind::Int32,
        ColumnType::MYSQL_TYPE_SHORT => ColumnKind::Int16,
        ColumnType::MYSQL_TYPE_INT24 if unsigned => ColumnKind::Int64,
        ColumnType::MYSQL_TYPE_INT24 => ColumnKind::Int32,
        ColumnType::MYSQL_TYPE_LONG if unsigned => ColumnKind::Int64,
        ColumnType::MYSQL_TYPE_LONG => ColumnKind::Int32,
        ColumnType::MYSQL_TYPE_LONGLONG => ColumnKind::Int64,
        ColumnType::MYSQL_TYPE_FLOAT => ColumnKind::Float32,
        ColumnType::MYSQL_TYPE_DOUBLE => ColumnKind::Float64,
        ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => {
            let scale = i32::from(c.decimals());
            // Display length counts the sign and the decimal point.
            let precision = c
                .column_length()
                .saturating_sub(u32::from(scale > 0))
                .saturating_sub(u32::from(!unsigned));
            ColumnKind::Numeric {
                precision,
                scale: Some(scale),
            }
        }
        ColumnType::MYSQL_TYPE_YEAR
        | ColumnType::MYSQL_TYPE_DATE
        | ColumnType::MYSQL_TYPE_NEWDATE => ColumnKind::Date,
        ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => ColumnKind::Time,
        ColumnType::MYSQL_TYPE_DATETIME
        | ColumnType::MYSQL_TYPE_DATETIME2
        | ColumnType::MYSQL_TYPE_TIMESTAMP
        | ColumnType::MYSQL_TYPE_TIMESTAMP2 => ColumnKind::Timestamp,
        ColumnType::MYSQL_TYPE_BIT if c.column_length() <= 1 => ColumnKind::Int8,
        ColumnType::MYSQL_TYPE_BIT => ColumnKind::Bytes,
        ColumnType::MYSQL_TYPE_JSON | ColumnType::MYSQL_TYPE_ENUM | ColumnType::MYSQL_TYPE_SET => {
            ColumnKind::Text
        }
        ColumnType::MYSQL_TYPE_VARCHAR
        | ColumnType::MYSQL_TYPE_VAR_STRING
        | ColumnType::MYSQL_TYPE_STRING
        | ColumnType::MYSQL_TYPE_TINY_BLOB
        | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
        | ColumnType::MYSQL_TYPE_LONG_BLOB
        | ColumnType::MYSQL_TYPE_BLOB => {
            if binary {
                ColumnKind::Bytes
            } else {
                ColumnKind::Text
            }
        }
        _ => ColumnKind::Unsupported,
    };
    Column {
        name: c.name_str().into_owned(),
        kind,
        nullable: !flags.contains(ColumnFlags::NOT_NULL_FLAG),
        type_name: format!("{:?}", c.column_type()),
        auto_increment: flags.contains(ColumnFlags::AUTO_INCREMENT_FLAG),
    }
}

fn to_cell(v: MyValue, kind: &ColumnKind, zone: &DbZone) -> Result<Cell, String> {
    Ok(match (v, kind) {
        (MyValue::NULL, _) => Cell::Null,
        (MyValue::Int(i), ColumnKind::Date) => Cell::Date(year_days(i)?),
        (MyValue::Int(i), _) => Cell::Int(i),
        (MyValue::UInt(u), _) => Cell::UInt(u),
        (MyValue::Float(f), _) => Cell::F32(f),
        (MyValue::Double(d), _) => Cell::F64(d),
        (MyValue::Bytes(b), ColumnKind::Numeric { .. }) => {
            let text = String::from_utf8_lossy(&b);
            Cell::Decimal(parse_decimal(&text).ok_or_else(|| format!("bad decimal '{text}'"))?)
        }
        (MyValue::Bytes(b), ColumnKind::Int8) => {
            // BIT(1)
            Cell::Int(i64::from(b.last().copied().unwrap_or(0)))
        }
        (MyValue::Bytes(b), ColumnKind::Date) => {
            // YEAR in the text protocol
            let text = String::from_utf8_lossy(&b);
            Cell::Date(year_days(
                text.trim()
                    .parse()
                    .map_err(|_| format!("bad year '{text}'"))?,
            )?)
        }
        (MyValue::Bytes(b), ColumnKind::Timestamp | ColumnKind::Time) => {
            // The text protocol's form.
            let text = String::from_utf8_lossy(&b);
            let v = parse_datetime_text(&text).ok_or_else(|| format!("bad date/time '{text}'"))?;
            return to_cell(v, kind, zone);
        }
        (MyValue::Bytes(b), ColumnKind::Text) => {
            Cell::Text(String::from_utf8(b).map_err(|_| "invalid UTF-8 text".to_string())?)
        }
        (MyValue::Bytes(b), _) => Cell::Bytes(b),
        (MyValue::Date(y, mo, d, h, mi, s, us), kind) => {
            if mo == 0 || d == 0 {
                return Err(format!(
                    "zero date {y:04}-{mo:02}-{d:02} has no Connect value"
                ));
            }
            let days = days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
            if *kind == ColumnKind::Date {
                Cell::Date(i32::try_from(days).map_err(|_| "date out of range")?)
            } else {
                let wall = days * 86_400 * MICROS_PER_SECOND
                    + (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * MICROS_PER_SECOND
                    + i64::from(us);
                Cell::Timestamp(zone.wall_to_utc(wall))
            }
        }
        (MyValue::Time(neg, days, h, mi, s, us), _) => {
            let us =
                ((i64::from(days) * 24 + i64::from(h)) * 3600 + i64::from(mi) * 60 + i64::from(s))
                    * MICROS_PER_SECOND
                    + i64::from(us);
            Cell::Time(if neg { -us } else { us })
        }
    })
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` or `[-]HH:MM:SS[.ffffff]`.
fn parse_datetime_text(t: &str) -> Option<MyValue> {
    let t = t.trim();
    let frac = |s: &str| -> Option<(u32, u32)> {
        let (whole, f) = s.split_once('.').unwrap_or((s, ""));
        let mut us = 0u32;
        for (i, c) in f.chars().take(6).enumerate() {
            us += c.to_digit(10)? * 10u32.pow(5 - i as u32);
        }
        Some((whole.parse().ok()?, us))
    };
    if t.len() >= 10 && t.as_bytes().get(4) == Some(&b'-') {
        let y = t.get(0..4)?.parse().ok()?;
        let m = t.get(5..7)?.parse().ok()?;
        let d = t.get(8..10)?.parse().ok()?;
        let (mut h, mut mi, mut s, mut us) = (0, 0, 0, 0);
        if let Some(rest) = t.get(11..) {
            let mut parts = rest.split(':');
            h = parts.next()?.parse().ok()?;
            mi = parts.next()?.parse().ok()?;
            let (sec, micros) = frac(parts.next()?)?;
            s = u8::try_from(sec).ok()?;
            us = micros;
        }
        return Some(MyValue::Date(y, m, d, h, mi, s, us));
    }
    let (neg, rest) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
    let mut parts = rest.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let mi = parts.next()?.parse().ok()?;
    let (sec, us) = frac(parts.next()?)?;
    Some(MyValue::Time(
        neg,
        h / 24,
        u8::try_from(h % 24).ok()?,
        mi,
        u8::try_from(sec).ok()?,
        us,
    ))
}

fn year_days(year: i64) -> Result<i32, String> {
    i32::try_from(days_from_civil(year, 1, 1)).map_err(|_| format!("year {year} out of range"))
}

fn to_param(p: Param, zone: &DbZone) -> Result<MyValue, String> {
    match p {
        Param::Int(i) => Ok(MyValue::Int(i)),
        Param::Timestamp(us) => wall_datetime(us, zone),
    }
}

/// An instant (µs since the epoch) as MySQL's DATETIME value: wall-clock
/// time in db.timezone (the session's zone). Years MySQL cannot hold are
/// an error, never a different date.
pub(crate) fn wall_datetime(us: i64, zone: &DbZone) -> Result<MyValue, String> {
    let (y, mo, d, h, mi, s, micros) = civil_from_micros(zone.utc_to_wall(us));
    let year = u16::try_from(y).map_err(|_| format!("year {y} is out of MySQL's range"))?;
    Ok(MyValue::Date(
        year, mo as u8, d as u8, h as u8, mi as u8, s as u8, micros,
    ))
}

/// Days since the epoch as MySQL's DATE value.
pub(crate) fn date_value(days: i32) -> Result<MyValue, String> {
    let (y, m, d) = civil_from_days(i64::from(days));
    let year = u16::try_from(y).map_err(|_| format!("year {y} is out of MySQL's range"))?;
    Ok(MyValue::Date(year, m as u8, d as u8, 0, 0, 0, 0))
}
