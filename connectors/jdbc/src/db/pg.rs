//! PostgreSQL: `tokio-postgres`, rows read in the binary format and
//! decoded here, so every type maps without optional crate features.

use std::collections::HashMap;
use std::error::Error as StdError;

use bytes::BytesMut;
use futures::{FutureExt, StreamExt, pin_mut};
use sluice_connect_api::schema::logical::Decimal;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Statement};

use super::{CHUNK_ROWS, DbColumn, DbError, Param, RowChunk, RowResult, TableQuery};
use crate::table_id::TableId;
use crate::types::time::{DbZone, MICROS_PER_DAY};
use crate::types::{Cell, Column, ColumnKind};

use super::ConnectSettings;

/// µs between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800 * 1_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

#[derive(Debug)]
pub struct PgConn {
    client: Client,
    driver: JoinHandle<()>,
    zone: DbZone,
}

/// How to decode one result column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dec {
    Bool,
    I16,
    I32,
    I64,
    Oid,
    F32,
    F64,
    Numeric,
    Text,
    Jsonb,
    Uuid,
    Bytes,
    Date,
    Time,
    TimeTz,
    /// Wall clock, read in `db.timezone`.
    Timestamp,
    TimestampTz,
    Skip,
}

#[derive(Debug, Clone)]
pub struct PgPrepared {
    sql: String,
    statement: Statement,
    pub columns: Vec<Column>,
    /// Per result column: decoder and, for arrays, the element decoder.
    decoders: Vec<(Dec, Option<Dec>)>,
    zone: DbZone,
}

impl PgConn {
    pub async fn connect(s: &ConnectSettings) -> Result<Self, DbError> {
        let mut config = tokio_postgres::Config::new();
        for (host, port) in &s.url.hosts {
            config.host(host).port(*port);
        }
        let user = s
            .url
            .user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "postgres".to_string());
        config.user(&user);
        if let Some(p) = &s.url.password {
            config.password(p);
        }
        if !s.url.database.is_empty() {
            config.dbname(&s.url.database);
        }
        let app = s
            .url
            .params
            .get("ApplicationName")
            .map_or("sluice-jdbc", String::as_str);
        config.application_name(app);
        if let Some(t) = s
            .url
            .params
            .get("connectTimeout")
            .and_then(|t| t.parse().ok())
        {
            config.connect_timeout(std::time::Duration::from_secs(t));
        } else {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| DbError::from_pg(format!("connecting to {}", s.shown_url), &e))?;
        let driver = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("PostgreSQL connection ended: {e}");
            }
        });
        let conn = Self {
            client,
            driver,
            zone: s.zone.clone(),
        };
        // The session's zone is db.timezone, so `timestamp` columns compare
        // with the `timestamptz` parameters as wall-clock times there.
        let set_zone = match fixed_offset(&s.zone) {
            Some(off) => format!("SET TIME ZONE INTERVAL '{off}' HOUR TO MINUTE"),
            None => format!("SET TIME ZONE '{}'", s.zone.name().replace('\'', "''")),
        };
        conn.client.batch_execute(&set_zone).await.map_err(|e| {
            DbError::from_pg(format!("setting db.timezone '{}'", s.zone.name()), &e)
        })?;
        Ok(conn)
    }

    pub fn is_open(&self) -> bool {
        !self.client.is_closed()
    }

    pub async fn close(self) {
        drop(self.client);
        let _ = self.driver.await;
    }

    pub async fn scalar_i64(&mut self, sql: &str) -> Result<Option<i64>, DbError> {
        let row = self
            .client
            .query_one(sql, &[])
            .await
            .map_err(|e| DbError::from_pg(format!("running '{sql}'"), &e))?;
        row.try_get(0)
            .map_err(|e| DbError::from_pg(format!("running '{sql}'"), &e))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn describe_table(
        &mut self,
        table: &TableId,
    ) -> Result<Option<Vec<DbColumn>>, DbError> {
        let name = table.sql(
            crate::dialect::Dialect::Postgres,
            crate::dialect::Quoting::Always,
        );
        let context = || format!("reading the columns of {name}");
        let exists = self
            .client
            .query_opt("SELECT to_regclass($1)::oid", &[&name])
            .await
            .map_err(|e| DbError::from_pg(context(), &e))?;
        let oid: Option<u32> = match exists {
            Some(r) => r.try_get(0).map_err(|e| DbError::from_pg(context(), &e))?,
            None => None,
        };
        let Some(oid) = oid else {
            return Ok(None);
        };
        let rows = self
            .client
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull \
                 FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 \
                 AND NOT a.attisdropped ORDER BY a.attnum",
                &[&oid],
            )
            .await
            .map_err(|e| DbError::from_pg(context(), &e))?;
        let mut out = Vec::new();
        for r in rows {
            let name: String = r.try_get(0).map_err(|e| DbError::from_pg(context(), &e))?;
            let ty: String = r.try_get(1).map_err(|e| DbError::from_pg(context(), &e))?;
            let notnull: bool = r.try_get(2).map_err(|e| DbError::from_pg(context(), &e))?;
            out.push(DbColumn {
                name,
                type_name: ty.to_ascii_lowercase(),
                nullable: !notnull,
            });
        }
        Ok(Some(out))
    }

    pub async fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| DbError::from_pg(format!("running '{sql}'"), &e))
    }

    pub async fn now(&mut self) -> Result<i64, DbError> {
        let row = self
            .client
            .query_one("SELECT CURRENT_TIMESTAMP", &[])
            .await
            .map_err(|e| DbError::from_pg("reading the database time", &e))?;
        let raw: Raw<'_> = row
            .try_get(0)
            .map_err(|e| DbError::from_pg("reading the database time", &e))?;
        match decode(Dec::TimestampTz, raw.0, &self.zone).map_err(DbError::data)? {
            Cell::Timestamp(t) => Ok(t),
            other => Err(DbError::data(format!("unexpected database time {other:?}"))),
        }
    }

    pub async fn list_tables(&mut self, q: &TableQuery) -> Result<Vec<TableId>, DbError> {
        let mut kinds = Vec::new();
        for t in &q.types {
            match t.trim().to_ascii_uppercase().as_str() {
                "TABLE" => kinds.extend(["r", "p"]),
                "PARTITIONED TABLE" => kinds.push("p"),
                "VIEW" => kinds.push("v"),
                "MATERIALIZED VIEW" => kinds.push("m"),
                "FOREIGN TABLE" => kinds.push("f"),
                other => tracing::warn!("table.types: '{other}' is not a PostgreSQL table type"),
            }
        }
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kinds_sql = kinds
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ({kinds_sql}) AND n.nspname !~ '^pg_' \
             AND n.nspname <> 'information_schema' \
             AND ($1::text IS NULL OR n.nspname LIKE $1::text) \
             AND ($2::text IS NULL OR current_database() LIKE $2::text) \
             AND NOT c.relispartition \
             ORDER BY 1, 2"
        );
        let rows = self
            .client
            .query(&sql, &[&q.schema_pattern, &q.catalog_pattern])
            .await
            .map_err(|e| DbError::from_pg("listing tables", &e))?;
        rows.iter()
            .map(|r| {
                let schema: String = r
                    .try_get(0)
                    .map_err(|e| DbError::from_pg("listing tables", &e))?;
                let table: String = r
                    .try_get(1)
                    .map_err(|e| DbError::from_pg("listing tables", &e))?;
                Ok(TableId::new(None, Some(&schema), &table))
            })
            .collect()
    }

    pub async fn prepare(&mut self, sql: &str) -> Result<PgPrepared, DbError> {
        let statement = self
            .client
            .prepare(sql)
            .await
            .map_err(|e| DbError::from_pg(format!("preparing '{sql}'"), &e))?;
        let attrs = self.attributes(&statement).await?;
        let mut columns = Vec::new();
        let mut decoders = Vec::new();
        for c in statement.columns() {
            let attr = c
                .table_oid()
                .zip(c.column_id())
                .and_then(|k| attrs.get(&k))
                .copied();
            let (kind, dec) = kind_of(c.type_(), c.type_modifier());
            columns.push(Column {
                name: c.name().to_string(),
                kind,
                nullable: attr.is_none_or(|a| !a.0),
                type_name: c.type_().name().to_string(),
                auto_increment: attr.is_some_and(|a| a.1),
            });
            decoders.push(dec);
        }
        Ok(PgPrepared {
            sql: sql.to_string(),
            statement,
            columns,
            decoders,
            zone: self.zone.clone(),
        })
    }

    /// (NOT NULL, auto-increment) per (table oid, column number) of the
    /// statement's columns that come straight from a table.
    async fn attributes(
        &self,
        st: &Statement,
    ) -> Result<HashMap<(u32, i16), (bool, bool)>, DbError> {
        let mut out = HashMap::new();
        let mut tables: Vec<u32> = st.columns().iter().filter_map(|c| c.table_oid()).collect();
        tables.sort_unstable();
        tables.dedup();
        for oid in tables.into_iter().filter(|o| *o != 0) {
            let rows = self
                .client
                .query(
                    "SELECT a.attnum, a.attnotnull, \
                     (a.attidentity <> '' OR COALESCE(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%') \
                     FROM pg_catalog.pg_attribute a \
                     LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                    &[&oid],
                )
                .await
                .map_err(|e| DbError::from_pg("reading column metadata", &e))?;
            for r in rows {
                let num: i16 = r
                    .try_get(0)
                    .map_err(|e| DbError::from_pg("reading column metadata", &e))?;
                let notnull: bool = r
                    .try_get(1)
                    .map_err(|e| DbError::from_pg("reading column metadata", &e))?;
                let auto: bool = r
                    .try_get(2)
                    .map_err(|e| DbError::from_pg("reading column metadata", &e))?;
                out.insert((oid, num), (notnull, auto));
            }
        }
        Ok(out)
    }

    /// Streams the rows of `p` to `tx`; returns the connection when done.
    pub async fn stream(
        self,
        p: PgPrepared,
        params: Vec<Param>,
        tx: mpsc::Sender<RowChunk>,
    ) -> Self {
        let bound: Vec<PgParam> = params
            .into_iter()
            .map(|v| PgParam(v, p.zone.clone()))
            .collect();
        let context = || format!("querying '{}'", p.sql);
        let rows = match self
            .client
            .query_raw(&p.statement, bound.iter().map(|b| b as &(dyn ToSql + Sync)))
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                let _ = tx.send(Err(DbError::from_pg(context(), &e))).await;
                return self;
            }
        };
        pin_mut!(rows);
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        loop {
            // Take what is ready without waiting; wait only with nothing
            // in hand.
            let next = if chunk.is_empty() {
                rows.next().await
            } else {
                match rows.next().now_or_never() {
                    Some(r) => r,
                    None => {
                        if tx.send(Ok(std::mem::take(&mut chunk))).await.is_err() {
                            return self;
                        }
                        continue;
                    }
                }
            };
            match next.map(|r| {
                r.map_err(|e| DbError::from_pg(context(), &e))
                    .and_then(|row| decode_row(&p, &row))
            }) {
                Some(Ok(cells)) => {
                    chunk.push(cells);
                    if chunk.len() >= CHUNK_ROWS
                        && tx.send(Ok(std::mem::take(&mut chunk))).await.is_err()
                    {
                        // The reader went away (task stopping, or it
                        // stopped at a gap): dropping the stream ends the
                        // query.
                        return self;
                    }
                }
                Some(Err(e)) => {
                    if !chunk.is_empty() && tx.send(Ok(std::mem::take(&mut chunk))).await.is_err() {
                        return self;
                    }
                    let _ = tx.send(Err(e)).await;
                    return self;
                }
                None => {
                    if !chunk.is_empty() {
                        let _ = tx.send(Ok(chunk)).await;
                    }
                    return self;
                }
            }
        }
    }
}

fn fixed_offset(zone: &DbZone) -> Option<String> {
    let n = zone.name();
    (n.starts_with('+') || n.starts_with('-')).then(|| n.to_string())
}

fn decode_row(p: &PgPrepared, row: &tokio_postgres::Row) -> RowResult {
    let mut cells = Vec::with_capacity(p.decoders.len());
    for (i, (dec, elem)) in p.decoders.iter().enumerate() {
        let raw: Raw<'_> = row
            .try_get(i)
            .map_err(|e| DbError::from_pg("reading a row", &e))?;
        let cell = match (raw.0, elem) {
            (None, _) => Ok(Cell::Null),
            (Some(bytes), Some(el)) => decode_array(*el, bytes, &p.zone),
            (Some(_), None) => decode(*dec, raw.0, &p.zone),
        }
        .map_err(|e| DbError::data(format!("column '{}': {e}", p.columns[i].name)))?;
        cells.push(cell);
    }
    Ok(cells)
}

/// The column kind and decoders for a PostgreSQL type.
fn kind_of(ty: &Type, typmod: i32) -> (ColumnKind, (Dec, Option<Dec>)) {
    if let Kind::Array(elem) = ty.kind() {
        let (ek, (ed, _)) = kind_of(elem, -1);
        return match (ek, ed) {
            (ColumnKind::Unsupported, _) | (ColumnKind::Array(_), _) => {
                (ColumnKind::Unsupported, (Dec::Skip, None))
            }
            (ek, ed) => (ColumnKind::Array(Box::new(ek)), (Dec::Skip, Some(ed))),
        };
    }
    if let Kind::Enum(_) = ty.kind() {
        return (ColumnKind::Text, (Dec::Text, None));
    }
    let (kind, dec) = match *ty {
        Type::BOOL => (ColumnKind::Bool, Dec::Bool),
        Type::INT2 => (ColumnKind::Int16, Dec::I16),
        Type::INT4 => (ColumnKind::Int32, Dec::I32),
        Type::INT8 => (ColumnKind::Int64, Dec::I64),
        Type::OID => (ColumnKind::Int64, Dec::Oid),
        Type::FLOAT4 => (ColumnKind::Float32, Dec::F32),
        Type::FLOAT8 => (ColumnKind::Float64, Dec::F64),
        Type::NUMERIC => {
            let (precision, scale) = if typmod >= 4 {
                let m = typmod - 4;
                (((m >> 16) & 0xffff) as u32, Some(m & 0xffff))
            } else {
                (0, None)
            };
            (ColumnKind::Numeric { precision, scale }, Dec::Numeric)
        }
        Type::TEXT
        | Type::VARCHAR
        | Type::BPCHAR
        | Type::NAME
        | Type::CHAR
        | Type::JSON
        | Type::XML => (ColumnKind::Text, Dec::Text),
        Type::JSONB => (ColumnKind::Text, Dec::Jsonb),
        Type::UUID => (ColumnKind::Text, Dec::Uuid),
        Type::BYTEA => (ColumnKind::Bytes, Dec::Bytes),
        Type::DATE => (ColumnKind::Date, Dec::Date),
        Type::TIME => (ColumnKind::Time, Dec::Time),
        Type::TIMETZ => (ColumnKind::Time, Dec::TimeTz),
        Type::TIMESTAMP => (ColumnKind::Timestamp, Dec::Timestamp),
        Type::TIMESTAMPTZ => (ColumnKind::Timestamp, Dec::TimestampTz),
        _ if ty.name() == "citext" => (ColumnKind::Text, Dec::Text),
        _ => (ColumnKind::Unsupported, Dec::Skip),
    };
    (kind, (dec, None))
}

/// Any column's raw binary value.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }
    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(None))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

fn take<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.get(..N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| format!("expected {N} bytes, got {}", b.len()))
}

fn decode(dec: Dec, raw: Option<&[u8]>, zone: &DbZone) -> Result<Cell, String> {
    let Some(b) = raw else {
        return Ok(Cell::Null);
    };
    Ok(match dec {
        Dec::Bool => Cell::Bool(take::<1>(b)?[0] != 0),
        Dec::I16 => Cell::Int(i64::from(i16::from_be_bytes(take(b)?))),
        Dec::I32 => Cell::Int(i64::from(i32::from_be_bytes(take(b)?))),
        Dec::I64 => Cell::Int(i64::from_be_bytes(take(b)?)),
        Dec::Oid => Cell::Int(i64::from(u32::from_be_bytes(take(b)?))),
        Dec::F32 => Cell::F32(f32::from_be_bytes(take(b)?)),
        Dec::F64 => Cell::F64(f64::from_be_bytes(take(b)?)),
        Dec::Numeric => Cell::Decimal(decode_numeric(b)?),
        Dec::Text => Cell::Text(utf8(b)?),
        Dec::Jsonb => match b.split_first() {
            Some((1, rest)) => Cell::Text(utf8(rest)?),
            _ => return Err("unsupported jsonb version".into()),
        },
        Dec::Uuid => {
            let u: [u8; 16] = take(b)?;
            let hex: String = u.iter().map(|x| format!("{x:02x}")).collect();
            Cell::Text(format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            ))
        }
        Dec::Bytes => Cell::Bytes(b.to_vec()),
        Dec::Date => {
            let d = i32::from_be_bytes(take(b)?);
            if d == i32::MAX || d == i32::MIN {
                return Err("infinite dates have no Connect value".into());
            }
            Cell::Date(d.checked_add(PG_EPOCH_DAYS).ok_or("date out of range")?)
        }
        Dec::Time => Cell::Time(i64::from_be_bytes(take(b)?)),
        Dec::TimeTz => {
            let us = i64::from_be_bytes(take(b)?);
            // Zone offset in seconds west of UTC.
            let west = i32::from_be_bytes(take(b.get(8..).unwrap_or_default())?);
            Cell::Time((us + i64::from(west) * 1_000_000).rem_euclid(MICROS_PER_DAY))
        }
        Dec::Timestamp | Dec::TimestampTz => {
            let us = i64::from_be_bytes(take(b)?);
            if us == i64::MAX || us == i64::MIN {
                return Err("infinite timestamps have no Connect value".into());
            }
            let epoch = us
                .checked_add(PG_EPOCH_MICROS)
                .ok_or("timestamp out of range")?;
            Cell::Timestamp(if dec == Dec::Timestamp {
                zone.wall_to_utc(epoch)
            } else {
                epoch
            })
        }
        Dec::Skip => Cell::Null,
    })
}

fn utf8(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "invalid UTF-8 text".to_string())
}

/// NUMERIC's binary form: ndigits, weight, sign, dscale, then base-10000
/// digits, most significant first.
fn decode_numeric(b: &[u8]) -> Result<Decimal, String> {
    let ndigits = i16::from_be_bytes(take(b)?);
    let weight = i16::from_be_bytes(take(&b[2..])?);
    let sign = u16::from_be_bytes(take(&b[4..])?);
    let dscale = u16::from_be_bytes(take(&b[6..])?);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN has no Connect Decimal value".into()),
        _ => return Err("infinity has no Connect Decimal value".into()),
    }
    let overflow = || "numeric value does not fit 38 digits".to_string();
    let digits = usize::try_from(ndigits).map_err(|_| "bad numeric".to_string())?;
    // Value = Σ d[i] · 10000^(weight − i); at scale dscale each digit adds
    // d[i] · 10^(4·(weight − i) + dscale). Digits past dscale are zero
    // (PostgreSQL prints at most dscale places), so a negative exponent
    // divides exactly.
    let mut unscaled: i128 = 0;
    for i in 0..digits {
        let d = i128::from(i16::from_be_bytes(take(
            b.get(8 + 2 * i..).unwrap_or_default(),
        )?));
        let exp = 4 * (i64::from(weight) - i as i64) + i64::from(dscale);
        let pow = |e: i64| u32::try_from(e).ok().and_then(|e| 10i128.checked_pow(e));
        let term = if exp >= 0 {
            pow(exp)
                .and_then(|p| d.checked_mul(p))
                .ok_or_else(overflow)?
        } else {
            pow(-exp).map_or(0, |p| d / p)
        };
        unscaled = unscaled.checked_add(term).ok_or_else(overflow)?;
    }
    if sign == 0x4000 {
        unscaled = -unscaled;
    }
    Ok(Decimal::new(unscaled, i32::from(dscale)))
}

/// A one-dimensional array of `el` elements; NULL elements kept.
fn decode_array(el: Dec, b: &[u8], zone: &DbZone) -> Result<Cell, String> {
    let ndim = i32::from_be_bytes(take(b)?);
    if ndim == 0 {
        return Ok(Cell::Array(Vec::new()));
    }
    if ndim != 1 {
        return Err(format!("{ndim}-dimensional arrays are not supported"));
    }
    let len = i32::from_be_bytes(take(&b[12..])?);
    let mut pos = 20; // ndim, flags, oid, len, lower bound
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    for _ in 0..len {
        let n = i32::from_be_bytes(take(b.get(pos..).unwrap_or_default())?);
        pos += 4;
        if n < 0 {
            out.push(Cell::Null);
            continue;
        }
        let n = usize::try_from(n).map_err(|_| "bad array element".to_string())?;
        let item = b.get(pos..pos + n).ok_or("truncated array")?;
        out.push(decode(el, Some(item), zone)?);
        pos += n;
    }
    Ok(Cell::Array(out))
}

/// A query parameter: `Int` binds to integer parameters, `Timestamp` to
/// `timestamptz` and to `timestamp` (as wall-clock time in db.timezone).
#[derive(Debug)]
struct PgParam(Param, DbZone);

impl ToSql for PgParam {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match (self.0, ty) {
            (Param::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Param::Int(i), &Type::INT4) => i32::try_from(i)?.to_sql(ty, out),
            (Param::Int(i), &Type::INT2) => i16::try_from(i)?.to_sql(ty, out),
            (Param::Timestamp(us), &Type::TIMESTAMPTZ) => {
                (us - PG_EPOCH_MICROS).to_sql(&Type::INT8, out)
            }
            (Param::Timestamp(us), &Type::TIMESTAMP) => {
                (self.1.utc_to_wall(us) - PG_EPOCH_MICROS).to_sql(&Type::INT8, out)
            }
            (Param::Timestamp(us), &Type::DATE) => {
                let days = i32::try_from(self.1.utc_to_wall(us).div_euclid(MICROS_PER_DAY))?
                    - PG_EPOCH_DAYS;
                days.to_sql(&Type::INT4, out)
            }
            (p, t) => Err(format!("cannot bind {p:?} to a {t} parameter").into()),
        }
    }
    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8 | Type::INT4 | Type::INT2 | Type::TIMESTAMPTZ | Type::TIMESTAMP | Type::DATE
        )
    }
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: i16, weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(ndigits.to_be_bytes());
        b.extend(weight.to_be_bytes());
        b.extend(sign.to_be_bytes());
        b.extend(dscale.to_be_bytes());
        for d in digits {
            b.extend(d.to_be_bytes());
        }
        b
    }

    #[test]
    fn numerics_decode_exactly() {
        // 12345.6789 = [1, 2345, 6789], weight 1, dscale 4
        let d = decode_numeric(&numeric(3, 1, 0, 4, &[1, 2345, 6789])).unwrap();
        assert_eq!(d, Decimal::new(123_456_789, 4));
        // -0.0005 = [5], weight -1, dscale 4
        let d = decode_numeric(&numeric(1, -1, 0x4000, 4, &[5])).unwrap();
        assert_eq!(d, Decimal::new(-5, 4));
        // 100000000 = [1], weight 2, dscale 0
        let d = decode_numeric(&numeric(1, 2, 0, 0, &[1])).unwrap();
        assert_eq!(d, Decimal::new(100_000_000, 0));
        // 1.50 with dscale 2: digits [1, 5000], weight 0
        let d = decode_numeric(&numeric(2, 0, 0, 2, &[1, 5000])).unwrap();
        assert_eq!(d, Decimal::new(150, 2));
        // zero
        let d = decode_numeric(&numeric(0, 0, 0, 3, &[])).unwrap();
        assert_eq!(d, Decimal::new(0, 3));
        assert!(decode_numeric(&numeric(0, 0, 0xC000, 0, &[])).is_err());
    }

    #[test]
    fn values_decode_from_binary() {
        let z = DbZone::utc();
        assert_eq!(
            decode(Dec::Date, Some(&0i32.to_be_bytes()), &z).unwrap(),
            Cell::Date(10_957)
        );
        assert_eq!(
            decode(Dec::TimestampTz, Some(&0i64.to_be_bytes()), &z).unwrap(),
            Cell::Timestamp(PG_EPOCH_MICROS)
        );
        let u = [
            0x12u8, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 1, 2, 3, 4, 5, 6, 7,
        ];
        assert_eq!(
            decode(Dec::Uuid, Some(&u), &z).unwrap(),
            Cell::Text("12345678-9abc-def0-0001-020304050607".into())
        );
        assert!(decode(Dec::I32, Some(&[1, 2]), &z).is_err());
        let mut arr = Vec::new();
        for x in [1i32, 0, 23, 2, 1] {
            arr.extend(x.to_be_bytes()); // ndim 1, has nulls 0, oid 23, len 2, lbound 1
        }
        arr.extend(4i32.to_be_bytes());
        arr.extend(7i32.to_be_bytes());
        arr.extend((-1i32).to_be_bytes());
        assert_eq!(
            decode_array(Dec::I32, &arr, &z).unwrap(),
            Cell::Array(vec![Cell::Int(7), Cell::Null])
        );
    }
}
