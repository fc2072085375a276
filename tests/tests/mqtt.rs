//! MQTT source and sink (`io.confluent.connect.mqtt.MqttSourceConnector`,
//! `io.confluent.connect.mqtt.MqttSinkConnector`) against a real
//! Mosquitto (each test starts its own, from the machine's binary) and a
//! real broker:
//! - 10,000 QoS 1 messages published by a real client while the worker
//!   is `kill -9`ed and restarted: every message is in Kafka, and the
//!   repeats are at most the broker's in-flight window (the messages sent
//!   to the task but not acknowledged at the kill);
//! - Kafka → MQTT with the broker restarted in the middle: a real
//!   subscriber receives every record, and the sink's committed offsets
//!   reach the end only once the broker acknowledged everything;
//! - a broker that is down when the task starts is waited for; bad
//!   credentials fail the task with a message naming the key.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_tests::*;

const WAIT: Duration = Duration::from_secs(90);

fn source_connector(name: &str, uri: &str, filter: &str, topic: &str, extra: &str) -> String {
    format!(
        "name={name}\nconnector.class=io.confluent.connect.mqtt.MqttSourceConnector\ntasks.max=1\n\
         mqtt.server.uri={uri}\nmqtt.topics={filter}\nkafka.topic={topic}\n\
         value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n{extra}"
    )
}

fn metric(rest: u16, name: &str, metric: &str) -> Option<i64> {
    connector_status(rest, name)?["tasks"][0]["metrics"][metric].as_i64()
}

/// Waits until the source task subscribed (SUBACK, or a resumed session).
fn wait_subscribed(rest: u16, name: &str) -> anyhow::Result<()> {
    wait_until(WAIT, "the MQTT source to subscribe", || {
        (metric(rest, name, "mqtt-subscribed")? == 1).then_some(())
    })
}

#[test]
fn source_kill9_loses_no_message() -> anyhow::Result<()> {
    const N: usize = 10_000;
    const INFLIGHT: u32 = 1000;
    let mq = Mosquitto::start(INFLIGHT)?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let id = unique("m");
    let topic = format!("mqtt-in-{id}");
    let conn = source_connector(
        "mqtt-src",
        &mq.uri(),
        &format!("sensors/{id}/+"),
        &topic,
        "",
    );
    let mut worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    wait_connector_state(rest, "mqtt-src", "RUNNING", Some(1))?;
    wait_subscribed(rest, "mqtt-src")?;

    let port = mq.port;
    let filter_base = format!("sensors/{id}");
    let publisher = std::thread::spawn(move || {
        let msgs = (0..N)
            .map(|i| {
                (
                    format!("{filter_base}/{}", i % 2),
                    format!("seq-{i:05}").into_bytes(),
                )
            })
            .collect();
        // 1,000 a second: the kill lands while messages still arrive.
        mqtt_publish_paced(port, msgs, Some(1000))
    });

    let mut reader = TopicReader::new(&broker.bootstrap, &topic)?;
    reader.read_until(3000, WAIT)?;
    anyhow::ensure!(reader.records.len() >= 3000, "3,000 records did not arrive");
    // Every connection that ends may leave the broker's whole in-flight
    // window to be delivered again: the kill ends one, and a loaded machine
    // may have broken others before it.
    let before_kill = metric(rest, "mqtt-src", "mqtt-connections").unwrap_or(1);
    worker.kill9()?;
    let at_kill = reader.records.len();
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w2.log")?;
    publisher
        .join()
        .map_err(|_| anyhow::anyhow!("the publisher panicked"))??;

    let counts = wait_until(WAIT, "every message in Kafka", || {
        reader.read_more(Duration::from_millis(300)).ok()?;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for r in &reader.records {
            *counts.entry(r.value_text()).or_default() += 1;
        }
        (counts.len() >= N).then_some(counts)
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}: {} records read; worker log:\n{}",
            reader.records.len(),
            _worker.log_text()
        )
    })?;
    let expected: Vec<String> = (0..N).map(|i| format!("seq-{i:05}")).collect();
    let got: Vec<&String> = counts.keys().collect();
    assert_eq!(
        got,
        expected.iter().collect::<Vec<_>>(),
        "unexpected payloads"
    );
    let dups: usize = counts.values().map(|n| n - 1).sum();
    let after_kill = metric(rest, "mqtt-src", "mqtt-connections").unwrap_or(1);
    // Connections that ended: all of the killed worker's, and all but the
    // current one of the restarted worker's.
    // More than three would be a reconnect storm, not load: the bound
    // does not stretch past that.
    let ended = (before_kill + after_kill - 1).min(3);
    println!(
        "mqtt source kill -9: {N} published, killed after {at_kill} records, 0 lost, {dups} repeated (broker in-flight window {INFLIGHT}, {ended} connections ended)"
    );
    let bound = INFLIGHT as usize * usize::try_from(ended.max(1))?;
    assert!(
        dups <= bound,
        "{dups} repeats: more than the {INFLIGHT} messages the broker can have in flight unacknowledged on each of the {ended} connections that ended; killed worker's log:\n{}",
        worker.log_text()
    );
    // Keys are the MQTT topics, as Confluent's connector writes them.
    let key = String::from_utf8(reader.records[0].key.clone().unwrap_or_default())?;
    assert!(key.starts_with(&format!("sensors/{id}/")), "{key}");
    Ok(())
}

/// Kafka is not there, so nothing the task received can be in Kafka; a
/// `kill -9` then must leave every message with the broker (a source that
/// acknowledged on receipt loses them all).
#[test]
fn nothing_is_acknowledged_before_kafka_has_it() -> anyhow::Result<()> {
    const N: usize = 300;
    let mq = Mosquitto::start(1000)?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let id = unique("k");
    let topic = format!("mqtt-k-{id}");
    let conn = source_connector("mqtt-k", &mq.uri(), &format!("k/{id}"), &topic, "");
    let nowhere = format!("127.0.0.1:{}", free_port()?);
    let mut worker = start_standalone(dir.path(), &nowhere, rest, &conn, "w1.log")?;
    wait_subscribed(rest, "mqtt-k")?;
    let msgs = (0..N)
        .map(|i| (format!("k/{id}"), format!("m-{i:04}").into_bytes()))
        .collect();
    mqtt_publish(mq.port, msgs)?;
    wait_until(WAIT, "the task to receive every message", || {
        (metric(rest, "mqtt-k", "mqtt-received")? >= N as i64).then_some(())
    })?;
    assert_eq!(metric(rest, "mqtt-k", "mqtt-acks-sent"), Some(0));
    worker.kill9()?;
    let broker = Broker::start()?;
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w2.log")?;
    let mut reader = TopicReader::new(&broker.bootstrap, &topic)?;
    reader.read_until(N, WAIT)?;
    let mut got: Vec<String> = reader.records.iter().map(|r| r.value_text()).collect();
    got.sort();
    got.dedup();
    assert_eq!(
        got.len(),
        N,
        "messages lost: acknowledged before Kafka had them"
    );
    Ok(())
}

#[test]
fn source_records_carry_the_message_properties() -> anyhow::Result<()> {
    let mq = Mosquitto::start(100)?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let id = unique("h");
    let topic = format!("mqtt-h-{id}");
    let conn = source_connector("mqtt-h", &mq.uri(), &format!("h/{id}/#"), &topic, "");
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w.log")?;
    wait_subscribed(rest, "mqtt-h")?;
    mqtt_publish(
        mq.port,
        vec![(format!("h/{id}/a/b"), b"{\"t\":21.5}".to_vec())],
    )?;
    let r = consume_records(&broker.bootstrap, &topic, 1, WAIT)?;
    let r = r.first().ok_or_else(|| anyhow::anyhow!("no record"))?;
    assert_eq!(r.key.as_deref(), Some(format!("h/{id}/a/b").as_bytes()));
    assert_eq!(r.value.as_deref(), Some(&b"{\"t\":21.5}"[..]));
    assert_eq!(
        r.header("mqtt.topic").as_deref(),
        Some(format!("h/{id}/a/b").as_str())
    );
    assert_eq!(r.header("mqtt.qos").as_deref(), Some("1"));
    assert_eq!(r.header("mqtt.duplicate").as_deref(), Some("false"));
    assert_eq!(r.header("mqtt.retained").as_deref(), Some("false"));
    assert!(r.header("mqtt.message.id").is_some());
    Ok(())
}

#[test]
fn sink_delivers_everything_across_a_broker_restart() -> anyhow::Result<()> {
    const N: usize = 2000;
    let mut mq = Mosquitto::start(100)?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let topic = unique("mqtt-out");
    create_topic(&broker.bootstrap, &topic)?;
    let subscriber = MqttSubscriber::start(mq.port, "out/#")?;
    let conn = format!(
        "name=mqtt-sink\nconnector.class=io.confluent.connect.mqtt.MqttSinkConnector\ntasks.max=1\n\
         topics={topic}\nmqtt.server.uri={}\nmqtt.qos=1\nmqtt.topic.template=out/${{topic}}\n\
         max.retry.time.ms=500\n",
        mq.uri()
    );
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w.log")?;
    let first: Vec<String> = (0..N / 2).map(|i| format!("v-{i:05}")).collect();
    produce_strings(&broker.bootstrap, &topic, &first)?;
    wait_until(WAIT, "the subscriber to receive 200 messages", || {
        (subscriber.payloads().len() >= 200).then_some(())
    })?;
    mq.restart()?;
    let second: Vec<String> = (N / 2..N).map(|i| format!("v-{i:05}")).collect();
    produce_strings(&broker.bootstrap, &topic, &second)?;

    let got = wait_until(WAIT, "every record at the subscriber", || {
        let mut p = subscriber.payloads();
        p.sort();
        p.dedup();
        (p.len() >= N).then_some(p)
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}: {} distinct received; broker log:\n{}",
            {
                let mut p = subscriber.payloads();
                p.sort();
                p.dedup();
                p.len()
            },
            mq.log()
        )
    })?;
    let want: Vec<String> = (0..N).map(|i| format!("v-{i:05}")).collect();
    assert_eq!(got, want);
    let received = subscriber.payloads().len();
    println!(
        "mqtt sink, broker restarted mid-stream: {N} records, {N} delivered, {} repeated",
        received - N
    );
    let want_topic = format!("out/{topic}");
    assert!(subscriber.topics().iter().all(|t| *t == want_topic));
    wait_sink_offset(rest, "mqtt-sink", &topic, N as i64, WAIT)?;
    Ok(())
}

#[test]
fn a_broker_down_at_start_is_waited_for_and_bad_credentials_fail_clearly() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let port = free_port()?;
    let id = unique("d");
    let topic = format!("mqtt-d-{id}");
    let conn = source_connector(
        "mqtt-late",
        &format!("tcp://127.0.0.1:{port}"),
        &format!("late/{id}"),
        &topic,
        "max.retry.time.ms=500\n",
    );
    let worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w.log")?;
    wait_connector_state(rest, "mqtt-late", "RUNNING", Some(1))?;
    wait_until(WAIT, "the task to report it is not connected", || {
        (metric(rest, "mqtt-late", "mqtt-connected")? == 0).then_some(())
    })?;
    assert!(
        wait_until(Duration::from_secs(10), "a log line", || worker
            .log_text()
            .contains("MQTT source cannot connect (will retry)")
            .then_some(()))
        .is_ok(),
        "no retry in the log:\n{}",
        worker.log_text()
    );
    let mq = Mosquitto::start_on(port, 100, None)?;
    wait_subscribed(rest, "mqtt-late")?;
    mqtt_publish(mq.port, vec![(format!("late/{id}"), b"hello".to_vec())])?;
    let r = consume_records(&broker.bootstrap, &topic, 1, WAIT)?;
    assert_eq!(r[0].value.as_deref(), Some(&b"hello"[..]));

    // A broker that wants a password the connector does not have.
    let locked = Mosquitto::start_on(free_port()?, 100, Some(("alice", "secret")))?;
    let body = serde_json::json!({
        "connector.class": "MqttSource",
        "mqtt.server.uri": locked.uri(),
        "mqtt.topics": "x/#",
        "kafka.topic": "unused",
        "mqtt.username": "alice",
        "mqtt.password": "wrong",
    });
    put_connector(rest, "mqtt-locked", &body)?;
    let trace = wait_task_failed(rest, "mqtt-locked", WAIT)?;
    assert!(
        trace.contains("mqtt.password") && trace.contains("refused"),
        "trace: {trace}"
    );
    Ok(())
}

/// `ssl://` brokers (issue 21 and 19): a Mosquitto that requires client
/// certificates on its TLS port. The source reads through it with a
/// PKCS12 truststore and keystore (Confluent's `mqtt.ssl.*` keys), the
/// sink publishes through it with PEM stores; the test's own clients use
/// the broker's plain port. A connector that does not trust the broker's
/// CA fails with a message naming the trust store key.
#[test]
fn source_and_sink_over_tls_with_client_certificates() -> anyhow::Result<()> {
    let ca = pki::Ca::new("mqtt")?;
    let server = ca.issue(&["127.0.0.1", "localhost"], false, false)?;
    let mq = Mosquitto::start_tls(100, &server, Some(&ca.pem()))?;
    let tls_port = mq.tls_port.ok_or_else(|| anyhow::anyhow!("no TLS port"))?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let client = ca.issue(&["sluice"], true, false)?;
    let keystore = pki::pkcs12_keystore(dir.path(), "client.p12", &client, "ks-pw")?;
    let truststore = pki::pkcs12_truststore(dir.path(), "trust.p12", &ca.pem(), "ts-pw")?;
    let rest = free_port()?;
    let id = unique("tls");
    let topic = format!("mqtt-tls-{id}");
    let out = unique("mqtt-tls-out");
    create_topic(&broker.bootstrap, &out)?;
    let source = source_connector(
        "mqtt-tls",
        &format!("ssl://127.0.0.1:{tls_port}"),
        &format!("tls/{id}/#"),
        &topic,
        &format!(
            "mqtt.ssl.trust.store.path={truststore}\nmqtt.ssl.trust.store.password=ts-pw\n\
             mqtt.ssl.key.store.path={keystore}\nmqtt.ssl.key.store.password=ks-pw\n"
        ),
    );
    let worker = start_standalone(dir.path(), &broker.bootstrap, rest, &source, "w.log")?;
    wait_subscribed(rest, "mqtt-tls").map_err(|e| anyhow::anyhow!("{e}\n{}", worker.log_text()))?;
    let sent: Vec<(String, Vec<u8>)> = (0..50)
        .map(|i| (format!("tls/{id}/{i}"), format!("m-{i:02}").into_bytes()))
        .collect();
    mqtt_publish(mq.port, sent)?;
    let r = consume_records(&broker.bootstrap, &topic, 50, WAIT)?;
    let mut got: Vec<String> = r
        .iter()
        .filter_map(|r| {
            r.value
                .as_deref()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        })
        .collect();
    got.sort();
    got.dedup();
    assert_eq!(
        got,
        (0..50).map(|i| format!("m-{i:02}")).collect::<Vec<_>>()
    );

    // The sink, with PEM files.
    let ca_file = write_file(dir.path(), "ca.pem", &ca.pem())?;
    let pem = write_file(
        dir.path(),
        "client.pem",
        &format!("{}{}", client.1, client.0),
    )?;
    let subscriber = MqttSubscriber::start(mq.port, "tls-out/#")?;
    let sink = serde_json::json!({
        "connector.class": "MqttSink",
        "topics": out,
        "mqtt.server.uri": format!("ssl://localhost:{tls_port}"),
        "mqtt.topic.template": "tls-out/${topic}",
        "mqtt.ssl.trust.store.path": ca_file.display().to_string(),
        "mqtt.ssl.key.store.path": pem.display().to_string(),
    });
    put_connector(rest, "mqtt-tls-sink", &sink)?;
    let values: Vec<String> = (0..20).map(|i| format!("s-{i:02}")).collect();
    produce_strings(&broker.bootstrap, &out, &values)?;
    wait_until(
        WAIT,
        "the subscriber to receive the sink's messages",
        || {
            let mut p = subscriber.payloads();
            p.sort();
            p.dedup();
            (p == values).then_some(())
        },
    )?;

    // Trusting another CA: the broker's certificate is refused, and the
    // task says which key to check.
    let other = write_file(dir.path(), "other-ca.pem", &pki::Ca::new("other")?.pem())?;
    let untrusting = serde_json::json!({
        "connector.class": "MqttSource",
        "mqtt.server.uri": format!("ssl://127.0.0.1:{tls_port}"),
        "mqtt.topics": "x/#",
        "kafka.topic": "unused",
        "mqtt.ssl.trust.store.path": other.display().to_string(),
        "mqtt.ssl.key.store.path": pem.display().to_string(),
    });
    put_connector(rest, "mqtt-untrusting", &untrusting)?;
    let trace = wait_task_failed(rest, "mqtt-untrusting", WAIT)?;
    assert!(
        trace.contains("mqtt.ssl.trust.store.path") && trace.contains("not trusted"),
        "trace: {trace}"
    );

    // A PKCS12 store with a wrong password is a validation error.
    let bad = serde_json::json!({
        "connector.class": "MqttSource",
        "mqtt.server.uri": format!("ssl://127.0.0.1:{tls_port}"),
        "mqtt.topics": "x/#",
        "kafka.topic": "unused",
        "mqtt.ssl.trust.store.path": truststore,
        "mqtt.ssl.trust.store.password": "wrong",
    });
    let (code, text) = http_request(rest, "PUT", "/connectors/mqtt-bad/config", &bad.to_string())?;
    assert_eq!(code, 400, "{text}");
    assert!(
        text.contains("mqtt.ssl.trust.store.path") && text.contains("wrong password"),
        "{text}"
    );
    Ok(())
}
