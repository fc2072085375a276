//! FileStreamSink against a real broker: every record of the topic is
//! written, across a restart, with no line lost or doubled after a clean stop.

use std::time::Duration;

use sluice_tests::*;

#[test]
fn sink_writes_every_record_across_a_restart() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("sink-in");
    create_topic(&broker.bootstrap, &topic)?;
    produce_strings(&broker.bootstrap, &topic, &numbered("s", 0, 250))?;

    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let name = unique("sink");
    let conn = write_file(
        dir.path(),
        "sink.json",
        &format!(
            r#"{{"name":"{name}","config":{{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","tasks.max":"1","file":"{}","topics":"{topic}"}}}}"#,
            out.display()
        ),
    )?;
    let args = [
        worker_props.to_str().unwrap_or_default(),
        conn.to_str().unwrap_or_default(),
    ];
    let port = free_port()?;

    let mut w = Worker::start(dir.path(), port, &args, &[], "worker1.log")?;
    wait_until(
        Duration::from_secs(60),
        "250 lines in the sink file",
        || (read_lines(&out).len() >= 250).then_some(()),
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    produce_strings(&broker.bootstrap, &topic, &numbered("s", 250, 50))?;
    wait_until(
        Duration::from_secs(60),
        "300 lines in the sink file",
        || (read_lines(&out).len() >= 300).then_some(()),
    )?;
    let status = w.stop()?;
    assert!(status.success(), "{status}; log:\n{}", w.log_text());
    assert_eq!(read_lines(&out), numbered("s", 0, 300));

    // While the worker is down, more records arrive.
    produce_strings(&broker.bootstrap, &topic, &numbered("s", 300, 100))?;
    let mut w = Worker::start(dir.path(), port, &args, &[], "worker2.log")?;
    wait_until(
        Duration::from_secs(60),
        "400 lines in the sink file",
        || (read_lines(&out).len() >= 400).then_some(()),
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    // Committed past the last record: nothing more can be written twice.
    wait_sink_offset(port, &name, &topic, 400, Duration::from_secs(30))
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert_eq!(
        read_lines(&out),
        numbered("s", 0, 400),
        "log:\n{}",
        w.log_text()
    );
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn undecodable_record_fails_the_task_naming_it_and_commits_nothing_past_it() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("bad-json");
    create_topic(&broker.bootstrap, &topic)?;
    let values = vec![
        r#"{"ok":1}"#.to_string(),
        "this is not json".to_string(),
        r#"{"ok":3}"#.to_string(),
    ];
    produce_strings(&broker.bootstrap, &topic, &values)?;

    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let name = unique("sink");
    let conn = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name={name}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n",
            out.display()
        ),
    )?;
    let args = [
        worker_props.to_str().unwrap_or_default(),
        conn.to_str().unwrap_or_default(),
    ];
    let port = free_port()?;
    let mut w = Worker::start(dir.path(), port, &args, &[], "worker.log")?;
    let status = wait_until(Duration::from_secs(30), "the task to fail", || {
        let (_, body) = http_get(port, &format!("/connectors/{name}/status")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (v["tasks"][0]["state"] == "FAILED").then_some(v)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains(&format!("topic {topic} partition 0 offset 1")),
        "the trace must name the record: {trace}"
    );
    assert_eq!(status["connector"]["state"], "RUNNING");
    assert!(w.stop()?.success());
    // The bad record was never handed to the sink, and nothing after it.
    let written = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        !written.contains("ok=3") && !written.contains("not json"),
        "{written}"
    );
    Ok(())
}

fn wait_lines(path: &std::path::Path, n: usize, w: &Worker) -> anyhow::Result<Vec<String>> {
    wait_until(
        Duration::from_secs(60),
        &format!("{n} lines in the sink file"),
        || {
            let l = read_lines(path);
            (l.len() >= n).then_some(l)
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))
}

#[test]
fn sink_offsets_api_reads_alters_and_resets_the_consumer_group() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("sink-off");
    create_topic(&broker.bootstrap, &topic)?;
    produce_strings(&broker.bootstrap, &topic, &numbered("o", 0, 10))?;
    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[worker_props.to_str().unwrap_or_default()],
        &[],
        "worker.log",
    )?;
    let name = "sink-off";
    let body = serde_json::json!({"name": name, "config": {"connector.class": "FileStreamSink", "file": out.display().to_string(), "topics": topic}});
    assert_eq!(
        http_request(port, "POST", "/connectors", &body.to_string())?.0,
        201
    );
    wait_lines(&out, 10, &w)?;

    set_target_state(port, name, "stop", "STOPPED")?;
    let (code, body) = http_get(port, &format!("/connectors/{name}/offsets"))?;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body)?,
        serde_json::json!({"offsets":[{"partition":{"kafka_topic": topic, "kafka_partition": 0},"offset":{"kafka_offset": 10}}]})
    );
    let patch = serde_json::json!({"offsets":[{"partition":{"kafka_topic": topic, "kafka_partition": 0},"offset":{"kafka_offset": 5}}]});
    let (code, body) = http_request(
        port,
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        &patch.to_string(),
    )?;
    assert_eq!(code, 200, "{body}");
    let bad = serde_json::json!({"offsets":[{"partition":{"kafka_partition": 0},"offset":{"kafka_offset": 5}}]});
    let (code, body) = http_request(
        port,
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        &bad.to_string(),
    )?;
    assert_eq!(code, 400);
    assert!(body.contains("kafka_topic"), "{body}");
    set_target_state(port, name, "resume", "RUNNING")?;
    let lines = wait_lines(&out, 15, &w)?;
    let mut want = numbered("o", 0, 10);
    want.extend(numbered("o", 5, 5));
    assert_eq!(lines, want, "resumed from the altered offset");

    set_target_state(port, name, "stop", "STOPPED")?;
    let (code, body) = http_request(port, "DELETE", &format!("/connectors/{name}/offsets"), "")?;
    assert_eq!(code, 200, "{body}");
    set_target_state(port, name, "resume", "RUNNING")?;
    let lines = wait_lines(&out, 25, &w)?;
    assert_eq!(
        lines[15..],
        numbered("o", 0, 10)[..],
        "after a reset the sink starts from the earliest offset"
    );
    assert!(w.stop()?.success());
    Ok(())
}
