use super::*;
use crate::test_support::*;
use sluice_connect_api::schema::logical::{
    date_schema, decimal_schema, time_schema, timestamp_schema,
};
use sluice_connect_api::schema::{SchemaBuilder, SchemaRef};

fn schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .field("magic", Schema::int32())
        .field("bool", Schema::boolean())
        .field("byte", Schema::int8())
        .field("short", Schema::int16())
        .field("int", Schema::int32())
        .field("long", Schema::int64())
        .field("float", Schema::float32())
        .field("double", Schema::float64())
        .field("string", Schema::string())
        .field("date", date_schema().build())
        .field("time", time_schema().build())
        .field("timestamp", timestamp_schema().build())
        .field("decimal", decimal_schema(0).build())
        .field("array", SchemaBuilder::array(Schema::int32()).build())
        .field(
            "map",
            SchemaBuilder::map(Schema::string(), Schema::string()).build(),
        )
        .field(
            "withDefault",
            SchemaBuilder::string()
                .optional()
                .default_value(Value::from("default"))
                .build(),
        )
        .field("bytes", Schema::bytes())
        .build()
}

fn struct_value() -> Value {
    Value::Struct(struct_of(
        &schema(),
        &[
            ("magic", Value::Int32(42)),
            ("bool", Value::Boolean(true)),
            ("byte", Value::Int8(42)),
            ("short", Value::Int16(42)),
            ("int", Value::Int32(42)),
            ("long", Value::Int64(42)),
            ("float", Value::Float32(42.0)),
            ("double", Value::Float64(42.0)),
            ("string", Value::from("hmm")),
            ("date", Value::Int32(19_000)),
            ("time", Value::Int32(1234)),
            ("timestamp", Value::Int64(1_700_000_000_000)),
            ("decimal", Decimal::new(42, 0).to_value()),
            (
                "array",
                Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
            ),
            ("map", map_of(&[("what", Value::from("what"))])),
            ("bytes", Value::Bytes(vec![1, 2])),
        ],
    ))
}

fn schemaless_value() -> Value {
    map_of(&[
        ("magic", Value::Int32(42)),
        ("bool", Value::Boolean(true)),
        ("byte", Value::Int8(42)),
        ("short", Value::Int16(42)),
        ("int", Value::Int32(42)),
        ("long", Value::Int64(42)),
        ("float", Value::Float32(42.0)),
        ("double", Value::Float64(42.0)),
        ("string", Value::from("55.121.20.20")),
        ("list", Value::Array(vec![Value::Int32(42)])),
        ("map", map_of(&[("key", Value::from("value"))])),
        ("bytes", Value::Bytes(vec![1])),
    ])
}

fn mask(fields: &str, replacement: Option<&str>) -> MaskField {
    let mut pairs = vec![("fields", fields), ("replace.null.with.default", "false")];
    if let Some(r) = replacement {
        pairs.push(("replacement", r));
    }
    configured(MaskField::value(), &pairs)
}

fn get(v: &Value, field: &str) -> Value {
    match v {
        Value::Struct(s) => s.get(field).cloned().unwrap(),
        Value::Map(m) => map::get(m, field).cloned().unwrap_or(Value::Null),
        other => panic!("{other:?}"),
    }
}

#[test]
fn schemaless_empty_values() {
    let mut t = mask(
        "bool,byte,short,int,long,float,double,string,list,map",
        None,
    );
    let r = apply(&mut t, sink(None, Value::Null, None, schemaless_value()));
    let v = &r.value;
    assert_eq!(get(v, "magic"), Value::Int32(42));
    assert_eq!(get(v, "bool"), Value::Boolean(false));
    assert_eq!(get(v, "byte"), Value::Int8(0));
    assert_eq!(get(v, "short"), Value::Int16(0));
    assert_eq!(get(v, "int"), Value::Int32(0));
    assert_eq!(get(v, "long"), Value::Int64(0));
    assert_eq!(get(v, "float"), Value::Float32(0.0));
    assert_eq!(get(v, "double"), Value::Float64(0.0));
    assert_eq!(get(v, "string"), Value::from(""));
    assert_eq!(get(v, "list"), Value::Array(vec![]));
    assert_eq!(get(v, "map"), Value::Map(vec![]));
}

#[test]
fn with_schema_empty_values() {
    let names: Vec<_> = schema()
        .fields
        .iter()
        .map(|f| f.name.clone())
        .filter(|n| n != "magic" && n != "bytes")
        .collect();
    let mut t = mask(&names.join(","), None);
    let r = apply(
        &mut t,
        sink(None, Value::Null, Some(schema()), struct_value()),
    );
    let v = &r.value;
    assert_eq!(get(v, "magic"), Value::Int32(42));
    assert_eq!(get(v, "bool"), Value::Boolean(false));
    assert_eq!(get(v, "byte"), Value::Int8(0));
    assert_eq!(get(v, "float"), Value::Float32(0.0));
    assert_eq!(get(v, "string"), Value::from(""));
    assert_eq!(get(v, "date"), Value::Int32(0));
    assert_eq!(get(v, "time"), Value::Int32(0));
    assert_eq!(get(v, "timestamp"), Value::Int64(0));
    assert_eq!(get(v, "decimal"), Decimal::new(0, 0).to_value());
    assert_eq!(get(v, "array"), Value::Array(vec![]));
    assert_eq!(get(v, "map"), Value::Map(vec![]));
    assert_eq!(get(v, "withDefault"), Value::Null);
    as_struct(v).validate().unwrap();
    assert_eq!(r.value_schema, Some(schema()));
}

#[test]
fn schemaless_replacements() {
    for (field, expected) in [
        ("short", Value::Int16(123)),
        ("byte", Value::Int8(123)),
        ("int", Value::Int32(123)),
        ("long", Value::Int64(123)),
        ("float", Value::Float32(123.0)),
        ("double", Value::Float64(123.0)),
        ("string", Value::from("123")),
    ] {
        let mut t = mask(field, Some("123"));
        let r = apply(&mut t, sink(None, Value::Null, None, schemaless_value()));
        assert_eq!(get(&r.value, field), expected, "{field}");
    }
    // Through BigDecimal: fractions are truncated for integers.
    let mut t = mask("int,double", Some("123.9"));
    let r = apply(&mut t, sink(None, Value::Null, None, schemaless_value()));
    assert_eq!(get(&r.value, "int"), Value::Int32(123));
    assert_eq!(get(&r.value, "double"), Value::Float64(123.9));
    // A missing field is added as null, as Kafka Connect's HashMap.put does.
    let mut t = mask("absent", Some("x"));
    let r = apply(&mut t, sink(None, Value::Null, None, schemaless_value()));
    assert_eq!(get(&r.value, "absent"), Value::Null);
}

#[test]
fn with_schema_replacements() {
    for (field, replacement, expected) in [
        ("short", "123", Value::Int16(123)),
        ("byte", "123", Value::Int8(123)),
        ("int", "123", Value::Int32(123)),
        ("long", "123", Value::Int64(123)),
        ("float", "123.0", Value::Float32(123.0)),
        ("double", "123.0", Value::Float64(123.0)),
        ("string", "123", Value::from("123")),
        ("decimal", "123.0", Decimal::new(123, 0).to_value()),
    ] {
        let mut t = mask(field, Some(replacement));
        let r = apply(
            &mut t,
            sink(None, Value::Null, Some(schema()), struct_value()),
        );
        assert_eq!(get(&r.value, field), expected, "{field}");
    }
}

#[test]
fn unsupported_replacements() {
    for (field, message) in [
        (
            "bool",
            "Cannot mask value of type class java.lang.Boolean with custom replacement.",
        ),
        (
            "list",
            "Cannot mask value of type class java.util.ArrayList with custom replacement.",
        ),
        (
            "map",
            "Cannot mask value of type class java.util.HashMap with custom replacement.",
        ),
        (
            "int",
            "Unable to convert foo (class java.lang.String) to a number",
        ),
    ] {
        let mut t = mask(field, Some("foo"));
        assert_eq!(
            apply_error(&mut t, sink(None, Value::Null, None, schemaless_value())),
            message
        );
    }
    for (field, message) in [
        (
            "time",
            "Cannot mask value of type class java.util.Date with custom replacement.",
        ),
        (
            "timestamp",
            "Cannot mask value of type class java.util.Date with custom replacement.",
        ),
        (
            "array",
            "Cannot mask value of type class java.util.ArrayList with custom replacement.",
        ),
        (
            "decimal",
            "Unable to convert foo (class java.lang.String) to number",
        ),
    ] {
        let mut t = mask(field, Some("foo"));
        assert_eq!(
            apply_error(
                &mut t,
                sink(None, Value::Null, Some(schema()), struct_value())
            ),
            message
        );
    }
    let mut t = mask("decimal", Some("1.5"));
    assert_eq!(
        apply_error(
            &mut t,
            sink(None, Value::Null, Some(schema()), struct_value())
        ),
        "BigDecimal has mismatching scale value for given Decimal schema"
    );
}

#[test]
fn unmaskable_types() {
    let mut t = mask("bytes", None);
    assert_eq!(
        apply_error(&mut t, sink(None, Value::Null, None, schemaless_value())),
        "Cannot mask value of type: class [B"
    );
    assert_eq!(
        apply_error(
            &mut t,
            sink(None, Value::Null, Some(schema()), struct_value())
        ),
        "Cannot mask value of type: class [B"
    );
}

#[test]
fn replace_null_with_default_and_key_variant() {
    let mut t = configured(MaskField::key(), &[("fields", "withDefault")]);
    let r = apply(
        &mut t,
        sink(Some(schema()), struct_value(), None, Value::Null),
    );
    // The default replaces null first, then it is masked.
    assert_eq!(get(&r.key, "withDefault"), Value::from(""));
}

#[test]
fn null_values_fail_as_in_kafka_connect() {
    let mut t = mask("int", None);
    assert_eq!(
        apply_error(&mut t, sink(None, Value::Null, None, Value::Null)),
        "Only Map objects supported in absence of schema for [mask fields], found: null"
    );
    assert_eq!(
        apply_error(&mut t, sink(None, Value::Null, Some(schema()), Value::Null)),
        "Only Struct objects supported for [mask fields], found: null"
    );
}

#[test]
fn config_errors() {
    let (keys, msg) = config_error(MaskField::value(), &[("fields", "a"), ("replacement", "")]);
    assert_eq!(keys, ["replacement"]);
    assert_eq!(
        msg,
        "Invalid value  for configuration replacement: String must be non-empty"
    );
    let (keys, _) = config_error(MaskField::value(), &[("fields", "")]);
    assert_eq!(keys, ["fields"]);
}
