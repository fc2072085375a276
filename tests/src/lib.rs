//! Test harness for Sluice's end-to-end tests: a real broker (tansu, SQLite
//! storage) on a free port per test, the real `sluice` binary as a child
//! process, and Kafka helpers built on rdkafka.
//!
//! A missing broker binary or worker binary fails the test with a message
//! saying how to get it; nothing is skipped silently.

mod amqp;
mod broker;
pub mod cluster;
mod db;
mod http;
mod https;
mod kafka;
mod mqtt;
mod nats;
pub mod pki;
mod sasl;
pub mod sasl_proxy;
pub mod tls_proxy;
mod worker;

pub use amqp::{AmqpMessage, Outgoing, RabbitVhost};
pub use broker::Broker;
pub use db::{MyDb, PgDb, ensure_pg_logical};
pub use http::{HttpAnswer, http_exchange, http_get, http_request};
pub use https::https_exchange;
pub use kafka::{
    Consumed, KeyValue, TopicReader, ValueWithHeaders, consume_all, consume_all_with,
    consume_from_start, consume_records, create_topic, produce_bytes, produce_strings,
    produce_with_headers, wait_for_records,
};
pub use mqtt::{Mosquitto, MqttSubscriber, mqtt_publish, mqtt_publish_paced};
pub use nats::{NatsClient, NatsMessage, NatsServer};
pub use sasl::add_scram_user;
pub use worker::{Worker, sluice_binary};

use std::time::{Duration, Instant};

/// Polls `f` until it returns `Some` or `timeout` passes.
pub fn wait_until<T>(
    timeout: Duration,
    what: &str,
    mut f: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if start.elapsed() > timeout {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A name unique to this test run, for topics and connectors.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The lines of a file (none when it does not exist yet).
pub fn read_lines(p: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `GET /connectors/{name}/status` as JSON, if the worker answers.
pub fn connector_status(port: u16, name: &str) -> Option<serde_json::Value> {
    let (_, body) = http_get(port, &format!("/connectors/{name}/status")).ok()?;
    serde_json::from_str(&body).ok()
}

/// PUTs `config` as connector `name`'s config; an error unless the worker
/// created or updated it.
pub fn put_connector(port: u16, name: &str, config: &serde_json::Value) -> anyhow::Result<()> {
    let (code, text) = http_request(
        port,
        "PUT",
        &format!("/connectors/{name}/config"),
        &config.to_string(),
    )?;
    anyhow::ensure!(code == 201 || code == 200, "PUT {name}: {code} {text}");
    Ok(())
}

/// Waits until task 0 of connector `name` is FAILED; its trace.
pub fn wait_task_failed(
    port: u16,
    name: &str,
    timeout: std::time::Duration,
) -> anyhow::Result<String> {
    let st = wait_until(timeout, &format!("task 0 of {name} to fail"), || {
        let st = connector_status(port, name)?;
        (st["tasks"][0]["state"] == "FAILED").then_some(st)
    })?;
    Ok(st["tasks"][0]["trace"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Waits until a connector is in state `want` and, with `tasks`, has that
/// many tasks all in `want` too; the last status.
pub fn wait_connector_state(
    port: u16,
    name: &str,
    want: &str,
    tasks: Option<usize>,
) -> anyhow::Result<serde_json::Value> {
    wait_until(
        std::time::Duration::from_secs(30),
        &format!("{name} to be {want}"),
        || {
            let v = connector_status(port, name)?;
            let task_states: Vec<&str> = v["tasks"]
                .as_array()?
                .iter()
                .filter_map(|t| t["state"].as_str())
                .collect();
            let tasks_ok = match tasks {
                Some(n) => task_states.len() == n && task_states.iter().all(|s| *s == want),
                None => true,
            };
            (v["connector"]["state"] == want && tasks_ok).then_some(v)
        },
    )
}

/// `PUT /connectors/{name}/{action}` (pause, resume, stop), expecting 202,
/// then waits for the connector to be `want`.
pub fn set_target_state(port: u16, name: &str, action: &str, want: &str) -> anyhow::Result<()> {
    let (code, body) = http_request(port, "PUT", &format!("/connectors/{name}/{action}"), "")?;
    let want_code = if action == "stop" { 204 } else { 202 };
    anyhow::ensure!(code == want_code, "{action}: {code} {body}");
    wait_connector_state(port, name, want, None).map(|_| ())
}

/// A connector's committed offsets (`GET /connectors/{c}/offsets`) as
/// (partition, offset) JSON pairs; `None` if the worker does not answer.
pub fn committed_offsets(
    port: u16,
    name: &str,
) -> Option<Vec<(serde_json::Value, serde_json::Value)>> {
    let (code, body) = http_get(port, &format!("/connectors/{name}/offsets")).ok()?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some(
        v["offsets"]
            .as_array()?
            .iter()
            .map(|o| (o["partition"].clone(), o["offset"].clone()))
            .collect(),
    )
}

/// Waits until a source connector with one source partition has committed
/// an offset whose `field` is `value` (e.g. a file source's `position` at
/// the file's length): the commit barrier tests wait on, never a sleep.
pub fn wait_source_offset(
    port: u16,
    name: &str,
    field: &str,
    value: u64,
    timeout: std::time::Duration,
) -> anyhow::Result<()> {
    wait_until(
        timeout,
        &format!("{name} to commit {field}={value}"),
        || {
            let offsets = committed_offsets(port, name)?;
            offsets
                .iter()
                .any(|(_, o)| o[field].as_u64() == Some(value))
                .then_some(())
        },
    )
}

/// Waits until a sink connector has committed `offset` (the next offset to
/// consume) for partition 0 of `topic`.
pub fn wait_sink_offset(
    port: u16,
    name: &str,
    topic: &str,
    offset: i64,
    timeout: std::time::Duration,
) -> anyhow::Result<()> {
    wait_until(
        timeout,
        &format!("{name} to commit {topic}-0 at {offset}"),
        || {
            let offsets = committed_offsets(port, name)?;
            offsets
                .iter()
                .any(|(p, o)| {
                    p["kafka_topic"] == topic
                        && p["kafka_partition"] == 0
                        && o["kafka_offset"].as_i64() == Some(offset)
                })
                .then_some(())
        },
    )
}

/// The size of a file in bytes (0 if it does not exist): a file source's
/// position once it read everything.
pub fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Appends lines to a file (creating it), each followed by '\n'.
pub fn append_lines(path: &std::path::Path, lines: &[String]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut buf = String::new();
    for l in lines {
        buf.push_str(l);
        buf.push('\n');
    }
    f.write_all(buf.as_bytes())?;
    f.sync_data()?;
    Ok(())
}

/// Lines `prefix-0000 .. prefix-(n-1)` starting at `from`.
pub fn numbered(prefix: &str, from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| format!("{prefix}-{i:06}"))
        .collect()
}

/// A free TCP port on loopback, from 15000-31999: below Linux's
/// ephemeral range (32768-60999), so that between the test choosing it and
/// a server binding it no outgoing connection of another test (a Kafka
/// client, say) is given it as its local port, which a port from
/// `bind(0)` was open to (seen in CI: "Address already in use"). Each test
/// process walks the range in its own order.
pub fn free_port() -> anyhow::Result<u16> {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 15_000;
    const SPAN: u32 = 17_000;
    static START: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = *START.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        std::process::id().wrapping_mul(2_654_435_761) ^ nanos
    });
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // 7919 is prime and does not divide SPAN: every port comes once.
        let port = LOW + start.wrapping_add(n.wrapping_mul(7919)) % SPAN;
        let port = u16::try_from(port)?;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Writes `worker.properties` for a standalone worker against `bootstrap`,
/// with its state in `dir/state`, String converters and a short flush
/// interval; `extra` lines are appended.
pub fn write_worker_props(
    dir: &std::path::Path,
    bootstrap: &str,
    extra: &str,
) -> anyhow::Result<std::path::PathBuf> {
    let p = dir.join("worker.properties");
    let text = format!(
        "bootstrap.servers={bootstrap}\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         offset.storage.file.filename={}\n\
         offset.flush.interval.ms=500\n{extra}\n",
        dir.join("state").display()
    );
    std::fs::write(&p, text)?;
    Ok(p)
}

/// Writes a connector properties file.
pub fn write_file(
    dir: &std::path::Path,
    name: &str,
    text: &str,
) -> anyhow::Result<std::path::PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, text)?;
    Ok(p)
}

/// A standalone worker with one connector (properties text) and offsets
/// flushed every 200 ms, so kill -9 tests lose little progress.
pub fn start_standalone(
    dir: &std::path::Path,
    bootstrap: &str,
    rest: u16,
    connector: &str,
    log: &str,
) -> anyhow::Result<Worker> {
    let props = write_worker_props(dir, bootstrap, "offset.flush.interval.ms=200\n")?;
    let conn = write_file(dir, "connector.properties", connector)?;
    Worker::start(
        dir,
        rest,
        &[&props.display().to_string(), &conn.display().to_string()],
        &[],
        log,
    )
}
