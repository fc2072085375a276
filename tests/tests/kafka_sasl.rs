//! Kafka SASL/SCRAM against a broker that requires authentication (tansu
//! `--authentication`; the SCRAM user added with AlterUserScramCredentials),
//! issue 21: a distributed worker, configured with Kafka Connect's Java
//! keys (`sasl.jaas.config` with `ScramLoginModule`), joins its group
//! (Sluice's own group client: SaslHandshake + SaslAuthenticate SCRAM),
//! creates its internal topics and runs a connector (librdkafka), and its
//! records are read back with SCRAM; a worker with a wrong password stops
//! at once with the broker's refusal, and neither writes a password to
//! its log.

use std::time::Duration;

use anyhow::Result;
use sluice_tests::cluster::{rest, wait_running, write_distributed_props};
use sluice_tests::*;

const PASSWORD: &str = "c0nnect-Pw";

fn scram_props(password: &str) -> String {
    format!(
        "security.protocol=SASL_PLAINTEXT\n\
         sasl.mechanism=SCRAM-SHA-256\n\
         sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"connect\" password=\"{password}\";\n"
    )
}

#[test]
fn a_distributed_worker_authenticates_with_scram() -> Result<()> {
    let broker = Broker::start_authenticating(&[(false, "connect", PASSWORD)])?;
    let dir = tempfile::tempdir()?;
    let group = unique("scram-group");
    let props = write_distributed_props(
        dir.path(),
        &broker.bootstrap,
        &group,
        0,
        &scram_props(PASSWORD),
    )?;
    let port = free_port()?;
    let w = Worker::start_distributed(dir.path(), port, &props, "d.log")?;
    let topic = unique("scram");
    let body = serde_json::json!({"name": "scram", "config": {"connector.class": "DataGen",
        "tasks.max": "1", "topic": topic, "records.per.second": "20", "max.records": "5"}});
    let (code, resp) = rest(port, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 201, "{resp}");
    wait_running(port, "scram", 1, &[], Duration::from_secs(90))
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    let settings = [
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "SCRAM-SHA-256"),
        ("sasl.username", "connect"),
        ("sasl.password", PASSWORD),
    ];
    let got = wait_until(Duration::from_secs(60), "5 records read with SCRAM", || {
        consume_all_with(
            &broker.bootstrap,
            &settings,
            &topic,
            Duration::from_secs(1),
            5,
        )
        .ok()
        .filter(|r| r.len() == 5)
    })
    .map_err(|e| anyhow::anyhow!("{e}; worker log:\n{}", w.log_text()))?;
    assert_eq!(got.len(), 5);
    // Without credentials the broker gives nothing.
    let anonymous = consume_all(&broker.bootstrap, &topic, Duration::from_secs(2), 5);
    assert!(
        anonymous.as_ref().map_or(true, |r| r.is_empty()),
        "{anonymous:?}"
    );

    // A wrong password: the worker says why and never joins.
    let dir2 = tempfile::tempdir()?;
    let props2 = write_distributed_props(
        dir2.path(),
        &broker.bootstrap,
        &unique("scram-wrong"),
        1,
        &scram_props("not-the-password"),
    )?;
    let mut bad = Worker::spawn_distributed(dir2.path(), free_port()?, &props2, &[], "bad.log")?;
    let status = bad.wait_exit(Duration::from_secs(60))?;
    assert!(
        !status.success(),
        "a worker with a wrong password kept running"
    );
    let log = bad.log_text();
    assert!(
        log.contains("cannot authenticate to the Kafka brokers")
            && log.contains("SCRAM-SHA-256 authentication as connect failed"),
        "{log}"
    );
    for (name, log) in [("good", w.log_text()), ("bad", bad.log_text())] {
        assert!(!log.contains(PASSWORD), "{name} worker logged the password");
        assert!(
            !log.contains("not-the-password"),
            "{name} worker logged the password"
        );
    }
    Ok(())
}
