use super::*;
use crate::test_support::*;
use sluice_connect_api::schema::{Schema, SchemaBuilder};

fn v2(field: &str) -> ExtractField {
    configured(
        ExtractField::key(),
        &[("field", field), ("field.syntax.version", "v2")],
    )
}

#[test]
fn schemaless() {
    let mut t = configured(ExtractField::key(), &[("field", "magic")]);
    let r = apply(
        &mut t,
        sink(
            None,
            map_of(&[("magic", Value::Int32(42))]),
            None,
            Value::Null,
        ),
    );
    assert_eq!((r.key_schema, r.key), (None, Value::Int32(42)));
}

#[test]
fn schemaless_nested() {
    let mut t = v2("magic.foo");
    let key = map_of(&[("magic", map_of(&[("foo", Value::Int32(42))]))]);
    let r = apply(&mut t, sink(None, key, None, Value::Null));
    assert_eq!(r.key, Value::Int32(42));
}

#[test]
fn schemaless_missing_is_null() {
    let mut t = configured(ExtractField::key(), &[("field", "nonexistent")]);
    let r = apply(
        &mut t,
        sink(
            None,
            map_of(&[("magic", Value::Int32(42))]),
            None,
            Value::Null,
        ),
    );
    assert_eq!(r.key, Value::Null);
    let mut t = v2("magic.nonexistent");
    let key = map_of(&[("magic", map_of(&[("foo", Value::Int32(42))]))]);
    assert_eq!(
        apply(&mut t, sink(None, key, None, Value::Null)).key,
        Value::Null
    );
}

#[test]
fn null_passes_through() {
    let mut t = configured(ExtractField::key(), &[("field", "magic")]);
    let r = apply(&mut t, sink(None, Value::Null, None, Value::Null));
    assert_eq!((r.key_schema, r.key), (None, Value::Null));
    let schema = SchemaBuilder::struct_()
        .field("magic", Schema::int32())
        .optional()
        .build();
    let r = apply(&mut t, sink(Some(schema), Value::Null, None, Value::Null));
    assert_eq!((r.key_schema, r.key), (Some(Schema::int32()), Value::Null));
}

#[test]
fn with_schema() {
    let mut t = configured(ExtractField::key(), &[("field", "magic")]);
    let schema = SchemaBuilder::struct_()
        .field("magic", Schema::int32())
        .build();
    let key = struct_of(&schema, &[("magic", Value::Int32(42))]);
    let r = apply(
        &mut t,
        sink(Some(schema), Value::Struct(key), None, Value::Null),
    );
    assert_eq!(
        (r.key_schema, r.key),
        (Some(Schema::int32()), Value::Int32(42))
    );
}

#[test]
fn with_schema_nested() {
    let mut t = v2("magic.foo");
    let foo = SchemaBuilder::struct_()
        .field("foo", Schema::int32())
        .build();
    let schema = SchemaBuilder::struct_().field("magic", foo.clone()).build();
    let inner = struct_of(&foo, &[("foo", Value::Int32(42))]);
    let key = struct_of(&schema, &[("magic", Value::Struct(inner))]);
    let r = apply(
        &mut t,
        sink(Some(schema), Value::Struct(key), None, Value::Null),
    );
    assert_eq!(
        (r.key_schema, r.key),
        (Some(Schema::int32()), Value::Int32(42))
    );
}

#[test]
fn unknown_field_with_schema_fails() {
    let schema = SchemaBuilder::struct_()
        .field("magic", Schema::int32())
        .build();
    let key = || Value::Struct(struct_of(&schema, &[("magic", Value::Int32(42))]));
    let mut t = configured(ExtractField::key(), &[("field", "nonexistent")]);
    let msg = apply_error(&mut t, sink(Some(schema.clone()), key(), None, Value::Null));
    assert_eq!(msg, "Unknown field: nonexistent");
    let foo = SchemaBuilder::struct_()
        .field("foo", Schema::int32())
        .build();
    let nested = SchemaBuilder::struct_().field("magic", foo.clone()).build();
    let inner = struct_of(&foo, &[("foo", Value::Int32(42))]);
    let nested_key = struct_of(&nested, &[("magic", Value::Struct(inner))]);
    let mut t = v2("magic.nonexistent");
    let msg = apply_error(
        &mut t,
        sink(Some(nested), Value::Struct(nested_key), None, Value::Null),
    );
    assert_eq!(msg, "Unknown field: magic.nonexistent");
}

/// Kafka Connect looks the field up in the schema first, and
/// `Schema.field` on a schema that is not a struct throws.
#[test]
fn step_into_non_struct_schema_fails() {
    let schema = SchemaBuilder::struct_()
        .field("magic", Schema::int32())
        .field(
            "map",
            SchemaBuilder::map(Schema::string(), Schema::int32())
                .optional()
                .build(),
        )
        .optional()
        .build();
    let key = || Value::Struct(struct_of(&schema, &[("magic", Value::Int32(42))]));
    for path in ["magic.nonexistent", "magic.foo.bar", "map.foo"] {
        let mut t = v2(path);
        let msg = apply_error(&mut t, sink(Some(schema.clone()), key(), None, Value::Null));
        assert_eq!(msg, "Cannot look up fields on non-struct type", "{path}");
        // Also with a null key: the schema alone decides.
        let msg = apply_error(
            &mut t,
            sink(Some(schema.clone()), Value::Null, None, Value::Null),
        );
        assert_eq!(msg, "Cannot look up fields on non-struct type", "{path}");
    }
    // A null key whose schema is not a struct.
    let mut t = configured(ExtractField::key(), &[("field", "magic")]);
    let msg = apply_error(
        &mut t,
        sink(
            Some(Schema::optional_int32()),
            Value::Null,
            None,
            Value::Null,
        ),
    );
    assert_eq!(msg, "Cannot look up fields on non-struct type");
}

#[test]
fn schemaless_step_into_non_map_fails() {
    let mut t = v2("magic.foo");
    let key = map_of(&[("magic", Value::Int32(42))]);
    assert_eq!(
        apply_error(&mut t, sink(None, key, None, Value::Null)),
        "Only Map objects supported in absence of schema for [nested field access], found: java.lang.Integer"
    );
}

#[test]
fn wrong_types() {
    let mut t = configured(ExtractField::value(), &[("field", "f")]);
    assert_eq!(
        apply_error(&mut t, source_value(None, Value::from("x"))),
        "Only Map objects supported in absence of schema for [field extraction], found: java.lang.String"
    );
    assert_eq!(
        apply_error(
            &mut t,
            source_value(Some(Schema::string()), Value::from("x"))
        ),
        "Only Struct objects supported for [field extraction], found: java.lang.String"
    );
}

#[test]
fn replace_null_with_default() {
    let schema = SchemaBuilder::struct_()
        .field(
            "optional_with_default",
            SchemaBuilder::int32()
                .optional()
                .default_value(Value::Int32(42))
                .build(),
        )
        .build();
    for (flag, expected) in [("false", Value::Null), ("true", Value::Int32(42))] {
        let mut t = configured(
            ExtractField::value(),
            &[
                ("field", "optional_with_default"),
                ("replace.null.with.default", flag),
            ],
        );
        let value = struct_of(&schema, &[]);
        let r = apply(
            &mut t,
            sink(
                None,
                Value::Null,
                Some(schema.clone()),
                Value::Struct(value),
            ),
        );
        assert_eq!(r.value, expected);
    }
}

#[test]
fn config_errors() {
    let (keys, msg) = config_error(
        ExtractField::value(),
        &[("field", "`foo.bar"), ("field.syntax.version", "V2")],
    );
    assert_eq!(keys, ["field"]);
    assert!(
        msg.contains("Incomplete backtick pair in path: [`foo.bar]"),
        "{msg}"
    );
    let (keys, msg) = config_error(
        ExtractField::value(),
        &[("field", "f"), ("field.syntax.version", "V3")],
    );
    assert_eq!(keys, ["field.syntax.version"]);
    assert_eq!(
        msg,
        "Invalid value V3 for configuration field.syntax.version: String must be one of (case insensitive): V1, V2"
    );
}
