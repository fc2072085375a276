//! The traits a connector author implements.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::Config;
use crate::config::{ConfigDef, ConfigValueReport};
use crate::context::{ConnectorContext, SinkTaskContext, SourceTaskContext};
use crate::error::ConnectResult;
use crate::record::{SinkRecord, SourceRecord, TopicPartition};

/// A connector: validates its configuration and splits the work into task
/// configurations. It moves no data itself.
#[async_trait]
pub trait Connector: Send {
    /// The connector's version, shown by the REST API.
    fn version(&self) -> String;

    /// The keys this connector understands.
    fn config_def(&self) -> ConfigDef;

    /// Checks a configuration; the default checks it against
    /// [`Connector::config_def`]. Override to add cross-key checks.
    fn validate(&self, config: &Config) -> Vec<ConfigValueReport> {
        self.config_def().validate(config)
    }

    async fn start(&mut self, config: Config, ctx: ConnectorContext) -> ConnectResult<()>;

    /// Up to `max_tasks` task configurations.
    async fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Config>>;

    async fn stop(&mut self) -> ConnectResult<()>;
}

/// Pulls records from a source system.
///
/// **Cancellation:** the runtime stops a task by dropping a pending
/// [`SourceTask::poll`] future at an `.await` point and then calling
/// [`SourceTask::stop`]. Keep all progress in `self` so nothing read is lost
/// when that happens (a record not yet returned is simply read again later).
#[async_trait]
pub trait SourceTask: Send {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()>;

    /// The next batch. An empty batch is fine; waiting briefly for data
    /// (at most about a second) before returning one is polite.
    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>>;

    /// Called after the offsets of acknowledged records were made durable.
    async fn commit(&mut self) -> ConnectResult<()> {
        Ok(())
    }

    async fn stop(&mut self) -> ConnectResult<()>;
}

/// Writes records to a destination system.
#[async_trait]
pub trait SinkTask: Send {
    async fn start(&mut self, config: Config, ctx: SinkTaskContext) -> ConnectResult<()>;

    /// New partitions were assigned to this task.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> ConnectResult<()> {
        Ok(())
    }

    /// Partitions are being taken away; write out what is buffered for them.
    async fn close(&mut self, _partitions: &[TopicPartition]) -> ConnectResult<()> {
        Ok(())
    }

    /// Deliver a batch. It may buffer; durability is promised by `flush`.
    /// On a [`crate::ConnectError::Retriable`] error the runtime calls `put`
    /// again with the same batch after a backoff.
    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()>;

    /// Make everything `put` so far durable. `offsets` holds, per partition,
    /// the offset of the next record to consume.
    async fn flush(&mut self, _offsets: &BTreeMap<TopicPartition, i64>) -> ConnectResult<()> {
        Ok(())
    }

    /// Decide which offsets may be committed. The default flushes and
    /// returns all of them; a task that writes asynchronously may return less.
    async fn pre_commit(
        &mut self,
        offsets: BTreeMap<TopicPartition, i64>,
    ) -> ConnectResult<BTreeMap<TopicPartition, i64>> {
        self.flush(&offsets).await?;
        Ok(offsets)
    }

    async fn stop(&mut self) -> ConnectResult<()>;
}
