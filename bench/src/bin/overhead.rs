//! Case 3: the runtime's own work per record, in process, no broker: a
//! generator source's batches go through what a source task does
//! (correlation id off, transform chain, StringConverter to bytes) and what
//! a sink task does with those bytes (StringConverter back, record
//! building, transform chain, `put` into a sink that drops everything).
//! librdkafka is left out on purpose: cases 1 and 2 measure it against the
//! reference programs. CPU time of this thread from
//! `/proc/thread-self/schedstat` (nanoseconds), median of 5 rounds.

use std::time::Instant;

use sluice_connect_api::schema::converter::{Converter, ConverterConfig, StringConverter};
use sluice_connect_api::schema::{Schema, Value};
use sluice_connect_api::{Config, ConnectRecord, SinkRecord, SourceRecord, TimestampType};
use sluice_runtime::transforms::TransformChain;

const RECORDS: u64 = 2_000_000;
const BATCH: u64 = 2000;

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let registry = sluice_runtime::plugins::registry();
    let mut source_chain = TransformChain::build(&registry, &Config::new())?;
    let mut sink_chain = TransformChain::build(&registry, &Config::new())?;
    let conv = StringConverter::new(&ConverterConfig::new(false))?;
    let mut partition = serde_json::Map::new();
    partition.insert("task".into(), 0.into());
    let payload = "x".repeat(89);
    let mut dropped = 0u64;
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let (cpu0, wall0) = (cpu_ns(), Instant::now());
        let mut seq = 0u64;
        while seq < RECORDS {
            // The generator's poll: one batch of records.
            let batch: Vec<SourceRecord> = (0..BATCH)
                .map(|i| {
                    let mut offset = serde_json::Map::new();
                    offset.insert("seq".into(), (seq + i).into());
                    SourceRecord::new(
                        partition.clone(),
                        offset,
                        "bench",
                        Some(Schema::string()),
                        Value::String(format!("{:010}-{payload}", seq + i)),
                    )
                })
                .collect();
            seq += BATCH;
            // Source side: transforms, conversion; the bytes would go to
            // the producer.
            let mut produced = Vec::with_capacity(batch.len());
            for mut r in batch {
                if !source_chain
                    .apply(&mut r as &mut dyn ConnectRecord)
                    .unwrap_or(false)
                {
                    continue;
                }
                let bytes = conv.from_connect(&r.topic, r.value_schema.as_ref(), &r.value)?;
                produced.push(bytes);
            }
            // Sink side: conversion back, record building, transforms, put.
            let mut put = Vec::with_capacity(produced.len());
            for (i, bytes) in produced.iter().enumerate() {
                let v = conv.to_connect("bench", bytes.as_deref())?;
                let mut r = SinkRecord {
                    topic: "bench".to_string(),
                    kafka_partition: 0,
                    kafka_offset: i as i64,
                    key_schema: None,
                    key: Value::Null,
                    value_schema: v.schema,
                    value: v.value,
                    timestamp: None,
                    timestamp_type: TimestampType::CreateTime,
                    headers: Vec::new(),
                };
                if sink_chain.apply(&mut r).unwrap_or(false) {
                    put.push(r);
                }
            }
            dropped += std::hint::black_box(put).len() as u64;
        }
        let cpu = cpu_ns().saturating_sub(cpu0) as f64 / RECORDS as f64;
        let _ = wall0;
        rounds.push(cpu);
    }
    rounds.sort_by(f64::total_cmp);
    println!(
        "runtime overhead in process (generator → transforms → StringConverter → back → drop sink): {:.0} CPU ns/record median ({:.0}–{:.0}) over {} records x 5 (goal ≤ 250 ns; librdkafka not included)",
        rounds[rounds.len() / 2],
        rounds[0],
        rounds[rounds.len() - 1],
        dropped / 5
    );
    Ok(())
}
