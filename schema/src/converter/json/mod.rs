//! [`JsonConverter`]: Kafka Connect's JSON converter, byte-compatible.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use super::{ConvertError, Converter, ConverterConfig};
use crate::schema::{Schema, SchemaRef};
use crate::value::{SchemaAndValue, Value};

mod read;
mod text;
mod write;

use text::JsonNode;

/// How [`JsonConverter`] writes Decimal values (`decimal.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalFormat {
    /// Base64 of the unscaled value's two's-complement bytes (`"AJw="` for
    /// 1.56 at scale 2). Kafka's default.
    #[default]
    Base64,
    /// A JSON number as Java's `BigDecimal.toString()` (`1.56`, `1E-7`).
    Numeric,
}

/// The settings conversions depend on.
#[derive(Debug, Clone, Copy)]
struct Settings {
    decimal_format: DecimalFormat,
    replace_null_with_default: bool,
}

const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields \
and may not contain additional fields. If you are trying to deserialize plain JSON data, set \
schemas.enable=false in your converter configuration.";

/// Kafka Connect's `org.apache.kafka.connect.json.JsonConverter`.
///
/// With `schemas.enable=true` (the default) records are an envelope
/// `{"schema":...,"payload":...}`; with `false` just the payload, read back
/// schemaless. The bytes written are the ones Kafka Connect writes for the
/// same data (Jackson's compact output, Java number formatting).
///
/// Settings: `schemas.enable` (default true), `decimal.format` (`BASE64`
/// default, or `NUMERIC`, any case), `replace.null.with.default` (default
/// true: a null with a schema default is written and read as the default),
/// `schemas.cache.size` (default 1000: parsed and written schemas kept per
/// converter).
#[derive(Debug)]
pub struct JsonConverter {
    schemas_enable: bool,
    settings: Settings,
    cache_size: usize,
    /// Raw schema JSON → parsed schema, so records of one schema share it.
    to_connect_cache: Mutex<HashMap<Vec<u8>, SchemaRef>>,
    /// Schema allocation → its JSON. The `Weak` keeps the address from being
    /// reused by another schema while the entry exists.
    from_connect_cache: Mutex<SchemaJsonCache>,
}

/// Schema allocation address → (the schema, its JSON).
type SchemaJsonCache = HashMap<usize, (Weak<Schema>, Arc<str>)>;

impl JsonConverter {
    pub const CLASS_NAME: &'static str = "org.apache.kafka.connect.json.JsonConverter";
    pub const ALIASES: &'static [&'static str] = &["JsonConverter", "Json"];

    pub fn new(config: &ConverterConfig) -> Result<Self, ConvertError> {
        let schemas_enable = config.get_bool("schemas.enable", true)?;
        let replace_null_with_default = config.get_bool("replace.null.with.default", true)?;
        let cache_size = config.get_int("schemas.cache.size", 1000)?;
        let decimal_format = match config.get("decimal.format") {
            None => DecimalFormat::Base64,
            Some(v) if v.eq_ignore_ascii_case("BASE64") => DecimalFormat::Base64,
            Some(v) if v.eq_ignore_ascii_case("NUMERIC") => DecimalFormat::Numeric,
            Some(v) => {
                return Err(ConvertError::config(
                    "decimal.format",
                    format!(
                        "String must be one of (case insensitive): BASE64, NUMERIC; got \"{v}\""
                    ),
                ));
            }
        };
        Ok(Self {
            schemas_enable,
            settings: Settings {
                decimal_format,
                replace_null_with_default,
            },
            cache_size: usize::try_from(cache_size).unwrap_or(0),
            to_connect_cache: Mutex::default(),
            from_connect_cache: Mutex::default(),
        })
    }

    pub fn schemas_enabled(&self) -> bool {
        self.schemas_enable
    }

    pub fn decimal_format(&self) -> DecimalFormat {
        self.settings.decimal_format
    }

    pub fn replace_null_with_default(&self) -> bool {
        self.settings.replace_null_with_default
    }

    /// Kafka's `asJsonSchema`: the schema's JSON as written in envelopes.
    pub fn schema_to_json(&self, schema: &Schema) -> Result<String, ConvertError> {
        let mut out = String::with_capacity(64);
        write::write_schema(&mut out, &self.settings, schema, None)?;
        Ok(out)
    }

    /// Kafka's `asConnectSchema`: a schema from its JSON; `None` for `null`.
    pub fn schema_from_json(&self, json: &[u8]) -> Result<Option<SchemaRef>, ConvertError> {
        let parsed = text::parse(json).map_err(ConvertError::Deserialize)?;
        let node = parsed.map_or(JsonNode::Null, |p| p.root);
        read::to_schema(&self.settings, &node)
    }

    fn cached_schema_json(&self, schema: &SchemaRef) -> Result<Arc<str>, ConvertError> {
        let key = Arc::as_ptr(schema) as usize;
        if let Ok(cache) = self.from_connect_cache.lock()
            && let Some((weak, json)) = cache.get(&key)
            && weak.upgrade().is_some_and(|s| Arc::ptr_eq(&s, schema))
        {
            return Ok(json.clone());
        }
        let json: Arc<str> = self.schema_to_json(schema)?.into();
        if self.cache_size > 0
            && let Ok(mut cache) = self.from_connect_cache.lock()
        {
            if cache.len() >= self.cache_size {
                cache.clear();
            }
            cache.insert(key, (Arc::downgrade(schema), json.clone()));
        }
        Ok(json)
    }

    fn cached_schema(
        &self,
        raw: Option<&[u8]>,
        node: &JsonNode,
    ) -> Result<Option<SchemaRef>, ConvertError> {
        if let (Some(raw), Ok(cache)) = (raw, self.to_connect_cache.lock())
            && let Some(schema) = cache.get(raw)
        {
            return Ok(Some(schema.clone()));
        }
        let schema = read::to_schema(&self.settings, node)?;
        if let (Some(raw), Some(schema)) = (raw, &schema)
            && self.cache_size > 0
            && let Ok(mut cache) = self.to_connect_cache.lock()
        {
            if cache.len() >= self.cache_size {
                cache.clear();
            }
            cache.insert(raw.to_vec(), schema.clone());
        }
        Ok(schema)
    }
}

impl Converter for JsonConverter {
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        let mut out = Vec::with_capacity(128);
        Ok(self
            .from_connect_into(topic, schema, value, &mut out)?
            .then_some(out))
    }

    fn from_connect_into(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        out.clear();
        if schema.is_none() && value.is_null() {
            return Ok(false);
        }
        // The cleared buffer is valid (empty) UTF-8: the JSON text is
        // written into it without a new allocation.
        let mut text = String::from_utf8(std::mem::take(out)).unwrap_or_default();
        if self.schemas_enable {
            text.push_str("{\"schema\":");
            match schema {
                Some(s) => text.push_str(&self.cached_schema_json(s)?),
                None => text.push_str("null"),
            }
            text.push_str(",\"payload\":");
        }
        write::write_value(&mut text, &self.settings, schema.map(|s| &**s), value)?;
        if self.schemas_enable {
            text.push('}');
        }
        *out = text.into_bytes();
        Ok(true)
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        let parsed = text::parse(bytes).map_err(ConvertError::Deserialize)?;
        if !self.schemas_enable {
            let value = read::to_value(&self.settings, None, parsed.as_ref().map(|p| &p.root))?;
            return Ok(SchemaAndValue::new(None, value));
        }
        let envelope = parsed.as_ref().and_then(|p| match &p.root {
            JsonNode::Object(members) if members.len() == 2 => {
                Some((p, p.root.get("schema")?, p.root.get("payload")?))
            }
            _ => None,
        });
        let Some((parsed, schema_node, payload)) = envelope else {
            return Err(ConvertError::data(ENVELOPE_ERROR));
        };
        let schema = self.cached_schema(parsed.raw_member(bytes, "schema"), schema_node)?;
        let value = read::to_value(&self.settings, schema.as_ref(), Some(payload))?;
        Ok(SchemaAndValue::new(schema, value))
    }
}

#[cfg(test)]
mod tests;
