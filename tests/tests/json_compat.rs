//! The bytes FileStreamSource writes with JsonConverter and schemas enabled
//! are Kafka Connect's, byte for byte.

use std::time::Duration;

use sluice_tests::*;

#[test]
fn json_with_schemas_is_byte_equal_to_kafka_connect() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("json");
    let input = dir.path().join("in.txt");
    append_lines(
        &input,
        &[
            "foo".to_string(),
            "bar baz".to_string(),
            "quote \" and \\ backslash".to_string(),
            "ünïcödé ✓".to_string(),
        ],
    )?;
    let worker_props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        "key.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n\
         key.converter.schemas.enable=true\n\
         value.converter.schemas.enable=true",
    )?;
    let conn = write_file(
        dir.path(),
        "source.properties",
        &format!(
            "name={}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n",
            unique("src"),
            input.display()
        ),
    )?;
    let args = [
        worker_props.to_str().unwrap_or_default(),
        conn.to_str().unwrap_or_default(),
    ];
    let mut w = Worker::start(dir.path(), free_port()?, &args, &[], "worker.log")?;
    let recs = wait_until(Duration::from_secs(60), "4 records", || {
        consume_all(&broker.bootstrap, &topic, Duration::from_secs(2), 4)
            .ok()
            .filter(|r| r.len() >= 4)
    })?;
    // What Kafka Connect 3.x/4.x writes for the same lines (JsonConverter,
    // schemas.enable=true, FileStreamSource's STRING value schema, null key).
    let expected = [
        r#"{"schema":{"type":"string","optional":false},"payload":"foo"}"#,
        r#"{"schema":{"type":"string","optional":false},"payload":"bar baz"}"#,
        r#"{"schema":{"type":"string","optional":false},"payload":"quote \" and \\ backslash"}"#,
        r#"{"schema":{"type":"string","optional":false},"payload":"ünïcödé ✓"}"#,
    ];
    for (rec, want) in recs.iter().zip(expected) {
        assert_eq!(rec.0, None, "a null key stays null, not a JSON envelope");
        assert_eq!(
            String::from_utf8_lossy(rec.1.as_deref().unwrap_or_default()),
            want
        );
    }
    assert!(w.stop()?.success());
    Ok(())
}
