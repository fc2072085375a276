//! The status topic: every worker writes the states of what it runs
//! (`status-connector-<c>`, `status-task-<c>-<n>`, values
//! `{"state":..,"trace":..,"worker_id":..,"generation":..}` as Kafka
//! Connect) and reads everyone's, so any worker answers any status.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use serde_json::{Value, json};

use crate::status::{State, StateInfo, StatusUpdate};

/// The key of a connector's (`task` = `None`) or task's status.
pub fn status_key(connector: &str, task: Option<u32>) -> String {
    match task {
        None => format!("status-connector-{connector}"),
        Some(t) => format!("status-task-{connector}-{t}"),
    }
}

/// The record value of a state written in group generation `generation`.
pub fn status_value(info: &StateInfo, generation: i32) -> Vec<u8> {
    let mut v = json!({
        "state": state_name(info.state),
        "trace": info.trace,
        "worker_id": info.worker_id,
        "generation": generation,
    });
    if info.restarts > 0
        && let Some(o) = v.as_object_mut()
    {
        o.insert("restarts".into(), info.restarts.into());
        if let Some(n) = info.next_restart_ms {
            o.insert("next_restart_ms".into(), n.into());
        }
    }
    v.to_string().into_bytes()
}

/// The (key, value) of a local state change.
pub fn update_record(u: &StatusUpdate, generation: i32) -> (String, Vec<u8>) {
    (
        status_key(&u.connector, u.task),
        status_value(&u.info, generation),
    )
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Unassigned => "UNASSIGNED",
        State::Running => "RUNNING",
        State::Paused => "PAUSED",
        State::Failed => "FAILED",
        State::Restarting => "RESTARTING",
        State::Stopped => "STOPPED",
    }
}

fn parse_state(s: &str) -> Option<State> {
    Some(match s {
        "UNASSIGNED" => State::Unassigned,
        "RUNNING" => State::Running,
        "PAUSED" => State::Paused,
        "FAILED" => State::Failed,
        "RESTARTING" => State::Restarting,
        "STOPPED" => State::Stopped,
        _ => return None,
    })
}

fn parse_value(v: &[u8]) -> Result<(StateInfo, i32), String> {
    let v: Value = serde_json::from_slice(v).map_err(|e| format!("not JSON: {e}"))?;
    let state = v
        .get("state")
        .and_then(Value::as_str)
        .and_then(parse_state)
        .ok_or("no known \"state\"")?;
    let worker_id = v
        .get("worker_id")
        .and_then(Value::as_str)
        .ok_or("no \"worker_id\"")?
        .to_string();
    let generation = v
        .get("generation")
        .and_then(Value::as_i64)
        .and_then(|g| i32::try_from(g).ok())
        .unwrap_or(-1);
    Ok((
        StateInfo {
            state,
            worker_id,
            trace: v.get("trace").and_then(Value::as_str).map(str::to_string),
            restarts: v
                .get("restarts")
                .and_then(Value::as_u64)
                .and_then(|r| u32::try_from(r).ok())
                .unwrap_or(0),
            next_restart_ms: v.get("next_restart_ms").and_then(Value::as_i64),
        },
        generation,
    ))
}

/// Every status record read, by key.
#[derive(Debug, Default)]
pub struct ClusterStatus {
    entries: RwLock<BTreeMap<String, (StateInfo, i32)>>,
}

impl ClusterStatus {
    /// Applies one record. A state written by another worker in an older
    /// generation than the one shown does not replace it (a former owner
    /// reporting late that it stopped).
    pub fn apply(&self, key: &str, value: Option<&[u8]>) -> Result<(), String> {
        let mut e = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let Some(v) = value else {
            e.remove(key);
            return Ok(());
        };
        let (info, generation) = parse_value(v).map_err(|m| format!("status record {key}: {m}"))?;
        // RUNNING always wins (the worker that writes it runs the task
        // now); other states of another worker from an older generation
        // are a former owner reporting late.
        if let Some((old, old_gen)) = e.get(key)
            && info.state != State::Running
            && old.worker_id != info.worker_id
            && *old_gen > generation
        {
            return Ok(());
        }
        e.insert(key.to_string(), (info, generation));
        Ok(())
    }

    pub fn connector(&self, name: &str) -> Option<StateInfo> {
        self.get(&status_key(name, None))
    }

    pub fn task(&self, name: &str, task: u32) -> Option<StateInfo> {
        self.get(&status_key(name, Some(task)))
    }

    fn get(&self, key: &str) -> Option<StateInfo> {
        self.entry(key).map(|(i, _)| i)
    }

    /// A connector's (`task` = `None`) or task's record with the generation
    /// it was written in.
    pub fn record(&self, name: &str, task: Option<u32>) -> Option<(StateInfo, i32)> {
        self.entry(&status_key(name, task))
    }

    fn entry(&self, key: &str) -> Option<(StateInfo, i32)> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Keys of a connector's status records (its own and its tasks').
    pub fn keys_of(&self, name: &str) -> Vec<String> {
        let own = status_key(name, None);
        let task_prefix = format!("status-task-{name}-");
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .filter(|k| {
                **k == own
                    || k.strip_prefix(&task_prefix)
                        .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(state: State, worker: &str) -> StateInfo {
        StateInfo {
            state,
            worker_id: worker.into(),
            trace: None,
            restarts: 0,
            next_restart_ms: None,
        }
    }

    #[test]
    fn values_have_kafka_connects_layout() {
        assert_eq!(status_key("c", None), "status-connector-c");
        assert_eq!(status_key("c", Some(2)), "status-task-c-2");
        assert_eq!(
            String::from_utf8(status_value(&info(State::Running, "h:8083"), 4)).unwrap(),
            r#"{"state":"RUNNING","trace":null,"worker_id":"h:8083","generation":4}"#
        );
    }

    #[test]
    fn older_generations_of_other_workers_do_not_win() {
        let s = ClusterStatus::default();
        let put = |i: &StateInfo, g| {
            s.apply("status-task-c-0", Some(&status_value(i, g)))
                .unwrap()
        };
        put(&info(State::Running, "b"), 5);
        put(&info(State::Unassigned, "a"), 4);
        assert_eq!(s.task("c", 0).unwrap().worker_id, "b");
        put(&info(State::Failed, "b"), 5);
        assert_eq!(s.task("c", 0).unwrap().state, State::Failed);
        put(&info(State::Running, "a"), 6);
        assert_eq!(s.task("c", 0).unwrap().worker_id, "a");
        // RUNNING wins even from a lower generation (generations restart
        // when a group is recreated).
        put(&info(State::Running, "b"), 1);
        assert_eq!(s.task("c", 0).unwrap().worker_id, "b");
        assert_eq!(s.keys_of("c"), vec!["status-task-c-0".to_string()]);
        s.apply("status-task-c-0", None).unwrap();
        assert!(s.task("c", 0).is_none());
        assert!(
            s.apply("status-task-c-0", Some(b"{}"))
                .unwrap_err()
                .contains("status-task-c-0")
        );
    }
}
