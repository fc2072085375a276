//! Throwaway databases on the machine's PostgreSQL and MariaDB, driven
//! through their command-line clients (`psql`, `mariadb`): each test
//! creates its own database and drops it when done.

use std::process::Command;

use anyhow::{Context, Result, bail};

const PG_START: &str = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
const MARIADB_START: &str =
    "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";

fn run(cmd: &mut Command, what: &str, start_hint: &str) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run the {what} client; install it (apt-get install postgresql-client mariadb-client)"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("Connection refused")
            || err.contains("Can't connect")
            || err.contains("could not connect")
            || err.contains("No such file")
        {
            bail!("{what} is not answering on 127.0.0.1 ({err}); start it with: {start_hint}");
        }
        bail!("{what}: {err}");
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A PostgreSQL database of its own on 127.0.0.1:5432 (user postgres).
#[derive(Debug)]
pub struct PgDb {
    pub name: String,
}

fn psql(db: &str, sql: &str) -> Result<String> {
    run(
        Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", db])
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
                "-A",
                "-t",
                "-F",
                "\t",
                "-c",
                sql,
            ]),
        "PostgreSQL",
        PG_START,
    )
}

impl PgDb {
    pub fn create() -> Result<Self> {
        let name = crate::unique("sluice").replace('-', "_");
        psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(Self { name })
    }

    pub fn url(&self) -> String {
        format!(
            "jdbc:postgresql://127.0.0.1:5432/{}?user=postgres",
            self.name
        )
    }

    pub fn exec(&self, sql: &str) -> Result<()> {
        psql(&self.name, sql).map(|_| ())
    }

    /// Rows as tab-separated fields.
    pub fn query(&self, sql: &str) -> Result<Vec<Vec<String>>> {
        Ok(psql(&self.name, sql)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect())
    }
}

/// Turns on logical decoding for the CDC tests when it is off: sets
/// `wal_level = logical` with ALTER SYSTEM and restarts the server with the
/// machine's start command (`make test` does the same first, so a test run
/// restarts nothing). Says what it changed. Safe to call again.
pub fn ensure_pg_logical() -> Result<()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if psql("postgres", "SHOW wal_level")?.trim() == "logical" {
        return Ok(());
    }
    eprintln!(
        "PostgreSQL: setting wal_level = logical (ALTER SYSTEM) and restarting the server for change data capture"
    );
    psql("postgres", "ALTER SYSTEM SET wal_level = logical")?;
    let restart = PG_START.replace(" start", " restart");
    run(
        Command::new("sh").args(["-c", &restart]),
        "pg_ctlcluster",
        PG_START,
    )?;
    crate::wait_until(
        std::time::Duration::from_secs(60),
        "PostgreSQL back with wal_level = logical",
        || {
            psql("postgres", "SHOW wal_level")
                .ok()
                .filter(|l| l.trim() == "logical")
        },
    )?;
    Ok(())
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Slots of this database keep it from being dropped.
        let _ = psql(
            "postgres",
            &format!(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = '{0}' AND active_pid IS NOT NULL;
                 SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '{0}' AND NOT active",
                self.name
            ),
        );
        let _ = psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// A MariaDB/MySQL database of its own on 127.0.0.1:3306 (user root).
#[derive(Debug)]
pub struct MyDb {
    pub name: String,
}

fn mariadb(db: Option<&str>, sql: &str) -> Result<String> {
    let mut cmd = Command::new("mariadb");
    cmd.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-N", "-B"]);
    if let Some(db) = db {
        cmd.arg(db);
    }
    cmd.args(["-e", sql]);
    run(&mut cmd, "MariaDB", MARIADB_START)
}

impl MyDb {
    pub fn create() -> Result<Self> {
        let name = crate::unique("sluice").replace('-', "_");
        mariadb(None, &format!("CREATE DATABASE {name}"))?;
        Ok(Self { name })
    }

    pub fn url(&self) -> String {
        format!(
            "jdbc:mysql://127.0.0.1:3306/{}?user=root&password=",
            self.name
        )
    }

    pub fn exec(&self, sql: &str) -> Result<()> {
        mariadb(Some(&self.name), sql).map(|_| ())
    }

    pub fn query(&self, sql: &str) -> Result<Vec<Vec<String>>> {
        Ok(mariadb(Some(&self.name), sql)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect())
    }
}

impl Drop for MyDb {
    fn drop(&mut self) {
        let _ = mariadb(None, &format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}
