use super::*;
use crate::test_support::*;
use sluice_connect_api::schema::{Schema, SchemaBuilder};

fn empty_struct() -> SchemaRef {
    SchemaBuilder::struct_().build()
}

#[test]
fn name_and_version() {
    let mut t = configured(SetSchemaMetadata::value(), &[("schema.name", "foo")]);
    let r = apply(
        &mut t,
        sink(None, Value::Null, Some(empty_struct()), Value::Null),
    );
    assert_eq!(r.value_schema.unwrap().name.as_deref(), Some("foo"));

    let mut t = configured(SetSchemaMetadata::value(), &[("schema.version", "42")]);
    let r = apply(
        &mut t,
        sink(None, Value::Null, Some(empty_struct()), Value::Null),
    );
    assert_eq!(r.value_schema.unwrap().version, Some(42));

    let mut t = configured(
        SetSchemaMetadata::value(),
        &[("schema.name", "foo"), ("schema.version", "42")],
    );
    let r = apply(
        &mut t,
        sink(None, Value::Null, Some(empty_struct()), Value::Null),
    );
    let s = r.value_schema.unwrap();
    assert_eq!((s.name.as_deref(), s.version), (Some("foo"), Some(42)));
}

#[test]
fn struct_points_to_new_schema() {
    let schema = SchemaBuilder::struct_()
        .name("my.orig.SchemaDefn")
        .field("f1", Schema::string())
        .field("f2", Schema::int32())
        .build();
    let value = struct_of(
        &schema,
        &[("f1", Value::from("value1")), ("f2", Value::Int32(1))],
    );
    let mut t = configured(
        SetSchemaMetadata::value(),
        &[("schema.name", "foo"), ("schema.version", "42")],
    );
    let r = apply(
        &mut t,
        sink(None, Value::Null, Some(schema), Value::Struct(value)),
    );
    let updated = r.value_schema.unwrap();
    assert_eq!(updated.name.as_deref(), Some("foo"));
    let s = as_struct(&r.value);
    assert!(std::sync::Arc::ptr_eq(s.schema(), &updated));
    assert_eq!(s.get("f1"), Some(&Value::from("value1")));
    s.validate().unwrap();
}

#[test]
fn replace_null_with_default() {
    let schema = SchemaBuilder::struct_()
        .name("my.orig.SchemaDefn")
        .field(
            "f1",
            SchemaBuilder::string()
                .default_value(Value::from("default"))
                .optional()
                .build(),
        )
        .field("f2", Schema::int32())
        .build();
    for (flag, expected) in [("false", Value::Null), ("true", Value::from("default"))] {
        let mut t = configured(
            SetSchemaMetadata::value(),
            &[("schema.name", "foo"), ("replace.null.with.default", flag)],
        );
        let value = struct_of(&schema, &[("f2", Value::Int32(1))]);
        let r = apply(
            &mut t,
            sink(
                None,
                Value::Null,
                Some(schema.clone()),
                Value::Struct(value),
            ),
        );
        assert_eq!(as_struct(&r.value).get("f1"), Some(&expected));
    }
}

#[test]
fn key_variant_keeps_non_struct_values() {
    let mut t = configured(SetSchemaMetadata::key(), &[("schema.name", "k")]);
    let r = apply(
        &mut t,
        sink(Some(Schema::int32()), Value::Int32(1), None, Value::Null),
    );
    assert_eq!(r.key, Value::Int32(1));
    let s = r.key_schema.unwrap();
    assert_eq!(
        (s.name.as_deref(), s.schema_type),
        (Some("k"), sluice_connect_api::schema::SchemaType::Int32)
    );
}

#[test]
fn schema_required_unless_null() {
    let mut t = configured(SetSchemaMetadata::value(), &[("schema.name", "foo")]);
    assert_eq!(
        apply_error(&mut t, sink(None, Value::Null, None, Value::Int32(42))),
        "Schema required for [updating schema metadata]"
    );
    let r = apply(&mut t, sink(None, Value::Null, None, Value::Null));
    assert_eq!((r.value_schema, r.value), (None, Value::Null));
}

#[test]
fn config_errors() {
    let (keys, msg) = config_error(SetSchemaMetadata::value(), &[]);
    assert_eq!(keys, ["schema.name"]);
    assert_eq!(msg, "Neither schema name nor version configured");
    let (keys, msg) = config_error(SetSchemaMetadata::value(), &[("schema.version", "x")]);
    assert_eq!(keys, ["schema.version"]);
    assert_eq!(
        msg,
        "Invalid value x for configuration schema.version: Not a number of type INT"
    );
}
