//! Acknowledgement after Kafka: how a source task learns that Kafka has
//! its records, so a push source (MQTT QoS 1, AMQP, a webhook, a database
//! replication stream) acknowledges upstream only then.
//!
//! A task that wants to hear returns an acknowledger from
//! [`crate::SourceTask::acknowledger`]. The runtime calls it from the
//! task's producer side, concurrently with a pending
//! [`crate::SourceTask::poll`] (that is why it is a separate, shared object
//! and not a `&mut self` method of the task):
//!
//! - [`SourceAcknowledger::commit_offsets`], the batch form, always: once
//!   every record of a run of polled batches was acknowledged by Kafka (or
//!   filtered by a transform, or handled as an errant record), with the
//!   latest source offset per source partition of that run. It costs
//!   nothing per record.
//! - [`SourceAcknowledger::commit_record`], Kafka Connect's
//!   `commitRecord(record, metadata)`, only when
//!   [`SourceAcknowledger::per_record`] says so: the runtime then keeps each
//!   polled record (as polled, before transforms) until its batch is done.
//!
//! Both are called in the order the records were polled, and never for a
//! record Kafka has not acknowledged (a record that could not be delivered
//! fails the task instead). Records polled but not acknowledged when the
//! task stops are never acknowledged: the upstream system redelivers them.

use std::fmt;

use crate::record::{RecordMetadata, SourceOffset, SourcePartition, SourceRecord};

/// Hears about records Kafka acknowledged. Implementations must not block:
/// hand the acknowledgement to the upstream client (a channel its
/// connection drains, a non-blocking ack call) and return.
pub trait SourceAcknowledger: Send + Sync + fmt::Debug {
    /// `true` to get [`Self::commit_record`] for every record. The default
    /// `false` keeps nothing per record.
    fn per_record(&self) -> bool {
        false
    }

    /// One record is done: `metadata` says where Kafka stored it, `None`
    /// when a transform filtered it out or it was handled as an errant
    /// record (logged or sent to the dead letter queue). `record` is the
    /// record as `poll` returned it.
    fn commit_record(&self, _record: &SourceRecord, _metadata: Option<&RecordMetadata>) {}

    /// Every record polled up to these offsets is done. One entry per
    /// source partition, with the latest offset seen, in first-seen order.
    fn commit_offsets(&self, _acknowledged: &[(SourcePartition, SourceOffset)]) {}
}
