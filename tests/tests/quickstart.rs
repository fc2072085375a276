//! Apache Kafka's Connect quickstart files run unchanged (the broker address
//! and state path come from CONNECT_* environment overrides, as in a
//! container), and the minimal REST API answers with Kafka Connect's shapes.

use std::path::Path;
use std::time::Duration;

use sluice_tests::*;

#[test]
fn kafka_quickstart_files_run_unchanged() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/kafka-quickstart");
    for f in [
        "connect-standalone.properties",
        "connect-file-source.properties",
        "connect-file-sink.properties",
    ] {
        std::fs::copy(examples.join(f), dir.path().join(f))?;
    }
    let state = dir.path().join("connect.offsets");
    let state = state.to_str().unwrap_or_default();
    let env = [
        ("CONNECT_BOOTSTRAP_SERVERS", broker.bootstrap.as_str()),
        ("CONNECT_OFFSET_STORAGE_FILE_FILENAME", state),
    ];
    let port = free_port()?;
    let args = [
        "connect-standalone.properties",
        "connect-file-source.properties",
        "connect-file-sink.properties",
    ];
    let mut w = Worker::start(dir.path(), port, &args, &env, "worker.log")?;

    // Keys Kafka Connect knows and Sluice does not use are accepted with a log line.
    let log = w.log_text();
    for key in ["plugin.path", "internal.key.converter"] {
        assert!(
            log.lines()
                .any(|l| l.contains(key) && l.contains("accepted for Kafka Connect compatibility")),
            "no log line for {key}:\n{log}"
        );
    }

    append_lines(
        &dir.path().join("test.txt"),
        &["foo".to_string(), "bar".to_string()],
    )?;
    let sink = dir.path().join("test.sink.txt");
    // The sink flushes at offset.flush.interval.ms (10 s in this file).
    wait_until(
        Duration::from_secs(60),
        "both lines in test.sink.txt",
        || {
            let text = std::fs::read_to_string(&sink).ok()?;
            (text == "foo\nbar\n").then_some(())
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;

    let recs = consume_all(&broker.bootstrap, "connect-test", Duration::from_secs(2), 2)?;
    assert_eq!(
        String::from_utf8_lossy(recs[0].1.as_deref().unwrap_or_default()),
        r#"{"schema":{"type":"string","optional":false},"payload":"foo"}"#
    );

    // GET /
    let (code, body) = http_get(port, "/")?;
    assert_eq!(code, 200);
    let root: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(root["version"], env!("CARGO_PKG_VERSION"));
    assert!(root["commit"].is_string(), "{body}");
    assert!(root.get("kafka_cluster_id").is_some(), "{body}");

    // GET /connectors
    let (code, body) = http_get(port, "/connectors")?;
    assert_eq!(code, 200);
    let names: Vec<String> = serde_json::from_str(&body)?;
    assert_eq!(names, vec!["local-file-sink", "local-file-source"]);

    // GET /connectors/{name}/status
    let (code, body) = http_get(port, "/connectors/local-file-source/status")?;
    assert_eq!(code, 200, "{body}");
    let st: serde_json::Value = serde_json::from_str(&body)?;
    let worker_id = format!("127.0.0.1:{port}");
    assert_eq!(
        st,
        serde_json::json!({"name":"local-file-source","connector":{"state":"RUNNING","worker_id":worker_id},
            "tasks":[{"id":0,"state":"RUNNING","worker_id":worker_id}],"type":"source"})
    );
    let (_, body) = http_get(port, "/connectors/local-file-sink/status")?;
    let st: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(st["type"], "sink");
    assert_eq!(st["tasks"][0]["state"], "RUNNING");

    let (code, body) = http_get(port, "/connectors/nope/status")?;
    assert_eq!(code, 404);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body)?,
        serde_json::json!({"error_code":404,"message":"No status found for connector nope"})
    );

    // Active topics (KIP-558).
    for name in ["local-file-source", "local-file-sink"] {
        let (code, body) = http_get(port, &format!("/connectors/{name}/topics"))?;
        assert_eq!(code, 200);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body)?,
            serde_json::json!({ name: {"topics": ["connect-test"]} })
        );
    }
    let (code, _) = http_request(port, "PUT", "/connectors/local-file-sink/topics/reset", "")?;
    assert_eq!(code, 202);
    let (_, body) = http_get(port, "/connectors/local-file-sink/topics")?;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body)?,
        serde_json::json!({"local-file-sink": {"topics": []}})
    );
    assert_eq!(http_get(port, "/connectors/nope/topics")?.0, 404);

    assert!(w.stop()?.success(), "log:\n{}", w.log_text());
    Ok(())
}
