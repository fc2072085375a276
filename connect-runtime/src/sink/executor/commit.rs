//! Committing a sink task's consumer offsets: only what `pre_commit`
//! returned, after every errant record so far was handled, and a
//! synchronous commit bounded by `offset.flush.timeout.ms`.

use std::collections::BTreeMap;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use sluice_connect_api::{ConnectError, ConnectResult};

use super::Loop;

impl Loop {
    /// Asks the task what is durable (`pre_commit`, which flushes by
    /// default) and commits exactly that for the partitions still owned.
    pub(super) async fn commit(&mut self, mode: CommitMode) -> ConnectResult<()> {
        if self.current.is_empty() || self.current == self.last_committed {
            self.tm.commit_skipped();
            return Ok(());
        }
        let started = std::time::Instant::now();
        let result = self.commit_now(mode).await;
        self.tm.committed(started.elapsed(), result.is_ok());
        if result.is_ok() {
            self.uncommitted = 0;
        }
        result
    }

    async fn commit_now(&mut self, mode: CommitMode) -> ConnectResult<()> {
        let committable = self.task.pre_commit(self.current.clone()).await?;
        // Records reported during the flush, and every DLQ record so far,
        // must be handled before an offset past them is committed.
        self.handle_reports(&[]).await?;
        if let Some(dlq) = &self.dlq {
            dlq.flush(self.flush_timeout).await?;
        }
        let mut tpl = TopicPartitionList::new();
        let mut committed = BTreeMap::new();
        for (tp, off) in committable {
            if !self.assigned.contains(&tp) || self.last_committed.get(&tp) == Some(&off) {
                continue;
            }
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(off))
                .map_err(|e| ConnectError::fatal_from("bad offset from pre_commit", e))?;
            committed.insert(tp, off);
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let Some(consumer) = self.input.consumer().cloned() else {
            // The null feed: nothing to tell a broker.
            self.last_committed.extend(committed);
            return Ok(());
        };
        let res = match mode {
            // On the blocking pool and bounded by offset.flush.timeout.ms:
            // with the broker gone a synchronous commit may never return,
            // and the task (and the worker's shutdown) must not wait on it.
            CommitMode::Sync => {
                let list = tpl.clone();
                let commit =
                    tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync));
                match tokio::time::timeout(self.flush_timeout, commit).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(e)) => {
                        return Err(ConnectError::retriable(format!(
                            "the consumer offset commit did not complete: {e}"
                        )));
                    }
                    Err(_) => {
                        return Err(ConnectError::retriable(format!(
                            "the consumer offset commit did not complete within offset.flush.timeout.ms ({} ms)",
                            self.flush_timeout.as_millis()
                        )));
                    }
                }
            }
            CommitMode::Async => consumer.commit(&tpl, CommitMode::Async),
        };
        res.map_err(|e| ConnectError::retriable_from("cannot commit consumer offsets", e))?;
        tracing::debug!(partitions = committed.len(), "committed sink offsets");
        self.last_committed.extend(committed);
        Ok(())
    }
}
