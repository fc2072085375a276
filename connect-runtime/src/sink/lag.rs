//! Consumer lag of a sink task, per partition: the partition's high
//! watermark minus the task's position (the next record it will read), as
//! Kafka's `records-lag`. Probed off the task loop, so lag keeps growing
//! visibly while the task is stuck (retrying, slow `put`).

use std::sync::Arc;
use std::time::Duration;

use prometheus::IntGaugeVec;
use rdkafka::consumer::Consumer;
use rdkafka::topic_partition_list::Offset;
use tokio::sync::watch;

use super::input::TaskConsumer;

/// Aborts the probe when the task's run ends.
#[derive(Debug)]
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Probes every `interval` until `stop`; the series go when it ends.
pub(super) async fn probe(
    consumer: Arc<TaskConsumer>,
    lag: IntGaugeVec,
    connector: String,
    task: String,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(interval) => {}
        }
        if *stop.borrow() {
            break;
        }
        let (c, g, conn, t) = (
            consumer.clone(),
            lag.clone(),
            connector.clone(),
            task.clone(),
        );
        let probed = tokio::task::spawn_blocking(move || measure(&c, &g, &conn, &t)).await;
        if let Err(e) = probed {
            tracing::debug!(error = %e, "lag probe failed");
        }
    }
    crate::metrics::remove_matching(&lag, &connector, &task);
}

fn measure(consumer: &TaskConsumer, lag: &IntGaugeVec, connector: &str, task: &str) {
    let Ok(positions) = consumer.position() else {
        return;
    };
    // Partitions revoked since the last probe lose their series.
    let held: Vec<(String, String)> = positions
        .elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition().to_string()))
        .collect();
    crate::metrics::remove_matching_except(lag, connector, task, &held);
    for e in positions.elements() {
        let Ok((_, high)) =
            consumer.fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(2))
        else {
            continue;
        };
        let position = match e.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        };
        let part = e.partition().to_string();
        let labels = [connector, task, e.topic(), part.as_str()];
        match position {
            Some(p) => lag.with_label_values(&labels).set((high - p).max(0)),
            // Nothing consumed yet from this partition: everything
            // committed before is behind us, so count from the committed
            // offset if known, else leave the series out.
            None => {
                let committed = consumer
                    .committed_offsets(
                        {
                            let mut l = rdkafka::TopicPartitionList::new();
                            l.add_partition(e.topic(), e.partition());
                            l
                        },
                        Duration::from_secs(2),
                    )
                    .ok()
                    .and_then(|l| l.elements().first().map(|x| x.offset()));
                match committed {
                    Some(Offset::Offset(c)) => {
                        lag.with_label_values(&labels).set((high - c).max(0))
                    }
                    _ => {
                        let _ = lag.remove_label_values(&labels);
                    }
                }
            }
        }
    }
}
