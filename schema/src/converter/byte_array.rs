//! [`ByteArrayConverter`]: Kafka Connect's pass-through converter.

use super::{ConvertError, Converter, ConverterConfig};
use crate::schema::{Schema, SchemaRef, SchemaType};
use crate::value::{SchemaAndValue, Value};

/// Kafka Connect's `org.apache.kafka.connect.converters.ByteArrayConverter`:
/// `BYTES` values pass through unchanged; reading gives an optional bytes
/// schema.
#[derive(Debug, Clone, Default)]
pub struct ByteArrayConverter {
    _private: (),
}

impl ByteArrayConverter {
    pub const CLASS_NAME: &'static str = "org.apache.kafka.connect.converters.ByteArrayConverter";
    pub const ALIASES: &'static [&'static str] = &["ByteArrayConverter", "ByteArray"];

    /// Takes no settings (Kafka's ignores them too).
    pub fn new(_config: &ConverterConfig) -> Result<Self, ConvertError> {
        Ok(Self::default())
    }
}

impl Converter for ByteArrayConverter {
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        let mut out = Vec::new();
        Ok(self
            .from_connect_into(topic, schema, value, &mut out)?
            .then_some(out))
    }

    fn borrowed_bytes<'v>(&self, schema: Option<&SchemaRef>, value: &'v Value) -> Option<&'v [u8]> {
        if schema.is_some_and(|s| s.schema_type != SchemaType::Bytes) {
            return None; // from_connect_into reports it
        }
        match value {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    fn from_connect_into(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        out.clear();
        if let Some(schema) = schema
            && schema.schema_type != SchemaType::Bytes
        {
            return Err(ConvertError::data(format!(
                "Invalid schema type for ByteArrayConverter: {}",
                schema.schema_type
            )));
        }
        match value {
            Value::Null => Ok(false),
            Value::Bytes(bytes) => {
                out.extend_from_slice(bytes);
                Ok(true)
            }
            other => Err(ConvertError::data(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                other.schema_type().map_or("null", SchemaType::upper_name)
            ))),
        }
    }

    /// Kafka's ByteArrayConverter returns the optional bytes schema even for
    /// null bytes: `(Some(OPTIONAL_BYTES), Null)`, not `SchemaAndValue::NULL`.
    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let value = bytes.map_or(Value::Null, |b| Value::Bytes(b.to_vec()));
        Ok(SchemaAndValue::new(Some(Schema::optional_bytes()), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaBuilder;

    fn conv() -> ByteArrayConverter {
        ByteArrayConverter::new(&ConverterConfig::default()).unwrap()
    }

    #[test]
    fn round_trip() {
        let c = conv();
        let data = vec![0u8, 1, 0xff, b'a'];
        for schema in [None, Some(Schema::bytes()), Some(Schema::optional_bytes())] {
            let bytes = c
                .from_connect("t", schema.as_ref(), &Value::Bytes(data.clone()))
                .unwrap();
            assert_eq!(bytes.as_deref(), Some(&data[..]));
        }
        let back = c.to_connect("t", Some(&data)).unwrap();
        assert_eq!(back.schema, Some(Schema::optional_bytes()));
        assert_eq!(back.value, Value::Bytes(data));
        let empty = c.to_connect("t", Some(&[])).unwrap();
        assert_eq!(empty.value, Value::Bytes(vec![]));
    }

    #[test]
    fn nulls() {
        let c = conv();
        assert_eq!(c.from_connect("t", None, &Value::Null).unwrap(), None);
        assert_eq!(
            c.from_connect("t", Some(&Schema::optional_bytes()), &Value::Null)
                .unwrap(),
            None
        );
        let back = c.to_connect("t", None).unwrap();
        assert_eq!(
            back,
            SchemaAndValue::new(Some(Schema::optional_bytes()), Value::Null)
        );
    }

    #[test]
    fn errors() {
        let c = conv();
        let err = c
            .from_connect("t", Some(&Schema::int32()), &Value::Int32(1))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid schema type for ByteArrayConverter: INT32"
        );
        let s = SchemaBuilder::struct_().build();
        assert!(c.from_connect("t", Some(&s), &Value::Null).is_err());
        let err = c
            .from_connect("t", None, &Value::String("x".into()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ByteArrayConverter is not compatible with objects of type STRING"
        );
        assert!(matches!(err, ConvertError::Data(_)));
    }
}
