use std::error::Error as StdError;

use thiserror::Error;

use crate::config::ConfigErrors;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong in a connector or task, and whether trying again can help.
///
/// The runtime retries [`ConnectError::Retriable`] with backoff (for sinks,
/// Kafka Connect's `RetriableException`) and fails the task on everything
/// else, reporting the whole cause chain as the status `trace`.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// A transient problem (network blip, lock timeout, broker busy).
    #[error("{message}")]
    Retriable {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    /// A problem retrying will not fix; the task fails.
    #[error("{message}")]
    Fatal {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    /// The configuration is invalid; every bad key is listed.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// Data did not fit its schema or could not be converted.
    #[error(transparent)]
    Data(#[from] sluice_schema::DataError),
}

impl ConnectError {
    pub fn retriable(message: impl Into<String>) -> Self {
        Self::Retriable {
            message: message.into(),
            source: None,
        }
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        Self::Fatal {
            message: message.into(),
            source: None,
        }
    }

    /// A retriable error with its cause.
    pub fn retriable_from(
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self::Retriable {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// A fatal error with its cause.
    pub fn fatal_from(
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self::Fatal {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn is_retriable(&self) -> bool {
        matches!(self, Self::Retriable { .. })
    }

    /// The message and every cause, one per line, like a Java stack trace's
    /// "Caused by:" lines. Used as the task status `trace`.
    pub fn trace(&self) -> String {
        let mut out = format!("{self}");
        let mut cur: Option<&(dyn StdError + 'static)> = self.source();
        while let Some(e) = cur {
            out.push_str("\nCaused by: ");
            out.push_str(&e.to_string());
            cur = e.source();
        }
        out
    }
}

pub type ConnectResult<T> = Result<T, ConnectError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_lists_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = ConnectError::fatal_from("cannot open /x", io);
        assert_eq!(e.trace(), "cannot open /x\nCaused by: no such file");
        assert!(!e.is_retriable());
        assert!(ConnectError::retriable("later").is_retriable());
    }
}
