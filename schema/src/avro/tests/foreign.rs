//! Schemas and data written by plain Avro producers (no `connect.*`
//! properties): enums, fixed, general unions, namespaces, references.

use std::sync::Arc;

use apache_avro::types::Value as A;

use crate::avro::*;
use crate::logical::{Decimal, decimal_schema};
use crate::schema::{Schema, SchemaBuilder, SchemaRef};
use crate::value::{Struct, Value};

const EVENT: &str = r#"{
  "type": "record", "name": "Event", "namespace": "com.acme", "doc": "An event",
  "fields": [
    {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "kind", "type": {"type": "enum", "name": "Kind", "doc": "kinds",
                              "symbols": ["A", "B", "C"], "default": "A"}},
    {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
    {"name": "amount", "type": {"type": "fixed", "name": "Amount", "size": 8,
                                "logicalType": "decimal", "precision": 18, "scale": 3}},
    {"name": "payload", "type": ["null", "string", "long",
        {"type": "record", "name": "Nested", "namespace": "org.other",
         "fields": [{"name": "x", "type": "int"}]},
        "Kind"]},
    {"name": "when", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "count", "type": "int", "default": 5, "doc": "how many"},
    {"name": "again", "type": "org.other.Nested"},
    {"name": "opt", "type": ["string", "null"], "default": "x"},
    {"name": "small", "type": {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2}},
    {"name": "java", "type": {"type": "string", "avro.java.string": "String"}}
  ]
}"#;

fn nested() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("org.other.Nested")
        .field("x", Schema::int32())
        .build()
}

fn kind(optional: bool) -> SchemaRef {
    let mut b = SchemaBuilder::string()
        .name("com.acme.Kind")
        .parameter("io.confluent.connect.avro.enum.doc.Kind", "kinds")
        .parameter("io.confluent.connect.avro.enum.default.Kind", "A")
        .parameter("io.confluent.connect.avro.Enum", "com.acme.Kind");
    for s in ["A", "B", "C"] {
        b = b.parameter(format!("io.confluent.connect.avro.Enum.{s}"), s);
    }
    if optional {
        b.optional().build()
    } else {
        b.build()
    }
}

fn expected_event() -> SchemaRef {
    let optional = |s: SchemaRef| {
        Arc::new(Schema {
            optional: true,
            ..(*s).clone()
        })
    };
    let payload = SchemaBuilder::struct_()
        .name("io.confluent.connect.avro.Union")
        .optional()
        .field("string", Schema::optional_string())
        .field("long", Schema::optional_int64())
        .field("Nested", optional(nested()))
        .field("Kind", kind(true))
        .build();
    SchemaBuilder::struct_()
        .name("com.acme.Event")
        .parameter("io.confluent.connect.avro.record.doc", "An event")
        .parameter("io.confluent.connect.avro.field.doc.count", "how many")
        .field("id", Schema::string())
        .field("kind", kind(false))
        .field(
            "hash",
            SchemaBuilder::bytes()
                .name("com.acme.Hash")
                .parameter("connect.fixed.size", "4")
                .build(),
        )
        .field(
            "amount",
            decimal_schema(3)
                .parameter("connect.decimal.precision", "18")
                .parameter("connect.fixed.size", "8")
                .build(),
        )
        .field("payload", payload)
        .field("when", Schema::int64())
        .field(
            "count",
            SchemaBuilder::int32()
                .parameter("io.confluent.connect.avro.field.default", "true")
                .default_value(Value::Int32(5))
                .build(),
        )
        .field("again", nested())
        .field("opt", Schema::optional_string())
        .field(
            "small",
            decimal_schema(2)
                .parameter("connect.decimal.precision", "5")
                .build(),
        )
        .field(
            "java",
            SchemaBuilder::string()
                .parameter("avro.java.string", "String")
                .build(),
        )
        .build()
}

fn event_datum(payload: A) -> A {
    A::Record(vec![
        ("id".into(), A::Uuid(apache_avro::Uuid::from_u128(0x1234))),
        ("kind".into(), A::Enum(1, "B".into())),
        ("hash".into(), A::Fixed(4, vec![1, 2, 3, 4])),
        (
            "amount".into(),
            A::Decimal(apache_avro::Decimal::from([0xff; 8])),
        ),
        ("payload".into(), payload),
        ("when".into(), A::TimestampMicros(1_700_000_000_000_000)),
        ("count".into(), A::Int(12)),
        ("again".into(), A::Record(vec![("x".into(), A::Int(-1))])),
        ("opt".into(), A::Union(1, Box::new(A::Null))),
        (
            "small".into(),
            A::Decimal(apache_avro::Decimal::from([0x30, 0x39])),
        ),
        ("java".into(), A::String("j".into())),
    ])
}

fn write(schema: &apache_avro::Schema, datum: A) -> Vec<u8> {
    apache_avro::writer::datum::GenericDatumWriter::builder(schema)
        .build()
        .unwrap()
        .write_value_to_vec(datum)
        .unwrap()
}

#[test]
fn plain_avro_schema_maps_to_connect() {
    let (_, connect) = parse_avro_schema(EVENT, &[]).unwrap();
    assert_eq!(connect, expected_event());
    // Without enhanced support the enum is written back as a string, and the
    // union then has two string branches: Avro (like Confluent) refuses it.
    let err = to_avro_schema(&connect, &AvroDataConfig::default()).unwrap_err();
    assert!(err.to_string().contains("duplicate"), "{err}");
    // With it, the schema goes back to Avro and comes back the same.
    let cfg = AvroDataConfig {
        enhanced_avro_schema_support: true,
        ..AvroDataConfig::default()
    };
    let (_, connect) = parse_avro_schema_with(EVENT, &[], &cfg, None).unwrap();
    let avro = to_avro_schema(&connect, &cfg).unwrap();
    let (_, again) = parse_avro_schema_with(&avro.json, &[], &cfg, None).unwrap();
    assert_eq!(again, connect);
}

#[test]
fn plain_avro_data_decodes_and_encodes_back() {
    let (parsed, connect) = parse_avro_schema(EVENT, &[]).unwrap();
    let nested_datum = A::Record(vec![("x".into(), A::Int(7))]);
    let payload_union = connect.field("payload").unwrap().schema.clone();
    let cases = [
        (A::Union(0, Box::new(A::Null)), Value::Null),
        (
            A::Union(1, Box::new(A::String("s".into()))),
            Value::from("s"),
        ),
        (A::Union(2, Box::new(A::Long(9))), Value::Int64(9)),
        (
            A::Union(3, Box::new(nested_datum)),
            Value::Struct(
                Struct::new(payload_union.field("Nested").unwrap().schema.clone())
                    .put("x", Value::Int32(7))
                    .unwrap(),
            ),
        ),
        (
            A::Union(4, Box::new(A::Enum(2, "C".into()))),
            Value::from("C"),
        ),
    ];
    for (i, (payload, expected)) in cases.into_iter().enumerate() {
        let bytes = write(&parsed, event_datum(payload));
        let Value::Struct(event) = decode_value(&parsed, &connect, &bytes).unwrap() else {
            panic!("not a struct");
        };
        assert_eq!(
            event.get("id"),
            Some(&Value::from("00000000-0000-0000-0000-000000001234"))
        );
        assert_eq!(event.get("kind"), Some(&Value::from("B")));
        assert_eq!(event.get("hash"), Some(&Value::Bytes(vec![1, 2, 3, 4])));
        assert_eq!(event.get("amount"), Some(&Decimal::new(-1, 3).to_value()));
        assert_eq!(
            event.get("when"),
            Some(&Value::Int64(1_700_000_000_000_000))
        );
        assert_eq!(event.get("count"), Some(&Value::Int32(12)));
        assert_eq!(event.get("opt"), Some(&Value::Null));
        assert_eq!(event.get("small"), Some(&Decimal::new(12345, 2).to_value()));
        let payload = event.get("payload").unwrap();
        if expected.is_null() {
            assert_eq!(payload, &Value::Null);
        } else {
            let Value::Struct(u) = payload else {
                panic!("{payload:?}")
            };
            assert_eq!(u.schema(), &payload_union);
            let set: Vec<&Value> = u.values().iter().filter(|v| !v.is_null()).collect();
            assert_eq!(set, vec![&expected], "case {i}");
        }
        // Encoding the Connect value with the producer's schema gives its bytes back
        // (the uuid goes back as a string: the Avro type is a uuid string).
        let mut out = Vec::new();
        encode_value(&connect, &parsed, &Value::Struct(event), &mut out).unwrap();
        assert_eq!(out, bytes, "case {i}");
    }
}

#[test]
fn enhanced_support_writes_enums_back() {
    let cfg = AvroDataConfig {
        enhanced_avro_schema_support: true,
        ..AvroDataConfig::default()
    };
    let avro = to_avro_schema(&kind(false), &cfg).unwrap();
    assert_eq!(
        avro.json,
        concat!(
            r#"{"type":"enum","name":"Kind","namespace":"com.acme","doc":"kinds","symbols":["A","B","C"],"default":"A","#,
            r#""connect.parameters":{"io.confluent.connect.avro.enum.doc.Kind":"kinds","io.confluent.connect.avro.enum.default.Kind":"A","io.confluent.connect.avro.Enum":"com.acme.Kind","io.confluent.connect.avro.Enum.A":"A","io.confluent.connect.avro.Enum.B":"B","io.confluent.connect.avro.Enum.C":"C"},"connect.name":"com.acme.Kind"}"#
        )
    );
    let json: serde_json::Value = serde_json::from_str(&avro.json).unwrap();
    assert_eq!(to_connect_schema(&json, &cfg).unwrap(), kind(false));
    let mut out = Vec::new();
    encode_value(&kind(false), &avro.parsed, &Value::from("C"), &mut out).unwrap();
    assert_eq!(out, vec![4]);
    let err = encode_value(&kind(false), &avro.parsed, &Value::from("D"), &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"D\" is not a symbol of the Avro enum com.acme.Kind"
    );
    // Union fields are named after full names.
    let union = r#"["null","int",{"type":"record","name":"R","namespace":"a.b","fields":[]}]"#;
    let json: serde_json::Value = serde_json::from_str(union).unwrap();
    let connect = to_connect_schema(&json, &cfg).unwrap();
    let names: Vec<&str> = connect.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["int", "a.b.R"]);
}

#[test]
fn referenced_schemas_resolve() {
    let address = r#"{"type":"record","name":"Address","namespace":"com.acme",
        "fields":[{"name":"city","type":"string"}]}"#;
    let person = r#"{"type":"record","name":"Person","namespace":"com.acme",
        "fields":[{"name":"home","type":"Address"},{"name":"work","type":["null","com.acme.Address"]}]}"#;
    let (parsed, connect) = parse_avro_schema(person, &[address.to_string()]).unwrap();
    let address_schema = connect.field("home").unwrap().schema.clone();
    assert_eq!(address_schema.name.as_deref(), Some("com.acme.Address"));
    assert!(connect.field("work").unwrap().schema.optional);
    let home = A::Record(vec![("city".into(), A::String("Oslo".into()))]);
    let datum = A::Record(vec![
        ("home".into(), home.clone()),
        ("work".into(), A::Union(1, Box::new(home))),
    ]);
    let bytes = write(&parsed, datum);
    let Value::Struct(p) = decode_value(&parsed, &connect, &bytes).unwrap() else {
        panic!("not a struct")
    };
    let Some(Value::Struct(work)) = p.get("work") else {
        panic!("{p:?}")
    };
    assert_eq!(work.get("city"), Some(&Value::from("Oslo")));
    let mut out = Vec::new();
    encode_value(&connect, &parsed, &Value::Struct(p), &mut out).unwrap();
    assert_eq!(out, bytes);
    // A missing reference is an error, not a panic.
    assert!(parse_avro_schema(person, &[]).is_err());
}

#[test]
fn registry_version_applies_unless_connect_version_says_otherwise() {
    let cfg = AvroDataConfig::default();
    let plain = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#;
    let (_, s) = parse_avro_schema_with(plain, &[], &cfg, Some(4)).unwrap();
    assert_eq!(s.version, Some(4));
    let with = r#"{"type":"record","name":"R","fields":[],"connect.version":2}"#;
    let (_, s) = parse_avro_schema_with(with, &[], &cfg, Some(4)).unwrap();
    assert_eq!(s.version, Some(2));
    let union = r#"["null",{"type":"record","name":"R","fields":[]}]"#;
    let (_, s) = parse_avro_schema_with(union, &[], &cfg, Some(4)).unwrap();
    assert_eq!(s.version, None);
}

#[test]
fn other_avro_shapes() {
    let cfg = AvroDataConfig::default();
    let convert = |text: &str| {
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        to_connect_schema(&json, &cfg)
    };
    // Singleton unions are their branch; nested "type" objects are read through.
    assert_eq!(convert(r#"["int"]"#).unwrap(), Schema::int32());
    assert_eq!(
        convert(r#"{"type":{"type":"long"}}"#).unwrap(),
        Schema::int64()
    );
    assert_eq!(
        convert(r#"["long","null"]"#).unwrap(),
        Schema::optional_int64()
    );
    // A decimal without precision/scale defaults the scale to 0.
    let d = convert(r#"{"type":"bytes","logicalType":"decimal"}"#).unwrap();
    assert_eq!(d, decimal_schema(0).build());
    // Errors name the problem.
    let err = convert(r#""null""#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Standalone null schemas are not supported by this converter"
    );
    let err = convert(r#"{"type":"record","name":"R","fields":[{"name":"x","type":"Nope"}]}"#)
        .unwrap_err();
    assert_eq!(err.to_string(), "field 'x': unknown Avro type \"Nope\"");
    let err =
        convert(r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#)
            .unwrap_err();
    assert!(err.to_string().contains("recursive"), "{err}");
    let err = convert(r#"["int","string","int"]"#).unwrap_err();
    assert!(err.to_string().contains("Multiple union schemas"), "{err}");
    let err = convert(r#"{"type":"int","connect.type":"int128"}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown connect.type \"int128\" on an Avro int"
    );
    let err = convert(r#"{"type":"long","connect.name":"x","logicalType":"timestamp-millis"}"#)
        .unwrap_err();
    assert!(err.to_string().starts_with("Mismatched names"), "{err}");
}
