//! Kafka Connect's `RetryWithToleranceOperator` for one task: retries
//! retriable failures, then either fails the task (`errors.tolerance=none`)
//! or lets the record be skipped after it was logged and/or dead-lettered.
//! Sluice adds a failure-rate guard: too many errant records in a window
//! fail the task even with `errors.tolerance=all`.

use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, Instant};

use sluice_connect_api::{ConnectError, ConnectResult};
use tokio::sync::watch;

use super::config::{ErrorConfig, MAX_RATE, MAX_RATE_WINDOW_MS};
use super::context::{DlqRecord, OriginalRecord, StageFailure};
use crate::metrics::ErrorMetrics;

/// First wait between retries; it doubles up to `errors.retry.delay.max.ms`.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(300);

/// The error-handling state of one task.
#[derive(Debug)]
pub struct ErrorHandler {
    config: ErrorConfig,
    connector: String,
    task: u32,
    /// When the errant records of the current window were handled.
    recent: VecDeque<Instant>,
    /// Errant records tolerated so far (logged, dead-lettered or skipped).
    pub tolerated: u64,
    metrics: ErrorMetrics,
    /// The correlation id header, named in error logs.
    correlation_header: Option<String>,
}

/// A failure that ended in the task failing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Cause(String);

impl ErrorHandler {
    pub fn new(
        config: ErrorConfig,
        connector: impl Into<String>,
        task: u32,
        metrics: ErrorMetrics,
    ) -> Self {
        Self {
            config,
            connector: connector.into(),
            task,
            recent: VecDeque::new(),
            tolerated: 0,
            metrics,
            correlation_header: None,
        }
    }

    /// Error logs name each record's correlation id from this header.
    pub fn with_correlation_header(mut self, header: Option<String>) -> Self {
        self.correlation_header = header;
        self
    }

    pub fn config(&self) -> &ErrorConfig {
        &self.config
    }

    /// Whether errant records go to a dead letter queue.
    pub fn dlq_topic(&self) -> Option<&str> {
        self.config.dlq_topic.as_deref()
    }

    /// Runs `op` until it succeeds, fails with a non-retriable error, or
    /// `errors.retry.timeout` runs out (or the task is stopped), waiting
    /// 300 ms, 600 ms, ... up to `errors.retry.delay.max.ms` in between.
    pub async fn retry<T, E, F, Fut>(
        &self,
        mut op: F,
        is_retriable: impl Fn(&E) -> bool,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let mut delay = FIRST_RETRY_DELAY.min(self.config.retry_delay_max);
        let mut attempt = 1u32;
        loop {
            let err = match op().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let elapsed = started.elapsed();
            let in_time = self
                .config
                .retry_timeout
                .is_none_or(|limit| elapsed + delay <= limit);
            self.metrics.record_failures.inc();
            if !is_retriable(&err) || !in_time || *stop.borrow() {
                return Err(err);
            }
            self.metrics.retries.inc();
            tracing::warn!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retriable failure; retrying within errors.retry.timeout"
            );
            tokio::select! {
                _ = stop.changed() => return Err(err),
                _ = tokio::time::sleep(delay) => {}
            }
            attempt += 1;
            delay = (delay * 2).min(self.config.retry_delay_max);
        }
    }

    /// Decides what happens to a record that failed `failure`: an error
    /// (the task fails) with `errors.tolerance=none` or past the failure-rate
    /// guard; otherwise the record is logged and, with a dead letter queue,
    /// the record to write there is returned. Either way the caller skips the
    /// record and may commit its offset once the DLQ record (if any) is
    /// acknowledged.
    pub fn handle(
        &mut self,
        failure: &StageFailure,
        original: &OriginalRecord,
    ) -> ConnectResult<Option<DlqRecord>> {
        let correlation_id = self
            .correlation_header
            .as_deref()
            .and_then(|h| crate::correlation::find(h, &original.headers))
            .unwrap_or_default();
        let mut context = format!(
            "Executing stage '{}' with class '{}' failed for the record at {}",
            failure.stage.name(),
            failure.class_name,
            original.describe()
        );
        if !correlation_id.is_empty() {
            context.push_str(&format!(" (correlation id {correlation_id})"));
        }
        self.metrics.record_failures.inc();
        self.metrics.record_errors.inc();
        self.metrics.error_now();
        if !self.config.tolerate_all {
            return Err(ConnectError::fatal_from(
                "Tolerance exceeded in error handler",
                Cause(format!("{context}: {}", failure.trace)),
            ));
        }
        if let Some(max) = self.config.max_rate {
            let now = Instant::now();
            while self
                .recent
                .front()
                .is_some_and(|t| now.duration_since(*t) > self.config.max_rate_window)
            {
                self.recent.pop_front();
            }
            if self.recent.len() >= max as usize {
                return Err(ConnectError::fatal_from(
                    format!(
                        "More than {max} errant records within {} ms ({MAX_RATE}, {MAX_RATE_WINDOW_MS}): failing the task instead of skipping more records",
                        self.config.max_rate_window.as_millis()
                    ),
                    Cause(format!("{context}: {}", failure.trace)),
                ));
            }
            self.recent.push_back(now);
        }
        self.tolerated += 1;
        self.metrics.records_skipped.inc();
        let dlq = self.config.dlq_topic.as_deref().map(|topic| {
            DlqRecord::build(
                topic,
                original,
                failure,
                &self.connector,
                self.task,
                self.config.dlq_context_headers,
            )
        });
        if dlq.is_some() {
            self.metrics.dlq_requests.inc();
        }
        if self.config.log_enable {
            self.metrics.errors_logged.inc();
            // As Kafka Connect: a source record is shown whole; of a
            // consumed record only its position (never its key or value).
            let record = match (&original.source, self.config.log_include_messages) {
                (_, false) => String::new(),
                (Some((sp, so)), true) => format!(
                    ", where source record is = {{topic='{}', kafkaPartition={:?}, sourcePartition={}, sourceOffset={}, timestamp={:?}, key={}, value={}}}",
                    original.topic,
                    original.partition,
                    serde_json::Value::Object(sp.clone()),
                    serde_json::Value::Object(so.clone()),
                    original.timestamp,
                    lossy(original.key.as_deref()),
                    lossy(original.value.as_deref()),
                ),
                (None, true) => format!(
                    ", where consumed record is {{topic='{}', partition={}, offset={}{}}}",
                    original.topic,
                    original.partition.unwrap_or(-1),
                    original.offset.unwrap_or(-1),
                    original
                        .timestamp
                        .map(|t| format!(", timestamp={t}"))
                        .unwrap_or_default(),
                ),
            };
            tracing::error!(
                stage = failure.stage.name(),
                class = %failure.class_name,
                correlation_id = %correlation_id,
                "Error encountered in task {}-{}. {context}{record}: {}",
                self.connector,
                self.task,
                failure.trace
            );
        } else if dlq.is_none() {
            // Never skip a record silently, whatever errors.log.enable says.
            tracing::warn!(
                stage = failure.stage.name(),
                correlation_id = %correlation_id,
                "skipping errant record ({context}; errors.tolerance=all, no dead letter queue): {}",
                failure.message
            );
        }
        Ok(dlq)
    }
}

fn lossy(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => "null".to_string(),
        Some(b) => format!("'{}'", String::from_utf8_lossy(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::context::{DATA_EXCEPTION, Stage};

    fn failure() -> StageFailure {
        StageFailure::new(
            Stage::Transformation,
            "org.apache.kafka.connect.transforms.Cast$Value",
            DATA_EXCEPTION,
            &sluice_schema::DataError::new("cannot cast 'x' to int32"),
        )
    }

    fn original() -> OriginalRecord {
        OriginalRecord {
            topic: "t".into(),
            partition: Some(0),
            offset: Some(9),
            ..OriginalRecord::default()
        }
    }

    #[test]
    fn tolerance_none_fails_with_stage_position_and_cause() {
        let mut h = ErrorHandler::new(ErrorConfig::default(), "c", 0, ErrorMetrics::detached());
        let e = h.handle(&failure(), &original()).unwrap_err();
        let trace = e.trace();
        assert!(
            trace.starts_with("Tolerance exceeded in error handler"),
            "{trace}"
        );
        assert!(trace.contains("TRANSFORMATION"), "{trace}");
        assert!(trace.contains("topic t partition 0 offset 9"), "{trace}");
        assert!(trace.contains("cannot cast 'x' to int32"), "{trace}");
    }

    #[test]
    fn tolerance_all_dead_letters_or_skips() {
        let cfg = ErrorConfig {
            tolerate_all: true,
            dlq_topic: Some("dlq".into()),
            ..ErrorConfig::default()
        };
        let mut h = ErrorHandler::new(cfg, "c", 0, ErrorMetrics::detached());
        let d = h.handle(&failure(), &original()).unwrap().unwrap();
        assert_eq!(d.topic, "dlq");
        let cfg = ErrorConfig {
            tolerate_all: true,
            ..ErrorConfig::default()
        };
        let mut h = ErrorHandler::new(cfg, "c", 0, ErrorMetrics::detached());
        assert!(h.handle(&failure(), &original()).unwrap().is_none());
        assert_eq!(h.tolerated, 1);
    }

    #[test]
    fn rate_guard_fails_past_the_limit() {
        let cfg = ErrorConfig {
            tolerate_all: true,
            max_rate: Some(2),
            ..ErrorConfig::default()
        };
        let mut h = ErrorHandler::new(cfg, "c", 0, ErrorMetrics::detached());
        assert!(h.handle(&failure(), &original()).is_ok());
        assert!(h.handle(&failure(), &original()).is_ok());
        let e = h.handle(&failure(), &original()).unwrap_err();
        assert!(
            e.trace().contains("More than 2 errant records"),
            "{}",
            e.trace()
        );
    }

    #[tokio::test]
    async fn retry_gives_up_after_the_timeout_and_stops_on_success() {
        let cfg = ErrorConfig {
            retry_timeout: Some(Duration::from_millis(700)),
            retry_delay_max: Duration::from_millis(300),
            ..ErrorConfig::default()
        };
        let h = ErrorHandler::new(cfg, "c", 0, ErrorMetrics::detached());
        let (_tx, mut stop) = watch::channel(false);
        let mut calls = 0;
        let r: Result<(), &str> = h
            .retry(
                || {
                    calls += 1;
                    async { Err("down") }
                },
                |_| true,
                &mut stop,
            )
            .await;
        assert!(r.is_err());
        assert_eq!(calls, 3, "0 ms, 300 ms, 600 ms; the next would pass 700 ms");
        let mut n = 0;
        let r: Result<u32, &str> = h
            .retry(
                || {
                    n += 1;
                    let v = n;
                    async move { if v < 2 { Err("down") } else { Ok(v) } }
                },
                |_| true,
                &mut stop,
            )
            .await;
        assert_eq!(r, Ok(2));
        let mut once = 0;
        let r: Result<(), &str> = h
            .retry(
                || {
                    once += 1;
                    async { Err("fatal") }
                },
                |_| false,
                &mut stop,
            )
            .await;
        assert!(r.is_err());
        assert_eq!(once, 1);
    }
}
