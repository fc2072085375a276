//! Case 3: the runtime's own CPU per record, in process, no broker.
//!
//! Sink: the real sink executor (`run_sink_task`: batching, StringConverter
//! back, record building, transforms, `put` by ownership, commits) with
//! `SinkInput::Null`, a feed of the same 100-byte value from one partition,
//! into a task that counts and drops what it is given.
//!
//! Source: the real source executor (`run_source_task`: poll loop, batch
//! queue, correlation ids, transforms, StringConverter into reused
//! buffers, header encoding, acknowledgement tracking, offset commits)
//! with `SourceOutput::Null`, a producer that acknowledges each record the
//! moment it is handed over. The DataGen task generates 100-byte values.
//! librdkafka is left out on purpose: case 1 measures it against the bare
//! producer.
//!
//! CPU time of the whole process (every thread's
//! `/proc/self/task/*/schedstat`), per record, median of 5 rounds, each on
//! a fresh single-threaded tokio runtime.

use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use sluice_connect_api::{
    Config, ConnectResult, SinkRecord, SinkTask, SinkTaskContext, SourcePartition,
};
use sluice_connector_datagen::DataGenSourceTask;
use sluice_runtime::converters::TaskConverter;
use sluice_runtime::errors::ErrorConfig;
use sluice_runtime::offsets::{MemoryOffsetStore, OffsetStore};
use sluice_runtime::sink::{SinkInput, SinkTaskParams, run_sink_task};
use sluice_runtime::source::{SourceOutput, SourceTaskParams, run_source_task};
use sluice_runtime::status::StatusStore;
use sluice_runtime::transforms::TransformChain;
use tokio::sync::watch;

const RECORDS: u64 = 1_000_000;
const ROUNDS: usize = 5;

/// CPU nanoseconds of every thread of this process so far.
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// One round through the real source executor; CPU ns per record.
fn source_round(correlation: bool) -> anyhow::Result<f64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let registry = sluice_runtime::plugins::registry();
        let offsets = Arc::new(MemoryOffsetStore::default());
        let (stop_tx, stop) = watch::channel(false);
        let (_paused_tx, paused) = watch::channel(false);
        let mut config = Config::new();
        for (k, v) in [
            ("topic", "bench"),
            ("task.id", "0"),
            ("batch.size", "2000"),
            ("value.format", "bytes"),
            ("payload.bytes", "90"),
        ] {
            config.insert(k.into(), v.into());
        }
        config.insert("max.records".into(), RECORDS.to_string());
        let mut connector_config = Config::new();
        if !correlation {
            connector_config.insert("correlation.id.header".into(), String::new());
        }
        let metrics = sluice_runtime::metrics::Metrics::new("bench", Duration::from_secs(60));
        let params = SourceTaskParams {
            connector: "bench".into(),
            task_id: 0,
            config,
            task: Box::new(DataGenSourceTask::default()),
            key_converter: TaskConverter::string(),
            value_converter: TaskConverter::string(),
            transforms: TransformChain::build(&registry, &Config::new())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            errors: ErrorConfig::default(),
            correlation: sluice_runtime::correlation::Correlation::from_config(
                &connector_config,
                "bench",
                0,
            ),
            output: SourceOutput::Null,
            offsets: offsets.clone(),
            status: Arc::new(StatusStore::new("bench")),
            metrics,
            flush_interval: Duration::from_millis(50),
            flush_timeout: Duration::from_secs(5),
            stop,
            paused,
            transform_store: None,
        };
        let partition = SourcePartition::one("task", 0);
        let cpu0 = process_cpu_ns();
        let task = tokio::spawn(run_source_task(params));
        // Done when the offset of the last record is committed.
        loop {
            let committed = offsets
                .get("bench", &partition)
                .await?
                .and_then(|o| o.get("seq").and_then(serde_json::Value::as_u64))
                .unwrap_or(0);
            if committed >= RECORDS {
                break;
            }
            if task.is_finished() {
                anyhow::bail!("the source task ended after {committed} records");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let cpu = process_cpu_ns().saturating_sub(cpu0);
        let _ = stop_tx.send(true);
        if let Some(trace) = task.await? {
            anyhow::bail!("the source task failed: {trace}");
        }
        #[allow(clippy::cast_precision_loss)]
        Ok(cpu as f64 / RECORDS as f64)
    })
}

/// Counts what `put` is given and drops it.
#[derive(Debug)]
struct CountingSink(Arc<AtomicU64>);

#[async_trait]
impl SinkTask for CountingSink {
    async fn start(&mut self, _c: Config, _ctx: SinkTaskContext) -> ConnectResult<()> {
        Ok(())
    }

    async fn put(&mut self, records: &mut Vec<SinkRecord>) -> ConnectResult<()> {
        self.0.fetch_add(records.len() as u64, Ordering::Relaxed);
        records.clear();
        Ok(())
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

/// One round through the real sink executor; CPU ns per record.
fn sink_round() -> anyhow::Result<f64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let registry = sluice_runtime::plugins::registry();
        let (stop_tx, stop) = watch::channel(false);
        let (_paused_tx, paused) = watch::channel(false);
        let put = Arc::new(AtomicU64::new(0));
        let metrics = sluice_runtime::metrics::Metrics::new("bench", Duration::from_secs(60));
        let value = format!("{:010}-{}", 0, "x".repeat(89)).into_bytes();
        let params = SinkTaskParams {
            connector: "bench".into(),
            task_id: 0,
            config: Config::new(),
            connector_class: "bench.CountingSink",
            task: Box::new(CountingSink(put.clone())),
            key_converter: TaskConverter::string(),
            value_converter: TaskConverter::string(),
            transforms: TransformChain::build(&registry, &Config::new())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            errors: ErrorConfig::default(),
            correlation_header: None,
            input: SinkInput::Null {
                topic: "bench".into(),
                records: RECORDS,
                value,
            },
            status: Arc::new(StatusStore::new("bench")),
            metrics,
            flush_interval: Duration::from_millis(50),
            flush_timeout: Duration::from_secs(5),
            stop,
            paused,
        };
        let cpu0 = process_cpu_ns();
        let task = tokio::spawn(run_sink_task(params));
        while put.load(Ordering::Relaxed) < RECORDS {
            if task.is_finished() {
                anyhow::bail!(
                    "the sink task ended after {} records",
                    put.load(Ordering::Relaxed)
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let cpu = process_cpu_ns().saturating_sub(cpu0);
        let _ = stop_tx.send(true);
        if let Some(trace) = task.await? {
            anyhow::bail!("the sink task failed: {trace}");
        }
        #[allow(clippy::cast_precision_loss)]
        Ok(cpu as f64 / RECORDS as f64)
    })
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() -> anyhow::Result<()> {
    let (mut off, mut on, mut sink) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        off.push(source_round(false)?);
        on.push(source_round(true)?);
        sink.push(sink_round()?);
    }
    let met = |v: f64| if v <= 250.0 { "met" } else { "missed" };
    let (m, lo, hi) = median(off);
    let (mc, loc, hic) = median(on);
    let (ms, los, his) = median(sink);
    println!(
        "source executor (real run_source_task, null producer, DataGen 100 B, StringConverter): {m:.0} CPU ns/record median ({lo:.0}–{hi:.0}) with correlation ids off, {mc:.0} ({loc:.0}–{hic:.0}) on; sink executor (real run_sink_task, null feed of 100 B, StringConverter, counting task): {ms:.0} ({los:.0}–{his:.0}); {RECORDS} records x {ROUNDS} rounds; goal ≤ 250 ns each: source {} (ids off), {} (ids on, the default), sink {}",
        met(m),
        met(mc),
        met(ms)
    );
    Ok(())
}
