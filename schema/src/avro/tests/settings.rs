//! The mapping's settings: `connect.meta.data`, `scrub.invalid.names`, and
//! named types shared with different parameters.

use crate::avro::*;
use crate::schema::{Schema, SchemaBuilder};
use crate::value::{Struct, Value};

#[test]
fn connect_meta_data_off() {
    let cfg = AvroDataConfig {
        connect_meta_data: false,
        ..AvroDataConfig::default()
    };
    let schema = SchemaBuilder::struct_()
        .name("com.example.S")
        .version(3)
        .doc("d")
        .field("a", Schema::int8())
        .field(
            "b",
            SchemaBuilder::int32()
                .default_value(Value::Int32(1))
                .build(),
        )
        .build();
    let avro = to_avro_schema(&schema, &cfg).unwrap();
    assert_eq!(
        avro.json,
        r#"{"type":"record","name":"S","namespace":"com.example","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","default":1}]}"#
    );
    let json: serde_json::Value = serde_json::from_str(&avro.json).unwrap();
    let back = to_connect_schema(&json, &cfg).unwrap();
    assert_eq!(back.name.as_deref(), Some("com.example.S"));
    assert_eq!(
        back.field("a").unwrap().schema.schema_type,
        crate::SchemaType::Int32
    );
    assert_eq!(
        back.field("b").unwrap().schema.default,
        Some(Value::Int32(1))
    );
    assert!(back.field("b").unwrap().schema.parameters.is_empty());
}

#[test]
fn invalid_names_are_scrubbed_on_request() {
    let schema = SchemaBuilder::struct_()
        .name("my-co.Rec-1")
        .field("first name", Schema::string())
        .field("2nd", Schema::int32())
        .build();
    let err = to_avro_schema(&schema, &AvroDataConfig::default()).unwrap_err();
    assert!(err.to_string().contains("not valid"), "{err}");
    let cfg = AvroDataConfig {
        scrub_invalid_names: true,
        ..AvroDataConfig::default()
    };
    let avro = to_avro_schema(&schema, &cfg).unwrap();
    assert_eq!(
        avro.json,
        r#"{"type":"record","name":"Rec_1","namespace":"my_co","fields":[{"name":"first_name","type":"string"},{"name":"x2nd","type":"int"}],"connect.name":"my-co.Rec-1"}"#
    );
    let value = Struct::new(schema.clone())
        .put("first name", "a".into())
        .unwrap()
        .put("2nd", Value::Int32(2))
        .unwrap();
    let mut out = Vec::new();
    encode_value(&schema, &avro.parsed, &Value::Struct(value), &mut out).unwrap();
    assert_eq!(out, vec![2, b'a', 4]);
}

#[test]
fn shared_named_type_with_other_parameters() {
    let tagged = |tag: &str| {
        SchemaBuilder::struct_()
            .name("Address")
            .parameter("tag", tag)
            .field("street", Schema::string())
            .build()
    };
    let schema = SchemaBuilder::struct_()
        .name("Person")
        .field("home", tagged("2"))
        .field("work", tagged("3"))
        .build();
    let avro = to_avro_schema(&schema, &AvroDataConfig::default()).unwrap();
    assert_eq!(
        avro.json,
        concat!(
            r#"{"type":"record","name":"Person","fields":[{"name":"home","type":{"type":"record","name":"Address","fields":[{"name":"street","type":"string"}],"connect.parameters":{"tag":"2"},"connect.name":"Address"}},"#,
            r#"{"name":"work","type":"Address","connect.parameters":{"tag":"3"}}],"connect.name":"Person"}"#
        )
    );
    let json: serde_json::Value = serde_json::from_str(&avro.json).unwrap();
    assert_eq!(
        to_connect_schema(&json, &AvroDataConfig::default()).unwrap(),
        schema
    );
    // Structurally different types of one name cannot both be written.
    let other = SchemaBuilder::struct_()
        .name("Address")
        .field("city", Schema::string())
        .build();
    let clash = SchemaBuilder::struct_()
        .name("Person")
        .field("home", tagged("2"))
        .field("work", other)
        .build();
    let err = to_avro_schema(&clash, &AvroDataConfig::default()).unwrap_err();
    assert!(err.to_string().contains("Can't redefine: Address"), "{err}");
}
