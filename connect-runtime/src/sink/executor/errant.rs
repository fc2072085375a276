//! Errant records of a sink task: the error handler's verdict, the dead
//! letter queue, and records the task reported through its reporter.

use sluice_connect_api::schema::converter::ConvertError;
use sluice_connect_api::{ConnectError, ConnectResult, SinkRecord};

use super::Loop;
use crate::converters::TaskConverter;
use crate::errors::context::CONNECT_EXCEPTION;
use crate::errors::{OriginalRecord, Stage, StageFailure};

impl Loop {
    /// Hands an errant record to the error handler: fails the task, or
    /// logs it and writes it to the dead letter queue.
    pub(super) async fn errant(
        &mut self,
        failure: &StageFailure,
        original: &OriginalRecord,
    ) -> ConnectResult<()> {
        if let Some(record) = self.handler.handle(failure, original)? {
            match &self.dlq {
                Some(dlq) => dlq.send(&record, &self.stop).await?,
                None => {
                    return Err(ConnectError::fatal(
                        "a dead letter queue record without a dead letter queue producer",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Records the task reported through its errant record reporter: the
    /// DLQ gets the consumed bytes when `originals` has them (matched by
    /// partition and offset, which transforms cannot change), else the
    /// record re-serialized, as Kafka Connect does.
    pub(super) async fn handle_reports(
        &mut self,
        originals: &[OriginalRecord],
    ) -> ConnectResult<()> {
        for report in self.reporter.take() {
            let r = &report.record;
            let same_place = |o: &&OriginalRecord| {
                o.partition == Some(r.kafka_partition) && o.offset == Some(r.kafka_offset)
            };
            let kept = originals
                .iter()
                .filter(same_place)
                .find(|o| *o.topic == *r.topic)
                .or_else(|| originals.iter().find(same_place));
            let original = match kept {
                Some(o) => o.clone(),
                None => reserialize(
                    r,
                    &self.input.pipeline.key_converter,
                    &self.input.pipeline.value_converter,
                ),
            };
            let failure = StageFailure {
                stage: Stage::TaskPut,
                class_name: self.connector_class.to_string(),
                exception_class: CONNECT_EXCEPTION,
                message: report.error.lines().next().unwrap_or_default().to_string(),
                trace: report.error,
            };
            self.errant(&failure, &original).await?;
        }
        Ok(())
    }
}

/// A sink record as bytes again, for a dead letter queue record of a record
/// the task reported (Kafka Connect does the same when it no longer has the
/// consumed bytes). Unconvertible parts are left empty.
fn reserialize(r: &SinkRecord, key: &TaskConverter, value: &TaskConverter) -> OriginalRecord {
    let bytes = |c: &TaskConverter, schema, v| -> Option<Vec<u8>> {
        c.converter
            .from_connect(&r.topic, schema, v)
            .unwrap_or_else(|e: ConvertError| {
                tracing::warn!(error = %e, "cannot serialize a reported record for the dead letter queue");
                None
            })
    };
    OriginalRecord {
        topic: r.topic.to_string(),
        partition: Some(r.kafka_partition),
        offset: Some(r.kafka_offset),
        timestamp: r.timestamp,
        key: bytes(key, r.key_schema.as_ref(), &r.key),
        value: bytes(value, r.value_schema.as_ref(), &r.value),
        headers: r
            .headers
            .iter()
            .map(|h| (h.key.clone(), crate::headers::to_bytes(h)))
            .collect(),
        source: None,
    }
}
