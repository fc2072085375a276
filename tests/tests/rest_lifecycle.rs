//! The connector lifecycle over a real worker's REST API and a real broker:
//! create → pause (no data moves) → resume → stop → worker restart (the
//! REST-created connector and its STOPPED state survive) → resume (offsets
//! kept, nothing re-sent) → delete (gone after another restart).

use std::time::Duration;

use sluice_tests::*;

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

#[test]
fn create_pause_resume_stop_survive_restart_delete() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("rest");
    let input = dir.path().join("in.txt");
    append_lines(&input, &numbered("r", 0, 10))?;
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let args = [worker_props.to_str().unwrap_or_default()];
    let port = free_port()?;
    let mut w = Worker::start(dir.path(), port, &args, &[], "worker1.log")?;

    let name = "rest-src";
    let body = format!(
        r#"{{"name":"{name}","config":{{"connector.class":"FileStreamSource","file":"{}","topic":"{topic}"}}}}"#,
        input.display()
    );
    let (code, resp) = http_request(port, "POST", "/connectors", &body)?;
    assert_eq!(code, 201, "{resp}");
    assert_eq!(
        json(&resp)["tasks"],
        serde_json::json!([{"connector": name, "task": 0}])
    );
    // Log levels change at runtime: DEBUG for the source executor shows its commits.
    assert!(!w.log_text().contains("committed source offsets"));
    let (code, body) = http_request(
        port,
        "PUT",
        "/admin/loggers/sluice_runtime::source",
        r#"{"level":"DEBUG"}"#,
    )?;
    assert_eq!(
        (code, json(&body)),
        (200, serde_json::json!(["sluice_runtime::source"]))
    );
    let got = wait_for_records(&broker.bootstrap, &topic, 10, Duration::from_secs(30))?;
    assert_eq!(got, numbered("r", 0, 10));
    wait_until(
        Duration::from_secs(20),
        "a DEBUG line from the source executor",
        || {
            w.log_text()
                .contains("committed source offsets")
                .then_some(())
        },
    )?;
    wait_connector_state(port, name, "RUNNING", Some(1))?;

    assert_eq!(
        http_request(port, "PUT", &format!("/connectors/{name}/pause"), "")?.0,
        202
    );
    wait_connector_state(port, name, "PAUSED", Some(1))?;
    append_lines(&input, &numbered("r", 10, 5))?;
    std::thread::sleep(Duration::from_secs(2));
    let got = wait_for_records(&broker.bootstrap, &topic, 10, Duration::from_secs(5))?;
    assert_eq!(got.len(), 10, "a paused source must not move data");

    assert_eq!(
        http_request(port, "PUT", &format!("/connectors/{name}/resume"), "")?.0,
        202
    );
    wait_connector_state(port, name, "RUNNING", Some(1))?;
    let got = wait_for_records(&broker.bootstrap, &topic, 15, Duration::from_secs(30))?;
    assert_eq!(got, numbered("r", 0, 15));

    assert_eq!(
        http_request(port, "PUT", &format!("/connectors/{name}/stop"), "")?.0,
        204
    );
    wait_connector_state(port, name, "STOPPED", Some(0))?;
    assert!(w.stop()?.success(), "log:\n{}", w.log_text());

    // A restart without any connector file keeps the REST-created connector
    // and its STOPPED target state.
    let mut w = Worker::start(dir.path(), port, &args, &[], "worker2.log")?;
    let (_, list) = http_get(port, "/connectors")?;
    assert_eq!(json(&list), serde_json::json!([name]));
    wait_connector_state(port, name, "STOPPED", Some(0))?;
    append_lines(&input, &numbered("r", 15, 5))?;
    assert_eq!(
        http_request(port, "PUT", &format!("/connectors/{name}/resume"), "")?.0,
        202
    );
    wait_connector_state(port, name, "RUNNING", Some(1))?;
    let got = wait_for_records(&broker.bootstrap, &topic, 20, Duration::from_secs(30))?;
    // Committed at the end of the file: nothing more will be sent.
    wait_source_offset(
        port,
        name,
        "position",
        file_len(&input),
        Duration::from_secs(30),
    )?;
    let got_after = wait_for_records(&broker.bootstrap, &topic, got.len(), Duration::from_secs(5))?;
    assert_eq!(
        got_after,
        numbered("r", 0, 20),
        "resumed from the committed offset, nothing re-sent"
    );

    // stop → the committed offset is visible → reset → resume re-reads the file.
    assert_eq!(
        http_request(port, "PUT", &format!("/connectors/{name}/stop"), "")?.0,
        204
    );
    wait_connector_state(port, name, "STOPPED", Some(0))?;
    let (code, offsets) = http_get(port, &format!("/connectors/{name}/offsets"))?;
    assert_eq!(code, 200);
    let line_len = "r-000000\n".len() as u64;
    assert_eq!(
        json(&offsets),
        serde_json::json!({"offsets":[{"partition":{"filename": input.display().to_string()},"offset":{"position": 20 * line_len}}]})
    );
    let (code, body) = http_request(port, "PUT", &format!("/connectors/{name}/resume"), "")?;
    assert_eq!(code, 202, "{body}");
    wait_connector_state(port, name, "RUNNING", Some(1))?;
    let (code, body) = http_request(port, "DELETE", &format!("/connectors/{name}/offsets"), "")?;
    assert_eq!(code, 400, "offsets change only while STOPPED: {body}");
    assert_eq!(
        http_request(port, "PUT", &format!("/connectors/{name}/stop"), "")?.0,
        204
    );
    wait_connector_state(port, name, "STOPPED", Some(0))?;
    assert_eq!(
        http_request(port, "DELETE", &format!("/connectors/{name}/offsets"), "")?.0,
        200
    );
    assert_eq!(
        http_request(port, "PUT", &format!("/connectors/{name}/resume"), "")?.0,
        202
    );
    let got = wait_for_records(&broker.bootstrap, &topic, 40, Duration::from_secs(30))?;
    let mut twice = numbered("r", 0, 20);
    twice.extend(numbered("r", 0, 20));
    assert_eq!(got, twice, "after the reset the whole file is read again");

    assert_eq!(
        http_request(port, "DELETE", &format!("/connectors/{name}"), "")?.0,
        204
    );
    assert_eq!(http_get(port, &format!("/connectors/{name}"))?.0, 404);
    assert!(w.stop()?.success());
    let mut w = Worker::start(dir.path(), port, &args, &[], "worker3.log")?;
    assert_eq!(
        json(&http_get(port, "/connectors")?.1),
        serde_json::json!([])
    );
    assert!(w.stop()?.success());
    Ok(())
}
