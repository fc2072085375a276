//! Errors of the CDC connectors.

use sluice_connect_api::ConnectError;

use crate::pg::wire::ServerError;

#[derive(Debug, thiserror::Error)]
pub enum CdcError {
    #[error("{0}")]
    Connect(String),
    #[error("{0}")]
    Io(String),
    #[error("PostgreSQL protocol: {0}")]
    Protocol(String),
    #[error("PostgreSQL: {0}")]
    Server(ServerError),
    /// A value or message that cannot become a record; names what.
    #[error("{0}")]
    Data(String),
    /// Something the user must fix (settings, slot, publication).
    #[error("{0}")]
    Setup(String),
}

impl CdcError {
    /// Connection trouble a restart may cure.
    pub fn is_transient(&self) -> bool {
        matches!(self, CdcError::Connect(_) | CdcError::Io(_))
    }

    /// The server's SQLSTATE, if the server sent the error.
    pub fn code(&self) -> Option<&str> {
        match self {
            CdcError::Server(e) => Some(&e.code),
            _ => None,
        }
    }
}

impl From<tokio_postgres::Error> for CdcError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => CdcError::Server(ServerError {
                severity: db.severity().to_string(),
                code: db.code().code().to_string(),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                hint: db.hint().map(str::to_string),
            }),
            None if e.is_closed() => CdcError::Io(format!("PostgreSQL connection closed: {e}")),
            None => CdcError::Io(format!("PostgreSQL: {e}")),
        }
    }
}

impl From<CdcError> for ConnectError {
    fn from(e: CdcError) -> Self {
        if e.is_transient() {
            ConnectError::retriable(e.to_string())
        } else {
            ConnectError::fatal(e.to_string())
        }
    }
}
