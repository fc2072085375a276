//! Round trips: Connect schema → Avro → Connect,
//! and values through Avro binary.

use std::sync::Arc;

use super::fixtures::{ORDER_JSON, order_schema, order_value, schemas};
use crate::avro::*;
use crate::logical::{Decimal, date_schema, decimal_schema, time_schema, timestamp_schema};
use crate::schema::{Schema, SchemaBuilder, SchemaRef};
use crate::value::{Struct, Value};

fn cfg() -> AvroDataConfig {
    AvroDataConfig::default()
}

fn round_trip_schema(schema: &SchemaRef) -> SchemaRef {
    let avro = to_avro_schema(schema, &cfg()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&avro.json).unwrap();
    to_connect_schema(&json, &cfg()).unwrap()
}

fn encode(schema: &Schema, avro: &apache_avro::Schema, value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(schema, avro, value, &mut out).unwrap();
    out
}

#[test]
fn representative_struct_json_matches_confluent() {
    let schema = order_schema();
    let avro = to_avro_schema(&schema, &cfg()).unwrap();
    assert_eq!(avro.json, ORDER_JSON);
    assert_eq!(round_trip_schema(&schema), schema);
}

#[test]
fn representative_struct_value_round_trip() {
    let schema = order_schema();
    let avro = to_avro_schema(&schema, &cfg()).unwrap();
    let value = order_value(&schema);
    let bytes = encode(&schema, &avro.parsed, &value);
    let back = decode_value(&avro.parsed, &schema, &bytes).unwrap();
    // A null field with a default is written as the default.
    let Value::Struct(expected) = value else {
        unreachable!()
    };
    let expected = expected.put("note", "none".into()).unwrap();
    assert_eq!(back, Value::Struct(expected));
    // The connect schema derived from the registered text decodes the same.
    let (parsed, connect) = parse_avro_schema(&avro.json, &[]).unwrap();
    assert_eq!(connect, schema);
    let again = decode_value(&parsed, &connect, &bytes).unwrap();
    assert_eq!(again, back);
}

#[test]
fn schemas_round_trip_through_avro() {
    for schema in schemas() {
        let avro = to_avro_schema(&schema, &cfg()).unwrap_or_else(|e| panic!("{schema:?}: {e}"));
        let json: serde_json::Value = serde_json::from_str(&avro.json).unwrap();
        let back =
            to_connect_schema(&json, &cfg()).unwrap_or_else(|e| panic!("{}: {e}", avro.json));
        assert_eq!(back, schema, "{}", avro.json);
        // The parsed schema is what the registry text parses to.
        let (parsed, connect) = parse_avro_schema(&avro.json, &[]).unwrap();
        assert_eq!(parsed, avro.parsed);
        assert_eq!(connect, schema);
        // And writing the result again gives the same text.
        assert_eq!(to_avro_schema(&back, &cfg()).unwrap().json, avro.json);
    }
}

fn assert_value_round_trip(schema: &SchemaRef, value: Value) {
    let avro = to_avro_schema(schema, &cfg()).unwrap();
    let bytes = encode(schema, &avro.parsed, &value);
    // apache_avro reads what was written.
    let mut reader = &bytes[..];
    apache_avro::reader::datum::GenericDatumReader::builder(&avro.parsed)
        .build()
        .and_then(|r| r.read_value(&mut reader))
        .unwrap_or_else(|e| panic!("{}: {e}", avro.json));
    assert!(reader.is_empty(), "{}: trailing bytes", avro.json);
    let back = decode_value(&avro.parsed, schema, &bytes).unwrap();
    assert_eq!(back, value, "{}", avro.json);
}

#[test]
fn primitive_and_logical_values_round_trip() {
    let cases: Vec<(SchemaRef, Vec<Value>)> = vec![
        (
            Schema::int8(),
            vec![Value::Int8(i8::MIN), Value::Int8(0), Value::Int8(i8::MAX)],
        ),
        (
            Schema::int16(),
            vec![Value::Int16(i16::MIN), Value::Int16(i16::MAX)],
        ),
        (
            Schema::int32(),
            vec![
                Value::Int32(i32::MIN),
                Value::Int32(-1),
                Value::Int32(i32::MAX),
            ],
        ),
        (
            Schema::int64(),
            vec![
                Value::Int64(i64::MIN),
                Value::Int64(64),
                Value::Int64(i64::MAX),
            ],
        ),
        (
            Schema::float32(),
            vec![
                Value::Float32(-1.5),
                Value::Float32(f32::MAX),
                Value::Float32(f32::INFINITY),
            ],
        ),
        (
            Schema::float64(),
            vec![
                Value::Float64(0.1),
                Value::Float64(-0.0),
                Value::Float64(f64::MIN_POSITIVE),
            ],
        ),
        (
            Schema::boolean(),
            vec![Value::Boolean(true), Value::Boolean(false)],
        ),
        (Schema::string(), vec!["".into(), "héllo \u{1F600}".into()]),
        (
            Schema::bytes(),
            vec![Value::Bytes(vec![]), Value::Bytes((0..=255).collect())],
        ),
        (
            decimal_schema(2).build(),
            vec![
                Decimal::new(0, 2).to_value(),
                Decimal::new(-12345, 2).to_value(),
                Decimal::new(i128::MAX, 2).to_value(),
                Decimal::new(i128::MIN, 2).to_value(),
            ],
        ),
        (
            decimal_schema(-2).build(),
            vec![Decimal::new(7, -2).to_value()],
        ),
        (
            date_schema().build(),
            vec![Value::Int32(-719_162), Value::Int32(19_000)],
        ),
        (
            time_schema().build(),
            vec![Value::Int32(0), Value::Int32(86_400_000)],
        ),
        (
            timestamp_schema().build(),
            vec![Value::Int64(-1), Value::Int64(1_700_000_000_000)],
        ),
    ];
    for (schema, values) in cases {
        let optional = Arc::new(Schema {
            optional: true,
            ..(*schema).clone()
        });
        for value in values {
            assert_value_round_trip(&schema, value.clone());
            assert_value_round_trip(&optional, value);
        }
        assert_value_round_trip(&optional, Value::Null);
    }
}

#[test]
fn nested_values_round_trip() {
    let inner = SchemaBuilder::struct_()
        .name("com.example.Inner")
        .optional()
        .field("n", Schema::optional_int64())
        .field("d", date_schema().build())
        .build();
    let schema = SchemaBuilder::struct_()
        .name("com.example.Outer")
        .field("list", SchemaBuilder::array(inner.clone()).build())
        .field(
            "by_name",
            SchemaBuilder::map(Schema::string(), inner.clone()).build(),
        )
        .field(
            "by_id",
            SchemaBuilder::map(
                Schema::int32(),
                SchemaBuilder::array(Schema::optional_string()).build(),
            )
            .build(),
        )
        .field(
            "opt_keys",
            SchemaBuilder::map(Schema::optional_string(), Schema::float64()).build(),
        )
        .field("one", inner.clone())
        .field("empty", SchemaBuilder::array(Schema::int32()).build())
        .build();
    let item = |n: Option<i64>, d: i32| {
        Value::Struct(
            Struct::new(inner.clone())
                .put("n", n.map_or(Value::Null, Value::Int64))
                .unwrap()
                .put("d", Value::Int32(d))
                .unwrap(),
        )
    };
    let value = Struct::new(schema.clone())
        .put(
            "list",
            Value::Array(vec![item(Some(1), 2), Value::Null, item(None, -3)]),
        )
        .unwrap()
        .put("by_name", Value::Map(vec![("x".into(), item(Some(-9), 0))]))
        .unwrap()
        .put(
            "by_id",
            Value::Map(vec![
                (Value::Int32(2), Value::Array(vec!["a".into(), Value::Null])),
                (Value::Int32(1), Value::Array(vec![])),
            ]),
        )
        .unwrap()
        .put(
            "opt_keys",
            Value::Map(vec![
                (Value::Null, Value::Float64(1.0)),
                ("k".into(), Value::Float64(2.0)),
            ]),
        )
        .unwrap()
        .put("one", Value::Null)
        .unwrap()
        .put("empty", Value::Array(vec![]))
        .unwrap();
    assert_value_round_trip(&schema, Value::Struct(value));
}

#[test]
fn union_struct_values_round_trip() {
    let schema = schemas().pop().unwrap();
    let avro = to_avro_schema(&schema, &cfg()).unwrap();
    assert_eq!(
        avro.json,
        r#"["int","string",{"type":"record","name":"Rec","namespace":"com.example","fields":[{"name":"f","type":"boolean"}],"connect.name":"com.example.Rec"}]"#
    );
    let rec = schema.field("Rec").unwrap().schema.clone();
    for (field, v) in [
        ("int", Value::Int32(5)),
        ("string", "s".into()),
        (
            "Rec",
            Value::Struct(Struct::new(rec).put("f", Value::Boolean(true)).unwrap()),
        ),
    ] {
        let value = Value::Struct(Struct::new(schema.clone()).put(field, v).unwrap());
        assert_value_round_trip(&schema, value);
    }
}

/// The bytes written are the ones apache_avro's own writer produces.
#[test]
fn encoding_matches_apache_avro_writer() {
    use apache_avro::types::Value as A;
    let schema = order_schema();
    let avro = to_avro_schema(&schema, &cfg()).unwrap();
    let bytes = encode(&schema, &avro.parsed, &order_value(&schema));
    let address = A::Record(vec![
        ("street".into(), A::String("Main St".into())),
        ("zip".into(), A::Union(1, Box::new(A::Int(12345)))),
    ]);
    let expected = A::Record(vec![
        ("id".into(), A::Long(-42)),
        ("tiny".into(), A::Int(-128)),
        ("small".into(), A::Union(1, Box::new(A::Int(32767)))),
        (
            "price".into(),
            A::Decimal(apache_avro::Decimal::from(
                Decimal::new(-12345, 2).to_bytes(),
            )),
        ),
        ("created".into(), A::TimestampMillis(1_700_000_000_123)),
        ("day".into(), A::Union(1, Box::new(A::Date(19_000)))),
        ("at".into(), A::TimeMillis(86_399_999)),
        (
            "note".into(),
            A::Union(0, Box::new(A::String("none".into()))),
        ),
        (
            "tags".into(),
            A::Array(vec![A::String("a".into()), A::String("b".into())]),
        ),
        (
            "attrs".into(),
            A::Map([("k".to_string(), A::Int(7))].into_iter().collect()),
        ),
        (
            "counts".into(),
            A::Array(vec![A::Record(vec![
                ("key".into(), A::Int(3)),
                ("value".into(), A::String("three".into())),
            ])]),
        ),
        ("address".into(), A::Union(1, Box::new(address))),
        ("billing".into(), A::Union(0, Box::new(A::Null))),
        ("flag".into(), A::Boolean(false)),
        ("ratio".into(), A::Float(1.5)),
        ("blob".into(), A::Bytes(vec![9, 8, 7])),
    ]);
    let reference = apache_avro::writer::datum::GenericDatumWriter::builder(&avro.parsed)
        .build()
        .unwrap()
        .write_value_to_vec(expected)
        .unwrap();
    assert_eq!(bytes, reference);
}

/// Values written with a registry schema whose union has several branches.
#[test]
fn values_pick_their_branch_of_a_general_union() {
    let avro = apache_avro::Schema::parse_str(
        r#"["null","int","string",{"type":"record","name":"a.R","fields":[{"name":"x","type":"long"}]}]"#,
    )
    .unwrap();
    let mut out = Vec::new();
    encode_value(&Schema::optional_string(), &avro, &"hi".into(), &mut out).unwrap();
    assert_eq!(out, [4, 4, b'h', b'i']);
    out.clear();
    encode_value(&Schema::int32(), &avro, &Value::Int32(-1), &mut out).unwrap();
    assert_eq!(out, [2, 1]);
    out.clear();
    encode_value(&Schema::optional_int32(), &avro, &Value::Null, &mut out).unwrap();
    assert_eq!(out, [0]);
    let r = SchemaBuilder::struct_()
        .name("a.R")
        .field("x", Schema::int64())
        .build();
    let v = Value::Struct(Struct::new(r.clone()).put("x", Value::Int64(3)).unwrap());
    out.clear();
    encode_value(&r, &avro, &v, &mut out).unwrap();
    assert_eq!(out, [6, 6]);
    let err = encode_value(&Schema::float64(), &avro, &Value::Float64(1.0), &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the Avro union has no branch for a Connect float64"
    );
}
