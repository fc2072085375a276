//! A source's missing topic is created with Kafka Connect's
//! `topic.creation.default.*` keys: partitions, replication factor, and every
//! other key as a topic config (here `cleanup.policy`), read back from the
//! broker with DescribeConfigs.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use sluice_tests::*;

#[test]
fn topic_creation_default_keys_become_topic_configs() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("created");
    let input = dir.path().join("in.txt");
    append_lines(&input, &numbered("c", 0, 3))?;
    let props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let conn = write_file(
        dir.path(),
        "source.properties",
        &format!(
            "name={}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n\
             topic.creation.default.partitions=1\ntopic.creation.default.replication.factor=-1\n\
             topic.creation.default.cleanup.policy=compact\n",
            unique("src"),
            input.display()
        ),
    )?;
    let (p, c) = (props.display().to_string(), conn.display().to_string());
    let port = free_port()?;
    let mut w = Worker::start(dir.path(), port, &[&p, &c], &[], "worker.log")?;
    let got = wait_for_records(&broker.bootstrap, &topic, 3, Duration::from_secs(60))?;
    assert_eq!(got, numbered("c", 0, 3), "log:\n{}", w.log_text());

    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .create()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let described = rt.block_on(admin.describe_configs(
        [&ResourceSpecifier::Topic(&topic)],
        &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
    ))?;
    let resource = described
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no DescribeConfigs answer"))?
        .map_err(|e| anyhow::anyhow!("DescribeConfigs: {e}"))?;
    let policy = resource.get("cleanup.policy").and_then(|e| e.value.clone());
    assert_eq!(policy.as_deref(), Some("compact"), "{:?}", resource.entries);
    assert!(w.stop()?.success());
    Ok(())
}
