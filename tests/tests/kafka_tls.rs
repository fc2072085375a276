//! Kafka over TLS (issue 21, item 3): the worker's clients (admin,
//! producer) reach the broker through a TLS-terminating proxy, configured
//! with Kafka Connect's Java keys (`security.protocol=SSL`, a PEM
//! `ssl.truststore.location`, an empty `ssl.endpoint.identification.algorithm`),
//! which Sluice hands librdkafka as its own keys. tansu has no TLS
//! listener, so the proxy stands in for a TLS broker; SASL is not tested
//! here (tansu's SASL was not tried).

use std::time::Duration;

use anyhow::Result;
use sluice_tests::pki::Ca;
use sluice_tests::tls_proxy::TlsProxy;
use sluice_tests::*;

/// A broker behind a TLS proxy whose certificate comes from `ca`, and a
/// worker trusting `trusted` (Java keys only) that runs a file source of
/// `lines` into `topic`.
struct Setup {
    _broker: Broker,
    proxy: TlsProxy,
    worker: Worker,
    trust: String,
    _dir: tempfile::TempDir,
}

fn setup(ca: &Ca, trusted: &Ca, lines: &[String], topic: &str) -> Result<Setup> {
    let proxy_port = free_port()?;
    let broker = Broker::start_advertising(Some(proxy_port))?;
    let (chain, key) = ca.issue(&["127.0.0.1", "localhost"], false, false)?;
    let proxy = TlsProxy::start(proxy_port, &broker.bootstrap, &chain, &key)?;
    let dir = tempfile::tempdir()?;
    let trust = write_file(dir.path(), "ca.pem", &trusted.pem())?;
    let input = dir.path().join("in.txt");
    append_lines(&input, lines)?;
    let props = write_worker_props(
        dir.path(),
        &format!("127.0.0.1:{proxy_port}"),
        &format!(
            "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={}\n\
             ssl.endpoint.identification.algorithm=\n",
            trust.display()
        ),
    )?;
    let conn = write_file(
        dir.path(),
        "src.properties",
        &format!(
            "name=tls-src\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n",
            input.display()
        ),
    )?;
    let worker = Worker::start(
        dir.path(),
        free_port()?,
        &[&props.display().to_string(), &conn.display().to_string()],
        &[],
        "w.log",
    )?;
    Ok(Setup {
        _broker: broker,
        proxy,
        worker,
        trust: trust.display().to_string(),
        _dir: dir,
    })
}

#[test]
fn worker_reaches_kafka_over_tls_with_java_keys() -> Result<()> {
    let ca = Ca::new("kafka")?;
    let topic = unique("tls");
    let s = setup(&ca, &ca, &numbered("tls", 0, 5), &topic)?;
    // Read back over TLS too (the broker advertises the proxy), with
    // librdkafka's own keys.
    let got = read_over_tls(s.proxy.port, &s.trust, &topic, 5)
        .map_err(|e| anyhow::anyhow!("{e}; worker log:\n{}", s.worker.log_text()))?;
    assert_eq!(got, numbered("tls", 0, 5));
    assert!(s.proxy.handshakes() > 0, "no client went through TLS");
    Ok(())
}

/// A broker certificate from a CA the worker does not trust: nothing is
/// written, and the worker's log says why.
#[test]
fn an_untrusted_broker_certificate_is_refused() -> Result<()> {
    let ca = Ca::new("kafka")?;
    let stranger = Ca::new("someone else")?;
    let s = setup(&ca, &stranger, &numbered("no", 0, 3), &unique("refused"))?;
    wait_until(
        Duration::from_secs(60),
        "a certificate failure in the log",
        || {
            s.worker
                .log_text()
                .contains("certificate verify failed")
                .then_some(())
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", s.worker.log_text()))?;
    assert_eq!(
        s.proxy.handshakes(),
        0,
        "a handshake with an untrusted certificate completed"
    );
    Ok(())
}

fn read_over_tls(port: u16, ca: &str, topic: &str, n: usize) -> Result<Vec<String>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{port}"))
        .set("security.protocol", "ssl")
        .set("ssl.ca.location", ca)
        .set("ssl.endpoint.identification.algorithm", "none")
        .set("group.id", unique("tls-reader"))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    let mut out = Vec::new();
    let start = std::time::Instant::now();
    while out.len() < n && start.elapsed() < Duration::from_secs(60) {
        // The topic may not exist yet: (re)assign until records come.
        if out.is_empty() {
            consumer.assign(&tpl)?;
        }
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
        }
    }
    anyhow::ensure!(out.len() >= n, "{} of {n} records read over TLS", out.len());
    Ok(out)
}

/// A distributed worker whose only way to the broker is TLS: its
/// internal topics, its connectors' clients and its group membership (a
/// client of Sluice's own, not librdkafka) all go through the proxy; a
/// connector created over REST runs and its records are read back over
/// TLS. The broker's certificate names another host and
/// `ssl.endpoint.identification.algorithm` is empty: the chain is
/// checked, the name is not, by librdkafka and the group client alike.
#[test]
fn a_distributed_worker_joins_its_group_over_tls() -> Result<()> {
    let ca = Ca::new("kafka")?;
    let proxy_port = free_port()?;
    let broker = Broker::start_advertising(Some(proxy_port))?;
    let (chain, key) = ca.issue(&["broker.example.com"], false, false)?;
    let proxy = TlsProxy::start(proxy_port, &broker.bootstrap, &chain, &key)?;
    let dir = tempfile::tempdir()?;
    let trust = write_file(dir.path(), "ca.pem", &ca.pem())?;
    let group = unique("tls-group");
    let props = sluice_tests::cluster::write_distributed_props(
        dir.path(),
        &format!("127.0.0.1:{proxy_port}"),
        &group,
        0,
        &format!(
            "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={}\n\
             ssl.endpoint.identification.algorithm=\n",
            trust.display()
        ),
    )?;
    let port = free_port()?;
    let w = Worker::start_distributed(dir.path(), port, &props, "d.log")?;
    let topic = unique("dtls");
    let body = serde_json::json!({"name": "dtls", "config": {"connector.class": "DataGen",
        "tasks.max": "1", "topic": topic, "records.per.second": "20", "max.records": "5"}});
    let (code, resp) = sluice_tests::cluster::rest(port, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 201, "{resp}");
    sluice_tests::cluster::wait_running(port, "dtls", 1, &[], Duration::from_secs(90))
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    let got = read_over_tls(proxy.port, &trust.display().to_string(), &topic, 5)
        .map_err(|e| anyhow::anyhow!("{e}; worker log:\n{}", w.log_text()))?;
    assert_eq!(got.len(), 5);
    assert!(proxy.handshakes() > 0);
    Ok(())
}

/// A SASL mechanism the group client does not speak (Kafka's default,
/// GSSAPI) is refused at start, naming the key, rather than spoken as
/// plaintext.
#[test]
fn a_distributed_worker_refuses_sasl_it_cannot_speak() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let props = sluice_tests::cluster::write_distributed_props(
        dir.path(),
        "127.0.0.1:1",
        &unique("sasl"),
        0,
        "security.protocol=SASL_SSL\n",
    )?;
    let mut w = Worker::spawn_distributed(dir.path(), free_port()?, &props, &[], "d.log")?;
    let status = w.wait_exit(Duration::from_secs(30))?;
    assert!(!status.success());
    let log = w.log_text();
    assert!(
        log.contains("Invalid value GSSAPI for configuration sasl.mechanism")
            && log.contains("the worker group client of distributed mode speaks"),
        "{log}"
    );
    Ok(())
}
