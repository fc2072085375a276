//! The Connect ⇄ Avro mapping of Confluent's `AvroData`, for an Avro
//! converter.
//!
//! | Connect                           | Avro                                                        |
//! |-----------------------------------|-------------------------------------------------------------|
//! | int8, int16                       | `int` with `"connect.type":"int8"` / `"int16"`              |
//! | int32, int64, float32, float64    | `int`, `long`, `float`, `double`                            |
//! | boolean, string, bytes            | `boolean`, `string`, `bytes`                                |
//! | Decimal                           | `bytes`, `logicalType` `decimal` (precision from the `connect.decimal.precision` parameter, else 64) |
//! | Date, Time, Timestamp             | `int` `date`, `int` `time-millis`, `long` `timestamp-millis` |
//! | array                             | `array`                                                     |
//! | map with string keys              | `map`                                                       |
//! | other maps                        | `array` of `io.confluent.connect.avro.MapEntry` records `{key, value}` |
//! | struct                            | `record` named after the schema (`io.confluent.connect.avro.ConnectDefault` when unnamed) |
//! | optional schema                   | union `["null", T]` (`[T, "null"]` when its default is not null) |
//!
//! Connect details Avro has no place for travel in `connect.*` properties
//! (`connect.name`, `connect.version`, `connect.doc`, `connect.parameters`,
//! `connect.default`, `connect.type`), so
//! `to_connect_schema(to_avro_schema(s)) == s`. Avro schemas of other
//! producers map too: an enum becomes a string with
//! `io.confluent.connect.avro.Enum` parameters, a fixed bytes with
//! `connect.fixed.size`, a union other than `[null, T]` a struct named
//! `io.confluent.connect.avro.Union` with one optional field per branch.
//!
//! Schema texts are byte for byte those Confluent's AvroData (with Avro's
//! Java library) registers, so schema ids and compatibility checks are
//! shared with Java workers. Values are encoded directly to Avro binary and
//! decoded with `apache_avro`.
//!
//! Where this differs from Confluent, on purpose:
//! - A second map with non-string keys of other key/value types gets an
//!   entry record `MapEntry2` (`3`, ...) marked `connect.internal.type:
//!   MapEntry`; Confluent names it `MapEntry` again and Avro then fails
//!   ("Can't redefine").
//! - Defaults Confluent drops on the way back are kept: map defaults with
//!   non-string keys (from `connect.default`). A null default on a general
//!   union is not flagged `io.confluent.connect.avro.field.default`, so an
//!   optional union field comes back unchanged.
//! - Connect parameters come back in the order of `connect.parameters`
//!   (Kafka compares them as a map; here their order is part of equality).
//! - Decoding checks what Confluent truncates or passes on: an int outside
//!   int8/int16 range, a Time out of range, a Decimal wider than 128 bits
//!   are errors; Decimal bytes are normalised to their minimal form.
//! - Field defaults `apache_avro` would refuse (an enum default that is not
//!   a symbol, a non-finite float) are left out, as Confluent leaves out
//!   defaults Avro's Java library refuses; `connect.default` keeps them.
//!
//! ```
//! use sluice_schema::avro::{self, AvroDataConfig};
//! use sluice_schema::{Schema, SchemaBuilder, Struct, Value};
//!
//! let schema = SchemaBuilder::struct_()
//!     .name("com.example.User")
//!     .field("id", Schema::int64())
//!     .field("email", Schema::optional_string())
//!     .build();
//! let cfg = AvroDataConfig::default();
//! let avro_schema = avro::to_avro_schema(&schema, &cfg).unwrap();
//! assert_eq!(
//!     avro_schema.json,
//!     r#"{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}],"connect.name":"com.example.User"}"#
//! );
//!
//! let user = Struct::new(schema.clone()).put("id", Value::Int64(42)).unwrap();
//! let mut bytes = Vec::new();
//! avro::encode_value(&schema, &avro_schema.parsed, &Value::Struct(user.clone()), &mut bytes).unwrap();
//! let decoded = avro::decode_value(&avro_schema.parsed, &schema, &bytes).unwrap();
//! assert_eq!(decoded, Value::Struct(user));
//! ```

mod binary;
mod decode;
mod encode;
mod error;
mod from_avro;
mod from_avro_default;
mod from_avro_meta;
mod from_avro_types;
mod json;
mod named;
mod names;
mod node;
mod to_avro;
mod to_avro_default;
mod to_avro_logical;
mod to_avro_types;

#[cfg(test)]
mod tests;

pub use decode::{MAX_ALLOCATION_BYTES, decode_value};
pub use encode::encode_value;
pub use error::AvroError;
pub use from_avro::{parse_avro_schema, parse_avro_schema_with, to_connect_schema};
pub use to_avro::to_avro_schema;

use crate::converter::{ConvertError, ConverterConfig};

/// Settings of the mapping (Confluent's `AvroDataConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroDataConfig {
    /// `connect.meta.data` (default true): write the `connect.*` properties
    /// (and read them back).
    pub connect_meta_data: bool,
    /// `enhanced.avro.schema.support` (default false): Connect strings that
    /// came from Avro enums are written as enums again, and union fields are
    /// named after the full names of named branches.
    pub enhanced_avro_schema_support: bool,
    /// `scrub.invalid.names` (default false): characters Avro does not allow
    /// in names are replaced instead of failing.
    pub scrub_invalid_names: bool,
}

impl Default for AvroDataConfig {
    fn default() -> Self {
        Self {
            connect_meta_data: true,
            enhanced_avro_schema_support: false,
            scrub_invalid_names: false,
        }
    }
}

impl AvroDataConfig {
    /// The settings from converter properties `connect.meta.data`,
    /// `enhanced.avro.schema.support` and `scrub.invalid.names`.
    pub fn from_config(config: &ConverterConfig) -> Result<Self, ConvertError> {
        let d = Self::default();
        Ok(Self {
            connect_meta_data: config.get_bool("connect.meta.data", d.connect_meta_data)?,
            enhanced_avro_schema_support: config.get_bool(
                "enhanced.avro.schema.support",
                d.enhanced_avro_schema_support,
            )?,
            scrub_invalid_names: config.get_bool("scrub.invalid.names", d.scrub_invalid_names)?,
        })
    }
}

/// A Connect schema translated to Avro, ready to register and to encode with.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    /// The schema text to register: compact JSON, as Confluent writes it.
    pub json: String,
    /// The same schema parsed by `apache_avro`.
    pub parsed: apache_avro::Schema,
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn config_from_converter_properties() {
        let d = AvroDataConfig::from_config(&ConverterConfig::new(false)).unwrap();
        assert_eq!(d, AvroDataConfig::default());
        assert!(d.connect_meta_data && !d.enhanced_avro_schema_support && !d.scrub_invalid_names);
        let c = ConverterConfig::new(false)
            .with("connect.meta.data", "false")
            .with("enhanced.avro.schema.support", "TRUE")
            .with("scrub.invalid.names", "true");
        let cfg = AvroDataConfig::from_config(&c).unwrap();
        assert!(
            !cfg.connect_meta_data && cfg.enhanced_avro_schema_support && cfg.scrub_invalid_names
        );
        let bad = ConverterConfig::new(false).with("scrub.invalid.names", "yes");
        assert!(AvroDataConfig::from_config(&bad).is_err());
    }
}
