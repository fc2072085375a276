//! Header values to bytes and back, like Kafka Connect's default
//! `SimpleHeaderConverter` for the common cases: strings as UTF-8, bytes as
//! is, other primitives as their text, structured values as JSON.

use std::borrow::Cow;

use sluice_connect_api::Header;
use sluice_connect_api::schema::converter::{Converter, ConverterConfig, JsonConverter};
use sluice_connect_api::schema::{Schema, Value};

pub(crate) fn to_bytes(h: &Header) -> Option<Vec<u8>> {
    value_bytes(h).map(Cow::into_owned)
}

/// A header's bytes, borrowed from the header where they are already
/// bytes (strings and byte arrays, the common case) so producing a record
/// copies them once, into librdkafka.
pub(crate) fn value_bytes(h: &Header) -> Option<Cow<'_, [u8]>> {
    Some(match &h.value {
        Value::Null => return None,
        Value::String(s) => Cow::Borrowed(s.as_bytes()),
        Value::Bytes(b) => Cow::Borrowed(b.as_slice()),
        Value::Int8(v) => Cow::Owned(v.to_string().into_bytes()),
        Value::Int16(v) => Cow::Owned(v.to_string().into_bytes()),
        Value::Int32(v) => Cow::Owned(v.to_string().into_bytes()),
        Value::Int64(v) => Cow::Owned(v.to_string().into_bytes()),
        Value::Float32(v) => Cow::Owned(v.to_string().into_bytes()),
        Value::Float64(v) => Cow::Owned(v.to_string().into_bytes()),
        Value::Boolean(v) => Cow::Owned(v.to_string().into_bytes()),
        other => {
            let mut cfg = ConverterConfig::default();
            cfg.props.insert("schemas.enable".into(), "false".into());
            let json = JsonConverter::new(&cfg).ok()?;
            Cow::Owned(
                json.from_connect("", h.schema.as_ref(), other)
                    .ok()
                    .flatten()?,
            )
        }
    })
}

pub(crate) fn from_bytes(key: &str, bytes: Option<&[u8]>) -> Header {
    let (schema, value) = match bytes {
        None => (None, Value::Null),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => (
                Some(Schema::optional_string()),
                Value::String(s.to_string()),
            ),
            Err(_) => (Some(Schema::optional_bytes()), Value::Bytes(b.to_vec())),
        },
    };
    Header {
        key: key.to_string(),
        schema,
        value,
    }
}
