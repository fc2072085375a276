//! A rough timing of the hot path against the JsonConverter (run with
//! `cargo test --release -p sluice-schema avro_vs_json -- --ignored --nocapture`).

use std::hint::black_box;
use std::time::Instant;

use crate::avro::*;
use crate::converter::{Converter, ConverterConfig, JsonConverter};
use crate::logical::{Decimal, decimal_schema, timestamp_schema};
use crate::schema::{Schema, SchemaBuilder};
use crate::value::{Struct, Value};

#[test]
#[ignore]
fn avro_vs_json() {
    let schema = SchemaBuilder::struct_()
        .name("com.example.User")
        .field("id", Schema::int64())
        .field("name", Schema::string())
        .field("email", Schema::optional_string())
        .field("age", Schema::int32())
        .field("score", Schema::float64())
        .field("active", Schema::boolean())
        .field("created", timestamp_schema().build())
        .field("balance", decimal_schema(2).build())
        .field("tags", SchemaBuilder::array(Schema::string()).build())
        .field("zip", Schema::optional_int32())
        .build();
    let value = Value::Struct(
        Struct::new(schema.clone())
            .put("id", Value::Int64(1234567))
            .and_then(|s| s.put("name", "Ada Lovelace".into()))
            .and_then(|s| s.put("email", "ada@example.com".into()))
            .and_then(|s| s.put("age", Value::Int32(36)))
            .and_then(|s| s.put("score", Value::Float64(98.25)))
            .and_then(|s| s.put("active", Value::Boolean(true)))
            .and_then(|s| s.put("created", Value::Int64(1_700_000_000_000)))
            .and_then(|s| s.put("balance", Decimal::new(123456, 2).to_value()))
            .and_then(|s| s.put("tags", Value::Array(vec!["a".into(), "b".into()])))
            .and_then(|s| s.put("zip", Value::Int32(12345)))
            .unwrap(),
    );
    let n = 200_000;
    let json = JsonConverter::new(&ConverterConfig::new(false)).unwrap();
    let bytes = json
        .from_connect("t", Some(&schema), &value)
        .unwrap()
        .unwrap();
    let t = Instant::now();
    for _ in 0..n {
        black_box(
            json.from_connect("t", Some(&schema), black_box(&value))
                .unwrap(),
        );
    }
    let json_enc = t.elapsed().as_nanos() as f64 / n as f64;
    let t = Instant::now();
    for _ in 0..n {
        black_box(json.to_connect("t", Some(black_box(&bytes))).unwrap());
    }
    let json_dec = t.elapsed().as_nanos() as f64 / n as f64;

    let avro = to_avro_schema(&schema, &AvroDataConfig::default()).unwrap();
    let mut out = Vec::new();
    encode_value(&schema, &avro.parsed, &value, &mut out).unwrap();
    let encoded = out.clone();
    let t = Instant::now();
    for _ in 0..n {
        let mut out = Vec::with_capacity(64);
        encode_value(&schema, &avro.parsed, black_box(&value), &mut out).unwrap();
        black_box(out);
    }
    let avro_enc = t.elapsed().as_nanos() as f64 / n as f64;
    let t = Instant::now();
    for _ in 0..n {
        black_box(decode_value(&avro.parsed, &schema, black_box(&encoded)).unwrap());
    }
    let avro_dec = t.elapsed().as_nanos() as f64 / n as f64;
    println!(
        "json: encode {json_enc:.0} ns, decode {json_dec:.0} ns ({} bytes)\n\
         avro: encode {avro_enc:.0} ns, decode {avro_dec:.0} ns ({} bytes)",
        bytes.len(),
        encoded.len()
    );
}
