//! `make bench`, JDBC cases without a broker: the JDBC sink task and
//! source task driven in this process (sink records built in memory
//! before the clock starts; source rows counted as polled), against the databases' own bulk tools, so the table
//! shows what the connectors cost, not what the test broker can serve
//! (tansu feeds a consumer at about 15,000 of these records per second).
//!
//! Arguments (from `jdbc_bench`): `--rows N`, `--pg_db D`, `--my_db D`,
//! `--mode M` (`pg-insert`, `pg-upsert`, `my-insert`, `pg-source`). Prints
//! the seconds taken.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use async_trait::async_trait;
use sluice_bench::{arg, args};
use sluice_connect_api::schema::logical;
use sluice_connect_api::schema::{Schema, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_connect_api::{
    Config, ConnectResult, OffsetMap, OffsetReader, SinkRecord, SinkTask, SinkTaskContext,
    SourceTask, SourceTaskContext, TimestampType,
};
use sluice_connector_jdbc::{JdbcSinkTask, JdbcSourceTask};

#[derive(Debug)]
struct NoOffsets;

#[async_trait]
impl OffsetReader for NoOffsets {
    async fn offset(&self, _: &OffsetMap) -> ConnectResult<Option<OffsetMap>> {
        Ok(None)
    }
}

fn schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("row")
        .field("id", Schema::int64())
        .field("name", Schema::string())
        .field("qty", Schema::int32())
        .field("price", logical::decimal_schema(2).build())
        .field("note", Schema::optional_string())
        .build()
}

fn record(s: &SchemaRef, i: usize) -> Result<SinkRecord> {
    let price = logical::Decimal::new((i % 100_000) as i128, 2).to_value();
    let v = Struct::new(s.clone())
        .put("id", Value::Int64(i as i64))?
        .put("name", Value::String(format!("name-{i}")))?
        .put("qty", Value::Int32((i % 1000) as i32))?
        .put("price", price)?
        .put("note", Value::String(format!("note {i}")))?;
    Ok(SinkRecord {
        topic: "bench_rows".into(),
        kafka_partition: 0,
        kafka_offset: i as i64,
        key_schema: None,
        key: Value::Null,
        value_schema: Some(s.clone()),
        value: Value::Struct(v),
        timestamp: None,
        timestamp_type: TimestampType::CreateTime,
        headers: Vec::new(),
    })
}

fn config(pairs: &[(&str, String)]) -> Config {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

async fn sink(rows: usize, url: String, mode: &str) -> Result<f64> {
    let mut pairs = vec![
        ("name", "bench".to_string()),
        ("connection.url", url),
        ("table.name.format", "t".to_string()),
        ("insert.mode", mode.to_string()),
    ];
    if mode == "upsert" {
        pairs.push(("pk.mode", "record_value".into()));
        pairs.push(("pk.fields", "id".into()));
    }
    let mut task = JdbcSinkTask::default();
    task.start(config(&pairs), SinkTaskContext::new()).await?;
    let s = schema();
    // Records are built before the clock starts (in a worker the
    // converter builds them): what is timed is the connector's work.
    // The runtime's sink batches are at most 2,000 records.
    let mut batches = Vec::new();
    let mut i = 0;
    while i < rows {
        let n = 2000.min(rows - i);
        batches.push(
            (i..i + n)
                .map(|j| record(&s, j))
                .collect::<Result<Vec<_>>>()?,
        );
        i += n;
    }
    let start = Instant::now();
    for mut batch in batches {
        task.put(&mut batch).await?;
    }
    let took = start.elapsed().as_secs_f64();
    task.stop().await?;
    Ok(took)
}

async fn source(rows: usize, url: String) -> Result<f64> {
    let pairs = vec![
        ("name", "bench".to_string()),
        ("connection.url", url),
        ("mode", "bulk".to_string()),
        ("topic.prefix", "b-".to_string()),
        ("batch.max.rows", "2000".to_string()),
        ("tables", "\"public\".\"t\"".to_string()),
    ];
    let mut task = JdbcSourceTask::default();
    let start = Instant::now();
    task.start(config(&pairs), SourceTaskContext::new(Arc::new(NoOffsets)))
        .await?;
    let mut seen = 0;
    while seen < rows {
        seen += task.poll().await?.len();
    }
    let took = start.elapsed().as_secs_f64();
    task.stop().await?;
    Ok(took)
}

fn main() -> Result<()> {
    let a = args();
    let rows: usize = arg(&a, "rows")?.parse().context("rows")?;
    let mode = arg(&a, "mode")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let pg =
        || arg(&a, "pg_db").map(|d| format!("jdbc:postgresql://127.0.0.1:5432/{d}?user=postgres"));
    let my = || {
        arg(&a, "my_db").map(|d| format!("jdbc:mariadb://127.0.0.1:3306/{d}?user=root&password="))
    };
    let took = rt.block_on(async {
        match mode.as_str() {
            "pg-insert" => sink(rows, pg()?, "insert").await,
            "pg-upsert" => sink(rows, pg()?, "upsert").await,
            "my-insert" => sink(rows, my()?, "insert").await,
            "pg-source" => source(rows, pg()?).await,
            other => anyhow::bail!("unknown mode {other}"),
        }
    })?;
    println!("{took:.4}");
    Ok(())
}
