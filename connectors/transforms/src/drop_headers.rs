//! `org.apache.kafka.connect.transforms.DropHeaders`: removes every header
//! whose key is listed in `headers`.

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConnectorConfig, Importance, TypedDef,
};
use sluice_connect_api::schema::DataError;
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::config::non_empty_list;
use crate::util::fields::def_of;

const HEADERS: &str = "headers";

/// Removes headers by key (every header of that key).
#[derive(Debug, Default, Clone)]
pub struct DropHeaders {
    headers: Vec<String>,
}

#[derive(Debug, Default)]
struct DropHeadersConfig {
    headers: Vec<String>,
}

impl ConnectorConfig for DropHeadersConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new().field(
            ConfigKey::named(HEADERS)
                .validator(non_empty_list())
                .importance(Importance::High)
                .doc("The name of the headers to be removed."),
            |c, v| c.headers = v,
        )
    }
}

impl Transformation for DropHeaders {
    fn config_def(&self) -> ConfigDef {
        def_of::<DropHeadersConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        self.headers = DropHeadersConfig::parse(config)?.headers;
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let drop = &self.headers;
        record.headers_mut().retain(|h| !drop.contains(&h.key));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use sluice_connect_api::schema::Value;

    #[test]
    fn drops_every_header_of_a_key() {
        let mut t = configured(DropHeaders::default(), &[("headers", "to-drop, other")]);
        let mut r = source_value(None, Value::from("value"));
        r.headers = vec![
            string_header("existing", "existing-value"),
            string_header("to-drop", "a"),
            string_header("to-drop", "b"),
            string_header("other", "c"),
        ];
        let r = apply(&mut t, r);
        assert_eq!(r.headers, vec![string_header("existing", "existing-value")]);
        assert_eq!(r.value, Value::from("value"));
    }

    #[test]
    fn missing_header_is_fine() {
        let mut t = configured(DropHeaders::default(), &[("headers", "to-drop")]);
        let mut r = source_value(None, Value::Null);
        r.headers = vec![string_header("existing", "existing-value")];
        assert_eq!(apply(&mut t, r).headers.len(), 1);
    }

    #[test]
    fn empty_list_rejected() {
        let (keys, msg) = config_error(DropHeaders::default(), &[("headers", "")]);
        assert_eq!(keys, ["headers"]);
        assert_eq!(msg, "Invalid value  for configuration headers: Empty list");
        let (keys, _) = config_error(DropHeaders::default(), &[]);
        assert_eq!(keys, ["headers"]);
    }
}
