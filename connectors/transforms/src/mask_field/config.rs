//! `MaskField`'s keys as a typed config.

use sluice_connect_api::config::{ConfigKey, ConnectorConfig, Importance, TypedDef};

use crate::util::config::{non_empty_list, replace_null_with_default_key};
use crate::util::fields::OrEmpty;

const FIELDS: &str = "fields";
pub(super) const REPLACEMENT: &str = "replacement";

#[derive(Debug, Default)]
pub(super) struct MaskFieldConfig {
    pub(super) fields: Vec<String>,
    /// `None` when empty or not given: whether it was given is in the raw
    /// config.
    pub(super) replacement: OrEmpty<String>,
    pub(super) replace_null_with_default: bool,
}

impl ConnectorConfig for MaskFieldConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(FIELDS)
                    .validator(non_empty_list())
                    .importance(Importance::High)
                    .doc("Names of fields to mask."),
                |c, v| c.fields = v,
            )
            .field(
                ConfigKey::named(REPLACEMENT)
                    .default_value("")
                    .importance(Importance::Low)
                    .doc(
                        "Custom value replacement, that will be applied to all 'fields' values \
                         (numeric or non-empty string values only).",
                    ),
                |c, v| c.replacement = v,
            )
            .field(replace_null_with_default_key(), |c, v| {
                c.replace_null_with_default = v;
            })
    }
}
