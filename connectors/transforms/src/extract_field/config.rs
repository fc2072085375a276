//! `ExtractField`'s keys as a typed config.

use sluice_connect_api::config::{ConfigIssue, ConfigKey, ConnectorConfig, Importance, TypedDef};

use crate::util::config::{issue, issues_of, replace_null_with_default_key};
use crate::util::field_path::{FieldPath, SyntaxVersion, syntax_version_key};

const FIELD: &str = "field";

#[derive(Debug, Default)]
pub(super) struct ExtractFieldConfig {
    pub(super) field: String,
    pub(super) replace_null_with_default: bool,
    pub(super) syntax: SyntaxVersion,
}

impl ExtractFieldConfig {
    /// The path `field` names in the configured syntax.
    pub(super) fn path(&self) -> Result<FieldPath, ConfigIssue> {
        FieldPath::new(&self.field, self.syntax).map_err(|why| issue(FIELD, &self.field, why))
    }
}

impl ConnectorConfig for ExtractFieldConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(FIELD)
                    .importance(Importance::Medium)
                    .doc("Field name to extract."),
                |c, v| c.field = v,
            )
            .field(replace_null_with_default_key(), |c, v| {
                c.replace_null_with_default = v;
            })
            .field(syntax_version_key(), |c, v| c.syntax = v)
            .check_issues(|c| issues_of(c.path()))
    }
}
