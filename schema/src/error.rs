use thiserror::Error;

/// A value does not fit its schema, or a schema is malformed.
///
/// Same role as Kafka Connect's `DataException`: the message names the field
/// (as a dotted path where it can) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct DataError {
    message: String,
}

impl DataError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}
