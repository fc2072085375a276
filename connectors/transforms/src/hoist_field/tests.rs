use super::*;
use crate::test_support::*;
use sluice_connect_api::schema::{Schema, SchemaType};

#[test]
fn schemaless() {
    let mut t = configured(HoistField::key(), &[("field", "magic")]);
    let r = apply(&mut t, sink(None, Value::Int32(42), None, Value::Null));
    assert_eq!(r.key_schema, None);
    assert_eq!(r.key, map_of(&[("magic", Value::Int32(42))]));
    assert_eq!(r.value, Value::Null);
}

#[test]
fn with_schema() {
    let mut t = configured(HoistField::key(), &[("field", "magic")]);
    let r = apply(
        &mut t,
        sink(Some(Schema::int32()), Value::Int32(42), None, Value::Null),
    );
    let schema = r.key_schema.unwrap();
    assert_eq!(schema.schema_type, SchemaType::Struct);
    assert_eq!(schema.field("magic").unwrap().schema, Schema::int32());
    assert_eq!(as_struct(&r.key).get("magic"), Some(&Value::Int32(42)));
    as_struct(&r.key).validate().unwrap();
}

#[test]
fn value_variant_and_cache() {
    let mut t = configured(HoistField::value(), &[("field", "wrapped")]);
    let a = apply(
        &mut t,
        source_value(Some(Schema::string()), Value::from("a")),
    );
    let b = apply(
        &mut t,
        source_value(Some(Schema::string()), Value::from("b")),
    );
    assert!(std::sync::Arc::ptr_eq(
        a.value_schema.as_ref().unwrap(),
        b.value_schema.as_ref().unwrap()
    ));
    assert_eq!(as_struct(&b.value).get("wrapped"), Some(&Value::from("b")));
}

#[test]
fn null_values() {
    let mut t = configured(HoistField::value(), &[("field", "f")]);
    // Schemaless: a map holding null.
    let r = apply(&mut t, source_value(None, Value::Null));
    assert_eq!(r.value, map_of(&[("f", Value::Null)]));
    // Optional schema: a struct holding null.
    let r = apply(
        &mut t,
        source_value(Some(Schema::optional_int32()), Value::Null),
    );
    assert_eq!(as_struct(&r.value).get("f"), Some(&Value::Null));
    // Required schema: Kafka Connect's Struct.put refuses.
    let msg = apply_error(&mut t, source_value(Some(Schema::int32()), Value::Null));
    assert_eq!(
        msg,
        "Invalid value: null used for required field: \"f\", schema type: INT32"
    );
}

#[test]
fn field_required() {
    let (keys, msg) = config_error(HoistField::key(), &[]);
    assert_eq!(keys, ["field"]);
    assert_eq!(
        msg,
        "Missing required configuration \"field\" which has no default value."
    );
}
