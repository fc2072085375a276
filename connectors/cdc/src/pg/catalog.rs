//! What the catalog says about the captured tables: which tables there
//! are, their columns (type, nullability, primary key position), the slot
//! and the publication.

use tokio_postgres::Client;

use crate::error::CdcError;
use crate::filters::Filters;
use crate::pg::decode::PgType;
use crate::pg::lsn::Lsn;

/// A table of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub oid: u32,
    pub schema: String,
    pub name: String,
}

impl TableName {
    /// `"schema"."table"`, quoted for SQL.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.name))
    }
}

pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColDesc {
    pub name: String,
    pub ty: PgType,
    pub not_null: bool,
    /// 1-based position in the primary key.
    pub pk_pos: Option<i32>,
}

/// The ordinary and partitioned tables the filters capture.
pub async fn list_tables(client: &Client, filters: &Filters) -> Result<Vec<TableName>, CdcError> {
    let rows = client
        .query(
            "SELECT c.oid::int8, n.nspname::text, c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
             ORDER BY 2, 3",
            &[],
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let oid: i64 = r.get(0);
        let t = TableName {
            oid: oid as u32,
            schema: r.get(1),
            name: r.get(2),
        };
        if filters.table(&t.schema, &t.name) {
            out.push(t);
        }
    }
    Ok(out)
}

/// The columns of a table, in order (without dropped and generated
/// columns, as pgoutput sends them).
pub async fn describe(client: &Client, oid: u32) -> Result<Vec<ColDesc>, CdcError> {
    let rows = client
        .query(
            "SELECT a.attname::text, \
               (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)::int8, \
               CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END, \
               a.attnotnull OR t.typnotnull, \
               coalesce(bt.typname, t.typname)::text, \
               coalesce(bt.typtype, t.typtype)::text, \
               (CASE WHEN coalesce(bt.typcategory, t.typcategory) = 'A' THEN coalesce(bt.typelem, t.typelem) ELSE 0 END)::int8, \
               (SELECT string_agg(e.enumlabel, chr(31) ORDER BY e.enumsortorder) FROM pg_enum e \
                 WHERE e.enumtypid = CASE WHEN coalesce(bt.typcategory, t.typcategory) = 'A' \
                   THEN coalesce(bt.typelem, t.typelem) ELSE coalesce(bt.oid, t.oid) END), \
               et.typname::text, \
               (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i \
                 WHERE i.indrelid = a.attrelid AND i.indisprimary) \
             FROM pg_attribute a \
             JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
             LEFT JOIN pg_type et ON et.oid = coalesce(bt.typelem, t.typelem) \
               AND coalesce(bt.typcategory, t.typcategory) = 'A' \
             WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' \
             ORDER BY a.attnum",
            &[&i64::from(oid)],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let type_oid: i64 = r.get(1);
        let elem_oid: i64 = r.get(6);
        let labels: Option<String> = r.get(7);
        let labels = labels.map(|l| l.split('\u{1f}').map(str::to_string).collect::<Vec<_>>());
        let element = (elem_oid != 0).then(|| {
            Box::new(PgType {
                oid: elem_oid as u32,
                typmod: r.get(2),
                name: r.get::<_, Option<String>>(8).unwrap_or_default(),
                enum_labels: labels.clone(),
                element: None,
            })
        });
        out.push(ColDesc {
            name: r.get(0),
            ty: PgType {
                oid: type_oid as u32,
                typmod: r.get(2),
                name: r.get(4),
                enum_labels: if element.is_some() { None } else { labels },
                element,
            },
            not_null: r.get(3),
            pk_pos: r.get(9),
        });
    }
    Ok(out)
}

/// A replication slot as `pg_replication_slots` shows it.
#[derive(Debug, Clone)]
pub struct SlotInfo {
    pub plugin: Option<String>,
    pub database: Option<String>,
    pub active_pid: Option<i32>,
    pub confirmed_flush: Option<Lsn>,
}

pub async fn slot(client: &Client, name: &str) -> Result<Option<SlotInfo>, CdcError> {
    let row = client
        .query_opt(
            "SELECT plugin::text, database::text, active_pid, confirmed_flush_lsn::text \
             FROM pg_replication_slots WHERE slot_name = $1",
            &[&name],
        )
        .await?;
    Ok(row.map(|r| SlotInfo {
        plugin: r.get(0),
        database: r.get(1),
        active_pid: r.get(2),
        confirmed_flush: r.get::<_, Option<String>>(3).and_then(|s| s.parse().ok()),
    }))
}

/// Makes sure the publication exists (and, in filtered mode, covers
/// exactly the captured tables).
pub async fn ensure_publication(
    client: &Client,
    name: &str,
    mode: crate::pg::config::AutocreateMode,
    tables: &[TableName],
) -> Result<(), CdcError> {
    use crate::pg::config::AutocreateMode;
    let exists = client
        .query_opt(
            "SELECT puballtables FROM pg_publication WHERE pubname = $1",
            &[&name],
        )
        .await?;
    let list = || {
        tables
            .iter()
            .map(TableName::quoted)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let setup = |e: CdcError, what: &str| {
        CdcError::Setup(format!(
            "cannot {what} publication '{name}': {e}; create it yourself (CREATE PUBLICATION {name} FOR ALL TABLES) and set publication.autocreate.mode=disabled, or grant the connector's user the rights"
        ))
    };
    match (exists, mode) {
        (Some(_), AutocreateMode::Filtered) if !tables.is_empty() => {
            client
                .batch_execute(&format!(
                    "ALTER PUBLICATION {} SET TABLE {}",
                    quote(name),
                    list()
                ))
                .await
                .map_err(|e| setup(e.into(), "update"))?;
        }
        (Some(_), _) => {}
        (None, AutocreateMode::Disabled) => {
            return Err(CdcError::Setup(format!(
                "publication '{name}' does not exist and publication.autocreate.mode=disabled: create it (CREATE PUBLICATION {name} FOR ALL TABLES, or FOR TABLE the captured tables)"
            )));
        }
        (None, AutocreateMode::AllTables) => {
            client
                .batch_execute(&format!(
                    "CREATE PUBLICATION {} FOR ALL TABLES",
                    quote(name)
                ))
                .await
                .map_err(|e| setup(e.into(), "create"))?;
        }
        (None, AutocreateMode::Filtered) => {
            let sql = if tables.is_empty() {
                format!("CREATE PUBLICATION {}", quote(name))
            } else {
                format!("CREATE PUBLICATION {} FOR TABLE {}", quote(name), list())
            };
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| setup(e.into(), "create"))?;
        }
    }
    Ok(())
}
