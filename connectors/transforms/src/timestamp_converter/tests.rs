use super::*;
use crate::test_support::*;
use sluice_connect_api::schema::logical::{date_schema, time_schema, timestamp_schema};

const DAY: i64 = 86_400_000;
/// 1970-01-02T00:00:01.234Z.
const DATE_PLUS_TIME: i64 = DAY + 1234;
/// A purely numeric format.
const NUMERIC_FMT: &str = "yyyy MM dd HH mm ss SSS";
const NUMERIC_STRING: &str = "1970 01 02 00 00 01 234";

fn xform(side: Side, pairs: &[(&str, &str)]) -> TimestampConverter {
    configured(TimestampConverter::new(side), pairs)
}

fn whole(target: &str, schema: Option<SchemaRef>, value: Value) -> (Option<SchemaRef>, Value) {
    let mut t = xform(
        Side::Value,
        &[("target.type", target), ("format", NUMERIC_FMT)],
    );
    let r = apply(&mut t, source_value(schema, value));
    (r.value_schema, r.value)
}

fn ts() -> SchemaRef {
    timestamp_schema().build()
}

#[test]
fn config_errors() {
    let (keys, _) = config_error(TimestampConverter::value(), &[]);
    assert_eq!(keys, ["target.type"]);
    let (keys, msg) = config_error(TimestampConverter::value(), &[("target.type", "invalid")]);
    assert_eq!(keys, ["target.type"]);
    assert_eq!(
        msg,
        "Invalid value invalid for configuration target.type: String must be one of: string, unix, Date, Time, Timestamp"
    );
    let (keys, _) = config_error(TimestampConverter::value(), &[("target.type", "date")]);
    assert_eq!(keys, ["target.type"]);
    let (keys, _) = config_error(
        TimestampConverter::value(),
        &[("target.type", "unix"), ("unix.precision", "invalid")],
    );
    assert_eq!(keys, ["unix.precision"]);
    configured(
        TimestampConverter::value(),
        &[("target.type", "unix"), ("unix.precision", "seconds")],
    );
    let (keys, msg) = config_error(TimestampConverter::value(), &[("target.type", "string")]);
    assert_eq!(keys, ["format"]);
    assert_eq!(
        msg,
        "TimestampConverter requires format option to be specified when using string timestamps"
    );
    let (keys, msg) = config_error(
        TimestampConverter::value(),
        &[("target.type", "string"), ("format", "bad-format")],
    );
    assert_eq!(keys, ["format"]);
    assert_eq!(
        msg,
        "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: bad-format"
    );
}

#[test]
fn schemaless_conversions() {
    let unix = Value::Int64(DATE_PLUS_TIME);
    assert_eq!(
        whole("Timestamp", None, unix.clone()),
        (None, Value::Int64(DATE_PLUS_TIME))
    );
    assert_eq!(whole("Date", None, unix.clone()), (None, Value::Int32(1)));
    assert_eq!(
        whole("Time", None, unix.clone()),
        (None, Value::Int32(1234))
    );
    assert_eq!(
        whole("unix", None, unix.clone()),
        (None, Value::Int64(DATE_PLUS_TIME))
    );
    assert_eq!(
        whole("string", None, unix),
        (None, Value::from(NUMERIC_STRING))
    );
    assert_eq!(
        whole("Timestamp", None, Value::from(NUMERIC_STRING)),
        (None, Value::Int64(DATE_PLUS_TIME))
    );
    let mut t = xform(Side::Value, &[("target.type", "Timestamp")]);
    assert_eq!(
        apply_error(&mut t, source_value(None, Value::Int32(1))),
        "TimestampConverter does not support class java.lang.Integer objects as timestamps"
    );
}

#[test]
fn with_schema_from_timestamp() {
    let v = Value::Int64(DATE_PLUS_TIME);
    assert_eq!(
        whole("Timestamp", Some(ts()), v.clone()),
        (Some(ts()), v.clone())
    );
    assert_eq!(
        whole("Date", Some(ts()), v.clone()),
        (Some(date_schema().build()), Value::Int32(1))
    );
    assert_eq!(
        whole("Time", Some(ts()), v.clone()),
        (Some(time_schema().build()), Value::Int32(1234))
    );
    assert_eq!(
        whole("unix", Some(ts()), v.clone()),
        (Some(Schema::int64()), v.clone())
    );
    assert_eq!(
        whole("string", Some(ts()), v),
        (Some(Schema::string()), Value::from(NUMERIC_STRING))
    );
}

#[test]
fn with_schema_to_timestamp() {
    assert_eq!(
        whole("Timestamp", Some(date_schema().build()), Value::Int32(1)),
        (Some(ts()), Value::Int64(DAY))
    );
    assert_eq!(
        whole("Timestamp", Some(time_schema().build()), Value::Int32(1234)),
        (Some(ts()), Value::Int64(1234))
    );
    assert_eq!(
        whole(
            "Timestamp",
            Some(Schema::int64()),
            Value::Int64(DATE_PLUS_TIME)
        ),
        (Some(ts()), Value::Int64(DATE_PLUS_TIME))
    );
    assert_eq!(
        whole(
            "Timestamp",
            Some(Schema::string()),
            Value::from(NUMERIC_STRING)
        ),
        (Some(ts()), Value::Int64(DATE_PLUS_TIME))
    );
}

#[test]
fn null_values_with_schema() {
    let optional_sources = || {
        [
            Schema::optional_int64(),
            time_schema().optional().build(),
            date_schema().optional().build(),
            Schema::optional_string(),
            timestamp_schema().optional().build(),
        ]
    };
    for (target, expected) in [
        ("Timestamp", timestamp_schema().optional().build()),
        ("Date", date_schema().optional().build()),
        ("Time", time_schema().optional().build()),
        ("unix", Schema::optional_int64()),
        ("string", Schema::optional_string()),
    ] {
        for original in optional_sources() {
            assert_eq!(
                whole(target, Some(original.clone()), Value::Null),
                (Some(expected.clone()), Value::Null)
            );

            // A null field, and a null struct.
            let mut t = xform(
                Side::Value,
                &[
                    ("target.type", target),
                    ("format", NUMERIC_FMT),
                    ("field", "ts"),
                ],
            );
            let schema = SchemaBuilder::struct_()
                .field("ts", original.clone())
                .field("other", Schema::string())
                .build();
            let expected_schema = SchemaBuilder::struct_()
                .field("ts", expected.clone())
                .field("other", Schema::string())
                .build();
            let v = struct_of(&schema, &[("other", Value::from("test"))]);
            let r = apply(&mut t, source_value(Some(schema), Value::Struct(v)));
            assert_eq!(r.value_schema.as_deref(), Some(&*expected_schema));
            assert_eq!(as_struct(&r.value).get("ts"), Some(&Value::Null));

            let schema = SchemaBuilder::struct_()
                .field("ts", original.clone())
                .field("other", Schema::string())
                .optional()
                .build();
            let expected_schema = SchemaBuilder::struct_()
                .field("ts", expected.clone())
                .field("other", Schema::string())
                .optional()
                .build();
            let r = apply(&mut t, source_value(Some(schema), Value::Null));
            assert_eq!(
                (r.value_schema.as_deref(), r.value),
                (Some(&*expected_schema), Value::Null)
            );
        }
    }
}

#[test]
fn schemaless_nulls() {
    for target in ["string", "Date", "Timestamp", "unix", "Time"] {
        assert_eq!(whole(target, None, Value::Null), (None, Value::Null));
        let mut t = xform(
            Side::Value,
            &[
                ("target.type", target),
                ("format", NUMERIC_FMT),
                ("field", "ts"),
            ],
        );
        let r = apply(&mut t, source_value(None, Value::Null));
        assert_eq!((r.value_schema, r.value), (None, Value::Null));
    }
}

#[test]
fn field_conversion() {
    let mut t = xform(Side::Value, &[("target.type", "Date"), ("field", "ts")]);
    let r = apply(
        &mut t,
        source_value(None, map_of(&[("ts", Value::Int64(DATE_PLUS_TIME))])),
    );
    assert_eq!(r.value, map_of(&[("ts", Value::Int32(1))]));

    let mut t = xform(
        Side::Value,
        &[("target.type", "Timestamp"), ("field", "ts")],
    );
    let schema = SchemaBuilder::struct_()
        .field("ts", Schema::int64())
        .field("other", Schema::string())
        .build();
    let v = struct_of(
        &schema,
        &[
            ("ts", Value::Int64(DATE_PLUS_TIME)),
            ("other", Value::from("test")),
        ],
    );
    let r = apply(&mut t, source_value(Some(schema), Value::Struct(v)));
    let expected = SchemaBuilder::struct_()
        .field("ts", ts())
        .field("other", Schema::string())
        .build();
    assert_eq!(r.value_schema.as_deref(), Some(&*expected));
    assert_eq!(
        as_struct(&r.value).values(),
        [Value::Int64(DATE_PLUS_TIME), Value::from("test")]
    );
    as_struct(&r.value).validate().unwrap();
}

#[test]
fn null_field_with_default() {
    for (flag, expected) in [("false", Value::Null), ("true", Value::Int64(0))] {
        let mut t = xform(
            Side::Value,
            &[
                ("target.type", "Timestamp"),
                ("field", "ts"),
                ("replace.null.with.default", flag),
            ],
        );
        let schema = SchemaBuilder::struct_()
            .field(
                "ts",
                SchemaBuilder::int64()
                    .optional()
                    .default_value(Value::Int64(0))
                    .build(),
            )
            .field("other", Schema::string())
            .build();
        let v = struct_of(&schema, &[("other", Value::from("test"))]);
        let r = apply(&mut t, source_value(Some(schema), Value::Struct(v)));
        let out = r.value_schema.unwrap();
        assert_eq!(
            *out.field("ts").unwrap().schema,
            *timestamp_schema().optional().build()
        );
        assert_eq!(as_struct(&r.value).get("ts"), Some(&expected));
    }
}

#[test]
fn unix_precisions() {
    for (precision, input) in [
        ("microseconds", DATE_PLUS_TIME * 1000 + 123),
        ("nanoseconds", (DATE_PLUS_TIME * 1000 + 123) * 1000 + 456),
        ("seconds", DATE_PLUS_TIME / 1000),
    ] {
        let mut t = xform(
            Side::Value,
            &[
                ("target.type", "Timestamp"),
                ("field", "ts"),
                ("unix.precision", precision),
            ],
        );
        let schema = SchemaBuilder::struct_()
            .field("ts", Schema::int64())
            .build();
        let v = struct_of(&schema, &[("ts", Value::Int64(input))]);
        let r = apply(&mut t, source_value(Some(schema), Value::Struct(v)));
        let expected = if precision == "seconds" {
            DAY + 1000
        } else {
            DATE_PLUS_TIME
        };
        assert_eq!(
            as_struct(&r.value).get("ts"),
            Some(&Value::Int64(expected)),
            "{precision}"
        );
    }
    for (precision, expected) in [
        ("microseconds", 86_401_234_000),
        ("nanoseconds", 86_401_234_000_000),
        ("seconds", 86_401),
    ] {
        let mut t = xform(
            Side::Value,
            &[
                ("target.type", "unix"),
                ("unix.precision", precision),
                ("format", NUMERIC_FMT),
            ],
        );
        let r = apply(&mut t, source_value(None, Value::from(NUMERIC_STRING)));
        assert_eq!(r.value, Value::Int64(expected), "{precision}");
    }
}

#[test]
fn key_variant() {
    let mut t = xform(Side::Key, &[("target.type", "Timestamp")]);
    let r = apply(
        &mut t,
        source(None, Value::Int64(DATE_PLUS_TIME), None, Value::Null),
    );
    assert_eq!((r.key_schema, r.key), (None, Value::Int64(DATE_PLUS_TIME)));
}

#[test]
fn errors() {
    let mut t = xform(
        Side::Value,
        &[("target.type", "Timestamp"), ("format", NUMERIC_FMT)],
    );
    assert_eq!(
        apply_error(&mut t, source_value(None, Value::from("nope"))),
        "Could not parse timestamp: value (nope) does not match pattern (yyyy MM dd HH mm ss SSS)"
    );
    assert_eq!(
        apply_error(&mut t, source_value(Some(Schema::int32()), Value::Int32(1))),
        "Schema Schema{INT32} does not correspond to a known timestamp type format"
    );
    assert_eq!(
        apply_error(&mut t, source_value(Some(ts()), Value::from("x"))),
        "Expected Timestamp to be a java.util.Date, but found class java.lang.String"
    );
    let mut t = xform(
        Side::Value,
        &[("target.type", "Timestamp"), ("field", "ts")],
    );
    assert_eq!(
        apply_error(&mut t, source_value(None, Value::from("x"))),
        "Only Map objects supported in absence of schema for [converting timestamp formats], found: java.lang.String"
    );
}

/// Kafka Connect's own cases with `yyyy MM dd HH mm ss SSS z`, which needs
/// the full SimpleDateFormat.
mod timestamp_format_tests {
    use super::*;

    const STRING_DATE_FMT: &str = "yyyy MM dd HH mm ss SSS z";
    const DATE_PLUS_TIME_STRING: &str = "1970 01 02 00 00 01 234 UTC";

    fn convert(
        target: &str,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> (Option<SchemaRef>, Value) {
        let mut t = xform(
            Side::Value,
            &[("target.type", target), ("format", STRING_DATE_FMT)],
        );
        let r = apply(&mut t, source_value(schema, value));
        (r.value_schema, r.value)
    }

    #[test]
    fn timestamp_to_string() {
        assert_eq!(
            convert("string", None, Value::Int64(DATE_PLUS_TIME)),
            (None, Value::from(DATE_PLUS_TIME_STRING))
        );
        assert_eq!(
            convert("string", Some(ts()), Value::Int64(DATE_PLUS_TIME)),
            (Some(Schema::string()), Value::from(DATE_PLUS_TIME_STRING))
        );
    }

    #[test]
    fn string_to_timestamp() {
        assert_eq!(
            convert("Timestamp", None, Value::from(DATE_PLUS_TIME_STRING)),
            (None, Value::Int64(DATE_PLUS_TIME))
        );
        assert_eq!(
            convert(
                "Timestamp",
                Some(Schema::string()),
                Value::from(DATE_PLUS_TIME_STRING)
            ),
            (Some(ts()), Value::Int64(DATE_PLUS_TIME))
        );
    }

    #[test]
    fn string_to_unix_precisions() {
        for (precision, expected) in [
            ("microseconds", 86_401_234_000),
            ("nanoseconds", 86_401_234_000_000),
            ("seconds", 86_401),
        ] {
            let mut t = xform(
                Side::Value,
                &[
                    ("target.type", "unix"),
                    ("unix.precision", precision),
                    ("format", STRING_DATE_FMT),
                ],
            );
            let r = apply(
                &mut t,
                source_value(None, Value::from(DATE_PLUS_TIME_STRING)),
            );
            assert_eq!(r.value, Value::Int64(expected));
        }
    }
}
