//! `org.apache.kafka.connect.transforms.Filter`: drops every record. Used
//! with a predicate (`transforms.x.predicate`) to drop some.

use sluice_connect_api::config::{ConfigDef, ConfigErrors};
use sluice_connect_api::schema::DataError;
use sluice_connect_api::{Config, ConnectRecord, Transformation};

/// Drops every record it is applied to.
#[derive(Debug, Default, Clone, Copy)]
pub struct Filter;

impl Transformation for Filter {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }

    fn configure(&mut self, _config: &Config) -> Result<(), ConfigErrors> {
        Ok(())
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
