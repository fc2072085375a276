//! Every metric family the worker exports, named after Kafka Connect's JMX
//! metrics in Prometheus style (`source-record-poll-total` of group
//! `source-task-metrics` → `kafka_connect_source_task_source_record_poll_total`).
//! The README maps each to its Kafka Connect name.

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Creation of a family with a fixed name cannot fail except for a
/// programming error (a duplicate name), which the unit tests catch.
fn reg<C: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: C) -> C {
    if let Err(e) = r.register(Box::new(c.clone())) {
        tracing::error!(error = %e, "metric family not registered");
    }
    c
}

macro_rules! family {
    ($r:expr, $ty:ident, $name:expr, $help:expr, $labels:expr) => {
        reg(
            $r,
            $ty::new(Opts::new($name, $help), $labels)
                .unwrap_or_else(|e| panic!("metric {}: {e}", $name)),
        )
    };
}

const CT: &[&str] = &["connector", "task"];

#[derive(Debug, Clone)]
pub struct ConnectorFamilies {
    pub info: IntGaugeVec,
    pub status: IntGaugeVec,
}

#[derive(Debug, Clone)]
pub struct TaskFamilies {
    pub status: IntGaugeVec,
    pub running_ratio: GaugeVec,
    pub pause_ratio: GaugeVec,
    pub commit_max_ms: GaugeVec,
    pub commit_avg_ms: GaugeVec,
    pub commit_success_pct: GaugeVec,
    pub commit_failure_pct: GaugeVec,
    pub batch_size_max: GaugeVec,
    pub batch_size_avg: GaugeVec,
    /// Numbers tasks report about themselves (`TaskGauges`).
    pub reported: IntGaugeVec,
}

#[derive(Debug, Clone)]
pub struct SourceFamilies {
    pub poll_total: IntCounterVec,
    pub write_total: IntCounterVec,
    pub poll_rate: GaugeVec,
    pub write_rate: GaugeVec,
    pub poll_batch_max_ms: GaugeVec,
    pub poll_batch_avg_ms: GaugeVec,
    pub active: IntGaugeVec,
}

#[derive(Debug, Clone)]
pub struct SinkFamilies {
    pub read_total: IntCounterVec,
    pub send_total: IntCounterVec,
    pub read_rate: GaugeVec,
    pub send_rate: GaugeVec,
    pub put_batch_max_ms: GaugeVec,
    pub put_batch_avg_ms: GaugeVec,
    pub partition_count: IntGaugeVec,
    pub commit_completion_total: IntCounterVec,
    pub commit_skip_total: IntCounterVec,
    pub active: IntGaugeVec,
    pub lag: IntGaugeVec,
}

#[derive(Debug, Clone)]
pub struct WorkerFamilies {
    pub connector_count: IntGaugeVec,
    pub task_count: IntGaugeVec,
    pub connector_startup_attempts: IntCounterVec,
    pub connector_startup_success: IntCounterVec,
    pub connector_startup_failure: IntCounterVec,
    pub task_startup_attempts: IntCounterVec,
    pub task_startup_success: IntCounterVec,
    pub task_startup_failure: IntCounterVec,
    /// `{worker, connector, state}`: running/paused/failed/... task counts.
    pub connector_tasks: Vec<(&'static str, IntGaugeVec)>,
}

#[derive(Debug, Clone)]
pub struct ErrorFamilies {
    pub record_failures: IntCounterVec,
    pub record_errors: IntCounterVec,
    pub records_skipped: IntCounterVec,
    pub retries: IntCounterVec,
    pub errors_logged: IntCounterVec,
    pub dlq_requests: IntCounterVec,
    pub dlq_failures: IntCounterVec,
    pub last_error_timestamp: IntGaugeVec,
}

#[derive(Debug, Clone)]
pub struct ClientFamilies {
    pub queue_messages: IntGaugeVec,
    pub queue_bytes: IntGaugeVec,
    pub queue_max_messages: IntGaugeVec,
}

#[derive(Debug, Clone)]
pub struct FlowFamilies {
    pub anomaly: IntGaugeVec,
    pub rate: GaugeVec,
    pub rate_expected: GaugeVec,
}

/// All families, registered in one registry.
#[derive(Debug, Clone)]
pub struct Families {
    pub connector: ConnectorFamilies,
    pub task: TaskFamilies,
    pub source: SourceFamilies,
    pub sink: SinkFamilies,
    pub worker: WorkerFamilies,
    pub errors: ErrorFamilies,
    pub client: ClientFamilies,
    pub flow: FlowFamilies,
}

impl Families {
    pub fn new(r: &Registry) -> Self {
        let g = |name: &str, help: &str| family!(r, GaugeVec, name, help, CT);
        let ig = |name: &str, help: &str| family!(r, IntGaugeVec, name, help, CT);
        let c = |name: &str, help: &str| family!(r, IntCounterVec, name, help, CT);
        let w = |name: &str, help: &str| family!(r, IntCounterVec, name, help, &["worker"]);
        let state_gauge = |state: &'static str| {
            (
                state,
                family!(
                    r,
                    IntGaugeVec,
                    &format!("kafka_connect_worker_connector_{state}_task_count"),
                    &format!("Tasks of the connector in state {state} on this worker"),
                    &["worker", "connector"]
                ),
            )
        };
        Self {
            connector: ConnectorFamilies {
                info: family!(
                    r,
                    IntGaugeVec,
                    "kafka_connect_connector_info",
                    "Connector type, class and version (value 1)",
                    &["connector", "type", "class", "version"]
                ),
                status: family!(
                    r,
                    IntGaugeVec,
                    "kafka_connect_connector_status",
                    "1 for the connector's current status",
                    &["connector", "status"]
                ),
            },
            task: TaskFamilies {
                reported: family!(
                    r,
                    IntGaugeVec,
                    "kafka_connect_task_reported",
                    "A number the task reports about itself (e.g. replication-slot-lag-bytes)",
                    &["connector", "task", "metric"]
                ),
                status: family!(
                    r,
                    IntGaugeVec,
                    "kafka_connect_connector_task_status",
                    "1 for the task's current status",
                    &["connector", "task", "status"]
                ),
                running_ratio: g(
                    "kafka_connect_connector_task_running_ratio",
                    "Fraction of time the task spent running",
                ),
                pause_ratio: g(
                    "kafka_connect_connector_task_pause_ratio",
                    "Fraction of time the task spent paused",
                ),
                commit_max_ms: g(
                    "kafka_connect_connector_task_offset_commit_max_time_ms",
                    "Longest offset commit in the window, ms",
                ),
                commit_avg_ms: g(
                    "kafka_connect_connector_task_offset_commit_avg_time_ms",
                    "Average offset commit time in the window, ms",
                ),
                commit_success_pct: g(
                    "kafka_connect_connector_task_offset_commit_success_percentage",
                    "Share of successful offset commits",
                ),
                commit_failure_pct: g(
                    "kafka_connect_connector_task_offset_commit_failure_percentage",
                    "Share of failed offset commits",
                ),
                batch_size_max: g(
                    "kafka_connect_connector_task_batch_size_max",
                    "Largest batch in the window",
                ),
                batch_size_avg: g(
                    "kafka_connect_connector_task_batch_size_avg",
                    "Average batch size in the window",
                ),
            },
            source: SourceFamilies {
                poll_total: c(
                    "kafka_connect_source_task_source_record_poll_total",
                    "Records polled from the source system",
                ),
                write_total: c(
                    "kafka_connect_source_task_source_record_write_total",
                    "Records written to Kafka and acknowledged",
                ),
                poll_rate: g(
                    "kafka_connect_source_task_source_record_poll_rate",
                    "Records polled per second",
                ),
                write_rate: g(
                    "kafka_connect_source_task_source_record_write_rate",
                    "Records written per second",
                ),
                poll_batch_max_ms: g(
                    "kafka_connect_source_task_poll_batch_max_time_ms",
                    "Longest time to process a polled batch, ms",
                ),
                poll_batch_avg_ms: g(
                    "kafka_connect_source_task_poll_batch_avg_time_ms",
                    "Average time to process a polled batch, ms",
                ),
                active: ig(
                    "kafka_connect_source_task_source_record_active_count",
                    "Records polled but not yet acknowledged by Kafka",
                ),
            },
            sink: SinkFamilies {
                read_total: c(
                    "kafka_connect_sink_task_sink_record_read_total",
                    "Records read from Kafka",
                ),
                send_total: c(
                    "kafka_connect_sink_task_sink_record_send_total",
                    "Records handed to put after transforms",
                ),
                read_rate: g(
                    "kafka_connect_sink_task_sink_record_read_rate",
                    "Records read per second",
                ),
                send_rate: g(
                    "kafka_connect_sink_task_sink_record_send_rate",
                    "Records put per second",
                ),
                put_batch_max_ms: g(
                    "kafka_connect_sink_task_put_batch_max_time_ms",
                    "Longest put, ms",
                ),
                put_batch_avg_ms: g(
                    "kafka_connect_sink_task_put_batch_avg_time_ms",
                    "Average put time, ms",
                ),
                partition_count: ig(
                    "kafka_connect_sink_task_partition_count",
                    "Partitions assigned to the task",
                ),
                commit_completion_total: c(
                    "kafka_connect_sink_task_offset_commit_completion_total",
                    "Offset commits completed",
                ),
                commit_skip_total: c(
                    "kafka_connect_sink_task_offset_commit_skip_total",
                    "Offset commits skipped (nothing new)",
                ),
                active: ig(
                    "kafka_connect_sink_task_sink_record_active_count",
                    "Records put but not yet committed",
                ),
                lag: family!(
                    r,
                    IntGaugeVec,
                    "sluice_sink_task_consumer_lag",
                    "Consumer lag per partition (librdkafka statistics)",
                    &["connector", "task", "topic", "partition"]
                ),
            },
            worker: WorkerFamilies {
                connector_count: family!(
                    r,
                    IntGaugeVec,
                    "kafka_connect_worker_connector_count",
                    "Connectors on this worker",
                    &["worker"]
                ),
                task_count: family!(
                    r,
                    IntGaugeVec,
                    "kafka_connect_worker_task_count",
                    "Tasks on this worker",
                    &["worker"]
                ),
                connector_startup_attempts: w(
                    "kafka_connect_worker_connector_startup_attempts_total",
                    "Connector starts attempted",
                ),
                connector_startup_success: w(
                    "kafka_connect_worker_connector_startup_success_total",
                    "Connector starts that succeeded",
                ),
                connector_startup_failure: w(
                    "kafka_connect_worker_connector_startup_failure_total",
                    "Connector starts that failed",
                ),
                task_startup_attempts: w(
                    "kafka_connect_worker_task_startup_attempts_total",
                    "Task starts attempted",
                ),
                task_startup_success: w(
                    "kafka_connect_worker_task_startup_success_total",
                    "Task starts that succeeded",
                ),
                task_startup_failure: w(
                    "kafka_connect_worker_task_startup_failure_total",
                    "Task starts that failed",
                ),
                connector_tasks: [
                    "running",
                    "paused",
                    "failed",
                    "restarting",
                    "unassigned",
                    "stopped",
                ]
                .into_iter()
                .map(state_gauge)
                .collect(),
            },
            errors: ErrorFamilies {
                record_failures: c(
                    "kafka_connect_task_error_total_record_failures",
                    "Failed attempts to process a record (retries included)",
                ),
                record_errors: c(
                    "kafka_connect_task_error_total_record_errors",
                    "Records that failed for good",
                ),
                records_skipped: c(
                    "kafka_connect_task_error_total_records_skipped",
                    "Errant records tolerated and skipped",
                ),
                retries: c(
                    "kafka_connect_task_error_total_retries",
                    "Retries of failed operations",
                ),
                errors_logged: c(
                    "kafka_connect_task_error_total_errors_logged",
                    "Errors written to the log",
                ),
                dlq_requests: c(
                    "kafka_connect_task_error_deadletterqueue_produce_requests",
                    "Records sent to the dead letter queue",
                ),
                dlq_failures: c(
                    "kafka_connect_task_error_deadletterqueue_produce_failures",
                    "Dead letter queue writes that failed",
                ),
                last_error_timestamp: ig(
                    "kafka_connect_task_error_last_error_timestamp",
                    "When the last error happened, epoch ms",
                ),
            },
            client: ClientFamilies {
                queue_messages: family!(
                    r,
                    IntGaugeVec,
                    "sluice_librdkafka_queue_messages",
                    "Messages in librdkafka's queues (msg_cnt)",
                    &["connector", "task", "client"]
                ),
                queue_bytes: family!(
                    r,
                    IntGaugeVec,
                    "sluice_librdkafka_queue_bytes",
                    "Bytes in librdkafka's queues (msg_size)",
                    &["connector", "task", "client"]
                ),
                queue_max_messages: family!(
                    r,
                    IntGaugeVec,
                    "sluice_librdkafka_queue_max_messages",
                    "librdkafka's queue limit (msg_max)",
                    &["connector", "task", "client"]
                ),
            },
            flow: FlowFamilies {
                anomaly: family!(
                    r,
                    IntGaugeVec,
                    "sluice_flow_anomaly",
                    "1 while the anomaly is active",
                    &["connector", "kind"]
                ),
                rate: family!(
                    r,
                    GaugeVec,
                    "sluice_flow_rate",
                    "Records per second in the last sample",
                    &["connector"]
                ),
                rate_expected: family!(
                    r,
                    GaugeVec,
                    "sluice_flow_rate_expected",
                    "Learned normal records per second",
                    &["connector"]
                ),
            },
        }
    }
}
