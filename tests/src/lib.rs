//! Test harness for Sluice's end-to-end tests: a real broker (tansu, SQLite
//! storage) on a free port per test, the real `sluice` binary as a child
//! process, and Kafka helpers built on rdkafka.
//!
//! A missing broker binary or worker binary fails the test with a message
//! saying how to get it; nothing is skipped silently.

mod broker;
pub mod cluster;
mod http;
mod kafka;
mod worker;

pub use broker::Broker;
pub use http::{http_get, http_request};
pub use kafka::{
    Consumed, KeyValue, ValueWithHeaders, consume_all, consume_from_start, consume_records,
    create_topic, produce_bytes, produce_strings, produce_with_headers, wait_for_records,
};
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

/// A free TCP port on loopback.
pub fn free_port() -> anyhow::Result<u16> {
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
