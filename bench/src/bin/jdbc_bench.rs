//! `make bench`, JDBC cases: the JDBC sink and source against the
//! databases' own bulk tools on the same rows, alternated A B A B in one
//! session, medians and ratios printed and written to `bench/results/`.
//!
//! - sink, PostgreSQL, insert: `psql \copy FROM` a CSV file (A) vs Kafka →
//!   JdbcSink `insert.mode=insert` (B); goal B/A ≥ 0.7;
//! - sink, PostgreSQL, upsert: a multi-row `INSERT ... ON CONFLICT` script
//!   through `psql -f` (A) vs JdbcSink `insert.mode=upsert` (B); goal ≥ 1;
//! - sink, MariaDB, insert: `LOAD DATA LOCAL INFILE` (A) vs JdbcSink (B);
//! - source, PostgreSQL, bulk: `psql \copy (SELECT ...) TO '/dev/null'` (A)
//!   vs JdbcSource `mode=bulk` into Kafka until Kafka acknowledged every
//!   row (B); goal ≥ 0.5.
//!
//! Rates are rows per second of wall time, Sluice's including its worker's
//! start. Records in Kafka are JSON with an inline schema (the
//! JsonConverter's format), so Sluice's side also parses them.
//! Environment: `BENCH_JDBC_ROWS` (default 1,000,000), `BENCH_ROUNDS` (3),
//! `SLUICE`, `TANSU`.

use std::io::{BufWriter, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use sluice_bench::{Proc, psql, run};

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn mariadb(db: Option<&str>, args: &[&str]) -> Result<String> {
    let mut c = Command::new("mariadb");
    c.args(["-h", "127.0.0.1", "-u", "root", "-N", "-B"]);
    if let Some(d) = db {
        c.arg(d);
    }
    run(c.args(args), "mariadb")
}

fn metric(port: u16, name: &str) -> Option<f64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .reduce(|a, b| a + b)
}

fn create_topic(bootstrap: &str, topic: &str) -> Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    for r in rt.block_on(admin.create_topics(
        [&NewTopic::new(topic, 1, TopicReplication::Fixed(-1))],
        &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
    ))? {
        r.map_err(|(t, e)| anyhow::anyhow!("cannot create topic {t}: {e}"))?;
    }
    Ok(())
}

struct Bench {
    dir: PathBuf,
    bootstrap: String,
    sluice: PathBuf,
    rows: usize,
    rounds: usize,
    pg_db: String,
    my_db: String,
    csv: PathBuf,
    upsert_sql: PathBuf,
    seq: std::cell::Cell<u32>,
    _broker: Proc,
}

const COLUMNS: &str = "id BIGINT PRIMARY KEY, name TEXT NOT NULL, qty INT NOT NULL, price NUMERIC(10,2) NOT NULL, note TEXT";
const MY_COLUMNS: &str = "id BIGINT PRIMARY KEY, name TEXT NOT NULL, qty INT NOT NULL, price DECIMAL(10,2) NOT NULL, note TEXT";

impl Bench {
    fn start() -> Result<Self> {
        let env = |k: &str, d: usize| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let rows = env("BENCH_JDBC_ROWS", 1_000_000);
        let rounds = env("BENCH_ROUNDS", 3);
        let exe = std::env::current_exe()?;
        let bin_dir = exe.parent().context("no binary directory")?.to_path_buf();
        let sluice = std::env::var("SLUICE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| bin_dir.join("sluice"));
        if !sluice.exists() {
            bail!(
                "{} is missing: run `cargo build --release -p sluice-runtime --bin sluice`",
                sluice.display()
            );
        }
        let dir = std::env::temp_dir().join(format!("sluice-jdbc-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let tansu = std::env::var("TANSU").unwrap_or_else(|_| "tansu".to_string());
        let bootstrap = format!("127.0.0.1:{}", free_port()?);
        let broker = Proc(
            Command::new(&tansu)
                .args(["broker", "--listener-url", &format!("tcp://{bootstrap}")])
                .args([
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
                .with_context(|| format!("cannot start {tansu} (run `make tools`)"))?,
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&bootstrap).is_err() {
            if Instant::now() > deadline {
                bail!("tansu did not listen on {bootstrap}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let pg_db = format!("sluice_bench_{}", std::process::id());
        psql(
            "postgres",
            &[
                "-c",
                &format!("DROP DATABASE IF EXISTS {pg_db}"),
                "-c",
                &format!("CREATE DATABASE {pg_db}"),
            ],
        )?;
        let my_db = pg_db.clone();
        mariadb(
            None,
            &[
                "-e",
                &format!("DROP DATABASE IF EXISTS {my_db}; CREATE DATABASE {my_db}"),
            ],
        )?;

        // The same rows three ways: CSV, an upsert script, Kafka records.
        let csv = dir.join("rows.csv");
        let upsert_sql = dir.join("upsert.sql");
        let topic = "bench_rows".to_string();
        let mut c = BufWriter::new(std::fs::File::create(&csv)?);
        let mut u = BufWriter::new(std::fs::File::create(&upsert_sql)?);
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "20")
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "1000000")
            .create()?;
        create_topic(&bootstrap, &topic)?;
        let schema = r#"{"type":"struct","name":"row","fields":[{"field":"id","type":"int64"},{"field":"name","type":"string"},{"field":"qty","type":"int32"},{"field":"price","type":"double"},{"field":"note","type":"string","optional":true}]}"#;
        for i in 0..rows {
            let (name, qty, price) = (
                format!("name-{i}"),
                (i % 1000) as i32,
                (i % 100_000) as f64 / 100.0,
            );
            writeln!(c, "{i},{name},{qty},{price:.2},note {i}")?;
            if i % 1000 == 0 {
                if i > 0 {
                    writeln!(
                        u,
                        " ON CONFLICT (id) DO UPDATE SET name=EXCLUDED.name,qty=EXCLUDED.qty,price=EXCLUDED.price,note=EXCLUDED.note;"
                    )?;
                }
                write!(u, "INSERT INTO t (id,name,qty,price,note) VALUES ")?;
            } else {
                write!(u, ",")?;
            }
            write!(u, "({i},'{name}',{qty},{price:.2},'note {i}')")?;
            let value = format!(
                r#"{{"schema":{schema},"payload":{{"id":{i},"name":"{name}","qty":{qty},"price":{price:.2},"note":"note {i}"}}}}"#
            );
            loop {
                match producer.send(BaseRecord::<(), String>::to(&topic).payload(&value)) {
                    Ok(()) => break,
                    Err((e, _)) if e.to_string().contains("Queue full") => {
                        producer.poll(Duration::from_millis(10));
                    }
                    Err((e, _)) => return Err(e.into()),
                }
            }
            producer.poll(Duration::ZERO);
        }
        if rows > 0 {
            writeln!(
                u,
                " ON CONFLICT (id) DO UPDATE SET name=EXCLUDED.name,qty=EXCLUDED.qty,price=EXCLUDED.price,note=EXCLUDED.note;"
            )?;
        }
        c.flush()?;
        u.flush()?;
        producer.flush(Duration::from_secs(300))?;
        Ok(Self {
            dir,
            bootstrap,
            sluice,
            rows,
            rounds,
            pg_db,
            my_db,
            csv,
            upsert_sql,
            seq: std::cell::Cell::new(0),
            _broker: broker,
        })
    }

    fn pg_fresh(&self) -> Result<()> {
        psql(
            &self.pg_db,
            &[
                "-c",
                &format!("DROP TABLE IF EXISTS t; CREATE TABLE t ({COLUMNS})"),
            ],
        )
        .map(|_| ())
    }

    fn my_fresh(&self) -> Result<()> {
        mariadb(
            Some(&self.my_db),
            &[
                "-e",
                &format!("DROP TABLE IF EXISTS t; CREATE TABLE t ({MY_COLUMNS})"),
            ],
        )
        .map(|_| ())
    }

    fn pg_count(&self) -> usize {
        psql(&self.pg_db, &["-c", "SELECT count(*) FROM t"])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn my_count(&self) -> usize {
        mariadb(Some(&self.my_db), &["-e", "SELECT count(*) FROM t"])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Runs a worker with one connector until `done` (checked every 100 ms)
    /// and returns the seconds it took.
    fn sluice(&self, connector: &str, done: &dyn Fn(u16) -> bool) -> Result<f64> {
        self.seq.set(self.seq.get() + 1);
        let run = self.dir.join(format!("run{}", self.seq.get()));
        std::fs::create_dir_all(&run)?;
        let port = free_port()?;
        let worker = run.join("worker.properties");
        std::fs::write(
            &worker,
            format!(
                "bootstrap.servers={}\nlisteners=http://127.0.0.1:{port}\noffset.storage.dir={}\n\
                 key.converter=org.apache.kafka.connect.storage.StringConverter\n\
                 value.converter=org.apache.kafka.connect.json.JsonConverter\noffset.flush.interval.ms=1000\n",
                self.bootstrap,
                run.join("state").display()
            ),
        )?;
        let conn = run.join("connector.properties");
        // A name of its own per run: a sink's consumer group starts fresh.
        std::fs::write(
            &conn,
            connector.replacen("name=", &format!("name=r{}-", self.seq.get()), 1),
        )?;
        let start = Instant::now();
        let _child = Proc(
            Command::new(&self.sluice)
                .args([
                    "standalone",
                    &worker.display().to_string(),
                    &conn.display().to_string(),
                ])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(run.join("worker.log"))?)
                .spawn()?,
        );
        let deadline = start + Duration::from_secs(1800);
        while !done(port) {
            if Instant::now() > deadline {
                bail!("timed out; see {}", run.join("worker.log").display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(start.elapsed().as_secs_f64())
    }

    /// The in-process run of `jdbc_inproc` (sink or source task driven
    /// directly, no broker): its seconds.
    fn inproc(&self, mode: &str) -> Result<f64> {
        let bin = self.sluice.with_file_name("jdbc_inproc");
        let out = run(
            Command::new(&bin).args([
                "--rows",
                &self.rows.to_string(),
                "--mode",
                mode,
                "--pg_db",
                &self.pg_db,
                "--my_db",
                &self.my_db,
            ]),
            "jdbc_inproc",
        )?;
        out.trim()
            .parse()
            .with_context(|| format!("jdbc_inproc printed {out:?}"))
    }

    fn timed(f: impl FnOnce() -> Result<()>) -> Result<f64> {
        let start = Instant::now();
        f()?;
        Ok(start.elapsed().as_secs_f64())
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let mut b = Bench::start()?;
    let n = b.rows;
    println!(
        "sluice JDBC bench: {n} rows, {} alternating rounds per pair",
        b.rounds
    );
    let mut table = String::new();
    let pg_url = format!("jdbc:postgresql://127.0.0.1:5432/{}?user=postgres", b.pg_db);
    let my_url = format!(
        "jdbc:mariadb://127.0.0.1:3306/{}?user=root&password=",
        b.my_db
    );
    let sink = |mode: &str, url: &str, extra: &str| {
        format!(
            "name=sink\nconnector.class=JdbcSink\ntopics=bench_rows\nconnection.url={url}\ntable.name.format=t\n\
             insert.mode={mode}\n{extra}"
        )
    };
    // The cases through Kafka are bounded by the test broker (see the
    // table); one round each unless asked.
    let e2e_rounds: usize = std::env::var("BENCH_JDBC_E2E_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut case = |name: &str,
                    goal: &str,
                    a: &mut dyn FnMut(&mut Bench) -> Result<f64>,
                    s: &mut dyn FnMut(&mut Bench) -> Result<f64>,
                    b: &mut Bench|
     -> Result<()> {
        let (mut ta, mut ts) = (Vec::new(), Vec::new());
        let rounds = if name.contains("through Kafka") {
            e2e_rounds
        } else {
            b.rounds
        };
        if rounds == 0 {
            return Ok(());
        }
        for _ in 0..rounds {
            ta.push(a(b)?);
            ts.push(s(b)?);
        }
        let (ma, ms) = (median(&mut ta), median(&mut ts));
        let (ra, rs) = (n as f64 / ma, n as f64 / ms);
        let line = format!(
            "| {name} | {ra:.0} rows/s ({:.2}–{:.2} s) | {rs:.0} rows/s ({:.2}–{:.2} s) | {:.2}× | {goal} |",
            ta[0],
            ta[ta.len() - 1],
            ts[0],
            ts[ts.len() - 1],
            rs / ra
        );
        println!("{line}");
        table.push_str(&line);
        table.push('\n');
        Ok(())
    };
    let csv = b.csv.display().to_string();
    let script = b.upsert_sql.display().to_string();
    case(
        "sink PostgreSQL insert, in process: psql \\copy (A) vs JdbcSinkTask (B)",
        "≥ 0.7×",
        &mut |b| {
            b.pg_fresh()?;
            Bench::timed(|| {
                psql(&b.pg_db, &["-c", &format!("\\copy t FROM '{csv}' CSV")]).map(|_| ())
            })
        },
        &mut |b| {
            b.pg_fresh()?;
            b.inproc("pg-insert")
        },
        &mut b,
    )?;
    case(
        "sink PostgreSQL upsert, in process: multi-row INSERT ON CONFLICT script (A) vs JdbcSinkTask upsert (B)",
        "≥ 1×",
        &mut |b| {
            b.pg_fresh()?;
            Bench::timed(|| psql(&b.pg_db, &["-f", &script]).map(|_| ()))
        },
        &mut |b| {
            b.pg_fresh()?;
            b.inproc("pg-upsert")
        },
        &mut b,
    )?;
    case(
        "sink MariaDB insert, in process: LOAD DATA LOCAL INFILE (A) vs JdbcSinkTask (B)",
        "report",
        &mut |b| {
            b.my_fresh()?;
            Bench::timed(|| {
                mariadb(
                    Some(&b.my_db),
                    &[
                        "--local-infile=1",
                        "-e",
                        &format!(
                            "LOAD DATA LOCAL INFILE '{csv}' INTO TABLE t FIELDS TERMINATED BY ','"
                        ),
                    ],
                )
                .map(|_| ())
            })
        },
        &mut |b| {
            b.my_fresh()?;
            b.inproc("my-insert")
        },
        &mut b,
    )?;
    b.pg_fresh()?;
    psql(&b.pg_db, &["-c", &format!("\\copy t FROM '{csv}' CSV")])?;
    case(
        "source PostgreSQL bulk, in process: psql \\copy TO /dev/null (A) vs JdbcSourceTask polls (B)",
        "≥ 0.5×",
        &mut |b| {
            Bench::timed(|| {
                psql(&b.pg_db, &["-c", "\\copy (SELECT * FROM t) TO '/dev/null'"]).map(|_| ())
            })
        },
        &mut |b| b.inproc("pg-source"),
        &mut b,
    )?;
    case(
        "sink PostgreSQL insert through Kafka: psql \\copy (A) vs worker + JdbcSink (B)",
        "≥ 0.7×",
        &mut |b| {
            b.pg_fresh()?;
            Bench::timed(|| {
                psql(&b.pg_db, &["-c", &format!("\\copy t FROM '{csv}' CSV")]).map(|_| ())
            })
        },
        &mut |b| {
            b.pg_fresh()?;
            let c = sink("insert", &pg_url, "");
            b.sluice(&c, &|_| b.pg_count() >= n)
        },
        &mut b,
    )?;
    case(
        "sink PostgreSQL upsert through Kafka: multi-row INSERT ON CONFLICT script (A) vs worker + JdbcSink upsert (B)",
        "≥ 1×",
        &mut |b| {
            b.pg_fresh()?;
            Bench::timed(|| psql(&b.pg_db, &["-f", &script]).map(|_| ()))
        },
        &mut |b| {
            b.pg_fresh()?;
            let c = sink("upsert", &pg_url, "pk.mode=record_value\npk.fields=id\n");
            b.sluice(&c, &|_| b.pg_count() >= n)
        },
        &mut b,
    )?;
    case(
        "sink MariaDB insert through Kafka: LOAD DATA LOCAL INFILE (A) vs worker + JdbcSink (B)",
        "report",
        &mut |b| {
            b.my_fresh()?;
            Bench::timed(|| {
                mariadb(
                    Some(&b.my_db),
                    &[
                        "--local-infile=1",
                        "-e",
                        &format!(
                            "LOAD DATA LOCAL INFILE '{csv}' INTO TABLE t FIELDS TERMINATED BY ','"
                        ),
                    ],
                )
                .map(|_| ())
            })
        },
        &mut |b| {
            b.my_fresh()?;
            let c = sink("insert", &my_url, "");
            b.sluice(&c, &|_| b.my_count() >= n)
        },
        &mut b,
    )?;
    // The source reads the table the last PostgreSQL round left: load it.
    b.pg_fresh()?;
    psql(&b.pg_db, &["-c", &format!("\\copy t FROM '{csv}' CSV")])?;
    case(
        "source PostgreSQL bulk through Kafka: psql \\copy TO /dev/null (A) vs worker + JdbcSource until Kafka acknowledged (B)",
        "≥ 0.5×",
        &mut |b| {
            Bench::timed(|| {
                psql(&b.pg_db, &["-c", "\\copy (SELECT * FROM t) TO '/dev/null'"]).map(|_| ())
            })
        },
        &mut |b| {
            let prefix = format!("src{}-", b.seq.get() + 1);
            let c = format!(
                "name=src\nconnector.class=JdbcSource\nconnection.url={pg_url}\nmode=bulk\ntopic.prefix={prefix}\n\
                 poll.interval.ms=3600000\nbatch.max.rows=2000\n"
            );
            b.sluice(&c, &|port| {
                metric(port, "kafka_connect_source_task_source_record_write_total")
                    .is_some_and(|w| w >= n as f64)
            })
        },
        &mut b,
    )?;
    let _ = psql(
        "postgres",
        &[
            "-c",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", b.pg_db),
        ],
    );
    let _ = mariadb(
        None,
        &["-e", &format!("DROP DATABASE IF EXISTS {}", b.my_db)],
    );
    let _ = std::fs::remove_dir_all(&b.dir);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&out)?;
    let file = out.join("jdbc-latest.md");
    std::fs::write(
        &file,
        format!(
            "# Sluice JDBC benchmark\n\n{n} rows (id, name, qty, price, note), {} rounds in process (the cases through Kafka: BENCH_JDBC_E2E_ROUNDS, default 1), medians. In process: the connector's task driven directly, sink records built before the clock starts. Through Kafka: records are JSON with an inline schema, tansu memory storage, Sluice's time includes its worker's start; tansu serves a consumer about 15,000 such records/s, which bounds the sink cases.\n\n| case | A | B | B/A | goal |\n| --- | --- | --- | --- | --- |\n{table}",
            b.rounds
        ),
    )?;
    println!("written to {}", file.display());
    Ok(())
}
