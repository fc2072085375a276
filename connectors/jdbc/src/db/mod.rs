//! Connections: PostgreSQL through `tokio-postgres`, MySQL and MariaDB
//! through `mysql_async`, behind one enum with what the connectors need:
//! connect with retries, list tables, describe a query's columns, stream
//! its rows with bounded memory, run statements.

mod error;
pub mod mysql;
pub mod pg;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use error::DbError;

use crate::dialect::Dialect;
use crate::table_id::TableId;
use crate::types::time::DbZone;
use crate::types::{Cell, Column};
use crate::url::{Flavor, JdbcUrl, redact};

/// How to reach the database: `connection.*` keys and `db.timezone`.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub url: JdbcUrl,
    /// The URL as the user wrote it, password hidden, for messages.
    pub shown_url: String,
    pub attempts: u32,
    pub backoff: Duration,
    pub zone: DbZone,
}

impl ConnectSettings {
    pub fn new(
        url: &str,
        user: Option<String>,
        password: Option<String>,
        attempts: u32,
        backoff: Duration,
        zone: DbZone,
    ) -> Result<Self, crate::url::UrlError> {
        let mut parsed = JdbcUrl::parse(url)?;
        if let Some(u) = user.filter(|u| !u.is_empty()) {
            parsed.user = Some(u);
        }
        if let Some(p) = password {
            parsed.password = Some(p);
        }
        Ok(Self {
            url: parsed,
            shown_url: redact(url),
            attempts: attempts.max(1),
            backoff,
            zone,
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.url.flavor {
            Flavor::Postgres => Dialect::Postgres,
            Flavor::MySql | Flavor::MariaDb => Dialect::MySql,
        }
    }
}

/// Which tables to list (`catalog.pattern`, `schema.pattern`,
/// `table.types`); patterns are SQL `LIKE` patterns as in JDBC metadata.
#[derive(Debug, Clone, Default)]
pub struct TableQuery {
    pub catalog_pattern: Option<String>,
    pub schema_pattern: Option<String>,
    /// JDBC table types: `TABLE`, `VIEW`, `MATERIALIZED VIEW`, ...
    pub types: Vec<String>,
}

/// A column of an existing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbColumn {
    pub name: String,
    /// The database's type name, lower case (`timestamp without time zone`,
    /// `jsonb`, `datetime`).
    pub type_name: String,
    pub nullable: bool,
}

/// A query parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Param {
    Int(i64),
    /// An instant, µs since the epoch.
    Timestamp(i64),
}

/// A statement ready to stream, with its result columns.
#[derive(Debug)]
pub struct Prepared {
    pub sql: String,
    pub columns: Vec<Column>,
    inner: PreparedInner,
}

#[derive(Debug)]
enum PreparedInner {
    Pg(pg::PgPrepared),
    My(mysql_async::Statement),
}

/// One row, or the error that ended the stream.
pub type RowResult = Result<Vec<Cell>, DbError>;

/// Rows as a stream sends them: as many as were ready (at most
/// [`CHUNK_ROWS`]), or the error that ended the stream.
pub type RowChunk = Result<Vec<Vec<Cell>>, DbError>;

/// Most rows per chunk: a busy stream sends few, large messages; a
/// trickling one sends each row as it comes.
pub const CHUNK_ROWS: usize = 256;

/// An open connection.
#[derive(Debug)]
pub enum Conn {
    Pg(pg::PgConn),
    My(mysql::MyConn),
}

impl Conn {
    /// Connects, trying `attempts` times `backoff` apart.
    pub async fn connect(settings: &ConnectSettings) -> Result<Self, DbError> {
        let mut last = None;
        for attempt in 1..=settings.attempts {
            let result = match settings.url.flavor {
                Flavor::Postgres => pg::PgConn::connect(settings).await.map(Conn::Pg),
                Flavor::MySql | Flavor::MariaDb => {
                    mysql::MyConn::connect(settings).await.map(Conn::My)
                }
            };
            match result {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(
                        url = %settings.shown_url,
                        attempt,
                        attempts = settings.attempts,
                        "JDBC connection failed: {e}"
                    );
                    last = Some(e.to_string());
                    if attempt < settings.attempts {
                        tokio::time::sleep(settings.backoff).await;
                    }
                }
            }
        }
        Err(DbError::Connect {
            url: settings.shown_url.clone(),
            attempts: settings.attempts,
            message: last.unwrap_or_default(),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Pg(_) => Dialect::Postgres,
            Conn::My(_) => Dialect::MySql,
        }
    }

    /// False once the server or network closed the connection.
    pub fn is_open(&self) -> bool {
        match self {
            Conn::Pg(c) => c.is_open(),
            Conn::My(c) => c.is_open(),
        }
    }

    /// Tables and views, sorted.
    pub async fn list_tables(&mut self, q: &TableQuery) -> Result<Vec<TableId>, DbError> {
        match self {
            Conn::Pg(c) => c.list_tables(q).await,
            Conn::My(c) => c.list_tables(q).await,
        }
    }

    /// The database's current time, µs since the epoch.
    pub async fn now(&mut self) -> Result<i64, DbError> {
        match self {
            Conn::Pg(c) => c.now().await,
            Conn::My(c) => c.now().await,
        }
    }

    /// Prepares `sql` and reads its result columns.
    pub async fn prepare(&mut self, sql: &str) -> Result<Prepared, DbError> {
        let (columns, inner) = match self {
            Conn::Pg(c) => {
                let p = c.prepare(sql).await?;
                (p.columns.clone(), PreparedInner::Pg(p))
            }
            Conn::My(c) => {
                let (cols, st) = c.prepare(sql).await?;
                (cols, PreparedInner::My(st))
            }
        };
        Ok(Prepared {
            sql: sql.to_string(),
            columns,
            inner,
        })
    }

    /// Runs `prepared` on a task of its own and sends its rows to `tx` as
    /// they arrive: the channel's capacity bounds what is read ahead, and
    /// a dropped receiver ends the query. The connection comes back when
    /// the rows are done.
    pub fn stream(
        self,
        prepared: &Prepared,
        params: Vec<Param>,
        tx: mpsc::Sender<RowChunk>,
    ) -> JoinHandle<Conn> {
        let sql = prepared.sql.clone();
        match (self, &prepared.inner) {
            (Conn::Pg(c), PreparedInner::Pg(p)) => {
                let p = p.clone();
                tokio::spawn(async move { Conn::Pg(c.stream(p, params, tx).await) })
            }
            (Conn::My(c), PreparedInner::My(st)) => {
                let st = st.clone();
                let columns = prepared.columns.clone();
                tokio::spawn(async move { Conn::My(c.stream(st, columns, params, tx).await) })
            }
            (conn, _) => tokio::spawn(async move {
                let _ = tx
                    .send(Err(DbError::data(format!(
                        "statement '{sql}' was prepared on another kind of connection"
                    ))))
                    .await;
                conn
            }),
        }
    }

    /// The largest value of an integer column (`None` for an empty table).
    pub async fn max_i64(
        &mut self,
        table: &TableId,
        column: &str,
        quoting: crate::dialect::Quoting,
    ) -> Result<Option<i64>, DbError> {
        let d = self.dialect();
        let (col, t) = (d.ident(column, quoting), table.sql(d, quoting));
        match self {
            Conn::Pg(c) => {
                c.scalar_i64(&format!("SELECT MAX({col})::bigint FROM {t}"))
                    .await
            }
            Conn::My(c) => {
                c.scalar_i64(&format!("SELECT CAST(MAX({col}) AS SIGNED) FROM {t}"))
                    .await
            }
        }
    }

    /// Runs statements that return no rows.
    pub async fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Conn::Pg(c) => c.execute_batch(sql).await,
            Conn::My(c) => c.execute_batch(sql).await,
        }
    }

    /// The columns of a table, in order, with nullability and
    /// auto-increment flags.
    pub async fn table_columns(&mut self, table: &TableId) -> Result<Vec<Column>, DbError> {
        let sql = format!(
            "SELECT * FROM {} WHERE 1 = 0",
            table.sql(self.dialect(), crate::dialect::Quoting::Always)
        );
        Ok(self.prepare(&sql).await?.columns)
    }

    /// The columns of an existing table, or `None` when it does not exist.
    pub async fn describe_table(
        &mut self,
        table: &TableId,
    ) -> Result<Option<Vec<DbColumn>>, DbError> {
        match self {
            Conn::Pg(c) => c.describe_table(table).await,
            Conn::My(c) => c.describe_table(table).await,
        }
    }

    pub async fn close(self) {
        match self {
            Conn::Pg(c) => c.close().await,
            Conn::My(c) => c.close().await,
        }
    }
}
