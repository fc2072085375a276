//! Helpers for tests of distributed mode: worker files for one group, REST
//! calls that retry while the group rebalances (409), status polling.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// Writes `w<index>.properties` for a worker of group `group`: internal
/// topics named after the group, String converters, short timeouts so
/// tests run fast; `extra` lines are appended. The sinks' consumer session
/// is as short as the workers' (6 s): tansu does not rebalance a consumer
/// group when a member's session expires, so a sink task that moves after
/// a `kill -9` must join after the dead worker's consumer expired, or the
/// partitions stay with the dead consumer.
pub fn write_distributed_props(
    dir: &Path,
    bootstrap: &str,
    group: &str,
    index: usize,
    extra: &str,
) -> Result<PathBuf> {
    let p = dir.join(format!("w{index}.properties"));
    let text = format!(
        "bootstrap.servers={bootstrap}\n\
         group.id={group}\n\
         config.storage.topic={group}-configs\n\
         offset.storage.topic={group}-offsets\n\
         status.storage.topic={group}-status\n\
         offset.storage.partitions=5\n\
         status.storage.partitions=3\n\
         offset.storage.dir={}\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         offset.flush.interval.ms=1000\n\
         session.timeout.ms=6000\n\
         heartbeat.interval.ms=1000\n\
         scheduled.rebalance.max.delay.ms=2000\n\
         consumer.session.timeout.ms=6000\n\
         consumer.heartbeat.interval.ms=1000\n{extra}\n",
        dir.join(format!("state{index}")).display()
    );
    std::fs::write(&p, text)?;
    Ok(p)
}

/// A REST call that retries while the answer is 409 (a rebalance that
/// outlasted the worker's own 90 s wait, or a leader that moved twice) or
/// the worker is unreachable, for up to 150 s.
pub fn rest(port: u16, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
    let start = Instant::now();
    let window = Duration::from_secs(150);
    loop {
        match crate::http_request(port, method, path, body) {
            Ok((409, b)) if start.elapsed() < window && !b.contains("already exists") => {}
            Ok(r) => return Ok(r),
            Err(e) if start.elapsed() > window => return Err(e),
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `(task id, state, worker_id)` of every task of a connector, as one
/// worker reports them.
pub fn task_states(port: u16, name: &str) -> Vec<(u64, String, String)> {
    let Some(st) = crate::connector_status(port, name) else {
        return Vec::new();
    };
    st["tasks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        t["id"].as_u64().unwrap_or(u64::MAX),
                        t["state"].as_str().unwrap_or("").to_string(),
                        t["worker_id"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `name` has `tasks` tasks, all RUNNING, none on a worker in
/// `not_on`; returns the task → worker map.
pub fn wait_running(
    port: u16,
    name: &str,
    tasks: usize,
    not_on: &[String],
    timeout: Duration,
) -> Result<Vec<(u64, String)>> {
    let start = Instant::now();
    loop {
        let st = task_states(port, name);
        if st.len() == tasks
            && st
                .iter()
                .all(|(_, s, w)| s == "RUNNING" && !not_on.contains(w))
        {
            return Ok(st.into_iter().map(|(i, _, w)| (i, w)).collect());
        }
        if start.elapsed() > timeout {
            bail!("{name}: tasks not all RUNNING (and off {not_on:?}) within {timeout:?}: {st:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
