//! `RecordIsTombstone`: true when the record value is null.

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::{Config, ConnectRecord, Predicate};

use crate::util::fields::{NoConfig, def_of};

/// Matches tombstones (null values).
#[derive(Debug, Default, Clone, Copy)]
pub struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn config_def(&self) -> ConfigDef {
        def_of::<NoConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        NoConfig::parse(config).map(|NoConfig| ())
    }

    fn test(&self, record: &dyn ConnectRecord) -> bool {
        record.value().is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use sluice_connect_api::schema::{Schema, Value};

    #[test]
    fn null_value_only() {
        let p = configured_predicate(RecordIsTombstone, &[]);
        assert!(p.test(&source_value(None, Value::Null)));
        assert!(p.test(&source_value(Some(Schema::optional_string()), Value::Null)));
        assert!(p.test(&sink(None, Value::from("key"), None, Value::Null)));
        assert!(!p.test(&source_value(None, Value::from("x"))));
    }
}
