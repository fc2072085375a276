//! Secrets in connector configs: config providers' placeholders are
//! resolved when tasks start and never shown by the REST API; secret values
//! are sealed where they are stored (RocksDB, the config topic), shown as
//! `[hidden]`, kept when sent back as `[hidden]`, and re-sealed by a key
//! rotation; no file the worker wrote holds one.

use std::time::Duration;

use sluice_tests::*;

#[test]
fn file_provider_resolves_at_start_and_rest_shows_placeholders() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("secret");
    let input = dir.path().join("hidden-input.txt");
    append_lines(&input, &numbered("s", 0, 3))?;
    let allowed = dir.path().join("secrets");
    std::fs::create_dir_all(&allowed)?;
    let secrets = write_file(
        &allowed,
        "secrets.properties",
        &format!("input.path={}\n", input.display()),
    )?;
    // The same secret outside the allowed directory.
    let outside = write_file(
        dir.path(),
        "outside.properties",
        &format!("input.path={}\n", input.display()),
    )?;
    let worker_props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        &format!(
            "config.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
             config.providers.file.param.allowed.paths={}\n",
            allowed.display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start(
        dir.path(),
        port,
        &[worker_props.to_str().unwrap_or_default()],
        &[],
        "worker.log",
    )?;
    let placeholder = format!("${{file:{}:input.path}}", secrets.display());
    let body = serde_json::json!({"name": "sec", "config": {"connector.class": "FileStreamSource", "file": placeholder, "topic": topic}});
    let (code, resp) = http_request(port, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 201, "{resp}");
    let got = wait_for_records(&broker.bootstrap, &topic, 3, Duration::from_secs(30))?;
    assert_eq!(
        got,
        numbered("s", 0, 3),
        "the task read the resolved path; log:\n{}",
        w.log_text()
    );

    let hidden = input.display().to_string();
    for path in [
        "/connectors/sec/config",
        "/connectors/sec/tasks",
        "/connectors/sec",
        "/connectors?expand=info",
    ] {
        let (code, body) = http_get(port, path)?;
        assert_eq!(code, 200);
        assert!(
            !body.contains(&hidden),
            "{path} leaks the resolved value: {body}"
        );
        assert!(
            body.contains("${file:"),
            "{path} shows the placeholder: {body}"
        );
    }
    // A placeholder naming a file outside `allowed.paths`, sent over REST:
    // the connector fails, naming the parameter, and reads nothing.
    let probe = format!("${{file:{}:input.path}}", outside.display());
    let body = serde_json::json!({"name": "probe", "config": {"connector.class": "FileStreamSource", "file": probe, "topic": unique("probe")}});
    let (code, resp) = http_request(port, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 201, "{resp}");
    let trace = wait_until(
        Duration::from_secs(30),
        "the probe connector FAILED",
        || {
            let (_, b) = http_get(port, "/connectors/probe/status").ok()?;
            let v: serde_json::Value = serde_json::from_str(&b).ok()?;
            (v["connector"]["state"] == "FAILED").then(|| {
                v["connector"]["trace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
        },
    )?;
    assert!(
        trace.contains("is not allowed by the worker's config.providers.file.param.allowed.paths"),
        "{trace}"
    );
    assert!(
        !trace.contains(&hidden),
        "the trace leaks the value: {trace}"
    );
    let (code, _) = http_request(port, "DELETE", "/connectors/probe", "")?;
    assert_eq!(code, 204);
    assert!(w.stop()?.success());

    // A REST-created connector is RUNNING again after a worker restart and
    // continues where it stopped.
    let mut w = Worker::start(
        dir.path(),
        port,
        &[worker_props.to_str().unwrap_or_default()],
        &[],
        "worker2.log",
    )?;
    wait_until(Duration::from_secs(30), "RUNNING after restart", || {
        let (_, b) = http_get(port, "/connectors/sec/status").ok()?;
        let v: serde_json::Value = serde_json::from_str(&b).ok()?;
        (v["connector"]["state"] == "RUNNING" && v["tasks"][0]["state"] == "RUNNING").then_some(())
    })?;
    append_lines(&input, &numbered("s", 3, 2))?;
    let got = wait_for_records(&broker.bootstrap, &topic, 5, Duration::from_secs(30))?;
    assert_eq!(got, numbered("s", 0, 5));
    assert!(w.stop()?.success());
    Ok(())
}

/// A JDBC source of table `t` with `connection.password` (a PASSWORD
/// key) set to `secret` (the server trusts the connection, so any value
/// connects).
fn jdbc_source(db: &PgDb, secret: &str, prefix: &str) -> serde_json::Value {
    serde_json::json!({
        "connector.class": "JdbcSource",
        "connection.url": db.url(),
        "connection.password": secret,
        "mode": "bulk",
        "table.whitelist": "t",
        "topic.prefix": prefix,
        "poll.interval.ms": "600000",
    })
}

/// `sluice secrets generate-key <id>`'s line.
fn new_key(id: &str) -> anyhow::Result<String> {
    let out = std::process::Command::new(sluice_binary()?)
        .args(["secrets", "generate-key", id])
        .output()?;
    anyhow::ensure!(out.status.success(), "generate-key failed");
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// `sluice secrets rotate-key --url ...`'s answer.
fn rotate(port: u16) -> anyhow::Result<serde_json::Value> {
    let out = std::process::Command::new(sluice_binary()?)
        .args([
            "secrets",
            "rotate-key",
            "--url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    anyhow::ensure!(
        out.status.success(),
        "rotate-key failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body = text.split_once('\n').map(|(_, b)| b).unwrap_or_default();
    Ok(serde_json::from_str(body.trim())?)
}

/// Every file under `dir` that holds `needle`, byte for byte.
fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// The connector configs in a stopped standalone worker's RocksDB, as
/// stored.
fn stored_configs(
    state: &std::path::Path,
) -> anyhow::Result<Vec<(String, sluice_connect_api::Config)>> {
    use sluice_runtime::state::ConnectorStore;
    let offsets = sluice_runtime::offsets::RocksOffsetStore::open(state)?;
    Ok(sluice_runtime::state::RocksConnectorStore::new(&offsets)
        .all()?
        .into_iter()
        .map(|(n, c)| (n, c.config))
        .collect())
}

fn wait_task_running(port: u16, name: &str, log: &dyn Fn() -> String) -> anyhow::Result<()> {
    wait_until(
        Duration::from_secs(60),
        "the connector's task RUNNING",
        || {
            let (_, b) = http_get(port, &format!("/connectors/{name}/status")).ok()?;
            let v: serde_json::Value = serde_json::from_str(&b).ok()?;
            (v["connector"]["state"] == "RUNNING" && v["tasks"][0]["state"] == "RUNNING")
                .then_some(())
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", log()))
}

/// A JDBC source's `connection.password` (a PASSWORD key) through a
/// standalone worker's life: sealed in RocksDB, `[hidden]` over REST,
/// kept when PUT or PATCHed back as `[hidden]`, re-sealed with a second
/// key by a restart that makes it the active key, and then opened with the
/// second key alone. No file the
/// worker wrote (logs, RocksDB) and no REST answer or status trace ever
/// holds the value.
#[test]
fn standalone_secrets_are_sealed_hidden_kept_and_rotated() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let db = PgDb::create()?;
    db.exec(
        "CREATE TABLE t (id int primary key, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    )?;
    let dir = tempfile::tempdir()?;
    let secret = format!("pw-{}", unique("sealed"));
    let (k1, k2) = (new_key("k1")?, new_key("k2")?);
    let keys = write_file(dir.path(), "secrets.keys", &format!("{k1}\n"))?;
    let props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        &format!("secrets.encryption.keys.file={}\n", keys.display()),
    )?;
    let props = props.display().to_string();
    let port = free_port()?;
    let mut w = Worker::start(dir.path(), port, &[&props], &[], "w1.log")?;
    let prefix = unique("sec-");
    let config = jdbc_source(&db, &secret, &prefix);
    let (code, body) = http_request(
        port,
        "POST",
        "/connectors",
        &serde_json::json!({"name": "sec", "config": config}).to_string(),
    )?;
    assert_eq!(code, 201, "{body}");
    assert!(
        body.contains("\"connection.password\":\"[hidden]\""),
        "{body}"
    );
    let got = wait_for_records(
        &broker.bootstrap,
        &format!("{prefix}t"),
        2,
        Duration::from_secs(60),
    )?;
    assert_eq!(got.len(), 2);
    wait_task_running(port, "sec", &|| w.log_text())?;

    let leaks = |port: u16| -> anyhow::Result<()> {
        for path in [
            "/connectors/sec",
            "/connectors/sec/config",
            "/connectors/sec/tasks",
            "/connectors?expand=info",
        ] {
            let (code, body) = http_get(port, path)?;
            assert_eq!(code, 200, "{path}: {body}");
            assert!(!body.contains(&secret), "{path} shows the secret: {body}");
            assert!(body.contains("[hidden]"), "{path}: {body}");
        }
        Ok(())
    };
    leaks(port)?;

    // The config as GET shows it, sent back with one change: the secret is
    // kept (the task still connects), the change applied.
    let (_, shown) = http_get(port, "/connectors/sec/config")?;
    let mut shown: serde_json::Value = serde_json::from_str(&shown)?;
    shown["poll.interval.ms"] = "500000".into();
    let (code, body) = http_request(port, "PUT", "/connectors/sec/config", &shown.to_string())?;
    assert_eq!(code, 200, "{body}");
    let (code, body) = http_request(
        port,
        "PATCH",
        "/connectors/sec/config",
        r#"{"connection.password":"[hidden]","batch.max.rows":"50"}"#,
    )?;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"batch.max.rows\":\"50\""), "{body}");
    wait_task_running(port, "sec", &|| w.log_text())?;
    // Nothing to keep for a new connector; a sealed value is the worker's
    // to write.
    for (value, want) in [
        (
            "[hidden]",
            "connection.password is [hidden] but no value is stored",
        ),
        ("sluice:enc:v1:k1:AAAA:AAAA", "only the worker writes"),
    ] {
        let mut c = config.clone();
        c["connection.password"] = value.into();
        let (code, body) = http_request(
            port,
            "POST",
            "/connectors",
            &serde_json::json!({"name": "other", "config": c}).to_string(),
        )?;
        assert_eq!(code, 400, "{body}");
        assert!(body.contains(want), "{body}");
    }
    // A connector that fails: its trace does not hold the secret either.
    let mut failing = config.clone();
    // A password inside the URL too (not a key of its own): REST hides
    // it, and the URL sent back as shown keeps it.
    let url_secret = unique("urlpw");
    let url = format!(
        "jdbc:postgresql://127.0.0.1:5432/no_such_db_here?user=postgres&password={url_secret}"
    );
    failing["connection.url"] = url.clone().into();
    failing["connection.attempts"] = "1".into();
    let (code, body) = http_request(
        port,
        "POST",
        "/connectors",
        &serde_json::json!({"name": "failing", "config": failing}).to_string(),
    )?;
    assert_eq!(code, 201, "{body}");
    let trace = wait_until(
        Duration::from_secs(60),
        "the failing connector FAILED",
        || {
            let (_, b) = http_get(port, "/connectors/failing/status").ok()?;
            (b.contains("FAILED")).then_some(b)
        },
    )?;
    assert!(trace.contains("no_such_db_here"), "{trace}");
    assert!(
        !trace.contains(&secret) && !trace.contains(&url_secret),
        "{trace}"
    );
    let (_, shown) = http_get(port, "/connectors/failing/config")?;
    assert!(
        !shown.contains(&url_secret) && shown.contains("password=[hidden]"),
        "{shown}"
    );
    let (code, body) = http_request(port, "PUT", "/connectors/failing/config", &shown)?;
    assert_eq!(code, 200, "{body}");
    assert!(w.stop()?.success());
    let stored_url = stored_configs(&dir.path().join("state"))?
        .into_iter()
        .find(|(n, _)| n == "failing")
        .map(|(_, c)| c["connection.url"].clone());
    assert_eq!(stored_url, Some(url), "the URL's password was kept");

    let state = dir.path().join("state");
    let sealed = |kid: &str| -> anyhow::Result<()> {
        let stored = stored_configs(&state)?;
        let names: Vec<&str> = stored.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["failing", "sec"]);
        for (name, c) in &stored {
            let v = &c["connection.password"];
            assert!(
                v.starts_with(&format!("sluice:enc:v1:{kid}:")),
                "{name} stored {v}"
            );
        }
        Ok(())
    };
    sealed("k1")?;
    assert_eq!(files_holding(dir.path(), &secret), Vec::<String>::new());

    // Rotation: k2 becomes the active key, k1 stays to open what it sealed.
    std::fs::write(&keys, format!("{k1}\n{k2}\n"))?;
    let rotating = format!("{props}.rotating");
    std::fs::write(
        &rotating,
        format!(
            "{}secrets.encryption.key.id=k2\n",
            std::fs::read_to_string(&props)?
        ),
    )?;
    let mut w = Worker::start(dir.path(), port, &[&rotating], &[], "w2.log")?;
    wait_task_running(port, "sec", &|| w.log_text())?;
    // A standalone worker stores every connector again as it starts it, so
    // the restart already sealed them with k2: the rotation finds nothing
    // left under k1.
    let answer = rotate(port)?;
    assert_eq!(answer["key.id"], "k2", "{answer}");
    assert_eq!(answer["rewrapped"], serde_json::json!([]), "{answer}");
    assert_eq!(answer["failed"], serde_json::json!({}), "{answer}");
    leaks(port)?;
    assert!(w.stop()?.success());
    sealed("k2")?;

    // k1 retired: the connector opens with k2 alone and still connects.
    std::fs::write(&keys, format!("{k2}\n"))?;
    let mut w = Worker::start(dir.path(), port, &[&props], &[], "w3.log")?;
    wait_task_running(port, "sec", &|| w.log_text())?;
    assert!(w.stop()?.success());

    // With neither key the worker says which key it misses and does not
    // start the connector with a wrong password.
    std::fs::write(&keys, format!("{}\n", new_key("k3")?))?;
    let mut w = Worker::start(dir.path(), port, &[&props], &[], "w4.log")?;
    wait_until(Duration::from_secs(30), "the missing key named", || {
        w.log_text()
            .contains("is sealed with key id k2, which this worker does not have")
            .then_some(())
    })?;
    let (code, _) = http_get(port, "/connectors/sec")?;
    assert_eq!(code, 404);
    assert!(w.stop()?.success());
    assert_eq!(files_holding(dir.path(), &secret), Vec::<String>::new());
    Ok(())
}

/// In a cluster the config topic holds the secret sealed, in the
/// connector's record and its task's; a rotation rewrites both with the
/// new key, marked so that no worker restarts anything for it, and the
/// connector keeps running.
#[test]
fn distributed_config_topic_holds_sealed_secrets() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let db = PgDb::create()?;
    db.exec("CREATE TABLE t (id int primary key, v text); INSERT INTO t VALUES (1, 'a')")?;
    let dir = tempfile::tempdir()?;
    let secret = format!("pw-{}", unique("cluster"));
    let (k1, k2) = (new_key("k1")?, new_key("k2")?);
    let keys = write_file(dir.path(), "secrets.keys", &format!("{k1}\n{k2}\n"))?;
    let group = unique("sec-group");
    let props = sluice_tests::cluster::write_distributed_props(
        dir.path(),
        &broker.bootstrap,
        &group,
        0,
        &format!(
            "secrets.encryption.keys.file={}\nsecrets.encryption.key.id=k1\naudit.log.file={}\n",
            keys.display(),
            dir.path().join("audit.jsonl").display()
        ),
    )?;
    let port = free_port()?;
    let mut w = Worker::start_distributed(dir.path(), port, &props, "d1.log")?;
    let prefix = unique("dsec-");
    let body = serde_json::json!({"name": "dsec", "config": jdbc_source(&db, &secret, &prefix)});
    let (code, resp) = sluice_tests::cluster::rest(port, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 201, "{resp}");
    sluice_tests::cluster::wait_running(port, "dsec", 1, &[], Duration::from_secs(90))
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    wait_for_records(
        &broker.bootstrap,
        &format!("{prefix}t"),
        1,
        Duration::from_secs(60),
    )?;

    // Every config record as the topic holds it.
    let records = |n: usize| -> anyhow::Result<Vec<(String, serde_json::Value)>> {
        let got = wait_until(Duration::from_secs(30), "the config records", || {
            let r = consume_all(
                &broker.bootstrap,
                &format!("{group}-configs"),
                Duration::from_secs(2),
                1000,
            )
            .ok()?;
            (r.len() >= n).then_some(r)
        })?;
        Ok(got
            .into_iter()
            .filter_map(|(k, v)| {
                let k = String::from_utf8(k?).ok()?;
                let v = serde_json::from_slice(&v?).ok()?;
                Some((k, v))
            })
            .collect())
    };
    let sealed_with = |recs: &[(String, serde_json::Value)], kid: &str| {
        let mut seen = Vec::new();
        for (k, v) in recs {
            assert!(
                !v.to_string().contains(&secret),
                "{k} holds the secret: {v}"
            );
            if let Some(p) = v["properties"]["connection.password"].as_str()
                && p.starts_with(&format!("sluice:enc:v1:{kid}:"))
            {
                seen.push(k.clone());
            }
        }
        seen
    };
    let recs = records(4)?;
    let seen = sealed_with(&recs, "k1");
    assert!(
        seen.contains(&"connector-dsec".to_string()) && seen.contains(&"task-dsec-0".to_string()),
        "{seen:?} of {recs:?}"
    );
    let (_, tasks) = http_get(port, "/connectors/dsec/tasks")?;
    assert!(
        !tasks.contains(&secret) && tasks.contains("[hidden]"),
        "{tasks}"
    );
    assert!(w.stop()?.success());

    // k2 active now; the rotation rewrites the connector and its task.
    let rotating = dir.path().join("w0-k2.properties");
    std::fs::write(
        &rotating,
        std::fs::read_to_string(&props)?.replace(
            "secrets.encryption.key.id=k1",
            "secrets.encryption.key.id=k2",
        ),
    )?;
    let mut w = Worker::start_distributed(dir.path(), port, &rotating, "d2.log")?;
    sluice_tests::cluster::wait_running(port, "dsec", 1, &[], Duration::from_secs(90))
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    let starts = |log: &str| {
        (
            log.matches("source task started").count(),
            log.matches("connector stopped").count(),
        )
    };
    let before = starts(&w.log_text());
    let answer = wait_until(
        Duration::from_secs(60),
        "a rotation on a settled group",
        || rotate(port).ok(),
    )?;
    assert_eq!(answer["rewrapped"], serde_json::json!(["dsec"]), "{answer}");
    let recs = records(recs.len() + 3)?;
    let seen = sealed_with(&recs, "k2");
    assert!(
        seen.contains(&"connector-dsec".to_string()) && seen.contains(&"task-dsec-0".to_string()),
        "{seen:?}"
    );
    assert!(
        recs.iter()
            .any(|(k, v)| k == "connector-dsec" && v["sluice.rewrap"] == true),
        "{recs:?}"
    );
    // The audit log has the rotation call and the leader's own session
    // key writes.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl"))?;
    for t in [
        "\"type\":\"io.sluice.audit.rotate-secrets\"",
        "\"type\":\"io.sluice.audit.rotate-session-key\"",
    ] {
        assert!(audit.contains(t), "{t} not in {audit}");
    }
    // Nothing restarted for it: by now (two quiet seconds of reading the
    // topic after the rotation answered) a restart would have been logged.
    assert_eq!(starts(&w.log_text()), before, "{}", w.log_text());
    assert!(!w.log_text().contains("cannot open"), "{}", w.log_text());
    // The status topic (traces) does not hold it either.
    for (k, v) in consume_all(
        &broker.bootstrap,
        &format!("{group}-status"),
        Duration::from_secs(2),
        1000,
    )? {
        let text = format!(
            "{:?}{:?}",
            k.map(String::from_utf8),
            v.map(String::from_utf8)
        );
        assert!(!text.contains(&secret), "{text}");
    }
    assert!(w.stop()?.success());
    assert_eq!(files_holding(dir.path(), &secret), Vec::<String>::new());
    Ok(())
}
