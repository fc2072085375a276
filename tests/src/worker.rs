use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The `sluice` binary built next to this test binary
/// (`target/<profile>/sluice`), or `SLUICE_BIN`.
pub fn sluice_binary() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("SLUICE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test-binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("unexpected test binary location")?;
    let bin = profile_dir.join("sluice");
    if !bin.exists() {
        bail!(
            "the worker binary {} is missing: build it first with `cargo build -p sluice-runtime --bin sluice` \
             (`make test` does), or set SLUICE_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// A running `sluice standalone` process; killed when dropped.
#[derive(Debug)]
pub struct Worker {
    child: Option<Child>,
    pub rest_port: u16,
    pub log: PathBuf,
}

impl Worker {
    /// Starts `sluice standalone worker.properties <connectors>` in `dir`,
    /// logging to `dir/<log_name>`, and waits for `GET /` to answer.
    pub fn start(
        dir: &Path,
        rest_port: u16,
        args: &[&str],
        env: &[(&str, &str)],
        log_name: &str,
    ) -> Result<Self> {
        Self::spawn(dir, rest_port, args, env, log_name)?
            .answering(Duration::from_secs(30), "the worker's REST API")
    }

    /// Starts `sluice schema-registry <config>` in `dir` and waits for its
    /// REST API on `port` (the config's `listeners`) to answer.
    pub fn start_registry(dir: &Path, port: u16, config: &Path, log_name: &str) -> Result<Self> {
        let config = config.display().to_string();
        Self::spawn_command(dir, port, "schema-registry", &[&config], &[], log_name)?
            .answering(Duration::from_secs(30), "the schema registry")
    }

    /// Starts `sluice schema-registry <config>` in `dir` with `env`, without
    /// waiting (an https registry is probed by the test itself).
    pub fn spawn_registry(
        dir: &Path,
        port: u16,
        config: &Path,
        env: &[(&str, &str)],
        log_name: &str,
    ) -> Result<Self> {
        let config = config.display().to_string();
        Self::spawn_command(dir, port, "schema-registry", &[&config], env, log_name)
    }

    /// Starts `sluice distributed <props>` in `dir` and waits for `GET /`
    /// to answer (the worker may still be joining its group).
    pub fn start_distributed(
        dir: &Path,
        rest_port: u16,
        props: &Path,
        log_name: &str,
    ) -> Result<Self> {
        let props = props.display().to_string();
        Self::spawn_command(dir, rest_port, "distributed", &[&props], &[], log_name)?
            .answering(Duration::from_secs(60), "the worker's REST API")
    }

    /// Starts `sluice distributed <props>` with extra environment (an
    /// https `CONNECT_LISTENERS`, say) without waiting for anything.
    pub fn spawn_distributed(
        dir: &Path,
        rest_port: u16,
        props: &Path,
        env: &[(&str, &str)],
        log_name: &str,
    ) -> Result<Self> {
        let props = props.display().to_string();
        Self::spawn_command(dir, rest_port, "distributed", &[&props], env, log_name)
    }

    /// Is the process still there?
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Starts the process without waiting for anything.
    pub fn spawn(
        dir: &Path,
        rest_port: u16,
        args: &[&str],
        env: &[(&str, &str)],
        log_name: &str,
    ) -> Result<Self> {
        Self::spawn_command(dir, rest_port, "standalone", args, env, log_name)
    }

    /// Starts `bin standalone ...` (a worker binary built with other
    /// connectors, like the test worker) and waits for `GET /`.
    pub fn start_binary(
        bin: &Path,
        dir: &Path,
        rest_port: u16,
        args: &[&str],
        log_name: &str,
    ) -> Result<Self> {
        Self::spawn_binary(bin, dir, rest_port, "standalone", args, &[], log_name)?
            .answering(Duration::from_secs(30), "the worker's REST API")
    }

    /// Waits up to `timeout` for `GET /` on the worker's port to answer
    /// 200; on failure the error has the exit status and the whole log.
    fn answering(mut self, timeout: Duration, what: &str) -> Result<Self> {
        let port = self.rest_port;
        let res = crate::wait_until(timeout, what, || {
            crate::http_get(port, "/").ok().filter(|(s, _)| *s == 200)
        });
        if let Err(e) = res {
            let status = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            bail!("{e} (exit status {status:?}); log:\n{}", self.log_text());
        }
        Ok(self)
    }

    fn spawn_command(
        dir: &Path,
        rest_port: u16,
        subcommand: &str,
        args: &[&str],
        env: &[(&str, &str)],
        log_name: &str,
    ) -> Result<Self> {
        let bin = sluice_binary()?;
        Self::spawn_binary(&bin, dir, rest_port, subcommand, args, env, log_name)
    }

    fn spawn_binary(
        bin: &Path,
        dir: &Path,
        rest_port: u16,
        subcommand: &str,
        args: &[&str],
        env: &[(&str, &str)],
        log_name: &str,
    ) -> Result<Self> {
        let log = dir.join(log_name);
        let f = std::fs::File::create(&log)?;
        let mut cmd = Command::new(bin);
        cmd.current_dir(dir)
            .arg(subcommand)
            .args(args)
            .env("RUST_LOG", "info")
            .env("CONNECT_LISTENERS", format!("http://127.0.0.1:{rest_port}"))
            .stdout(Stdio::from(f.try_clone()?))
            .stderr(Stdio::from(f));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        Ok(Self {
            child: Some(child),
            rest_port,
            log,
        })
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let child = self.child.as_mut().context("already stopped")?;
        let status = crate::wait_until(timeout, "the worker to exit", || {
            child.try_wait().ok().flatten()
        })?;
        self.child = None;
        Ok(status)
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        self.terminate()?;
        self.wait_exit(Duration::from_secs(30))
    }

    /// SIGTERM, without waiting.
    pub fn terminate(&self) -> Result<()> {
        let pid = self.child.as_ref().context("already stopped")?.id();
        let ok = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        if !ok.success() {
            bail!("kill -TERM {pid} failed");
        }
        Ok(())
    }

    /// SIGKILL: no chance to flush or commit.
    pub fn kill9(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill()?;
            c.wait()?;
        }
        Ok(())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.kill9();
        // For debugging a failing test: `SLUICE_TEST_PRINT_LOGS=1`.
        if std::env::var_os("SLUICE_TEST_PRINT_LOGS").is_some() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(150).collect();
            eprintln!(
                "--- end of {} ---\n{}",
                self.log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
}
