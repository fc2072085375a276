//! Rate gauges (`..._rate`, records per second over the sample window)
//! derived from the counters, once a second.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use prometheus::core::Collector;
use prometheus::{GaugeVec, IntCounterVec};

use super::families::Families;

type Key = (usize, String, String);

#[derive(Debug, Default)]
pub(super) struct Rates {
    history: HashMap<Key, VecDeque<(Instant, u64)>>,
}

/// `(connector, task, value)` of every series of a counter family.
fn series(c: &IntCounterVec) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for family in c.collect() {
        for m in family.get_metric() {
            let v = m.get_counter().get_value();
            out.push((
                super::label(m, "connector"),
                super::label(m, "task"),
                v.max(0.0) as u64,
            ));
        }
    }
    out
}

impl Rates {
    pub(super) fn update(&mut self, f: &Families, window: Duration) {
        let now = Instant::now();
        let pairs: [(&IntCounterVec, &GaugeVec); 4] = [
            (&f.source.poll_total, &f.source.poll_rate),
            (&f.source.write_total, &f.source.write_rate),
            (&f.sink.read_total, &f.sink.read_rate),
            (&f.sink.send_total, &f.sink.send_rate),
        ];
        let mut seen = Vec::new();
        for (i, (counter, gauge)) in pairs.into_iter().enumerate() {
            for (connector, task, value) in series(counter) {
                let key = (i, connector, task);
                let h = self.history.entry(key.clone()).or_default();
                h.push_back((now, value));
                // Keep one point at or before the window's start.
                while h.len() > 2
                    && h.get(1)
                        .is_some_and(|(t, _)| now.duration_since(*t) >= window)
                {
                    h.pop_front();
                }
                let rate = match h.front() {
                    Some((t0, v0)) if now > *t0 => {
                        value.saturating_sub(*v0) as f64 / now.duration_since(*t0).as_secs_f64()
                    }
                    _ => 0.0,
                };
                gauge.with_label_values(&[&key.1, &key.2]).set(rate);
                seen.push(key);
            }
        }
        self.history.retain(|k, _| {
            let keep = seen.contains(k);
            if !keep && let Some((_, gauge)) = pairs.get(k.0) {
                let _ = gauge.remove_label_values(&[&k.1, &k.2]);
            }
            keep
        });
    }
}
