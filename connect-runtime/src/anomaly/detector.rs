//! Anomaly detection for per-connector record flows.
//!
//! The worker takes one [`Sample`] per connector per interval (5 s by default)
//! and feeds it to that connector's [`Detector`]. The detector learns the
//! normal record rate (records/s) and the normal error ratio
//! (`errors / (records + errors)`) with an exponentially weighted mean and
//! variance, and raises or clears [`Anomaly`]s:
//!
//! * [`AnomalyKind::Stall`]: the rate is at most `stall_fraction` times the
//!   expected rate while that expected rate is at least `min_rate`; or, with
//!   or without a baseline, a sink reports lag > 0 while moving no records.
//! * [`AnomalyKind::Drop`]: the rate is below `mean - deviations * sd` and
//!   below half the mean, and it is not a stall (stall wins).
//! * [`AnomalyKind::Spike`]: the rate is above `mean + deviations * sd` and
//!   above twice the mean.
//! * [`AnomalyKind::ErrorBurst`]: at least `error_burst_min` errors in the
//!   sample and an error ratio above `mean + deviations * sd` of the learned
//!   ratio (above 0.5 before the ratio baseline is warmed up).
//! * [`AnomalyKind::LagGrowth`]: the sink lag grew in each of the last
//!   `lag_growth_samples` samples and is now above `lag_min`.
//!
//! Rate-based anomalies (stall by rate, drop, spike) are only judged once
//! `warmup_samples` samples have been learned into the rate baseline and the
//! learned rate is at least `min_rate`. Samples showing a rate anomaly are not
//! learned into the rate baseline, and samples showing an error burst are not
//! learned into the error-ratio baseline, so a long incident never becomes
//! "normal". The standard deviation used for judging is floored at
//! `max(sd, 0.1 * mean, 1.0)` for the rate and `max(sd, 0.1 * mean, 0.01)` for
//! the error ratio, so a perfectly steady flow does not flag tiny wobbles.
//!
//! An active anomaly clears after `clear_samples` consecutive samples in which
//! its condition does not hold. Each raise and each clear is reported exactly
//! once, as a [`Transition`] returned from [`Detector::observe`].
//!
//! Samples whose `seconds` is not a finite positive number, or whose rate
//! would not be finite, are ignored entirely. Nothing in this module panics.

use std::fmt;

/// Absolute floor of the rate standard deviation, in records/s.
const MIN_RATE_SD: f64 = 1.0;
/// Absolute floor of the error-ratio standard deviation.
const MIN_RATIO_SD: f64 = 0.01;
/// Floor of any standard deviation, relative to its mean.
const MIN_RELATIVE_SD: f64 = 0.1;
/// Error ratio above which a sample is an error burst before warm-up.
const WARMUP_ERROR_RATIO: f64 = 0.5;

/// Tuning of a [`Detector`]. [`Default`] gives the documented defaults.
///
/// Out-of-range values are replaced when the detector is built: a
/// non-finite or negative `deviations`, `stall_fraction` or `min_rate`, or an
/// `alpha` outside `(0, 1]`, falls back to its default; `warmup_samples`,
/// `lag_growth_samples` and `clear_samples` are raised to at least 1.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    /// Samples that must be learned before rate anomalies (and the learned
    /// error ratio) are used. Default 12.
    pub warmup_samples: u32,
    /// How many standard deviations away from the mean counts as anomalous.
    /// Default 4.0.
    pub deviations: f64,
    /// Smoothing factor of the exponentially weighted mean and variance.
    /// Default 0.1.
    pub alpha: f64,
    /// A rate at or below this fraction of the expected rate is a stall.
    /// Default 0.05.
    pub stall_fraction: f64,
    /// Minimum expected rate (records/s) for rate anomalies to be judged.
    /// Default 1.0.
    pub min_rate: f64,
    /// Minimum errors in one sample for an error burst. Default 5.
    pub error_burst_min: u64,
    /// Consecutive samples of growing sink lag for lag growth. Default 6.
    pub lag_growth_samples: u32,
    /// Sink lag must exceed this for lag growth. Default 100.
    pub lag_min: i64,
    /// Consecutive samples without the condition before an anomaly clears.
    /// Default 3.
    pub clear_samples: u32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            warmup_samples: 12,
            deviations: 4.0,
            alpha: 0.1,
            stall_fraction: 0.05,
            min_rate: 1.0,
            error_burst_min: 5,
            lag_growth_samples: 6,
            lag_min: 100,
            clear_samples: 3,
        }
    }
}

impl DetectorConfig {
    /// Replaces values that would make the detector meaningless.
    fn sanitized(self) -> Self {
        let defaults = Self::default();
        let non_negative = |value: f64, fallback: f64| {
            if value.is_finite() && value >= 0.0 {
                value
            } else {
                fallback
            }
        };
        Self {
            warmup_samples: self.warmup_samples.max(1),
            deviations: non_negative(self.deviations, defaults.deviations),
            alpha: if self.alpha > 0.0 && self.alpha <= 1.0 {
                self.alpha
            } else {
                defaults.alpha
            },
            stall_fraction: non_negative(self.stall_fraction, defaults.stall_fraction),
            min_rate: non_negative(self.min_rate, defaults.min_rate),
            error_burst_min: self.error_burst_min,
            lag_growth_samples: self.lag_growth_samples.max(1),
            lag_min: self.lag_min,
            clear_samples: self.clear_samples.max(1),
        }
    }
}

/// One interval's measurements for one connector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Records successfully moved during the interval.
    pub records: u64,
    /// Records that failed during the interval.
    pub errors: u64,
    /// Total sink lag at the end of the interval; `None` for sources.
    pub lag: Option<i64>,
    /// Length of the interval in seconds; samples where this is not a
    /// finite positive number are ignored.
    pub seconds: f64,
}

/// The kinds of anomaly a [`Detector`] reports, in reporting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// The flow stopped: rate near zero, or a sink backlog that does not move.
    Stall,
    /// The rate fell far below normal (but is not a stall).
    Drop,
    /// The rate rose far above normal.
    Spike,
    /// The error ratio rose far above normal.
    ErrorBurst,
    /// The sink lag keeps growing.
    LagGrowth,
}

impl AnomalyKind {
    /// Every kind, in order.
    pub const ALL: [AnomalyKind; 5] = [
        AnomalyKind::Stall,
        AnomalyKind::Drop,
        AnomalyKind::Spike,
        AnomalyKind::ErrorBurst,
        AnomalyKind::LagGrowth,
    ];

    /// Stable snake_case name, e.g. for metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::Stall => "stall",
            AnomalyKind::Drop => "drop",
            AnomalyKind::Spike => "spike",
            AnomalyKind::ErrorBurst => "error_burst",
            AnomalyKind::LagGrowth => "lag_growth",
        }
    }

    /// Position in [`AnomalyKind::ALL`].
    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An anomaly that is (or was, when raised) active.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// What kind of anomaly.
    pub kind: AnomalyKind,
    /// Sequence number (1-based, as counted by [`Detector::samples`]) of the
    /// sample that raised it.
    pub since_sample: u64,
    /// Human-readable description with the numbers, e.g.
    /// `"rate 0.0/s vs expected 812.4/s (sd 81.2) for 3 samples"`.
    pub message: String,
}

/// A change in the set of active anomalies caused by one sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The anomaly became active with this sample.
    Raised(Anomaly),
    /// The anomaly of this kind stopped being active with this sample.
    Cleared(AnomalyKind),
}

/// Exponentially weighted mean and variance.
///
/// The first samples use a weight of `1/n` instead of `alpha` when that is
/// larger, so the warm-up estimate is the plain mean and population variance
/// rather than being dominated by the first sample.
#[derive(Debug, Clone, Copy, Default)]
struct Ewm {
    count: u64,
    mean: f64,
    var: f64,
}

impl Ewm {
    fn update(&mut self, x: f64, alpha: f64) {
        if !x.is_finite() {
            return;
        }
        self.count = self.count.saturating_add(1);
        let weight = alpha.max(1.0 / self.count as f64);
        let diff = x - self.mean;
        let incr = weight * diff;
        let mean = self.mean + incr;
        let var = (1.0 - weight) * (self.var + diff * incr);
        self.mean = if mean.is_finite() { mean } else { x };
        self.var = if var.is_nan() {
            0.0
        } else {
            var.clamp(0.0, f64::MAX)
        };
    }

    fn sd(&self) -> f64 {
        self.var.sqrt()
    }
}

/// `sd` floored at `MIN_RELATIVE_SD * |mean|` and at `floor`.
fn floored_sd(sd: f64, mean: f64, floor: f64) -> f64 {
    sd.max(MIN_RELATIVE_SD * mean.abs()).max(floor)
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "sample" } else { "samples" }
}

/// The numbers of one sample, judged against the baselines as they were
/// before that sample.
#[derive(Debug)]
struct Observation {
    rate: f64,
    rate_warm: bool,
    rate_mean: f64,
    rate_sd: f64,
    records: u64,
    errors: u64,
    ratio: Option<f64>,
    ratio_warm: bool,
    ratio_mean: f64,
    ratio_sd: f64,
    ratio_threshold: f64,
    lag: Option<i64>,
    lag_streak: u32,
    lag_streak_start: i64,
}

impl Observation {
    fn describe(&self, kind: AnomalyKind) -> String {
        match kind {
            AnomalyKind::Stall | AnomalyKind::Drop | AnomalyKind::Spike => {
                let mut text = if self.rate_warm {
                    format!(
                        "rate {:.1}/s vs expected {:.1}/s (sd {:.1})",
                        self.rate, self.rate_mean, self.rate_sd
                    )
                } else {
                    format!("rate {:.1}/s, no learned rate yet", self.rate)
                };
                if let Some(lag) = self.lag {
                    text.push_str(&format!(", sink lag {lag}"));
                }
                text
            }
            AnomalyKind::ErrorBurst => {
                let total = u128::from(self.records) + u128::from(self.errors);
                let mut text = format!("{} errors in {} records", self.errors, total);
                if let Some(ratio) = self.ratio {
                    text.push_str(&format!(" (ratio {ratio:.3})"));
                }
                if self.ratio_warm {
                    text.push_str(&format!(
                        " vs expected ratio {:.3} (sd {:.3})",
                        self.ratio_mean, self.ratio_sd
                    ));
                } else {
                    text.push_str(&format!(" vs warm-up threshold {WARMUP_ERROR_RATIO:.3}"));
                }
                text
            }
            AnomalyKind::LagGrowth => match self.lag {
                Some(lag) if self.lag_streak > 0 => format!(
                    "sink lag grew for {} consecutive samples, {} -> {}",
                    self.lag_streak, self.lag_streak_start, lag
                ),
                Some(lag) => format!("sink lag {lag}, not growing"),
                None => "no sink lag reported".to_string(),
            },
        }
    }
}

/// Bookkeeping of one active anomaly.
#[derive(Debug, Clone)]
struct ActiveState {
    anomaly: Anomaly,
    /// Samples since raising in which the condition held.
    held: u64,
    /// Consecutive samples, up to now, in which the condition did not hold.
    clean: u32,
}

/// Learns one connector's normal flow and reports anomalies in it.
#[derive(Debug)]
pub struct Detector {
    config: DetectorConfig,
    samples: u64,
    rate: Ewm,
    ratio: Ewm,
    last_lag: Option<i64>,
    lag_streak: u32,
    lag_streak_start: i64,
    active: [Option<ActiveState>; 5],
}

impl Detector {
    /// Creates a detector with no history. Out-of-range configuration values
    /// are replaced as described on [`DetectorConfig`].
    pub fn new(config: DetectorConfig) -> Self {
        Self {
            config: config.sanitized(),
            samples: 0,
            rate: Ewm::default(),
            ratio: Ewm::default(),
            last_lag: None,
            lag_streak: 0,
            lag_streak_start: 0,
            active: [None, None, None, None, None],
        }
    }

    /// Feeds one sample; returns what was raised or cleared by it.
    ///
    /// Transitions are ordered by kind. A sample whose `seconds` is not a
    /// finite positive number (or whose rate would overflow) is ignored and
    /// returns nothing.
    pub fn observe(&mut self, sample: &Sample) -> Vec<Transition> {
        let seconds = sample.seconds;
        if !(seconds.is_finite() && seconds > 0.0) {
            return Vec::new();
        }
        let rate = sample.records as f64 / seconds;
        if !rate.is_finite() {
            return Vec::new();
        }
        self.samples = self.samples.saturating_add(1);
        self.track_lag(sample.lag);
        let observation = self.observation(sample, rate);
        let conditions = self.conditions(sample, &observation);
        let transitions = self.update_states(&observation, &conditions);
        self.learn(&observation, &conditions);
        transitions
    }

    /// Anomalies active now, ordered by kind; each message updated with the
    /// latest numbers.
    pub fn active(&self) -> Vec<Anomaly> {
        self.active
            .iter()
            .flatten()
            .map(|state| state.anomaly.clone())
            .collect()
    }

    /// Learned expected rate (records/s) and its sd, if warmed up.
    ///
    /// The sd is the one used for judging, i.e. floored at
    /// `max(sd, 0.1 * mean, 1.0)`.
    pub fn expected_rate(&self) -> Option<(f64, f64)> {
        if self.rate_warm() {
            Some((
                self.rate.mean,
                floored_sd(self.rate.sd(), self.rate.mean, MIN_RATE_SD),
            ))
        } else {
            None
        }
    }

    /// Samples observed so far (ignored samples are not counted).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    fn rate_warm(&self) -> bool {
        self.rate.count >= u64::from(self.config.warmup_samples)
    }

    fn ratio_warm(&self) -> bool {
        self.ratio.count >= u64::from(self.config.warmup_samples)
    }

    fn track_lag(&mut self, lag: Option<i64>) {
        match lag {
            Some(lag) => {
                match self.last_lag {
                    Some(previous) if lag > previous => {
                        if self.lag_streak == 0 {
                            self.lag_streak_start = previous;
                        }
                        self.lag_streak = self.lag_streak.saturating_add(1);
                    }
                    _ => self.lag_streak = 0,
                }
                self.last_lag = Some(lag);
            }
            None => {
                self.last_lag = None;
                self.lag_streak = 0;
            }
        }
    }

    fn observation(&self, sample: &Sample, rate: f64) -> Observation {
        let rate_mean = self.rate.mean;
        let ratio_mean = self.ratio.mean;
        let ratio_sd = floored_sd(self.ratio.sd(), ratio_mean, MIN_RATIO_SD);
        let ratio_warm = self.ratio_warm();
        let total = sample.records as f64 + sample.errors as f64;
        let ratio = if total > 0.0 {
            Some(sample.errors as f64 / total)
        } else {
            None
        };
        Observation {
            rate,
            rate_warm: self.rate_warm(),
            rate_mean,
            rate_sd: floored_sd(self.rate.sd(), rate_mean, MIN_RATE_SD),
            records: sample.records,
            errors: sample.errors,
            ratio,
            ratio_warm,
            ratio_mean,
            ratio_sd,
            ratio_threshold: if ratio_warm {
                ratio_mean + self.config.deviations * ratio_sd
            } else {
                WARMUP_ERROR_RATIO
            },
            lag: sample.lag,
            lag_streak: self.lag_streak,
            lag_streak_start: self.lag_streak_start,
        }
    }

    /// Which conditions hold for this sample, indexed by kind.
    fn conditions(&self, sample: &Sample, obs: &Observation) -> [bool; 5] {
        let cfg = &self.config;
        let mean = obs.rate_mean;
        let judged = obs.rate_warm && mean >= cfg.min_rate;
        let stuck_backlog = sample.records == 0 && sample.lag.is_some_and(|lag| lag > 0);
        // A sink that has caught up (known lag 0) is idle, not stalled.
        let caught_up = sample.lag.is_some_and(|lag| lag <= 0);
        // A flow whose normal level swings to zero (a source that polls in
        // bursts) has no stall to speak of: only a rate that is both near
        // zero and far outside its usual spread is one.
        let steady = mean - cfg.deviations * obs.rate_sd > 0.0;
        let stall = stuck_backlog
            || (judged && steady && !caught_up && obs.rate <= cfg.stall_fraction * mean);
        let drop = judged
            && !stall
            && !caught_up
            && obs.rate < mean - cfg.deviations * obs.rate_sd
            && obs.rate < 0.5 * mean;
        let spike =
            judged && obs.rate > mean + cfg.deviations * obs.rate_sd && obs.rate > 2.0 * mean;
        let error_burst = sample.errors >= cfg.error_burst_min
            && obs.ratio.is_some_and(|ratio| ratio > obs.ratio_threshold);
        let lag_growth = self.lag_streak >= cfg.lag_growth_samples
            && sample.lag.is_some_and(|lag| lag > cfg.lag_min);
        let mut conditions = [false; 5];
        conditions[AnomalyKind::Stall.index()] = stall;
        conditions[AnomalyKind::Drop.index()] = drop;
        conditions[AnomalyKind::Spike.index()] = spike;
        conditions[AnomalyKind::ErrorBurst.index()] = error_burst;
        conditions[AnomalyKind::LagGrowth.index()] = lag_growth;
        conditions
    }

    fn update_states(&mut self, obs: &Observation, conditions: &[bool; 5]) -> Vec<Transition> {
        let clear_samples = self.config.clear_samples;
        let sample_no = self.samples;
        let mut transitions = Vec::new();
        for kind in AnomalyKind::ALL {
            let index = kind.index();
            let holds = conditions[index];
            let slot = &mut self.active[index];
            match slot {
                None if holds => {
                    let anomaly = Anomaly {
                        kind,
                        since_sample: sample_no,
                        message: format!("{} for 1 sample", obs.describe(kind)),
                    };
                    *slot = Some(ActiveState {
                        anomaly: anomaly.clone(),
                        held: 1,
                        clean: 0,
                    });
                    transitions.push(Transition::Raised(anomaly));
                }
                None => {}
                Some(state) if holds => {
                    state.held = state.held.saturating_add(1);
                    state.clean = 0;
                    state.anomaly.message = format!(
                        "{} for {} {}",
                        obs.describe(kind),
                        state.held,
                        plural(state.held)
                    );
                }
                Some(state) => {
                    state.clean = state.clean.saturating_add(1);
                    if state.clean >= clear_samples {
                        *slot = None;
                        transitions.push(Transition::Cleared(kind));
                    } else {
                        state.anomaly.message = format!(
                            "{}; anomalous for {} {}, {}/{} normal samples toward clearing",
                            obs.describe(kind),
                            state.held,
                            plural(state.held),
                            state.clean,
                            clear_samples
                        );
                    }
                }
            }
        }
        transitions
    }

    fn learn(&mut self, obs: &Observation, conditions: &[bool; 5]) {
        let alpha = self.config.alpha;
        let rate_anomaly = conditions[AnomalyKind::Stall.index()]
            || conditions[AnomalyKind::Drop.index()]
            || conditions[AnomalyKind::Spike.index()];
        if !rate_anomaly {
            self.rate.update(obs.rate, alpha);
        }
        if !conditions[AnomalyKind::ErrorBurst.index()]
            && let Some(ratio) = obs.ratio
        {
            self.ratio.update(ratio, alpha);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECONDS: f64 = 5.0;

    fn sample(records: u64) -> Sample {
        Sample {
            records,
            errors: 0,
            lag: None,
            seconds: SECONDS,
        }
    }

    fn with_errors(records: u64, errors: u64) -> Sample {
        Sample {
            records,
            errors,
            lag: None,
            seconds: SECONDS,
        }
    }

    fn with_lag(records: u64, lag: i64) -> Sample {
        Sample {
            records,
            errors: 0,
            lag: Some(lag),
            seconds: SECONDS,
        }
    }

    /// Deterministic noisy record count: 475..=525 per 5 s, i.e. ~100/s ±5%.
    fn noisy(i: u64) -> u64 {
        475 + (i.wrapping_mul(37) % 51)
    }

    fn detector() -> Detector {
        Detector::new(DetectorConfig::default())
    }

    /// A detector fed `n` noisy normal samples, asserting nothing happened.
    fn warmed(n: u64) -> Detector {
        let mut d = detector();
        for i in 0..n {
            assert_eq!(d.observe(&sample(noisy(i))), vec![], "sample {i}");
        }
        d
    }

    fn raised(transitions: &[Transition]) -> Vec<AnomalyKind> {
        transitions
            .iter()
            .filter_map(|t| match t {
                Transition::Raised(a) => Some(a.kind),
                Transition::Cleared(_) => None,
            })
            .collect()
    }

    fn cleared(transitions: &[Transition]) -> Vec<AnomalyKind> {
        transitions
            .iter()
            .filter_map(|t| match t {
                Transition::Cleared(k) => Some(*k),
                Transition::Raised(_) => None,
            })
            .collect()
    }

    fn active_kinds(d: &Detector) -> Vec<AnomalyKind> {
        d.active().iter().map(|a| a.kind).collect()
    }

    #[test]
    fn default_config_matches_spec() {
        let c = DetectorConfig::default();
        assert_eq!(c.warmup_samples, 12);
        assert_eq!(c.deviations, 4.0);
        assert_eq!(c.alpha, 0.1);
        assert_eq!(c.stall_fraction, 0.05);
        assert_eq!(c.min_rate, 1.0);
        assert_eq!(c.error_burst_min, 5);
        assert_eq!(c.lag_growth_samples, 6);
        assert_eq!(c.lag_min, 100);
        assert_eq!(c.clear_samples, 3);
    }

    #[test]
    fn kind_names_and_order() {
        let names: Vec<&str> = AnomalyKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            ["stall", "drop", "spike", "error_burst", "lag_growth"]
        );
        let mut sorted = AnomalyKind::ALL;
        sorted.sort();
        assert_eq!(sorted, AnomalyKind::ALL);
        assert_eq!(AnomalyKind::ErrorBurst.to_string(), "error_burst");
    }

    #[test]
    fn steady_noisy_flow_raises_nothing() {
        let mut d = warmed(2000);
        assert!(d.active().is_empty());
        assert_eq!(d.samples(), 2000);
        // Rare single errors do not count as bursts either.
        for i in 0..500 {
            let errors = u64::from(i % 20 == 0);
            assert_eq!(d.observe(&with_errors(noisy(i), errors)), vec![]);
        }
    }

    #[test]
    fn steady_flow_without_any_noise_tolerates_wobbles() {
        let mut d = detector();
        for _ in 0..100 {
            assert_eq!(d.observe(&sample(500)), vec![]);
        }
        // Perfectly steady: learned sd is 0, but the floor keeps ±20% quiet.
        for records in [400, 600, 450, 550, 500] {
            assert_eq!(d.observe(&sample(records)), vec![]);
        }
    }

    #[test]
    fn expected_rate_only_after_warm_up() {
        let mut d = detector();
        for i in 0..11 {
            d.observe(&sample(noisy(i)));
            assert_eq!(d.expected_rate(), None);
        }
        d.observe(&sample(noisy(11)));
        let (mean, sd) = d.expected_rate().unwrap_or((0.0, 0.0));
        assert!((95.0..=105.0).contains(&mean), "mean {mean}");
        // Floor: at least 10% of the mean.
        assert!(sd >= 0.1 * mean && sd < 20.0, "sd {sd}");
    }

    #[test]
    fn warm_up_uses_plain_average_not_first_sample() {
        // While 1/n > alpha the estimate is the plain mean of the samples.
        let mut d = Detector::new(DetectorConfig {
            warmup_samples: 10,
            ..DetectorConfig::default()
        });
        d.observe(&sample(0));
        for _ in 0..9 {
            d.observe(&sample(1000));
        }
        let (mean, sd) = d.expected_rate().unwrap_or((0.0, 0.0));
        // (0 + 9 * 200) / 10, population sd sqrt(0.1 * 0.9) * 200 = 60.
        assert!((mean - 180.0).abs() < 1e-9, "mean {mean}");
        assert!((sd - 60.0).abs() < 1e-9, "sd {sd}");
    }

    #[test]
    fn stall_raised_after_warm_up_and_not_before() {
        let mut d = warmed(11);
        // Only 11 samples learned: no judgement yet.
        assert!(d.active().is_empty());
        d.observe(&sample(noisy(11)));
        // 12 learned now: a zero is a stall.
        let t = d.observe(&sample(0));
        assert_eq!(raised(&t), vec![AnomalyKind::Stall]);
        match &t[0] {
            Transition::Raised(a) => {
                assert_eq!(a.since_sample, 13);
                assert!(
                    a.message.starts_with("rate 0.0/s vs expected"),
                    "{}",
                    a.message
                );
                assert!(a.message.ends_with("for 1 sample"), "{}", a.message);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn zero_learned_during_warm_up_makes_a_flow_unsteady_so_no_stall() {
        let mut d = warmed(11);
        d.observe(&sample(0));
        // mean - 4 sd < 0: a flow that has been at zero before is bursty.
        assert_eq!(d.observe(&sample(0)), vec![]);
    }

    #[test]
    fn bursty_flow_never_stalls() {
        let mut d = detector();
        for i in 0..40 {
            let records = if i % 2 == 0 { 0 } else { 200 };
            assert_eq!(raised(&d.observe(&sample(records))), vec![], "sample {i}");
        }
    }

    #[test]
    fn zeros_during_warm_up_never_stall() {
        let mut d = detector();
        for _ in 0..200 {
            assert_eq!(d.observe(&sample(0)), vec![]);
        }
        assert_eq!(d.expected_rate().map(|(m, _)| m), Some(0.0));
    }

    #[test]
    fn stall_clears_after_clear_samples_normal_samples() {
        let mut d = warmed(50);
        assert_eq!(raised(&d.observe(&sample(0))), vec![AnomalyKind::Stall]);
        for _ in 0..4 {
            assert_eq!(d.observe(&sample(0)), vec![]);
        }
        assert_eq!(d.observe(&sample(500)), vec![]);
        assert_eq!(d.observe(&sample(500)), vec![]);
        assert_eq!(active_kinds(&d), vec![AnomalyKind::Stall]);
        assert!(d.active()[0].message.contains("2/3 normal samples"));
        assert_eq!(
            d.observe(&sample(500)),
            vec![Transition::Cleared(AnomalyKind::Stall)]
        );
        assert!(d.active().is_empty());
    }

    #[test]
    fn interrupted_recovery_restarts_the_clear_count() {
        let mut d = warmed(50);
        d.observe(&sample(0));
        d.observe(&sample(500));
        d.observe(&sample(500));
        assert_eq!(d.observe(&sample(0)), vec![]); // still active, no re-raise
        d.observe(&sample(500));
        assert_eq!(d.observe(&sample(500)), vec![]);
        assert_eq!(
            d.observe(&sample(500)),
            vec![Transition::Cleared(AnomalyKind::Stall)]
        );
    }

    #[test]
    fn near_zero_rate_is_a_stall() {
        let mut d = warmed(50);
        // 20 records in 5 s = 4/s, under 5% of ~100/s.
        assert_eq!(raised(&d.observe(&sample(20))), vec![AnomalyKind::Stall]);
    }

    #[test]
    fn tenfold_rate_is_a_spike() {
        let mut d = warmed(50);
        let t = d.observe(&sample(5000));
        assert_eq!(raised(&t), vec![AnomalyKind::Spike]);
        assert_eq!(active_kinds(&d), vec![AnomalyKind::Spike]);
        assert!(
            d.active()[0]
                .message
                .starts_with("rate 1000.0/s vs expected")
        );
    }

    #[test]
    fn moderate_increase_is_not_a_spike() {
        let mut d = warmed(50);
        for _ in 0..20 {
            assert_eq!(d.observe(&sample(700)), vec![]);
        }
    }

    #[test]
    fn thirty_percent_is_a_drop_not_a_stall() {
        let mut d = warmed(50);
        let t = d.observe(&sample(150));
        assert_eq!(raised(&t), vec![AnomalyKind::Drop]);
        for _ in 0..20 {
            assert_eq!(d.observe(&sample(150)), vec![]);
        }
        assert_eq!(active_kinds(&d), vec![AnomalyKind::Drop]);
        assert!(d.active()[0].message.ends_with("for 21 samples"));
    }

    #[test]
    fn moderate_decrease_is_not_a_drop() {
        let mut d = warmed(50);
        for _ in 0..20 {
            assert_eq!(d.observe(&sample(300)), vec![]);
        }
    }

    #[test]
    fn stall_wins_over_drop() {
        let mut d = warmed(50);
        assert_eq!(raised(&d.observe(&sample(0))), vec![AnomalyKind::Stall]);
        assert_eq!(active_kinds(&d), vec![AnomalyKind::Stall]);
    }

    #[test]
    fn drop_then_stall_then_drop_clears() {
        let mut d = warmed(50);
        assert_eq!(raised(&d.observe(&sample(150))), vec![AnomalyKind::Drop]);
        assert_eq!(raised(&d.observe(&sample(0))), vec![AnomalyKind::Stall]);
        assert_eq!(d.observe(&sample(0)), vec![]);
        assert_eq!(
            d.observe(&sample(0)),
            vec![Transition::Cleared(AnomalyKind::Drop)]
        );
        assert_eq!(active_kinds(&d), vec![AnomalyKind::Stall]);
    }

    #[test]
    fn stuck_sink_backlog_stalls_even_before_warm_up() {
        let mut d = detector();
        let t = d.observe(&with_lag(0, 500));
        assert_eq!(raised(&t), vec![AnomalyKind::Stall]);
        match &t[0] {
            Transition::Raised(a) => {
                assert_eq!(a.since_sample, 1);
                assert!(a.message.contains("sink lag 500"), "{}", a.message);
                assert!(a.message.contains("no learned rate yet"), "{}", a.message);
            }
            other => panic!("unexpected {other:?}"),
        }
        for _ in 0..10 {
            assert_eq!(d.observe(&with_lag(0, 500)), vec![]);
        }
        // Stuck samples were not learned.
        assert_eq!(d.expected_rate(), None);
        d.observe(&with_lag(500, 400));
        d.observe(&with_lag(500, 300));
        assert_eq!(
            d.observe(&with_lag(500, 200)),
            vec![Transition::Cleared(AnomalyKind::Stall)]
        );
    }

    #[test]
    fn idle_sink_without_backlog_is_not_stuck() {
        let mut d = detector();
        for _ in 0..50 {
            assert_eq!(d.observe(&with_lag(0, 0)), vec![]);
        }
    }

    #[test]
    fn idle_source_before_warm_up_is_not_stuck() {
        let mut d = detector();
        for _ in 0..11 {
            assert_eq!(d.observe(&sample(0)), vec![]);
        }
    }

    #[test]
    fn lag_growth_raised_after_six_growing_samples_and_cleared_when_falling() {
        let mut d = detector();
        // First lag has no predecessor; growth counted from the 2nd sample.
        for i in 0..6 {
            assert_eq!(d.observe(&with_lag(500, 1000 + 100 * i)), vec![], "{i}");
        }
        let t = d.observe(&with_lag(500, 1600));
        assert_eq!(raised(&t), vec![AnomalyKind::LagGrowth]);
        match &t[0] {
            Transition::Raised(a) => {
                assert_eq!(a.since_sample, 7);
                assert!(
                    a.message
                        .contains("grew for 6 consecutive samples, 1000 -> 1600"),
                    "{}",
                    a.message
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        // Keeps growing: stays active, no re-raise.
        assert_eq!(d.observe(&with_lag(500, 1700)), vec![]);
        assert!(d.active()[0].message.ends_with("for 2 samples"));
        // Falling.
        assert_eq!(d.observe(&with_lag(500, 1500)), vec![]);
        assert_eq!(d.observe(&with_lag(500, 1300)), vec![]);
        assert_eq!(
            d.observe(&with_lag(500, 1100)),
            vec![Transition::Cleared(AnomalyKind::LagGrowth)]
        );
    }

    #[test]
    fn lag_growth_needs_lag_above_lag_min() {
        let mut d = detector();
        for lag in 0..=100 {
            assert_eq!(d.observe(&with_lag(500, lag)), vec![]);
        }
        assert_eq!(
            raised(&d.observe(&with_lag(500, 101))),
            vec![AnomalyKind::LagGrowth]
        );
    }

    #[test]
    fn lag_growth_streak_resets_on_flat_or_missing_lag() {
        let mut d = detector();
        for lag in [200, 300, 400, 500, 600, 600, 700, 800, 900, 1000, 1100] {
            assert_eq!(d.observe(&with_lag(500, lag)), vec![]);
        }
        assert_eq!(d.observe(&sample(500)), vec![]);
        for lag in [1200, 1300, 1400, 1500, 1600, 1700] {
            assert_eq!(d.observe(&with_lag(500, lag)), vec![]);
        }
        assert_eq!(
            raised(&d.observe(&with_lag(500, 1800))),
            vec![AnomalyKind::LagGrowth]
        );
    }

    #[test]
    fn error_burst_among_rare_errors_raises_then_clears() {
        let mut d = detector();
        for i in 0..100 {
            let errors = u64::from(i % 10 == 0);
            assert_eq!(d.observe(&with_errors(noisy(i), errors)), vec![]);
        }
        let t = d.observe(&with_errors(400, 100));
        assert_eq!(raised(&t), vec![AnomalyKind::ErrorBurst]);
        match &t[0] {
            Transition::Raised(a) => {
                assert!(
                    a.message
                        .starts_with("100 errors in 500 records (ratio 0.200) vs expected ratio"),
                    "{}",
                    a.message
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(d.observe(&with_errors(400, 100)), vec![]);
        assert_eq!(d.observe(&with_errors(500, 1)), vec![]);
        assert_eq!(d.observe(&with_errors(500, 0)), vec![]);
        assert_eq!(
            d.observe(&with_errors(500, 0)),
            vec![Transition::Cleared(AnomalyKind::ErrorBurst)]
        );
        // Burst samples were not learned: the same burst raises again.
        assert_eq!(
            raised(&d.observe(&with_errors(400, 100))),
            vec![AnomalyKind::ErrorBurst]
        );
    }

    #[test]
    fn error_burst_needs_error_burst_min_errors() {
        let mut d = warmed(50);
        // 4 errors, ratio 1.0: too few errors to count.
        let t = d.observe(&with_errors(0, 4));
        assert!(!raised(&t).contains(&AnomalyKind::ErrorBurst));
        assert!(!active_kinds(&d).contains(&AnomalyKind::ErrorBurst));
    }

    #[test]
    fn error_burst_before_warm_up_uses_half_threshold() {
        let mut d = detector();
        assert_eq!(d.observe(&with_errors(100, 10)), vec![]);
        assert_eq!(d.observe(&with_errors(10, 10)), vec![]); // exactly 0.5
        let t = d.observe(&with_errors(5, 10));
        assert_eq!(raised(&t), vec![AnomalyKind::ErrorBurst]);
        match &t[0] {
            Transition::Raised(a) => assert!(
                a.message.contains("warm-up threshold 0.500"),
                "{}",
                a.message
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn normally_high_error_ratio_is_learned() {
        let mut d = detector();
        // 30% errors is this connector's normal.
        for i in 0..100 {
            assert_eq!(d.observe(&with_errors(350 + i % 7, 150)), vec![]);
        }
        assert_eq!(
            raised(&d.observe(&with_errors(350, 400))),
            vec![AnomalyKind::ErrorBurst]
        );
    }

    #[test]
    fn long_stall_stays_raised_and_does_not_poison_baseline() {
        let mut d = warmed(50);
        let before = d.expected_rate();
        let mut all = Vec::new();
        for _ in 0..100 {
            all.extend(d.observe(&sample(0)));
        }
        assert_eq!(raised(&all), vec![AnomalyKind::Stall]);
        assert_eq!(cleared(&all), vec![]);
        assert_eq!(active_kinds(&d), vec![AnomalyKind::Stall]);
        assert_eq!(d.expected_rate(), before);
        let active = d.active();
        assert_eq!(active[0].since_sample, 51);
        assert!(
            active[0].message.ends_with("for 100 samples"),
            "{}",
            active[0].message
        );
        for i in 0..2 {
            assert_eq!(d.observe(&sample(noisy(i))), vec![]);
        }
        assert_eq!(
            d.observe(&sample(noisy(2))),
            vec![Transition::Cleared(AnomalyKind::Stall)]
        );
    }

    #[test]
    fn long_stuck_sink_backlog_stays_raised() {
        let mut d = detector();
        for i in 0..50 {
            d.observe(&with_lag(noisy(i), 10));
        }
        let mut all = Vec::new();
        for _ in 0..100 {
            all.extend(d.observe(&with_lag(0, 10_000)));
        }
        assert_eq!(raised(&all), vec![AnomalyKind::Stall]);
        assert_eq!(active_kinds(&d), vec![AnomalyKind::Stall]);
    }

    #[test]
    fn spike_reported_once_and_baseline_untouched() {
        let mut d = warmed(50);
        let before = d.expected_rate();
        let mut all = Vec::new();
        for _ in 0..50 {
            all.extend(d.observe(&sample(5000)));
        }
        assert_eq!(all.len(), 1);
        assert_eq!(raised(&all), vec![AnomalyKind::Spike]);
        assert_eq!(d.expected_rate(), before);
    }

    #[test]
    fn anomaly_can_be_raised_again_after_clearing() {
        let mut d = warmed(50);
        d.observe(&sample(5000));
        for i in 0..3 {
            d.observe(&sample(noisy(i)));
        }
        assert!(d.active().is_empty());
        let t = d.observe(&sample(5000));
        assert_eq!(raised(&t), vec![AnomalyKind::Spike]);
        match &t[0] {
            Transition::Raised(a) => assert_eq!(a.since_sample, 55),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn several_anomalies_at_once_are_ordered_by_kind() {
        let mut d = detector();
        for i in 0..50 {
            d.observe(&Sample {
                records: noisy(i),
                errors: 0,
                lag: Some(1000 + i as i64),
                seconds: SECONDS,
            });
        }
        // Lag grew for 49 samples already (> 100): lag growth is active.
        assert_eq!(active_kinds(&d), vec![AnomalyKind::LagGrowth]);
        let t = d.observe(&Sample {
            records: 5000,
            errors: 5000,
            lag: Some(2000),
            seconds: SECONDS,
        });
        assert_eq!(
            raised(&t),
            vec![AnomalyKind::Spike, AnomalyKind::ErrorBurst]
        );
        assert_eq!(
            active_kinds(&d),
            vec![
                AnomalyKind::Spike,
                AnomalyKind::ErrorBurst,
                AnomalyKind::LagGrowth
            ]
        );
    }

    #[test]
    fn low_rate_flows_are_not_judged_on_rate() {
        let mut d = detector();
        // 0.4 records/s: below min_rate, so going to zero is not a stall.
        for _ in 0..50 {
            assert_eq!(d.observe(&sample(2)), vec![]);
        }
        for _ in 0..10 {
            assert_eq!(d.observe(&sample(0)), vec![]);
        }
    }

    #[test]
    fn idle_source_that_starts_flowing_is_learned_not_spiking_forever() {
        let mut d = detector();
        for _ in 0..50 {
            assert_eq!(d.observe(&sample(0)), vec![]);
        }
        let mut all = Vec::new();
        for i in 0..200 {
            all.extend(d.observe(&sample(noisy(i))));
        }
        assert_eq!(all, vec![]);
        let (mean, _) = d.expected_rate().unwrap_or((0.0, 0.0));
        assert!(mean > 90.0, "mean {mean}");
    }

    #[test]
    fn invalid_seconds_are_ignored() {
        let mut d = warmed(50);
        let before = d.expected_rate();
        for seconds in [f64::NAN, 0.0, -0.0, -5.0, f64::INFINITY, f64::NEG_INFINITY] {
            for records in [0, 500, u64::MAX] {
                let s = Sample {
                    records,
                    errors: 1000,
                    lag: Some(1_000_000),
                    seconds,
                };
                assert_eq!(d.observe(&s), vec![]);
            }
        }
        assert_eq!(d.samples(), 50);
        assert_eq!(d.expected_rate(), before);
        assert!(d.active().is_empty());
    }

    #[test]
    fn invalid_samples_before_any_data_are_ignored() {
        let mut d = detector();
        for _ in 0..20 {
            let s = Sample {
                records: 0,
                errors: 0,
                lag: Some(500),
                seconds: f64::NAN,
            };
            assert_eq!(d.observe(&s), vec![]);
        }
        assert_eq!(d.samples(), 0);
        assert_eq!(d.expected_rate(), None);
    }

    #[test]
    fn huge_numbers_do_not_panic() {
        let mut d = detector();
        let extremes = [
            Sample {
                records: u64::MAX,
                errors: u64::MAX,
                lag: Some(i64::MAX),
                seconds: 1e-300,
            },
            Sample {
                records: u64::MAX,
                errors: u64::MAX,
                lag: Some(i64::MIN),
                seconds: f64::MIN_POSITIVE,
            },
            Sample {
                records: u64::MAX,
                errors: 0,
                lag: Some(i64::MAX),
                seconds: 1.0,
            },
            Sample {
                records: 0,
                errors: u64::MAX,
                lag: Some(i64::MIN),
                seconds: 1e-9,
            },
            Sample {
                records: u64::MAX,
                errors: u64::MAX,
                lag: None,
                seconds: f64::MAX,
            },
            Sample {
                records: 1,
                errors: 0,
                lag: Some(-1),
                seconds: 5e-324,
            },
        ];
        for round in 0..40 {
            for s in &extremes {
                let _ = d.observe(s);
                let _ = d.active();
                let _ = d.expected_rate();
            }
            let _ = d.observe(&sample(noisy(round)));
        }
        if let Some((mean, sd)) = d.expected_rate() {
            assert!(!mean.is_nan() && !sd.is_nan());
        }
        for a in d.active() {
            assert!(!a.message.is_empty());
        }
    }

    #[test]
    fn degenerate_config_is_sanitized() {
        let config = DetectorConfig {
            warmup_samples: 0,
            deviations: f64::NAN,
            alpha: f64::INFINITY,
            stall_fraction: -1.0,
            min_rate: f64::NAN,
            error_burst_min: 0,
            lag_growth_samples: 0,
            lag_min: i64::MIN,
            clear_samples: 0,
        };
        let mut d = Detector::new(config);
        // Warm-up of at least one learned sample.
        assert_eq!(d.expected_rate(), None);
        assert_eq!(d.observe(&sample(500)), vec![]);
        assert!(d.expected_rate().is_some());
        assert_eq!(raised(&d.observe(&sample(5000))), vec![AnomalyKind::Spike]);
        // clear_samples 0 behaves as 1.
        assert_eq!(
            d.observe(&sample(500)),
            vec![Transition::Cleared(AnomalyKind::Spike)]
        );
        // lag_growth_samples 0 behaves as 1.
        d.observe(&with_lag(500, 1));
        assert_eq!(
            raised(&d.observe(&with_lag(500, 2))),
            vec![AnomalyKind::LagGrowth]
        );
        // error_burst_min 0: zero errors never exceed a threshold.
        for _ in 0..20 {
            let t = d.observe(&with_errors(500, 0));
            assert!(!raised(&t).contains(&AnomalyKind::ErrorBurst));
        }
    }

    #[test]
    fn custom_config_is_honoured() {
        let config = DetectorConfig {
            warmup_samples: 3,
            clear_samples: 1,
            ..DetectorConfig::default()
        };
        let mut d = Detector::new(config);
        for _ in 0..3 {
            assert_eq!(d.observe(&sample(500)), vec![]);
        }
        assert_eq!(raised(&d.observe(&sample(0))), vec![AnomalyKind::Stall]);
        assert_eq!(
            d.observe(&sample(500)),
            vec![Transition::Cleared(AnomalyKind::Stall)]
        );
    }

    #[test]
    fn fractional_intervals_use_rate_not_count() {
        let mut d = warmed(50);
        // 50 records in 0.5 s is 100/s: normal.
        let s = Sample {
            records: 50,
            errors: 0,
            lag: None,
            seconds: 0.5,
        };
        assert_eq!(d.observe(&s), vec![]);
        // 500 records in 50 s is 10/s: a drop.
        let s = Sample {
            records: 500,
            errors: 0,
            lag: None,
            seconds: 50.0,
        };
        assert_eq!(raised(&d.observe(&s)), vec![AnomalyKind::Drop]);
    }

    #[test]
    fn transitions_are_consistent_under_pseudo_random_input() {
        let mut d = detector();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut active = [false; 5];
        for _ in 0..20_000 {
            let r = next();
            let records = match r % 8 {
                0 => 0,
                1 => r >> 8,
                2 => 5000,
                _ => 475 + (r >> 3) % 51,
            };
            let errors = if r % 13 == 0 {
                (r >> 20) % 300
            } else {
                (r >> 30) % 2
            };
            let lag = match (r >> 40) % 4 {
                0 => None,
                1 => Some(((r >> 12) % 2000) as i64 - 100),
                _ => Some(((r >> 24) % 50) as i64 * 100),
            };
            let seconds = match (r >> 50) % 16 {
                0 => f64::NAN,
                1 => 0.0,
                2 => 1e-300,
                _ => 5.0,
            };
            let transitions = d.observe(&Sample {
                records,
                errors,
                lag,
                seconds,
            });
            let mut last_kind = None;
            for t in transitions {
                let kind = match &t {
                    Transition::Raised(a) => {
                        assert!(!active[a.kind.index()], "re-raised {:?}", a.kind);
                        assert_eq!(a.since_sample, d.samples());
                        active[a.kind.index()] = true;
                        a.kind
                    }
                    Transition::Cleared(k) => {
                        assert!(active[k.index()], "cleared inactive {k:?}");
                        active[k.index()] = false;
                        *k
                    }
                };
                assert!(last_kind < Some(kind), "transitions out of order");
                last_kind = Some(kind);
            }
            let now: Vec<AnomalyKind> = AnomalyKind::ALL
                .into_iter()
                .filter(|k| active[k.index()])
                .collect();
            assert_eq!(active_kinds(&d), now);
        }
    }
}
