//! A burst of refused credentials is an anomaly: every 5 s the worker
//! feeds the authentication counters (accepted, refused) to the flow
//! anomaly detector as records and errors, and reports its error bursts:
//! a WARN line and `sluice_rest_authentication_anomaly{kind="error_burst"}`
//! on `/metrics` (not `/health`: a burst is not a reason to take the
//! worker out of a load balancer).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::anomaly::detector::{AnomalyKind, Detector, DetectorConfig, Sample, Transition};

use super::auth::BasicAuth;

/// How often the counters are sampled.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// The detector and what it last saw.
#[derive(Debug)]
pub struct AuthWatch {
    detector: Detector,
    last: (u64, u64),
    at: Option<Instant>,
    /// The active burst's description.
    pub active: Option<String>,
}

impl Default for AuthWatch {
    fn default() -> Self {
        Self {
            // Five refusals in a sample that are most of its requests
            // (before a baseline is learned), or far above the learned
            // share of refusals after.
            detector: Detector::new(DetectorConfig::default()),
            last: (0, 0),
            at: None,
            active: None,
        }
    }
}

impl AuthWatch {
    /// Feeds the counters' totals now; returns a change of the burst state
    /// (`Some(Some(text))` raised, `Some(None)` cleared).
    pub fn observe(&mut self, accepted: u64, refused: u64, now: Instant) -> Option<Option<String>> {
        let Some(at) = self.at.replace(now) else {
            self.last = (accepted, refused);
            return None;
        };
        let sample = Sample {
            records: accepted.saturating_sub(self.last.0),
            errors: refused.saturating_sub(self.last.1),
            lag: None,
            seconds: now.duration_since(at).as_secs_f64(),
        };
        self.last = (accepted, refused);
        let mut change = None;
        for t in self.detector.observe(&sample) {
            match t {
                Transition::Raised(a) if a.kind == AnomalyKind::ErrorBurst => {
                    let text = format!("authentication failures: {}", a.message);
                    self.active = Some(text.clone());
                    change = Some(Some(text));
                }
                Transition::Cleared(AnomalyKind::ErrorBurst) => {
                    self.active = None;
                    change = Some(None);
                }
                _ => {}
            }
        }
        change
    }
}

/// Samples `auth`'s counters every [`INTERVAL`] for as long as it lives.
pub fn spawn(auth: Arc<BasicAuth>) {
    let weak = Arc::downgrade(&auth);
    drop(auth);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(INTERVAL).await;
            let Some(auth) = weak.upgrade() else { return };
            let (ok, bad) = (
                auth.successes.load(Ordering::Relaxed),
                auth.failures.load(Ordering::Relaxed),
            );
            let change = auth
                .watch
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .observe(ok, bad, Instant::now());
            match change {
                Some(Some(text)) => tracing::warn!(anomaly = "error_burst", "{text}"),
                Some(None) => tracing::info!(
                    anomaly = "error_burst",
                    "authentication failures back to normal"
                ),
                None => {}
            }
        }
    });
}

/// `/metrics` lines of the watch.
pub fn render(auth: &BasicAuth) -> String {
    let active = auth
        .watch
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .active
        .is_some();
    format!(
        "# HELP sluice_rest_authentication_successes_total REST requests whose credentials were accepted.\n\
         # TYPE sluice_rest_authentication_successes_total counter\n\
         sluice_rest_authentication_successes_total {}\n\
         # HELP sluice_rest_authentication_anomaly 1 while refused credentials come in a burst (the flow anomaly detector's error burst).\n\
         # TYPE sluice_rest_authentication_anomaly gauge\n\
         sluice_rest_authentication_anomaly{{kind=\"error_burst\"}} {}\n",
        auth.successes.load(Ordering::Relaxed),
        u8::from(active)
    )
}

/// The shared watch type the auth settings hold.
pub type Watch = Mutex<AuthWatch>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_refusals_is_raised_and_cleared() {
        let mut w = AuthWatch::default();
        let t0 = Instant::now();
        let at = |i: u64| t0 + INTERVAL * u32::try_from(i).unwrap();
        assert_eq!(w.observe(0, 0, at(0)), None);
        // Normal traffic: a refusal now and then is not a burst.
        let (mut ok, mut bad) = (0, 0);
        for i in 1..=20 {
            ok += 50;
            bad += u64::from(i % 7 == 0);
            assert_eq!(w.observe(ok, bad, at(i)), None, "sample {i}");
        }
        // 200 wrong passwords in 5 s.
        bad += 200;
        let raised = w.observe(ok + 50, bad, at(21)).expect("raised");
        let text = raised.expect("a burst");
        assert!(text.contains("200 errors"), "{text}");
        assert!(w.active.is_some());
        ok += 50;
        for i in 22..40 {
            ok += 50;
            if let Some(None) = w.observe(ok, bad, at(i)) {
                assert!(w.active.is_none());
                return;
            }
        }
        panic!("the burst never cleared");
    }
}
