//! `make bench`, messaging case: MQTT → Kafka and RabbitMQ → Kafka through
//! a Sluice worker against a bare client → rdkafka loop with the same
//! acknowledgement discipline (the broker's message acknowledged, in
//! order, only after Kafka acknowledged its record) and the same pinned
//! producer settings.
//!
//! Each round preloads BENCH_MSG_RECORDS (default 100,000) messages of 100
//! bytes for each side: MQTT QoS 1 messages queued by a Mosquitto of the
//! bench's own for a persistent session (1,000 in flight), and persistent
//! messages in a durable RabbitMQ queue on the machine's broker. Then,
//! alternated A B:
//! - A: the reference loop (rumqttc with manual acks, or lapin with
//!   prefetch 2,048 and `multiple` acks) producing with rdkafka;
//! - B: the worker's MQTT or RabbitMQ source connector, created over REST,
//!   timed from its first to its last record acknowledged by Kafka (the
//!   worker's `source-record-write-total`, read every 10 ms; the
//!   reference by its own delivery reports, the same span).
//!
//! Prints messages per second, the median ratios B/A (goal >= 0.9) and
//! writes bench/results/messaging-latest.md. Environment:
//! `BENCH_MSG_RECORDS`, `BENCH_ROUNDS` (3), `TANSU`, `SLUICE`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice_bench::Proc;

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn wait_listen(addr: &str, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            bail!("{what} did not listen on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn http(port: u16, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let code = buf
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((
        code,
        buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_string(),
    ))
}

fn producer(bootstrap: &str) -> Result<FutureProducer> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap);
    for (k, v) in sluice_bench::PRODUCER {
        cfg.set(*k, *v);
    }
    Ok(cfg.create()?)
}

async fn create_topics(bootstrap: &str, topics: &[&str]) -> Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, 1, TopicReplication::Fixed(-1)))
        .collect();
    for r in admin
        .create_topics(
            &new,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await?
    {
        r.map_err(|(t, e)| anyhow::anyhow!("create {t}: {e}"))?;
    }
    Ok(())
}

fn payload(i: usize) -> Vec<u8> {
    format!("{i:010}-{}", "x".repeat(89)).into_bytes()
}

/// Registers a persistent MQTT session for `client_id` on `filter`, then
/// publishes `n` QoS 1 messages for it to queue.
async fn mqtt_preload(
    port: u16,
    client_id: &str,
    filter: &str,
    topic: &str,
    n: usize,
) -> Result<()> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
    o.set_clean_session(false);
    let (c, mut ev) = AsyncClient::new(o, 10);
    c.subscribe(filter, QoS::AtLeastOnce).await?;
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = ev.poll().await? {
            break;
        }
    }
    c.disconnect().await?;
    let _ = tokio::time::timeout(Duration::from_millis(200), ev.poll()).await;

    let mut o = MqttOptions::new(format!("{client_id}-pub"), "127.0.0.1", port);
    o.set_inflight(1000);
    let (p, mut ev) = AsyncClient::new(o, 1000);
    let topic = topic.to_string();
    let sender = tokio::spawn(async move {
        for i in 0..n {
            let t = format!("{}{}", topic, i % 4);
            p.publish(t, QoS::AtLeastOnce, false, payload(i)).await?;
        }
        anyhow::Ok(p)
    });
    let mut acked = 0;
    while acked < n {
        if let Event::Incoming(Packet::PubAck(_)) = ev.poll().await? {
            acked += 1;
        }
    }
    let p = sender.await??;
    p.disconnect().await?;
    let _ = tokio::time::timeout(Duration::from_millis(200), ev.poll()).await;
    Ok(())
}

/// The reference: the queued session's messages to Kafka, each PUBACK
/// sent in order once Kafka acknowledged its record.
async fn mqtt_reference(
    port: u16,
    client_id: &str,
    bootstrap: &str,
    topic: &str,
    n: usize,
) -> Result<Duration> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
    let producer = producer(bootstrap)?;
    let mut started: Option<Instant> = None;
    let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
    o.set_clean_session(false);
    o.set_manual_acks(true);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut ev) = AsyncClient::new(o, 65_536);
    // The event loop on a task of its own (its poll must not be cancelled).
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send(p).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("mqtt reference: {e}");
                    break;
                }
            }
        }
        ev
    });
    let mut pending = FuturesOrdered::new();
    let mut done = 0;
    while done < n {
        tokio::select! {
            Some(p) = rx.recv() => {
                let producer = producer.clone();
                let topic = topic.to_string();
                pending.push_back(async move {
                    let r = producer
                        .send(FutureRecord::<str, [u8]>::to(&topic).key(p.topic.as_str()).payload(&p.payload[..]), Duration::from_secs(0))
                        .await;
                    (p, r.is_ok())
                });
            }
            Some((p, ok)) = pending.next(), if !pending.is_empty() => {
                started.get_or_insert_with(Instant::now);
                anyhow::ensure!(ok, "a Kafka delivery failed");
                client.try_ack(&p)?;
                done += 1;
            }
        }
    }
    let took = started.map_or(Duration::ZERO, |s| s.elapsed());
    client.disconnect().await?;
    let _ = tokio::time::timeout(Duration::from_millis(500), pump).await;
    Ok(took)
}

async fn amqp_preload(queue: &str, n: usize) -> Result<()> {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
    use lapin::types::FieldTable;
    use lapin::{BasicProperties, Connection, ConnectionProperties};
    let conn = Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        ConnectionProperties::default(),
    )
    .await?;
    let ch = conn.create_channel().await?;
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    let mut confirms = Vec::new();
    for i in 0..n {
        confirms.push(
            ch.basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                &payload(i),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?,
        );
        if confirms.len() >= 1000 {
            for c in confirms.drain(..) {
                c.await?;
            }
        }
    }
    for c in confirms {
        c.await?;
    }
    conn.close(200, "done".into()).await?;
    Ok(())
}

async fn amqp_delete(queue: &str) -> Result<()> {
    use lapin::options::QueueDeleteOptions;
    use lapin::{Connection, ConnectionProperties};
    let conn = Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        ConnectionProperties::default(),
    )
    .await?;
    let ch = conn.create_channel().await?;
    ch.queue_delete(queue.into(), QueueDeleteOptions::default())
        .await?;
    conn.close(200, "done".into()).await?;
    Ok(())
}

/// The reference: the queue to Kafka, prefetch 2,048, one `multiple` ack
/// for the last record Kafka acknowledged whenever some completed.
async fn amqp_reference(queue: &str, bootstrap: &str, topic: &str, n: usize) -> Result<Duration> {
    use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
    use lapin::types::FieldTable;
    use lapin::{Connection, ConnectionProperties};
    let producer = producer(bootstrap)?;
    let mut started: Option<Instant> = None;
    let conn = Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        ConnectionProperties::default(),
    )
    .await?;
    let ch = conn.create_channel().await?;
    ch.basic_qos(2048, BasicQosOptions::default()).await?;
    let mut consumer = ch
        .basic_consume(
            queue.into(),
            "ref".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut pending = FuturesOrdered::new();
    let mut done = 0;
    while done < n {
        tokio::select! {
            Some(d) = consumer.next() => {
                let d = d?;
                let producer = producer.clone();
                let topic = topic.to_string();
                pending.push_back(async move {
                    let r = producer
                        .send(FutureRecord::<(), [u8]>::to(&topic).payload(&d.data[..]), Duration::from_secs(0))
                        .await;
                    (d.delivery_tag, r.is_ok())
                });
            }
            Some((tag, ok)) = pending.next(), if !pending.is_empty() => {
                started.get_or_insert_with(Instant::now);
                anyhow::ensure!(ok, "a Kafka delivery failed");
                let mut last = tag;
                done += 1;
                // Coalesce what is already complete into one ack.
                while let Some(Some((t, ok))) = futures::FutureExt::now_or_never(pending.next()) {
                    anyhow::ensure!(ok, "a Kafka delivery failed");
                    last = t;
                    done += 1;
                }
                ch.basic_ack(last, BasicAckOptions { multiple: true }).await?;
            }
        }
    }
    let took = started.map_or(Duration::ZERO, |s| s.elapsed());
    conn.close(200, "done".into()).await?;
    Ok(took)
}

/// Records of connector `name` Kafka acknowledged, from the worker's
/// `/metrics` (`source-record-write-total`, which follows the
/// acknowledgements).
fn written(rest: u16, name: &str) -> u64 {
    let Ok((_, text)) = http(rest, "GET", "/metrics", "") else {
        return 0;
    };
    let label = format!("connector=\"{name}\"");
    text.lines()
        .filter(|l| {
            l.starts_with("kafka_connect_source_task_source_record_write_total{")
                && l.contains(&label)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// Creates a connector and times it from its first record Kafka
/// acknowledged to its `n`th (the bench broker's memory storage reports
/// wrong high watermarks, and a consumer reading alongside lags behind
/// them).
fn sluice_case(rest: u16, name: &str, config: serde_json::Value, n: usize) -> Result<Duration> {
    let (code, body) = http(
        rest,
        "PUT",
        &format!("/connectors/{name}/config"),
        &config.to_string(),
    )?;
    anyhow::ensure!(code == 201 || code == 200, "creating {name}: {code} {body}");
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut started: Option<Instant> = None;
    loop {
        let w = written(rest, name);
        if w > 0 {
            started.get_or_insert_with(Instant::now);
        }
        if w >= n as u64 {
            break;
        }
        if Instant::now() > deadline {
            bail!("{name}: only {w} of {n} records acknowledged by Kafka");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.map_or(Duration::ZERO, |s| s.elapsed());
    let _ = http(rest, "DELETE", &format!("/connectors/{name}"), "")?;
    Ok(took)
}

fn main() -> Result<()> {
    let n: usize = std::env::var("BENCH_MSG_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let exe = std::env::current_exe()?;
    let sluice = std::env::var("SLUICE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| exe.with_file_name("sluice"));
    let tansu = std::env::var("TANSU").unwrap_or_else(|_| "tansu".to_string());
    let dir = std::env::temp_dir().join(format!("sluice-msg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let kport = free_port()?;
    let bootstrap = format!("127.0.0.1:{kport}");
    let _broker = Proc(
        Command::new(&tansu)
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
            .with_context(|| format!("cannot start {tansu} (run `make tools`)"))?,
    );
    wait_listen(&bootstrap, "tansu")?;

    let mport = free_port()?;
    std::fs::write(
        dir.join("mosquitto.conf"),
        format!(
            "listener {mport} 127.0.0.1\nuser root\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 1000\nallow_anonymous true\n"
        ),
    )?;
    let _mosquitto = Proc(
        Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start /usr/sbin/mosquitto")?,
    );
    wait_listen(&format!("127.0.0.1:{mport}"), "mosquitto")?;

    let rest = free_port()?;
    let props = dir.join("worker.properties");
    std::fs::write(
        &props,
        format!(
            "bootstrap.servers={bootstrap}\nlisteners=http://127.0.0.1:{rest}\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n\
             offset.storage.file.filename={}\n{}",
            dir.join("offsets").display(),
            sluice_bench::as_properties("producer.", sluice_bench::PRODUCER)
        ),
    )?;
    let _worker = Proc(
        Command::new(&sluice)
            .arg("standalone")
            .arg(&props)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("worker.log"))?)
            .spawn()
            .with_context(|| format!("cannot start {}", sluice.display()))?,
    );
    wait_listen(&format!("127.0.0.1:{rest}"), "the worker's REST API")?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (mut ma, mut mb, mut aa, mut ab) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let pid = std::process::id();
    for r in 0..rounds {
        // MQTT, A then B.
        let (ta, tb) = (format!("mqtt-a-{r}"), format!("mqtt-b-{r}"));
        rt.block_on(create_topics(
            &bootstrap,
            &[&ta, &tb, &format!("amqp-a-{r}"), &format!("amqp-b-{r}")],
        ))?;
        let (ca, cb) = (
            format!("bench-ref-{pid}-{r}"),
            format!("bench-sluice-{pid}-{r}"),
        );
        eprintln!("round {r}: MQTT, {n} messages each side");
        rt.block_on(mqtt_preload(
            mport,
            &ca,
            &format!("ra/{r}/#"),
            &format!("ra/{r}/"),
            n,
        ))?;
        let a = rt.block_on(mqtt_reference(mport, &ca, &bootstrap, &ta, n))?;
        rt.block_on(mqtt_preload(
            mport,
            &cb,
            &format!("rb/{r}/#"),
            &format!("rb/{r}/"),
            n,
        ))?;
        let b = sluice_case(
            rest,
            &format!("mqtt-{r}"),
            serde_json::json!({
                "connector.class": "MqttSource",
                "mqtt.server.uri": format!("tcp://127.0.0.1:{mport}"),
                "mqtt.topics": format!("rb/{r}/#"),
                "mqtt.client.id": cb,
                "kafka.topic": tb,
            }),
            n,
        )?;
        let (ra, rb) = (n as f64 / a.as_secs_f64(), n as f64 / b.as_secs_f64());
        eprintln!(
            "round {r}: MQTT reference {ra:.0}/s, Sluice {rb:.0}/s ({:.2}x)",
            rb / ra
        );
        ma.push(ra);
        mb.push(rb);

        // RabbitMQ, A then B.
        let (qa, qb) = (format!("bench-a-{pid}-{r}"), format!("bench-b-{pid}-{r}"));
        let (ta, tb) = (format!("amqp-a-{r}"), format!("amqp-b-{r}"));
        rt.block_on(amqp_preload(&qa, n))?;
        let a = rt.block_on(amqp_reference(&qa, &bootstrap, &ta, n))?;
        rt.block_on(amqp_preload(&qb, n))?;
        let b = sluice_case(
            rest,
            &format!("amqp-{r}"),
            serde_json::json!({
                "connector.class": "RabbitMQSource",
                "rabbitmq.host": "127.0.0.1",
                "rabbitmq.queue": qb,
                "kafka.topic": tb,
            }),
            n,
        )?;
        rt.block_on(amqp_delete(&qa))?;
        rt.block_on(amqp_delete(&qb))?;
        let (ra, rb) = (n as f64 / a.as_secs_f64(), n as f64 / b.as_secs_f64());
        eprintln!(
            "round {r}: RabbitMQ reference {ra:.0}/s, Sluice {rb:.0}/s ({:.2}x)",
            rb / ra
        );
        aa.push(ra);
        ab.push(rb);
    }
    let (ma, mb, aa, ab) = (median(ma), median(mb), median(aa), median(ab));
    let table = format!(
        "| case | bare client → rdkafka (msgs/s) | Sluice (msgs/s) | Sluice / bare | goal |\n|---|---|---|---|---|\n\
         | MQTT QoS 1 → Kafka, {n} msgs | {ma:.0} | {mb:.0} | {:.2} | ≥ 0.9 |\n\
         | RabbitMQ → Kafka, {n} msgs | {aa:.0} | {ab:.0} | {:.2} | ≥ 0.9 |\n\n\
         Medians of {rounds} rounds, A B alternated; 100-byte messages preloaded (MQTT: queued for a persistent session by Mosquitto, 1,000 in flight; RabbitMQ: a durable queue, persistent messages, prefetch 2,048 on both sides); producer settings pinned equal; each side timed from its first message to its last (from the first record Kafka acknowledged to the last: the reference counts its delivery reports, Sluice is read from the worker's `source-record-write-total` every 10 ms), so connection and task start-up are left out of both.\n",
        mb / ma,
        ab / aa
    );
    println!("{table}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results/messaging-latest.md");
    std::fs::write(
        &out,
        format!("# Messaging sources (`make bench`, messaging_bench)\n\n{table}"),
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
