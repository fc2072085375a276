//! The schema registry over https with basic authentication (issue 21),
//! with Confluent's keys, against a real broker, certificates made at test
//! time and a real TLS client:
//! - `sluice schema-registry` with `ssl.client.authentication=REQUIRED`,
//!   `authentication.method=BASIC` and a Jetty users file found through
//!   `SCHEMA_REGISTRY_OPTS`: 401 without or with wrong credentials, 403
//!   for a user without an allowed role, no answer without a client
//!   certificate or over plain HTTP, skipped paths open;
//! - the embedded registry on https behind basic auth, and a file source
//!   whose AvroConverter reaches it with `schema.registry.ssl.truststore.*`
//!   and `basic.auth.user.info`: Confluent-framed records whose schema the
//!   registry serves; a converter with a wrong password fails its task
//!   naming the refusal.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use base64::Engine;
use serde_json::Value;
use sluice_tests::pki::Ca;
use sluice_tests::*;

/// Files for a registry's TLS and users: (keystore PEM path, CA PEM path,
/// JAAS path).
fn registry_files(dir: &Path, ca: &Ca) -> Result<(String, String, String)> {
    let (chain, key) = ca.issue_worker(&["127.0.0.1", "localhost"])?;
    let keystore = write_file(dir, "registry.pem", &format!("{key}{chain}"))?;
    let trust = write_file(dir, "ca.pem", &ca.pem())?;
    let hash = sluice_runtime::rest::auth::hash_password("dev-pw").map_err(anyhow::Error::msg)?;
    let users = write_file(
        dir,
        "registry-users.properties",
        &format!("admin: admin-pw,admin\ndev: {hash},developer\nreader: reader-pw,user\n"),
    )?;
    let jaas = write_file(
        dir,
        "registry-jaas.conf",
        &format!(
            "SchemaRegistry-Props {{\n  org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required\n  file=\"{}\"\n  debug=\"false\";\n}};\n",
            users.display()
        ),
    )?;
    Ok((
        keystore.display().to_string(),
        trust.display().to_string(),
        jaas.display().to_string(),
    ))
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Waits until the https registry on `port` answers `GET /` to `auth`.
fn wait_https(
    port: u16,
    trust: &str,
    client: Option<&(String, String)>,
    auth: &str,
    w: &mut Worker,
) -> Result<()> {
    let up = wait_until(Duration::from_secs(60), "the https registry", || {
        https_exchange(
            port,
            "GET",
            "/",
            &[("Authorization", auth)],
            "",
            trust,
            client,
        )
        .ok()
        .filter(|a| a.status == 200)
    });
    if let Err(e) = up {
        let running = w.is_running();
        bail!("{e} (running: {running}); log:\n{}", w.log_text());
    }
    Ok(())
}

#[test]
fn standalone_registry_over_https_with_client_certificates_and_basic_auth() -> Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("registry")?;
    let (keystore, trust_path, jaas) = registry_files(dir.path(), &ca)?;
    let trust = ca.pem();
    let client = ca.issue(&["client"], true, false)?;
    let stranger = Ca::new("stranger")?.issue(&["client"], true, false)?;
    let port = free_port()?;
    let config = write_file(
        dir.path(),
        "schema-registry.properties",
        &format!(
            "listeners=https://127.0.0.1:{port}\n\
             kafkastore.bootstrap.servers=PLAINTEXT://{}\n\
             kafkastore.topic={}\n\
             ssl.keystore.location={keystore}\n\
             ssl.keystore.type=PEM\n\
             ssl.truststore.location={trust_path}\n\
             ssl.truststore.type=PEM\n\
             ssl.client.authentication=REQUIRED\n\
             authentication.method=BASIC\n\
             authentication.realm=SchemaRegistry-Props\n\
             authentication.roles=admin,developer\n\
             authentication.skip.paths=/schemas/types\n",
            broker.bootstrap,
            unique("_schemas")
        ),
    )?;
    let opts = format!("-Xmx512M -Djava.security.auth.login.config={jaas}");
    let mut w = Worker::spawn_registry(
        dir.path(),
        port,
        &config,
        &[("SCHEMA_REGISTRY_OPTS", &opts)],
        "registry.log",
    )?;
    let admin = basic("admin", "admin-pw");
    wait_https(port, &trust, Some(&client), &admin, &mut w)?;

    let call = |method: &str, path: &str, auth: Option<&str>, body: &str| {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        https_exchange(port, method, path, &headers, body, &trust, Some(&client))
    };
    let schema = r#"{"schema":"{\"type\":\"record\",\"name\":\"U\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}"}"#;
    // Registered by a developer (an Argon2-hashed password), read by the admin.
    let dev = basic("dev", "dev-pw");
    let a = call("POST", "/subjects/users-value/versions", Some(&dev), schema)?;
    assert_eq!((a.status, a.body.as_str()), (200, r#"{"id":1}"#));
    let a = call("GET", "/subjects", Some(&admin), "")?;
    assert_eq!((a.status, a.body.as_str()), (200, r#"["users-value"]"#));

    // Refusals, in Confluent's error shape.
    for (auth, why) in [
        (None, "no credentials"),
        (Some(basic("admin", "wrong")), "a wrong password"),
        (Some(basic("nobody", "admin-pw")), "an unknown user"),
        (Some("Bearer abc".to_string()), "a bearer token"),
    ] {
        let a = call("GET", "/subjects", auth.as_deref(), "")?;
        assert_eq!(a.status, 401, "{why}: {}", a.body);
        let body: Value = serde_json::from_str(&a.body)?;
        assert_eq!(body["error_code"], 401, "{why}");
        assert_eq!(
            a.header("www-authenticate"),
            Some("Basic realm=\"SchemaRegistry-Props\""),
            "{why}"
        );
    }
    let a = call(
        "POST",
        "/subjects/x-value/versions",
        Some(&basic("reader", "reader-pw")),
        schema,
    )?;
    assert_eq!(a.status, 403, "a user without an allowed role: {}", a.body);
    // A skipped path needs no credentials.
    let a = call("GET", "/schemas/types", None, "")?;
    assert_eq!(a.status, 200, "{}", a.body);

    // No client certificate, one from another CA, and plain HTTP get no answer.
    for (cert, why) in [
        (None, "no client certificate"),
        (Some(&stranger), "an unknown CA"),
    ] {
        let r = https_exchange(
            port,
            "GET",
            "/subjects",
            &[("Authorization", &admin)],
            "",
            &trust,
            cert,
        );
        assert!(r.is_err(), "{why}: {r:?}");
    }
    let plain = http_exchange(port, "GET", "/subjects", &[("Authorization", &admin)], "");
    assert!(plain.is_err(), "plain HTTP on the TLS port: {plain:?}");
    drop(w);
    Ok(())
}

#[test]
fn avro_converter_reaches_the_embedded_registry_over_https_with_basic_auth() -> Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("embedded")?;
    let (keystore, trust_path, jaas) = registry_files(dir.path(), &ca)?;
    let (rest, registry) = (free_port()?, free_port()?);
    let props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        &format!(
            "listeners=http://127.0.0.1:{rest}\n\
             schema.registry.embedded=true\n\
             schema.registry.listeners=https://127.0.0.1:{registry}\n\
             schema.registry.kafkastore.topic={}\n\
             schema.registry.ssl.keystore.location={keystore}\n\
             schema.registry.authentication.method=BASIC\n\
             schema.registry.authentication.realm=SchemaRegistry-Props\n\
             schema.registry.authentication.roles=admin,developer\n\
             schema.registry.java.security.auth.login.config={jaas}\n",
            unique("_schemas")
        ),
    )?;
    let input = dir.path().join("in.txt");
    let lines = numbered("line", 0, 20);
    append_lines(&input, &lines)?;
    let converter = |user: &str, password: &str| {
        format!(
            "value.converter=io.confluent.connect.avro.AvroConverter\n\
             value.converter.schema.registry.url=https://127.0.0.1:{registry}\n\
             value.converter.schema.registry.ssl.truststore.location={trust_path}\n\
             value.converter.schema.registry.ssl.truststore.type=PEM\n\
             value.converter.basic.auth.credentials.source=USER_INFO\n\
             value.converter.basic.auth.user.info={user}:{password}\n"
        )
    };
    let (good, bad) = (unique("avro-https"), unique("avro-https-bad"));
    let source = |name: &str, topic: &str, user: &str, password: &str| {
        format!(
            "name={name}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n{}",
            input.display(),
            converter(user, password)
        )
    };
    let good_props = write_file(
        dir.path(),
        "good.properties",
        &source("good", &good, "dev", "dev-pw"),
    )?;
    let bad_props = write_file(
        dir.path(),
        "bad.properties",
        &source("bad", &bad, "dev", "Wr0ng-Secret-77"),
    )?;
    let _w = Worker::start(
        dir.path(),
        rest,
        &[
            &props.display().to_string(),
            &good_props.display().to_string(),
            &bad_props.display().to_string(),
        ],
        &[],
        "worker.log",
    )?;

    let records = wait_until(Duration::from_secs(60), "20 Avro records", || {
        consume_all(&broker.bootstrap, &good, Duration::from_secs(1), 20)
            .ok()
            .filter(|r| r.len() == 20)
    })?;
    let trust = ca.pem();
    let latest = https_exchange(
        registry,
        "GET",
        &format!("/subjects/{good}-value/versions/latest"),
        &[("Authorization", &basic("admin", "admin-pw"))],
        "",
        &trust,
        None,
    )?;
    assert_eq!(latest.status, 200, "{}", latest.body);
    let latest: Value = serde_json::from_str(&latest.body)?;
    let id = u32::try_from(latest["id"].as_u64().unwrap_or(0))?;
    assert!(id > 0, "{latest}");
    for (_, value) in &records {
        let bytes = value.as_deref().unwrap_or_default();
        assert_eq!(bytes.first(), Some(&0), "magic byte");
        assert_eq!(bytes.get(1..5), Some(&id.to_be_bytes()[..]), "schema id");
    }

    // The wrong password fails the task, and says why.
    let status = wait_until(Duration::from_secs(60), "the bad task to fail", || {
        connector_status(rest, "bad").filter(|s| s["tasks"][0]["state"] == "FAILED")
    })?;
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or("");
    assert!(
        trace.contains("401") || trace.contains("Unauthorized"),
        "{trace}"
    );
    assert!(
        !trace.contains("Wr0ng-Secret-77"),
        "the password leaked: {trace}"
    );
    assert!(
        consume_all(&broker.bootstrap, &bad, Duration::from_secs(1), 1)
            .map(|r| r.is_empty())
            .unwrap_or(true),
        "nothing written without a schema"
    );
    Ok(())
}
