//! Observability against a real broker: `/metrics` counts equal what moved,
//! correlation ids travel from source to sink and DLQ, JSON logs carry
//! connector/task/correlation id, sink lag is visible and falls, flow
//! anomalies are raised and cleared, `/health` answers.

use std::time::{Duration, Instant};

use sluice_tests::*;

/// The value of one series in the Prometheus text, e.g.
/// `metric("x_total", &[("connector","c")])`; labels must all match.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn scrape(port: u16) -> String {
    http_get(port, "/metrics")
        .map(|(_, b)| b)
        .unwrap_or_default()
}

#[test]
fn metrics_count_what_moved_and_correlation_ids_travel_to_sink_and_dlq() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.txt");
    let lines: Vec<String> = (0..300)
        .map(|i| {
            if i % 50 == 7 {
                format!("bad-{i}")
            } else {
                i.to_string()
            }
        })
        .collect();
    append_lines(&input, &lines)?;
    let topic = unique("obs");
    let dlq = unique("obs-dlq");
    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        "log.format=json\nmetrics.sample.window.ms=2000\n",
    )?;
    let source = write_file(
        dir.path(),
        "source.properties",
        &format!(
            "name=obs-src\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n",
            input.display()
        ),
    )?;
    let sink = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name=obs-sink\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
             transforms=cast\ntransforms.cast.type=Cast$Value\ntransforms.cast.spec=int32\n\
             errors.tolerance=all\nerrors.log.enable=true\nerrors.deadletterqueue.topic.name={dlq}\n\
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
            source.to_str().unwrap_or_default(),
            sink.to_str().unwrap_or_default(),
        ],
        &[],
        "worker.log",
    )?;
    wait_until(Duration::from_secs(60), "294 lines in the sink", || {
        (read_lines(&out).len() >= 294).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;

    // Counters equal what moved (acknowledgements may trail by a moment).
    let text = wait_until(Duration::from_secs(20), "settled counters", || {
        let t = scrape(port);
        let src = [("connector", "obs-src"), ("task", "0")];
        let snk = [("connector", "obs-sink"), ("task", "0")];
        let want = [
            (
                "kafka_connect_source_task_source_record_poll_total",
                &src,
                300.0,
            ),
            (
                "kafka_connect_source_task_source_record_write_total",
                &src,
                300.0,
            ),
            (
                "kafka_connect_sink_task_sink_record_read_total",
                &snk,
                300.0,
            ),
            (
                "kafka_connect_sink_task_sink_record_send_total",
                &snk,
                294.0,
            ),
            ("kafka_connect_task_error_total_records_skipped", &snk, 6.0),
            (
                "kafka_connect_task_error_deadletterqueue_produce_requests",
                &snk,
                6.0,
            ),
        ];
        want.iter()
            .all(|(n, l, v)| metric(&t, n, &l[..]) == Some(*v))
            .then_some(t)
    })
    .map_err(|e| anyhow::anyhow!("{e}; metrics:\n{}", scrape(port)))?;
    for (name, labels) in [
        (
            "kafka_connect_connector_status",
            vec![("connector", "obs-src"), ("status", "running")],
        ),
        (
            "kafka_connect_connector_task_status",
            vec![("connector", "obs-sink"), ("status", "running")],
        ),
        ("kafka_connect_worker_connector_count", vec![]),
        (
            "kafka_connect_connector_info",
            vec![("connector", "obs-sink"), ("type", "sink")],
        ),
        (
            "kafka_connect_sink_task_partition_count",
            vec![("connector", "obs-sink")],
        ),
    ] {
        let v = metric(&text, name, &labels);
        assert!(v.is_some_and(|v| v >= 1.0), "{name} {labels:?} = {v:?}");
    }
    assert_eq!(
        metric(&text, "kafka_connect_worker_task_count", &[]),
        Some(2.0)
    );
    assert!(text.contains(
        "sluice_librdkafka_queue_max_messages{client=\"producer\",connector=\"obs-src\""
    ));
    let (code, body) = http_get(port, "/health")?;
    assert_eq!(code, 200, "{body}");

    // Every record carries a correlation id; the DLQ records keep theirs.
    let records = consume_records(&broker.bootstrap, &topic, 300, Duration::from_secs(30))?;
    assert_eq!(records.len(), 300);
    let ids: Vec<String> = records
        .iter()
        .map(|r| r.header("correlation-id").unwrap_or_default())
        .collect();
    assert!(ids.iter().all(|i| !i.is_empty()), "{ids:?}");
    let unique_ids: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique_ids.len(), 300);
    let dead = consume_records(&broker.bootstrap, &dlq, 6, Duration::from_secs(30))?;
    assert_eq!(dead.len(), 6);
    let first_bad = &records[7];
    assert_eq!(dead[0].value_text(), "bad-7");
    assert_eq!(
        dead[0].header("correlation-id"),
        first_bad.header("correlation-id")
    );

    // JSON logs: every line parses; the error line names connector, task and
    // correlation id.
    std::thread::sleep(Duration::from_millis(500));
    let log = w.log_text();
    let mut error_line = None;
    for line in log.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| anyhow::anyhow!("not JSON ({e}): {line}"))?;
        if v["message"]
            .as_str()
            .is_some_and(|m| m.contains("Error encountered in task") && m.contains("bad-7"))
            || (v["message"]
                .as_str()
                .is_some_and(|m| m.contains("Error encountered in task"))
                && v["correlation_id"] == first_bad.header("correlation-id").unwrap_or_default())
        {
            error_line = Some(v);
        }
    }
    let v = error_line.ok_or_else(|| anyhow::anyhow!("no JSON error line; log:\n{log}"))?;
    assert_eq!(v["level"], "ERROR");
    assert_eq!(v["span"]["connector"], "obs-sink", "{v}");
    assert_eq!(v["span"]["task"], 0, "{v}");
    assert!(
        v["correlation_id"].as_str().is_some_and(|c| !c.is_empty()),
        "{v}"
    );
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn source_stall_is_flagged_then_cleared() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.txt");
    append_lines(&input, &["start".to_string()])?;
    let topic = unique("stall");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let source = write_file(
        dir.path(),
        "source.properties",
        &format!(
            "name=flow\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n\
             anomaly.sample.interval.ms=500\nanomaly.warmup.samples=6\nanomaly.clear.samples=2\n",
            input.display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[
            worker_props.to_str().unwrap_or_default(),
            source.to_str().unwrap_or_default(),
        ],
        &[],
        "worker.log",
    )?;
    // A steady writer: 25 lines every 50 ms (~500 records/s).
    let write_for = |d: Duration, from: usize| -> anyhow::Result<usize> {
        let start = Instant::now();
        let mut n = from;
        while start.elapsed() < d {
            append_lines(&input, &numbered("l", n, 25))?;
            n += 25;
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(n)
    };
    let n = write_for(Duration::from_secs(8), 0)?;
    let anomaly = |kind: &str| {
        metric(
            &scrape(port),
            "sluice_flow_anomaly",
            &[("connector", "flow"), ("kind", kind)],
        )
    };
    assert_eq!(
        anomaly("stall"),
        Some(0.0),
        "no stall while flowing; log:\n{}",
        w.log_text()
    );
    // The writer pauses: the flow stalls.
    let st = wait_until(Duration::from_secs(15), "a stall", || {
        (anomaly("stall") == Some(1.0)).then(|| connector_status(port, "flow").unwrap_or_default())
    })
    .map_err(|e| anyhow::anyhow!("{e}; metrics:\n{}\nlog:\n{}", scrape(port), w.log_text()))?;
    let kinds: Vec<&str> = st["anomalies"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["kind"].as_str()).collect())
        .unwrap_or_default();
    assert!(kinds.contains(&"stall"), "{st}");
    assert!(w.log_text().contains("flow anomaly: stall"));
    // It flows again: the stall clears.
    write_for(Duration::from_secs(3), n)?;
    wait_until(Duration::from_secs(10), "the stall to clear", || {
        (anomaly("stall") == Some(0.0)).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn error_burst_is_flagged_then_cleared() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("burst");
    create_topic(&broker.bootstrap, &topic)?;
    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let sink = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name=burst\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
             transforms=cast\ntransforms.cast.type=Cast$Value\ntransforms.cast.spec=int32\n\
             errors.tolerance=all\n\
             anomaly.sample.interval.ms=500\nanomaly.warmup.samples=4\nanomaly.clear.samples=2\n",
            out.display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[
            worker_props.to_str().unwrap_or_default(),
            sink.to_str().unwrap_or_default(),
        ],
        &[],
        "worker.log",
    )?;
    let anomaly = || {
        metric(
            &scrape(port),
            "sluice_flow_anomaly",
            &[("connector", "burst"), ("kind", "error_burst")],
        )
    };
    let good = |n: usize| -> Vec<String> { (0..n).map(|i| i.to_string()).collect() };
    for _ in 0..14 {
        produce_strings(&broker.bootstrap, &topic, &good(50))?;
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(anomaly(), Some(0.0), "log:\n{}", w.log_text());
    produce_strings(&broker.bootstrap, &topic, &numbered("poison", 0, 200))?;
    wait_until(Duration::from_secs(15), "an error burst", || {
        (anomaly() == Some(1.0)).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; metrics:\n{}\nlog:\n{}", scrape(port), w.log_text()))?;
    let st = connector_status(port, "burst").unwrap_or_default();
    assert!(st["anomalies"].to_string().contains("error_burst"), "{st}");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) && anomaly() != Some(0.0) {
        produce_strings(&broker.bootstrap, &topic, &good(50))?;
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(anomaly(), Some(0.0), "cleared; log:\n{}", w.log_text());
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn stuck_sink_shows_growing_lag_which_falls_when_it_recovers() -> anyhow::Result<()> {
    use sluice_schema::converter::{AvroConverter, Converter, ConverterConfig};
    use sluice_schema::{Schema, Value};

    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("lag");
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
    let framed = conv
        .from_connect(&topic, Some(&Schema::string()), &Value::String("x".into()))?
        .unwrap_or_default();
    assert!(registry.stop()?.success());

    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let sink = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name=lagging\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
             value.converter=io.confluent.connect.avro.AvroConverter\nvalue.converter.schema.registry.url={url}\n\
             errors.retry.timeout=-1\nerrors.retry.delay.max.ms=500\n\
             anomaly.sample.interval.ms=500\nanomaly.lag.growth.samples=4\nanomaly.lag.min=50\nanomaly.clear.samples=2\n",
            out.display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[
            worker_props.to_str().unwrap_or_default(),
            sink.to_str().unwrap_or_default(),
        ],
        &[],
        "worker.log",
    )?;
    let lag = || {
        metric(
            &scrape(port),
            "sluice_sink_task_consumer_lag",
            &[("connector", "lagging"), ("topic", &topic)],
        )
    };
    let anomaly = |kind: &str| {
        metric(
            &scrape(port),
            "sluice_flow_anomaly",
            &[("connector", "lagging"), ("kind", kind)],
        )
    };
    // The registry is away: the sink is stuck on its first record while
    // records keep arriving.
    let mut lags = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) && anomaly("lag_growth") != Some(1.0) {
        produce_bytes(&broker.bootstrap, &topic, &vec![framed.as_slice(); 40])?;
        std::thread::sleep(Duration::from_millis(300));
        if let Some(l) = lag() {
            lags.push(l);
        }
    }
    assert_eq!(
        anomaly("lag_growth"),
        Some(1.0),
        "lags {lags:?}; log:\n{}",
        w.log_text()
    );
    assert_eq!(
        anomaly("stall"),
        Some(1.0),
        "a backlog that does not move is a stall"
    );
    assert!(lags.windows(2).any(|w| w[1] > w[0]), "lag grew: {lags:?}");
    let peak = lags.iter().copied().fold(0.0, f64::max);
    assert!(peak >= 50.0, "{lags:?}");

    // The registry returns: the sink catches up, lag falls, anomalies clear.
    let mut registry = Worker::start_registry(dir.path(), reg_port, &reg_props, "registry2.log")?;
    wait_until(Duration::from_secs(30), "lag back to 0", || {
        (lag() == Some(0.0)).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    wait_until(Duration::from_secs(15), "anomalies cleared", || {
        (anomaly("lag_growth") == Some(0.0) && anomaly("stall") == Some(0.0)).then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; metrics:\n{}", scrape(port)))?;
    assert!(read_lines(&out).len() >= lags.len() * 40);
    assert!(w.stop()?.success());
    assert!(registry.stop()?.success());
    Ok(())
}
