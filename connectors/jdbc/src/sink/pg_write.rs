//! PostgreSQL writes: COPY, straight into the table for `insert`, into a
//! temporary staging table and from there with one statement for
//! `upsert` (`INSERT ... ON CONFLICT DO UPDATE`), `update` and deletes.

use bytes::Bytes;
use futures::SinkExt;

use super::config::InsertMode;
use super::value::{PgColumnType, copy_text, sql_literal};
use super::writer::{Segment, WriteError, Writer, last_per_key};
use crate::db::pg::PgConn;
use crate::db::{DbColumn, DbError};
use crate::dialect::Dialect;

/// COPY data is sent in chunks of about this many bytes.
const CHUNK: usize = 256 * 1024;

pub(super) async fn write(
    w: &mut Writer,
    c: &mut PgConn,
    seg: &Segment,
    cols: &[DbColumn],
) -> Result<(), WriteError> {
    let d = Dialect::Postgres;
    let q = w.s.quoting;
    let table = seg.table.sql(d, q);
    let fields: Vec<&str> = if seg.delete {
        seg.meta.keys.iter().map(|f| f.name.as_str()).collect()
    } else {
        seg.meta.all().map(|f| f.name.as_str()).collect()
    };
    let col_types: Vec<PgColumnType> = fields
        .iter()
        .map(|f| {
            let ty = cols
                .iter()
                .find(|c| c.name == *f || c.name.eq_ignore_ascii_case(f))
                .map_or("", |c| c.type_name.as_str());
            if ty.starts_with("timestamp") && !ty.contains("with time zone") {
                PgColumnType::WallTimestamp
            } else {
                PgColumnType::Other
            }
        })
        .collect();
    let col_list = fields
        .iter()
        .map(|f| d.ident(f, q))
        .collect::<Vec<_>>()
        .join(",");
    let keys: Vec<String> = seg.meta.keys.iter().map(|k| d.ident(&k.name, q)).collect();
    let non_keys: Vec<String> = seg
        .meta
        .values
        .iter()
        .map(|f| d.ident(&f.name, q))
        .collect();

    if seg.rows.len() == 1 {
        // One row (the record-by-record path): a plain statement with
        // literals, no COPY, so a refused row leaves the session usable.
        let row = &seg.rows[0];
        let lit = |i: usize| {
            let mut out = String::new();
            sql_literal(
                &mut out,
                &row[i],
                col_types.get(i).copied().unwrap_or(PgColumnType::Other),
                w.zone(),
            );
            out
        };
        let nk = keys.len();
        let key_match = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} = {}", lit(i)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = if seg.delete {
            format!("DELETE FROM {table} WHERE {key_match}")
        } else {
            let values = (0..fields.len()).map(lit).collect::<Vec<_>>().join(",");
            match w.s.insert_mode {
                InsertMode::Insert => format!("INSERT INTO {table} ({col_list}) VALUES ({values})"),
                InsertMode::Upsert => format!(
                    "INSERT INTO {table} ({col_list}) VALUES ({values}){}",
                    on_conflict(&keys, &non_keys)
                ),
                InsertMode::Update => format!(
                    "UPDATE {table} SET {} WHERE {key_match}",
                    non_keys
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("{c} = {}", lit(nk + i)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        };
        run(c, &sql).await?;
        return Ok(());
    }
    if !seg.delete && w.s.insert_mode == InsertMode::Insert {
        let rows: Vec<&Vec<_>> = seg.rows.iter().collect();
        copy(
            c,
            &format!("COPY {table} ({col_list}) FROM STDIN"),
            &rows,
            &col_types,
            w,
        )
        .await?;
        return Ok(());
    }
    // Staging: a temporary table with the columns' types, emptied at commit.
    let stage = stage_for(w, c, &seg.table.unquoted(), &table, &col_list).await?;
    if !w.dirty_stages.insert(stage.clone()) {
        run(c, &format!("TRUNCATE {stage}")).await?;
    }
    let rows = last_per_key(seg);
    copy(
        c,
        &format!("COPY {stage} ({col_list}) FROM STDIN"),
        &rows,
        &col_types,
        w,
    )
    .await?;
    let on_keys = keys
        .iter()
        .map(|k| format!("t.{k} = s.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let sql = if seg.delete {
        format!("DELETE FROM {table} t USING {stage} s WHERE {on_keys}")
    } else {
        match w.s.insert_mode {
            InsertMode::Upsert => format!(
                "INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {stage}{}",
                on_conflict(&keys, &non_keys)
            ),
            InsertMode::Update => format!(
                "UPDATE {table} t SET {} FROM {stage} s WHERE {on_keys}",
                non_keys
                    .iter()
                    .map(|c| format!("{c} = s.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            // (Plain inserts COPY straight into the table above; through
            // the stage it would be this.)
            InsertMode::Insert => {
                format!("INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {stage}")
            }
        }
    };
    run(c, &sql).await?;
    Ok(())
}

/// Confluent's upsert clause: update the non-key columns, or nothing when
/// every column is a key.
fn on_conflict(keys: &[String], non_keys: &[String]) -> String {
    if non_keys.is_empty() {
        return format!(" ON CONFLICT ({}) DO NOTHING", keys.join(","));
    }
    let set: Vec<String> = non_keys
        .iter()
        .map(|c| format!("{c}=EXCLUDED.{c}"))
        .collect();
    format!(
        " ON CONFLICT ({}) DO UPDATE SET {}",
        keys.join(","),
        set.join(",")
    )
}

async fn run(c: &PgConn, sql: &str) -> Result<(), DbError> {
    c.client()
        .batch_execute(sql)
        .await
        .map_err(|e| DbError::from_pg(format!("running '{}'", short(sql)), &e))
}

fn short(sql: &str) -> &str {
    match sql.char_indices().nth(200) {
        Some((i, _)) => &sql[..i],
        None => sql,
    }
}

async fn stage_for(
    w: &mut Writer,
    c: &PgConn,
    key: &str,
    table: &str,
    col_list: &str,
) -> Result<String, DbError> {
    let id = format!("{key}|{col_list}");
    if let Some(name) = w.stages.get(&id) {
        return Ok(name.clone());
    }
    w.stage_seq += 1;
    let name = format!("\"sluice_stage_{}\"", w.stage_seq);
    run(
        c,
        &format!(
            "CREATE TEMP TABLE IF NOT EXISTS {name} ON COMMIT DELETE ROWS AS SELECT {col_list} FROM {table} WITH NO DATA"
        ),
    )
    .await?;
    w.stages.insert(id, name.clone());
    Ok(name)
}

async fn copy(
    c: &PgConn,
    sql: &str,
    rows: &[&Vec<super::value::SqlValue>],
    types: &[PgColumnType],
    w: &Writer,
) -> Result<(), DbError> {
    let context = || format!("running '{}'", short(sql));
    let sink = c
        .client()
        .copy_in::<_, Bytes>(sql)
        .await
        .map_err(|e| DbError::from_pg(context(), &e))?;
    futures::pin_mut!(sink);
    let zone = w.zone();
    let mut buf = String::with_capacity(CHUNK + 1024);
    for row in rows {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                buf.push('\t');
            }
            copy_text(
                &mut buf,
                v,
                types.get(i).copied().unwrap_or(PgColumnType::Other),
                zone,
            );
        }
        buf.push('\n');
        if buf.len() >= CHUNK {
            let chunk = Bytes::from(std::mem::replace(
                &mut buf,
                String::with_capacity(CHUNK + 1024),
            ));
            sink.send(chunk)
                .await
                .map_err(|e| DbError::from_pg(context(), &e))?;
        }
    }
    if !buf.is_empty() {
        sink.send(Bytes::from(buf))
            .await
            .map_err(|e| DbError::from_pg(context(), &e))?;
    }
    sink.as_mut()
        .finish()
        .await
        .map_err(|e| DbError::from_pg(context(), &e))?;
    Ok(())
}
