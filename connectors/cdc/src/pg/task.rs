//! The PostgreSQL CDC task: checks the slot and publication, decides on a
//! snapshot from the stored offset and `snapshot.mode`, then reads on a
//! background task (snapshot, then stream) that hands batches to `poll`
//! and hears Kafka's acknowledgements.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sluice_connect_api::config::ConnectorConfig;
use sluice_connect_api::{
    Config, ConnectError, ConnectResult, SourceAcknowledger, SourceOffset, SourcePartition,
    SourceRecord, SourceTask, SourceTaskContext,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_postgres::Client;

use crate::error::CdcError;
use crate::pg::catalog::{self, quote};
use crate::pg::config::{PgCdcConfig, SnapshotMode, skipped_ops};
use crate::pg::events::Settings;
use crate::pg::lsn::Lsn;
use crate::pg::offsets::{Pos, Stored, ack_pos, parse_incremental, parse_stored};
use crate::pg::snapshot::{self, SnapshotPlan};
use crate::pg::stream::{StreamOptions, Streamer, start_sql};
use crate::pg::wire::{ConnInfo, ReplConn};

type Batch = Result<Vec<SourceRecord>, CdcError>;

/// Hands Kafka's acknowledgements to the stream.
#[derive(Debug)]
struct Acker(mpsc::UnboundedSender<Pos>);

impl SourceAcknowledger for Acker {
    fn commit_offsets(&self, acknowledged: &[(SourcePartition, SourceOffset)]) {
        for (_, o) in acknowledged {
            if let Some(p) = ack_pos(o) {
                let _ = self.0.send(p);
            }
        }
    }
}

#[derive(Debug)]
struct Running {
    rx: mpsc::Receiver<Batch>,
    acker: Arc<Acker>,
    stop: watch::Sender<bool>,
    worker: JoinHandle<()>,
    poll_interval: Duration,
    max_batch: usize,
    failed: Option<CdcError>,
    info: ConnInfo,
    slot: String,
    drop_slot: bool,
}

#[derive(Debug, Default)]
pub struct PgCdcTask {
    run: Option<Running>,
}

fn fatal(e: impl std::fmt::Display) -> ConnectError {
    ConnectError::fatal(e.to_string())
}

/// A plain connection for the catalog and the snapshot.
pub async fn connect_client(info: &ConnInfo) -> Result<Client, CdcError> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&info.host)
        .port(info.port)
        .user(&info.user)
        .dbname(&info.dbname)
        .application_name("sluice-cdc")
        .connect_timeout(Duration::from_secs(10));
    if let Some(p) = &info.password {
        cfg.password(p);
    }
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(|e| {
        CdcError::Connect(format!(
            "cannot connect to PostgreSQL at {}:{} as '{}' (database '{}'): {e}",
            info.host, info.port, info.user, info.dbname
        ))
    })?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("PostgreSQL connection ended: {e}");
        }
    });
    Ok(client)
}

/// What `start` found and decided.
struct Plan {
    snapshot: bool,
    exported: Option<String>,
    start: Lsn,
    skip: Option<(Lsn, Lsn, u64)>,
    tables: Vec<catalog::TableName>,
}

async fn prepare(
    c: &PgCdcConfig,
    s: &Settings,
    client: &Client,
    conn: &mut ReplConn,
    stored: Option<Stored>,
) -> Result<Plan, CdcError> {
    let wal_level: String = client.query_one("SHOW wal_level", &[]).await?.get(0);
    if wal_level != "logical" {
        return Err(CdcError::Setup(format!(
            "PostgreSQL has wal_level={wal_level}; change data capture needs logical: run ALTER SYSTEM SET wal_level = logical and restart the server"
        )));
    }
    let slot = catalog::slot(client, &c.slot_name).await?;
    if let Some(info) = &slot {
        if info.plugin.as_deref() != Some("pgoutput") {
            return Err(CdcError::Setup(format!(
                "replication slot '{}' uses plugin {:?}, not pgoutput: drop it (SELECT pg_drop_replication_slot('{}')) or set slot.name",
                c.slot_name, info.plugin, c.slot_name
            )));
        }
        if info.database.as_deref() != Some(c.dbname.as_str()) {
            return Err(CdcError::Setup(format!(
                "replication slot '{}' belongs to database {:?}, not '{}': set slot.name to a slot of this database",
                c.slot_name, info.database, c.dbname
            )));
        }
        if let Some(pid) = info.active_pid {
            return Err(CdcError::Setup(format!(
                "replication slot '{}' is in use by another consumer (server PID {pid}): stop it, or give this connector its own slot.name",
                c.slot_name
            )));
        }
    }
    let tables = catalog::list_tables(client, &s.filters).await?;
    let mut published = tables.clone();
    if let Some((schema, table)) = c.signal_table() {
        let exists = client
            .query_opt(
                "SELECT c.oid::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                &[&schema, &table],
            )
            .await?;
        match exists {
            Some(r) => {
                let oid: i64 = r.get(0);
                if !published.iter().any(|t| t.oid == oid as u32) {
                    published.push(catalog::TableName {
                        oid: oid as u32,
                        schema,
                        name: table,
                    });
                }
            }
            None => tracing::warn!(
                "signal.data.collection names {schema}.{table}, which does not exist: create it (id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048)) to send signals"
            ),
        }
    }
    catalog::ensure_publication(client, &c.publication_name, c.autocreate, &published).await?;
    let has_offset = stored.is_some();
    let snapshot_done = stored.is_some_and(|s| s.snapshot_done);
    let snapshot = match c.snapshot_mode {
        SnapshotMode::Always => true,
        SnapshotMode::Initial | SnapshotMode::InitialOnly => !snapshot_done,
        SnapshotMode::NoData => false,
        SnapshotMode::WhenNeeded => !snapshot_done || slot.is_none(),
    };
    let (exported, start) = match &slot {
        None => {
            if has_offset && !snapshot {
                tracing::warn!(
                    slot = %c.slot_name,
                    "the replication slot is gone although an offset is stored: changes made while it was missing are lost; snapshot.mode=when_needed snapshots again in this case"
                );
            }
            let kind = if snapshot {
                "EXPORT_SNAPSHOT"
            } else {
                "NOEXPORT_SNAPSHOT"
            };
            let rows = conn
                .simple_query(&format!(
                    "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput {kind}",
                    quote(&c.slot_name)
                ))
                .await
                .map_err(|e| {
                    CdcError::Setup(format!(
                        "cannot create replication slot '{}': {e} (the user needs the REPLICATION attribute, and max_replication_slots a free slot)",
                        c.slot_name
                    ))
                })?;
            let row = rows.first().ok_or_else(|| {
                CdcError::Protocol("CREATE_REPLICATION_SLOT returned no row".into())
            })?;
            let point: Lsn = row
                .get(1)
                .cloned()
                .flatten()
                .unwrap_or_default()
                .parse()
                .map_err(CdcError::Protocol)?;
            tracing::info!(slot = %c.slot_name, consistent_point = %point, "replication slot created");
            (row.get(2).cloned().flatten(), point)
        }
        Some(info) => {
            let confirmed = info.confirmed_flush.unwrap_or_default();
            let start = stored.and_then(|s| s.start).unwrap_or(confirmed);
            (None, start.max(confirmed))
        }
    };
    // Events already in Kafka are skipped only when going on from an
    // offset, not after a new snapshot.
    let skip = if snapshot {
        None
    } else {
        stored.and_then(|s| s.skip)
    };
    Ok(Plan {
        snapshot,
        exported,
        start,
        skip,
        tables,
    })
}

#[async_trait]
impl SourceTask for PgCdcTask {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()> {
        let c = PgCdcConfig::parse(&config)?;
        let skipped = skipped_ops(&c.skipped_operations).map_err(fatal)?;
        let settings = Arc::new(Settings::new(&c, skipped).map_err(fatal)?);
        let info = c.conn_info();
        let stored_map = ctx
            .offset_reader()
            .offset(settings.partition.as_map())
            .await?;
        let stored = stored_map.as_ref().map(parse_stored);
        let resume_incremental = stored_map.as_ref().and_then(parse_incremental);
        let lag = ctx.gauges().gauge("replication-slot-lag-bytes");
        let (inc_done, inc_estimated) = (
            ctx.gauges().gauge("incremental-snapshot-rows-done"),
            ctx.gauges().gauge("incremental-snapshot-rows-estimated"),
        );
        let (rows_done, rows_estimated) = (
            ctx.gauges().gauge("snapshot-rows-done"),
            ctx.gauges().gauge("snapshot-rows-estimated"),
        );
        let client = connect_client(&info).await?;
        let mut conn = ReplConn::connect(&info).await?;
        let plan = prepare(&c, &settings, &client, &mut conn, stored).await?;
        tracing::info!(
            slot = %c.slot_name,
            start = %plan.start,
            snapshot = plan.snapshot,
            tables = plan.tables.len(),
            "PostgreSQL change data capture starting"
        );
        let max_batch = settings.max_batch;
        let queue = usize::try_from(c.max_queue_size).unwrap_or(8192);
        let (tx, rx) = mpsc::channel::<Batch>((queue / max_batch).max(2));
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let opts = StreamOptions {
            signal_table: c.signal_table(),
            chunk_size: usize::try_from(c.chunk_size).unwrap_or(1024).max(1),
            status_interval: c.status_update_interval.max(Duration::from_millis(100)),
            heartbeat_interval: c.heartbeat_interval,
            heartbeat_query: c.heartbeat_action_query.clone(),
        };
        let slot = c.slot_name.clone();
        let publication = c.publication_name.clone();
        let initial_only = c.snapshot_mode == SnapshotMode::InitialOnly;
        let worker = tokio::spawn(async move {
            let errors = tx.clone();
            let mut stop_rx = stop_rx;
            let result: Result<(), CdcError> = async {
                let mut last_emitted = None;
                if plan.snapshot {
                    let rows = snapshot::run(
                        &client,
                        &settings,
                        SnapshotPlan {
                            tables: &plan.tables,
                            exported: plan.exported.as_deref(),
                            lsn: plan.start,
                            done: rows_done,
                            estimated: rows_estimated,
                        },
                        &tx,
                    )
                    .await?;
                    if rows > 0 {
                        last_emitted = Some((0, rows, 0));
                    }
                }
                if initial_only {
                    tracing::info!(
                        "snapshot.mode=initial_only: the snapshot is done, no streaming (the slot is not read: drop it if it is not needed)"
                    );
                    let _ = stop_rx.changed().await;
                    return Ok(());
                }
                conn.start_replication(&start_sql(&slot, &publication, plan.start))
                    .await
                    .map_err(|e| {
                        CdcError::Setup(format!(
                            "cannot stream from slot '{slot}' with publication '{publication}': {e}"
                        ))
                    })?;
                Streamer {
                    conn,
                    client,
                    settings,
                    opts,
                    tx,
                    acks: ack_rx,
                    stop: stop_rx,
                    skip: plan.skip,
                    confirmed: plan.start,
                    resume_incremental: if plan.snapshot {
                        None
                    } else {
                        resume_incremental
                    },
                    last_emitted,
                    lag,
                    inc_done,
                    inc_estimated,
                }
                .run()
                .await
            }
            .await;
            if let Err(e) = result {
                let _ = errors.send(Err(e)).await;
            }
        });
        self.run = Some(Running {
            rx,
            acker: Arc::new(Acker(ack_tx)),
            stop: stop_tx,
            worker,
            poll_interval: c.poll_interval.max(Duration::from_millis(10)),
            max_batch,
            failed: None,
            info,
            slot: c.slot_name.clone(),
            drop_slot: c.slot_drop_on_stop,
        });
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let Some(run) = self.run.as_mut() else {
            return Err(fatal("the task was not started"));
        };
        if let Some(e) = run.failed.take() {
            return Err(e.into());
        }
        let mut batch = match tokio::time::timeout(run.poll_interval, run.rx.recv()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(None) => return Err(fatal("the change stream ended")),
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(Some(Ok(b))) => b,
        };
        while batch.len() < run.max_batch {
            match run.rx.try_recv() {
                Ok(Ok(b)) => batch.extend(b),
                Ok(Err(e)) => {
                    run.failed = Some(e);
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(batch)
    }

    fn acknowledger(&self) -> Option<Arc<dyn SourceAcknowledger>> {
        self.run
            .as_ref()
            .map(|r| r.acker.clone() as Arc<dyn SourceAcknowledger>)
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        let Some(run) = self.run.take() else {
            return Ok(());
        };
        let _ = run.stop.send(true);
        let mut worker = run.worker;
        if tokio::time::timeout(Duration::from_secs(10), &mut worker)
            .await
            .is_err()
        {
            worker.abort();
        }
        if run.drop_slot {
            drop_slot(&run.info, &run.slot).await.map_err(fatal)?;
        }
        Ok(())
    }
}

/// Drops the slot once its walsender has gone (`slot.drop.on.stop`).
async fn drop_slot(info: &ConnInfo, slot: &str) -> Result<(), CdcError> {
    let client = connect_client(info).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match catalog::slot(&client, slot).await? {
            None => return Ok(()),
            Some(s) if s.active_pid.is_none() => {
                client
                    .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
                    .await?;
                tracing::info!(slot, "replication slot dropped (slot.drop.on.stop)");
                return Ok(());
            }
            Some(_) if tokio::time::Instant::now() > deadline => {
                return Err(CdcError::Setup(format!(
                    "replication slot '{slot}' is still in use; it was not dropped"
                )));
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
