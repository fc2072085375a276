//! REST basic authentication (issue 21) set up as Kafka Connect users do
//! it: `rest.extension.classes=...BasicAuthSecurityRestExtension` and a
//! JAAS file named in `KAFKA_OPTS`, unchanged; a hashed password from
//! `sluice hash-password`; and an empty credentials file, which Kafka
//! Connect would take as "let everyone in", stopping the worker.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use sluice_tests::*;

/// One request with an `Authorization: Basic` header (or none): the
/// status and the whole answer (headers and body).
fn call(port: u16, method: &str, path: &str, user: Option<(&str, &str)>) -> Result<(u16, String)> {
    send(port, method, path, user, "")
}

/// `call` with a body.
fn send(
    port: u16,
    method: &str,
    path: &str,
    user: Option<(&str, &str)>,
    body: &str,
) -> Result<(u16, String)> {
    use base64::Engine;
    let auth = user.map(|(u, p)| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    });
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let a = http_exchange(port, method, path, &headers, body)?;
    Ok((a.status, format!("{}\r\n\r\n{}", a.head, a.body)))
}

/// A standalone worker (broker at `bootstrap`) with `extra` worker keys.
fn start_worker(dir: &std::path::Path, bootstrap: &str, extra: &str) -> Result<(Worker, u16)> {
    let props = write_worker_props(dir, bootstrap, extra)?;
    let port = free_port()?;
    let w = Worker::start(dir, port, &[&props.display().to_string()], &[], "w.log")?;
    Ok((w, port))
}

fn hash(password: &str) -> Result<String> {
    let mut child = Command::new(sluice_binary()?)
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(format!("{password}\n").as_bytes())?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(out.status.success(), "hash-password failed");
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

#[test]
fn kafka_connects_basic_auth_setup_guards_the_api() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hashed = hash("ops-secret")?;
    assert!(hashed.starts_with("$argon2id$"), "{hashed}");
    let creds = write_file(
        dir.path(),
        "credentials.properties",
        &format!("admin: admin-secret\nops={hashed}\n"),
    )?;
    let jaas = write_file(
        dir.path(),
        "connect-jaas.conf",
        &format!(
            "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
            creds.display()
        ),
    )?;
    let props = write_worker_props(
        dir.path(),
        "127.0.0.1:1",
        "rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension\n",
    )?;
    let port = free_port()?;
    let opts = format!(
        "-Xms256m -Djava.security.auth.login.config={}",
        jaas.display()
    );
    // `GET /` stays anonymous, so the harness's readiness check works.
    let mut w = Worker::start(
        dir.path(),
        port,
        &[&props.display().to_string()],
        &[("KAFKA_OPTS", &opts)],
        "w.log",
    )?;
    for path in [
        "/connectors",
        "/connector-plugins",
        "/admin/loggers",
        "/metrics",
    ] {
        let (code, body) = call(port, "GET", path, None)?;
        assert_eq!(code, 401, "{path}: {body}");
        assert!(body.contains("User cannot access the resource."), "{body}");
        assert!(
            body.to_ascii_lowercase()
                .contains("www-authenticate: basic"),
            "{body}"
        );
        assert_eq!(
            call(port, "GET", path, Some(("admin", "wrong")))?.0,
            401,
            "{path}"
        );
        assert_eq!(
            call(port, "GET", path, Some(("admin", "admin-secret")))?.0,
            200,
            "{path}"
        );
        assert_eq!(
            call(port, "GET", path, Some(("ops", "ops-secret")))?.0,
            200,
            "{path}"
        );
    }
    // Writes too; the anonymous routes stay open for probes.
    assert_eq!(call(port, "DELETE", "/connectors/none", None)?.0, 401);
    assert_eq!(
        call(
            port,
            "DELETE",
            "/connectors/none",
            Some(("ops", "ops-secret"))
        )?
        .0,
        404
    );
    for path in ["/", "/health", "/health/live"] {
        let (code, _) = call(port, "GET", path, None)?;
        assert_ne!(code, 401, "{path}");
    }
    // Every refusal above is counted.
    let (_, metrics) = call(port, "GET", "/metrics", Some(("admin", "admin-secret")))?;
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sluice_rest_authentication_failures_total "))
        .and_then(|v| v.trim().parse().ok())
        .context("no failure counter")?;
    assert!(failures >= 9, "{failures} refusals counted");
    // A burst of wrong passwords is an anomaly (sampled every 5 s).
    wait_until(Duration::from_secs(60), "an authentication anomaly", || {
        for _ in 0..20 {
            call(port, "GET", "/connectors", Some(("admin", "guess"))).ok()?;
        }
        let (_, m) = call(port, "GET", "/metrics", Some(("admin", "admin-secret"))).ok()?;
        m.contains("sluice_rest_authentication_anomaly{kind=\"error_burst\"} 1")
            .then_some(())
    })?;
    assert!(
        w.log_text().contains("authentication failures:"),
        "{}",
        w.log_text()
    );
    assert!(w.stop()?.success());

    // An empty credentials file: Kafka Connect lets everyone in; Sluice
    // does not start.
    let empty = write_file(dir.path(), "empty.properties", "# nobody yet\n")?;
    let jaas = write_file(
        dir.path(),
        "empty-jaas.conf",
        &format!(
            "KafkaConnect {{ org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required file=\"{}\"; }};",
            empty.display()
        ),
    )?;
    let opts = format!("-Djava.security.auth.login.config={}", jaas.display());
    let mut w = Worker::spawn(
        dir.path(),
        free_port()?,
        &[&props.display().to_string()],
        &[("KAFKA_OPTS", &opts)],
        "empty.log",
    )?;
    let status = w.wait_exit(Duration::from_secs(30))?;
    assert!(!status.success());
    let log = w.log_text();
    assert!(
        log.contains("is empty") && log.contains("refuses to start"),
        "{log}"
    );
    Ok(())
}

/// Changes and refusals become CloudEvents records in the audit file and
/// topic: who, what, which resource, the outcome, the request id, the
/// config key names but never their values.
#[test]
fn audit_log_records_changes_and_refusals() -> Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let creds = write_file(dir.path(), "credentials.properties", "admin=admin-secret\n")?;
    let audit_file = dir.path().join("audit.jsonl");
    let topic = unique("audit");
    let (mut w, port) = start_worker(
        dir.path(),
        &broker.bootstrap,
        &format!(
            "rest.auth.basic.credentials.file={}\naudit.log.file={}\naudit.log.topic={topic}\n",
            creds.display(),
            audit_file.display()
        ),
    )?;
    let admin = Some(("admin", "admin-secret"));
    let body = serde_json::json!({"name": "audited", "config": {
        "connector.class": "FileStreamSource", "topic": unique("t"), "file": "/nonexistent",
        "connection.password": "hunter2"}, "initial_state": "STOPPED"});
    let (code, raw) = send(port, "POST", "/connectors", admin, &body.to_string())?;
    assert_eq!(code, 201, "{raw}");
    let request_id = raw
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-request-id: ")
                .map(str::to_string)
        })
        .context("no x-request-id in the answer")?;
    assert_eq!(
        send(port, "PUT", "/connectors/audited/resume", admin, "")?.0,
        202
    );
    assert_eq!(
        call(port, "GET", "/connectors", Some(("admin", "guess")))?.0,
        401
    );
    assert_eq!(call(port, "DELETE", "/connectors/audited", admin)?.0, 204);
    assert_eq!(call(port, "GET", "/connectors", admin)?.0, 200);

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&audit_file)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    // What callers did (the worker's own records, below, aside).
    let ops: Vec<(String, String, u64)> = lines
        .iter()
        .filter(|e| e["data"]["mechanism"] != "worker")
        .map(|e| {
            (
                e["data"]["operation"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["data"]["outcome"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["data"]["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        vec![
            ("create".into(), "success".into(), 201),
            ("resume".into(), "success".into(), 202),
            ("read".into(), "denied".into(), 401),
            ("delete".into(), "success".into(), 204),
        ],
        "reads that succeed are not audited"
    );
    let create = &lines[0];
    assert_eq!(create["specversion"], "1.0");
    assert_eq!(create["type"], "io.sluice.audit.create");
    assert_eq!(create["data"]["principal"], "admin");
    assert_eq!(create["data"]["mechanism"], "basic");
    assert_eq!(create["data"]["resource"], "Connector:audited");
    assert_eq!(
        create["data"]["request_id"].as_str(),
        Some(request_id.trim())
    );
    assert!(
        create["data"]["client"]
            .as_str()
            .is_some_and(|c| c.starts_with("127.0.0.1:"))
    );
    let keys = create["data"]["config_keys"].to_string();
    assert!(keys.contains("connection.password"), "{keys}");
    let refused = lines
        .iter()
        .find(|e| e["data"]["status"] == 401)
        .context("no refusal")?;
    assert_eq!(refused["data"]["principal"], serde_json::Value::Null);

    // A connector that fails: the worker records it, as itself.
    let failing = serde_json::json!({"name": "failing", "config": {
        "connector.class": "JdbcSource", "mode": "bulk", "topic.prefix": unique("f-"),
        "connection.url": "jdbc:postgresql://127.0.0.1:5432/no_such_db_here?user=postgres",
        "connection.attempts": "1"}});
    assert_eq!(
        send(port, "POST", "/connectors", admin, &failing.to_string())?.0,
        201
    );
    let failed = wait_until(Duration::from_secs(60), "a failure audited", || {
        std::fs::read_to_string(&audit_file)
            .ok()?
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|e| {
                e["data"]["resource"] == "Connector:failing" && e["data"]["outcome"] == "failure"
            })
    })?;
    assert_eq!(failed["data"]["mechanism"], "worker", "{failed}");
    assert!(
        failed["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("connector-failed") || t.ends_with("task-failed")),
        "{failed}"
    );
    let text = std::fs::read_to_string(&audit_file)?;
    assert!(
        !text.contains("hunter2") && !text.contains("guess"),
        "a secret in the audit log"
    );

    // The same records in the topic, keyed by resource.
    let recs = wait_for_records(&broker.bootstrap, &topic, 6, Duration::from_secs(30))?;
    assert!(recs.len() >= 6, "{recs:?}");
    assert!(
        recs.iter()
            .any(|r| r.contains("\"resource\":\"Connector:failing\"")),
        "{recs:?}"
    );
    assert!(
        recs.iter().all(|r| r.contains("\"specversion\":\"1.0\"")),
        "{recs:?}"
    );
    assert!(!recs.iter().any(|r| r.contains("hunter2")));
    assert!(w.stop()?.success());
    Ok(())
}

/// Roles bound to principals on the cluster or on connectors: each may do
/// what its roles grant and nothing else, and sees only its connectors.
#[test]
fn roles_limit_what_each_principal_may_do() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let creds = write_file(
        dir.path(),
        "credentials.properties",
        "admin=a\nalice=b\nbob=c\ncarol=d\ndave=e\n",
    )?;
    let roles = write_file(
        dir.path(),
        "roles.properties",
        "admin=SystemAdmin\nalice=ResourceOwner:Connector:orders-*\n\
         bob=Operator:Connector:orders-1\ncarol=DeveloperRead:cluster\n",
    )?;
    let (mut w, port) = start_worker(
        dir.path(),
        "127.0.0.1:1",
        &format!(
            "rest.auth.basic.credentials.file={}\nrest.auth.roles.file={}\n",
            creds.display(),
            roles.display()
        ),
    )?;
    let as_ = |u: &'static str, p: &'static str| Some((u, p));
    let create = |name: &str| {
        serde_json::json!({"name": name, "config": {"connector.class": "FileStreamSource",
            "topic": "t", "file": "/nonexistent"}, "initial_state": "STOPPED"})
        .to_string()
    };
    let list = |user| -> Result<Vec<String>> {
        let (code, raw) = call(port, "GET", "/connectors", user)?;
        anyhow::ensure!(code == 200, "{raw}");
        let body = raw
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        Ok(serde_json::from_str(body)?)
    };
    assert_eq!(
        send(
            port,
            "POST",
            "/connectors",
            as_("admin", "a"),
            &create("orders-1")
        )?
        .0,
        201
    );
    assert_eq!(
        send(
            port,
            "POST",
            "/connectors",
            as_("admin", "a"),
            &create("billing")
        )?
        .0,
        201
    );
    // alice owns orders-*: creates one, sees only hers, cannot touch billing.
    assert_eq!(
        send(
            port,
            "POST",
            "/connectors",
            as_("alice", "b"),
            &create("orders-2")
        )?
        .0,
        201
    );
    let (code, raw) = send(
        port,
        "POST",
        "/connectors",
        as_("alice", "b"),
        &create("billing-2"),
    )?;
    assert_eq!(code, 403, "{raw}");
    assert!(
        raw.contains("Principal alice is not allowed to create connector billing-2"),
        "{raw}"
    );
    assert_eq!(list(as_("alice", "b"))?, vec!["orders-1", "orders-2"]);
    assert_eq!(
        call(port, "DELETE", "/connectors/billing", as_("alice", "b"))?.0,
        403
    );
    assert_eq!(
        call(port, "GET", "/connectors/billing/config", as_("alice", "b"))?.0,
        403
    );
    assert_eq!(
        call(port, "GET", "/admin/loggers", as_("alice", "b"))?.0,
        403
    );
    // bob operates orders-1 only, and may not read its config.
    assert_eq!(
        call(port, "PUT", "/connectors/orders-1/resume", as_("bob", "c"))?.0,
        202
    );
    assert_eq!(
        call(port, "PUT", "/connectors/orders-1/stop", as_("bob", "c"))?.0,
        204
    );
    assert_eq!(
        call(port, "GET", "/connectors/orders-1/config", as_("bob", "c"))?.0,
        403
    );
    // The connector's info holds its config too; its status does not.
    for (method, path, want) in [
        ("GET", "/connectors/orders-1", 403),
        ("HEAD", "/connectors/orders-1/config", 403),
        ("GET", "/connectors/orders-1/status", 200),
    ] {
        assert_eq!(
            call(port, method, path, as_("bob", "c"))?.0,
            want,
            "{method} {path}"
        );
    }
    assert_eq!(
        call(port, "PUT", "/connectors/orders-2/stop", as_("bob", "c"))?.0,
        403
    );
    assert_eq!(
        call(port, "DELETE", "/connectors/orders-1", as_("bob", "c"))?.0,
        403
    );
    assert_eq!(list(as_("bob", "c"))?, vec!["orders-1"]);
    // carol reads everything and changes nothing.
    assert_eq!(
        list(as_("carol", "d"))?,
        vec!["billing", "orders-1", "orders-2"]
    );
    assert_eq!(
        call(port, "GET", "/connectors/billing/config", as_("carol", "d"))?.0,
        200
    );
    assert_eq!(
        call(port, "PUT", "/connectors/billing/pause", as_("carol", "d"))?.0,
        403
    );
    // dave is authenticated but bound to nothing: least privilege.
    assert!(list(as_("dave", "e"))?.is_empty());
    assert_eq!(
        call(port, "GET", "/connectors/billing", as_("dave", "e"))?.0,
        403
    );
    assert_eq!(call(port, "GET", "/metrics", as_("dave", "e"))?.0, 403);
    // The admin may do it all.
    assert_eq!(
        call(port, "DELETE", "/connectors/billing", as_("admin", "a"))?.0,
        204
    );
    assert_eq!(
        call(port, "GET", "/admin/loggers", as_("admin", "a"))?.0,
        200
    );
    assert!(w.stop()?.success());
    Ok(())
}

/// API keys from `sluice api-key`: the file holds only the hash; the key
/// authenticates as its principal in either header, with its roles.
#[test]
fn api_keys_authenticate_as_their_principal() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = Command::new(sluice_binary()?)
        .args(["api-key", "ci-bot"])
        .output()?;
    anyhow::ensure!(out.status.success(), "sluice api-key failed");
    let text = String::from_utf8(out.stdout)?;
    let mut lines = text.lines();
    let key = lines.next().context("no key")?.to_string();
    let line = lines.next().context("no file line")?.to_string();
    assert!(
        line.starts_with("ci-bot=sha256:") && !line.contains(&key),
        "{line}"
    );
    let keys = write_file(dir.path(), "api-keys.properties", &format!("{line}\n"))?;
    let roles = write_file(
        dir.path(),
        "roles.properties",
        "ci-bot=DeveloperRead:cluster\n",
    )?;
    let (mut w, port) = start_worker(
        dir.path(),
        "127.0.0.1:1",
        &format!(
            "rest.auth.api.keys.file={}\nrest.auth.roles.file={}\n",
            keys.display(),
            roles.display()
        ),
    )?;
    let with = |method: &str, path: &str, header: String| -> Result<u16> {
        let (name, value) = header.split_once(": ").context("header")?;
        Ok(http_exchange(port, method, path, &[(name, value)], r#"{"level":"DEBUG"}"#)?.status)
    };
    let get = |header: String| with("GET", "/connectors", header);
    assert_eq!(get(format!("X-API-Key: {key}"))?, 200);
    assert_eq!(get(format!("Authorization: ApiKey {key}"))?, 200);
    assert_eq!(get("X-API-Key: sk_guessed".into())?, 401);
    assert_eq!(get("X-Nothing: 1".into())?, 401);
    // Its roles hold: DeveloperRead may not change log levels.
    assert_eq!(
        with("PUT", "/admin/loggers/root", format!("X-API-Key: {key}"))?,
        403
    );
    assert!(w.stop()?.success());
    Ok(())
}

/// An identity provider on loopback: its OpenID discovery document and
/// key set (replaceable, to rotate keys); counts the key-set fetches.
struct Idp {
    port: u16,
    jwks: std::sync::Arc<std::sync::Mutex<String>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Idp {
    fn start() -> Result<Self> {
        use std::io::{BufRead, BufReader};
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = l.local_addr()?.port();
        let jwks = std::sync::Arc::new(std::sync::Mutex::new(r#"{"keys":[]}"#.to_string()));
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (j, f) = (jwks.clone(), fetches.clone());
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let mut reader = BufReader::new(&conn);
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let body = if first.contains("/.well-known/openid-configuration") {
                    format!(
                        r#"{{"issuer":"http://127.0.0.1:{port}","jwks_uri":"http://127.0.0.1:{port}/jwks"}}"#
                    )
                } else {
                    f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    j.lock().map(|s| s.clone()).unwrap_or_default()
                };
                let _ = (&conn).write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        });
        Ok(Self {
            port,
            jwks,
            fetches,
        })
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Publishes these (kid, key) pairs as the key set.
    fn publish(&self, keys: &[(&str, &ring::signature::EcdsaKeyPair)]) {
        use base64::Engine;
        use ring::signature::KeyPair;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let list: Vec<serde_json::Value> = keys
            .iter()
            .map(|(kid, k)| {
                let p = k.public_key().as_ref();
                serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
                    "alg": "ES256", "x": b64(&p[1..33]), "y": b64(&p[33..65])})
            })
            .collect();
        if let Ok(mut j) = self.jwks.lock() {
            *j = serde_json::json!({ "keys": list }).to_string();
        }
    }
}

fn ec_key() -> Result<ring::signature::EcdsaKeyPair> {
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| anyhow::anyhow!("keygen"))?;
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| anyhow::anyhow!("key"))
}

/// A compact ES256 JWS of `claims`.
fn jwt(
    key: &ring::signature::EcdsaKeyPair,
    kid: &str,
    claims: &serde_json::Value,
) -> Result<String> {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let msg = format!(
        "{}.{}",
        b64(format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}"}}"#).as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = key
        .sign(&ring::rand::SystemRandom::new(), msg.as_bytes())
        .map_err(|_| anyhow::anyhow!("sign"))?;
    Ok(format!("{msg}.{}", b64(sig.as_ref())))
}

fn bearer(port: u16, method: &str, path: &str, token: &str) -> Result<u16> {
    let auth = format!("Bearer {token}");
    Ok(http_exchange(port, method, path, &[("Authorization", &auth)], "")?.status)
}

/// OpenID Connect bearer tokens: the issuer's discovery document leads to
/// its key set; signature, expiry, audience and issuer are checked; the
/// roles claim binds roles; a rotated key is picked up without a restart
/// and the retired key's tokens stop working.
#[test]
fn oidc_bearer_tokens_are_checked_against_the_issuers_keys() -> Result<()> {
    let idp = Idp::start()?;
    let (k1, k2) = (ec_key()?, ec_key()?);
    idp.publish(&[("k1", &k1)]);
    let dir = tempfile::tempdir()?;
    let (mut w, port) = start_worker(
        dir.path(),
        "127.0.0.1:1",
        &format!(
            "rest.auth.oauthbearer.expected.issuer={}\nrest.auth.oauthbearer.expected.audience=sluice\n\
             rest.auth.oauthbearer.roles.claim.name=roles\nrest.auth.oauthbearer.clock.skew.seconds=5\n",
            idp.issuer()
        ),
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let claims = |sub: &str, roles: &[&str]| {
        serde_json::json!({"iss": idp.issuer(), "aud": "sluice", "sub": sub,
            "iat": now, "exp": now + 300, "roles": roles})
    };
    let admin = jwt(&k1, "k1", &claims("ada", &["SystemAdmin"]))?;
    assert_eq!(
        bearer(port, "GET", "/connectors", &admin)?,
        200,
        "{}",
        w.log_text()
    );
    assert_eq!(bearer(port, "GET", "/admin/loggers", &admin)?, 200);
    // Roles from the token: an operator of one connector reads no loggers.
    let op = jwt(&k1, "k1", &claims("otto", &["Operator:Connector:x"]))?;
    assert_eq!(bearer(port, "GET", "/admin/loggers", &op)?, 403);
    assert_eq!(bearer(port, "GET", "/connectors/x/config", &op)?, 403);
    assert_eq!(bearer(port, "GET", "/connectors/x/status", &op)?, 404);
    // Refused: expired, another audience, another issuer, not a token.
    let mut expired = claims("ada", &["SystemAdmin"]);
    expired["exp"] = (now - 60).into();
    let mut other_aud = claims("ada", &["SystemAdmin"]);
    other_aud["aud"] = "billing".into();
    let mut other_iss = claims("ada", &["SystemAdmin"]);
    other_iss["iss"] = "http://evil.example".into();
    for c in [expired, other_aud, other_iss] {
        assert_eq!(
            bearer(port, "GET", "/connectors", &jwt(&k1, "k1", &c)?)?,
            401,
            "{c}"
        );
    }
    let a = http_exchange(
        port,
        "GET",
        "/connectors",
        &[("Authorization", "Bearer not.a.jwt")],
        "",
    )?;
    assert_eq!(a.status, 401);
    assert!(a.head.contains("Bearer realm"), "{}", a.head);
    // The provider rotates to k2: a k2 token is accepted once the worker
    // fetched the set again (at most every 10 s), k1's are refused.
    let fetched = idp.fetches.load(std::sync::atomic::Ordering::SeqCst);
    assert!(fetched >= 1);
    idp.publish(&[("k2", &k2)]);
    let new = jwt(&k2, "k2", &claims("ada", &["SystemAdmin"]))?;
    wait_until(Duration::from_secs(30), "a k2 token accepted", || {
        (bearer(port, "GET", "/connectors", &new).ok()? == 200).then_some(())
    })?;
    assert!(idp.fetches.load(std::sync::atomic::Ordering::SeqCst) > fetched);
    assert_eq!(bearer(port, "GET", "/connectors", &admin)?, 401);
    assert!(w.stop()?.success());
    let log = w.log_text();
    assert!(
        log.contains("bearer token refused") && log.contains("expired at"),
        "{log}"
    );
    Ok(())
}
