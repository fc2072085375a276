//! Worker and connector configuration files.

pub mod connector;
pub mod env;
pub mod overrides;
pub mod properties;
pub mod providers;
pub mod worker;

use std::path::{Path, PathBuf};

use thiserror::Error;

/// A configuration file could not be used. Always names the file; names the
/// key too where one is at fault.
#[derive(Debug, Error)]
pub enum ConfigFileError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("malformed properties in {path}, {source}")]
    Properties {
        path: PathBuf,
        source: properties::PropertiesError,
    },
    #[error("malformed JSON in {path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("invalid config in {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl ConfigFileError {
    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

pub(crate) fn read(path: &Path) -> Result<String, ConfigFileError> {
    std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_path_buf(),
        source,
    })
}
