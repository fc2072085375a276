//! The MQTT source connector: one task, or several when every filter is a
//! shared subscription (`$share/<group>/...`), which the broker spreads
//! over the tasks. Without shared subscriptions each task would receive
//! every message, so more tasks would only copy the data.

use async_trait::async_trait;
use sluice_connect_api::config::{ConfigDef, ConfigValueReport, ConnectorConfig};
use sluice_connect_api::{Config, ConnectResult, Connector, ConnectorContext};

use super::config::{MqttSourceConfig, TASK_INDEX};
use super::topic::is_shared;

#[derive(Debug, Default)]
pub struct MqttSourceConnector {
    config: Config,
    shared: bool,
}

#[async_trait]
impl Connector for MqttSourceConnector {
    fn version(&self) -> String {
        crate::VERSION.to_string()
    }

    fn config_def(&self) -> ConfigDef {
        MqttSourceConfig::definition().config_def().clone()
    }

    fn validate(&self, config: &Config) -> Vec<ConfigValueReport> {
        MqttSourceConfig::definition().validate(config)
    }

    async fn start(&mut self, config: Config, _ctx: ConnectorContext) -> ConnectResult<()> {
        let parsed = MqttSourceConfig::parse(&config)?;
        self.shared = parsed.topics.iter().all(|t| is_shared(t));
        self.config = config;
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Config>> {
        let n = if self.shared { max_tasks.max(1) } else { 1 };
        if max_tasks > 1 && !self.shared {
            tracing::info!(
                max_tasks,
                "MQTT source: one task, because not every mqtt.topics filter is a $share/<group>/ subscription (more tasks would each receive every message)"
            );
        }
        Ok((0..n)
            .map(|i| {
                let mut c = self.config.clone();
                c.insert(TASK_INDEX.to_string(), i.to_string());
                c
            })
            .collect())
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(topics: &str) -> Config {
        [
            ("name", "m"),
            ("mqtt.server.uri", "tcp://127.0.0.1:1883"),
            ("mqtt.topics", topics),
            ("kafka.topic", "k"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[tokio::test]
    async fn several_tasks_only_on_shared_subscriptions() {
        let ctx = ConnectorContext::new("m", |_| {});
        let mut c = MqttSourceConnector::default();
        c.start(config("a/#"), ctx.clone()).await.unwrap();
        assert_eq!(c.task_configs(3).await.unwrap().len(), 1);
        c.start(config("$share/g/a/#,$share/g/b"), ctx)
            .await
            .unwrap();
        let tasks = c.task_configs(3).await.unwrap();
        let idx: Vec<&str> = tasks.iter().map(|t| t[TASK_INDEX].as_str()).collect();
        assert_eq!(idx, vec!["0", "1", "2"]);
    }
}
