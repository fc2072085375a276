//! SASL/OAUTHBEARER with OIDC client credentials (KIP-768), issue 21: a
//! standalone worker configured with Kafka Connect's keys
//! (`sasl.oauthbearer.token.endpoint.url`, `OAuthBearerLoginModule` with
//! `clientId`, `clientSecret`, `scope`), which librdkafka (built with
//! libcurl) gets as its OIDC settings, fetches a token from an identity
//! provider on loopback (client id and secret in HTTP basic auth,
//! `grant_type=client_credentials`) and authenticates every client
//! (admin, producer) with it to a token-checking SASL proxy in front of
//! the broker (tansu cannot check tokens); its records are read back
//! through the proxy with the same token. A worker with a wrong client
//! secret gets no token, writes nothing and says why; neither logs the
//! secret or the token.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use base64::Engine;
use rdkafka::ClientContext;
use rdkafka::client::OAuthToken;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use sluice_tests::sasl_proxy::SaslProxy;
use sluice_tests::*;

const SECRET: &str = "s3cr3t-OIDC";

/// A token endpoint: `client_credentials` for client `app` with
/// [`SECRET`] and scope `kafka` gets `token`; anything else a 401.
struct TokenEndpoint {
    port: u16,
    granted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl TokenEndpoint {
    fn start(token: String) -> Result<Self> {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = l.local_addr()?.port();
        let granted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (g, r) = (granted.clone(), requests.clone());
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("app:{SECRET}"))
        );
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let mut reader = BufReader::new(&conn);
                let (mut first, mut line) = (String::new(), String::new());
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let (mut auth, mut length) = (String::new(), 0usize);
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    let lower = line.to_ascii_lowercase();
                    if lower.starts_with("authorization:") {
                        auth = line[14..].trim().to_string();
                    } else if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0u8; length.min(64 * 1024)];
                let _ = reader.read_exact(&mut body);
                let body = String::from_utf8_lossy(&body).into_owned();
                if let Ok(mut r) = r.lock() {
                    r.push(format!("{} {body}", first.trim()));
                }
                let ok = first.starts_with("POST /token ")
                    && auth == want
                    && body.contains("grant_type=client_credentials")
                    && body.contains("scope=kafka");
                let (status, answer) = if ok {
                    g.fetch_add(1, Ordering::SeqCst);
                    (
                        "200 OK",
                        format!(
                            r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":3600}}"#
                        ),
                    )
                } else {
                    (
                        "401 Unauthorized",
                        r#"{"error":"invalid_client"}"#.to_string(),
                    )
                };
                let _ = (&conn).write_all(
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                        answer.len()
                    )
                    .as_bytes(),
                );
            }
        });
        Ok(Self {
            port,
            granted,
            requests,
        })
    }
}

/// A test reader that authenticates with a known token.
struct Bearer(String);

impl ClientContext for Bearer {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        Ok(OAuthToken {
            token: self.0.clone(),
            principal_name: "reader".into(),
            lifetime_ms: i64::try_from(now)? + 3_600_000,
        })
    }
}

impl ConsumerContext for Bearer {}

fn read_with_token(
    port: u16,
    token: &str,
    topic: &str,
    n: usize,
    within: Duration,
) -> Result<Vec<String>> {
    let c: BaseConsumer<Bearer> = ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{port}"))
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", "OAUTHBEARER")
        .set("group.id", unique("oauth-reader"))
        .set("enable.auto.commit", "false")
        .create_with_context(Bearer(token.to_string()))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
    c.assign(&tpl)?;
    let mut out = Vec::new();
    let start = Instant::now();
    while out.len() < n && start.elapsed() < within {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
        }
    }
    Ok(out)
}

fn worker_props(idp: u16, secret: &str) -> String {
    format!(
        "security.protocol=SASL_PLAINTEXT\n\
         sasl.mechanism=OAUTHBEARER\n\
         sasl.oauthbearer.token.endpoint.url=http://127.0.0.1:{idp}/token\n\
         sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"app\" clientSecret=\"{secret}\" scope=\"kafka\";\n\
         sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler\n"
    )
}

/// A token as an identity provider issues it: librdkafka reads its
/// principal (`sub`) and expiry (`exp`).
fn jwt() -> String {
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"sub":"svc-connect","exp":4102444800,"iat":1700000000}"#);
    format!("eyJhbGciOiJub25lIn0.{claims}.sig")
}

/// The arguments of a standalone worker whose FileStreamSource reads
/// `input` into `topic` through the proxy, logging in with `secret`.
fn source_worker_args(
    dir: &std::path::Path,
    proxy_port: u16,
    idp: u16,
    secret: &str,
    input: &std::path::Path,
    topic: &str,
) -> Result<[String; 2]> {
    let props = write_worker_props(
        dir,
        &format!("127.0.0.1:{proxy_port}"),
        &worker_props(idp, secret),
    )?;
    let conn = write_file(
        dir,
        "source.properties",
        &format!(
            "name=src\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n",
            input.display()
        ),
    )?;
    Ok([props.display().to_string(), conn.display().to_string()])
}

#[test]
fn a_worker_authenticates_with_an_oidc_token() -> Result<()> {
    let token = jwt();
    let idp = TokenEndpoint::start(token.clone())?;
    let proxy_port = free_port()?;
    let broker = Broker::start_advertising(Some(proxy_port))?;
    let proxy = SaslProxy::start(proxy_port, &broker.bootstrap, vec![token.clone()])?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.txt");
    let lines = numbered("oauth", 0, 10);
    append_lines(&input, &lines)?;
    let topic = unique("oauth");
    let bad_topic = unique("oauth-bad");
    // The test's admin client cannot do OAUTHBEARER: topics are made
    // while the proxy lets anyone through, then it checks tokens.
    proxy.set_open(true);
    create_topic(&broker.bootstrap, &topic)?;
    create_topic(&broker.bootstrap, &bad_topic)?;
    proxy.set_open(false);

    let rest = free_port()?;
    let [props, conn] =
        source_worker_args(dir.path(), proxy_port, idp.port, SECRET, &input, &topic)?;
    let w = Worker::start(dir.path(), rest, &[&props, &conn], &[], "worker.log")?;
    let got = wait_until(
        Duration::from_secs(60),
        "10 records read with the token",
        || {
            read_with_token(proxy_port, &token, &topic, 10, Duration::from_secs(20))
                .ok()
                .filter(|r| r.len() == 10)
        },
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{e}; token requests {:?}, proxy accepted {} refused {:?}; worker log:\n{}",
            idp.requests.lock().map(|r| r.clone()).unwrap_or_default(),
            proxy.accepted(),
            proxy.refused(),
            w.log_text()
        )
    })?;
    assert_eq!(got, lines);
    assert!(idp.granted.load(Ordering::SeqCst) > 0);
    // The worker's connections and the reader's went through the token check.
    assert!(proxy.accepted() >= 2, "{}", proxy.accepted());
    assert!(proxy.refused().is_empty(), "{:?}", proxy.refused());
    let log = w.log_text();
    assert!(!log.contains(SECRET), "the client secret was logged");
    assert!(!log.contains(&token), "the token was logged");
    drop(w);

    // A wrong client secret: no token, nothing written, and the reason.
    let dir2 = tempfile::tempdir()?;
    let rest2 = free_port()?;
    let [props2, conn2] = source_worker_args(
        dir2.path(),
        proxy_port,
        idp.port,
        "not-the-secret",
        &input,
        &bad_topic,
    )?;
    let bad = Worker::spawn(dir2.path(), rest2, &[&props2, &conn2], &[], "bad.log")?;
    wait_until(
        Duration::from_secs(60),
        "the token refusal in the log",
        || {
            let log = bad.log_text();
            (log.contains("Failed to retrieve OIDC token") && log.contains("(401)")).then_some(())
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", bad.log_text()))?;
    assert!(
        read_with_token(proxy_port, &token, &bad_topic, 1, Duration::from_secs(5))?.is_empty(),
        "records written without a token"
    );
    assert!(!bad.log_text().contains("not-the-secret"));
    Ok(())
}

/// Distributed mode: the group client authenticates with its own OIDC
/// login (the same keys), librdkafka's clients with theirs, all through
/// the token-checking proxy.
#[test]
fn a_distributed_worker_joins_its_group_with_an_oidc_token() -> Result<()> {
    let token = jwt();
    let idp = TokenEndpoint::start(token.clone())?;
    let proxy_port = free_port()?;
    let broker = Broker::start_advertising(Some(proxy_port))?;
    let proxy = SaslProxy::start(proxy_port, &broker.bootstrap, vec![token.clone()])?;
    let dir = tempfile::tempdir()?;
    let props = sluice_tests::cluster::write_distributed_props(
        dir.path(),
        &format!("127.0.0.1:{proxy_port}"),
        &unique("oauth-group"),
        0,
        &worker_props(idp.port, SECRET),
    )?;
    let port = free_port()?;
    let w = Worker::start_distributed(dir.path(), port, &props, "d.log")?;
    let topic = unique("doauth");
    let body = serde_json::json!({"name": "doauth", "config": {"connector.class": "DataGen",
        "tasks.max": "1", "topic": topic, "records.per.second": "20", "max.records": "5"}});
    let (code, resp) = sluice_tests::cluster::rest(port, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 201, "{resp}");
    sluice_tests::cluster::wait_running(port, "doauth", 1, &[], Duration::from_secs(90))
        .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    let got = wait_until(
        Duration::from_secs(60),
        "5 records read with the token",
        || {
            read_with_token(proxy_port, &token, &topic, 5, Duration::from_secs(10))
                .ok()
                .filter(|r| r.len() == 5)
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; worker log:\n{}", w.log_text()))?;
    assert_eq!(got.len(), 5);
    assert!(proxy.refused().is_empty(), "{:?}", proxy.refused());
    // librdkafka's login and the group client's each asked for a token.
    assert!(idp.granted.load(Ordering::SeqCst) >= 2);
    let log = w.log_text();
    assert!(!log.contains(SECRET) && !log.contains(&token));
    Ok(())
}

/// A token the brokers refuse (the proxy answers as Kafka does: the JSON
/// status, the client's `\x01`, then error 58) stops a distributed worker
/// at start with the reason.
#[test]
fn a_refused_token_stops_a_distributed_worker_with_the_reason() -> Result<()> {
    let idp = TokenEndpoint::start("eyJhbGciOiJub25lIn0.e30.not-accepted".to_string())?;
    let proxy_port = free_port()?;
    let broker = Broker::start_advertising(Some(proxy_port))?;
    let proxy = SaslProxy::start(proxy_port, &broker.bootstrap, vec!["another".to_string()])?;
    let dir = tempfile::tempdir()?;
    let props = sluice_tests::cluster::write_distributed_props(
        dir.path(),
        &format!("127.0.0.1:{proxy_port}"),
        &unique("oauth-refused"),
        0,
        &worker_props(idp.port, SECRET),
    )?;
    let mut w = Worker::spawn_distributed(dir.path(), free_port()?, &props, &[], "d.log")?;
    let status = w.wait_exit(Duration::from_secs(60))?;
    assert!(!status.success());
    let log = w.log_text();
    assert!(
        log.contains("cannot authenticate to the Kafka brokers")
            && log.contains("the broker refused the token")
            && log.contains("invalid_token"),
        "{log}"
    );
    assert!(!proxy.refused().is_empty());
    Ok(())
}
