//! Config providers: placeholders are resolved when tasks start and never
//! shown by the REST API.

use std::time::Duration;

use sluice_tests::*;

#[test]
fn file_provider_resolves_at_start_and_rest_shows_placeholders() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("secret");
    let input = dir.path().join("hidden-input.txt");
    append_lines(&input, &numbered("s", 0, 3))?;
    let allowed = dir.path().join("secrets");
    std::fs::create_dir_all(&allowed)?;
    let secrets = write_file(
        &allowed,
        "secrets.properties",
        &format!("input.path={}\n", input.display()),
    )?;
    // The same secret outside the allowed directory.
    let outside = write_file(
        dir.path(),
        "outside.properties",
        &format!("input.path={}\n", input.display()),
    )?;
    let worker_props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        &format!(
            "config.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
             config.providers.file.param.allowed.paths={}\n",
            allowed.display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[worker_props.to_str().unwrap_or_default()],
        &[],
        "worker.log",
    )?;
    let placeholder = format!("${{file:{}:input.path}}", secrets.display());
    let body = serde_json::json!({"name": "sec", "config": {"connector.class": "FileStreamSource", "file": placeholder, "topic": topic}});
    let (code, resp) = http_request(port, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 201, "{resp}");
    let got = wait_for_records(&broker.bootstrap, &topic, 3, Duration::from_secs(30))?;
    assert_eq!(
        got,
        numbered("s", 0, 3),
        "the task read the resolved path; log:\n{}",
        w.log_text()
    );

    let hidden = input.display().to_string();
    for path in [
        "/connectors/sec/config",
        "/connectors/sec/tasks",
        "/connectors/sec",
        "/connectors?expand=info",
    ] {
        let (code, body) = http_get(port, path)?;
        assert_eq!(code, 200);
        assert!(
            !body.contains(&hidden),
            "{path} leaks the resolved value: {body}"
        );
        assert!(
            body.contains("${file:"),
            "{path} shows the placeholder: {body}"
        );
    }
    // A placeholder naming a file outside `allowed.paths`, sent over REST:
    // the connector fails, naming the parameter, and reads nothing.
    let probe = format!("${{file:{}:input.path}}", outside.display());
    let body = serde_json::json!({"name": "probe", "config": {"connector.class": "FileStreamSource", "file": probe, "topic": unique("probe")}});
    let (code, resp) = http_request(port, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 201, "{resp}");
    let trace = wait_until(
        Duration::from_secs(30),
        "the probe connector FAILED",
        || {
            let (_, b) = http_get(port, "/connectors/probe/status").ok()?;
            let v: serde_json::Value = serde_json::from_str(&b).ok()?;
            (v["connector"]["state"] == "FAILED").then(|| {
                v["connector"]["trace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
        },
    )?;
    assert!(
        trace.contains("is not allowed by the worker's config.providers.file.param.allowed.paths"),
        "{trace}"
    );
    assert!(
        !trace.contains(&hidden),
        "the trace leaks the value: {trace}"
    );
    let (code, _) = http_request(port, "DELETE", "/connectors/probe", "")?;
    assert_eq!(code, 204);
    assert!(w.stop()?.success());

    // A REST-created connector is RUNNING again after a worker restart and
    // continues where it stopped.
    let mut w = Worker::start(
        dir.path(),
        port,
        &[worker_props.to_str().unwrap_or_default()],
        &[],
        "worker2.log",
    )?;
    wait_until(Duration::from_secs(30), "RUNNING after restart", || {
        let (_, b) = http_get(port, "/connectors/sec/status").ok()?;
        let v: serde_json::Value = serde_json::from_str(&b).ok()?;
        (v["connector"]["state"] == "RUNNING" && v["tasks"][0]["state"] == "RUNNING").then_some(())
    })?;
    append_lines(&input, &numbered("s", 3, 2))?;
    let got = wait_for_records(&broker.bootstrap, &topic, 5, Duration::from_secs(30))?;
    assert_eq!(got, numbered("s", 0, 5));
    assert!(w.stop()?.success());
    Ok(())
}
