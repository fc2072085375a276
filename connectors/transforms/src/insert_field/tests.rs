use super::*;
use crate::test_support::*;

const ALL: &[(&str, &str)] = &[
    ("topic.field", "topic_field!"),
    ("partition.field", "partition_field"),
    ("timestamp.field", "timestamp_field?"),
    ("static.field", "instance_id"),
    ("static.value", "my-instance-id"),
];

fn simple_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("name")
        .version(1)
        .doc("doc")
        .field("magic", Schema::optional_int64())
        .build()
}

#[test]
fn struct_required() {
    let mut t = configured(InsertField::value(), &[("topic.field", "topic_field")]);
    assert_eq!(
        apply_error(
            &mut t,
            source_value(Some(Schema::int32()), Value::Int32(42))
        ),
        "Only Struct objects supported for [field insertion], found: java.lang.Integer"
    );
    assert_eq!(
        apply_error(&mut t, source_value(None, Value::Int32(42))),
        "Only Map objects supported in absence of schema for [field insertion], found: java.lang.Integer"
    );
}

#[test]
fn copies_schema_and_inserts() {
    let mut t = configured(InsertField::value(), ALL);
    let schema = simple_schema();
    let value = struct_of(&schema, &[("magic", Value::Int64(42))]);
    let r = apply(
        &mut t,
        source_value(Some(schema.clone()), Value::Struct(value)),
    );
    let out = r.value_schema.clone().unwrap();
    assert_eq!(
        (out.name.as_deref(), out.version, out.doc.as_deref()),
        (Some("name"), Some(1), Some("doc"))
    );
    assert!(!out.optional);
    let field = |n: &str| out.field(n).unwrap().schema.clone();
    assert_eq!(field("magic"), Schema::optional_int64());
    assert_eq!(field("topic_field"), Schema::string());
    assert_eq!(field("partition_field"), Schema::optional_int32());
    assert_eq!(
        *field("timestamp_field"),
        *timestamp_schema().optional().build()
    );
    assert_eq!(field("instance_id"), Schema::optional_string());
    let s = as_struct(&r.value);
    assert_eq!(
        s.values(),
        [
            Value::Int64(42),
            Value::from("test"),
            Value::Int32(0),
            Value::Int64(789),
            Value::from("my-instance-id"),
        ]
    );
    s.validate().unwrap();

    // The cache hands out the same schema.
    let mut r2 = source_value(Some(schema.clone()), Value::Struct(struct_of(&schema, &[])));
    r2.kafka_partition = Some(1);
    let r2 = apply(&mut t, r2);
    assert!(std::sync::Arc::ptr_eq(
        &out,
        r2.value_schema.as_ref().unwrap()
    ));
}

#[test]
fn schemaless() {
    let mut t = configured(InsertField::value(), ALL);
    let mut r = source_value(None, map_of(&[("magic", Value::Int64(42))]));
    r.timestamp = Some(123);
    let r = apply(&mut t, r);
    assert_eq!(
        r.value,
        map_of(&[
            ("magic", Value::Int64(42)),
            ("topic_field", Value::from("test")),
            ("partition_field", Value::Int32(0)),
            ("timestamp_field", Value::Int64(123)),
            ("instance_id", Value::from("my-instance-id")),
        ])
    );
}

#[test]
fn missing_metadata_is_left_out() {
    let mut t = configured(InsertField::value(), ALL);
    let mut r = source_value(None, map_of(&[]));
    r.kafka_partition = None;
    r.timestamp = None;
    let r = apply(&mut t, r);
    assert_eq!(
        r.value,
        map_of(&[
            ("topic_field", Value::from("test")),
            ("instance_id", Value::from("my-instance-id"))
        ])
    );
    let schema = simple_schema();
    let mut r = source_value(Some(schema.clone()), Value::Struct(struct_of(&schema, &[])));
    r.timestamp = None;
    let r = apply(&mut t, r);
    assert_eq!(
        as_struct(&r.value).get("timestamp_field"),
        Some(&Value::Null)
    );
}

#[test]
fn tombstones_pass() {
    let mut t = configured(InsertField::value(), ALL);
    let r = apply(&mut t, source_value(None, Value::Null));
    assert_eq!((r.value_schema, r.value), (None, Value::Null));
    let r = apply(&mut t, source_value(Some(simple_schema()), Value::Null));
    assert_eq!(
        (r.value_schema, r.value),
        (Some(simple_schema()), Value::Null)
    );
}

#[test]
fn key_variant() {
    let mut t = configured(InsertField::key(), ALL);
    let r = apply(
        &mut t,
        source(
            None,
            map_of(&[("magic", Value::Int64(42))]),
            None,
            Value::Null,
        ),
    );
    assert_eq!(
        map::get(
            match &r.key {
                Value::Map(m) => m,
                _ => panic!(),
            },
            "topic_field"
        ),
        Some(&Value::from("test"))
    );
    assert_eq!(r.value, Value::Null);
    // A null key leaves the record as it was.
    let original = source(
        None,
        Value::Null,
        None,
        map_of(&[("magic", Value::Int64(42))]),
    );
    assert_eq!(apply(&mut t, original.clone()), original);
}

#[test]
fn offset_only_for_sink_records() {
    let mut t = configured(InsertField::value(), &[("offset.field", "off!")]);
    let r = apply(&mut t, sink(None, Value::Null, None, map_of(&[])));
    assert_eq!(r.value, map_of(&[("off", Value::Int64(42))]));
    let schema = simple_schema();
    let r = apply(
        &mut t,
        sink(
            None,
            Value::Null,
            Some(schema.clone()),
            Value::Struct(struct_of(&schema, &[])),
        ),
    );
    assert_eq!(as_struct(&r.value).get("off"), Some(&Value::Int64(42)));
    assert_eq!(
        r.value_schema.unwrap().field("off").unwrap().schema,
        Schema::int64()
    );
    assert_eq!(
        apply_error(&mut t, source_value(None, map_of(&[]))),
        "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord"
    );
}

#[test]
fn replace_null_with_default() {
    let magic = SchemaBuilder::int64()
        .optional()
        .default_value(Value::Int64(42))
        .build();
    let schema = SchemaBuilder::struct_()
        .field("magic_with_default", magic.clone())
        .build();
    for (flag, expected) in [("false", Value::Null), ("true", Value::Int64(42))] {
        let mut pairs = ALL.to_vec();
        pairs.push(("replace.null.with.default", flag));
        let mut t = configured(InsertField::value(), &pairs);
        let r = apply(
            &mut t,
            source_value(Some(schema.clone()), Value::Struct(struct_of(&schema, &[]))),
        );
        assert_eq!(
            r.value_schema
                .unwrap()
                .field("magic_with_default")
                .unwrap()
                .schema,
            magic
        );
        assert_eq!(
            as_struct(&r.value).get("magic_with_default"),
            Some(&expected)
        );
    }
}

#[test]
fn duplicate_field_fails() {
    let mut t = configured(InsertField::value(), &[("topic.field", "magic")]);
    let schema = simple_schema();
    let msg = apply_error(
        &mut t,
        source_value(Some(schema.clone()), Value::Struct(struct_of(&schema, &[]))),
    );
    assert_eq!(
        msg,
        "Cannot create field because of field name duplication magic"
    );
}

#[test]
fn config_errors() {
    let (keys, msg) = config_error(InsertField::value(), &[]);
    assert_eq!(
        (keys, msg.as_str()),
        (
            vec!["topic.field".to_string()],
            "No field insertion configured"
        )
    );
    let (keys, msg) = config_error(InsertField::value(), &[("static.field", "s")]);
    assert_eq!(keys, ["static.value"]);
    assert_eq!(
        msg,
        "Invalid value null for configuration static.value: No value specified for static field: s"
    );
    // An empty static value is a value.
    let mut t = configured(
        InsertField::value(),
        &[("static.field", "s"), ("static.value", "")],
    );
    let r = apply(&mut t, source_value(None, map_of(&[])));
    assert_eq!(r.value, map_of(&[("s", Value::from(""))]));
}
