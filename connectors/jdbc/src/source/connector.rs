//! `JdbcSourceConnector`: finds the tables, splits them over tasks, and
//! watches for tables that appear or disappear.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use sluice_connect_api::config::{ConfigDef, ConfigValueReport, ConnectorConfig};
use sluice_connect_api::{Config, ConnectError, ConnectResult, Connector, ConnectorContext};
use tokio::task::JoinHandle;

use super::config::{JdbcSourceConfig, TABLES_TASK_KEY};
use super::tables::{TableFilter, duplicate_bare_names, group};
use crate::db::{Conn, ConnectSettings, DbError, TableQuery};
use crate::dialect::{Dialect, Quoting};
use crate::table_id::TableId;

#[derive(Debug)]
struct Discovery {
    settings: ConnectSettings,
    query: TableQuery,
    filter: TableFilter,
    dialect: Dialect,
}

impl Discovery {
    async fn list(&self, conn: &mut Option<Conn>) -> Result<Vec<TableId>, DbError> {
        let mut c = match conn.take() {
            Some(c) if c.is_open() => c,
            _ => Conn::connect(&self.settings).await?,
        };
        let result = c.list_tables(&self.query).await;
        *conn = Some(c);
        Ok(self.filter.apply(self.dialect, result?))
    }
}

#[derive(Debug)]
pub struct JdbcSourceConnector {
    version: &'static str,
    config: Config,
    parsed: Option<JdbcSourceConfig>,
    tables: Arc<Mutex<Vec<TableId>>>,
    monitor: Option<JoinHandle<()>>,
}

impl JdbcSourceConnector {
    pub fn new(version: &'static str) -> Self {
        Self {
            version,
            config: Config::new(),
            parsed: None,
            tables: Arc::default(),
            monitor: None,
        }
    }
}

#[async_trait]
impl Connector for JdbcSourceConnector {
    fn version(&self) -> String {
        self.version.to_string()
    }

    fn config_def(&self) -> ConfigDef {
        JdbcSourceConfig::definition().config_def().clone()
    }

    fn validate(&self, config: &Config) -> Vec<ConfigValueReport> {
        JdbcSourceConfig::definition().validate(config)
    }

    async fn start(&mut self, config: Config, ctx: ConnectorContext) -> ConnectResult<()> {
        let c = JdbcSourceConfig::parse(&config)?;
        self.config = config;
        if !c.query_mode() {
            let settings = c
                .connect_settings()
                .map_err(|e| ConnectError::fatal(e.to_string()))?;
            let dialect = settings.dialect();
            let filter = TableFilter::new(
                &c.table_whitelist,
                &c.table_blacklist,
                &c.table_include_list,
                &c.table_exclude_list,
            )
            .map_err(ConnectError::fatal)?;
            let discovery = Discovery {
                settings,
                query: TableQuery {
                    catalog_pattern: c.catalog_pattern.clone(),
                    schema_pattern: c.schema_pattern.clone(),
                    types: c.table_types.clone(),
                },
                filter,
                dialect,
            };
            let mut conn = None;
            let first = discovery.list(&mut conn).await.map_err(|e| {
                ConnectError::fatal_from(format!("JDBC source: cannot list tables: {e}"), e)
            })?;
            tracing::info!(connector = ctx.name(), tables = ?first.iter().map(TableId::unquoted).collect::<Vec<_>>(), "JDBC source tables");
            *self.tables.lock().unwrap_or_else(PoisonError::into_inner) = first;
            let tables = Arc::clone(&self.tables);
            let every = c.table_poll_interval.max(Duration::from_millis(100));
            self.monitor = Some(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match discovery.list(&mut conn).await {
                        Ok(now) => {
                            let changed = {
                                let mut known =
                                    tables.lock().unwrap_or_else(PoisonError::into_inner);
                                let changed = *known != now;
                                if changed {
                                    tracing::info!(
                                        connector = ctx.name(),
                                        before = known.len(),
                                        after = now.len(),
                                        "JDBC source: tables changed, reconfiguring tasks"
                                    );
                                    *known = now;
                                }
                                changed
                            };
                            if changed {
                                ctx.request_task_reconfiguration();
                            }
                        }
                        Err(e) => {
                            tracing::warn!(
                                connector = ctx.name(),
                                "JDBC source: listing tables failed: {e}"
                            );
                            if let Some(c) = conn.take() {
                                c.close().await;
                            }
                        }
                    }
                }
            }));
        }
        self.parsed = Some(c);
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Config>> {
        let Some(c) = &self.parsed else {
            return Err(ConnectError::fatal("connector not started"));
        };
        let with_tables = |tables: String| {
            let mut t = self.config.clone();
            t.insert(TABLES_TASK_KEY.to_string(), tables);
            t
        };
        if c.query_mode() {
            return Ok(vec![with_tables(String::new())]);
        }
        let tables = self
            .tables
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let dups = duplicate_bare_names(&tables);
        if !dups.is_empty() {
            return Err(ConnectError::fatal(format!(
                "The connector uses the unqualified table name as the topic name and has detected duplicate unqualified table names: {}. Use table.whitelist/table.include.list or schema.pattern/catalog.pattern so that only one table of each name is copied.",
                dups.join(", ")
            )));
        }
        if tables.is_empty() {
            tracing::warn!("JDBC source: no tables found; the task will fail until one appears");
            return Ok(vec![with_tables(String::new())]);
        }
        let dialect = c
            .connect_settings()
            .map_or(Dialect::Postgres, |s| s.dialect());
        Ok(group(&tables, max_tasks)
            .into_iter()
            .map(|chunk| {
                with_tables(
                    chunk
                        .iter()
                        .map(|t| t.sql(dialect, Quoting::Always))
                        .collect::<Vec<_>>()
                        .join(","),
                )
            })
            .collect())
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        if let Some(m) = self.monitor.take() {
            m.abort();
        }
        Ok(())
    }
}
