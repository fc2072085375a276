//! `InsertField`'s keys as a typed config.

use sluice_connect_api::config::{
    ConfigField, ConfigKey, ConfigType, ConfigValue, ConnectorConfig, Importance, TypedDef,
};

use crate::util::config::{plain_issue, replace_null_with_default_key};
use crate::util::fields::OrEmpty;

pub(super) const TOPIC_FIELD: &str = "topic.field";
const PARTITION_FIELD: &str = "partition.field";
const OFFSET_FIELD: &str = "offset.field";
const TIMESTAMP_FIELD: &str = "timestamp.field";
const STATIC_FIELD: &str = "static.field";
pub(super) const STATIC_VALUE: &str = "static.value";
const OPTIONALITY_DOC: &str = "Suffix with <code>!</code> to make this a required field, or \
                               <code>?</code> to keep it optional (the default).";

/// A field to insert: `name`, `name!` (required) or `name?` (optional, the
/// default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldSpec {
    pub(super) name: String,
    pub(super) required: bool,
}

impl ConfigField for FieldSpec {
    const TYPE: ConfigType = ConfigType::String;

    fn from_value(value: ConfigValue) -> Result<Self, String> {
        let spec = String::from_value(value)?;
        Ok(match spec.strip_suffix('!') {
            Some(name) => Self {
                name: name.to_string(),
                required: true,
            },
            None => Self {
                name: spec.strip_suffix('?').unwrap_or(&spec).to_string(),
                required: false,
            },
        })
    }
}

#[derive(Debug, Default)]
pub(super) struct InsertFieldConfig {
    pub(super) topic: OrEmpty<FieldSpec>,
    pub(super) partition: OrEmpty<FieldSpec>,
    pub(super) offset: OrEmpty<FieldSpec>,
    pub(super) timestamp: OrEmpty<FieldSpec>,
    pub(super) static_field: OrEmpty<FieldSpec>,
    /// Empty when not given: whether it was given is in the raw config.
    pub(super) static_value: String,
    pub(super) replace_null_with_default: bool,
}

fn field_key(name: &str, doc: &str) -> ConfigKey {
    ConfigKey::named(name)
        .default_value("")
        .importance(Importance::Medium)
        .doc(doc)
}

impl ConnectorConfig for InsertFieldConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                field_key(
                    TOPIC_FIELD,
                    &format!("Field name for Kafka topic. {OPTIONALITY_DOC}"),
                ),
                |c, v| c.topic = v,
            )
            .field(
                field_key(
                    PARTITION_FIELD,
                    &format!("Field name for Kafka partition. {OPTIONALITY_DOC}"),
                ),
                |c, v| c.partition = v,
            )
            .field(
                field_key(
                    OFFSET_FIELD,
                    &format!(
                        "Field name for Kafka offset - only applicable to sink connectors.<br/>\
                         {OPTIONALITY_DOC}"
                    ),
                ),
                |c, v| c.offset = v,
            )
            .field(
                field_key(
                    TIMESTAMP_FIELD,
                    &format!("Field name for record timestamp. {OPTIONALITY_DOC}"),
                ),
                |c, v| c.timestamp = v,
            )
            .field(
                field_key(
                    STATIC_FIELD,
                    &format!("Field name for static data field. {OPTIONALITY_DOC}"),
                ),
                |c, v| c.static_field = v,
            )
            .field(
                field_key(
                    STATIC_VALUE,
                    "Static field value, if field name configured.",
                ),
                |c, v| c.static_value = v,
            )
            .field(replace_null_with_default_key(), |c, v| {
                c.replace_null_with_default = v;
            })
            .check_issues(|c| {
                let specs = [
                    &c.topic,
                    &c.partition,
                    &c.offset,
                    &c.timestamp,
                    &c.static_field,
                ];
                if specs.iter().any(|s| s.0.is_some()) {
                    return vec![];
                }
                vec![plain_issue(TOPIC_FIELD, "No field insertion configured")]
            })
    }
}
