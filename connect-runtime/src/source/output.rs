//! Where a source task's converted records go: librdkafka's producer, or
//! (benchmarks, unit tests of the executor) a null producer that
//! acknowledges each record the moment it is handed over.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rdkafka::error::KafkaError;
use rdkafka::producer::BaseRecord;
use sluice_connect_api::RecordMetadata;

use super::acks::AckTracker;
use super::sender::TaskProducer;

/// A record as handed to the producer: bytes borrowed from the sender's
/// buffers, the batch's delivery opaque.
pub(crate) type Outgoing<'a> = BaseRecord<'a, [u8], [u8], usize>;

/// Takes records for delivery; a full queue gives the record back (as
/// librdkafka's `send` does: the error is as large as the record it holds).
#[allow(clippy::result_large_err)]
pub(crate) trait Produce: Send + Sync {
    fn send<'a>(&self, record: Outgoing<'a>) -> Result<(), (KafkaError, Outgoing<'a>)>;
}

#[allow(clippy::result_large_err)]
impl Produce for TaskProducer {
    fn send<'a>(&self, record: Outgoing<'a>) -> Result<(), (KafkaError, Outgoing<'a>)> {
        rdkafka::producer::ThreadedProducer::send(self, record)
    }
}

/// Acknowledges every record at once, as if Kafka had stored it at the
/// next offset of partition 0. Nothing leaves the process.
#[derive(Debug)]
pub(crate) struct NullProducer {
    pub(crate) tracker: Arc<AckTracker>,
    pub(crate) next_offset: AtomicI64,
}

#[allow(clippy::result_large_err)]
impl Produce for NullProducer {
    fn send<'a>(&self, record: Outgoing<'a>) -> Result<(), (KafkaError, Outgoing<'a>)> {
        let offset = self.next_offset.fetch_add(1, Ordering::Relaxed);
        std::hint::black_box((record.key, record.payload));
        self.tracker.ack(
            record.delivery_opaque,
            Ok(RecordMetadata {
                topic: String::new(),
                partition: record.partition.unwrap_or(0),
                offset,
            }),
        );
        Ok(())
    }
}
