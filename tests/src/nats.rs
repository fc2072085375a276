//! NATS for the tests: a `nats-server` with JetStream of the test's own
//! (the machine's binary, a free port, its store in a temporary
//! directory, so it can be restarted without touching the machine's
//! server on 4222) and a real client to make streams, publish and read.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_nats::jetstream;
use futures::StreamExt;

const NATS_SERVER: &str = "/usr/sbin/nats-server";

/// A JetStream server on a free port; killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
    /// How the test's own client reaches a TLS server.
    client_tls: Option<Arc<rustls::ClientConfig>>,
    _dir: tempfile::TempDir,
}

/// One message read from a stream.
#[derive(Debug, Clone)]
pub struct NatsMessage {
    pub subject: String,
    pub payload: Vec<u8>,
    pub msg_id: Option<String>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

impl NatsServer {
    /// With `user`, only that user and password may connect.
    pub fn start(user: Option<(&str, &str)>) -> Result<Self> {
        if !std::path::Path::new(NATS_SERVER).exists() {
            bail!("{NATS_SERVER} is missing: install it (apt-get install nats-server)");
        }
        let dir = tempfile::tempdir()?;
        let port = crate::free_port()?;
        let mut args = vec![
            "-a".to_string(),
            "127.0.0.1".to_string(),
            "-p".to_string(),
            port.to_string(),
            "-js".to_string(),
            "-sd".to_string(),
            dir.path().display().to_string(),
            "-l".to_string(),
            dir.path().join("nats.log").display().to_string(),
        ];
        if let Some((u, p)) = user {
            args.extend([
                "--user".to_string(),
                u.to_string(),
                "--pass".to_string(),
                p.to_string(),
            ]);
        }
        let mut s = Self {
            child: None,
            port,
            args,
            client_tls: None,
            _dir: dir,
        };
        s.spawn()?;
        Ok(s)
    }

    /// A server that speaks TLS only, serving `server` (chain and key PEM,
    /// signed by `ca_pem`); with `client`, it verifies client
    /// certificates against `ca_pem`, and the test's own client presents
    /// `client`.
    pub fn start_tls(
        ca_pem: &str,
        server: &(String, String),
        client: Option<&(String, String)>,
    ) -> Result<Self> {
        let mut s = Self::start(None)?;
        s.stop()?;
        let dir = s._dir.path().to_path_buf();
        let write = |name: &str, text: &str| -> Result<String> {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            Ok(path.display().to_string())
        };
        let cert = write("server.pem", &server.0)?;
        let key = write("server.key", &server.1)?;
        s.args.extend([
            "--tls".into(),
            "--tlscert".into(),
            cert,
            "--tlskey".into(),
            key,
        ]);
        let mut props = BTreeMap::new();
        props.insert(
            "ssl.truststore.certificates".to_string(),
            ca_pem.to_string(),
        );
        if let Some((chain, key)) = client {
            let ca = write("clients-ca.pem", ca_pem)?;
            s.args
                .extend(["--tlsverify".into(), "--tlscacert".into(), ca]);
            props.insert("ssl.keystore.certificate.chain".to_string(), chain.clone());
            props.insert("ssl.keystore.key".to_string(), key.clone());
        }
        let p = sluice_runtime::tls::SslProps::new(&props, sluice_runtime::tls::Scope::Prefix(""));
        s.client_tls =
            Some(sluice_runtime::tls::client_config_of(&p).map_err(|e| anyhow::anyhow!(e))?);
        s.spawn()?;
        Ok(s)
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()?;
            crate::wait_until(Duration::from_secs(20), "nats-server to exit", || {
                child.try_wait().ok().flatten()
            })?;
        }
        Ok(())
    }

    fn spawn(&mut self) -> Result<()> {
        let child = Command::new(NATS_SERVER)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nats-server")?;
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        let child = self.child.as_mut().context("no child")?;
        crate::wait_until(Duration::from_secs(20), "nats-server to listen", || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(anyhow::anyhow!(
                    "nats-server exited at start: {status}"
                )));
            }
            std::net::TcpStream::connect(&addr).ok().map(|_| Ok(()))
        })?
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGTERM, JetStream state kept on disk) and starts it again.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.spawn()
    }

    fn log_path(&self) -> PathBuf {
        self._dir.path().join("nats.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A client of this server.
    pub fn client(&self) -> NatsClient {
        NatsClient {
            port: self.port,
            tls: self.client_tls.clone(),
        }
    }
}

/// A JetStream client of the server on `port`.
#[derive(Debug, Clone)]
pub struct NatsClient {
    pub port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl NatsClient {
    async fn js(&self) -> Result<jetstream::Context> {
        let mut o = async_nats::ConnectOptions::new();
        if let Some(tls) = &self.tls {
            o = o.tls_client_config((**tls).clone()).require_tls(true);
        }
        let client = o.connect(format!("nats://127.0.0.1:{}", self.port)).await?;
        Ok(jetstream::new(client))
    }

    /// A file-backed stream taking `subjects`.
    pub fn create_stream(&self, name: &str, subjects: &[&str]) -> Result<()> {
        let config = jetstream::stream::Config {
            name: name.to_string(),
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            ..jetstream::stream::Config::default()
        };
        runtime()?.block_on(async {
            self.js().await?.create_stream(config).await?;
            anyhow::Ok(())
        })
    }

    /// Publishes and waits for every acknowledgement, at most `per_second`
    /// messages a second when given.
    pub fn publish(&self, messages: Vec<(String, Vec<u8>)>, per_second: Option<u32>) -> Result<()> {
        runtime()?.block_on(async {
            let js = self.js().await?;
            let started = tokio::time::Instant::now();
            let mut acks = Vec::new();
            for (i, (subject, payload)) in messages.into_iter().enumerate() {
                if let Some(rate) = per_second
                    && i % 50 == 0
                {
                    let due = started + Duration::from_secs_f64(i as f64 / f64::from(rate.max(1)));
                    tokio::time::sleep_until(due).await;
                }
                acks.push(js.publish(subject, payload.into()).await?);
                if acks.len() >= 200 {
                    for a in acks.drain(..) {
                        a.await?;
                    }
                }
            }
            for a in acks {
                a.await?;
            }
            anyhow::Ok(())
        })
    }

    /// The number of messages a stream holds.
    pub fn stream_messages(&self, name: &str) -> Result<u64> {
        runtime()?.block_on(async {
            let mut s = self.js().await?.get_stream(name).await?;
            Ok(s.info().await?.state.messages)
        })
    }

    /// Every message of a stream, from the start.
    pub fn read(&self, stream: &str, n: usize) -> Result<Vec<NatsMessage>> {
        runtime()?.block_on(async {
            let s = self.js().await?.get_stream(stream).await?;
            let consumer = s
                .create_consumer(jetstream::consumer::pull::Config {
                    ack_policy: jetstream::consumer::AckPolicy::None,
                    ..Default::default()
                })
                .await?;
            let mut messages = consumer.messages().await?;
            let mut out = Vec::new();
            while out.len() < n {
                let Ok(Some(m)) =
                    tokio::time::timeout(Duration::from_secs(3), messages.next()).await
                else {
                    break;
                };
                let m = m.map_err(|e| anyhow::anyhow!("{e}"))?;
                out.push(NatsMessage {
                    subject: m.subject.to_string(),
                    payload: m.payload.to_vec(),
                    msg_id: m
                        .headers
                        .as_ref()
                        .and_then(|h| h.get("Nats-Msg-Id"))
                        .map(|v| v.as_str().to_string()),
                });
            }
            anyhow::Ok(out)
        })
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
