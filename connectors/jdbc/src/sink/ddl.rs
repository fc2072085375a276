//! `auto.create` and `auto.evolve`: Confluent's column types and
//! statements per dialect.

use sluice_connect_api::schema::logical::LogicalType;
use sluice_connect_api::schema::{Schema, SchemaType};

use super::fields::{FieldsMeta, JSON_TEXT, SinkField};
use super::value::decimal_scale;
use crate::dialect::{Dialect, Quoting};
use crate::table_id::TableId;

/// The SQL type of a column for `schema`.
pub fn sql_type(dialect: Dialect, schema: &Schema, primary: bool) -> Result<String, String> {
    let pg = dialect == Dialect::Postgres;
    if let Some(lt) = LogicalType::of(schema) {
        return Ok(match (lt, pg) {
            (LogicalType::Decimal, true) => "DECIMAL".into(),
            (LogicalType::Decimal, false) => {
                format!("DECIMAL(65,{})", decimal_scale(schema).clamp(0, 30))
            }
            (LogicalType::Date, _) => "DATE".into(),
            (LogicalType::Time, true) => "TIME".into(),
            (LogicalType::Time, false) => "TIME(3)".into(),
            (LogicalType::Timestamp, true) => "TIMESTAMP".into(),
            (LogicalType::Timestamp, false) => "DATETIME(3)".into(),
        });
    }
    Ok(match (schema.schema_type, pg) {
        (SchemaType::Int8, true) => "SMALLINT".into(),
        (SchemaType::Int8, false) => "TINYINT".into(),
        (SchemaType::Int16, _) => "SMALLINT".into(),
        (SchemaType::Int32, _) => "INT".into(),
        (SchemaType::Int64, _) => "BIGINT".into(),
        (SchemaType::Float32, true) => "REAL".into(),
        (SchemaType::Float32, false) => "FLOAT".into(),
        (SchemaType::Float64, true) => "DOUBLE PRECISION".into(),
        (SchemaType::Float64, false) => "DOUBLE".into(),
        (SchemaType::Boolean, true) => "BOOLEAN".into(),
        (SchemaType::Boolean, false) => "TINYINT".into(),
        (SchemaType::String, true) if schema.name.as_deref() == Some(JSON_TEXT) => "TEXT".into(),
        (SchemaType::String, true) => "TEXT".into(),
        // MySQL cannot index TEXT without a length: a string key column is
        // VARCHAR (Confluent's TEXT fails there, its issue #996).
        (SchemaType::String, false) if primary => "VARCHAR(255)".into(),
        (SchemaType::String, false) => "TEXT".into(),
        (SchemaType::Bytes, true) => "BYTEA".into(),
        (SchemaType::Bytes, false) if primary => "VARBINARY(255)".into(),
        (SchemaType::Bytes, false) => "BLOB".into(),
        (SchemaType::Array, true) => match schema.value_schema.as_deref() {
            Some(e) if e.schema_type.is_primitive() => {
                format!("{}[]", sql_type(dialect, e, false)?)
            }
            _ => "JSONB".into(),
        },
        (SchemaType::Map | SchemaType::Struct, true) => "JSONB".into(),
        (SchemaType::Array | SchemaType::Map | SchemaType::Struct, false) => "JSON".into(),
    })
}

fn column_spec(dialect: Dialect, quoting: Quoting, f: &SinkField) -> Result<String, String> {
    let ty =
        sql_type(dialect, &f.schema, f.primary).map_err(|e| format!("column {}: {e}", f.name))?;
    let null = if f.optional() { "NULL" } else { "NOT NULL" };
    Ok(format!("{} {ty} {null}", dialect.ident(&f.name, quoting)))
}

/// `CREATE TABLE` with Confluent's layout: one column per line, then the
/// primary key.
pub fn create_table(
    dialect: Dialect,
    quoting: Quoting,
    table: &TableId,
    meta: &FieldsMeta,
) -> Result<String, String> {
    let mut lines = Vec::new();
    for f in meta.all() {
        lines.push(column_spec(dialect, quoting, f)?);
    }
    if !meta.keys.is_empty() {
        let pk: Vec<String> = meta
            .keys
            .iter()
            .map(|k| dialect.ident(&k.name, quoting))
            .collect();
        lines.push(format!("PRIMARY KEY({})", pk.join(",")));
    }
    Ok(format!(
        "CREATE TABLE {} (\n{})",
        table.sql(dialect, quoting),
        lines.join(",\n")
    ))
}

/// `ALTER TABLE ... ADD` for fields the table lacks.
pub fn alter_table(
    dialect: Dialect,
    quoting: Quoting,
    table: &TableId,
    missing: &[&SinkField],
) -> Result<String, String> {
    let adds: Vec<String> = missing
        .iter()
        .map(|f| column_spec(dialect, quoting, f).map(|s| format!("ADD {s}")))
        .collect::<Result<_, _>>()?;
    Ok(format!(
        "ALTER TABLE {} {}",
        table.sql(dialect, quoting),
        adds.join(",\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::fields::Source;
    use sluice_connect_api::schema::SchemaBuilder;
    use sluice_connect_api::schema::logical;

    fn field(
        name: &str,
        schema: sluice_connect_api::schema::SchemaRef,
        primary: bool,
    ) -> SinkField {
        SinkField {
            name: name.into(),
            schema,
            source: Source::ValueField(name.into()),
            primary,
        }
    }

    #[test]
    fn create_and_alter_follow_confluents_types() {
        let meta = FieldsMeta {
            keys: vec![field("id", Schema::int64(), true)],
            values: vec![
                field(
                    "amount",
                    logical::decimal_schema(10).optional().build(),
                    false,
                ),
                field("at", logical::timestamp_schema().build(), false),
                field(
                    "tags",
                    SchemaBuilder::array(Schema::string()).optional().build(),
                    false,
                ),
            ],
        };
        let t = TableId::new(None, Some("public"), "orders");
        assert_eq!(
            create_table(Dialect::Postgres, Quoting::Always, &t, &meta).unwrap(),
            "CREATE TABLE \"public\".\"orders\" (\n\"id\" BIGINT NOT NULL,\n\"amount\" DECIMAL NULL,\n\"at\" TIMESTAMP NOT NULL,\n\"tags\" TEXT[] NULL,\nPRIMARY KEY(\"id\"))"
        );
        let m = TableId::new(Some("shop"), None, "orders");
        let sql = create_table(Dialect::MySql, Quoting::Always, &m, &meta).unwrap();
        assert!(sql.contains("`amount` DECIMAL(65,10) NULL"), "{sql}");
        assert!(sql.contains("`at` DATETIME(3) NOT NULL"), "{sql}");
        assert!(sql.contains("`tags` JSON NULL"), "{sql}");
        let key = field("code", Schema::string(), true);
        assert_eq!(
            sql_type(Dialect::MySql, &key.schema, true).unwrap(),
            "VARCHAR(255)"
        );
        let extra = field("note", Schema::optional_string(), false);
        assert_eq!(
            alter_table(Dialect::Postgres, Quoting::Always, &t, &[&extra]).unwrap(),
            "ALTER TABLE \"public\".\"orders\" ADD \"note\" TEXT NULL"
        );
    }
}
