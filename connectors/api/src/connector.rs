//! The traits a connector author implements.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::Config;
use crate::ack::SourceAcknowledger;
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
/// **How the runtime drives a task.** `start`, then `poll` in a loop on the
/// task's own async task: the next `poll` begins as soon as the previous
/// batch is handed over (a bounded queue, in records and bytes, sits
/// between polling and producing, so a slow producer slows polling down and
/// nothing buffers without bound). Between two polls the runtime may call
/// `commit`. Finally `stop`.
///
/// **Cancellation.** A pending `poll` is never dropped by the runtime's own
/// timers (offset flushes, pause, resume): a poll that runs a long database
/// query completes, and its batch is delivered. Only stopping the task
/// (connector deleted or stopped, task restarted or moved by a rebalance,
/// worker shutting down) drops a pending `poll` future at an `.await`
/// point, after which `stop` is called. Keep all progress in `self`, so
/// nothing read is lost when that happens: a record not yet returned is
/// read again later, from the last committed offset.
///
/// **Delivery.** The offsets of returned records are stored only after
/// Kafka acknowledged every record up to them. A task that must acknowledge
/// upstream after Kafka has the data returns an [`crate::SourceAcknowledger`]
/// from [`SourceTask::acknowledger`].
#[async_trait]
pub trait SourceTask: Send {
    async fn start(&mut self, config: Config, ctx: SourceTaskContext) -> ConnectResult<()>;

    /// The next batch. An empty batch is fine; waiting briefly for data
    /// (up to about a second) before returning one is polite, so the task
    /// notices `commit` calls and stops promptly.
    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>>;

    /// Called once, after a successful `start`: who hears about records
    /// Kafka acknowledged. The default `None` costs nothing per record.
    fn acknowledger(&self) -> Option<Arc<dyn SourceAcknowledger>> {
        None
    }

    /// Called between two polls after the offsets of acknowledged records
    /// were made durable (Kafka Connect's `commit()`): a replication
    /// stream may now confirm its position upstream.
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
    ///
    /// The records are the task's to take: a buffering task moves them out
    /// (`buffer.append(records)`, `records.drain(..)`) instead of cloning
    /// them. On a [`crate::ConnectError::Retriable`] error the runtime calls
    /// `put` again after a backoff with what the task left in `records`: a
    /// task that wrote part of the batch before the error removes that part
    /// and leaves the rest; a task that wrote nothing leaves it all. A
    /// retriable error with nothing left counts as delivered (logged). On
    /// success, whatever is left is dropped.
    async fn put(&mut self, records: &mut Vec<SinkRecord>) -> ConnectResult<()>;

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
