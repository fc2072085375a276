//! Debezium's event shapes: the change envelope around a row, the
//! `source` block, the transaction block and the heartbeat record.

use sluice_connect_api::schema::{SchemaBuilder, SchemaRef, Struct, Value};

/// Debezium's version string in `source.version`: the Debezium release
/// whose shapes these are.
pub const DEBEZIUM_VERSION: &str = "3.1.0.Final";

/// `source.snapshot` values.
pub const SNAPSHOT_ALLOWED: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

fn snapshot_field() -> SchemaRef {
    SchemaBuilder::string()
        .optional()
        .name("io.debezium.data.Enum")
        .version(1)
        .parameter("allowed", SNAPSHOT_ALLOWED)
        .default_value(Value::String("false".into()))
        .build()
}

fn common_source(b: SchemaBuilder) -> SchemaBuilder {
    b.field("version", SchemaBuilder::string().build())
        .field("connector", SchemaBuilder::string().build())
        .field("name", SchemaBuilder::string().build())
        .field("ts_ms", SchemaBuilder::int64().build())
        .field("snapshot", snapshot_field())
        .field("db", SchemaBuilder::string().build())
        .field("sequence", SchemaBuilder::string().optional().build())
        .field("ts_us", SchemaBuilder::int64().optional().build())
        .field("ts_ns", SchemaBuilder::int64().optional().build())
}

/// `io.debezium.connector.postgresql.Source`.
pub fn pg_source_schema() -> SchemaRef {
    common_source(
        SchemaBuilder::struct_()
            .name("io.debezium.connector.postgresql.Source")
            .version(1),
    )
    .field("schema", SchemaBuilder::string().build())
    .field("table", SchemaBuilder::string().build())
    .field("txId", SchemaBuilder::int64().optional().build())
    .field("lsn", SchemaBuilder::int64().optional().build())
    .field("xmin", SchemaBuilder::int64().optional().build())
    .build()
}

/// `event.block`: the transaction an event belongs to.
pub fn transaction_block_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .optional()
        .name("event.block")
        .version(1)
        .field("id", SchemaBuilder::string().build())
        .field("total_order", SchemaBuilder::int64().build())
        .field("data_collection_order", SchemaBuilder::int64().build())
        .build()
}

/// `<prefix>.<schema>.<table>.Envelope` around a row schema.
pub fn envelope_schema(name: &str, row: &SchemaRef, source: &SchemaRef) -> SchemaRef {
    SchemaBuilder::struct_()
        .name(format!("{name}.Envelope"))
        .version(2)
        .field("before", row.clone())
        .field("after", row.clone())
        .field("source", source.clone())
        .field("transaction", transaction_block_schema())
        .field("op", SchemaBuilder::string().build())
        .field("ts_ms", SchemaBuilder::int64().optional().build())
        .field("ts_us", SchemaBuilder::int64().optional().build())
        .field("ts_ns", SchemaBuilder::int64().optional().build())
        .build()
}

/// Debezium's operation codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
    Read,
    Truncate,
}

impl Op {
    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
            Op::Truncate => "t",
        }
    }
}

/// The current time in µs since the epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// An envelope value; `ts_us` is when the event was made (µs).
pub fn envelope(
    schema: &SchemaRef,
    op: Op,
    before: Value,
    after: Value,
    source: Struct,
    transaction: Value,
    now_us: i64,
) -> Value {
    Value::Struct(Struct::from_parts_unchecked(
        schema.clone(),
        vec![
            before,
            after,
            Value::Struct(source),
            transaction,
            Value::String(op.code().to_string()),
            Value::Int64(now_us / 1000),
            Value::Int64(now_us),
            Value::Int64(now_us.saturating_mul(1000)),
        ],
    ))
}

/// `io.debezium.connector.common.TransactionMetadataKey`.
pub fn transaction_key_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("io.debezium.connector.common.TransactionMetadataKey")
        .version(1)
        .field("id", SchemaBuilder::string().build())
        .build()
}

/// `event.collection`: events of one table in a transaction.
pub fn event_collection_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .optional()
        .name("event.collection")
        .version(1)
        .field("data_collection", SchemaBuilder::string().build())
        .field("event_count", SchemaBuilder::int64().build())
        .build()
}

/// `io.debezium.connector.common.TransactionMetadataValue`.
pub fn transaction_value_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("io.debezium.connector.common.TransactionMetadataValue")
        .version(1)
        .field("status", SchemaBuilder::string().build())
        .field("id", SchemaBuilder::string().build())
        .field("event_count", SchemaBuilder::int64().optional().build())
        .field(
            "data_collections",
            SchemaBuilder::array(event_collection_schema())
                .optional()
                .build(),
        )
        .field("ts_ms", SchemaBuilder::int64().build())
        .build()
}

/// `io.debezium.connector.common.ServerNameKey`.
pub fn heartbeat_key_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("io.debezium.connector.common.ServerNameKey")
        .version(1)
        .field("serverName", SchemaBuilder::string().build())
        .build()
}

/// `io.debezium.connector.common.Heartbeat`.
pub fn heartbeat_value_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("io.debezium.connector.common.Heartbeat")
        .version(1)
        .field("ts_ms", SchemaBuilder::int64().build())
        .build()
}
