//! Connector keys of the flow anomaly detector (Sluice only).

use std::time::Duration;

use sluice_connect_api::Config;
use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConfigType, Importance, Validator,
};

use super::detector::DetectorConfig;

pub const ENABLE: &str = "anomaly.detection.enable";
pub const INTERVAL: &str = "anomaly.sample.interval.ms";
pub const WARMUP: &str = "anomaly.warmup.samples";
pub const DEVIATIONS: &str = "anomaly.deviations";
pub const ALPHA: &str = "anomaly.ewma.alpha";
pub const STALL_FRACTION: &str = "anomaly.stall.fraction";
pub const MIN_RATE: &str = "anomaly.min.rate";
pub const ERROR_BURST_MIN: &str = "anomaly.error.burst.min";
pub const LAG_GROWTH_SAMPLES: &str = "anomaly.lag.growth.samples";
pub const LAG_MIN: &str = "anomaly.lag.min";
pub const CLEAR_SAMPLES: &str = "anomaly.clear.samples";

const GROUP: &str = "Anomaly Detection";

fn key(name: &str, t: ConfigType, default: &str, order: i32, doc: &str) -> ConfigKey {
    ConfigKey::new(name, t)
        .default_value(default)
        .importance(Importance::Low)
        .doc(doc)
        .group(GROUP, order)
}

pub fn def() -> ConfigDef {
    ConfigDef::new()
        .key(key(ENABLE, ConfigType::Boolean, "true", 1, "Learn this connector's normal record rate and error ratio and flag stalls, drops, spikes, error bursts and growing sink lag (sluice_flow_anomaly, a WARN log line, and 'anomalies' in the status)."))
        .key(key(INTERVAL, ConfigType::Long, "5000", 2, "How often the flow is sampled, ms.").validator(Validator::at_least(100.0)))
        .key(key(WARMUP, ConfigType::Int, "12", 3, "Samples learned before rate anomalies (stall, drop, spike) are flagged.").validator(Validator::at_least(1.0)))
        .key(key(DEVIATIONS, ConfigType::Double, "4.0", 4, "How many standard deviations from the learned mean make a drop, spike or error burst.").validator(Validator::at_least(0.1)))
        .key(key(ALPHA, ConfigType::Double, "0.1", 5, "Smoothing of the learned mean and variance (exponential weight of a new sample).").validator(Validator::between(0.001, 1.0)))
        .key(key(STALL_FRACTION, ConfigType::Double, "0.05", 6, "A rate at or below this fraction of the expected rate is a stall.").validator(Validator::between(0.0, 1.0)))
        .key(key(MIN_RATE, ConfigType::Double, "1.0", 7, "Expected rates (records/s) below this are too low to call a stall or drop.").validator(Validator::at_least(0.0)))
        .key(key(ERROR_BURST_MIN, ConfigType::Long, "5", 8, "Fewest errant records in one sample that can make an error burst.").validator(Validator::at_least(1.0)))
        .key(key(LAG_GROWTH_SAMPLES, ConfigType::Int, "6", 9, "Consecutive samples of growing sink lag that raise lag_growth.").validator(Validator::at_least(2.0)))
        .key(key(LAG_MIN, ConfigType::Long, "100", 10, "Sink lag (records) below which growth is not flagged.").validator(Validator::at_least(0.0)))
        .key(key(CLEAR_SAMPLES, ConfigType::Int, "3", 11, "Normal samples in a row that clear an anomaly.").validator(Validator::at_least(1.0)))
}

/// A connector's detector settings; `None` when detection is off.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyConfig {
    pub interval: Duration,
    pub detector: DetectorConfig,
}

impl AnomalyConfig {
    pub fn from_config(config: &Config) -> Result<Option<Self>, ConfigErrors> {
        let p = def().parse(config)?;
        if !p.boolean(ENABLE)? {
            return Ok(None);
        }
        let u32_of =
            |k: &str| -> Result<u32, ConfigErrors> { Ok(u32::try_from(p.int(k)?).unwrap_or(1)) };
        Ok(Some(Self {
            interval: Duration::from_millis(u64::try_from(p.long(INTERVAL)?).unwrap_or(5000)),
            detector: DetectorConfig {
                warmup_samples: u32_of(WARMUP)?,
                deviations: p.double(DEVIATIONS)?,
                alpha: p.double(ALPHA)?,
                stall_fraction: p.double(STALL_FRACTION)?,
                min_rate: p.double(MIN_RATE)?,
                error_burst_min: u64::try_from(p.long(ERROR_BURST_MIN)?).unwrap_or(1),
                lag_growth_samples: u32_of(LAG_GROWTH_SAMPLES)?,
                lag_min: p.long(LAG_MIN)?,
                clear_samples: u32_of(CLEAR_SAMPLES)?,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_detector_defaults() {
        let c = AnomalyConfig::from_config(&Config::new()).unwrap().unwrap();
        assert_eq!(c.detector, DetectorConfig::default());
        assert_eq!(c.interval, Duration::from_secs(5));
        let mut off = Config::new();
        off.insert(ENABLE.into(), "false".into());
        assert_eq!(AnomalyConfig::from_config(&off).unwrap(), None);
        let mut bad = Config::new();
        bad.insert(INTERVAL.into(), "10".into());
        assert_eq!(
            AnomalyConfig::from_config(&bad).unwrap_err().keys(),
            vec![INTERVAL]
        );
    }
}
