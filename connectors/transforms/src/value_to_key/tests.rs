use super::*;
use crate::test_support::*;
use sluice_connect_api::schema::Schema;

#[test]
fn schemaless() {
    let mut t = configured(ValueToKey::default(), &[("fields", "a,b")]);
    let value = map_of(&[
        ("a", Value::Int32(1)),
        ("b", Value::Int32(2)),
        ("c", Value::Int32(3)),
    ]);
    let r = apply(&mut t, sink(None, Value::Null, None, value.clone()));
    assert_eq!(r.key_schema, None);
    assert_eq!(
        r.key,
        map_of(&[("a", Value::Int32(1)), ("b", Value::Int32(2))])
    );
    assert_eq!(r.value, value);
}

#[test]
fn with_schema() {
    let mut t = configured(ValueToKey::default(), &[("fields", "a,b")]);
    let schema = SchemaBuilder::struct_()
        .field("a", Schema::int32())
        .field("b", Schema::int32())
        .field("c", Schema::int32())
        .build();
    let value = struct_of(
        &schema,
        &[
            ("a", Value::Int32(1)),
            ("b", Value::Int32(2)),
            ("c", Value::Int32(3)),
        ],
    );
    let r = apply(
        &mut t,
        sink(
            None,
            Value::Null,
            Some(schema.clone()),
            Value::Struct(value.clone()),
        ),
    );
    let expected_schema = SchemaBuilder::struct_()
        .field("a", Schema::int32())
        .field("b", Schema::int32())
        .build();
    assert_eq!(r.key_schema.as_deref(), Some(&*expected_schema));
    let expected = struct_of(
        &expected_schema,
        &[("a", Value::Int32(1)), ("b", Value::Int32(2))],
    );
    assert_eq!(as_struct(&r.key).values(), expected.values());
    assert_eq!(r.value, Value::Struct(value));
}

#[test]
fn missing_field_fails() {
    let mut t = configured(ValueToKey::default(), &[("fields", "not_exist")]);
    let schema = SchemaBuilder::struct_().field("a", Schema::int32()).build();
    let value = struct_of(&schema, &[("a", Value::Int32(1))]);
    let msg = apply_error(
        &mut t,
        sink(None, Value::Null, Some(schema), Value::Struct(value)),
    );
    assert_eq!(msg, "Field does not exist: not_exist");
}

#[test]
fn tombstones_fail_as_in_kafka_connect() {
    let mut t = configured(ValueToKey::default(), &[("fields", "a")]);
    assert_eq!(
        apply_error(&mut t, sink(None, Value::Null, None, Value::Null)),
        "Only Map objects supported in absence of schema for [copying fields from value to key], found: null"
    );
    let schema = SchemaBuilder::struct_()
        .field("a", Schema::int32())
        .optional()
        .build();
    assert_eq!(
        apply_error(&mut t, sink(None, Value::Null, Some(schema), Value::Null)),
        "Only Struct objects supported for [copying fields from value to key], found: null"
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
            ValueToKey::default(),
            &[
                ("fields", "optional_with_default"),
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
        assert_eq!(as_struct(&r.key).values(), [expected]);
    }
}

#[test]
fn empty_fields_rejected() {
    let (keys, _) = config_error(ValueToKey::default(), &[("fields", "")]);
    assert_eq!(keys, ["fields"]);
}
