//! The poll side of a source task: `poll` in a loop on its own tokio task,
//! handing batches to the producer side through a queue bounded in records
//! and bytes, so polling overlaps producing and a slow producer slows
//! polling down.
//!
//! A pending `poll` is dropped only when the task is stopped; pausing waits
//! for it to complete (its batch is delivered), then polls no more until
//! resumed. `commit()` runs between two polls when the producer side asks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sluice_connect_api::{ConnectResult, SourceRecord, SourceTask};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

/// At most this many polled records wait for the producer side.
pub(crate) const QUEUE_MAX_RECORDS: usize = 10_000;
/// At most about this many bytes of polled records wait (keys and values,
/// estimated; a single larger batch still passes, alone).
pub(crate) const QUEUE_MAX_BYTES: usize = 64 * 1024 * 1024;

/// A polled batch on its way to the producer side; its share of the queue
/// is released when this is dropped.
#[derive(Debug)]
pub(crate) struct Polled {
    pub(crate) records: Vec<SourceRecord>,
    /// How long `poll` took (Kafka Connect's poll-batch time).
    pub(crate) took: Duration,
    _room: (OwnedSemaphorePermit, OwnedSemaphorePermit),
}

/// The queue's room, in records and in bytes.
#[derive(Debug, Clone)]
struct Room {
    records: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    max_records: usize,
    max_bytes: usize,
}

impl Room {
    fn new(max_records: usize, max_bytes: usize) -> Self {
        Self {
            records: Arc::new(Semaphore::new(max_records)),
            bytes: Arc::new(Semaphore::new(max_bytes)),
            max_records,
            max_bytes,
        }
    }

    /// Waits until `records` fit. `None` only if the queue was closed.
    async fn take(
        &self,
        records: &[SourceRecord],
    ) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let bytes: usize = records
            .iter()
            .map(|r| r.key.approx_size() + r.value.approx_size())
            .sum();
        let n = |v: usize, max: usize| u32::try_from(v.min(max)).unwrap_or(u32::MAX);
        let r = self
            .records
            .clone()
            .acquire_many_owned(n(records.len(), self.max_records))
            .await
            .ok()?;
        let b = self
            .bytes
            .clone()
            .acquire_many_owned(n(bytes, self.max_bytes))
            .await
            .ok()?;
        Some((r, b))
    }
}

/// What the poll loop gives back when it ends: the task, and how.
type Ended = (Box<dyn SourceTask>, ConnectResult<()>);

/// The producer side's end of a running poll loop.
pub(crate) struct Poller {
    pub(crate) batches: mpsc::Receiver<Polled>,
    /// `true` once the loop has stopped polling for a pause (a pending poll
    /// completed first); `false` once it polls again. The task's PAUSED and
    /// RUNNING states follow this, not the request.
    pub(crate) paused: watch::Receiver<bool>,
    commit: Arc<CommitRequest>,
    join: Option<JoinHandle<Ended>>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("running", &self.join.is_some())
            .finish_non_exhaustive()
    }
}

/// "Call `commit()` before the next poll".
#[derive(Debug, Default)]
struct CommitRequest {
    wanted: AtomicBool,
    wake: Notify,
}

impl Poller {
    /// Starts polling `task` until `stop` turns true (or its sender is
    /// dropped). `paused` holds polling between batches.
    pub(crate) fn start(
        task: Box<dyn SourceTask>,
        stop: watch::Receiver<bool>,
        paused: watch::Receiver<bool>,
    ) -> Self {
        Self::start_with(
            task,
            stop,
            paused,
            Room::new(QUEUE_MAX_RECORDS, QUEUE_MAX_BYTES),
        )
    }

    fn start_with(
        task: Box<dyn SourceTask>,
        stop: watch::Receiver<bool>,
        paused: watch::Receiver<bool>,
        room: Room,
    ) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let commit = Arc::new(CommitRequest::default());
        let (state_tx, state) = watch::channel(*paused.borrow());
        let span = tracing::Span::current();
        let join = tokio::spawn(tracing::Instrument::instrument(
            poll_loop(task, tx, room, commit.clone(), stop, paused, state_tx),
            span,
        ));
        Self {
            batches: rx,
            paused: state,
            commit,
            join: Some(join),
        }
    }

    /// Asks for `commit()` before the next poll.
    pub(crate) fn request_commit(&self) {
        self.commit.wanted.store(true, Ordering::Release);
        self.commit.wake.notify_one();
    }

    /// Ends the poll loop (a pending poll is dropped, batches not yet
    /// taken are dropped: their records are read again later) and returns
    /// the task with how the loop ended.
    pub(crate) async fn finish(&mut self) -> (Option<Box<dyn SourceTask>>, ConnectResult<()>) {
        self.batches.close();
        while self.batches.try_recv().is_ok() {} // polled, not sent: read again later
        match self.join.take() {
            Some(j) => match j.await {
                Ok((task, result)) => (Some(task), result),
                Err(e) => (
                    None,
                    Err(sluice_connect_api::ConnectError::fatal(format!(
                        "the source task's poll loop ended abnormally: {e}"
                    ))),
                ),
            },
            None => (None, Ok(())),
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        // The executor was aborted (stop timeout): the poll goes with it.
        if let Some(j) = &self.join {
            j.abort();
        }
    }
}

async fn poll_loop(
    mut task: Box<dyn SourceTask>,
    tx: mpsc::Sender<Polled>,
    room: Room,
    commit: Arc<CommitRequest>,
    mut stop: watch::Receiver<bool>,
    mut paused: watch::Receiver<bool>,
    state: watch::Sender<bool>,
) -> Ended {
    let mut backoff = Duration::from_millis(100);
    let result = loop {
        if *stop.borrow() || tx.is_closed() {
            break Ok(());
        }
        if commit.wanted.swap(false, Ordering::AcqRel)
            && let Err(e) = task.commit().await
        {
            tracing::warn!(error = %e.trace(), "the source task's commit() failed");
        }
        let pause = *paused.borrow_and_update();
        state.send_if_modified(|s| std::mem::replace(s, pause) != pause);
        if pause {
            tokio::select! {
                biased;
                _ = stop.changed() => break Ok(()),
                () = tx.closed() => break Ok(()),
                changed = paused.changed() => if changed.is_err() { break Ok(()) },
                () = commit.wake.notified() => {}
            }
            continue;
        }
        let started = tokio::time::Instant::now();
        // Only a stop drops a pending poll.
        let polled = tokio::select! {
            biased;
            _ = stop.changed() => break Ok(()),
            () = tx.closed() => break Ok(()),
            polled = task.poll() => polled,
        };
        let records = match polled {
            Ok(records) => {
                backoff = Duration::from_millis(100);
                records
            }
            Err(e) if e.is_retriable() => {
                tracing::warn!(error = %e.trace(), backoff_ms = backoff.as_millis() as u64, "retriable error from poll");
                tokio::select! {
                    biased;
                    _ = stop.changed() => break Ok(()),
                    () = tx.closed() => break Ok(()),
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
            Err(e) => break Err(e),
        };
        if records.is_empty() {
            continue;
        }
        let took = started.elapsed();
        let room = tokio::select! {
            biased;
            _ = stop.changed() => break Ok(()),
            () = tx.closed() => break Ok(()),
            room = room.take(&records) => room,
        };
        let Some(room) = room else {
            break Ok(());
        };
        let batch = Polled {
            records,
            took,
            _room: room,
        };
        if tx.send(batch).await.is_err() {
            break Ok(()); // the producer side is gone
        }
    };
    (task, result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sluice_connect_api::schema::Value;
    use sluice_connect_api::{Config, ConnectError, OffsetMap, SourceTaskContext};
    use std::sync::atomic::AtomicU64;

    /// A task whose every poll takes `delay` and returns `per_poll` records
    /// numbered from 0; it counts polls that were dropped before returning.
    #[derive(Debug)]
    struct Slow {
        delay: Duration,
        per_poll: u64,
        next: u64,
        dropped: Arc<AtomicU64>,
        commits: Arc<AtomicU64>,
        fail_at: Option<u64>,
    }

    struct Guard(Arc<AtomicU64>, bool);
    impl Drop for Guard {
        fn drop(&mut self) {
            if !self.1 {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    fn m<T: From<OffsetMap>>(v: serde_json::Value) -> T {
        T::from(v.as_object().cloned().unwrap_or_default())
    }

    #[async_trait::async_trait]
    impl SourceTask for Slow {
        async fn start(&mut self, _c: Config, _ctx: SourceTaskContext) -> ConnectResult<()> {
            Ok(())
        }
        async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
            let mut guard = Guard(self.dropped.clone(), false);
            tokio::time::sleep(self.delay).await;
            guard.1 = true;
            if self.fail_at == Some(self.next) {
                return Err(ConnectError::fatal("poll failed on purpose"));
            }
            let out = (self.next..self.next + self.per_poll)
                .map(|n| {
                    SourceRecord::new(
                        m(json!({"p": 0})),
                        m(json!({"n": n})),
                        "t",
                        None,
                        Value::String("x".repeat(100)),
                    )
                })
                .collect();
            self.next += self.per_poll;
            Ok(out)
        }
        async fn commit(&mut self) -> ConnectResult<()> {
            self.commits.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        async fn stop(&mut self) -> ConnectResult<()> {
            Ok(())
        }
    }

    fn slow(delay_ms: u64, per_poll: u64) -> (Slow, Arc<AtomicU64>, Arc<AtomicU64>) {
        let dropped = Arc::new(AtomicU64::new(0));
        let commits = Arc::new(AtomicU64::new(0));
        (
            Slow {
                delay: Duration::from_millis(delay_ms),
                per_poll,
                next: 0,
                dropped: dropped.clone(),
                commits: commits.clone(),
                fail_at: None,
            },
            dropped,
            commits,
        )
    }

    fn numbers(b: &Polled) -> Vec<u64> {
        b.records
            .iter()
            .filter_map(|r| r.source_offset.get_i64("n").map(|n| n as u64))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn pause_and_commit_requests_never_drop_a_pending_poll() {
        let (task, dropped, commits) = slow(2_000, 3);
        let (_stop_tx, stop) = watch::channel(false);
        let (pause_tx, paused) = watch::channel(false);
        let mut p = Poller::start(Box::new(task), stop, paused);
        // While the first poll runs: commit requests every 100 ms and a
        // pause. Neither may drop the poll.
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            p.request_commit();
        }
        pause_tx.send_replace(true);
        assert!(!*p.paused.borrow(), "not paused while the poll runs");
        let first = p.batches.recv().await.expect("first batch");
        p.paused.changed().await.expect("paused after the poll");
        assert!(*p.paused.borrow());
        assert_eq!(numbers(&first), vec![0, 1, 2]);
        assert!(first.took >= Duration::from_secs(2), "{:?}", first.took);
        // Paused: no more polls, but a commit request is served.
        p.request_commit();
        let waited = tokio::time::timeout(Duration::from_secs(10), p.batches.recv()).await;
        assert!(waited.is_err(), "no batch while paused");
        assert!(commits.load(Ordering::SeqCst) >= 1);
        pause_tx.send_replace(false);
        let second = p.batches.recv().await.expect("second batch");
        assert_eq!(numbers(&second), vec![3, 4, 5]);
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_drops_the_pending_poll_and_returns_the_task() {
        let (task, dropped, _) = slow(60_000, 1);
        let (stop_tx, stop) = watch::channel(false);
        let (_pause_tx, paused) = watch::channel(false);
        let mut p = Poller::start(Box::new(task), stop, paused);
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop_tx.send_replace(true);
        let (task, result) = p.finish().await;
        assert!(task.is_some() && result.is_ok());
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_queue_is_bounded_in_records() {
        let (task, _, _) = slow(1, 4);
        let (_stop_tx, stop) = watch::channel(false);
        let (_pause_tx, paused) = watch::channel(false);
        let mut p = Poller::start_with(Box::new(task), stop, paused, Room::new(10, 1 << 20));
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Nobody takes batches: 10 records of room hold two batches of 4
        // (the third needs 4 more).
        let mut held = Vec::new();
        while let Ok(b) = p.batches.try_recv() {
            held.push(b);
        }
        assert_eq!(held.len(), 2, "batches queued without a consumer");
        drop(held);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            numbers(&p.batches.recv().await.expect("next")),
            vec![8, 9, 10, 11]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_queue_is_bounded_in_bytes_but_a_big_batch_passes_alone() {
        let (task, _, _) = slow(1, 5); // 5 x 100 B per batch
        let (_stop_tx, stop) = watch::channel(false);
        let (_pause_tx, paused) = watch::channel(false);
        let mut p = Poller::start_with(Box::new(task), stop, paused, Room::new(1_000, 300));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut held = Vec::new();
        while let Ok(b) = p.batches.try_recv() {
            held.push(b);
        }
        assert_eq!(held.len(), 1, "one oversized batch at a time");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fatal_poll_error_ends_the_loop_with_it() {
        let (mut task, _, _) = slow(10, 2);
        task.fail_at = Some(2);
        let (_stop_tx, stop) = watch::channel(false);
        let (_pause_tx, paused) = watch::channel(false);
        let mut p = Poller::start(Box::new(task), stop, paused);
        assert_eq!(numbers(&p.batches.recv().await.expect("first")), vec![0, 1]);
        assert!(p.batches.recv().await.is_none(), "closed after the error");
        let (_, result) = p.finish().await;
        let e = result.expect_err("the poll error");
        assert!(e.to_string().contains("on purpose"), "{e}");
    }
}
