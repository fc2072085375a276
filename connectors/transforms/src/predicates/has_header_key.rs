//! `HasHeaderKey`: true when the record has at least one header called
//! `name`.

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConnectorConfig, Importance, TypedDef, Validator,
};
use sluice_connect_api::{Config, ConnectRecord, Predicate};

use crate::util::fields::def_of;

const NAME: &str = "name";

/// Matches records that carry a header key.
#[derive(Debug, Default, Clone)]
pub struct HasHeaderKey {
    name: String,
}

#[derive(Debug, Default)]
struct HasHeaderKeyConfig {
    name: String,
}

impl ConnectorConfig for HasHeaderKeyConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new().field(
            ConfigKey::named(NAME)
                .validator(Validator::NonEmptyString)
                .importance(Importance::Medium)
                .doc("The header name."),
            |c, v| c.name = v,
        )
    }
}

impl Predicate for HasHeaderKey {
    fn config_def(&self) -> ConfigDef {
        def_of::<HasHeaderKeyConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        self.name = HasHeaderKeyConfig::parse(config)?.name;
        Ok(())
    }

    fn test(&self, record: &dyn ConnectRecord) -> bool {
        record.headers().iter().any(|h| h.key == self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use sluice_connect_api::schema::Value;

    fn with_headers(keys: &[&str]) -> sluice_connect_api::SourceRecord {
        let mut r = source_value(None, Value::Null);
        r.headers = keys.iter().map(|k| string_header(k, "v")).collect();
        r
    }

    #[test]
    fn finds_a_header() {
        let p = configured_predicate(HasHeaderKey::default(), &[("name", "foo")]);
        assert!(p.test(&with_headers(&["foo"])));
        assert!(p.test(&with_headers(&["foo", "bar"])));
        assert!(p.test(&with_headers(&["bar", "foo", "bar", "foo"])));
        assert!(!p.test(&with_headers(&["bar"])));
        assert!(!p.test(&with_headers(&["bar", "bar"])));
        assert!(!p.test(&with_headers(&[])));
    }

    #[test]
    fn config_errors() {
        let mut p = HasHeaderKey::default();
        let e = p.configure(&config(&[])).unwrap_err();
        assert!(
            e.to_string()
                .contains("Missing required configuration \"name\"")
        );
        let reports = p.config_def().validate(&config(&[("name", "")]));
        assert_eq!(
            reports[0].errors,
            ["Invalid value  for configuration name: String must be non-empty"]
        );
    }
}
