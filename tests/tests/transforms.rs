//! Transforms and predicates configured as in Kafka Connect, end to end
//! against a real broker, and their validation over REST.

use std::time::Duration;

use sluice_tests::*;

#[test]
fn source_and_sink_chains_with_predicates_and_negate() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.txt");
    append_lines(&input, &["alice".to_string(), "bob".to_string()])?;
    let base = unique("people");
    let raw = format!("{base}-raw");
    let clean = format!("{base}-clean");
    let out = dir.path().join("out.txt");
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let source = write_file(
        dir.path(),
        "source.properties",
        &format!(
            "name=people-src\nconnector.class=FileStreamSource\nfile={}\ntopic={raw}\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             transforms=hoist,insert,route,tag\n\
             transforms.hoist.type=org.apache.kafka.connect.transforms.HoistField$Value\n\
             transforms.hoist.field=name\n\
             transforms.insert.type=org.apache.kafka.connect.transforms.InsertField$Value\n\
             transforms.insert.static.field=origin\ntransforms.insert.static.value=file\n\
             transforms.insert.topic.field=src_topic\n\
             transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\n\
             transforms.route.regex=(.*)-raw\ntransforms.route.replacement=$1-clean\n\
             transforms.route.predicate=isRaw\n\
             transforms.tag.type=org.apache.kafka.connect.transforms.InsertHeader\n\
             transforms.tag.header=raw\ntransforms.tag.value.literal=no\n\
             transforms.tag.predicate=isRaw\ntransforms.tag.negate=true\n\
             predicates=isRaw\n\
             predicates.isRaw.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches\n\
             predicates.isRaw.pattern=.*-raw\n",
            input.display()
        ),
    )?;
    // The sink keeps only records carrying the `raw` header and writes
    // the name field.
    let sink = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name=people-sink\nconnector.class=FileStreamSink\nfile={}\ntopics={clean}\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             transforms=onlyTagged,name\n\
             transforms.onlyTagged.type=Filter\ntransforms.onlyTagged.predicate=tagged\n\
             transforms.onlyTagged.negate=true\n\
             transforms.name.type=org.apache.kafka.connect.transforms.ExtractField$Value\n\
             transforms.name.field=name\n\
             predicates=tagged\npredicates.tagged.type=HasHeaderKey\npredicates.tagged.name=raw\n",
            out.display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[
            worker_props.to_str().unwrap_or_default(),
            source.to_str().unwrap_or_default(),
            sink.to_str().unwrap_or_default(),
        ],
        &[],
        "worker.log",
    )?;
    let records = consume_records(&broker.bootstrap, &clean, 2, Duration::from_secs(60))?;
    anyhow::ensure!(records.len() == 2, "log:\n{}", w.log_text());
    let v: serde_json::Value =
        serde_json::from_slice(records[0].value.as_deref().unwrap_or_default())?;
    assert_eq!(
        v["payload"],
        serde_json::json!({"name": "alice", "src_topic": raw, "origin": "file"})
    );
    let fields: Vec<(&str, bool)> = v["schema"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["field"].as_str().unwrap_or_default(),
                        f["optional"] == true,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        fields,
        [("name", false), ("src_topic", true), ("origin", true)]
    );
    assert_eq!(
        records[0].header("raw").as_deref(),
        Some("no"),
        "negated predicate applied"
    );
    assert!(
        consume_records(&broker.bootstrap, &raw, 1, Duration::from_secs(2))?.is_empty(),
        "everything was routed"
    );

    // A record without the header is filtered out by the sink.
    produce_strings(
        &broker.bootstrap,
        &clean,
        &[r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"name"}],"optional":false},"payload":{"name":"mallory"}}"#.to_string()],
    )?;
    append_lines(&input, &["carol".to_string()])?;
    let lines = wait_until(Duration::from_secs(60), "3 names in the sink", || {
        let l = read_lines(&out);
        (l.len() >= 3).then_some(l)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    // Committed past all four records of the clean topic (mallory filtered).
    wait_sink_offset(port, "people-sink", &clean, 4, Duration::from_secs(30))
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert_eq!(read_lines(&out), ["alice", "bob", "carol"], "{lines:?}");
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn bad_transform_configs_are_refused_naming_the_key() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[worker_props.to_str().unwrap_or_default()],
        &[],
        "worker.log",
    )?;
    let body = serde_json::json!({"name": "bad", "config": {
        "connector.class": "FileStreamSource", "file": "x.txt", "topic": "t",
        "transforms": "cast,route,nope",
        "transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value",
        "transforms.cast.spec": "int32:notatype",
        "transforms.route.type": "RegexRouter",
        "transforms.route.regex": "(",
        "transforms.route.replacement": "x",
        "transforms.route.predicate": "missing",
        "transforms.nope.type": "com.acme.NoSuchTransform"
    }});
    let (code, text) = http_request(port, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 400, "{text}");
    for key in [
        "transforms.cast.spec",
        "transforms.route.regex",
        "transforms.route.predicate",
        "transforms.nope.type",
    ] {
        assert!(text.contains(key), "{key} not named in {text}");
    }

    let validate = serde_json::json!({
        "connector.class": "FileStreamSource", "file": "x.txt", "topic": "t", "name": "v",
        "transforms": "hoist", "transforms.hoist.type": "HoistField$Value",
        "predicates": "p", "predicates.p.type": "TopicNameMatches"
    });
    let (code, text) = http_request(
        port,
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        &validate.to_string(),
    )?;
    assert_eq!(code, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let errors_of = |key: &str| -> Vec<String> {
        v["configs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["value"]["name"] == key)
            .map(|c| {
                c["value"]["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_else(|| vec![format!("{key} missing from the answer")])
    };
    assert_eq!(errors_of("transforms.hoist.type"), Vec::<String>::new());
    assert_eq!(errors_of("transforms.hoist.field").len(), 1, "{text}");
    assert_eq!(errors_of("predicates.p.pattern").len(), 1, "{text}");
    assert_eq!(v["error_count"], 2, "{text}");
    assert!(
        v["groups"]
            .as_array()
            .is_some_and(|g| g.iter().any(|g| g == "Transforms: hoist")),
        "{text}"
    );

    let (_, text) = http_get(port, "/connector-plugins?connectorsOnly=false")?;
    let plugins: serde_json::Value = serde_json::from_str(&text)?;
    let has = |class: &str, ty: &str| {
        plugins
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p["class"] == class && p["type"] == ty))
    };
    assert!(has(
        "org.apache.kafka.connect.transforms.InsertField$Value",
        "transformation"
    ));
    assert!(has(
        "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
        "predicate"
    ));
    let (code, text) = http_get(
        port,
        "/connector-plugins/org.apache.kafka.connect.transforms.Cast$Value/config",
    )?;
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("\"name\":\"spec\""), "{text}");
    assert!(w.stop()?.success());
    Ok(())
}
