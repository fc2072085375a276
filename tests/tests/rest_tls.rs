//! HTTPS REST listeners (issue 21): certificates made at test time by a
//! throwaway CA, PEM keystores and truststores, a real TLS client. What a
//! client must not get through: a certificate from a CA it does not trust,
//! one for another name, an expired one, plain HTTP on the TLS port, and,
//! with `ssl.client.auth=required`, no client certificate or one from an
//! unknown CA.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use sluice_tests::pki::{self, Ca};
use sluice_tests::*;

/// One HTTPS GET with a real TLS client: (status, body), or the error the
/// client saw.
fn https_get(
    port: u16,
    path: &str,
    trust_pem: &str,
    client_cert: Option<&(String, String)>,
) -> Result<(u16, String)> {
    https_call(port, "GET", path, "", trust_pem, client_cert)
}

/// One HTTPS request with a JSON body.
fn https_call(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    trust_pem: &str,
    client_cert: Option<&(String, String)>,
) -> Result<(u16, String)> {
    let a = https_exchange(port, method, path, &[], body, trust_pem, client_cert)?;
    Ok((a.status, a.body))
}

/// A standalone worker (no broker needed to serve REST) with an https
/// listener and the given `ssl.*` lines; waits until it answers over TLS
/// to a client trusting `trust` (with `client` as its certificate).
fn start_https(
    dir: &Path,
    port: u16,
    ssl: &str,
    trust: &str,
    client: Option<&(String, String)>,
    log: &str,
) -> Result<Worker> {
    let mut w = spawn_https(dir, port, ssl, log)?;
    let up = wait_until(Duration::from_secs(30), "the https listener", || {
        https_get(port, "/", trust, client)
            .ok()
            .filter(|(s, _)| *s == 200)
    });
    if let Err(e) = up {
        let running = w.is_running();
        bail!("{e} (running: {running}); log:\n{}", w.log_text());
    }
    Ok(w)
}

/// Starts a standalone worker with an https listener on `port` and the
/// given `ssl.*` lines, without waiting for it.
fn spawn_https(dir: &Path, port: u16, ssl: &str, log: &str) -> Result<Worker> {
    let props = write_worker_props(dir, "127.0.0.1:1", ssl)?;
    let listener = format!("https://127.0.0.1:{port}");
    Worker::spawn(
        dir,
        port,
        &[&props.display().to_string()],
        &[("CONNECT_LISTENERS", &listener)],
        log,
    )
}

/// The error a client trusting `trust` gets from the listener on `port`
/// once it listens.
fn tls_refusal(port: u16, trust: &str, w: &Worker) -> Result<anyhow::Error> {
    wait_until(
        Duration::from_secs(30),
        "a TLS answer",
        || match https_get(port, "/", trust, None) {
            Err(e) if !format!("{e}").contains("Connection refused") => Some(e),
            _ => None,
        },
    )
    .with_context(|| w.log_text())
}

fn write(dir: &Path, name: &str, text: &str) -> Result<String> {
    Ok(write_file(dir, name, text)?.display().to_string())
}

#[test]
fn https_listener_serves_rest_and_refuses_what_it_should() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("A")?;
    let other = Ca::new("B")?;
    let (chain, key) = ca.issue(&["127.0.0.1", "localhost"], false, false)?;
    // Kafka's PEM keystore file: the key and the certificate chain.
    let keystore = write(dir.path(), "server.pem", &format!("{key}{chain}"))?;
    let port = free_port()?;
    let mut w = start_https(
        dir.path(),
        port,
        &format!(
            "listeners.https.ssl.keystore.type=PEM\nlisteners.https.ssl.keystore.location={keystore}\n"
        ),
        &ca.pem(),
        None,
        "w1.log",
    )?;
    let (code, body) = https_get(port, "/connectors", &ca.pem(), None)?;
    assert_eq!((code, body.as_str()), (200, "[]"));
    // A client that does not trust the worker's CA refuses it.
    let e = https_get(port, "/", &other.pem(), None).unwrap_err();
    assert!(format!("{e}").contains("certificate"), "{e}");
    // Plain HTTP on the TLS port gets no answer from the REST API.
    let plain = http_get(port, "/");
    assert!(
        !matches!(plain, Ok((200, _))),
        "plain HTTP was served on the https port: {plain:?}"
    );
    assert!(w.stop()?.success(), "{}", w.log_text());

    // Inline PEM (ssl.keystore.certificate.chain + ssl.keystore.key) for
    // a name that is not the one dialed: the client refuses it.
    let (chain, key) = ca.issue(&["elsewhere.example"], false, false)?;
    let inline = |k: &str, pem: &str| format!("{k}={}\n", pem.trim().replace('\n', "\\n\\\n"));
    let ssl = format!(
        "{}{}",
        inline("ssl.keystore.certificate.chain", &chain),
        inline("ssl.keystore.key", &key)
    );
    let mut w = spawn_https(dir.path(), port, &ssl, "w2.log")?;
    let e = tls_refusal(port, &ca.pem(), &w)?;
    assert!(format!("{e:#}").contains("not valid for name"), "{e:#}");
    assert!(w.stop()?.success());

    // An expired certificate.
    let (chain, key) = ca.issue(&["127.0.0.1"], false, true)?;
    let keystore = write(dir.path(), "expired.pem", &format!("{chain}{key}"))?;
    let ssl = format!("ssl.keystore.location={keystore}\n");
    let mut w = spawn_https(dir.path(), port, &ssl, "w3.log")?;
    let e = tls_refusal(port, &ca.pem(), &w)?;
    assert!(format!("{e:#}").contains("expired"), "{e:#}");
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn required_client_certificates_are_checked() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("A")?;
    let other = Ca::new("B")?;
    let (chain, key) = ca.issue(&["127.0.0.1"], false, false)?;
    let keystore = write(dir.path(), "server.pem", &format!("{chain}{key}"))?;
    let truststore = write(dir.path(), "ca.pem", &ca.pem())?;
    let good = ca.issue(&["operator"], true, false)?;
    // The certificate's subject common name is the principal, as CN=...
    // (`=` escaped in a properties key).
    let roles = write(
        dir.path(),
        "roles.properties",
        "CN\\=operator=DeveloperRead:cluster\n",
    )?;
    let stranger = other.issue(&["operator"], true, false)?;
    let port = free_port()?;
    let mut w = start_https(
        dir.path(),
        port,
        &format!(
            "ssl.keystore.location={keystore}\nssl.truststore.type=PEM\n\
             ssl.truststore.location={truststore}\nlisteners.https.ssl.client.auth=required\n\
             rest.auth.mtls.enable=true\nrest.auth.roles.file={roles}\n"
        ),
        &ca.pem(),
        Some(&good),
        "w1.log",
    )?;
    let (code, _) = https_get(port, "/connectors", &ca.pem(), Some(&good))?;
    assert_eq!(code, 200);
    // Refused: the client sees the server's alert, or the connection
    // closed under its request (which of the two depends on timing).
    for (who, cert) in [
        ("no certificate", None),
        ("an unknown CA's", Some(&stranger)),
    ] {
        let r = https_get(port, "/connectors", &ca.pem(), cert);
        assert!(r.is_err(), "a client with {who} got an answer: {r:?}");
        println!(
            "client with {who}: {:#}",
            r.err().map(|e| format!("{e:#}")).unwrap_or_default()
        );
    }
    // The listener still serves the good client, as the principal its
    // certificate names, with that principal's roles.
    assert_eq!(https_get(port, "/", &ca.pem(), Some(&good))?.0, 200);
    let (code, body) = https_get(port, "/admin/loggers", &ca.pem(), Some(&good))?;
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains("Principal CN=operator is not allowed"),
        "{body}"
    );
    assert!(w.stop()?.success());
    Ok(())
}

/// PKCS12 stores, as `openssl pkcs12 -export` (and keytool) make them:
/// the listener serves its PKCS12 keystore and checks client
/// certificates against a PKCS12 truststore; a wrong store password
/// stops the worker with the key named.
#[test]
fn pkcs12_stores_serve_and_check_clients() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("A")?;
    let server = ca.issue(&["127.0.0.1"], false, false)?;
    let keystore = pki::pkcs12_keystore(dir.path(), "server.p12", &server, "store-pw")?;
    let truststore = pki::pkcs12_truststore(dir.path(), "trust.p12", &ca.pem(), "trust-pw")?;
    let good = ca.issue(&["operator"], true, false)?;
    let stranger = Ca::new("B")?.issue(&["operator"], true, false)?;
    let port = free_port()?;
    let ssl = format!(
        "listeners.https.ssl.keystore.type=PKCS12\nlisteners.https.ssl.keystore.location={keystore}\n\
         listeners.https.ssl.keystore.password=store-pw\nlisteners.https.ssl.key.password=store-pw\n\
         listeners.https.ssl.truststore.type=PKCS12\nlisteners.https.ssl.truststore.location={truststore}\n\
         listeners.https.ssl.truststore.password=trust-pw\nlisteners.https.ssl.client.auth=required\n"
    );
    let mut w = start_https(dir.path(), port, &ssl, &ca.pem(), Some(&good), "w1.log")?;
    let (code, body) = https_get(port, "/connectors", &ca.pem(), Some(&good))?;
    assert_eq!((code, body.as_str()), (200, "[]"));
    let r = https_get(port, "/connectors", &ca.pem(), Some(&stranger));
    assert!(r.is_err(), "an unknown CA's client got an answer: {r:?}");
    assert!(w.stop()?.success(), "{}", w.log_text());

    let wrong = ssl.replace("keystore.password=store-pw", "keystore.password=nope");
    let mut w = spawn_https(dir.path(), free_port()?, &wrong, "w2.log")?;
    let status = w.wait_exit(Duration::from_secs(30))?;
    assert!(!status.success());
    let log = w.log_text();
    assert!(
        log.contains("listeners.https.ssl.keystore.location") && log.contains("wrong password"),
        "{log}"
    );
    Ok(())
}

/// A store Sluice cannot read, or `requested` client auth without a
/// truststore: the worker does not start, and says what to do.
#[test]
fn unusable_tls_settings_stop_the_worker_with_the_fix() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let jks = dir.path().join("server.jks");
    std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2])?;
    let ca = Ca::new("A")?;
    let (chain, key) = ca.issue(&["127.0.0.1"], false, false)?;
    let pem = write(dir.path(), "server.pem", &format!("{chain}{key}"))?;
    for (ssl, want) in [
        (
            format!("ssl.keystore.location={}\n", jks.display()),
            "keytool -importkeystore",
        ),
        (
            format!("ssl.keystore.location={pem}\nssl.client.auth=requested\n"),
            "ssl.client.auth=requested needs a truststore",
        ),
    ] {
        let mut w = spawn_https(dir.path(), free_port()?, &ssl, "bad.log")?;
        let status = w.wait_exit(Duration::from_secs(30))?;
        assert!(!status.success());
        let log = w.log_text();
        assert!(log.contains(want), "{want}: {log}");
    }
    Ok(())
}

/// A cluster whose workers listen on https only and require client
/// certificates: they forward requests, hand task configs to the leader
/// and probe each other over https, each presenting its own certificate;
/// a connector created through either worker runs with tasks on both.
#[test]
fn distributed_workers_call_each_other_over_https() -> Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let ca = Ca::new("cluster")?;
    let (chain, key) = ca.issue_worker(&["127.0.0.1"])?;
    let keystore = write(dir.path(), "worker.pem", &format!("{chain}{key}"))?;
    let truststore = write(dir.path(), "ca.pem", &ca.pem())?;
    let me = ca.issue(&["operator"], true, false)?;
    let group = unique("tls-group");
    let ports = [free_port()?, free_port()?];
    let mut workers = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let props = sluice_tests::cluster::write_distributed_props(
            dir.path(),
            &broker.bootstrap,
            &group,
            i,
            &format!(
                "ssl.keystore.location={keystore}\nssl.truststore.location={truststore}\n\
                 listeners.https.ssl.client.auth=required\n"
            ),
        )?;
        let listener = format!("https://127.0.0.1:{port}");
        workers.push(Worker::spawn_distributed(
            dir.path(),
            *port,
            &props,
            &[("CONNECT_LISTENERS", &listener)],
            &format!("w{i}.log"),
        )?);
    }
    let logs = |ws: &[Worker]| {
        ws.iter()
            .map(|w| w.log_text())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let topic = unique("tls-topic");
    create_topic(&broker.bootstrap, &topic)?;
    // Through each worker in turn: one of them is not the leader and
    // forwards the write over https.
    for (i, port) in ports.iter().enumerate() {
        let body = serde_json::json!({"name": format!("gen-{i}"), "config": {
            "connector.class": "DataGen", "tasks.max": "2", "topic": topic,
            "records.per.second": "5"}})
        .to_string();
        // Retried only while the worker is not up yet (no TLS answer) or
        // the group rebalances (409); a failed forward (500) fails.
        let (code, b) = wait_until(Duration::from_secs(120), "a create over https", || {
            let (code, b) =
                https_call(*port, "POST", "/connectors", &body, &ca.pem(), Some(&me)).ok()?;
            (code != 409).then_some((code, b))
        })
        .with_context(|| logs(&workers))?;
        assert_eq!(code, 201, "{b}\n{}", logs(&workers));
    }
    // Both connectors run both their tasks; the tasks' configs reached the
    // leader from whichever worker runs the connector.
    for name in ["gen-0", "gen-1"] {
        let status = wait_until(Duration::from_secs(120), "tasks RUNNING", || {
            let (_, b) = https_get(
                ports[0],
                &format!("/connectors/{name}/status"),
                &ca.pem(),
                Some(&me),
            )
            .ok()?;
            let v: serde_json::Value = serde_json::from_str(&b).ok()?;
            let tasks = v["tasks"].as_array()?;
            (tasks.len() == 2 && tasks.iter().all(|t| t["state"] == "RUNNING")).then_some(v)
        })
        .with_context(|| logs(&workers))?;
        println!("{name}: {status}");
    }
    // A task restart through each worker: the one that does not run the
    // task forwards it to the one that does, over https.
    for port in ports {
        let (code, b) = https_call(
            port,
            "POST",
            "/connectors/gen-0/tasks/0/restart",
            "",
            &ca.pem(),
            Some(&me),
        )?;
        assert_eq!(code, 204, "{b}\n{}", logs(&workers));
    }
    let all = logs(&workers);
    assert!(
        !all.contains("answers its REST URL but the call fails")
            && !all.contains("task configs not accepted yet"),
        "{all}"
    );
    for w in &mut workers {
        assert!(w.stop()?.success());
    }
    Ok(())
}
