//! MQTT for the tests: a Mosquitto of the test's own (the machine's
//! binary, a project config, a free port, persistence in a temporary
//! directory) and a real MQTT client to publish and subscribe with.
//!
//! The machine's Mosquitto on 1883 keeps its default limits (1,000
//! queued messages per offline client, 20 in flight), which a 10,000-
//! message kill test would hit; each test starts its own instead.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// A Mosquitto broker on a free port; stopped when dropped.
#[derive(Debug)]
pub struct Mosquitto {
    child: Option<Child>,
    pub port: u16,
    /// The TLS listener's port, when started with one.
    pub tls_port: Option<u16>,
    conf: PathBuf,
    dir: tempfile::TempDir,
}

const MOSQUITTO: &str = "/usr/sbin/mosquitto";

impl Mosquitto {
    /// Anonymous access, unlimited queues, up to `inflight` QoS 1/2
    /// messages in flight per client.
    pub fn start(inflight: u32) -> Result<Self> {
        Self::start_on(crate::free_port()?, inflight, None)
    }

    /// On `port`; with `user`, only that user with that password may
    /// connect.
    pub fn start_on(port: u16, inflight: u32, user: Option<(&str, &str)>) -> Result<Self> {
        Self::start_with(port, inflight, user, None)
    }

    /// Anonymous access on `port` in plain text (for the test's own
    /// clients) and on a second port, `tls_port`, over TLS only: the
    /// broker serves `server` (chain and key PEM) and, with
    /// `client_ca`, requires client certificates signed by that CA.
    pub fn start_tls(
        inflight: u32,
        server: &(String, String),
        client_ca: Option<&str>,
    ) -> Result<Self> {
        Self::start_with(
            crate::free_port()?,
            inflight,
            None,
            Some((server, client_ca)),
        )
    }

    fn start_with(
        port: u16,
        inflight: u32,
        user: Option<(&str, &str)>,
        tls: Option<(&(String, String), Option<&str>)>,
    ) -> Result<Self> {
        if !std::path::Path::new(MOSQUITTO).exists() {
            bail!(
                "{MOSQUITTO} is missing: install Mosquitto (apt-get install mosquitto mosquitto-clients)"
            );
        }
        let dir = tempfile::tempdir()?;
        let mut conf = format!(
            "listener {port} 127.0.0.1\n\
             user root\n\
             persistence true\n\
             persistence_location {}/\n\
             max_queued_messages 0\n\
             max_inflight_messages {inflight}\n\
             log_dest file {}/mosquitto.log\n\
             log_type error\nlog_type warning\nlog_type notice\n",
            dir.path().display(),
            dir.path().display()
        );
        match user {
            Some((name, password)) => {
                let file = dir.path().join("passwords");
                let out = Command::new("mosquitto_passwd")
                    .arg("-c")
                    .arg("-b")
                    .arg(&file)
                    .args([name, password])
                    .output()
                    .context("mosquitto_passwd (apt-get install mosquitto)")?;
                anyhow::ensure!(out.status.success(), "mosquitto_passwd: {out:?}");
                conf.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    file.display()
                ));
            }
            None => conf.push_str("allow_anonymous true\n"),
        }
        let mut tls_port = None;
        if let Some(((chain, key), client_ca)) = tls {
            let p = crate::free_port()?;
            tls_port = Some(p);
            let write = |name: &str, text: &str| -> Result<String> {
                let path = dir.path().join(name);
                std::fs::write(&path, text)?;
                Ok(path.display().to_string())
            };
            let certfile = write("server.pem", chain)?;
            let keyfile = write("server.key", key)?;
            conf.push_str(&format!(
                "listener {p} 127.0.0.1\ncertfile {certfile}\nkeyfile {keyfile}\n"
            ));
            if let Some(ca) = client_ca {
                let cafile = write("clients-ca.pem", ca)?;
                conf.push_str(&format!("cafile {cafile}\nrequire_certificate true\n"));
            }
        }
        let conf_path = dir.path().join("mosquitto.conf");
        std::fs::write(&conf_path, conf)?;
        let mut m = Self {
            child: None,
            port,
            tls_port,
            conf: conf_path,
            dir,
        };
        m.spawn()?;
        Ok(m)
    }

    fn spawn(&mut self) -> Result<()> {
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start mosquitto")?;
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        let child = self.child.as_mut().context("no child")?;
        crate::wait_until(Duration::from_secs(20), "mosquitto to listen", || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(anyhow::anyhow!("mosquitto exited at start: {status}")));
            }
            std::net::TcpStream::connect(&addr).ok().map(|_| Ok(()))
        })?
    }

    pub fn uri(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Stops the broker cleanly (SIGTERM: it saves its sessions and
    /// queued messages) and waits for it to exit.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status()?;
            crate::wait_until(Duration::from_secs(20), "mosquitto to exit", || {
                child.try_wait().ok().flatten()
            })?;
        }
        Ok(())
    }

    /// Stops and starts it again on the same port, sessions kept.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.spawn()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Publishes `(topic, payload)` pairs at QoS 1 with a clean session and
/// returns once the broker acknowledged every one.
pub fn mqtt_publish(port: u16, messages: Vec<(String, Vec<u8>)>) -> Result<()> {
    mqtt_publish_paced(port, messages, None)
}

/// [`mqtt_publish`], at most `per_second` messages a second when given.
pub fn mqtt_publish_paced(
    port: u16,
    messages: Vec<(String, Vec<u8>)>,
    per_second: Option<u32>,
) -> Result<()> {
    runtime()?.block_on(async move {
        let mut o = MqttOptions::new(crate::unique("pub"), "127.0.0.1", port);
        o.set_max_packet_size(1 << 20, 1 << 20);
        o.set_inflight(200);
        let (client, mut events) = AsyncClient::new(o, 1000);
        let total = messages.len();
        let sender = tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            for (i, (t, p)) in messages.into_iter().enumerate() {
                if let Some(rate) = per_second
                    && i % 50 == 0
                {
                    let due = started + Duration::from_secs_f64(i as f64 / f64::from(rate.max(1)));
                    tokio::time::sleep_until(due).await;
                }
                client.publish(t, QoS::AtLeastOnce, false, p).await?;
            }
            anyhow::Ok(client)
        });
        let mut acked = 0usize;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while acked < total {
            let ev = tokio::time::timeout_at(deadline, events.poll())
                .await
                .context("publishing took over 120 s")?
                .context("publisher connection")?;
            if let Event::Incoming(Packet::PubAck(_)) = ev {
                acked += 1;
            }
        }
        let client = sender.await??;
        client.disconnect().await?;
        // Let the DISCONNECT leave.
        let _ = tokio::time::timeout(Duration::from_millis(500), events.poll()).await;
        Ok(())
    })
}

/// Messages a subscriber received: (MQTT topic, payload).
pub(crate) type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A subscriber that keeps its session across reconnects (fixed client
/// id, clean session off, QoS 1) and collects every payload it gets.
#[derive(Debug)]
pub struct MqttSubscriber {
    received: Received,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MqttSubscriber {
    /// Connects, subscribes to `filter` and waits for the SUBACK.
    pub fn start(port: u16, filter: &str) -> Result<Self> {
        let received: Received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (r, s, filter) = (received.clone(), stop.clone(), filter.to_string());
        let id = crate::unique("sub");
        let thread = std::thread::spawn(move || {
            let Ok(rt) = runtime() else { return };
            rt.block_on(async move {
                let mut o = MqttOptions::new(id, "127.0.0.1", port);
                o.set_clean_session(false);
                o.set_max_packet_size(1 << 20, 1 << 20);
                let (client, mut events) = AsyncClient::new(o, 1000);
                let _ = client.subscribe(filter, QoS::AtLeastOnce).await;
                let mut ready = Some(ready_tx);
                while !s.load(std::sync::atomic::Ordering::Relaxed) {
                    match tokio::time::timeout(Duration::from_millis(200), events.poll()).await {
                        Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                            if let Some(tx) = ready.take() {
                                let _ = tx.send(());
                            }
                        }
                        Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                            if let Ok(mut g) = r.lock() {
                                g.push((p.topic.clone(), p.payload.to_vec()));
                            }
                        }
                        Ok(Ok(_)) | Err(_) => {}
                        // The broker went away: poll again reconnects.
                        Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
                    }
                }
            });
        });
        ready_rx
            .recv_timeout(Duration::from_secs(20))
            .context("the test subscriber got no SUBACK within 20 s")?;
        Ok(Self {
            received,
            stop,
            thread: Some(thread),
        })
    }

    /// The MQTT topics of the messages received so far.
    pub fn topics(&self) -> Vec<String> {
        self.received
            .lock()
            .map(|g| g.iter().map(|(t, _)| t.clone()).collect())
            .unwrap_or_default()
    }

    /// The payloads received so far, as text.
    pub fn payloads(&self) -> Vec<String> {
        self.received
            .lock()
            .map(|g| {
                g.iter()
                    .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for MqttSubscriber {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
