//! A connector whose `start` is slow (a database connect that hangs) never
//! stalls the REST API: while its create request waits for it, reads of it
//! and changes to other connectors answer; a start longer than
//! `connector.start.timeout.ms` leaves the connector FAILED with a message
//! naming the setting.

use std::path::Path;
use std::time::Duration;

use sluice_tests::*;

const TEST_WORKER: &str = env!("CARGO_BIN_EXE_test-worker");

fn create(port: u16, name: &str, topic: &str, start_ms: u64) -> anyhow::Result<(u16, String)> {
    let body = serde_json::json!({"name": name, "config": {
        "connector.class": "sluice.test.SlowSourceConnector",
        "topic": topic, "start.ms": start_ms.to_string(), "max.records": "0"
    }});
    http_request(port, "POST", "/connectors", &body.to_string())
}

#[test]
fn a_slow_connector_start_blocks_no_other_request() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        "connector.start.timeout.ms=8000",
    )?;
    let port = free_port()?;
    let p = props.display().to_string();
    let w = Worker::start_binary(
        Path::new(TEST_WORKER),
        dir.path(),
        port,
        &[&p],
        "worker.log",
    )?;
    let topic = unique("slow-start");

    // A connector whose start takes 5 s, created in the background.
    let slow = unique("slow");
    let started = std::time::Instant::now();
    let pending = std::thread::spawn({
        let (slow, topic) = (slow.clone(), topic.clone());
        move || create(port, &slow, &topic, 5_000)
    });
    wait_until(
        Duration::from_secs(10),
        "the slow connector to be listed",
        || {
            let (_, body) = http_get(port, "/connectors").ok()?;
            body.contains(&slow).then_some(())
        },
    )?;
    // While its start runs: reads of it, and another connector's create.
    let (code, body) = http_get(port, &format!("/connectors/{slow}"))?;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("SlowSourceConnector"), "{body}");
    let (code, body) = http_get(port, &format!("/connectors/{slow}/status"))?;
    assert_eq!(code, 200, "{body}");
    let fast = unique("fast");
    let (code, body) = create(port, &fast, &topic, 0)?;
    assert_eq!(code, 201, "{body}");
    let (code, _) = http_get(port, "/connectors?expand=status")?;
    assert_eq!(code, 200);
    let answered = started.elapsed();
    assert!(
        answered < Duration::from_secs(4),
        "reads and another create took {answered:?}: they waited for the 5 s start"
    );
    assert!(
        !pending.is_finished(),
        "the slow create finished before the other requests were answered: they waited for it"
    );
    let (code, body) = pending
        .join()
        .map_err(|_| anyhow::anyhow!("the create thread panicked"))??;
    assert_eq!(code, 201, "{body}");
    let running = wait_until(
        Duration::from_secs(30),
        "the slow connector RUNNING",
        || connector_status(port, &slow).filter(|s| s["connector"]["state"] == "RUNNING"),
    );
    assert!(running.is_ok(), "{running:?}; log:\n{}", w.log_text());

    // A start longer than connector.start.timeout.ms: FAILED, and why.
    let stuck = unique("stuck");
    let (code, body) = create(port, &stuck, &topic, 60_000)?;
    assert_eq!(code, 201, "{body}");
    let status = wait_until(
        Duration::from_secs(30),
        "the stuck connector FAILED",
        || connector_status(port, &stuck).filter(|s| s["connector"]["state"] == "FAILED"),
    )?;
    let trace = status["connector"]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("did not complete within 8000 ms (connector.start.timeout.ms)"),
        "{status}"
    );
    // And it can be deleted at once.
    let (code, body) = http_request(port, "DELETE", &format!("/connectors/{stuck}"), "")?;
    assert_eq!(code, 204, "{body}");
    Ok(())
}
