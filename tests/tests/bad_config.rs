//! Bad worker or connector configs stop `sluice standalone` before anything
//! starts, with a message that names the key and the file.

use std::time::Duration;

use sluice_tests::*;

/// Runs the worker on `connector` text (written to `file_name`) and returns
/// its output; asserts a non-zero exit, that the REST port never opened and
/// that the message names the connector file.
fn fails_with(
    worker_extra: &str,
    file_name: &str,
    connector: Option<&str>,
) -> anyhow::Result<String> {
    fails_naming(file_name, worker_extra, file_name, connector)
}

/// Like [`fails_with`], asserting that the message names the file `named`.
fn fails_naming(
    named: &str,
    worker_extra: &str,
    file_name: &str,
    connector: Option<&str>,
) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    // Nothing listens here: a config error must be reported before any
    // connection is attempted.
    let worker = write_worker_props(dir.path(), "127.0.0.1:1", worker_extra)?;
    let conn = match connector {
        Some(text) => write_file(dir.path(), file_name, text)?,
        None => dir.path().join(file_name),
    };
    let port = free_port()?;
    let args = [
        worker.to_str().unwrap_or_default(),
        conn.to_str().unwrap_or_default(),
    ];
    let mut w = Worker::spawn(dir.path(), port, &args, &[], "out.log")?;
    let status = w.wait_exit(Duration::from_secs(20))?;
    let out = w.log_text();
    assert!(
        !status.success(),
        "expected a non-zero exit; output:\n{out}"
    );
    assert!(http_get(port, "/").is_err(), "REST must not have started");
    assert!(
        out.contains(named),
        "message must name the file {named}:\n{out}"
    );
    Ok(out)
}

const GOOD: &str = "name=s\nconnector.class=FileStreamSource\ntasks.max=1\nfile=in.txt\ntopic=t\n";

#[test]
fn unknown_connector_class() -> anyhow::Result<()> {
    let out = fails_with(
        "",
        "c.properties",
        Some(&GOOD.replace("FileStreamSource", "com.acme.NoSuchConnector")),
    )?;
    assert!(
        out.contains("connector.class") && out.contains("com.acme.NoSuchConnector"),
        "{out}"
    );
    Ok(())
}

#[test]
fn missing_topic() -> anyhow::Result<()> {
    let out = fails_with("", "c.properties", Some(&GOOD.replace("topic=t\n", "")))?;
    assert!(
        out.contains("Missing required configuration \"topic\""),
        "{out}"
    );
    Ok(())
}

#[test]
fn non_numeric_tasks_max() -> anyhow::Result<()> {
    let out = fails_with(
        "",
        "c.properties",
        Some(&GOOD.replace("tasks.max=1", "tasks.max=lots")),
    )?;
    assert!(
        out.contains("Invalid value lots for configuration tasks.max"),
        "{out}"
    );
    Ok(())
}

#[test]
fn malformed_json() -> anyhow::Result<()> {
    let out = fails_with(
        "",
        "c.json",
        Some(r#"{"name": "x", "config": {"connector.class": }"#),
    )?;
    assert!(out.contains("malformed JSON"), "{out}");
    Ok(())
}

#[test]
fn malformed_properties() -> anyhow::Result<()> {
    let out = fails_with(
        "",
        "c.properties",
        Some("name=x\nconnector.class=FileStreamSource\ntopic=\\uZZZZ\n"),
    )?;
    assert!(out.contains("line 3"), "{out}");
    Ok(())
}

#[test]
fn config_file_that_does_not_exist() -> anyhow::Result<()> {
    let out = fails_with("", "absent.properties", None)?;
    assert!(out.contains("cannot read config file"), "{out}");
    Ok(())
}

#[test]
fn bad_worker_key() -> anyhow::Result<()> {
    let out = fails_naming(
        "worker.properties",
        "offset.flush.interval.ms=soon",
        "c.properties",
        Some(GOOD),
    )?;
    assert!(out.contains("offset.flush.interval.ms"), "{out}");
    Ok(())
}

#[test]
fn bad_worker_converter() -> anyhow::Result<()> {
    let extra = "value.converter.schemas.enable=perhaps\nvalue.converter=org.apache.kafka.connect.json.JsonConverter";
    let out = fails_naming("worker.properties", extra, "c.properties", Some(GOOD))?;
    assert!(out.contains("schemas.enable"), "{out}");
    Ok(())
}
