//! Average and maximum over a sliding window, as Kafka Connect's sampled
//! `Avg`/`Max` stats (two samples of half the window each).

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    start: Instant,
    sum: f64,
    count: u64,
    max: f64,
}

impl Bucket {
    fn new(start: Instant) -> Self {
        Self {
            start,
            sum: 0.0,
            count: 0,
            max: f64::NAN,
        }
    }
}

/// Values recorded over roughly the last `window`. Owned by one task loop;
/// no locking.
#[derive(Debug, Clone)]
pub struct WindowStat {
    half: Duration,
    current: Bucket,
    previous: Option<Bucket>,
}

impl WindowStat {
    pub fn new(window: Duration) -> Self {
        Self {
            half: (window / 2).max(Duration::from_millis(1)),
            current: Bucket::new(Instant::now()),
            previous: None,
        }
    }

    fn roll(&mut self, now: Instant) {
        let age = now.duration_since(self.current.start);
        if age >= self.half * 2 {
            self.previous = None;
            self.current = Bucket::new(now);
        } else if age >= self.half {
            self.previous = Some(self.current);
            self.current = Bucket::new(now);
        }
    }

    pub fn record(&mut self, value: f64) {
        self.roll(Instant::now());
        let b = &mut self.current;
        b.sum += value;
        b.count += 1;
        b.max = if b.max.is_nan() {
            value
        } else {
            b.max.max(value)
        };
    }

    /// Average over the window; NaN when nothing was recorded (Kafka
    /// Connect reports NaN too).
    pub fn avg(&mut self) -> f64 {
        self.roll(Instant::now());
        let (sum, count) = self
            .previous
            .iter()
            .chain(std::iter::once(&self.current))
            .fold((0.0, 0u64), |(s, c), b| (s + b.sum, c + b.count));
        if count == 0 {
            f64::NAN
        } else {
            sum / count as f64
        }
    }

    /// Maximum over the window; NaN when nothing was recorded.
    pub fn max(&mut self) -> f64 {
        self.roll(Instant::now());
        self.previous
            .iter()
            .chain(std::iter::once(&self.current))
            .map(|b| b.max)
            .fold(f64::NAN, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avg_and_max_over_the_window() {
        let mut w = WindowStat::new(Duration::from_secs(60));
        assert!(w.avg().is_nan() && w.max().is_nan());
        for v in [1.0, 5.0, 3.0] {
            w.record(v);
        }
        assert_eq!(w.avg(), 3.0);
        assert_eq!(w.max(), 5.0);
    }

    #[test]
    fn old_values_leave_the_window() {
        let mut w = WindowStat::new(Duration::from_millis(20));
        w.record(100.0);
        std::thread::sleep(Duration::from_millis(30));
        w.record(1.0);
        assert_eq!(w.max(), 1.0);
    }
}
