//! Failed tasks over REST: a task made to fail shows FAILED with its trace;
//! `restart?includeTasks=true&onlyFailed=true` answers 202 with the task
//! RESTARTING and leaves the healthy connector alone; task restart is 204/404.

use std::time::Duration;

use sluice_tests::*;

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

fn status(port: u16, name: &str) -> serde_json::Value {
    http_get(port, &format!("/connectors/{name}/status"))
        .map(|(_, b)| json(&b))
        .unwrap_or_default()
}

/// A broker, a worker (with `worker_extra` settings) and a STOPPED source
/// connector `name` on a file of `lines` lines whose committed position is
/// set to `position`, then resumed: past the end of the file, the task fails.
struct Failing {
    broker: Broker,
    _dir: tempfile::TempDir,
    worker: Worker,
    port: u16,
    topic: String,
    input: std::path::PathBuf,
}

fn failing_source(
    name: &str,
    worker_extra: &str,
    lines: &[String],
    position: u64,
) -> anyhow::Result<Failing> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique(name);
    let input = dir.path().join("in.txt");
    append_lines(&input, lines)?;
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, worker_extra)?;
    let port = free_port()?;
    let worker = Worker::start(
        dir.path(),
        port,
        &[worker_props.to_str().unwrap_or_default()],
        &[],
        "worker.log",
    )?;
    let body = format!(
        r#"{{"name":"{name}","config":{{"connector.class":"FileStreamSource","file":"{}","topic":"{topic}"}},"initial_state":"STOPPED"}}"#,
        input.display()
    );
    anyhow::ensure!(
        http_request(port, "POST", "/connectors", &body)?.0 == 201,
        "create failed"
    );
    let patch = format!(
        r#"{{"offsets":[{{"partition":{{"filename":"{}"}},"offset":{{"position":{position}}}}}]}}"#,
        input.display()
    );
    anyhow::ensure!(
        http_request(
            port,
            "PATCH",
            &format!("/connectors/{name}/offsets"),
            &patch
        )?
        .0 == 200,
        "patch failed"
    );
    anyhow::ensure!(
        http_request(port, "PUT", &format!("/connectors/{name}/resume"), "")?.0 == 202,
        "resume failed"
    );
    Ok(Failing {
        broker,
        _dir: dir,
        worker,
        port,
        topic,
        input,
    })
}

#[test]
fn failed_task_restart_over_rest() -> anyhow::Result<()> {
    let name = "restart-src";
    // Automatic restarts off: this test drives restarts by hand.
    let f = failing_source(
        name,
        "task.restart.enable=false",
        &numbered("x", 0, 3),
        999_999,
    )?;
    let (port, mut w) = (f.port, f.worker);
    let st = wait_until(Duration::from_secs(30), "the task to fail", || {
        let v = status(port, name);
        (v["tasks"][0]["state"] == "FAILED").then_some(v)
    })?;
    assert!(
        st["tasks"][0]["trace"]
            .as_str()
            .unwrap_or_default()
            .contains("truncated"),
        "{st}"
    );
    assert_eq!(st["connector"]["state"], "RUNNING");
    let (code, task) = http_get(port, &format!("/connectors/{name}/tasks/0/status"))?;
    assert_eq!(
        (code, json(&task)["state"].clone()),
        (200, serde_json::json!("FAILED"))
    );

    let restart = format!("/connectors/{name}/restart?includeTasks=true&onlyFailed=true");
    let (code, body) = http_request(port, "POST", &restart, "")?;
    assert_eq!(code, 202, "{body}");
    let v = json(&body);
    assert_eq!(v["tasks"][0]["state"], "RESTARTING", "{v}");
    assert_eq!(
        v["connector"]["state"], "RUNNING",
        "only failed instances restart: {v}"
    );
    // Still a bad offset: it fails again.
    wait_until(Duration::from_secs(30), "the task to fail again", || {
        (status(port, name)["tasks"][0]["state"] == "FAILED").then_some(())
    })?;
    assert_eq!(
        http_request(port, "POST", &format!("/connectors/{name}/restart"), "")?.0,
        204
    );
    assert_eq!(
        http_request(
            port,
            "POST",
            &format!("/connectors/{name}/tasks/7/restart"),
            ""
        )?
        .0,
        404
    );

    // Fix the offset and restart the task alone: data flows.
    assert_eq!(
        http_request(port, "PUT", &format!("/connectors/{name}/stop"), "")?.0,
        204
    );
    wait_until(Duration::from_secs(30), "STOPPED", || {
        (status(port, name)["connector"]["state"] == "STOPPED").then_some(())
    })?;
    assert_eq!(
        http_request(port, "DELETE", &format!("/connectors/{name}/offsets"), "")?.0,
        200
    );
    assert_eq!(
        http_request(port, "PUT", &format!("/connectors/{name}/resume"), "")?.0,
        202
    );
    let got = wait_for_records(&f.broker.bootstrap, &f.topic, 3, Duration::from_secs(30))?;
    assert_eq!(got, numbered("x", 0, 3));
    assert_eq!(
        http_request(
            port,
            "POST",
            &format!("/connectors/{name}/tasks/0/restart"),
            ""
        )?
        .0,
        204
    );
    wait_until(Duration::from_secs(30), "the restarted task to run", || {
        (status(port, name)["tasks"][0]["state"] == "RUNNING").then_some(())
    })?;
    assert!(w.stop()?.success(), "log:\n{}", w.log_text());
    Ok(())
}

#[test]
fn failed_task_restarts_itself_with_backoff() -> anyhow::Result<()> {
    let name = "auto-src";
    // One line (9 bytes); position 27 = after three lines: the file is "too
    // short" until it grows.
    let extra = "task.restart.initial.backoff.ms=300\ntask.restart.max.backoff.ms=600\ntask.restart.max.attempts=1000";
    let f = failing_source(name, extra, &numbered("y", 0, 1), 27)?;
    let (port, mut w) = (f.port, f.worker);
    let st = wait_until(
        Duration::from_secs(30),
        "a failed task waiting to restart",
        || {
            let v = status(port, name);
            (v["tasks"][0]["state"] == "FAILED"
                && v["tasks"][0]["restarts"].as_u64().unwrap_or(0) >= 1)
                .then_some(v)
        },
    )?;
    assert!(st["tasks"][0]["next_restart_ms"].is_i64(), "{st}");
    assert!(
        st["tasks"][0]["trace"]
            .as_str()
            .unwrap_or_default()
            .contains("truncated"),
        "{st}"
    );
    // The file grows past the offset: the next automatic restart succeeds
    // and continues from position 27.
    append_lines(&f.input, &numbered("y", 1, 4))?;
    let st = wait_until(Duration::from_secs(30), "the task to run again", || {
        let v = status(port, name);
        (v["tasks"][0]["state"] == "RUNNING").then_some(v)
    })?;
    assert!(
        st["tasks"][0]["restarts"].as_u64().unwrap_or(0) >= 1,
        "{st}"
    );
    let got = wait_for_records(&f.broker.bootstrap, &f.topic, 2, Duration::from_secs(30))?;
    assert_eq!(got, numbered("y", 3, 2));
    assert!(w.stop()?.success(), "log:\n{}", w.log_text());
    Ok(())
}
