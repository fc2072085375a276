//! `make bench`, CDC case: the PostgreSQL change data capture task against
//! `pg_recvlogical` over the same WAL.
//!
//! One database gets a table, a publication and 2 × rounds logical slots
//! (pgoutput), all made before the changes, so each slot holds the same
//! WAL: BENCH_CDC_CHANGES changes (default 1,000,000): half inserted in one
//! transaction, a quarter updated and a quarter deleted in transactions of
//! 1,000 rows. Then, alternated A B A B:
//! - A: `pg_recvlogical --start --endpos <end>` on its slot, pgoutput with
//!   `binary` values as Sluice asks, output to /dev/null;
//! - B: Sluice's `PostgresConnector` task in this process
//!   (`snapshot.mode=no_data`) polled until every change became a record
//!   (with tombstones for deletes), acknowledging each batch as the runtime
//!   does; the records are Debezium envelopes, not yet converted to bytes.
//!
//! Prints changes per second, the median ratio B/A (goal >= 0.8) and the
//! peak RSS of this process; writes bench/results/cdc-latest.md.
//! Environment: `BENCH_CDC_CHANGES`, `BENCH_ROUNDS` (3).

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use sluice_connect_api::{
    Config, ConnectResult, OffsetMap, OffsetReader, SourceTask, SourceTaskContext,
};
use sluice_connector_cdc::PgCdcTask;

#[derive(Debug)]
struct NoOffsets;

#[async_trait]
impl OffsetReader for NoOffsets {
    async fn offset(&self, _: &OffsetMap) -> ConnectResult<Option<OffsetMap>> {
        Ok(None)
    }
}

fn psql(db: &str, sql: &str) -> Result<String> {
    sluice_bench::psql(db, &["-c", sql]).map(|s| s.trim().to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn sluice(db: &str, slot: &str, changes: usize) -> Result<f64> {
    let config: Config = [
        ("name", "bench"),
        ("database.hostname", "127.0.0.1"),
        ("database.user", "postgres"),
        ("database.dbname", db),
        ("topic.prefix", "bench"),
        ("slot.name", slot),
        ("publication.name", "bench_pub"),
        ("publication.autocreate.mode", "disabled"),
        ("snapshot.mode", "no_data"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut task = PgCdcTask::default();
    let start = Instant::now();
    task.start(config, SourceTaskContext::new(Arc::new(NoOffsets)))
        .await?;
    let acker = task.acknowledger().context("no acknowledger")?;
    let mut seen = 0;
    while seen < changes {
        let batch = task.poll().await?;
        seen += batch.iter().filter(|r| !r.value.is_null()).count();
        if let Some(last) = batch.last() {
            acker.commit_offsets(&[(last.source_partition.clone(), last.source_offset.clone())]);
        }
    }
    let took = start.elapsed().as_secs_f64();
    task.stop().await?;
    Ok(took)
}

fn recvlogical(db: &str, slot: &str, end: &str) -> Result<f64> {
    let start = Instant::now();
    let out = Command::new("pg_recvlogical")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            db,
            "--slot",
            slot,
        ])
        .args(["--start", "--endpos", end, "-f", "/dev/null", "--no-loop"])
        .args(["-o", "proto_version=1", "-o", "publication_names=bench_pub"])
        .args(["-o", "binary=true"])
        .output()
        .context("cannot run pg_recvlogical (apt-get install postgresql-client)")?;
    if !out.status.success() {
        bail!("pg_recvlogical: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(start.elapsed().as_secs_f64())
}

fn main() -> Result<()> {
    let changes: usize = std::env::var("BENCH_CDC_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    if psql("postgres", "SHOW wal_level")? != "logical" {
        bail!("PostgreSQL needs wal_level=logical: run make db-setup");
    }
    let db = format!("sluice_bench_cdc_{}", std::process::id());
    psql("postgres", &format!("CREATE DATABASE {db}"))?;
    let result = run(&db, changes, rounds);
    let _ = psql(
        "postgres",
        &format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '{db}' AND NOT active"
        ),
    );
    let _ = psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    );
    result
}

fn run(db: &str, changes: usize, rounds: usize) -> Result<()> {
    let inserts = changes / 2;
    let updates = changes / 4;
    let deletes = changes - inserts - updates;
    psql(
        db,
        "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL, b TEXT, c NUMERIC(12,2), d TIMESTAMPTZ);
         CREATE PUBLICATION bench_pub FOR ALL TABLES;",
    )?;
    for i in 0..rounds {
        psql(
            db,
            &format!(
                "SELECT pg_create_logical_replication_slot('ref_{i}', 'pgoutput'); SELECT pg_create_logical_replication_slot('sluice_{i}', 'pgoutput')"
            ),
        )?;
    }
    println!(
        "making {changes} changes ({inserts} inserts in one transaction, {updates} updates, {deletes} deletes in transactions of 1,000)"
    );
    psql(
        db,
        &format!(
            "INSERT INTO t SELECT g, g, md5(g::text), g * 1.25, now() FROM generate_series(1, {inserts}) g"
        ),
    )?;
    psql(
        db,
        &format!(
            "DO $$ BEGIN FOR i IN 0..{} LOOP UPDATE t SET a = a + 1 WHERE id > i * 1000 AND id <= least((i + 1) * 1000, {updates}); COMMIT; END LOOP; END $$",
            updates.div_ceil(1000).saturating_sub(1)
        ),
    )?;
    psql(
        db,
        &format!(
            "DO $$ BEGIN FOR i IN 0..{} LOOP DELETE FROM t WHERE id > {inserts} - {deletes} + i * 1000 AND id <= least({inserts} - {deletes} + (i + 1) * 1000, {inserts}); COMMIT; END LOOP; END $$",
            deletes.div_ceil(1000).saturating_sub(1)
        ),
    )?;
    let end = psql(db, "SELECT pg_current_wal_lsn()")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let ta = recvlogical(db, &format!("ref_{i}"), &end)?;
        let tb = rt.block_on(sluice(db, &format!("sluice_{i}"), changes))?;
        println!(
            "round {}: pg_recvlogical {:.2} s ({:.0}/s), Sluice {:.2} s ({:.0}/s)",
            i + 1,
            ta,
            changes as f64 / ta,
            tb,
            changes as f64 / tb
        );
        a.push(changes as f64 / ta);
        b.push(changes as f64 / tb);
    }
    let (ma, mb) = (median(a), median(b));
    let rss = peak_rss_mb();
    let table = format!(
        "| case | pg_recvlogical (changes/s) | Sluice (changes/s) | Sluice / pg_recvlogical | goal |\n|---|---|---|---|---|\n| {changes} changes, slot → records | {ma:.0} | {mb:.0} | {:.2} | ≥ 0.8, ≥ 40,000/s |\n\nPeak RSS of the process running the Sluice task: {rss:.0} MB. Medians of {rounds} rounds, A B alternated.\n",
        mb / ma
    );
    println!("\n{table}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("cdc-latest.md"), table)?;
    Ok(())
}
