//! Connector configuration: one [`ConfigDef`] drives parsing, validation
//! (`/config/validate`), the plugin's config listing and generated docs.

mod def;
mod errors;
mod parsed;
mod typed;
mod types;
mod validator;

pub use def::{ConfigDef, ConfigKey, ConfigValueReport};
pub use errors::{ConfigErrors, ConfigIssue};
pub use parsed::ParsedConfig;
pub use typed::{ConfigEnum, ConfigField, ConnectorConfig, TypedDef};
pub use types::{ConfigType, ConfigValue, Importance, Password};
pub use validator::Validator;
