//! Connector and task states, as Kafka Connect reports them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, PoisonError, RwLock};

use serde::Serialize;
use sluice_connect_api::ConnectorType;

/// Kafka Connect's `AbstractStatus.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Failed,
    Restarting,
    Stopped,
}

/// One connector's or task's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateInfo {
    pub state: State,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Automatic restarts after failures so far (not in Kafka Connect).
    #[serde(skip_serializing_if = "is_zero")]
    pub restarts: u32,
    /// When the next automatic restart happens, epoch milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_restart_ms: Option<i64>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// `GET /connectors/{name}/status` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorStatus {
    pub name: String,
    pub connector: StateInfo,
    pub tasks: Vec<TaskStatus>,
    #[serde(rename = "type")]
    pub connector_type: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskStatus {
    pub id: u32,
    #[serde(flatten)]
    pub info: StateInfo,
}

#[derive(Debug, Clone)]
struct Entry {
    connector_type: ConnectorType,
    connector: StateInfo,
    tasks: BTreeMap<u32, StateInfo>,
}

/// A state change of a connector (`task` = `None`) or task made on this
/// worker; distributed mode writes it to the status topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub connector: String,
    pub task: Option<u32>,
    pub info: StateInfo,
}

/// Called after every local state change.
pub type StatusListener = Arc<dyn Fn(StatusUpdate) + Send + Sync>;

#[derive(Default)]
struct ListenerSlot(RwLock<Vec<StatusListener>>);

impl std::fmt::Debug for ListenerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenerSlot")
    }
}

/// Current states of everything this worker runs.
#[derive(Debug)]
pub struct StatusStore {
    worker_id: String,
    entries: RwLock<BTreeMap<String, Entry>>,
    /// Topics each connector used since its last topics reset (KIP-558).
    topics: RwLock<BTreeMap<String, BTreeSet<String>>>,
    listener: ListenerSlot,
}

impl StatusStore {
    pub fn new(worker_id: impl Into<String>) -> Self {
        Self {
            worker_id: worker_id.into(),
            entries: RwLock::new(BTreeMap::new()),
            topics: RwLock::new(BTreeMap::new()),
            listener: ListenerSlot::default(),
        }
    }

    /// Sees every later state change (after the listeners added before).
    pub fn add_listener(&self, listener: StatusListener) {
        self.listener
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    fn notify(&self, connector: &str, task: Option<u32>, info: &StateInfo) {
        let ls = self
            .listener
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for l in ls {
            l(StatusUpdate {
                connector: connector.to_string(),
                task,
                info: info.clone(),
            });
        }
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    fn info(&self, state: State, trace: Option<String>) -> StateInfo {
        StateInfo {
            state,
            worker_id: self.worker_id.clone(),
            // A URL in an error message keeps its password out of the
            // status (and the status topic).
            trace: trace.map(|t| crate::secrets::mask_urls_in_text(&t)),
            restarts: 0,
            next_restart_ms: None,
        }
    }

    pub fn set_connector(
        &self,
        name: &str,
        connector_type: ConnectorType,
        state: State,
        trace: Option<String>,
    ) {
        let info = self.info(state, trace);
        self.notify(name, None, &info);
        let mut e = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        e.entry(name.to_string())
            .and_modify(|en| {
                en.connector = info.clone();
                en.connector_type = connector_type;
            })
            .or_insert_with(|| Entry {
                connector_type,
                connector: info,
                tasks: BTreeMap::new(),
            });
    }

    /// Sets a task's state. A task keeps its restart count until it is
    /// cleared (connector reconfigured, stopped or deleted).
    pub fn set_task(&self, name: &str, task: u32, state: State, trace: Option<String>) {
        let mut info = self.info(state, trace);
        let mut e = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(en) = e.get_mut(name) {
            if let Some(old) = en.tasks.get(&task) {
                info.restarts = old.restarts;
            }
            self.notify(name, Some(task), &info);
            en.tasks.insert(task, info);
        }
    }

    /// A failed task waiting for its automatic restart: FAILED with the
    /// trace, the restart count and when the next attempt is.
    pub fn set_task_restart(
        &self,
        name: &str,
        task: u32,
        trace: Option<String>,
        restarts: u32,
        next_ms: Option<i64>,
    ) {
        let mut info = self.info(State::Failed, trace);
        info.restarts = restarts;
        info.next_restart_ms = next_ms;
        let mut e = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(en) = e.get_mut(name) {
            self.notify(name, Some(task), &info);
            en.tasks.insert(task, info);
        }
    }

    /// Makes room for the states of a connector's tasks run here when the
    /// connector itself runs elsewhere (a cluster); publishes nothing.
    pub fn track(&self, name: &str, connector_type: ConnectorType, worker_of_connector: &str) {
        let mut e = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        e.entry(name.to_string()).or_insert_with(|| Entry {
            connector_type,
            connector: StateInfo {
                state: State::Unassigned,
                worker_id: worker_of_connector.to_string(),
                trace: None,
                restarts: 0,
                next_restart_ms: None,
            },
            tasks: BTreeMap::new(),
        });
    }

    /// Tells the listener again the state this worker set for a connector
    /// (`task` = `None`) or task, if it set one. Distributed mode uses it
    /// when the status topic shows another worker's record for work that
    /// runs here.
    pub fn republish(&self, name: &str, task: Option<u32>) {
        let info = {
            let e = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            e.get(name).and_then(|en| match task {
                None => Some(en.connector.clone()),
                Some(t) => en.tasks.get(&t).cloned(),
            })
        };
        if let Some(info) = info.filter(|i| i.worker_id == self.worker_id) {
            self.notify(name, task, &info);
        }
    }

    /// Forgets one task (it moved to another worker).
    pub fn remove_task(&self, name: &str, task: u32) {
        let mut e = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(en) = e.get_mut(name) {
            en.tasks.remove(&task);
        }
    }

    /// Forgets tasks (before the connector's tasks are reconfigured).
    pub fn clear_tasks(&self, name: &str) {
        let mut e = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(en) = e.get_mut(name) {
            en.tasks.clear();
        }
    }

    pub fn remove(&self, name: &str) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    /// Records that a connector used a topic (cheap when already known).
    pub fn add_topic(&self, name: &str, topic: &str) {
        let known = self
            .topics
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .is_some_and(|t| t.contains(topic));
        if !known {
            self.topics
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(name.to_string())
                .or_default()
                .insert(topic.to_string());
        }
    }

    pub fn topics(&self, name: &str) -> Vec<String> {
        self.topics
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn reset_topics(&self, name: &str) {
        self.topics
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    pub fn connector(&self, name: &str) -> Option<ConnectorStatus> {
        let e = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        e.get(name).map(|en| ConnectorStatus {
            name: name.to_string(),
            connector: en.connector.clone(),
            tasks: en
                .tasks
                .iter()
                .map(|(id, info)| TaskStatus {
                    id: *id,
                    info: info.clone(),
                })
                .collect(),
            connector_type: en.connector_type.as_str(),
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_matches_kafka_connect() {
        let s = StatusStore::new("127.0.0.1:8083");
        s.set_connector("c", ConnectorType::Source, State::Running, None);
        s.set_task("c", 0, State::Running, None);
        s.set_task("c", 1, State::Failed, Some("boom".into()));
        let json = serde_json::to_string(&s.connector("c").unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"name":"c","connector":{"state":"RUNNING","worker_id":"127.0.0.1:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"127.0.0.1:8083"},{"id":1,"state":"FAILED","worker_id":"127.0.0.1:8083","trace":"boom"}],"type":"source"}"#
        );
        assert!(s.connector("nope").is_none());
    }

    #[test]
    fn republish_repeats_only_this_workers_own_states() {
        let s = StatusStore::new("w1:8083");
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        s.add_listener(Arc::new(move |u| sink.lock().unwrap().push(u)));
        s.set_connector("c", ConnectorType::Source, State::Running, None);
        s.set_task("c", 0, State::Paused, None);
        // Tasks of a connector that runs elsewhere: its entry is a
        // placeholder naming the other worker.
        s.track("d", ConnectorType::Sink, "w2:8083");
        s.set_task("d", 3, State::Running, None);
        seen.lock().unwrap().clear();
        s.republish("c", None);
        s.republish("c", Some(0));
        s.republish("d", None);
        s.republish("d", Some(3));
        s.republish("c", Some(9));
        s.republish("nope", None);
        let got: Vec<(String, Option<u32>, State, String)> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u.connector.clone(),
                    u.task,
                    u.info.state,
                    u.info.worker_id.clone(),
                )
            })
            .collect();
        let w1 = "w1:8083".to_string();
        assert_eq!(
            got,
            vec![
                ("c".into(), None, State::Running, w1.clone()),
                ("c".into(), Some(0), State::Paused, w1.clone()),
                ("d".into(), Some(3), State::Running, w1),
            ]
        );
    }
}
