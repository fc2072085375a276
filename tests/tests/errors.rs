//! Error handling against a real broker: `errors.tolerance`, the dead letter
//! queue with Kafka Connect's context headers (sinks, and sources as a
//! Sluice extension), the failure-rate guard, and "no offset past an
//! unhandled record".

use std::time::Duration;

use sluice_tests::*;

fn wait_task_state(
    port: u16,
    name: &str,
    state: &str,
    w: &Worker,
) -> anyhow::Result<serde_json::Value> {
    wait_until(
        Duration::from_secs(60),
        &format!("{name} task {state}"),
        || {
            let v = connector_status(port, name)?;
            (v["tasks"][0]["state"] == state).then_some(v)
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))
}

/// The committed sink offset of partition 0, read through the offsets API
/// (the connector must be STOPPED).
fn committed_sink_offset(port: u16, name: &str) -> anyhow::Result<Option<i64>> {
    let (code, body) = http_request(port, "PUT", &format!("/connectors/{name}/stop"), "")?;
    anyhow::ensure!(code == 204, "stop: {code} {body}");
    let v = wait_until(Duration::from_secs(30), "the connector to stop", || {
        let v = connector_status(port, name)?;
        (v["connector"]["state"] == "STOPPED").then_some(v)
    })?;
    let _ = v;
    let (code, body) = http_get(port, &format!("/connectors/{name}/offsets"))?;
    anyhow::ensure!(code == 200, "offsets: {code} {body}");
    let v: serde_json::Value = serde_json::from_str(&body)?;
    Ok(v["offsets"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(|o| o["offset"]["kafka_offset"].as_i64()))
}

#[test]
fn sink_dead_letters_malformed_records_and_keeps_running() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("dlq-in");
    let dlq = unique("dlq");
    create_topic(&broker.bootstrap, &topic)?;
    let records: Vec<ValueWithHeaders<'_>> = vec![
        (br#"{"n":0}"#, &[]),
        (b"not json at all", &[("trace-id", "abc")]),
        (br#"{"n":2}"#, &[]),
        (br#"{"n":3}"#, &[]),
        (b"{broken", &[]),
        (br#"{"n":5}"#, &[]),
        (b"\xff\xfe", &[]),
        (br#"{"n":7}"#, &[]),
    ];
    produce_with_headers(&broker.bootstrap, &topic, &records)?;

    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let name = unique("dlq-sink");
    let conn = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name={name}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n\
             errors.tolerance=all\nerrors.log.enable=true\nerrors.log.include.messages=true\n\
             errors.deadletterqueue.topic.name={dlq}\nerrors.deadletterqueue.topic.replication.factor=1\n\
             errors.deadletterqueue.context.headers.enable=true\n",
            out.display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[
            worker_props.to_str().unwrap_or_default(),
            conn.to_str().unwrap_or_default(),
        ],
        &[],
        "worker.log",
    )?;
    let lines = wait_until(
        Duration::from_secs(60),
        "5 good records in the sink",
        || {
            let l = read_lines(&out);
            (l.len() >= 5).then_some(l)
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert_eq!(lines, ["{n=0}", "{n=2}", "{n=3}", "{n=5}", "{n=7}"]);

    let dead = consume_records(&broker.bootstrap, &dlq, 3, Duration::from_secs(30))?;
    assert_eq!(dead.len(), 3, "3 records in the DLQ: {dead:?}");
    let want = [
        (1, &b"not json at all"[..]),
        (4, &b"{broken"[..]),
        (6, &b"\xff\xfe"[..]),
    ];
    for (d, (offset, bytes)) in dead.iter().zip(want) {
        assert_eq!(d.value.as_deref(), Some(bytes), "original bytes kept");
        assert_eq!(d.header("__connect.errors.topic"), Some(topic.clone()));
        assert_eq!(d.header("__connect.errors.partition").as_deref(), Some("0"));
        assert_eq!(
            d.header("__connect.errors.offset"),
            Some(offset.to_string())
        );
        assert_eq!(
            d.header("__connect.errors.connector.name"),
            Some(name.clone())
        );
        assert_eq!(d.header("__connect.errors.task.id").as_deref(), Some("0"));
        assert_eq!(
            d.header("__connect.errors.stage").as_deref(),
            Some("VALUE_CONVERTER")
        );
        assert_eq!(
            d.header("__connect.errors.class.name").as_deref(),
            Some("org.apache.kafka.connect.json.JsonConverter")
        );
        assert_eq!(
            d.header("__connect.errors.exception.class.name").as_deref(),
            Some("org.apache.kafka.connect.errors.DataException")
        );
        let message = d
            .header("__connect.errors.exception.message")
            .unwrap_or_default();
        assert!(
            message.contains("Converting byte[] to Kafka Connect data failed"),
            "{message}"
        );
        let trace = d
            .header("__connect.errors.exception.stacktrace")
            .unwrap_or_default();
        assert!(
            trace.starts_with("org.apache.kafka.connect.errors.DataException: "),
            "{trace}"
        );
    }
    assert_eq!(
        dead[0].header("trace-id").as_deref(),
        Some("abc"),
        "original headers kept"
    );

    let st = connector_status(port, &name).unwrap_or_default();
    assert_eq!(st["tasks"][0]["state"], "RUNNING", "{st}");
    let log = w.log_text();
    assert!(
        log.contains("Error encountered in task")
            && log.contains(&format!(
                "where consumed record is {{topic='{topic}', partition=0, offset=4"
            )),
        "errors.log.enable logs the record's position: {log}"
    );
    assert!(
        !log.contains("{broken"),
        "a consumed record's value is never logged, as in Kafka Connect"
    );
    // Every record was handled (put or dead-lettered): the committed offset
    // is past all of them.
    wait_sink_offset(port, &name, &topic, 8, Duration::from_secs(30))
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert_eq!(committed_sink_offset(port, &name)?, Some(8));
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn tolerance_none_fails_naming_stage_and_record_and_commits_nothing_past_it() -> anyhow::Result<()>
{
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("none-in");
    create_topic(&broker.bootstrap, &topic)?;
    produce_strings(&broker.bootstrap, &topic, &numbered("ok", 0, 3))?;
    let name = unique("none-sink");
    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let conn = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name={name}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
             transforms=cast\ntransforms.cast.type=org.apache.kafka.connect.transforms.Cast$Value\n\
             transforms.cast.spec=int32\n",
            out.display()
        ),
    )?;
    // "ok-0".. are not numbers: the Cast transform fails on the first one.
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[
            worker_props.to_str().unwrap_or_default(),
            conn.to_str().unwrap_or_default(),
        ],
        &[],
        "worker.log",
    )?;
    let st = wait_task_state(port, &name, "FAILED", &w)?;
    let trace = st["tasks"][0]["trace"].as_str().unwrap_or_default();
    for want in [
        "Tolerance exceeded in error handler",
        "TRANSFORMATION",
        "org.apache.kafka.connect.transforms.Cast$Value",
        &format!("topic {topic} partition 0 offset 0"),
    ] {
        assert!(trace.contains(want), "trace lacks {want:?}: {trace}");
    }
    assert!(read_lines(&out).is_empty(), "nothing was written");
    assert_eq!(
        committed_sink_offset(port, &name)?,
        None,
        "nothing committed"
    );
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn failure_rate_guard_fails_a_task_that_dead_letters_too_much() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("rate-in");
    let dlq = unique("rate-dlq");
    create_topic(&broker.bootstrap, &topic)?;
    let mut values = numbered("bad", 0, 5);
    values.push("12".to_string());
    produce_strings(&broker.bootstrap, &topic, &values)?;
    let name = unique("rate-sink");
    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let conn = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name={name}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
             transforms=cast\ntransforms.cast.type=Cast$Value\ntransforms.cast.spec=int32\n\
             errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\n\
             errors.deadletterqueue.max.rate=2\nerrors.deadletterqueue.max.rate.window.ms=60000\n",
            out.display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[
            worker_props.to_str().unwrap_or_default(),
            conn.to_str().unwrap_or_default(),
        ],
        &[],
        "worker.log",
    )?;
    let st = wait_task_state(port, &name, "FAILED", &w)?;
    let trace = st["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(trace.contains("More than 2 errant records"), "{trace}");
    assert!(
        trace.contains(&format!("topic {topic} partition 0 offset 2")),
        "{trace}"
    );
    let dead = consume_records(&broker.bootstrap, &dlq, 2, Duration::from_secs(20))?;
    assert_eq!(
        dead.iter().map(Consumed::value_text).collect::<Vec<_>>(),
        ["bad-000000", "bad-000001"]
    );
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn source_records_failing_conversion_or_transforms_go_to_the_source_dlq() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.txt");
    append_lines(&input, &["1", "2", "x", "3", "y"].map(str::to_string))?;
    let topic = unique("src-out");
    let dlq = unique("src-dlq");
    let bytes_topic = unique("src-bytes");
    let bytes_dlq = unique("src-bytes-dlq");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let errors = "errors.tolerance=all\nerrors.deadletterqueue.topic.replication.factor=1\n\
                  errors.deadletterqueue.context.headers.enable=true\n";
    // Cast fails on "x" and "y" (TRANSFORMATION).
    let cast = write_file(
        dir.path(),
        "cast.properties",
        &format!(
            "name=cast-src\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n\
             transforms=cast\ntransforms.cast.type=org.apache.kafka.connect.transforms.Cast$Value\n\
             transforms.cast.spec=int32\nerrors.deadletterqueue.topic.name={dlq}\n{errors}",
            input.display()
        ),
    )?;
    // ByteArrayConverter refuses string values (VALUE_CONVERTER): all fail.
    let bytes = write_file(
        dir.path(),
        "bytes.properties",
        &format!(
            "name=bytes-src\nconnector.class=FileStreamSource\nfile={}\ntopic={bytes_topic}\n\
             value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n\
             errors.deadletterqueue.topic.name={bytes_dlq}\n{errors}",
            input.display()
        ),
    )?;
    let args = [
        worker_props.to_str().unwrap_or_default(),
        cast.to_str().unwrap_or_default(),
        bytes.to_str().unwrap_or_default(),
    ];
    let port = free_port()?;
    let mut w = Worker::start(dir.path(), port, &args, &[], "worker1.log")?;
    let good = consume_records(&broker.bootstrap, &topic, 3, Duration::from_secs(60))?;
    assert_eq!(
        good.iter().map(Consumed::value_text).collect::<Vec<_>>(),
        ["1", "2", "3"],
        "log:\n{}",
        w.log_text()
    );
    let dead = consume_records(&broker.bootstrap, &dlq, 2, Duration::from_secs(30))?;
    assert_eq!(
        dead.iter().map(Consumed::value_text).collect::<Vec<_>>(),
        ["\"x\"", "\"y\""],
        "the polled values, as JSON"
    );
    let d = &dead[0];
    assert_eq!(
        d.header("__connect.errors.stage").as_deref(),
        Some("TRANSFORMATION")
    );
    assert_eq!(
        d.header("__connect.errors.class.name").as_deref(),
        Some("org.apache.kafka.connect.transforms.Cast$Value")
    );
    assert_eq!(d.header("__connect.errors.topic"), Some(topic.clone()));
    assert_eq!(
        d.header("__connect.errors.connector.name").as_deref(),
        Some("cast-src")
    );
    let sp = d
        .header("__connect.errors.source.partition")
        .unwrap_or_default();
    assert!(sp.contains("in.txt"), "{sp}");
    let so: serde_json::Value = serde_json::from_str(
        &d.header("__connect.errors.source.offset")
            .unwrap_or_default(),
    )?;
    assert_eq!(so["position"], 6, "the offset after \"x\\n\"");

    let dead_bytes = consume_records(&broker.bootstrap, &bytes_dlq, 5, Duration::from_secs(30))?;
    assert_eq!(dead_bytes.len(), 5);
    assert_eq!(
        dead_bytes[0].header("__connect.errors.stage").as_deref(),
        Some("VALUE_CONVERTER")
    );
    for c in ["cast-src", "bytes-src"] {
        assert_eq!(
            connector_status(port, c).unwrap_or_default()["tasks"][0]["state"],
            "RUNNING"
        );
    }
    // Both sources stored the offset past every line, errant ones included.
    for c in ["cast-src", "bytes-src"] {
        wait_source_offset(
            port,
            c,
            "position",
            file_len(&input),
            Duration::from_secs(30),
        )?;
    }
    assert!(w.stop()?.success());

    // The errant records' offsets were committed: a restart re-sends nothing.
    let mut w = Worker::start(dir.path(), port, &args, &[], "worker2.log")?;
    append_lines(&input, &["4".to_string()])?;
    let good = consume_records(&broker.bootstrap, &topic, 4, Duration::from_secs(60))?;
    assert_eq!(
        good.iter().map(Consumed::value_text).collect::<Vec<_>>(),
        ["1", "2", "3", "4"],
        "log:\n{}",
        w.log_text()
    );
    // Once the offset past "4" is stored, every record before it was handled.
    wait_source_offset(
        port,
        "cast-src",
        "position",
        file_len(&input),
        Duration::from_secs(30),
    )?;
    assert_eq!(
        consume_records(&broker.bootstrap, &dlq, 3, Duration::from_secs(3))?.len(),
        2,
        "no DLQ record repeated"
    );
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn sink_retries_a_registry_that_is_away_within_errors_retry_timeout() -> anyhow::Result<()> {
    use sluice_schema::converter::{AvroConverter, Converter, ConverterConfig};
    use sluice_schema::{Schema, Value};

    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("retry-in");
    let schemas = unique("_schemas");
    create_topic(&broker.bootstrap, &topic)?;
    let reg_port = free_port()?;
    let reg_props = write_file(
        dir.path(),
        "registry.properties",
        &format!(
            "listeners=http://127.0.0.1:{reg_port}\nkafkastore.bootstrap.servers={}\nkafkastore.topic={schemas}\n",
            broker.bootstrap
        ),
    )?;
    let mut registry = Worker::start_registry(dir.path(), reg_port, &reg_props, "registry1.log")?;
    let url = format!("http://127.0.0.1:{reg_port}");
    let conv = AvroConverter::new(&ConverterConfig::new(false).with("schema.registry.url", &url))?;
    let framed: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            conv.from_connect(
                &topic,
                Some(&Schema::string()),
                &Value::String(format!("r{i}")),
            )
            .map(Option::unwrap_or_default)
        })
        .collect::<Result<_, _>>()?;
    produce_bytes(
        &broker.bootstrap,
        &topic,
        &framed.iter().map(Vec::as_slice).collect::<Vec<_>>(),
    )?;
    assert!(registry.stop()?.success());

    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let name = unique("retry-sink");
    let conn = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name={name}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
             value.converter=io.confluent.connect.avro.AvroConverter\nvalue.converter.schema.registry.url={url}\n\
             errors.retry.timeout=120000\nerrors.retry.delay.max.ms=1000\n",
            out.display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[
            worker_props.to_str().unwrap_or_default(),
            conn.to_str().unwrap_or_default(),
        ],
        &[],
        "worker.log",
    )?;
    wait_until(Duration::from_secs(30), "a retry in the log", || {
        w.log_text()
            .contains("retriable conversion failure")
            .then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    // Retrying, again and again (errors.retry.delay.max.ms=1000), and
    // writing nothing meanwhile.
    wait_until(Duration::from_secs(30), "three retries", || {
        let (_, text) = http_get(port, "/metrics").ok()?;
        let retries: f64 = text
            .lines()
            .filter(|l| l.starts_with("kafka_connect_task_error_total_retries"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        (retries >= 3.0).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert!(read_lines(&out).is_empty());
    assert_eq!(
        connector_status(port, &name).unwrap_or_default()["tasks"][0]["state"],
        "RUNNING"
    );

    // The registry comes back (its state is in the schemas topic).
    let mut registry = Worker::start_registry(dir.path(), reg_port, &reg_props, "registry2.log")?;
    let lines = wait_until(Duration::from_secs(60), "3 records in the sink", || {
        let l = read_lines(&out);
        (l.len() >= 3).then_some(l)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert_eq!(lines, ["r0", "r1", "r2"]);
    assert!(w.stop()?.success());
    assert!(registry.stop()?.success());
    Ok(())
}
