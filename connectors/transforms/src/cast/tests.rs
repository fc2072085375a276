use super::*;
use crate::test_support::*;
use sluice_connect_api::schema::logical::{
    Decimal, date_schema, decimal_schema, time_schema, timestamp_schema,
};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

fn whole(spec: &str, schema: Option<SchemaRef>, value: Value) -> (Option<SchemaRef>, Value) {
    let mut t = configured(Cast::value(), &[("spec", spec)]);
    let r = apply(&mut t, source_value(schema, value));
    (r.value_schema, r.value)
}

#[test]
fn config_errors() {
    for (spec, msg) in [
        (
            "",
            "Invalid value  for configuration spec: Must specify at least one field to cast.",
        ),
        (
            "foo:faketype",
            "Invalid value foo:faketype for configuration spec: Invalid type found in casting spec: faketype",
        ),
        (
            "foo:array",
            "Invalid value foo:array for configuration spec: Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
        ),
        (
            "array",
            "Invalid value array for configuration spec: Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
        ),
        (
            "foo:bytes",
            "Invalid value foo:bytes for configuration spec: Cast transformation does not support casting to BYTES; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]",
        ),
        (
            "foo:int8:extra",
            "Invalid value foo:int8:extra for configuration spec: Invalid cast mapping: foo:int8:extra",
        ),
        (
            "foo:int8,int32",
            "Invalid value foo:int8,int32 for configuration spec: Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec",
        ),
    ] {
        let (keys, m) = config_error(Cast::key(), &[("spec", spec)]);
        assert_eq!(keys, ["spec"], "{spec}");
        assert_eq!(m, msg);
    }
    let (keys, _) = config_error(Cast::key(), &[]);
    assert_eq!(keys, ["spec"]);
}

#[test]
fn nulls_pass() {
    let mut t = configured(Cast::value(), &[("spec", "foo:int64")]);
    for r in [
        source(
            Some(Schema::string()),
            Value::from("key"),
            Some(Schema::string()),
            Value::Null,
        ),
        source(
            Some(Schema::string()),
            Value::from("key"),
            None,
            Value::Null,
        ),
    ] {
        assert_eq!(apply(&mut t, r.clone()), r);
    }
    let mut t = configured(Cast::key(), &[("spec", "foo:int64")]);
    let r = source(
        Some(Schema::string()),
        Value::Null,
        Some(Schema::string()),
        Value::from("value"),
    );
    assert_eq!(apply(&mut t, r.clone()), r);
}

#[test]
fn field_default_and_replace_null() {
    let schema = SchemaBuilder::struct_()
        .field(
            "magic",
            SchemaBuilder::int32()
                .optional()
                .default_value(Value::Int32(10))
                .build(),
        )
        .build();
    for (flag, expected) in [("false", Value::Null), ("true", Value::from("10"))] {
        let mut t = configured(
            Cast::value(),
            &[
                ("spec", "magic:string"),
                ("replace.null.with.default", flag),
            ],
        );
        let r = apply(
            &mut t,
            source(
                Some(Schema::string()),
                Value::from("key"),
                Some(schema.clone()),
                Value::Struct(struct_of(&schema, &[])),
            ),
        );
        let out = r.value_schema.unwrap();
        let magic = &out.field("magic").unwrap().schema;
        assert_eq!(magic.schema_type, SchemaType::String);
        assert_eq!(magic.default, Some(Value::from("10")));
        assert_eq!(as_struct(&r.value).get("magic"), Some(&expected));
    }
}

#[test]
fn whole_value_with_schema() {
    let i = || Some(Schema::int32());
    assert_eq!(
        whole("int8", i(), Value::Int32(42)),
        (Some(Schema::int8()), Value::Int8(42))
    );
    assert_eq!(
        whole("int16", i(), Value::Int32(42)),
        (Some(Schema::int16()), Value::Int16(42))
    );
    assert_eq!(
        whole("int32", i(), Value::Int32(42)),
        (Some(Schema::int32()), Value::Int32(42))
    );
    assert_eq!(
        whole("int64", i(), Value::Int32(42)),
        (Some(Schema::int64()), Value::Int64(42))
    );
    assert_eq!(
        whole("float32", i(), Value::Int32(42)),
        (Some(Schema::float32()), Value::Float32(42.0))
    );
    assert_eq!(
        whole("float64", i(), Value::Int32(42)),
        (Some(Schema::float64()), Value::Float64(42.0))
    );
    assert_eq!(
        whole("boolean", i(), Value::Int32(42)),
        (Some(Schema::boolean()), Value::Boolean(true))
    );
    assert_eq!(
        whole("boolean", i(), Value::Int32(0)),
        (Some(Schema::boolean()), Value::Boolean(false))
    );
    assert_eq!(
        whole("string", i(), Value::Int32(42)),
        (Some(Schema::string()), Value::from("42"))
    );

    let mut t = configured(Cast::key(), &[("spec", "int8")]);
    let r = apply(
        &mut t,
        source(
            Some(Schema::int32()),
            Value::Int32(42),
            Some(Schema::string()),
            Value::from("bogus"),
        ),
    );
    assert_eq!(
        (r.key_schema, r.key),
        (Some(Schema::int8()), Value::Int8(42))
    );
    assert_eq!(r.value, Value::from("bogus"));
}

#[test]
fn whole_value_logical_to_string() {
    let (schema, v) = whole(
        "string",
        Some(decimal_schema(0).build()),
        Decimal::new(42, 0).to_value(),
    );
    assert_eq!(
        (schema.unwrap().schema_type, v),
        (SchemaType::String, Value::from("42"))
    );
    let (schema, v) = whole(
        "string",
        Some(timestamp_schema().build()),
        Value::Int64(DAY + 1),
    );
    let schema = schema.unwrap();
    assert_eq!(
        (schema.schema_type, v),
        (SchemaType::String, Value::from("1970-01-02T00:00:00.001Z"))
    );
    assert_eq!(schema.name, None);
}

#[test]
fn whole_value_default_is_cast() {
    let schema = SchemaBuilder::float32()
        .default_value(Value::Float32(-42.125))
        .build();
    let (out, v) = whole("int32", Some(schema), Value::Float32(42.125));
    let out = out.unwrap();
    assert_eq!((out.schema_type, v), (SchemaType::Int32, Value::Int32(42)));
    assert_eq!(out.default, Some(Value::Int32(-42)));
}

#[test]
fn whole_value_keeps_basics() {
    let schema = SchemaBuilder::int64()
        .name("n")
        .version(2)
        .doc("d")
        .parameter("p", "v")
        .optional()
        .build();
    let (out, _) = whole("int32", Some(schema), Value::Int64(1));
    let out = out.unwrap();
    assert_eq!(
        (out.name.as_deref(), out.version, out.doc.as_deref()),
        (Some("n"), Some(2), Some("d"))
    );
    assert_eq!(out.parameters, [("p".to_string(), "v".to_string())]);
    assert!(out.optional);
}

#[test]
fn whole_value_schemaless() {
    for (spec, expected) in [
        ("int8", Value::Int8(42)),
        ("int16", Value::Int16(42)),
        ("int32", Value::Int32(42)),
        ("int64", Value::Int64(42)),
        ("float32", Value::Float32(42.0)),
        ("float64", Value::Float64(42.0)),
        ("boolean", Value::Boolean(true)),
        ("string", Value::from("42")),
    ] {
        assert_eq!(whole(spec, None, Value::Int32(42)), (None, expected));
    }
    assert_eq!(
        whole("boolean", None, Value::Int32(0)),
        (None, Value::Boolean(false))
    );
    let mut t = configured(Cast::value(), &[("spec", "int8")]);
    assert_eq!(
        apply_error(
            &mut t,
            source_value(None, Value::Array(vec![Value::from("foo")]))
        ),
        "Cast transformation does not support casting from ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
    );
}

#[test]
fn logical_to_primitive() {
    let schema = SchemaBuilder::struct_()
        .field("date_to_int32", date_schema().build())
        .field("timestamp_to_int64", timestamp_schema().build())
        .field("time_to_int64", time_schema().build())
        .field("decimal_to_int32", decimal_schema(0).build())
        .field("timestamp_to_float64", timestamp_schema().build())
        .field(
            "null_timestamp_to_int32",
            timestamp_schema().optional().build(),
        )
        .build();
    let value = struct_of(
        &schema,
        &[
            ("date_to_int32", Value::Int32(1)),
            ("timestamp_to_int64", Value::Int64(0)),
            ("time_to_int64", Value::Int32(1)),
            (
                "decimal_to_int32",
                Decimal::new(i128::from(i32::MAX) + 1, 0).to_value(),
            ),
            ("timestamp_to_float64", Value::Int64(i64::MAX)),
        ],
    );
    let mut t = configured(
        Cast::value(),
        &[(
            "spec",
            "date_to_int32:int32,timestamp_to_int64:int64,time_to_int64:int64,decimal_to_int32:int32,timestamp_to_float64:float64,null_timestamp_to_int32:int32",
        )],
    );
    let r = apply(&mut t, source_value(Some(schema), Value::Struct(value)));
    let s = as_struct(&r.value);
    assert_eq!(
        s.values(),
        [
            Value::Int32(1),
            Value::Int64(0),
            Value::Int64(1),
            Value::Int32(i32::MIN),
            Value::Float64(9.223372036854776E18),
            Value::Null,
        ]
    );
    let types: Vec<_> = s
        .schema()
        .fields
        .iter()
        .map(|f| (f.schema.schema_type, f.schema.name.clone()))
        .collect();
    assert_eq!(
        types,
        [
            (SchemaType::Int32, None),
            (SchemaType::Int64, None),
            (SchemaType::Int64, None),
            (SchemaType::Int32, None),
            (SchemaType::Float64, None),
            (SchemaType::Int32, None),
        ]
    );
    assert!(s.schema().fields[5].schema.optional);
    s.validate().unwrap();
}

#[test]
fn logical_to_string() {
    let schema = SchemaBuilder::struct_()
        .field("date", date_schema().build())
        .field("decimal", decimal_schema(0).build())
        .field("time", time_schema().build())
        .field("timestamp", timestamp_schema().build())
        .build();
    let value = struct_of(
        &schema,
        &[
            ("date", Value::Int32(1)),
            ("decimal", Decimal::new(1982, 0).to_value()),
            ("time", Value::Int32(HOUR as i32)),
            ("timestamp", Value::Int64(1_483_425_001_864)),
        ],
    );
    let mut t = configured(
        Cast::value(),
        &[(
            "spec",
            "date:string,decimal:string,time:string,timestamp:string",
        )],
    );
    let r = apply(&mut t, source_value(Some(schema), Value::Struct(value)));
    assert_eq!(
        as_struct(&r.value).values(),
        [
            Value::from("1970-01-02"),
            Value::from("1982"),
            Value::from("01:00:00.000Z"),
            Value::from("2017-01-03T06:30:01.864Z"),
        ]
    );
}

#[test]
fn fields_with_schema() {
    let schema = SchemaBuilder::struct_()
        .field("int8", Schema::int8())
        .field("int16", Schema::optional_int16())
        .field(
            "int32",
            SchemaBuilder::int32()
                .default_value(Value::Int32(2))
                .build(),
        )
        .field("int64", Schema::int64())
        .field("float32", Schema::float32())
        .field(
            "float64",
            SchemaBuilder::float64()
                .default_value(Value::Float64(-1.125))
                .build(),
        )
        .field("boolean", Schema::boolean())
        .field("string", Schema::string())
        .field("bigdecimal", decimal_schema(0).build())
        .field("date", date_schema().build())
        .field("optional", Schema::optional_float32())
        .field("timestamp", timestamp_schema().build())
        .field("bytes", Schema::bytes())
        .build();
    let value = struct_of(
        &schema,
        &[
            ("int8", Value::Int8(8)),
            ("int16", Value::Int16(16)),
            ("int32", Value::Int32(32)),
            ("int64", Value::Int64(64)),
            ("float32", Value::Float32(32.0)),
            ("float64", Value::Float64(-64.0)),
            ("boolean", Value::Boolean(true)),
            ("bigdecimal", Decimal::new(42, 0).to_value()),
            ("date", Value::Int32(1)),
            ("string", Value::from("42")),
            ("timestamp", Value::Int64(0)),
            (
                "bytes",
                Value::Bytes(vec![0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10]),
            ),
        ],
    );
    let mut t = configured(
        Cast::value(),
        &[(
            "spec",
            "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32,bigdecimal:string,date:string,optional:int32,bytes:string",
        )],
    );
    let r = apply(&mut t, source_value(Some(schema), Value::Struct(value)));
    let s = as_struct(&r.value);
    let get = |n: &str| s.get(n).cloned().unwrap();
    assert_eq!(get("int8"), Value::Int16(8));
    assert_eq!(get("int16"), Value::Int32(16));
    assert_eq!(get("int32"), Value::Int64(32));
    assert_eq!(get("int64"), Value::Boolean(true));
    assert_eq!(get("float32"), Value::Float64(32.0));
    assert_eq!(get("float64"), Value::Boolean(true));
    assert_eq!(get("boolean"), Value::Int8(1));
    assert_eq!(get("string"), Value::Int32(42));
    assert_eq!(get("bigdecimal"), Value::from("42"));
    assert_eq!(get("date"), Value::from("1970-01-02"));
    assert_eq!(get("timestamp"), Value::Int64(0));
    assert_eq!(get("bytes"), Value::from("/ty6mHZUMhA="));
    assert_eq!(get("optional"), Value::Null);
    let field = |n: &str| s.schema().field(n).unwrap().schema.clone();
    assert!(field("int16").optional);
    assert_eq!(field("int32").default, Some(Value::Int64(2)));
    assert_eq!(field("float64").default, Some(Value::Boolean(true)));
    assert_eq!(field("optional").schema_type, SchemaType::Int32);
    assert!(field("optional").optional);
    assert_eq!(
        field("timestamp").name.as_deref(),
        Some(sluice_connect_api::schema::logical::TIMESTAMP_NAME)
    );
    s.validate().unwrap();
}

#[test]
fn fields_schemaless() {
    let v = map_of(&[
        ("int8", Value::Int8(8)),
        ("int16", Value::Int16(16)),
        ("int32", Value::Int32(32)),
        ("int64", Value::Int64(64)),
        ("float32", Value::Float32(32.0)),
        ("float64", Value::Float64(-64.0)),
        ("boolean", Value::Boolean(true)),
        ("string", Value::from("42")),
    ]);
    let mut t = configured(
        Cast::value(),
        &[(
            "spec",
            "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32",
        )],
    );
    let r = apply(&mut t, source_value(None, v));
    assert_eq!(
        r.value,
        map_of(&[
            ("int8", Value::Int16(8)),
            ("int16", Value::Int32(16)),
            ("int32", Value::Int64(32)),
            ("int64", Value::Boolean(true)),
            ("float32", Value::Float64(32.0)),
            ("float64", Value::Boolean(true)),
            ("boolean", Value::Int8(1)),
            ("string", Value::Int32(42)),
        ])
    );
}

#[test]
fn java_conversions() {
    let c = |spec: &str, v: Value| whole(spec, None, v).1;
    assert_eq!(c("int8", Value::Int32(300)), Value::Int8(44));
    assert_eq!(c("int8", Value::Float64(300.7)), Value::Int8(44));
    assert_eq!(c("int32", Value::Float64(1e20)), Value::Int32(i32::MAX));
    assert_eq!(c("int64", Value::Float64(f64::NAN)), Value::Int64(0));
    assert_eq!(c("boolean", Value::Float64(0.5)), Value::Boolean(false));
    assert_eq!(c("boolean", Value::from("TRUE")), Value::Boolean(true));
    assert_eq!(c("boolean", Value::from("yes")), Value::Boolean(false));
    assert_eq!(c("float64", Value::from(" 1.5 ")), Value::Float64(1.5));
    assert_eq!(c("string", Value::Float64(1e10)), Value::from("1.0E10"));
    assert_eq!(c("string", Value::Float32(0.1)), Value::from("0.1"));
    assert_eq!(c("string", Value::Boolean(false)), Value::from("false"));
    let mut t = configured(Cast::value(), &[("spec", "int8")]);
    assert_eq!(
        apply_error(&mut t, source_value(None, Value::from("300"))),
        "Value (300) was out of range for requested data type"
    );
    assert_eq!(
        apply_error(&mut t, source_value(None, Value::Bytes(vec![1]))),
        "Unexpected type in Cast transformation: class [B"
    );
}

#[test]
fn unsupported_input_with_schema() {
    let inner = SchemaBuilder::struct_().field("x", Schema::int32()).build();
    let schema = SchemaBuilder::struct_().field("s", inner.clone()).build();
    let v = struct_of(
        &schema,
        &[(
            "s",
            Value::Struct(struct_of(&inner, &[("x", Value::Int32(1))])),
        )],
    );
    let mut t = configured(Cast::value(), &[("spec", "s:string")]);
    assert_eq!(
        apply_error(&mut t, source_value(Some(schema), Value::Struct(v))),
        "Cast transformation does not support casting from STRUCT; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
    );
    assert_eq!(
        apply_error(
            &mut t,
            source_value(Some(Schema::string()), Value::from("x"))
        ),
        "Cannot list fields on non-struct type"
    );
}

#[test]
fn struct_default_is_cast() {
    let plain = SchemaBuilder::struct_().field("a", Schema::int32()).build();
    let schema = SchemaBuilder::struct_()
        .field("a", Schema::int32())
        .optional()
        .default_value(Value::Struct(struct_of(&plain, &[("a", Value::Int32(7))])))
        .build();
    let mut t = configured(Cast::value(), &[("spec", "a:string")]);
    let r = apply(
        &mut t,
        source_value(
            Some(schema.clone()),
            Value::Struct(struct_of(&schema, &[("a", Value::Int32(1))])),
        ),
    );
    let out = r.value_schema.unwrap();
    assert!(out.optional);
    let Some(Value::Struct(d)) = &out.default else {
        panic!("no default")
    };
    assert_eq!(d.values(), [Value::from("7")]);
    assert_eq!(as_struct(&r.value).values(), [Value::from("1")]);
}
