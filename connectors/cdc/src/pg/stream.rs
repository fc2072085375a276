//! The replication stream: pgoutput messages in, Debezium records out, and
//! the slot's confirmed position moved only to what Kafka acknowledged.
//!
//! Confirming: each committed transaction leaves a `(position of its last
//! record, end LSN)` entry; when Kafka acknowledges a record at or past
//! that position the end LSN may be confirmed. When everything sent was
//! acknowledged and no transaction is open, a keepalive's WAL position may
//! be confirmed too, so an idle or filtered database frees its WAL.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_connect_api::SourceRecord;
use sluice_connect_api::schema::Value;
use tokio::sync::{mpsc, watch};
use tokio_postgres::Client;

use crate::envelope::Op;
use crate::error::CdcError;
use crate::pg::catalog::{self, ColDesc};
use crate::pg::decode::PgType;
use crate::pg::events::{self, Change, Settings, SourcePoint};
use crate::pg::incremental::{self, Incremental};
use crate::pg::lsn::Lsn;
use crate::pg::offsets::{self, Pos};
use crate::pg::pgoutput::{self, Datum, Message, Relation};
use crate::pg::snapshot::Batches;
use crate::pg::table::{Raw, TableInfo};
use crate::pg::wire::{PG_EPOCH_UNIX_MICROS, ReplConn, ReplMsg, parse_copy_data};

/// The stream's settings beyond the events'.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// `signal.data.collection` as (schema, table), for incremental
    /// snapshots.
    pub signal_table: Option<(String, String)>,
    pub chunk_size: usize,
    pub status_interval: Duration,
    pub heartbeat_interval: Duration,
    pub heartbeat_query: String,
}

#[derive(Debug)]
struct Txn {
    xid: u32,
    commit: Lsn,
    /// µs since the epoch.
    ts_us: i64,
}

pub struct Streamer {
    pub conn: ReplConn,
    pub client: Client,
    pub settings: Arc<Settings>,
    pub opts: StreamOptions,
    pub tx: Batches,
    pub acks: mpsc::UnboundedReceiver<Pos>,
    pub stop: watch::Receiver<bool>,
    /// Events of the transaction committing at `.0` up to `.1` were sent
    /// before a restart.
    pub skip: Option<(Lsn, Lsn, u64)>,
    /// The slot's confirmed position at start.
    pub confirmed: Lsn,
    /// An incremental snapshot the stored offset says was under way.
    pub resume_incremental: Option<offsets::IncProgress>,
    /// The last snapshot record's position, if a snapshot just ran.
    pub last_emitted: Option<Pos>,
    /// `replication-slot-lag-bytes`: the server's WAL end minus the
    /// confirmed position.
    pub lag: sluice_connect_api::TaskGauge,
    /// `incremental-snapshot-rows-done` / `-estimated`.
    pub inc_done: sluice_connect_api::TaskGauge,
    pub inc_estimated: sluice_connect_api::TaskGauge,
}

impl std::fmt::Debug for Streamer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamer")
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}

struct State {
    tables: HashMap<u32, Option<TableInfo>>,
    txn: Option<Txn>,
    last_commit: Option<Lsn>,
    batch: Vec<SourceRecord>,
    /// (position the transaction's records end at, its end LSN).
    pending: VecDeque<(Option<Pos>, Lsn)>,
    last_emitted: Option<Pos>,
    acked: Option<Pos>,
    target: Lsn,
    keepalive: Lsn,
    /// The server's WAL end as last reported.
    server_end: Lsn,
    tx: TxMeta,
    /// The signal table's relation id, once described.
    signal_rel: Option<u32>,
    /// The LSN of the last change message in the open transaction and how
    /// many change messages carried it.
    lsn_run: (Lsn, u64),
    /// The end of the last commit.
    last_end: Lsn,
    incremental: Incremental,
}

/// Transaction metadata of the open transaction.
#[derive(Debug, Default)]
struct TxMeta {
    begun: bool,
    total: i64,
    /// Events per `schema.table`, in first-seen order.
    per_table: Vec<(String, i64)>,
}

/// Pops the transactions whose records were all acknowledged.
fn settle(st: &mut State) {
    while let Some((key, end)) = st.pending.front().copied() {
        if key.is_none_or(|k| st.acked.is_some_and(|a| k <= a)) {
            st.target = st.target.max(end);
            st.pending.pop_front();
        } else {
            break;
        }
    }
}

fn raw_of<'a>(t: &TableInfo, d: &'a [Datum]) -> Result<Vec<Raw<'a>>, CdcError> {
    if d.len() != t.column_count() {
        return Err(CdcError::Data(format!(
            "table '{}.{}': the stream sent {} columns, the table has {}",
            t.schema,
            t.name,
            d.len(),
            t.column_count()
        )));
    }
    d.iter()
        .map(|x| match x {
            Datum::Null => Ok(Raw::Null),
            Datum::Unchanged => Ok(Raw::Unchanged),
            Datum::Binary(b) => Ok(Raw::Bytes(b)),
            Datum::Text(b) => Ok(Raw::Text(b)),
        })
        .collect()
}

impl Streamer {
    /// Runs until stopped or failed.
    pub async fn run(mut self) -> Result<(), CdcError> {
        let mut st = State {
            tables: HashMap::new(),
            txn: None,
            last_commit: None,
            batch: Vec::new(),
            pending: VecDeque::new(),
            last_emitted: self.last_emitted,
            acked: None,
            target: self.confirmed,
            keepalive: Lsn(0),
            server_end: Lsn(0),
            tx: TxMeta::default(),
            signal_rel: None,
            lsn_run: (Lsn(0), 0),
            last_end: Lsn(0),
            incremental: Incremental::default(),
        };
        if let Some(p) = self.resume_incremental.take() {
            st.incremental.restore(p);
        }
        let tick = self.opts.status_interval.min(Duration::from_millis(200));
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_status = Instant::now();
        let mut last_heartbeat = Instant::now();
        loop {
            tokio::select! {
                biased;
                _ = self.stop.changed() => break,
                ack = self.acks.recv() => {
                    let Some(pos) = ack else { break };
                    self.on_ack(&mut st, pos);
                }
                _ = ticker.tick() => {
                    let due = last_status.elapsed() >= self.opts.status_interval;
                    if st.target > self.confirmed || due {
                        self.confirm(&mut st, false).await?;
                        last_status = Instant::now();
                    }
                    self.incremental_step(&mut st).await?;
                    if !self.opts.heartbeat_interval.is_zero()
                        && last_heartbeat.elapsed() >= self.opts.heartbeat_interval
                    {
                        last_heartbeat = Instant::now();
                        self.heartbeat(&mut st).await?;
                    }
                }
                msg = self.conn.reader.next() => {
                    let msg = msg?;
                    match msg.tag {
                        b'd' => match parse_copy_data(msg.body)? {
                            ReplMsg::XLogData { start, end, data } => {
                                st.server_end = st.server_end.max(end);
                                self.on_message(&mut st, start, pgoutput::parse(data)?).await?;
                            }
                            ReplMsg::Keepalive { end, reply } => {
                                st.keepalive = st.keepalive.max(end);
                                st.server_end = st.server_end.max(end);
                                self.idle_confirm(&mut st);
                                if reply {
                                    self.confirm(&mut st, false).await?;
                                    last_status = Instant::now();
                                }
                            }
                        },
                        b'E' => {
                            return Err(CdcError::Server(crate::pg::wire::parse_error(&msg.body)));
                        }
                        b'c' => return Err(CdcError::Io("the server ended the replication stream".into())),
                        _ => {}
                    }
                }
            }
        }
        // A last word on what is confirmed, then goodbye.
        let _ = self.confirm(&mut st, false).await;
        let _ = self.conn.writer.copy_done().await;
        Ok(())
    }

    fn on_ack(&mut self, st: &mut State, pos: Pos) {
        if st.acked.is_none_or(|a| pos > a) {
            st.acked = Some(pos);
        }
        settle(st);
        self.idle_confirm(st);
    }

    /// Everything sent is acknowledged and no transaction is open: the
    /// server's WAL position up to the last keepalive is safe.
    fn idle_confirm(&self, st: &mut State) {
        let all_acked = st
            .last_emitted
            .is_none_or(|l| st.acked.is_some_and(|a| a >= l));
        if st.txn.is_none() && st.pending.is_empty() && st.batch.is_empty() && all_acked {
            st.target = st.target.max(st.keepalive);
        }
    }

    async fn confirm(&mut self, st: &mut State, reply: bool) -> Result<(), CdcError> {
        if st.target > self.confirmed {
            self.confirmed = st.target;
        }
        let lag = st.server_end.0.saturating_sub(self.confirmed.0);
        self.lag.set(i64::try_from(lag).unwrap_or(i64::MAX));
        self.conn.writer.standby_status(self.confirmed, reply).await
    }

    async fn heartbeat(&mut self, st: &mut State) -> Result<(), CdcError> {
        if !self.opts.heartbeat_query.trim().is_empty()
            && let Err(e) = self.client.batch_execute(&self.opts.heartbeat_query).await
        {
            tracing::warn!("heartbeat.action.query failed: {e}");
        }
        if st.txn.is_some() {
            return Ok(());
        }
        // The position everything before which is in the pipeline.
        let pos = st.keepalive.max(st.last_end);
        if pos.0 == 0 {
            return Ok(());
        }
        let rec = events::heartbeat(
            &self.settings,
            offsets::heartbeat_offset(
                pos,
                crate::envelope::now_micros(),
                st.incremental.progress().as_ref(),
            ),
        );
        let key: Pos = (pos.0, 0, 0);
        if st.last_emitted.is_none_or(|l| key > l) {
            st.last_emitted = Some(key);
            st.pending.push_back((Some(key), pos));
        }
        st.batch.push(rec);
        self.flush(st).await
    }

    async fn flush(&mut self, st: &mut State) -> Result<(), CdcError> {
        if st.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut st.batch);
        // Keep the server's timeout at bay while Kafka is slow.
        loop {
            tokio::select! {
                permit = self.tx.reserve() => {
                    let permit = permit.map_err(|_| CdcError::Io("the task stopped".into()))?;
                    permit.send(Ok(batch));
                    return Ok(());
                }
                _ = tokio::time::sleep(Duration::from_secs(5)) => {
                    self.conn.writer.standby_status(self.confirmed, false).await?;
                }
            }
        }
    }

    /// Reads the next incremental snapshot chunk, if one is due.
    async fn incremental_step(&mut self, st: &mut State) -> Result<(), CdcError> {
        if !st.incremental.active() {
            return Ok(());
        }
        let Some((schema, table)) = &self.opts.signal_table else {
            return Ok(());
        };
        let quoted = format!("{}.{}", catalog::quote(schema), catalog::quote(table));
        let cx = incremental::Ctx {
            client: &self.client,
            settings: &self.settings,
            signal_table: &quoted,
            chunk_size: self.opts.chunk_size,
            done: &self.inc_done,
            estimated: &self.inc_estimated,
        };
        st.incremental.step(&cx).await
    }

    async fn relation(&mut self, st: &mut State, rel: Relation) -> Result<(), CdcError> {
        let is_signal = self
            .opts
            .signal_table
            .as_ref()
            .is_some_and(|(s, t)| *s == rel.schema && *t == rel.name);
        if is_signal {
            st.signal_rel = Some(rel.id);
        }
        if !is_signal && !self.settings.filters.table(&rel.schema, &rel.name) {
            st.tables.insert(rel.id, None);
            return Ok(());
        }
        let cat = catalog::describe(&self.client, rel.id).await?;
        // The stream's columns, described by the catalog where it agrees.
        let cols: Vec<ColDesc> = rel
            .columns
            .iter()
            .map(|rc| {
                cat.iter()
                    .find(|c| c.name == rc.name)
                    .cloned()
                    .unwrap_or_else(|| ColDesc {
                        name: rc.name.clone(),
                        ty: PgType {
                            oid: rc.type_oid,
                            typmod: rc.typmod,
                            name: format!("oid {}", rc.type_oid),
                            enum_labels: None,
                            element: None,
                        },
                        not_null: false,
                        pk_pos: None,
                    })
            })
            .collect();
        let t = self.settings.table(&rel.schema, &rel.name, &cols);
        st.tables.insert(rel.id, Some(t));
        Ok(())
    }

    async fn on_message(&mut self, st: &mut State, lsn: Lsn, m: Message) -> Result<(), CdcError> {
        match m {
            Message::Begin {
                final_lsn,
                commit_ts,
                xid,
            } => {
                st.txn = Some(Txn {
                    xid,
                    commit: final_lsn,
                    ts_us: commit_ts + PG_EPOCH_UNIX_MICROS,
                });
                st.tx = TxMeta::default();
                st.lsn_run = (Lsn(0), 0);
            }
            Message::Commit {
                commit_lsn,
                end_lsn,
                ..
            } => {
                if let (Some(topic), Some(txn)) = (&self.settings.tx_topic, &st.txn)
                    && st.tx.begun
                {
                    let id = format!("{}:{}", txn.xid, commit_lsn.0);
                    // After every event of the transaction: its own place,
                    // at the commit's end.
                    let offset = offsets::stream_offset_with(
                        txn.commit,
                        (end_lsn, 1),
                        txn.xid,
                        txn.ts_us,
                        "COMMIT",
                        st.incremental.progress().as_ref(),
                    );
                    st.last_emitted = Some((txn.commit.0, end_lsn.0, 1));
                    let r = events::transaction_record(
                        &self.settings,
                        topic,
                        &id,
                        txn.ts_us / 1000,
                        Some(&st.tx.per_table),
                        offset,
                    );
                    st.batch.push(r);
                }
                st.txn = None;
                st.last_commit = Some(commit_lsn);
                st.last_end = end_lsn;
                st.pending.push_back((st.last_emitted, end_lsn));
                self.flush(st).await?;
                // A transaction without records may be settled already.
                settle(st);
                self.incremental_step(st).await?;
            }
            Message::Relation(rel) => self.relation(st, rel).await?,
            Message::Insert { rel, new } => {
                self.change(st, lsn, rel, "INSERT", &Tuples::Insert(new))
                    .await?;
            }
            Message::Update { rel, old, new } => {
                self.change(st, lsn, rel, "UPDATE", &Tuples::Update(old, new))
                    .await?;
            }
            Message::Delete { rel, old } => {
                self.change(st, lsn, rel, "DELETE", &Tuples::Delete(old.1))
                    .await?;
            }
            Message::Truncate { rels, .. } => {
                for rel in rels {
                    self.change(st, lsn, rel, "TRUNCATE", &Tuples::Truncate)
                        .await?;
                }
            }
            Message::Other(_) => {}
        }
        Ok(())
    }

    async fn change(
        &mut self,
        st: &mut State,
        lsn: Lsn,
        rel: u32,
        kind: &'static str,
        tuples: &Tuples,
    ) -> Result<(), CdcError> {
        let Some(txn) = &st.txn else {
            return Err(CdcError::Protocol(format!(
                "a {kind} outside a transaction"
            )));
        };
        // One WAL record can carry many changes (a multi-row insert, COPY,
        // a TRUNCATE of several tables): they are told apart by their index.
        let idx = if st.lsn_run.0 == lsn {
            st.lsn_run.1 + 1
        } else {
            1
        };
        st.lsn_run = (lsn, idx);
        if let Some((c, l, n)) = self.skip {
            if txn.commit < c || (txn.commit == c && (lsn < l || (lsn == l && idx <= n))) {
                return Ok(());
            }
            self.skip = None;
        }
        if st.signal_rel == Some(rel) {
            return self.signal(st, (lsn, idx), rel, tuples);
        }
        let t = match st.tables.get(&rel) {
            Some(Some(t)) => t,
            Some(None) => return Ok(()),
            None => {
                return Err(CdcError::Protocol(format!(
                    "a change of relation {rel}, which the stream never described"
                )));
            }
        };
        let progress = st.incremental.progress();
        let offset = offsets::stream_offset_with(
            txn.commit,
            (lsn, idx),
            txn.xid,
            txn.ts_us,
            kind,
            progress.as_ref(),
        );
        let point = SourcePoint {
            ts_us: txn.ts_us,
            snapshot: "false",
            xid: Some(i64::from(txn.xid)),
            lsn: Some(lsn.0),
            sequence: Some((st.last_commit.map(|l| l.0), lsn.0)),
        };
        let before = st.batch.len();
        // Keys this change touches, for an incremental snapshot's window
        // (whether or not the change becomes a record).
        let watching = st.incremental.active();
        let mut touched: Vec<Value> = Vec::new();
        let mut truncated = false;
        let mut touch = |raw: &[Raw<'_>]| {
            if watching && let Ok(k) = t.key(raw) {
                touched.push(k);
            }
        };
        let r = match tuples {
            Tuples::Insert(new) => {
                let new = raw_of(t, new)?;
                touch(&new);
                events::emit(
                    &self.settings,
                    t,
                    Change::Row {
                        op: Op::Create,
                        new: &new,
                    },
                    point,
                    &offset,
                    &mut st.batch,
                )
            }
            Tuples::Update(old, new) => {
                let new = raw_of(t, new)?;
                let old_raw = match old {
                    Some((_, o)) => Some(raw_of(t, o)?),
                    None => None,
                };
                touch(&new);
                if let Some(o) = &old_raw {
                    touch(o);
                }
                let full = matches!(old, Some((b'O', _)));
                let change = Change::Update {
                    old: old_raw.as_deref().map(|o| (full, o)),
                    new: &new,
                };
                events::emit(&self.settings, t, change, point, &offset, &mut st.batch)
            }
            Tuples::Delete(old) => {
                let old = raw_of(t, old)?;
                touch(&old);
                events::emit(
                    &self.settings,
                    t,
                    Change::Delete { old: &old },
                    point,
                    &offset,
                    &mut st.batch,
                )
            }
            Tuples::Truncate => {
                truncated = true;
                events::emit(
                    &self.settings,
                    t,
                    Change::Truncate,
                    point,
                    &offset,
                    &mut st.batch,
                )
            }
        };
        r.map_err(CdcError::Data)?;
        if watching {
            if truncated {
                st.incremental.on_truncate(&t.qualified);
            }
            for k in &touched {
                st.incremental.on_change(&t.qualified, k);
            }
        }
        if st.batch.len() > before {
            st.last_emitted = Some((txn.commit.0, lsn.0, idx));
            if let Some(topic) = &self.settings.tx_topic {
                let id = format!("{}:{}", txn.xid, lsn.0);
                if !st.tx.begun {
                    st.tx.begun = true;
                    let begin = events::transaction_record(
                        &self.settings,
                        topic,
                        &id,
                        txn.ts_us / 1000,
                        None,
                        offset.clone(),
                    );
                    st.batch.insert(before, begin);
                }
                let name = &t.qualified;
                for r in st.batch[before..].iter_mut().filter(|r| {
                    !r.value.is_null() && !std::ptr::eq(r.topic.as_ref(), topic.as_ref())
                }) {
                    st.tx.total += 1;
                    let n = match st.tx.per_table.iter_mut().find(|(k, _)| k == name) {
                        Some((_, n)) => {
                            *n += 1;
                            *n
                        }
                        None => {
                            st.tx.per_table.push((name.clone(), 1));
                            1
                        }
                    };
                    events::set_transaction(r, &id, st.tx.total, n);
                }
            }
        }
        if st.batch.len() >= self.settings.max_batch {
            self.flush(st).await?;
        }
        Ok(())
    }
}

impl Streamer {
    /// A change of the signal table: a signal, or a window mark.
    fn signal(
        &mut self,
        st: &mut State,
        (lsn, idx): (Lsn, u64),
        rel: u32,
        tuples: &Tuples,
    ) -> Result<(), CdcError> {
        let (Tuples::Insert(new), Some(Some(t)), Some(txn)) =
            (tuples, st.tables.get(&rel), &st.txn)
        else {
            return Ok(());
        };
        let raw = raw_of(t, new)?;
        let row = t.row(&raw, None, true).map_err(CdcError::Data)?;
        let field = |name: &str| match &row {
            sluice_connect_api::schema::Value::Struct(s) => s
                .get(name)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
            _ => String::new(),
        };
        let signal = incremental::Signal {
            id: field("id"),
            kind: field("type"),
            data: field("data"),
        };
        let released = match st.incremental.on_signal(&signal) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(signal = %signal.id, "signal refused: {e}");
                return Ok(());
            }
        };
        if released.is_empty() {
            return Ok(());
        }
        // The released rows carry the close mark's position: everything
        // before it was sent, so a restart goes on from there.
        let offset = offsets::stream_offset_with(
            txn.commit,
            (lsn, idx),
            txn.xid,
            txn.ts_us,
            "INSERT",
            st.incremental.progress().as_ref(),
        );
        for mut r in released {
            r.source_offset = offset.clone();
            st.batch.push(r);
        }
        st.last_emitted = Some((txn.commit.0, lsn.0, idx));
        Ok(())
    }
}

/// The tuples of one change message.
#[derive(Debug)]
enum Tuples {
    Insert(Vec<Datum>),
    Update(Option<(u8, Vec<Datum>)>, Vec<Datum>),
    Delete(Vec<Datum>),
    Truncate,
}

/// `START_REPLICATION` for pgoutput with binary values.
pub fn start_sql(slot: &str, publication: &str, from: Lsn) -> String {
    format!(
        "START_REPLICATION SLOT {} LOGICAL {from} (\"proto_version\" '1', \"publication_names\" {}, \"binary\" 'true')",
        catalog::quote(slot),
        catalog::literal(&catalog::quote(publication)),
    )
}
