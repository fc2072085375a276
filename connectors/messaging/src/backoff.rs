//! Reconnecting to a broker: what a failure means, and the wait before the
//! next attempt.

use std::time::Duration;

/// A failed connection attempt or a lost connection.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth another attempt (network, broker restarting).
    Transient(String),
    /// The broker refuses this configuration; retrying will not help.
    Refused(String),
}

/// Exponential backoff from 100 ms to `max`.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            next: Duration::from_millis(100),
            max,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.next = Duration::from_millis(100);
    }

    /// The wait before the next attempt.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let w = self.next.min(self.max);
        self.next = (self.next * 2).min(self.max);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(500));
        let waits: Vec<u128> = (0..5).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 500, 500]);
        b.reset();
        assert_eq!(b.next_wait().as_millis(), 100);
    }
}
