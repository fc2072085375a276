//! Per-record cost of the converters on a 10-field record: JsonConverter
//! (with schemas) next to AvroConverter, encode and decode, in one session.
//! Run with `make bench` (release build). Rounds alternate JSON, Avro, JSON,
//! Avro, ... and the medians are reported with their ratio.
//!
//! The AvroConverter talks to a minimal in-process registry stub on a local
//! port: it is called once per schema (the converter caches ids and schemas),
//! so what is measured is the conversion, not the network.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sluice_schema::converter::{AvroConverter, Converter, ConverterConfig, JsonConverter};
use sluice_schema::logical::timestamp_schema;
use sluice_schema::{Schema, SchemaBuilder, SchemaRef, Struct, Value};

const RECORDS: usize = 200_000;
const ROUNDS: usize = 5;

fn record() -> Result<(SchemaRef, Value), Box<dyn std::error::Error>> {
    let schema = SchemaBuilder::struct_()
        .name("com.example.Order")
        .field("id", Schema::int64())
        .field("customer", Schema::string())
        .field("email", Schema::optional_string())
        .field("quantity", Schema::int32())
        .field("price", Schema::float64())
        .field("paid", Schema::boolean())
        .field("status", Schema::string())
        .field("note", Schema::optional_string())
        .field("discount", Schema::float32())
        .field("created", timestamp_schema().build())
        .build();
    let value = Struct::new(schema.clone())
        .put("id", Value::Int64(1_234_567))?
        .put("customer", Value::String("Ada Lovelace".into()))?
        .put("email", Value::String("ada@example.com".into()))?
        .put("quantity", Value::Int32(3))?
        .put("price", Value::Float64(19.99))?
        .put("paid", Value::Boolean(true))?
        .put("status", Value::String("SHIPPED".into()))?
        .put("note", Value::Null)?
        .put("discount", Value::Float32(0.5))?
        .put("created", Value::Int64(1_764_000_000_000))?;
    Ok((schema, Value::Struct(value)))
}

/// Answers `POST /subjects/*/versions` with id 1 and `GET /schemas/ids/1`
/// with the schema posted.
fn registry_stub() -> Result<u16, std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let schema: Arc<Mutex<String>> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let schema = schema.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let request = line.clone();
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        if header == "\r\n" {
                            break;
                        }
                        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let answer = if request.starts_with("POST") {
                        let posted: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        if let (Ok(mut s), Some(text)) = (schema.lock(), posted["schema"].as_str())
                        {
                            *s = text.to_owned();
                        }
                        serde_json::json!({"id": 1}).to_string()
                    } else {
                        let text = schema.lock().map(|s| s.clone()).unwrap_or_default();
                        serde_json::json!({"schema": text}).to_string()
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    if reader.get_mut().write_all(response.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(port)
}

fn time_per_record(
    mut f: impl FnMut() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<f64, Box<dyn std::error::Error>> {
    let start = Instant::now();
    for _ in 0..RECORDS {
        f()?;
    }
    Ok(start.elapsed().as_nanos() as f64 / RECORDS as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (schema, value) = record()?;
    let port = registry_stub()?;
    let json = JsonConverter::new(&ConverterConfig::new(false).with("schemas.enable", "true"))?;
    let avro = AvroConverter::new(
        &ConverterConfig::new(false)
            .with("schema.registry.url", format!("http://127.0.0.1:{port}")),
    )?;
    let converters: [(&str, &dyn Converter); 2] = [
        ("JsonConverter (schemas.enable=true)", &json),
        ("AvroConverter", &avro),
    ];
    let mut encode = [Vec::new(), Vec::new()];
    let mut decode = [Vec::new(), Vec::new()];
    let mut sizes = [0, 0];
    for _ in 0..ROUNDS {
        for (i, (_, c)) in converters.iter().enumerate() {
            let bytes = c
                .from_connect("orders", Some(&schema), &value)?
                .unwrap_or_default();
            sizes[i] = bytes.len();
            let back = c.to_connect("orders", Some(&bytes))?;
            assert_eq!(back.value, value, "round trip");
            encode[i].push(time_per_record(|| {
                std::hint::black_box(c.from_connect("orders", Some(&schema), &value)?);
                Ok(())
            })?);
            decode[i].push(time_per_record(|| {
                std::hint::black_box(c.to_connect("orders", Some(&bytes))?);
                Ok(())
            })?);
        }
    }
    println!(
        "converter cost per record, 10-field record, {RECORDS} records x {ROUNDS} alternating rounds (median, min-max ns)"
    );
    println!(
        "{:<38} {:>6} {:>22} {:>22}",
        "converter", "bytes", "encode ns", "decode ns"
    );
    for (i, (name, _)) in converters.iter().enumerate() {
        let range = |v: &Vec<f64>| {
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            let max = v.iter().copied().fold(0.0, f64::max);
            format!("{:.0} ({min:.0}-{max:.0})", median(v.clone()))
        };
        println!(
            "{name:<38} {:>6} {:>22} {:>22}",
            sizes[i],
            range(&encode[i]),
            range(&decode[i])
        );
    }
    println!(
        "Avro/JSON ratio of medians: encode {:.2}x, decode {:.2}x, encode+decode {:.2}x (goal <= 1.5x)",
        median(encode[1].clone()) / median(encode[0].clone()),
        median(decode[1].clone()) / median(decode[0].clone()),
        (median(encode[1].clone()) + median(decode[1].clone()))
            / (median(encode[0].clone()) + median(decode[0].clone()))
    );
    Ok(())
}
