//! `HeaderFrom`'s keys as a typed config.

use sluice_connect_api::config::{ConfigKey, ConnectorConfig, Importance, TypedDef};

use super::Operation;
use crate::util::config::{non_empty_list, plain_issue, replace_null_with_default_key};
use crate::util::fields::{Choice, choice_field};

const FIELDS: &str = "fields";
const HEADERS: &str = "headers";
const OPERATION: &str = "operation";

impl Choice for Operation {
    const VALUES: &'static [(&'static str, Self)] = &[("move", Self::Move), ("copy", Self::Copy)];
}

choice_field!(Operation);

#[derive(Debug, Default)]
pub(super) struct HeaderFromConfig {
    pub(super) fields: Vec<String>,
    pub(super) headers: Vec<String>,
    pub(super) operation: Operation,
    pub(super) replace_null_with_default: bool,
}

impl ConnectorConfig for HeaderFromConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(FIELDS)
                    .validator(non_empty_list())
                    .importance(Importance::High)
                    .doc(
                        "Field names in the record whose values are to be copied or moved to \
                         headers.",
                    ),
                |c, v| c.fields = v,
            )
            .field(
                ConfigKey::named(HEADERS)
                    .validator(non_empty_list())
                    .importance(Importance::High)
                    .doc(
                        "Header names, in the same order as the field names listed in the fields \
                         configuration property.",
                    ),
                |c, v| c.headers = v,
            )
            .field(
                ConfigKey::named(OPERATION)
                    .importance(Importance::High)
                    .doc(
                        "Either <code>move</code> if the fields are to be moved to the headers \
                         (removed from the key/value), or <code>copy</code> if the fields are to \
                         be copied to the headers (retained in the key/value).",
                    ),
                |c, v| c.operation = v,
            )
            .field(replace_null_with_default_key(), |c, v| {
                c.replace_null_with_default = v;
            })
            .check_issues(|c| {
                if c.fields.len() == c.headers.len() {
                    return vec![];
                }
                vec![plain_issue(
                    HEADERS,
                    "'fields' config must have the same number of elements as 'headers' config.",
                )]
            })
    }
}
