//! `org.apache.kafka.connect.transforms.Filter`: drops every record. Used
//! with a predicate (`transforms.x.predicate`) to drop some.

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::schema::DataError;
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::fields::{NoConfig, def_of};

/// Drops every record it is applied to.
#[derive(Debug, Default, Clone, Copy)]
pub struct Filter;

impl Transformation for Filter {
    fn config_def(&self) -> ConfigDef {
        def_of::<NoConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        NoConfig::parse(config).map(|NoConfig| ())
    }

    fn apply(&mut self, _record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use sluice_connect_api::schema::Value;

    #[test]
    fn drops_everything() {
        let mut f = configured(Filter, &[("type", "Filter")]);
        assert!(!f.apply(&mut source_value(None, Value::from("x"))).unwrap());
        assert!(
            !f.apply(&mut sink(None, Value::Null, None, Value::Null))
                .unwrap()
        );
        assert!(f.config_def().keys().is_empty());
    }
}
