//! Bad bytes and bad values: errors with readable messages, never panics.

use crate::avro::*;
use crate::schema::{Schema, SchemaBuilder, SchemaRef};
use crate::value::{Struct, Value};

fn cfg() -> AvroDataConfig {
    AvroDataConfig::default()
}

fn person() -> SchemaRef {
    let address = SchemaBuilder::struct_()
        .name("Address")
        .field("zip", Schema::int32())
        .field("codes", SchemaBuilder::array(Schema::int32()).build())
        .build();
    SchemaBuilder::struct_()
        .name("Person")
        .field("name", Schema::string())
        .field("age", Schema::int8())
        .field("ok", Schema::boolean())
        .field("address", address)
        .field(
            "tags",
            SchemaBuilder::map(Schema::string(), Schema::optional_string()).build(),
        )
        .build()
}

fn person_value(schema: &SchemaRef, codes: Vec<Value>) -> Value {
    let address_schema = schema.field("address").unwrap().schema.clone();
    let address = Struct::new(address_schema)
        .put("zip", Value::Int32(12345))
        .unwrap()
        .put("codes", Value::Array(codes))
        .unwrap();
    Value::Struct(
        Struct::new(schema.clone())
            .put("name", "Ann".into())
            .unwrap()
            .put("age", Value::Int8(42))
            .unwrap()
            .put("ok", Value::Boolean(true))
            .unwrap()
            .put("address", Value::Struct(address))
            .unwrap()
            .put("tags", Value::Map(vec![("k".into(), Value::Null)]))
            .unwrap(),
    )
}

#[test]
fn encode_errors_name_the_field() {
    let schema = person();
    let avro = to_avro_schema(&schema, &cfg()).unwrap();
    let mut out = vec![0xAA];
    // Collections are not checked when a struct is built, only the encoder
    // checks their elements.
    let nested = SchemaBuilder::array(
        SchemaBuilder::map(
            Schema::string(),
            SchemaBuilder::array(Schema::int32()).build(),
        )
        .build(),
    )
    .build();
    let nested_avro = to_avro_schema(&nested, &cfg()).unwrap();
    let bad = Value::Array(vec![Value::Map(vec![(
        "k".into(),
        Value::Array(vec![Value::Int32(1), Value::from("x")]),
    )])]);
    let err = encode_value(&nested, &nested_avro.parsed, &bad, &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field '[0].<value>[1]': expected int32, got string"
    );
    assert_eq!(err.path(), Some("[0].<value>[1]"));
    assert_eq!(out, vec![0xAA], "nothing appended on error");
    // Inside a struct the path starts with the field names: here a Connect
    // schema whose array holds strings, and an Avro schema expecting ints.
    let outer = |elem: SchemaRef| {
        SchemaBuilder::struct_()
            .name("Outer")
            .field("items", SchemaBuilder::array(elem).build())
            .build()
    };
    let ints = to_avro_schema(&outer(Schema::int32()), &cfg()).unwrap();
    let strings = outer(Schema::string());
    let value = Struct::new(strings.clone())
        .put("items", Value::Array(vec!["a".into()]))
        .unwrap();
    let err = encode_value(&strings, &ints.parsed, &Value::Struct(value), &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field 'items[0]': a Connect string cannot be written as Avro int"
    );

    let err = encode_value(
        &Schema::int32(),
        &apache_avro::Schema::Int,
        &Value::from("x"),
        &mut out,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "expected int32, got string");

    let err = encode_value(
        &Schema::int32(),
        &apache_avro::Schema::Int,
        &Value::Null,
        &mut out,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "null value for a required field");

    // A struct of another schema.
    let other = SchemaBuilder::struct_().name("Person").build();
    let err = encode_value(
        &schema,
        &avro.parsed,
        &Value::Struct(Struct::new(other)),
        &mut out,
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");

    // A required field left null (no default).
    let partial = Struct::new(schema.clone());
    let err = encode_value(&schema, &avro.parsed, &Value::Struct(partial), &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field 'name': null value for a required field"
    );

    // Logical values are checked.
    let time = crate::logical::time_schema().build();
    let time_avro = to_avro_schema(&time, &cfg()).unwrap();
    let err = encode_value(&time, &time_avro.parsed, &Value::Int32(-5), &mut out).unwrap_err();
    assert!(err.to_string().contains("Time values"), "{err}");
}

#[test]
fn schemaless_data_is_refused_clearly() {
    let err = AvroError::SchemaRequired;
    assert!(
        err.to_string()
            .starts_with("AvroConverter requires a schema")
    );
}

#[test]
fn truncated_data_is_an_error_at_every_length() {
    let schema = person();
    let avro = to_avro_schema(&schema, &cfg()).unwrap();
    let mut bytes = Vec::new();
    encode_value(
        &schema,
        &avro.parsed,
        &person_value(&schema, vec![Value::Int32(7)]),
        &mut bytes,
    )
    .unwrap();
    assert!(decode_value(&avro.parsed, &schema, &bytes).is_ok());
    for len in 0..bytes.len() {
        let err = decode_value(&avro.parsed, &schema, &bytes[..len])
            .expect_err(&format!("prefix of {len} bytes decoded"));
        assert!(matches!(err, AvroError::Malformed { .. }), "{len}: {err}");
    }
    let err = decode_value(&avro.parsed, &schema, &[]).unwrap_err();
    assert!(
        err.to_string().starts_with("Malformed Avro data: "),
        "{err}"
    );
}

#[test]
fn garbage_never_panics() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut all = super::fixtures::schemas();
    all.push(person());
    for schema in all {
        let avro = to_avro_schema(&schema, &cfg()).unwrap();
        for _ in 0..300 {
            let len = (next() % 48) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Either outcome is fine; a panic fails the test.
            let _ = decode_value(&avro.parsed, &schema, &bytes);
        }
    }
}

#[test]
fn huge_length_prefixes_are_refused() {
    let schema = Schema::string();
    let avro = to_avro_schema(&schema, &cfg()).unwrap();
    // Length 2^40: above the allocation limit.
    let mut bytes = Vec::new();
    crate::avro::binary::write_long(&mut bytes, 1 << 40);
    bytes.extend_from_slice(b"abc");
    let err = decode_value(&avro.parsed, &schema, &bytes).unwrap_err();
    assert!(matches!(err, AvroError::Malformed { .. }), "{err}");
    // Length 100 MiB with 3 bytes of data.
    let mut bytes = Vec::new();
    crate::avro::binary::write_long(&mut bytes, 100 << 20);
    bytes.extend_from_slice(b"abc");
    let err = decode_value(&avro.parsed, &schema, &bytes).unwrap_err();
    assert!(matches!(err, AvroError::Malformed { .. }), "{err}");
    // An array claiming 2^40 elements.
    let array = SchemaBuilder::array(Schema::int32()).build();
    let avro = to_avro_schema(&array, &cfg()).unwrap();
    let mut bytes = Vec::new();
    crate::avro::binary::write_long(&mut bytes, 1 << 40);
    let err = decode_value(&avro.parsed, &array, &bytes).unwrap_err();
    assert!(matches!(err, AvroError::Malformed { .. }), "{err}");
    // A negative length.
    let err = decode_value(
        &to_avro_schema(&schema, &cfg()).unwrap().parsed,
        &schema,
        &[1],
    )
    .unwrap_err();
    assert!(matches!(err, AvroError::Malformed { .. }), "{err}");
}

#[test]
fn wrong_data_is_reported() {
    // A boolean byte that is neither 0 nor 1.
    let avro = to_avro_schema(&Schema::boolean(), &cfg()).unwrap();
    let err = decode_value(&avro.parsed, &Schema::boolean(), &[2]).unwrap_err();
    assert!(matches!(err, AvroError::Malformed { .. }), "{err}");
    let err = decode_value(&avro.parsed, &Schema::boolean(), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Malformed Avro data: the data ends before the value"
    );
    // An int too large for the Connect int8 it stands for.
    let schema = person();
    let avro = to_avro_schema(&schema, &cfg()).unwrap();
    let mut bytes = Vec::new();
    encode_value(
        &schema,
        &avro.parsed,
        &person_value(&schema, vec![]),
        &mut bytes,
    )
    .unwrap();
    // name: len 3 "Ann" (4 bytes), then age 42 = zig-zag 84.
    assert_eq!(bytes[4], 84);
    let mut wide = bytes[..4].to_vec();
    crate::avro::binary::write_long(&mut wide, 300);
    wide.extend_from_slice(&bytes[5..]);
    let err = decode_value(&avro.parsed, &schema, &wide).unwrap_err();
    assert_eq!(err.to_string(), "field 'age': value 300 does not fit int8");
    // A union branch index that does not exist.
    let opt = Schema::optional_string();
    let avro = to_avro_schema(&opt, &cfg()).unwrap();
    let err = decode_value(&avro.parsed, &opt, &[8, 0]).unwrap_err();
    assert!(matches!(err, AvroError::Malformed { .. }), "{err}");
    // Invalid UTF-8 in a string.
    let avro = to_avro_schema(&Schema::string(), &cfg()).unwrap();
    let err = decode_value(&avro.parsed, &Schema::string(), &[4, 0xff, 0xfe]).unwrap_err();
    assert!(matches!(err, AvroError::Malformed { .. }), "{err}");
    // A decimal wider than 128 bits.
    let dec = crate::logical::decimal_schema(0).build();
    let avro = to_avro_schema(&dec, &cfg()).unwrap();
    let mut bytes = Vec::new();
    crate::avro::binary::write_long(&mut bytes, 17);
    bytes.extend_from_slice(&[0x7f; 17]);
    let err = decode_value(&avro.parsed, &dec, &bytes).unwrap_err();
    assert!(err.to_string().contains("17 bytes"), "{err}");
}

#[test]
fn odd_schema_texts_are_errors() {
    let texts = [
        "",
        "nope",
        "42",
        r#"{"type":"record"}"#,
        r#"{"type":"record","name":"R"}"#,
        r#"{"type":"record","name":"R","fields":[{"type":"int"}]}"#,
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#,
        r#"{"type":"fixed","name":"F","size":-1}"#,
        r#"{"type":"enum","name":"E","symbols":[1]}"#,
        r#"{"type":"array"}"#,
        r#"{"type":"map"}"#,
        r#"{"type":"unknown"}"#,
        r#"{"type":"int","connect.version":"x"}"#,
        r#"{"type":"int","connect.parameters":[1]}"#,
        r#"{"type":"int","connect.parameters":{"a":1}}"#,
        r#"{"type":"int","connect.name":5}"#,
        r#"{"type":"bytes","logicalType":"decimal","precision":"x"}"#,
        r#"{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":"int"}]}}"#,
    ];
    for text in texts {
        let err = parse_avro_schema(text, &[]).expect_err(text);
        assert!(!err.to_string().is_empty());
    }
    // An empty union maps to an empty union struct.
    let json: serde_json::Value = serde_json::from_str("[]").unwrap();
    let s = to_connect_schema(&json, &cfg()).unwrap();
    assert!(s.fields.is_empty());
}
