//! `Cast`'s keys as a typed config.

use sluice_connect_api::config::{
    ConfigField, ConfigKey, ConfigType, ConfigValue, ConnectorConfig, Importance, TypedDef,
    Validator,
};

use super::{Spec, parse_spec};
use crate::util::config::replace_null_with_default_key;

const SPEC: &str = "spec";

/// `spec`: a LIST key, validated as Kafka Connect does when defining it.
impl ConfigField for Spec {
    const TYPE: ConfigType = ConfigType::List;

    fn from_value(value: ConfigValue) -> Result<Self, String> {
        parse_spec(&Vec::<String>::from_value(value)?)
    }

    fn shape(key: ConfigKey) -> ConfigKey {
        key.validator(Validator::custom(|v| match v {
            ConfigValue::List(items) => parse_spec(items).map(|_| ()),
            _ => Ok(()),
        }))
    }
}

#[derive(Debug, Default)]
pub(super) struct CastConfig {
    pub(super) spec: Spec,
    pub(super) replace_null_with_default: bool,
}

impl ConnectorConfig for CastConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(SPEC).importance(Importance::High).doc(
                    "List of fields and the type to cast them to of the form \
                     field1:type,field2:type to cast fields of Maps or Structs. A single type \
                     to cast the entire value. Valid types are int8, int16, int32, int64, \
                     float32, float64, boolean, and string. Note that binary fields can only \
                     be cast to string.",
                ),
                |c, v| c.spec = v,
            )
            .field(replace_null_with_default_key(), |c, v| {
                c.replace_null_with_default = v;
            })
    }
}
