use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// A tansu broker with SQLite storage in a temporary directory, on a free
/// port; killed when dropped.
#[derive(Debug)]
pub struct Broker {
    child: Child,
    pub bootstrap: String,
    _dir: tempfile::TempDir,
}

fn tansu_binary() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("SLUICE_TANSU") {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_string());
    let p = PathBuf::from(home).join(".cache/sluice-tools/bin/tansu");
    if p.exists() {
        return Ok(p);
    }
    bail!(
        "the test broker is missing: {} does not exist. Install it with `make tools` \
         (cargo install tansu --version 0.6.0 --locked --features dynostore,libsql), or set SLUICE_TANSU",
        p.display()
    )
}

impl Broker {
    pub fn start() -> Result<Self> {
        Self::start_advertising(None)
    }

    /// A broker that tells clients to reach it on `advertised` (a proxy in
    /// front of it) instead of its own port.
    pub fn start_advertising(advertised: Option<u16>) -> Result<Self> {
        Self::start_with(advertised, false)
    }

    /// A broker that requires SASL on every connection (tansu's
    /// `--authentication`) and knows the SCRAM users `(sha512, user,
    /// password)`. Since adding a user needs an authenticated connection
    /// there, the users are added ([`crate::add_scram_user`]) to a broker
    /// without authentication first, which is then restarted on the same
    /// storage and port with it. As measured on tansu 0.6.0: SCRAM-SHA-256
    /// and -512 check the stored credentials; PLAIN is not offered, and
    /// OAUTHBEARER is accepted at the handshake but never authenticates.
    pub fn start_authenticating(users: &[(bool, &str, &str)]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = crate::free_port()?;
        let mut open = Self::spawn(dir, port, None, false)?;
        for (sha512, user, password) in users {
            crate::add_scram_user(&open.bootstrap, *sha512, user, password)?;
        }
        let _ = open.child.kill();
        let _ = open.child.wait();
        let dir = std::mem::replace(&mut open._dir, tempfile::tempdir()?);
        Self::spawn(dir, port, None, true)
    }

    fn start_with(advertised: Option<u16>, authentication: bool) -> Result<Self> {
        Self::spawn(
            tempfile::tempdir()?,
            crate::free_port()?,
            advertised,
            authentication,
        )
    }

    fn spawn(
        dir: tempfile::TempDir,
        port: u16,
        advertised: Option<u16>,
        authentication: bool,
    ) -> Result<Self> {
        let bin = tansu_binary()?;
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised = format!("tcp://127.0.0.1:{}", advertised.unwrap_or(port));
        let db = dir.path().join("tansu.db");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("tansu.log"))?;
        let child = Command::new(&bin)
            .arg("broker")
            .args([
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised,
            ])
            .arg("--storage-engine")
            .arg(format!("sqlite:///{}", db.display())) // sqlite:////abs/path
            .args(authentication.then_some("--authentication"))
            .env_remove("CLUSTER_ID")
            .env_remove("STORAGE_ENGINE")
            .env_remove("SCHEMA_REGISTRY")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut broker = Self {
            child,
            bootstrap: format!("127.0.0.1:{port}"),
            _dir: dir,
        };
        let addr = broker.bootstrap.clone();
        let child = &mut broker.child;
        crate::wait_until(Duration::from_secs(30), "the broker to listen", || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(anyhow::anyhow!("the broker exited at start: {status}")));
            }
            std::net::TcpStream::connect(&addr).ok().map(|_| Ok(()))
        })
        .and_then(|r| r)
        .map_err(|e| {
            let log =
                std::fs::read_to_string(broker._dir.path().join("tansu.log")).unwrap_or_default();
            anyhow::anyhow!("{e}; broker log:\n{log}")
        })?;
        Ok(broker)
    }
}

impl Broker {
    /// Whether the broker still accepts connections, and the end of its log: for
    /// failure messages.
    pub fn describe(&self) -> String {
        let alive = match std::net::TcpStream::connect(&self.bootstrap) {
            Ok(_) => "accepting connections".to_string(),
            Err(e) => format!("not accepting connections ({e})"),
        };
        let log = std::fs::read_to_string(self._dir.path().join("tansu.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("broker {alive}; end of its log:\n{}", tail.join("\n"))
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
