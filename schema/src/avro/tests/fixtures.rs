//! Connect schemas and values the round-trip tests share.

use std::sync::Arc;

use crate::logical::{Decimal, date_schema, decimal_schema, time_schema, timestamp_schema};
use crate::schema::{Schema, SchemaBuilder, SchemaRef};
use crate::value::{Struct, Value};

/// The schema Confluent's AvroData registers for [`order_schema`], derived
/// from its source (property order: connect.doc, connect.version,
/// connect.parameters, connect.default, connect.name, connect.type, then
/// logicalType; Avro writes `type`, `name`, `namespace`, `doc`, `fields`,
/// then properties; a field is `name`, `type`, `doc`, `default`).
pub(super) const ORDER_JSON: &str = concat!(
    r#"{"type":"record","name":"Order","namespace":"com.example","fields":["#,
    r#"{"name":"id","type":"long"},"#,
    r#"{"name":"tiny","type":{"type":"int","connect.type":"int8"}},"#,
    r#"{"name":"small","type":["null",{"type":"int","connect.type":"int16"}],"default":null},"#,
    r#"{"name":"price","type":{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}},"#,
    r#"{"name":"created","type":{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}},"#,
    r#"{"name":"day","type":["null",{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}],"default":null},"#,
    r#"{"name":"at","type":{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}},"#,
    r#"{"name":"note","type":[{"type":"string","connect.default":"none"},"null"],"default":"none"},"#,
    r#"{"name":"tags","type":{"type":"array","items":"string"}},"#,
    r#"{"name":"attrs","type":{"type":"map","values":"int"}},"#,
    r#"{"name":"counts","type":{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}},"#,
    r#"{"name":"address","type":["null",{"type":"record","name":"Address","fields":[{"name":"street","type":"string"},{"name":"zip","type":["null","int"],"default":null}],"connect.name":"com.example.Address"}],"default":null},"#,
    r#"{"name":"billing","type":["null","Address"],"default":null},"#,
    r#"{"name":"flag","type":{"type":"boolean","connect.default":true},"default":true},"#,
    r#"{"name":"ratio","type":{"type":"float","connect.default":0.1},"default":0.10000000149011612},"#,
    r#"{"name":"blob","type":{"type":"bytes","connect.default":"\u0000\u0001ÿ"},"default":"\u0000\u0001ÿ"}"#,
    r#"],"connect.doc":"An order","connect.version":2,"connect.name":"com.example.Order"}"#
);

pub(super) fn address_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("com.example.Address")
        .optional()
        .field("street", Schema::string())
        .field("zip", Schema::optional_int32())
        .build()
}

pub(super) fn order_schema() -> SchemaRef {
    let counts = SchemaBuilder::map(Schema::int32(), Schema::string()).build();
    SchemaBuilder::struct_()
        .name("com.example.Order")
        .version(2)
        .doc("An order")
        .field("id", Schema::int64())
        .field("tiny", Schema::int8())
        .field("small", Schema::optional_int16())
        .field("price", decimal_schema(2).build())
        .field("created", timestamp_schema().build())
        .field("day", date_schema().optional().build())
        .field("at", time_schema().build())
        .field(
            "note",
            SchemaBuilder::string()
                .optional()
                .default_value("none".into())
                .build(),
        )
        .field("tags", SchemaBuilder::array(Schema::string()).build())
        .field(
            "attrs",
            SchemaBuilder::map(Schema::string(), Schema::int32()).build(),
        )
        .field("counts", counts)
        .field("address", address_schema())
        .field("billing", address_schema())
        .field(
            "flag",
            SchemaBuilder::boolean()
                .default_value(Value::Boolean(true))
                .build(),
        )
        .field(
            "ratio",
            SchemaBuilder::float32()
                .default_value(Value::Float32(0.1))
                .build(),
        )
        .field(
            "blob",
            SchemaBuilder::bytes()
                .default_value(Value::Bytes(vec![0, 1, 0xff]))
                .build(),
        )
        .build()
}

pub(super) fn order_value(schema: &SchemaRef) -> Value {
    let address = Struct::new(address_schema())
        .put("street", "Main St".into())
        .unwrap()
        .put("zip", Value::Int32(12345))
        .unwrap();
    let s = Struct::new(schema.clone())
        .put("id", Value::Int64(-42))
        .unwrap()
        .put("tiny", Value::Int8(-128))
        .unwrap()
        .put("small", Value::Int16(32767))
        .unwrap()
        .put("price", Decimal::new(-12345, 2).to_value())
        .unwrap()
        .put("created", Value::Int64(1_700_000_000_123))
        .unwrap()
        .put("day", Value::Int32(19_000))
        .unwrap()
        .put("at", Value::Int32(86_399_999))
        .unwrap()
        .put("note", Value::Null)
        .unwrap()
        .put("tags", Value::Array(vec!["a".into(), "b".into()]))
        .unwrap()
        .put("attrs", Value::Map(vec![("k".into(), Value::Int32(7))]))
        .unwrap()
        .put(
            "counts",
            Value::Map(vec![(Value::Int32(3), "three".into())]),
        )
        .unwrap()
        .put("address", Value::Struct(address))
        .unwrap()
        .put("billing", Value::Null)
        .unwrap()
        .put("flag", Value::Boolean(false))
        .unwrap()
        .put("ratio", Value::Float32(1.5))
        .unwrap()
        .put("blob", Value::Bytes(vec![9, 8, 7]))
        .unwrap();
    Value::Struct(s)
}

/// Every kind of Connect schema this mapping must bring back unchanged.
pub(super) fn schemas() -> Vec<SchemaRef> {
    let mut out: Vec<SchemaRef> = vec![
        Schema::int8(),
        Schema::int16(),
        Schema::int32(),
        Schema::int64(),
        Schema::float32(),
        Schema::float64(),
        Schema::boolean(),
        Schema::string(),
        Schema::bytes(),
        Schema::optional_int8(),
        Schema::optional_int16(),
        Schema::optional_int32(),
        Schema::optional_int64(),
        Schema::optional_float32(),
        Schema::optional_float64(),
        Schema::optional_boolean(),
        Schema::optional_string(),
        Schema::optional_bytes(),
        decimal_schema(2).build(),
        decimal_schema(0).optional().build(),
        decimal_schema(-3).build(),
        decimal_schema(4)
            .parameter("connect.decimal.precision", "10")
            .build(),
        decimal_schema(2)
            .default_value(Decimal::new(105, 2).to_value())
            .build(),
        date_schema().build(),
        date_schema().optional().build(),
        time_schema().default_value(Value::Int32(1000)).build(),
        timestamp_schema().build(),
        timestamp_schema()
            .optional()
            .default_value(Value::Int64(5))
            .build(),
        SchemaBuilder::int8().default_value(Value::Int8(-1)).build(),
        SchemaBuilder::int16()
            .optional()
            .default_value(Value::Int16(300))
            .build(),
        SchemaBuilder::int32()
            .default_value(Value::Int32(7))
            .build(),
        SchemaBuilder::int64()
            .default_value(Value::Int64(1 << 40))
            .build(),
        SchemaBuilder::float32()
            .default_value(Value::Float32(0.1))
            .build(),
        SchemaBuilder::float64()
            .default_value(Value::Float64(-2.5e-7))
            .build(),
        SchemaBuilder::boolean()
            .optional()
            .default_value(Value::Boolean(true))
            .build(),
        SchemaBuilder::string().default_value("x\"y".into()).build(),
        SchemaBuilder::bytes()
            .default_value(Value::Bytes(vec![0, 0x80, 0xff]))
            .build(),
        SchemaBuilder::string()
            .name("com.example.Code")
            .version(3)
            .doc("a code")
            .parameter("k", "v")
            .parameter("avro.java.string", "String")
            .build(),
        SchemaBuilder::array(Schema::optional_string()).build(),
        SchemaBuilder::array(Schema::int32())
            .optional()
            .default_value(Value::Array(vec![Value::Int32(1), Value::Int32(2)]))
            .build(),
        SchemaBuilder::map(Schema::string(), Schema::optional_float64()).build(),
        SchemaBuilder::map(Schema::string(), Schema::int32())
            .default_value(Value::Map(vec![("a".into(), Value::Int32(1))]))
            .build(),
        SchemaBuilder::map(Schema::int64(), Schema::string()).build(),
        SchemaBuilder::map(Schema::optional_string(), Schema::string()).build(),
        SchemaBuilder::map(Schema::int32(), Schema::boolean())
            .optional()
            .default_value(Value::Map(vec![(Value::Int32(1), Value::Boolean(true))]))
            .build(),
        SchemaBuilder::map(Schema::int32(), Schema::boolean())
            .name("com.example.Flags")
            .build(),
        SchemaBuilder::struct_().field("a", Schema::int32()).build(),
        SchemaBuilder::struct_()
            .optional()
            .field("a", Schema::int32())
            .build(),
        SchemaBuilder::struct_()
            .name("Plain")
            .field("a", Schema::optional_string())
            .build(),
        SchemaBuilder::struct_()
            .name("com.example.Doc")
            .version(1)
            .doc("struct doc")
            .parameter("io.confluent.connect.avro.record.doc", "avro doc")
            .parameter("io.confluent.connect.avro.field.doc.a", "field doc")
            .parameter("other", "x")
            .field("a", Schema::int32())
            .build(),
        order_schema(),
    ];
    // Nested and repeated structs, named and not.
    let inner = SchemaBuilder::struct_()
        .field("v", Schema::int64())
        .optional()
        .build();
    out.push(
        SchemaBuilder::struct_()
            .field("first", inner.clone())
            .field("list", SchemaBuilder::array(inner.clone()).build())
            .field(
                "map",
                SchemaBuilder::map(Schema::string(), inner.clone()).build(),
            )
            .field(
                "other",
                SchemaBuilder::struct_()
                    .field("w", Schema::string())
                    .build(),
            )
            .build(),
    );
    // A struct default (its struct value built from the schema without it).
    let point = SchemaBuilder::struct_()
        .name("com.example.Point")
        .field("x", Schema::int32())
        .field(
            "y",
            SchemaBuilder::int32()
                .default_value(Value::Int32(9))
                .build(),
        )
        .build();
    let origin = Struct::new(point.clone())
        .put("x", Value::Int32(0))
        .unwrap()
        .put("y", Value::Int32(0))
        .unwrap();
    let with_default = Arc::new(Schema {
        default: Some(Value::Struct(origin)),
        ..(*point).clone()
    });
    out.push(
        SchemaBuilder::struct_()
            .name("com.example.Shape")
            .field("center", with_default)
            .build(),
    );
    // Two maps with non-string keys of different types in one schema.
    out.push(
        SchemaBuilder::struct_()
            .field(
                "a",
                SchemaBuilder::map(Schema::int32(), Schema::string()).build(),
            )
            .field(
                "b",
                SchemaBuilder::map(Schema::int64(), Schema::string()).build(),
            )
            .field(
                "c",
                SchemaBuilder::map(Schema::int32(), Schema::string()).build(),
            )
            .build(),
    );
    // Maps with struct keys, in arrays; an optional struct with a default
    // holding a map; a fixed-size Decimal; docs on primitives.
    let key = SchemaBuilder::struct_()
        .name("com.example.Key")
        .field("k", Schema::int32())
        .build();
    let by_key = SchemaBuilder::map(key.clone(), Schema::optional_string()).build();
    out.push(SchemaBuilder::array(by_key.clone()).build());
    let holder = SchemaBuilder::struct_()
        .name("com.example.Holder")
        .optional()
        .field(
            "m",
            SchemaBuilder::map(Schema::string(), Schema::int64()).build(),
        )
        .field("d", SchemaBuilder::string().doc("a doc").build())
        .build();
    let default = Struct::new(holder.clone())
        .put("m", Value::Map(vec![("a".into(), Value::Int64(1))]))
        .unwrap()
        .put("d", "x".into())
        .unwrap();
    out.push(
        SchemaBuilder::struct_()
            .field(
                "holder",
                Arc::new(Schema {
                    default: Some(Value::Struct(default)),
                    ..(*holder).clone()
                }),
            )
            .field(
                "fixed_decimal",
                decimal_schema(3)
                    .parameter("connect.decimal.precision", "18")
                    .parameter("connect.fixed.size", "8")
                    .optional()
                    .build(),
            )
            .field(
                "named_fixed",
                SchemaBuilder::bytes()
                    .name("com.example.Hash")
                    .parameter("connect.fixed.size", "2")
                    .default_value(Value::Bytes(vec![1, 2]))
                    .build(),
            )
            .build(),
    );
    // A union as Confluent reads general Avro unions.
    out.push(
        SchemaBuilder::struct_()
            .name("io.confluent.connect.avro.Union")
            .field("int", Schema::optional_int32())
            .field("string", Schema::optional_string())
            .field(
                "Rec",
                SchemaBuilder::struct_()
                    .name("com.example.Rec")
                    .optional()
                    .field("f", Schema::boolean())
                    .build(),
            )
            .build(),
    );
    out
}
