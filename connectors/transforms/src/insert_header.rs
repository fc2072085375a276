//! `org.apache.kafka.connect.transforms.InsertHeader`: adds a header with a
//! literal value to every record. The literal is typed as Kafka Connect's
//! `Values.parseString` types it (`1` is an int8, `true` a boolean,
//! `2024-01-01` a Date, anything unparseable a string).

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigField, ConfigKey, ConfigType, ConfigValue, ConnectorConfig,
    Importance, TypedDef,
};
use sluice_connect_api::schema::{DataError, SchemaRef, Value};
use sluice_connect_api::{Config, ConnectRecord, Header, Transformation};

use crate::util::fields::def_of;
use crate::util::values_parser;

const HEADER: &str = "header";
const VALUE_LITERAL: &str = "value.literal";

/// Appends one header (an existing header of the same key stays).
#[derive(Debug, Clone)]
pub struct InsertHeader {
    header: String,
    schema: Option<SchemaRef>,
    value: Value,
}

impl Default for InsertHeader {
    fn default() -> Self {
        Self {
            header: String::new(),
            schema: None,
            value: Value::Null,
        }
    }
}

/// `value.literal`, typed as Kafka Connect's `Values.parseString` types it.
#[derive(Debug, Clone)]
struct Literal {
    schema: Option<SchemaRef>,
    value: Value,
}

impl Default for Literal {
    fn default() -> Self {
        Self {
            schema: None,
            value: Value::Null,
        }
    }
}

impl ConfigField for Literal {
    const TYPE: ConfigType = ConfigType::String;

    fn from_value(value: ConfigValue) -> Result<Self, String> {
        let (schema, value) =
            values_parser::parse_string(&String::from_value(value)?).unwrap_or((None, Value::Null));
        Ok(Self { schema, value })
    }
}

#[derive(Debug, Default)]
struct InsertHeaderConfig {
    header: String,
    literal: Literal,
}

impl ConnectorConfig for InsertHeaderConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(HEADER)
                    .importance(Importance::High)
                    .doc("The name of the header."),
                |c, v| c.header = v,
            )
            .field(
                ConfigKey::named(VALUE_LITERAL)
                    .importance(Importance::High)
                    .doc("The literal value that is to be set as the header value on all records."),
                |c, v| c.literal = v,
            )
    }
}

impl Transformation for InsertHeader {
    fn config_def(&self) -> ConfigDef {
        def_of::<InsertHeaderConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = InsertHeaderConfig::parse(config)?;
        self.header = c.header;
        self.schema = c.literal.schema;
        self.value = c.literal.value;
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        record.headers_mut().push(Header {
            key: self.header.clone(),
            schema: self.schema.clone(),
            value: self.value.clone(),
        });
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use sluice_connect_api::schema::Schema;

    fn inserted(literal: &str) -> Header {
        let mut t = configured(
            InsertHeader::default(),
            &[("header", "inserted"), ("value.literal", literal)],
        );
        let mut r = source(None, Value::from("key"), None, Value::from("value"));
        r.headers = vec![string_header("existing", "existing-value")];
        let r = apply(&mut t, r);
        assert_eq!(r.headers.len(), 2);
        assert_eq!(r.headers[0], string_header("existing", "existing-value"));
        assert_eq!((r.key, r.value), (Value::from("key"), Value::from("value")));
        r.headers[1].clone()
    }

    #[test]
    fn string_literal() {
        assert_eq!(
            inserted("inserted-value"),
            string_header("inserted", "inserted-value")
        );
    }

    #[test]
    fn typed_literals() {
        let h = inserted("1");
        assert_eq!((h.schema, h.value), (Some(Schema::int8()), Value::Int8(1)));
        let h = inserted("true");
        assert_eq!(
            (h.schema, h.value),
            (Some(Schema::boolean()), Value::Boolean(true))
        );
        let h = inserted("null");
        assert_eq!((h.schema, h.value), (None, Value::Null));
    }

    #[test]
    fn same_key_is_added_again() {
        let mut t = configured(
            InsertHeader::default(),
            &[("header", "existing"), ("value.literal", "inserted-value")],
        );
        let mut r = source_value(None, Value::Null);
        r.headers = vec![string_header("existing", "preexisting-value")];
        let r = apply(&mut t, r);
        assert_eq!(
            r.headers,
            vec![
                string_header("existing", "preexisting-value"),
                string_header("existing", "inserted-value")
            ]
        );
    }

    #[test]
    fn both_keys_required() {
        let (keys, _) = config_error(InsertHeader::default(), &[("value.literal", "1")]);
        assert_eq!(keys, ["header"]);
        let (keys, _) = config_error(InsertHeader::default(), &[("header", "h")]);
        assert_eq!(keys, ["value.literal"]);
    }
}
