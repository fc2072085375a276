//! Small shared helpers.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex; a panic elsewhere while holding it does not poison the
/// state for everyone else (the state is kept consistent under the lock).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The next batch a source task's driver queued: waits up to `wait` for a
/// first message, then takes what else is there, up to `max`. An empty
/// batch when none came; the driver's fatal reason (or `stopped`) when its
/// queue closed.
pub(crate) async fn next_batch<T>(
    rx: &mut tokio::sync::mpsc::Receiver<T>,
    wait: std::time::Duration,
    max: usize,
    fatal: &Mutex<Option<String>>,
    stopped: &str,
) -> sluice_connect_api::ConnectResult<Vec<T>> {
    if let Some(why) = lock(fatal).clone() {
        return Err(sluice_connect_api::ConnectError::fatal(why));
    }
    let first = match tokio::time::timeout(wait, rx.recv()).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            let why = lock(fatal).clone().unwrap_or_else(|| stopped.to_string());
            return Err(sluice_connect_api::ConnectError::fatal(why));
        }
        Err(_) => return Ok(Vec::new()),
    };
    let mut batch = vec![first];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(m) => batch.push(m),
            Err(_) => break,
        }
    }
    Ok(batch)
}

/// A config validator: the key must not be blank; `what` says what it is.
pub(crate) fn not_blank(what: &'static str) -> sluice_connect_api::config::Validator {
    sluice_connect_api::config::Validator::custom(move |v| {
        if v.to_string().trim().is_empty() {
            Err(format!("is required: {what}"))
        } else {
            Ok(())
        }
    })
}
