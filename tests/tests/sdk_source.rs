//! The source SDK's promises, through the real executor and a real broker,
//! with the test worker (`test-worker`: the `sluice` command line plus
//! `sluice.test.SlowSource`, registered through `sluice_runtime::main_with`):
//!
//! - a poll slower than the offset flush interval is never cancelled: every
//!   record arrives and its offset is committed;
//! - acknowledgements reach the task only for records Kafka has: every
//!   acknowledged record is in the topic at the partition and offset the
//!   acknowledgement names, also across a `kill -9`, and after the restart
//!   nothing is lost.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_tests::*;

const TEST_WORKER: &str = env!("CARGO_BIN_EXE_test-worker");

fn connector(name: &str, topic: &str, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class=sluice.test.SlowSourceConnector\ntasks.max=1\ntopic={topic}\n{extra}\n"
    )
}

struct Setup {
    broker: Broker,
    dir: tempfile::TempDir,
    name: String,
    topic: String,
    acks: PathBuf,
    args: Vec<String>,
}

impl Setup {
    fn new(worker_extra: &str, connector_extra: &str) -> anyhow::Result<Self> {
        let broker = Broker::start()?;
        let dir = tempfile::tempdir()?;
        let (name, topic) = (unique("slow"), unique("slow-topic"));
        let acks = dir.path().join("acks.txt");
        let props = write_worker_props(dir.path(), &broker.bootstrap, worker_extra)?;
        let extra = connector_extra.replace("ACKS", &acks.display().to_string());
        let conn = write_file(
            dir.path(),
            "slow.properties",
            &connector(&name, &topic, &extra),
        )?;
        Ok(Self {
            broker,
            dir,
            name,
            topic,
            acks,
            args: vec![props.display().to_string(), conn.display().to_string()],
        })
    }

    fn start(&self, port: u16, log: &str) -> anyhow::Result<Worker> {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        Worker::start_binary(Path::new(TEST_WORKER), self.dir.path(), port, &args, log)
    }

    /// The committed `next` of the source, from `GET /connectors/{c}/offsets`.
    fn committed(&self, port: u16) -> Option<u64> {
        let (_, body) = http_get(port, &format!("/connectors/{}/offsets", self.name)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["offsets"].as_array()?.first()?["offset"]["next"].as_u64()
    }
}

fn values(records: &[KeyValue]) -> Vec<String> {
    records
        .iter()
        .map(|(_, v)| String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

#[test]
fn a_poll_slower_than_the_flush_interval_delivers_and_commits_everything() -> anyhow::Result<()> {
    // Each poll takes 2 s; offsets are flushed every 100 ms. A runtime that
    // dropped the pending poll at each flush tick would never deliver.
    let s = Setup::new(
        "offset.flush.interval.ms=100",
        "poll.ms=2000\nrecords.per.poll=5\nmax.records=15\nack.mode=batch\nack.file=ACKS",
    )?;
    let port = free_port()?;
    let mut w = s.start(port, "worker.log")?;
    let got = wait_for_records(&s.broker.bootstrap, &s.topic, 15, Duration::from_secs(60))?;
    let want: Vec<String> = (0..15).map(|i| format!("rec-{i}")).collect();
    assert_eq!(got, want, "worker log:\n{}", w.log_text());
    let committed = wait_until(Duration::from_secs(30), "offset next=15 committed", || {
        s.committed(port).filter(|n| *n == 15)
    });
    assert!(committed.is_ok(), "{committed:?}; log:\n{}", w.log_text());
    // The batch form: acknowledged offsets only grow and reach the end.
    let acked = wait_until(
        Duration::from_secs(30),
        "acknowledgement of next=15",
        || {
            let lines = read_lines(&s.acks);
            let done = lines.last().is_some_and(|l| l == "next 15");
            done.then_some(lines)
        },
    )?;
    let nexts: Vec<u64> = acked
        .iter()
        .filter_map(|l| l.strip_prefix("next ")?.parse().ok())
        .collect();
    assert!(nexts.windows(2).all(|w| w[0] < w[1]), "{acked:?}");
    assert!(nexts.iter().all(|n| n % 5 == 0), "whole polls: {acked:?}");
    let log = w.log_text();
    assert!(!log.contains("retriable error from poll"), "{log}");
    assert!(w.stop()?.success(), "clean stop; log:\n{}", w.log_text());
    Ok(())
}

/// `rec-<n>@<partition>:<offset>` lines of the acknowledgement file.
fn record_acks(path: &Path) -> Vec<(String, i32, i64)> {
    read_lines(path)
        .iter()
        .filter_map(|l| {
            let (value, at) = l.split_once('@')?;
            let (p, o) = at.split_once(':')?;
            Some((value.to_string(), p.parse().ok()?, o.parse().ok()?))
        })
        .collect()
}

#[test]
fn acknowledged_records_are_in_kafka_across_a_kill_9() -> anyhow::Result<()> {
    const TOTAL: u64 = 3_000;
    let s = Setup::new(
        "offset.flush.interval.ms=300",
        &format!(
            "poll.ms=20\nrecords.per.poll=20\nmax.records={TOTAL}\nack.mode=record\nack.file=ACKS"
        ),
    )?;
    let port = free_port()?;
    let mut w = s.start(port, "worker1.log")?;
    // Killed mid-stream: some offsets committed, more records acknowledged
    // since, and more in flight.
    wait_until(Duration::from_secs(60), "a committed offset", || {
        s.committed(port).filter(|n| *n >= 200)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    w.kill9()?;
    let before_kill = record_acks(&s.acks).len();

    let mut w = s.start(port, "worker2.log")?;
    let all = wait_until(
        Duration::from_secs(120),
        "every record in the topic",
        || {
            let recs = consume_all(
                &s.broker.bootstrap,
                &s.topic,
                Duration::from_secs(2),
                usize::MAX,
            )
            .ok()?;
            let distinct: BTreeSet<String> = values(&recs).into_iter().collect();
            (distinct.len() as u64 == TOTAL).then_some(recs.len())
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    wait_until(
        Duration::from_secs(30),
        "offset next=TOTAL committed",
        || s.committed(port).filter(|n| *n == TOTAL),
    )?;
    assert!(w.stop()?.success(), "clean stop; log:\n{}", w.log_text());

    // Where each record is in the topic.
    let consumed = consume_records(&s.broker.bootstrap, &s.topic, all, Duration::from_secs(60))?;
    assert_eq!(consumed.len(), all);
    let at: BTreeMap<i64, String> = consumed
        .iter()
        .map(|c| {
            let v = String::from_utf8_lossy(c.value.as_deref().unwrap_or_default()).into_owned();
            (c.offset, v)
        })
        .collect();
    let acks = record_acks(&s.acks);
    // Every acknowledgement names a record Kafka has, at that offset.
    for (value, partition, offset) in &acks {
        assert_eq!(*partition, 0, "one partition: {value}");
        assert_eq!(
            at.get(offset),
            Some(value),
            "acknowledged {value} at offset {offset}, the topic has {:?} there",
            at.get(offset)
        );
    }
    // Every record was acknowledged (at least once), none lost.
    let acked: BTreeSet<&str> = acks.iter().map(|(v, _, _)| v.as_str()).collect();
    let missing: Vec<u64> = (0..TOTAL)
        .filter(|i| !acked.contains(format!("rec-{i}").as_str()))
        .collect();
    assert!(missing.is_empty(), "never acknowledged: {missing:?}");
    let unacked_lines: Vec<String> = read_lines(&s.acks)
        .into_iter()
        .filter(|l| l.ends_with("@none"))
        .collect();
    assert!(unacked_lines.is_empty(), "{unacked_lines:?}");
    println!(
        "kill -9 after {before_kill} acknowledgements: {all} records in the topic for {TOTAL} \
         ({} duplicates), {} acknowledgements, 0 lost",
        all as u64 - TOTAL,
        acks.len()
    );
    Ok(())
}

#[test]
fn the_write_counter_follows_acknowledgements_between_flushes() -> anyhow::Result<()> {
    // No offset flush during the test: the counter must not wait for one.
    let s = Setup::new(
        "offset.flush.interval.ms=600000",
        "poll.ms=0\nrecords.per.poll=25\nmax.records=50",
    )?;
    let port = free_port()?;
    let mut w = s.start(port, "worker.log")?;
    wait_until(Duration::from_secs(30), "write_total 50", || {
        let (_, text) = http_get(port, "/metrics").ok()?;
        text.lines()
            .any(|l| {
                l.starts_with("kafka_connect_source_task_source_record_write_total")
                    && l.ends_with(" 50")
            })
            .then_some(())
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert!(w.stop()?.success(), "clean stop; log:\n{}", w.log_text());
    Ok(())
}
