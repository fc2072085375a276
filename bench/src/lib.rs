//! Shared pieces of the benchmarks: the librdkafka settings pinned equal on
//! both sides of every comparison, and small helpers.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context, bail};

/// Producer settings used by Sluice (`producer.*`) and the reference
/// producer alike: Sluice's own defaults, written out so both sides are
/// visibly the same.
pub const PRODUCER: &[(&str, &str)] = &[
    ("acks", "all"),
    ("enable.idempotence", "true"),
    ("max.in.flight.requests.per.connection", "5"),
    ("linger.ms", "5"),
    ("batch.num.messages", "10000"),
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "65536"),
    ("compression.type", "none"),
    ("message.timeout.ms", "0"),
    // Sluice's default since the producer-id wait was found (see its
    // PRODUCER_DEFAULTS): pinned so both sides connect the same way, else
    // the reference alone waits 0.5-1 s for its producer id inside the
    // measured time.
    ("enable.sparse.connections", "false"),
];

/// What a plain client script sets (the confluent-kafka script:
/// librdkafka defaults plus these two); Sluice runs with no `producer.*`
/// keys at all beside it (its out-of-the-box defaults).
pub const PLAIN_PRODUCER: &[(&str, &str)] = &[("linger.ms", "5"), ("batch.num.messages", "10000")];

/// Consumer settings used by Sluice (`consumer.*`) and the reference
/// consumer alike.
pub const CONSUMER: &[(&str, &str)] = &[
    ("auto.offset.reset", "earliest"),
    ("enable.auto.commit", "false"),
    ("queued.max.messages.kbytes", "32768"),
    ("queued.min.messages", "10000"),
    ("fetch.wait.max.ms", "100"),
];

/// The settings as `key=value` lines with a prefix (`producer.`).
pub fn as_properties(prefix: &str, settings: &[(&str, &str)]) -> String {
    settings
        .iter()
        .map(|(k, v)| format!("{prefix}{k}={v}\n"))
        .collect()
}

/// Command-line `--key value` pairs.
pub fn args() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        if let Some(k) = k.strip_prefix("--") {
            out.insert(k.to_string(), it.next().unwrap_or_default());
        }
    }
    out
}

/// A required argument.
pub fn arg(args: &BTreeMap<String, String>, key: &str) -> anyhow::Result<String> {
    args.get(key)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("missing --{key}"))
}

/// A child process killed when dropped: SIGTERM first (a worker stops
/// cleanly), SIGKILL after 10 s.
#[derive(Debug)]
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a command; its standard output, or its standard error as the error.
pub fn run(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `psql` on the machine's PostgreSQL (user postgres), unaligned, tuples only.
pub fn psql(db: &str, args: &[&str]) -> anyhow::Result<String> {
    run(
        Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
                "-A",
                "-t",
            ])
            .args(args),
        "psql",
    )
}
