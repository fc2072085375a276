//! Avro with a schema registry, against a real broker:
//! - the `sluice schema-registry` process keeps ids across restarts, two
//!   instances on one topic agree, and the topic holds Confluent's layout;
//! - a worker with the embedded registry writes Confluent-framed Avro that a
//!   plain Avro reader decodes with the schema fetched from the registry, and
//!   its sink reads it back;
//! - schema evolution: v1 then v2 (an added optional field) registers v2 and
//!   the sink reads both; an incompatible change is refused naming the
//!   subject and the rule, and fails a task.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_schema::converter::{AvroConverter, Converter, ConverterConfig};
use sluice_schema::{Schema, SchemaBuilder, Struct, Value as ConnectValue};
use sluice_tests::*;

fn registry_props(
    dir: &Path,
    name: &str,
    port: u16,
    bootstrap: &str,
    topic: &str,
) -> anyhow::Result<std::path::PathBuf> {
    write_file(
        dir,
        name,
        &format!(
            "listeners=http://127.0.0.1:{port}\n\
             kafkastore.bootstrap.servers=PLAINTEXT://{bootstrap}\n\
             kafkastore.topic={topic}\n\
             schema.compatibility.level=backward\n\
             debug=false\n"
        ),
    )
}

fn register(port: u16, subject: &str, schema: &Value) -> anyhow::Result<(u16, Value)> {
    let body = json!({"schema": schema.to_string()}).to_string();
    let (status, text) = http_request(
        port,
        "POST",
        &format!("/subjects/{subject}/versions"),
        &body,
    )?;
    Ok((status, serde_json::from_str(&text)?))
}

fn get_json(port: u16, path: &str) -> anyhow::Result<(u16, Value)> {
    let (status, text) = http_get(port, path)?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

#[test]
fn registry_keeps_ids_across_restarts_and_instances_agree() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("_schemas");
    let (port_a, port_b) = (free_port()?, free_port()?);
    let props_a = registry_props(
        dir.path(),
        "a.properties",
        port_a,
        &broker.bootstrap,
        &topic,
    )?;
    let props_b = registry_props(
        dir.path(),
        "b.properties",
        port_b,
        &broker.bootstrap,
        &topic,
    )?;

    let user = json!({"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"id","type":"long"}]});
    let order = json!({"type":"record","name":"Order","fields":[{"name":"total","type":"double"}]});
    let mut a = Worker::start_registry(dir.path(), port_a, &props_a, "registry-a.log")?;
    assert_eq!(
        register(port_a, "users-value", &user)?,
        (200, json!({"id": 1}))
    );
    assert_eq!(
        register(port_a, "orders-value", &order)?,
        (200, json!({"id": 2}))
    );
    a.stop()?;

    // The topic holds Confluent's key/value layout.
    let records = consume_all(&broker.bootstrap, &topic, Duration::from_secs(2), 100)?;
    let keys: Vec<Value> = records
        .iter()
        .filter_map(|(k, _)| serde_json::from_slice(k.as_deref()?).ok())
        .collect();
    assert!(
        keys.contains(&json!({"keytype":"SCHEMA","subject":"users-value","version":1,"magic":1})),
        "{keys:?}"
    );

    let _a = Worker::start_registry(dir.path(), port_a, &props_a, "registry-a2.log")?;
    let _b = Worker::start_registry(dir.path(), port_b, &props_b, "registry-b.log")?;
    for port in [port_a, port_b] {
        assert_eq!(
            get_json(port, "/schemas/ids/1")?,
            (200, json!({"schema": user.to_string()}))
        );
        assert_eq!(
            get_json(port, "/subjects")?,
            (200, json!(["orders-value", "users-value"]))
        );
        assert_eq!(
            get_json(port, "/subjects/orders-value/versions/latest")?.1["id"],
            2,
            "registry on port {port}"
        );
    }
    // A write through B gets the next id and A sees it.
    let item = json!({"type":"record","name":"Item","fields":[{"name":"sku","type":"string"}]});
    assert_eq!(
        register(port_b, "items-value", &item)?,
        (200, json!({"id": 3}))
    );
    wait_until(
        Duration::from_secs(10),
        "registry A to read B's write",
        || {
            get_json(port_a, "/schemas/ids/3")
                .ok()
                .filter(|(s, _)| *s == 200)
        },
    )?;
    // Writes through both, alternating, never hand one id to two schemas.
    for i in 0..6 {
        let port = if i % 2 == 0 { port_a } else { port_b };
        let schema = json!({"type":"record","name":format!("R{i}"),"fields":[]});
        let (status, body) = register(port, &format!("r{i}-value"), &schema)?;
        assert_eq!((status, body["id"].clone()), (200, json!(4 + i)), "{body}");
    }
    Ok(())
}

/// A broker, a worker with the embedded registry and Avro values, and the
/// ports involved.
struct AvroWorker {
    broker: Broker,
    dir: tempfile::TempDir,
    rest: u16,
    registry: u16,
    worker: Worker,
}

impl AvroWorker {
    fn start(connectors: &[(&str, String)]) -> anyhow::Result<Self> {
        let broker = Broker::start()?;
        let dir = tempfile::tempdir()?;
        let (rest, registry) = (free_port()?, free_port()?);
        let extra = format!(
            "schema.registry.embedded=true\n\
             schema.registry.listeners=http://127.0.0.1:{registry}\n\
             schema.registry.kafkastore.topic={}\n\
             value.converter=io.confluent.connect.avro.AvroConverter\n\
             value.converter.schema.registry.url=http://127.0.0.1:{registry}\n",
            unique("_schemas")
        );
        let worker_props = write_worker_props(dir.path(), &broker.bootstrap, &extra)?;
        let mut args = vec![worker_props.display().to_string()];
        for (name, text) in connectors {
            args.push(write_file(dir.path(), name, text)?.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let worker = Worker::start(dir.path(), rest, &args, &[], "worker.log")?;
        Ok(Self {
            broker,
            dir,
            rest,
            registry,
            worker,
        })
    }
}

#[test]
fn file_pipeline_writes_confluent_avro_a_plain_reader_decodes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let topic = unique("avro-lines");
    let lines = numbered("line", 0, 50);
    append_lines(&input, &lines)?;
    let source = format!(
        "name=src\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n",
        input.display()
    );
    let sink = format!(
        "name=sink\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
        output.display()
    );
    let w = AvroWorker::start(&[("source.properties", source), ("sink.properties", sink)])?;

    let records = wait_until(Duration::from_secs(30), "50 records in the topic", || {
        consume_all(&w.broker.bootstrap, &topic, Duration::from_secs(1), 50)
            .ok()
            .filter(|r| r.len() == 50)
    })?;
    let (_, subject) = get_json(
        w.registry,
        &format!("/subjects/{topic}-value/versions/latest"),
    )?;
    let id = subject["id"].as_u64().expect("an id");
    let (_, by_id) = get_json(w.registry, &format!("/schemas/ids/{id}"))?;
    let schema = apache_avro::Schema::parse_str(by_id["schema"].as_str().expect("schema text"))?;
    for ((_, value), line) in records.iter().zip(&lines) {
        let bytes = value.as_deref().expect("a value");
        assert_eq!(bytes[0], 0, "magic byte");
        assert_eq!(
            u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]),
            u32::try_from(id)?
        );
        let decoded = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
            .build()?
            .read_value(&mut &bytes[5..])?;
        assert_eq!(decoded, apache_avro::types::Value::String(line.clone()));
    }
    let written = wait_until(
        Duration::from_secs(30),
        "the sink to write 50 lines",
        || {
            std::fs::read_to_string(&output)
                .ok()
                .filter(|t| t.lines().count() == 50)
        },
    )?;
    assert_eq!(
        written.lines().collect::<Vec<_>>(),
        lines.iter().map(String::as_str).collect::<Vec<_>>()
    );
    drop(w.dir);
    Ok(())
}

#[test]
fn incompatible_schema_fails_the_source_task_naming_subject_and_rule() -> anyhow::Result<()> {
    let mut w = AvroWorker::start(&[])?;
    let topic = unique("avro-incompatible");
    let existing =
        json!({"type":"record","name":"Line","fields":[{"name":"text","type":"string"}]});
    assert_eq!(
        register(w.registry, &format!("{topic}-value"), &existing)?.0,
        200
    );
    let input = w.dir.path().join("in.txt");
    append_lines(&input, &numbered("line", 0, 3))?;
    let body = json!({"name": "src", "config": {
        "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic}});
    let (status, text) = http_request(w.rest, "POST", "/connectors", &body.to_string())?;
    assert_eq!(status, 201, "{text}");
    let trace = wait_until(Duration::from_secs(30), "the task to fail", || {
        let (_, status) = get_json(w.rest, "/connectors/src/status").ok()?;
        let task = &status["tasks"][0];
        (task["state"] == "FAILED").then(|| task["trace"].as_str().unwrap_or_default().to_owned())
    })?;
    assert!(trace.contains(&format!("{topic}-value")), "{trace}");
    assert!(
        trace.contains("incompatible") && trace.contains("TYPE_MISMATCH"),
        "{trace}"
    );
    assert!(consume_all(&w.broker.bootstrap, &topic, Duration::from_secs(1), 10)?.is_empty());
    w.worker.stop()?;
    Ok(())
}

fn user_v1() -> std::sync::Arc<Schema> {
    SchemaBuilder::struct_()
        .name("com.acme.User")
        .field("id", Schema::int64())
        .build()
}

fn user_v2() -> std::sync::Arc<Schema> {
    SchemaBuilder::struct_()
        .name("com.acme.User")
        .field("id", Schema::int64())
        .field("email", Schema::optional_string())
        .build()
}

#[test]
fn schema_evolution_registers_v2_and_the_sink_reads_both() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("users.txt");
    let topic = unique("avro-users");
    let sink = format!(
        "name=sink\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
        output.display()
    );
    let w = AvroWorker::start(&[("sink.properties", sink)])?;

    // A producer-side converter against the worker's registry, as a source task uses it.
    let converter = AvroConverter::new(&ConverterConfig::new(false).with(
        "schema.registry.url",
        format!("http://127.0.0.1:{}", w.registry),
    ))?;
    let v1 = Struct::new(user_v1()).put("id", ConnectValue::Int64(1))?;
    let v2 = Struct::new(user_v2())
        .put("id", ConnectValue::Int64(2))?
        .put("email", ConnectValue::String("a@b.c".into()))?;
    let v2_null = Struct::new(user_v2()).put("id", ConnectValue::Int64(3))?;
    let mut values = Vec::new();
    for (schema, value) in [(user_v1(), v1), (user_v2(), v2), (user_v2(), v2_null)] {
        values.push(
            converter
                .from_connect(&topic, Some(&schema), &ConnectValue::Struct(value))?
                .expect("bytes"),
        );
    }
    assert_eq!(
        get_json(w.registry, &format!("/subjects/{topic}-value/versions"))?,
        (200, json!([1, 2]))
    );

    // Both versions read back to the schema they were written with.
    let back = converter.to_connect(&topic, Some(&values[0]))?;
    assert_eq!(back.schema.as_deref(), Some(&*user_v1()));
    let back = converter.to_connect(&topic, Some(&values[1]))?;
    assert_eq!(back.schema.as_deref(), Some(&*user_v2()));

    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    produce_bytes(&w.broker.bootstrap, &topic, &refs)?;
    let written = wait_until(Duration::from_secs(30), "the sink to write 3 lines", || {
        std::fs::read_to_string(&output)
            .ok()
            .filter(|t| t.lines().count() == 3)
    })?;
    assert_eq!(
        written,
        "Struct{id=1}\nStruct{id=2,email=a@b.c}\nStruct{id=3}\n"
    );

    // v3 adds a required field without a default: BACKWARD refuses it.
    let v3 = SchemaBuilder::struct_()
        .name("com.acme.User")
        .field("id", Schema::int64())
        .field("email", Schema::optional_string())
        .field("age", Schema::int32())
        .build();
    let value = Struct::new(v3.clone())
        .put("id", ConnectValue::Int64(4))?
        .put("age", ConnectValue::Int32(40))?;
    let err = converter
        .from_connect(&topic, Some(&v3), &ConnectValue::Struct(value))
        .expect_err("an incompatible schema must be refused")
        .to_string();
    assert!(err.contains(&format!("{topic}-value")), "{err}");
    assert!(err.contains("READER_FIELD_MISSING_DEFAULT_VALUE"), "{err}");
    assert!(err.contains("age"), "{err}");

    // Bad bytes name what is wrong.
    let err = converter
        .to_connect(&topic, Some(b"{\"id\":1}"))
        .expect_err("not Avro")
        .to_string();
    assert!(err.contains("Unknown magic byte"), "{err}");
    let err = converter
        .to_connect(&topic, Some(&[0, 0, 0, 0x7f, 0x7f, 2]))
        .expect_err("unknown id")
        .to_string();
    assert!(err.contains("40403") || err.contains("not found"), "{err}");
    Ok(())
}
