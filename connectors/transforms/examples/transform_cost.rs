//! Run with `cargo run --release -p sluice-transforms --example transform_cost`.
//!
//! What a transform chain costs per record: a 10-field Struct record with a
//! schema goes through InsertField$Value (a static field), ReplaceField$Value
//! (a rename and an exclude) and Cast$Value (int32 to int64). The baseline
//! loop builds and drops the same records without transforms; the
//! difference is the chain's cost. The output schema of each transform is
//! cached per input schema, so after the first record no schema is built
//! and no value is copied, only moved.

use std::error::Error;
use std::hint::black_box;
use std::time::Instant;

use sluice_connect_api::schema::{Schema, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_connect_api::{Config, SourceRecord, Transformation};
use sluice_transforms::{Cast, InsertField, ReplaceField};

const RECORDS: u32 = 1_000_000;
const ROUNDS: usize = 5;

fn config(pairs: &[(&str, &str)]) -> Config {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("com.example.Order")
        .field("id", Schema::int64())
        .field("count", Schema::int32())
        .field("name", Schema::string())
        .field("note", Schema::optional_string())
        .field("price", Schema::float64())
        .field("paid", Schema::boolean())
        .field("customer", Schema::int64())
        .field("region", Schema::string())
        .field("created", Schema::int64())
        .field("version", Schema::int32())
        .build()
}

/// One record, built as a source task or converter would.
fn record(schema: &SchemaRef, i: u32) -> SourceRecord {
    let values = vec![
        Value::Int64(i64::from(i)),
        Value::Int32(7),
        Value::String("widget".to_string()),
        Value::String("fragile".to_string()),
        Value::Float64(9.5),
        Value::Boolean(true),
        Value::Int64(42),
        Value::String("eu-west".to_string()),
        Value::Int64(1_700_000_000_000),
        Value::Int32(1),
    ];
    let value = Struct::from_parts_unchecked(schema.clone(), values);
    SourceRecord::new(
        Default::default(),
        Default::default(),
        "orders",
        Some(schema.clone()),
        Value::Struct(value),
    )
}

/// Nanoseconds per record of one round of `body`.
fn round(body: &mut impl FnMut(u32) -> Result<(), Box<dyn Error>>) -> Result<f64, Box<dyn Error>> {
    let start = Instant::now();
    for i in 0..RECORDS {
        body(i)?;
    }
    Ok(start.elapsed().as_nanos() as f64 / f64::from(RECORDS))
}

/// Median, min and max.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let median = v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
    let min = v.first().copied().unwrap_or(f64::NAN);
    let max = v.last().copied().unwrap_or(f64::NAN);
    (median, min, max)
}

fn main() -> Result<(), Box<dyn Error>> {
    let schema = schema();

    let mut insert = InsertField::value();
    insert.configure(&config(&[
        ("static.field", "source"),
        ("static.value", "sluice"),
    ]))?;
    let mut replace = ReplaceField::value();
    replace.configure(&config(&[
        ("renames", "name:full_name"),
        ("exclude", "note"),
    ]))?;
    let mut cast = Cast::value();
    cast.configure(&config(&[("spec", "count:int64")]))?;
    let mut chain: [&mut dyn Transformation; 3] = [&mut insert, &mut replace, &mut cast];

    // The chain does what it should.
    let mut r = record(&schema, 1);
    for t in chain.iter_mut() {
        t.apply(&mut r)?;
    }
    let Value::Struct(out) = &r.value else {
        return Err("the chain did not produce a struct".into());
    };
    out.validate()?;
    assert_eq!(out.get("count"), Some(&Value::Int64(7)));
    assert_eq!(out.get("full_name"), Some(&Value::from("widget")));
    assert_eq!(out.get("source"), Some(&Value::from("sluice")));
    assert_eq!(out.get("note"), None);

    let mut baseline = |i| {
        let r = record(&schema, i);
        black_box(r);
        Ok(())
    };
    let mut with_chain = |i| {
        let mut r = record(&schema, i);
        for t in chain.iter_mut() {
            t.apply(&mut r)?;
        }
        black_box(r);
        Ok(())
    };
    // Alternate the two sides so a noisy neighbour hits both alike.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(round(&mut baseline)?);
        b.push(round(&mut with_chain)?);
    }
    let (a_med, a_min, a_max) = stats(a);
    let (b_med, b_min, b_max) = stats(b);

    println!(
        "transform chain cost, 10-field struct with schema, {RECORDS} records x {ROUNDS} alternating rounds (median, min-max)"
    );
    println!("no transform:        {a_med:8.1} ns/record ({a_min:.1}-{a_max:.1})");
    println!("InsertField+ReplaceField+Cast: {b_med:8.1} ns/record ({b_min:.1}-{b_max:.1})");
    println!(
        "chain cost: {:.1} ns/record (goal < 1000 ns); ratio of medians {:.2}x",
        b_med - a_med,
        b_med / a_med
    );
    Ok(())
}
