//! The sink consumer's context: logs, and reports rebalances to the task
//! loop, which calls the task's `open`/`close` outside librdkafka's thread.

use std::collections::BTreeSet;

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;
use sluice_connect_api::TopicPartition;
use tokio::sync::mpsc::UnboundedSender;

use crate::kafka::LogContext;

/// A change of the task's partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RebalanceEvent {
    Assigned(BTreeSet<TopicPartition>),
    Revoked(BTreeSet<TopicPartition>),
}

#[derive(Debug)]
pub(crate) struct SinkConsumerContext {
    pub(crate) events: UnboundedSender<RebalanceEvent>,
    pub(crate) log: LogContext,
    pub(crate) stats: Option<crate::metrics::ClientStats>,
}

pub(crate) fn partitions(tpl: &TopicPartitionList) -> BTreeSet<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

impl ClientContext for SinkConsumerContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.log.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.log.error(error, reason);
    }

    fn stats(&self, statistics: rdkafka::Statistics) {
        if let Some(s) = &self.stats {
            s.update(&statistics);
        }
    }
}

impl ConsumerContext for SinkConsumerContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let _ = self.events.send(RebalanceEvent::Revoked(partitions(tpl)));
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let _ = self.events.send(RebalanceEvent::Assigned(partitions(tpl)));
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::warn!(error = %e, "consumer group rebalance error"),
        }
    }
}
