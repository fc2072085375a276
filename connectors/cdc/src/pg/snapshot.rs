//! The initial snapshot: every captured table read in one repeatable-read
//! transaction (on the slot's exported snapshot when the slot was just
//! made, so the stream goes on exactly where the snapshot ends), rows
//! streamed with `COPY ... TO STDOUT (FORMAT binary)` and sent as `r`
//! events.

use bytes::{Buf, BytesMut};
use futures::StreamExt;
use sluice_connect_api::SourceRecord;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use crate::envelope::{Op, now_micros};
use crate::error::CdcError;
use crate::pg::catalog::{self, TableName, quote};
use crate::pg::events::{Change, Settings, SourcePoint, emit};
use crate::pg::lsn::Lsn;
use crate::pg::offsets::snapshot_offset;
use crate::pg::table::Raw;

/// The records channel: batches, or the error that ended reading.
pub type Batches = mpsc::Sender<Result<Vec<SourceRecord>, CdcError>>;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Parses binary COPY data as it arrives.
#[derive(Debug, Default)]
struct CopyParser {
    buf: BytesMut,
    header_done: bool,
}

impl CopyParser {
    /// The next complete tuple (offsets of each value in `buf`), `None`
    /// when more data is needed; `Some(None)` at the trailer.
    #[allow(clippy::type_complexity)]
    fn next(
        &mut self,
    ) -> Result<Option<Option<(BytesMut, Vec<Option<(usize, usize)>>)>>, CdcError> {
        if !self.header_done {
            if self.buf.len() < SIGNATURE.len() + 8 {
                return Ok(None);
            }
            if &self.buf[..SIGNATURE.len()] != SIGNATURE {
                return Err(CdcError::Protocol("not binary COPY data".into()));
            }
            let ext = u32::from_be_bytes([self.buf[15], self.buf[16], self.buf[17], self.buf[18]])
                as usize;
            if self.buf.len() < 19 + ext {
                return Ok(None);
            }
            self.buf.advance(19 + ext);
            self.header_done = true;
        }
        if self.buf.len() < 2 {
            return Ok(None);
        }
        let n = i16::from_be_bytes([self.buf[0], self.buf[1]]);
        if n < 0 {
            return Ok(Some(None));
        }
        let mut pos = 2;
        let mut spans = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let Some(l) = self.buf.get(pos..pos + 4) else {
                return Ok(None);
            };
            let len = i32::from_be_bytes([l[0], l[1], l[2], l[3]]);
            pos += 4;
            if len < 0 {
                spans.push(None);
                continue;
            }
            let len = len as usize;
            if self.buf.len() < pos + len {
                return Ok(None);
            }
            spans.push(Some((pos, len)));
            pos += len;
        }
        Ok(Some(Some((self.buf.split_to(pos), spans))))
    }
}

/// What the snapshot needs to know.
#[derive(Debug)]
pub struct SnapshotPlan<'a> {
    pub tables: &'a [TableName],
    /// The slot's exported snapshot, when the slot was just created.
    pub exported: Option<&'a str>,
    /// The stream's start: the snapshot's offsets carry it.
    pub lsn: Lsn,
    /// `snapshot-rows-done` and `snapshot-rows-estimated` (the catalog's
    /// estimate), for the status and metrics.
    pub done: sluice_connect_api::TaskGauge,
    pub estimated: sluice_connect_api::TaskGauge,
}

/// Reads every table and sends its rows. Returns the number of rows.
pub async fn run(
    client: &Client,
    s: &Settings,
    plan: SnapshotPlan<'_>,
    tx: &Batches,
) -> Result<u64, CdcError> {
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    if let Some(name) = plan.exported {
        client
            .batch_execute(&format!(
                "SET TRANSACTION SNAPSHOT {}",
                catalog::literal(name)
            ))
            .await?;
    }
    let xid: i64 = client
        .query_one(
            "SELECT txid_snapshot_xmin(txid_current_snapshot())::int8",
            &[],
        )
        .await?
        .get(0);
    let started: i64 = client
        .query_one(
            "SELECT (extract(epoch FROM current_timestamp) * 1000000)::int8",
            &[],
        )
        .await
        .map(|r| r.get(0))
        .unwrap_or_else(|_| now_micros());
    let oids: Vec<i64> = plan.tables.iter().map(|t| i64::from(t.oid)).collect();
    let estimate: i64 = client
        .query_one(
            "SELECT coalesce(sum(greatest(reltuples, 0)), 0)::int8 FROM pg_class WHERE oid::int8 = ANY($1)",
            &[&oids],
        )
        .await?
        .get(0);
    plan.estimated.set(estimate);
    plan.done.set(0);
    let mut tables = Vec::new();
    for t in plan.tables {
        let cols = catalog::describe(client, t.oid).await?;
        tables.push((t, s.table(&t.schema, &t.name, &cols)));
    }
    tracing::info!(
        tables = tables.len(),
        exported = plan.exported.is_some(),
        lsn = %plan.lsn,
        "snapshot starting"
    );
    let mut out: Vec<SourceRecord> = Vec::with_capacity(s.max_batch);
    // One row is held back so the last one can say it is last.
    let mut held: Option<(usize, &'static str, Vec<SourceRecord>)> = None;
    let mut row_no: u64 = 0;
    let total = tables.len();
    for (ti, (name, info)) in tables.iter().enumerate() {
        let cols: Vec<String> = info.column_names().map(quote).collect();
        if cols.is_empty() {
            continue;
        }
        let sql = format!(
            "COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)",
            cols.join(", "),
            name.quoted()
        );
        let stream = client.copy_out(&sql).await?;
        futures::pin_mut!(stream);
        let mut parser = CopyParser::default();
        let mut first_in_table = true;
        loop {
            let tuple = match parser.next()? {
                Some(Some(t)) => t,
                Some(None) => break,
                None => match stream.next().await {
                    Some(chunk) => {
                        parser.buf.extend_from_slice(&chunk?);
                        continue;
                    }
                    None => break,
                },
            };
            let (data, spans) = tuple;
            let raw: Vec<Raw<'_>> = spans
                .iter()
                .map(|s| match s {
                    None => Raw::Null,
                    Some((p, l)) => Raw::Bytes(&data[*p..*p + *l]),
                })
                .collect();
            // Flush the held row: it is not the last.
            if let Some((_, _, recs)) = held.take() {
                out.extend(recs);
                if out.len() >= s.max_batch {
                    send(tx, &mut out).await?;
                }
            }
            row_no += 1;
            if row_no.is_multiple_of(1024) {
                plan.done.set(i64::try_from(row_no).unwrap_or(i64::MAX));
            }
            let marker = if ti == 0 && first_in_table {
                "first"
            } else if first_in_table {
                "first_in_data_collection"
            } else {
                "true"
            };
            first_in_table = false;
            let mut recs = Vec::with_capacity(1);
            let offset = snapshot_offset(plan.lsn, xid, started, false, row_no);
            let point = SourcePoint {
                ts_us: started,
                snapshot: marker,
                xid: Some(xid),
                lsn: Some(plan.lsn.0),
                sequence: Some((None, plan.lsn.0)),
            };
            emit(
                s,
                info,
                Change::Row {
                    op: Op::Read,
                    new: &raw,
                },
                point,
                &offset,
                &mut recs,
            )
            .map_err(CdcError::Data)?;
            held = Some((ti, marker, recs));
        }
        // The table's last row says so (unless it is the very last).
        if let Some((hti, marker, recs)) = held.as_mut()
            && *hti == ti
            && ti + 1 < total
            && *marker != "first"
        {
            *marker = "last_in_data_collection";
            mark(recs, marker, None);
        }
    }
    if let Some((_, _, mut recs)) = held.take() {
        let offset = snapshot_offset(plan.lsn, xid, started, true, row_no);
        mark(&mut recs, "last", Some(offset));
        out.extend(recs);
    }
    send(tx, &mut out).await?;
    plan.done.set(i64::try_from(row_no).unwrap_or(i64::MAX));
    client.batch_execute("COMMIT").await?;
    tracing::info!(rows = row_no, "snapshot done");
    Ok(row_no)
}

/// Sets `source.snapshot` (and the offset) of held records.
fn mark(recs: &mut [SourceRecord], marker: &str, offset: Option<sluice_connect_api::SourceOffset>) {
    for r in recs {
        if let sluice_connect_api::schema::Value::Struct(env) = &mut r.value
            && let Some(sluice_connect_api::schema::Value::Struct(src)) = env.get("source").cloned()
        {
            let mut src = src;
            let _ = src.set(
                "snapshot",
                sluice_connect_api::schema::Value::String(marker.into()),
            );
            let _ = env.set("source", sluice_connect_api::schema::Value::Struct(src));
        }
        if let Some(o) = &offset {
            r.source_offset = o.clone();
        }
    }
}

async fn send(tx: &Batches, out: &mut Vec<SourceRecord>) -> Result<(), CdcError> {
    if out.is_empty() {
        return Ok(());
    }
    let batch = std::mem::take(out);
    tx.send(Ok(batch))
        .await
        .map_err(|_| CdcError::Io("the task stopped".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    #[test]
    fn copy_data_parses_across_chunks() {
        let mut all = BytesMut::new();
        all.put_slice(SIGNATURE);
        all.put_u32(0);
        all.put_u32(0);
        all.put_i16(2);
        all.put_i32(4);
        all.put_i32(42);
        all.put_i32(-1);
        all.put_i16(-1);
        let mut p = CopyParser::default();
        let mut tuples = 0;
        let mut done = false;
        for byte in all.iter() {
            p.buf.put_u8(*byte);
            while let Some(t) = p.next().unwrap() {
                match t {
                    Some((data, spans)) => {
                        tuples += 1;
                        let (pos, len) = spans[0].unwrap();
                        assert_eq!(&data[pos..pos + len], &42i32.to_be_bytes());
                        assert!(spans[1].is_none());
                    }
                    None => {
                        done = true;
                        break;
                    }
                }
            }
            if done {
                break;
            }
        }
        assert_eq!(tuples, 1);
        assert!(done);
        let mut bad = CopyParser::default();
        bad.buf.put_slice(b"NOTCOPY.........................");
        assert!(bad.next().is_err());
    }
}
