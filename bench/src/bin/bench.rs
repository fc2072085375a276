//! `make bench`: Sluice against minimal rdkafka reference programs, each
//! pair alternated A B A B ... on one tansu broker with memory storage, and
//! a table of medians, min–max and ratios, also written to
//! `bench/results/`. Counts are verified by consuming the topic or reading
//! the sink's file, never from a tool's own log.
//!
//! Environment: `BENCH_RECORDS` (default 1,000,000), `BENCH_ROUNDS` (5),
//! `SLUICE` (the release `sluice` binary), `TANSU` (the broker binary).

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Timestamp;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sluice_bench::Proc;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

struct Env {
    dir: PathBuf,
    bootstrap: String,
    sluice: PathBuf,
    bin_dir: PathBuf,
    broker: Child,
    records: usize,
    rounds: usize,
    input: PathBuf,
    seq: u32,
    /// When set, case 1 runs under REST load and records latencies here.
    rest_latencies: Option<Vec<f64>>,
    /// Out-of-the-box settings: Sluice without `producer.*` keys, the
    /// reference with a plain script's settings.
    plain: bool,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.broker.kill();
        let _ = self.broker.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let code = buf.split(' ').nth(1)?.parse().ok()?;
    let body = buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    Some((code, body))
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

impl Env {
    fn start() -> Result<Self> {
        let records = std::env::var("BENCH_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let rounds = std::env::var("BENCH_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5);
        let exe = std::env::current_exe()?;
        let bin_dir = exe.parent().context("no binary directory")?.to_path_buf();
        let sluice = std::env::var("SLUICE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| bin_dir.join("sluice"));
        if !sluice.exists() {
            bail!(
                "{} is missing: run `cargo build --release -p sluice-runtime --bin sluice` (make bench does)",
                sluice.display()
            );
        }
        let tansu = std::env::var("TANSU").unwrap_or_else(|_| "tansu".to_string());
        let dir = std::env::temp_dir().join(format!("sluice-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let bootstrap = format!("127.0.0.1:{port}");
        let broker = Command::new(&tansu)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{bootstrap}"),
                "--advertised-listener-url",
                &format!("tcp://{bootstrap}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .env_remove("CLUSTER_ID")
            .env_remove("STORAGE_ENGINE")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("tansu.log"))?)
            .spawn()
            .with_context(|| format!("cannot start {tansu} (run `make tools`)"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&bootstrap).is_err() {
            if Instant::now() > deadline {
                bail!("tansu did not listen on {bootstrap}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let input = dir.join("input.txt");
        let mut w = std::io::BufWriter::new(std::fs::File::create(&input)?);
        for i in 0..records {
            // 100 bytes of value per line.
            writeln!(w, "{i:010}-{}", "x".repeat(89))?;
        }
        w.flush()?;
        Ok(Self {
            dir,
            bootstrap,
            sluice,
            bin_dir,
            broker,
            records,
            rounds,
            input,
            seq: 0,
            rest_latencies: None,
            plain: false,
        })
    }

    fn name(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}-{}", self.seq)
    }

    fn create_topic(&self, topic: &str) -> Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()?;
        for r in rt.block_on(admin.create_topics(
            [&NewTopic::new(topic, 1, TopicReplication::Fixed(-1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ))? {
            r.map_err(|(t, e)| anyhow::anyhow!("create {t}: {e}"))?;
        }
        Ok(())
    }

    /// Reads the topic from the start until `n` records: their count and
    /// the first record's timestamp (ms).
    fn verify(&self, topic: &str, n: usize) -> Result<(usize, i64)> {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", format!("verify-{topic}"))
            .set("enable.auto.commit", "false")
            .create()?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
        c.assign(&tpl)?;
        let (mut count, mut first) = (0usize, None);
        let mut quiet = Instant::now();
        while count < n && quiet.elapsed() < Duration::from_secs(10) {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                if first.is_none()
                    && let Timestamp::CreateTime(t) = m.timestamp()
                {
                    first = Some(t);
                }
                count += 1;
                quiet = Instant::now();
            }
        }
        Ok((count, first.unwrap_or(0)))
    }

    fn worker_props(&self, port: u16, extra: &str) -> Result<PathBuf> {
        let p = self.dir.join(format!("worker-{port}.properties"));
        std::fs::write(
            &p,
            format!(
                "bootstrap.servers={}\nlisteners=http://127.0.0.1:{port}\n\
                 key.converter=org.apache.kafka.connect.storage.StringConverter\n\
                 value.converter=org.apache.kafka.connect.storage.StringConverter\n\
                 offset.storage.file.filename={}\n{}{}{extra}\n",
                self.bootstrap,
                self.dir.join(format!("state-{port}")).display(),
                if self.plain {
                    String::new()
                } else {
                    sluice_bench::as_properties("producer.", sluice_bench::PRODUCER)
                },
                sluice_bench::as_properties("consumer.", sluice_bench::CONSUMER),
            ),
        )?;
        Ok(p)
    }

    fn spawn_sluice(&self, args: &[&Path], log: &str) -> Result<Proc> {
        let mut cmd = Command::new(&self.sluice);
        cmd.arg("standalone");
        for a in args {
            cmd.arg(a);
        }
        Ok(Proc(
            cmd.env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(self.dir.join(log))?)
                .spawn()?,
        ))
    }

    /// Case 1 with Sluice: records/s from the first record's timestamp to
    /// the moment every record was acknowledged (its write counter).
    fn sluice_source(&mut self, extra_worker: &str, extra_connector: &str) -> Result<f64> {
        let topic = self.name("sl");
        self.create_topic(&topic)?;
        let port = free_port()?;
        let props = self.worker_props(port, extra_worker)?;
        let conn = self.dir.join(format!("source-{port}.properties"));
        std::fs::write(
            &conn,
            format!(
                "name=bench-source\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n{extra_connector}\n",
                self.input.display()
            ),
        )?;
        let _w = self.spawn_sluice(&[&props, &conn], &format!("{topic}.log"))?;
        let n = self.records as f64;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut loaders = Vec::new();
        if self.rest_latencies.is_some() {
            while http_get(port, "/").map(|(c, _)| c) != Some(200) {
                std::thread::sleep(Duration::from_millis(1));
            }
            // 1,000 requests/s: 4 connections at 250/s each.
            for _ in 0..4 {
                let stop = stop.clone();
                loaders.push(std::thread::spawn(move || {
                    load(
                        port,
                        "/connectors/bench-source/status".into(),
                        Duration::from_millis(4),
                        stop,
                    )
                }));
            }
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        let done = loop {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join(format!("{topic}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                bail!(
                    "sluice did not write {n} records in time; its log ends:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            if let Some((200, text)) = http_get(port, "/metrics")
                && metric(&text, "kafka_connect_source_task_source_record_write_total")
                    .is_some_and(|v| v >= n)
            {
                break now_ms();
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for l in loaders {
            let lat = l.join().unwrap_or_default();
            if let Some(all) = &mut self.rest_latencies {
                all.extend(lat);
            }
        }
        let (count, first) = self.verify(&topic, self.records)?;
        if count != self.records {
            bail!(
                "topic {topic} has {count} records, expected {}",
                self.records
            );
        }
        Ok(n * 1000.0 / (done - first).max(1) as f64)
    }

    /// Case 1 reference.
    fn ref_source(&mut self) -> Result<f64> {
        let topic = self.name("ref");
        self.create_topic(&topic)?;
        let settings = if self.plain { "plain" } else { "pinned" };
        let status = Command::new(self.bin_dir.join("ref_produce"))
            .args(["--bootstrap", &self.bootstrap, "--topic", &topic, "--input"])
            .arg(&self.input)
            .args(["--settings", settings])
            .stderr(Stdio::null())
            .status()?;
        let done = now_ms();
        if !status.success() {
            bail!("ref_produce failed: {status}");
        }
        let (count, first) = self.verify(&topic, self.records)?;
        if count != self.records {
            bail!(
                "topic {topic} has {count} records, expected {}",
                self.records
            );
        }
        Ok(self.records as f64 * 1000.0 / (done - first).max(1) as f64)
    }

    fn lines_in(path: &Path) -> usize {
        std::fs::File::open(path)
            .map(|f| std::io::BufReader::new(f).lines().count())
            .unwrap_or(0)
    }

    /// Case 2: from start to every record in the output file (fresh group).
    fn sink(&mut self, topic: &str, sluice: bool) -> Result<f64> {
        let name = self.name("sink");
        let out = self.dir.join(format!("{name}.out"));
        let expected = std::fs::metadata(&self.input)?.len();
        let start = Instant::now();
        let _proc = if sluice {
            let port = free_port()?;
            let props = self.worker_props(port, "offset.flush.interval.ms=200")?;
            let conn = self.dir.join(format!("sink-{port}.properties"));
            std::fs::write(
                &conn,
                format!(
                    "name=bench-sink-{port}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
                    out.display()
                ),
            )?;
            self.spawn_sluice(&[&props, &conn], &format!("sink-{port}.log"))?
        } else {
            Proc(
                Command::new(self.bin_dir.join("ref_consume"))
                    .args(["--bootstrap", &self.bootstrap, "--topic", topic])
                    .args(["--group", &format!("ref-{name}")])
                    .args(["--count", &self.records.to_string(), "--output"])
                    .arg(&out)
                    .stderr(Stdio::null())
                    .spawn()?,
            )
        };
        let deadline = Instant::now() + Duration::from_secs(300);
        while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) < expected {
            if Instant::now() > deadline {
                bail!("sink output incomplete");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let secs = start.elapsed().as_secs_f64();
        let lines = Self::lines_in(&out);
        if lines != self.records {
            bail!("sink wrote {lines} lines, expected {}", self.records);
        }
        Ok(self.records as f64 / secs)
    }
}

/// One keep-alive connection sending `GET path` every `every`; latency is
/// measured from the scheduled send time (no coordinated omission).
fn load(
    port: u16,
    path: String,
    every: Duration,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<f64> {
    use std::sync::atomic::Ordering;
    let mut out = Vec::new();
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return out;
    };
    let _ = conn.set_nodelay(true);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut next = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
        }
        let scheduled = next;
        next += every;
        if write!(conn, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").is_err() {
            break;
        }
        // One response: headers, then Content-Length bytes.
        let mut got = Vec::new();
        let complete = loop {
            let Ok(n) = conn.read(&mut buf) else {
                break false;
            };
            if n == 0 {
                break false;
            }
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some(end) = text.find("\r\n\r\n") {
                let len: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        if k.eq_ignore_ascii_case("content-length") {
                            v.trim().parse().ok()
                        } else {
                            None
                        }
                    })
                    .unwrap_or(0);
                if got.len() >= end + 4 + len {
                    break true;
                }
            }
        };
        if !complete {
            break;
        }
        out.push(scheduled.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

#[derive(Debug, Clone)]
struct Row {
    case: String,
    a: Vec<f64>,
    b: Vec<f64>,
    unit: &'static str,
    goal: String,
    /// Whether B/A means something (throughputs: yes; two timings: no).
    ratio: bool,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

fn span(v: &[f64]) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.0}–{max:.0}")
}

/// Runs `a` and `b` alternately `rounds` times.
fn pair(
    env: &mut Env,
    mut a: impl FnMut(&mut Env) -> Result<f64>,
    mut b: impl FnMut(&mut Env) -> Result<f64>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut va, mut vb) = (Vec::new(), Vec::new());
    for _ in 0..env.rounds {
        va.push(a(env)?);
        vb.push(b(env)?);
    }
    Ok((va, vb))
}

/// Resident set size of a process, KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() -> Result<()> {
    let mut env = Env::start()?;
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    println!(
        "sluice bench: {} records of 100 B, {} alternating rounds per pair, tansu memory storage",
        env.records, env.rounds
    );
    println!(
        "pinned producer settings (both sides): {:?}",
        sluice_bench::PRODUCER
    );
    println!(
        "pinned consumer settings (both sides): {:?}",
        sluice_bench::CONSUMER
    );

    // 1. File source → Kafka.
    let (a, b) = pair(&mut env, Env::ref_source, |e| {
        e.sluice_source("", "correlation.id.header=")
    })?;
    rows.push(Row {
        case: "1. file → Kafka (records/s): ref_produce vs Sluice FileStreamSource".into(),
        a,
        b,
        unit: "rec/s",
        ratio: true,
        goal: "≥ 0.90×".into(),
    });
    println!("{}", fmt_row(rows.last()));

    if std::env::var("BENCH_QUICK").is_ok() {
        return Ok(()); // case 1 only, for profiling sessions
    }

    // 1b. The same with out-of-the-box settings on both sides.
    env.plain = true;
    let (a, b) = pair(&mut env, Env::ref_source, |e| e.sluice_source("", ""))?;
    env.plain = false;
    rows.push(Row {
        case: "1b. file → Kafka, out-of-the-box settings (records/s): ref_produce as a plain script sets it up (librdkafka defaults, linger.ms=5, batch.num.messages=10000) vs Sluice with no producer.* keys (idempotent, 5 in flight, correlation ids on)".into(),
        a,
        b,
        unit: "rec/s",
        ratio: true,
        goal: "> 1× (well ahead)".into(),
    });
    println!("{}", fmt_row(rows.last()));

    // 8. REST latency at 1,000 requests/s while case 1 runs.
    env.rest_latencies = Some(Vec::new());
    let mut under_load = Vec::new();
    for _ in 0..env.rounds {
        under_load.push(env.sluice_source("", "correlation.id.header=")?);
    }
    let mut lat = env.rest_latencies.take().unwrap_or_default();
    let requests = lat.len();
    notes.push(format!(
        "8. GET /connectors/{{c}}/status at 1,000 requests/s (4 keep-alive connections) during case 1 ({requests} requests): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal p99 < 5 ms); case 1 under that load: {:.0} records/s median",
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99),
        percentile(&mut lat, 1.0),
        median(&under_load)
    ));
    println!("{}", notes.last().map(String::as_str).unwrap_or_default());

    // 4. Offset checkpointing on (every 100 ms) vs off (never during the run).
    let (a, b) = pair(
        &mut env,
        |e| {
            e.sluice_source(
                "offset.flush.interval.ms=86400000",
                "correlation.id.header=",
            )
        },
        |e| e.sluice_source("offset.flush.interval.ms=100", "correlation.id.header="),
    )?;
    rows.push(Row {
        case: "4. offset commits off vs on every 100 ms (records/s)".into(),
        a,
        b,
        unit: "rec/s",
        ratio: true,
        goal: "≥ 0.95×".into(),
    });
    println!("{}", fmt_row(rows.last()));

    // 5. Converter and correlation id costs on case 1.
    let json = "value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=true\ncorrelation.id.header=";
    let (a, b) = pair(
        &mut env,
        |e| e.sluice_source("", "correlation.id.header="),
        |e| e.sluice_source("", json),
    )?;
    let cost = 1e9 / median(&b) - 1e9 / median(&a);
    notes.push(format!(
        "5. JsonConverter with schemas costs {cost:.0} ns/record more than StringConverter (end to end, medians)"
    ));
    rows.push(Row {
        case: "5. StringConverter vs JsonConverter schemas.enable=true (records/s)".into(),
        a,
        b,
        unit: "rec/s",
        ratio: true,
        goal: "report".into(),
    });
    println!("{}", fmt_row(rows.last()));
    let (a, b) = pair(
        &mut env,
        |e| e.sluice_source("", "correlation.id.header="),
        |e| e.sluice_source("", ""),
    )?;
    let cost = 1e9 / median(&b) - 1e9 / median(&a);
    notes.push(format!(
        "5. correlation ids (default on) cost {cost:.0} ns/record end to end (medians)"
    ));
    // Case 1's goal with correlation ids on: against case 1's bare producer.
    let bare = median(&rows[0].a);
    let with_ids = median(&b) / bare;
    notes.push(format!(
        "1 with correlation ids on (the default): {:.0} rec/s, {with_ids:.2}× case 1's bare producer ({bare:.0} rec/s); goal ≥ 0.80×: {}",
        median(&b),
        if with_ids >= 0.8 { "met" } else { "missed" }
    ));
    rows.push(Row {
        case: "5. correlation ids off vs on (records/s)".into(),
        a,
        b,
        unit: "rec/s",
        ratio: true,
        goal: "report".into(),
    });
    println!("{}", fmt_row(rows.last()));

    // 2. Kafka → file sink, from a topic case 1 filled.
    let topic = "ref-1".to_string();
    let (a, b) = pair(
        &mut env,
        |e| e.sink(&topic, false),
        |e| e.sink(&topic, true),
    )?;
    rows.push(Row {
        case: "2. Kafka → file (records/s, incl. start and group join): ref_consume vs Sluice FileStreamSink".into(),
        a,
        b,
 unit: "rec/s",
        ratio: true,
        goal: "≥ 0.90×".into(),
    });
    println!("{}", fmt_row(rows.last()));

    // 7. Cold start.
    let (mut to_rest, mut to_first) = (Vec::new(), Vec::new());
    for _ in 0..env.rounds {
        let topic = env.name("cold");
        env.create_topic(&topic)?;
        let one = env.dir.join(format!("{topic}.txt"));
        std::fs::write(&one, "hello\n")?;
        let port = free_port()?;
        let props = env.worker_props(port, "")?;
        let conn = env.dir.join(format!("{topic}.properties"));
        std::fs::write(
            &conn,
            format!(
                "name=cold\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n",
                one.display()
            ),
        )?;
        let start = Instant::now();
        let started_ms = now_ms();
        let w = env.spawn_sluice(&[&props, &conn], &format!("{topic}.log"))?;
        while http_get(port, "/").map(|(c, _)| c) != Some(200) {
            if start.elapsed() > Duration::from_secs(30) {
                bail!("no REST answer");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        to_rest.push(start.elapsed().as_secs_f64() * 1000.0);
        loop {
            if let Some((200, text)) = http_get(port, "/metrics")
                && metric(&text, "kafka_connect_source_task_source_record_write_total")
                    .is_some_and(|v| v >= 1.0)
            {
                break;
            }
            if start.elapsed() > Duration::from_secs(30) {
                bail!("no record acknowledged");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        to_first.push((now_ms() - started_ms) as f64);
        drop(w);
    }
    rows.push(Row {
        case: "7. cold start: exec → GET / 200, exec → first record acknowledged (ms)".into(),
        a: to_rest,
        b: to_first,
        unit: "ms",
        ratio: false,
        goal: "≤ 100 ms / ≤ 500 ms".into(),
    });
    println!("{}", fmt_row(rows.last()));

    // 6. Memory.
    {
        let port = free_port()?;
        let props = env.worker_props(port, "")?;
        let w = env.spawn_sluice(&[&props], "idle.log")?;
        let start = Instant::now();
        while http_get(port, "/").map(|(c, _)| c) != Some(200)
            && start.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_secs(2));
        let idle = rss_kib(w.0.id()).unwrap_or(0) as f64 / 1024.0;
        drop(w);
        notes.push(format!("6. idle worker RSS: {idle:.1} MiB (goal ≤ 30 MiB)"));
        println!("{}", notes.last().map(String::as_str).unwrap_or_default());
        // 100 idle source tasks (a file source each, on files that do not
        // grow): RSS added per task.
        let port = free_port()?;
        let props = env.worker_props(port, "")?;
        let mut conns = Vec::new();
        for i in 0..100 {
            let f = env.dir.join(format!("idle-{i}.txt"));
            std::fs::write(&f, "")?;
            let c = env.dir.join(format!("idle-{i}.properties"));
            std::fs::write(
                &c,
                format!(
                    "name=idle-{i}\nconnector.class=FileStreamSource\nfile={}\ntopic=idle-{i}\n",
                    f.display()
                ),
            )?;
            conns.push(c);
        }
        let mut args: Vec<&Path> = vec![props.as_path()];
        args.extend(conns.iter().map(PathBuf::as_path));
        let w = env.spawn_sluice(&args, "idle100.log")?;
        let start = Instant::now();
        loop {
            let running = http_get(port, "/metrics")
                .and_then(|(_, t)| metric(&t, "kafka_connect_worker_task_count"))
                .unwrap_or(0.0);
            if running >= 100.0 || start.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_secs(3));
        let busy = rss_kib(w.0.id()).unwrap_or(0) as f64 / 1024.0;
        drop(w);
        notes.push(format!(
            "6. 100 idle source tasks: RSS {busy:.1} MiB, {:.2} MiB per task (goal ≤ 1 MiB)",
            (busy - idle) / 100.0
        ));
        println!("{}", notes.last().map(String::as_str).unwrap_or_default());
    }

    // 3. Runtime overhead, in process.
    let out = Command::new(env.bin_dir.join("overhead")).output()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    notes.push(format!("3. {text}"));
    println!("{}", notes.last().map(String::as_str).unwrap_or_default());

    let table = render(&env, &rows, &notes);
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&results)?;
    let file = results.join(format!("{}-{commit}.md", now_ms() / 1000));
    std::fs::write(&file, &table)?;
    println!("\n{table}\nwritten to {}", file.display());
    Ok(())
}

fn fmt_row(r: Option<&Row>) -> String {
    let Some(r) = r else {
        return String::new();
    };
    let (ma, mb) = (median(&r.a), median(&r.b));
    format!(
        "| {} | {ma:.0} {u} ({}) | {mb:.0} {u} ({}) | {} | {} |",
        r.case,
        span(&r.a),
        span(&r.b),
        if r.ratio {
            format!("{:.2}×", mb / ma)
        } else {
            "–".to_string()
        },
        goal_with_verdict(r, mb / ma),
        u = r.unit,
    )
}

/// The goal, with "met"/"missed" when it is a ratio bound ("≥ 0.90×",
/// "> 1×") the row can be checked against.
fn goal_with_verdict(r: &Row, ratio: f64) -> String {
    let bound = |prefix: &str| {
        r.goal
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('×').next())
            .and_then(|n| n.trim().parse::<f64>().ok())
    };
    let verdict = if !r.ratio {
        None
    } else if let Some(min) = bound("≥ ") {
        Some(ratio >= min)
    } else {
        bound("> ").map(|min| ratio > min)
    };
    match verdict {
        Some(true) => format!("{}: met", r.goal),
        Some(false) => format!("{}: missed", r.goal),
        None => r.goal.clone(),
    }
}

fn render(env: &Env, rows: &[Row], notes: &[String]) -> String {
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or_default().trim().to_string())
        })
        .unwrap_or_default();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut s = format!(
        "# Sluice benchmark\n\nmachine: {cpus} × {machine}; commit {commit}; {} records of 100 B; {} alternating rounds; tansu 0.6.0 memory storage\n\n| case (A vs B) | A median (min–max) | B median (min–max) | B/A | goal |\n| --- | --- | --- | --- | --- |\n",
        env.records, env.rounds
    );
    for r in rows {
        s.push_str(&fmt_row(Some(r)));
        s.push('\n');
    }
    s.push('\n');
    for n in notes {
        s.push_str(&format!("- {n}\n"));
    }
    s
}
