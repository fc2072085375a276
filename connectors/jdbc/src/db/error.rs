//! Database errors, classified as transient (retry) or not.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DbError {
    #[error("cannot connect to {url} after {attempts} attempt(s): {message}")]
    Connect {
        url: String,
        attempts: u32,
        message: String,
    },
    /// The server refused a statement, or the connection broke during one.
    #[error("{context}: {message}")]
    Sql {
        context: String,
        message: String,
        /// Worth retrying: connection lost, deadlock, lock timeout,
        /// serialization failure, server shutting down.
        transient: bool,
        /// SQLSTATE (PostgreSQL) or error number (MySQL), when the server
        /// gave one.
        code: Option<String>,
    },
    /// A value could not be read or written.
    #[error("{0}")]
    Data(String),
}

impl DbError {
    pub fn data(message: impl Into<String>) -> Self {
        Self::Data(message.into())
    }

    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Connect { .. } => true,
            DbError::Sql { transient, .. } => *transient,
            DbError::Data(_) => false,
        }
    }

    /// SQLSTATE or MySQL error number.
    pub fn code(&self) -> Option<&str> {
        match self {
            DbError::Sql { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn from_pg(context: impl Into<String>, e: &tokio_postgres::Error) -> Self {
        let context = context.into();
        match e.as_db_error() {
            Some(db) => {
                let code = db.code().code().to_string();
                // 08: connection exception; 40001 serialization failure;
                // 40P01 deadlock; 53: insufficient resources; 57P0x:
                // operator intervention (shutdown); 55P03 lock not available.
                let transient = code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P0")
                    || matches!(code.as_str(), "40001" | "40P01" | "55P03");
                let mut message = format!("{} (SQLSTATE {code})", db.message());
                if let Some(d) = db.detail() {
                    message.push_str(": ");
                    message.push_str(d);
                }
                DbError::Sql {
                    context,
                    message,
                    transient,
                    code: Some(code),
                }
            }
            // No server error: a closed connection or I/O is worth
            // retrying; a value that cannot be encoded or decoded is not.
            None => {
                let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
                DbError::Sql {
                    context,
                    message: e.to_string(),
                    transient: e.is_closed() || io,
                    code: None,
                }
            }
        }
    }

    pub(crate) fn from_mysql(context: impl Into<String>, e: &mysql_async::Error) -> Self {
        let context = context.into();
        match e {
            mysql_async::Error::Server(s) => {
                // 1205 lock wait timeout, 1213 deadlock, 1040 too many
                // connections, 1053 shutdown, 2006/2013 gone away, 1927
                // connection killed (MariaDB), 3024 query timeout.
                let transient = matches!(s.code, 1040 | 1053 | 1205 | 1213 | 1927 | 2006 | 2013);
                DbError::Sql {
                    context,
                    message: format!("{} (error {}, SQLSTATE {})", s.message, s.code, s.state),
                    transient,
                    code: Some(s.code.to_string()),
                }
            }
            mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => DbError::Sql {
                context,
                message: e.to_string(),
                transient: true,
                code: None,
            },
            other => DbError::Sql {
                context,
                message: other.to_string(),
                transient: false,
                code: None,
            },
        }
    }
}
