use super::*;
use crate::logical::{Decimal, date_schema, decimal_schema, time_schema, timestamp_schema};
use crate::schema::SchemaBuilder;
use crate::value::Struct;

fn conv(props: &[(&str, &str)]) -> JsonConverter {
    let mut cfg = ConverterConfig::new(false);
    for (k, v) in props {
        cfg = cfg.with(*k, *v);
    }
    JsonConverter::new(&cfg).unwrap()
}

fn write(c: &JsonConverter, schema: Option<&SchemaRef>, value: &Value) -> String {
    String::from_utf8(c.from_connect("t", schema, value).unwrap().unwrap()).unwrap()
}

fn read(c: &JsonConverter, json: &str) -> SchemaAndValue {
    c.to_connect("t", Some(json.as_bytes())).unwrap()
}

fn read_err(c: &JsonConverter, json: &[u8]) -> ConvertError {
    c.to_connect("t", Some(json)).unwrap_err()
}

#[test]
fn string_with_schema_exact_bytes() {
    let c = conv(&[]);
    assert_eq!(
        write(&c, Some(&Schema::string()), &Value::from("foo")),
        r#"{"schema":{"type":"string","optional":false},"payload":"foo"}"#
    );
    // Jackson escapes characters beyond U+FFFF as surrogate pairs.
    assert_eq!(
        write(
            &c,
            Some(&Schema::string()),
            &Value::from("héllo \"wörld\"\n\u{1}😀")
        ),
        r#"{"schema":{"type":"string","optional":false},"payload":"héllo \"wörld\"\n\u0001\uD83D\uDE00"}"#
    );
}

fn user_schema() -> SchemaRef {
    let address = SchemaBuilder::struct_()
        .name("com.example.Address")
        .optional()
        .field("street", Schema::string())
        .field("zip", Schema::optional_int32())
        .build();
    SchemaBuilder::struct_()
        .name("com.example.User")
        .version(3)
        .doc("A \"user\"")
        .parameter("owner", "team-a")
        .parameter("pii", "true")
        .field("id", Schema::int64())
        .field(
            "name",
            SchemaBuilder::string()
                .optional()
                .default_value(Value::from("anon"))
                .doc("display name")
                .build(),
        )
        .field("score", Schema::float64())
        .field("ratio", Schema::optional_float32())
        .field(
            "active",
            SchemaBuilder::boolean()
                .default_value(Value::Boolean(true))
                .build(),
        )
        .field("tags", SchemaBuilder::array(Schema::string()).build())
        .field(
            "attrs",
            SchemaBuilder::map(Schema::string(), Schema::optional_int32())
                .optional()
                .build(),
        )
        .field(
            "counts",
            SchemaBuilder::map(Schema::int32(), Schema::string()).build(),
        )
        .field("balance", decimal_schema(2).build())
        .field("birthday", date_schema().optional().build())
        .field("created", timestamp_schema().build())
        .field("avatar", Schema::optional_bytes())
        .field("address", address)
        .try_build()
        .unwrap()
}

fn user(schema: &SchemaRef, name: Value) -> Value {
    let address_schema = schema.field("address").unwrap().schema.clone();
    let address = Struct::new(address_schema)
        .put("street", Value::from("Main"))
        .unwrap();
    let s = Struct::new(schema.clone())
        .put("id", Value::Int64(42))
        .unwrap()
        .put("name", name)
        .unwrap()
        .put("score", Value::Float64(1e10))
        .unwrap()
        .put("ratio", Value::Float32(0.5))
        .unwrap()
        .put("active", Value::Boolean(false))
        .unwrap()
        .put(
            "tags",
            Value::Array(vec![Value::from("a"), Value::from("b/c")]),
        )
        .unwrap()
        .put(
            "attrs",
            Value::Map(vec![
                (Value::from("x"), Value::Int32(1)),
                (Value::from("y"), Value::Null),
            ]),
        )
        .unwrap()
        .put(
            "counts",
            Value::Map(vec![
                (Value::Int32(1), Value::from("one")),
                (Value::Int32(2), Value::from("two")),
            ]),
        )
        .unwrap()
        .put("balance", Decimal::new(12345, 2).to_value())
        .unwrap()
        .put("birthday", Value::Int32(19_000))
        .unwrap()
        .put("created", Value::Int64(1_700_000_000_000))
        .unwrap()
        .put("avatar", Value::Bytes(vec![1, 2, 3]))
        .unwrap()
        .put("address", Value::Struct(address))
        .unwrap();
    Value::Struct(s)
}

const USER_SCHEMA_JSON: &str = concat!(
    r#"{"type":"struct","fields":["#,
    r#"{"type":"int64","optional":false,"field":"id"},"#,
    r#"{"type":"string","optional":true,"doc":"display name","default":"anon","field":"name"},"#,
    r#"{"type":"double","optional":false,"field":"score"},"#,
    r#"{"type":"float","optional":true,"field":"ratio"},"#,
    r#"{"type":"boolean","optional":false,"default":true,"field":"active"},"#,
    r#"{"type":"array","items":{"type":"string","optional":false},"optional":false,"field":"tags"},"#,
    r#"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":true},"optional":true,"field":"attrs"},"#,
    r#"{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false,"field":"counts"},"#,
    r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"balance"},"#,
    r#"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"birthday"},"#,
    r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created"},"#,
    r#"{"type":"bytes","optional":true,"field":"avatar"},"#,
    r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"street"},{"type":"int32","optional":true,"field":"zip"}],"optional":true,"name":"com.example.Address","field":"address"}"#,
    r#"],"optional":false,"name":"com.example.User","version":3,"doc":"A \"user\"","parameters":{"owner":"team-a","pii":"true"}}"#,
);

const USER_PAYLOAD_JSON: &str = concat!(
    r#"{"id":42,"name":"anon","score":1.0E10,"ratio":0.5,"active":false,"tags":["a","b/c"],"#,
    r#""attrs":{"x":1,"y":null},"counts":[[1,"one"],[2,"two"]],"balance":"MDk=","birthday":19000,"#,
    r#""created":1700000000000,"avatar":"AQID","address":{"street":"Main","zip":null}}"#,
);

#[test]
fn struct_exact_bytes() {
    let c = conv(&[]);
    let schema = user_schema();
    let json = write(&c, Some(&schema), &user(&schema, Value::Null));
    assert_eq!(
        json,
        format!(r#"{{"schema":{USER_SCHEMA_JSON},"payload":{USER_PAYLOAD_JSON}}}"#)
    );
    assert_eq!(c.schema_to_json(&schema).unwrap(), USER_SCHEMA_JSON);
    // Written twice (second time from the schema cache): same bytes.
    assert_eq!(write(&c, Some(&schema), &user(&schema, Value::Null)), json);

    // Without the envelope; and with null kept null.
    let plain = conv(&[("schemas.enable", "false")]);
    assert_eq!(
        write(&plain, Some(&schema), &user(&schema, Value::Null)),
        USER_PAYLOAD_JSON
    );
    let keep_null = conv(&[
        ("schemas.enable", "false"),
        ("replace.null.with.default", "false"),
    ]);
    let payload = write(&keep_null, Some(&schema), &user(&schema, Value::Null));
    assert!(
        payload.starts_with(r#"{"id":42,"name":null,"score""#),
        "{payload}"
    );
}

#[test]
fn struct_round_trip() {
    let c = conv(&[]);
    let schema = user_schema();
    let value = user(&schema, Value::from("ann"));
    let bytes = c.from_connect("t", Some(&schema), &value).unwrap();
    let back = c.to_connect("t", bytes.as_deref()).unwrap();
    assert_eq!(back.schema.as_ref(), Some(&schema));
    assert_eq!(back.value, value);
    back.value.validate(&schema).unwrap();
    // A null with a default reads back as the default.
    let bytes = c
        .from_connect("t", Some(&schema), &user(&schema, Value::Null))
        .unwrap();
    let back = c.to_connect("t", bytes.as_deref()).unwrap();
    assert_eq!(back.value, user(&schema, Value::from("anon")));
    // A null struct with a struct default reads back as that default.
    let schema = struct_default_schema();
    let bytes = c.from_connect("t", Some(&schema), &Value::Null).unwrap();
    assert_eq!(
        bytes.as_deref(),
        Some(&br#"{"schema":{"type":"struct","fields":[{"type":"int8","optional":true,"field":"x"}],"optional":true,"default":{"x":4}},"payload":{"x":4}}"#[..])
    );
    let back = c.to_connect("t", bytes.as_deref()).unwrap();
    assert_eq!(back.schema.as_ref(), Some(&schema));
    assert_eq!(back.value.as_struct_field("x"), Some(&Value::Int8(4)));
    back.value.validate(&schema).unwrap();
    let bytes = c
        .from_connect(
            "t",
            Some(&user_schema()),
            &user(&user_schema(), Value::Null),
        )
        .unwrap();
    let back = c.to_connect("t", bytes.as_deref()).unwrap();
    // Records of one schema share the parsed schema.
    let again = c.to_connect("t", bytes.as_deref()).unwrap();
    assert!(Arc::ptr_eq(
        back.schema.as_ref().unwrap(),
        again.schema.as_ref().unwrap()
    ));
}

/// One (schema, value) per type, each written and read back unchanged.
fn round_trip_cases() -> Vec<(SchemaRef, Value)> {
    let inner = SchemaBuilder::struct_().field("a", Schema::int8()).build();
    let with_default = SchemaBuilder::struct_()
        .field(
            "n",
            SchemaBuilder::int16()
                .default_value(Value::Int16(7))
                .build(),
        )
        .build();
    vec![
        (Schema::int8(), Value::Int8(-128)),
        (Schema::int16(), Value::Int16(32767)),
        (Schema::int32(), Value::Int32(i32::MIN)),
        (Schema::int64(), Value::Int64(i64::MAX)),
        (Schema::float32(), Value::Float32(12.34)),
        (Schema::float32(), Value::Float32(f32::MIN_POSITIVE)),
        (Schema::float64(), Value::Float64(0.1)),
        (Schema::float64(), Value::Float64(-1.234e-300)),
        (Schema::float64(), Value::Float64(f64::INFINITY)),
        (Schema::float64(), Value::Float64(-0.0)),
        (Schema::boolean(), Value::Boolean(true)),
        (Schema::string(), Value::from("héllo \"wörld\"\n\u{1}😀")),
        (Schema::bytes(), Value::Bytes(vec![0, 255, 7])),
        (Schema::bytes(), Value::Bytes(vec![])),
        (Schema::optional_string(), Value::Null),
        (Schema::optional_int64(), Value::Null),
        (decimal_schema(2).build(), Decimal::new(156, 2).to_value()),
        (decimal_schema(0).build(), Decimal::new(-129, 0).to_value()),
        (
            decimal_schema(-3).build(),
            Decimal::new(i128::MAX, -3).to_value(),
        ),
        (date_schema().build(), Value::Int32(-1)),
        (time_schema().build(), Value::Int32(86_399_999)),
        (timestamp_schema().optional().build(), Value::Int64(-5)),
        (timestamp_schema().optional().build(), Value::Null),
        (
            SchemaBuilder::array(Schema::optional_float64()).build(),
            Value::Array(vec![Value::Float64(1.0), Value::Null]),
        ),
        (
            SchemaBuilder::map(
                Schema::string(),
                SchemaBuilder::array(Schema::int32()).build(),
            )
            .build(),
            Value::Map(vec![(
                Value::from("k"),
                Value::Array(vec![Value::Int32(1)]),
            )]),
        ),
        (
            SchemaBuilder::map(inner.clone(), Schema::boolean()).build(),
            Value::Map(vec![(
                Value::Struct(Struct::new(inner.clone()).put("a", Value::Int8(3)).unwrap()),
                Value::Boolean(false),
            )]),
        ),
        (
            SchemaBuilder::map(decimal_schema(1).build(), Schema::int8()).build(),
            Value::Map(vec![(Decimal::new(-5, 1).to_value(), Value::Int8(1))]),
        ),
        (
            SchemaBuilder::array(inner.clone())
                .optional()
                .name("list")
                .version(2)
                .doc("d")
                .build(),
            Value::Array(vec![Value::Struct(
                Struct::new(inner.clone()).put("a", Value::Int8(1)).unwrap(),
            )]),
        ),
        (
            with_default.clone(),
            Value::Struct(
                Struct::new(with_default.clone())
                    .put("n", Value::Int16(9))
                    .unwrap(),
            ),
        ),
        (
            struct_default_schema(),
            Value::Struct(
                Struct::new(struct_default_schema())
                    .put("x", Value::Int8(5))
                    .unwrap(),
            ),
        ),
    ]
}

/// An optional struct schema whose default is a struct (read back as the
/// default when the value is null).
fn struct_default_schema() -> SchemaRef {
    let base = SchemaBuilder::struct_()
        .field("x", Schema::optional_int8())
        .optional();
    let default = Struct::new(base.clone().build())
        .put("x", Value::Int8(4))
        .unwrap();
    base.default_value(Value::Struct(default))
        .try_build()
        .unwrap()
}

#[test]
fn round_trips_every_type() {
    for props in [&[][..], &[("decimal.format", "numeric")][..]] {
        let c = conv(props);
        for (schema, value) in round_trip_cases() {
            let bytes = c.from_connect("t", Some(&schema), &value).unwrap();
            let back = c.to_connect("t", bytes.as_deref()).unwrap_or_else(|e| {
                panic!(
                    "{e}: {}",
                    String::from_utf8_lossy(bytes.as_deref().unwrap_or_default())
                )
            });
            assert_eq!(back.schema.as_ref(), Some(&schema), "{props:?}");
            let expected = match (&value, &schema.default) {
                (Value::Null, Some(d)) => d.clone(),
                _ => value.clone(),
            };
            assert_eq!(
                back.value,
                expected,
                "{props:?} {}",
                String::from_utf8_lossy(bytes.as_deref().unwrap_or_default())
            );
        }
    }
}

#[test]
fn nan_round_trips_as_quoted_string() {
    let c = conv(&[]);
    let bytes = c
        .from_connect("t", Some(&Schema::float32()), &Value::Float32(f32::NAN))
        .unwrap();
    assert_eq!(
        bytes.as_deref(),
        Some(&br#"{"schema":{"type":"float","optional":false},"payload":"NaN"}"#[..])
    );
    let back = c.to_connect("t", bytes.as_deref()).unwrap();
    assert!(matches!(back.value, Value::Float32(f) if f.is_nan()));
}

#[test]
fn doubles_formatted_like_java() {
    let c = conv(&[("schemas.enable", "false")]);
    for (v, expected) in [
        (0.1, "0.1"),
        (100.0, "100.0"),
        (1.0e7, "1.0E7"),
        (1.234e-4, "1.234E-4"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (1.0e-5, "1.0E-5"),
        (f64::NEG_INFINITY, "\"-Infinity\""),
    ] {
        assert_eq!(
            write(&c, Some(&Schema::float64()), &Value::Float64(v)),
            expected
        );
        assert_eq!(write(&c, None, &Value::Float64(v)), expected);
    }
    assert_eq!(write(&c, None, &Value::Float32(1.1)), "1.1");
}

#[test]
fn decimal_formats() {
    let base64 = conv(&[]);
    let numeric = conv(&[("decimal.format", "NUMERIC")]);
    let schema = decimal_schema(2).build();
    let value = Decimal::new(156, 2).to_value();
    let head = r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"#;
    assert_eq!(
        write(&base64, Some(&schema), &value),
        format!("{head}\"AJw=\"}}")
    );
    assert_eq!(
        write(&numeric, Some(&schema), &value),
        format!("{head}1.56}}")
    );
    // Non-minimal bytes are written minimal, as BigInteger.toByteArray().
    assert_eq!(
        write(&base64, Some(&schema), &Value::Bytes(vec![0, 0, 0x9c])),
        format!("{head}\"AJw=\"}}")
    );
    let tiny = decimal_schema(8).build();
    assert!(
        write(&numeric, Some(&tiny), &Value::Bytes(vec![15])).ends_with(r#""payload":1.5E-7}"#)
    );
    let big = decimal_schema(-2).build();
    assert!(write(&numeric, Some(&big), &Value::Bytes(vec![15])).ends_with(r#""payload":1.5E+3}"#));
}

#[test]
fn reads_kafka_test_messages() {
    let c = conv(&[]);
    let dec = r#"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": "AJw=" }"#;
    let sv = read(&c, dec);
    assert_eq!(sv.schema, Some(decimal_schema(2).build()));
    assert_eq!(sv.value, Decimal::new(156, 2).to_value());
    // Both decimal formats are read whatever decimal.format says.
    let sv = read(&c, &dec.replace("\"AJw=\"", "1.5"));
    assert_eq!(sv.value, Decimal::new(150, 2).to_value());
    let precise = r#"{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"17"}},"payload":1.23456789123456789}"#;
    assert_eq!(
        read(&c, precise).value,
        Decimal::new(123_456_789_123_456_789, 17).to_value()
    );
    let err = read_err(&c, dec.replace("\"AJw=\"", "1.567").as_bytes());
    assert!(
        err.to_string()
            .contains("cannot be represented exactly with scale 2"),
        "{err}"
    );

    let sv = read(&c, r#"{ "schema": { "type": "int8" }, "payload": 0012 }"#);
    assert_eq!(
        sv,
        SchemaAndValue::new(Some(Schema::int8()), Value::Int8(12))
    );
    let sv = read(
        &c,
        r#"{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }"#,
    );
    let expected = SchemaBuilder::boolean()
        .name("bool")
        .version(2)
        .doc("the documentation")
        .parameter("foo", "bar")
        .build();
    assert_eq!(
        sv,
        SchemaAndValue::new(Some(expected), Value::Boolean(true))
    );
    let sv = read(
        &c,
        r#"{ "schema": { "type": "map", "keys": { "type" : "int32" }, "values": { "type" : "int32" } }, "payload": [ [1, 12], [2, 15] ] }"#,
    );
    assert_eq!(
        sv.value,
        Value::Map(vec![
            (Value::Int32(1), Value::Int32(12)),
            (Value::Int32(2), Value::Int32(15))
        ])
    );
    let sv = read(
        &c,
        r#"{ "schema": { "type": "struct", "fields": [{ "field":"optional", "type": "string", "optional": true }, {  "field": "required", "type": "string" }] }, "payload": { "required": "required" } }"#,
    );
    let schema = SchemaBuilder::struct_()
        .field("optional", Schema::optional_string())
        .field("required", Schema::string())
        .build();
    let expected = Struct::new(schema.clone())
        .put("required", Value::from("required"))
        .unwrap();
    assert_eq!(
        sv,
        SchemaAndValue::new(Some(schema), Value::Struct(expected))
    );
    let sv = read(
        &c,
        r#"{"schema":{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp","version":1,"optional":true,"default":42},"payload":null}"#,
    );
    assert_eq!(sv.value, Value::Int64(42));
    let sv = read(
        &c,
        r#"{"schema":{"type":"struct","fields":[{"field":"field1","type":"string","optional":true,"default":"default"}],"optional":false},"payload":{"field1":null}}"#,
    );
    assert_eq!(
        sv.value.as_struct_field("field1"),
        Some(&Value::from("default"))
    );
    let keep = conv(&[("replace.null.with.default", "false")]);
    let sv = read(
        &keep,
        r#"{"schema":{"type":"struct","fields":[{"field":"field1","type":"string","optional":true,"default":"default"}],"optional":false},"payload":{"field1":null}}"#,
    );
    assert_eq!(sv.value.as_struct_field("field1"), Some(&Value::Null));
}

trait StructField {
    fn as_struct_field(&self, name: &str) -> Option<&Value>;
}

impl StructField for Value {
    fn as_struct_field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(s) => s.get(name),
            _ => None,
        }
    }
}

#[test]
fn null_handling() {
    let c = conv(&[]);
    let plain = conv(&[("schemas.enable", "false")]);
    for conv in [&c, &plain] {
        assert_eq!(conv.from_connect("t", None, &Value::Null).unwrap(), None);
        assert_eq!(conv.to_connect("t", None).unwrap(), SchemaAndValue::NULL);
    }
    assert_eq!(
        write(&c, Some(&Schema::optional_string()), &Value::Null),
        r#"{"schema":{"type":"string","optional":true},"payload":null}"#
    );
    assert_eq!(
        write(&plain, Some(&Schema::optional_string()), &Value::Null),
        "null"
    );
    let with_default = SchemaBuilder::string()
        .optional()
        .default_value(Value::from("default"))
        .build();
    assert_eq!(
        write(&c, Some(&with_default), &Value::Null),
        r#"{"schema":{"type":"string","optional":true,"default":"default"},"payload":"default"}"#
    );
    let s = SchemaBuilder::struct_()
        .field("field1", with_default)
        .build();
    assert_eq!(
        write(&c, Some(&s), &Value::Struct(Struct::new(s.clone()))),
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":"default"}}"#
    );
    let err = c
        .from_connect("t", Some(&Schema::string()), &Value::Null)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Conversion error: null value for field that is required and has no default value"
    );
    // Empty bytes: nothing with schemas disabled; not an envelope otherwise.
    assert_eq!(
        plain.to_connect("t", Some(b"")).unwrap(),
        SchemaAndValue::NULL
    );
    assert!(matches!(read_err(&c, b""), ConvertError::Data(_)));
    assert_eq!(
        read(&c, r#"{"schema":null,"payload":null}"#),
        SchemaAndValue::NULL
    );
}

#[test]
fn schemaless() {
    let c = conv(&[]);
    let plain = conv(&[("schemas.enable", "false")]);
    let value = Value::Map(vec![
        (Value::from("a"), Value::Int32(1)),
        (
            Value::from("b"),
            Value::Array(vec![Value::Boolean(true), Value::Null, Value::Float32(2.5)]),
        ),
        (Value::from("c"), Value::Bytes(b"hi".to_vec())),
    ]);
    assert_eq!(
        write(&c, None, &value),
        r#"{"schema":null,"payload":{"a":1,"b":[true,null,2.5],"c":"aGk="}}"#
    );
    assert_eq!(
        write(&plain, None, &value),
        r#"{"a":1,"b":[true,null,2.5],"c":"aGk="}"#
    );
    let mixed = Value::Map(vec![
        (Value::from("s"), Value::Int8(1)),
        (Value::Int64(52), Value::from("x")),
    ]);
    assert_eq!(write(&plain, None, &mixed), r#"[["s",1],[52,"x"]]"#);
    // Repeated keys: first place, last value (Jackson's ObjectNode).
    let dup = Value::Map(vec![
        (Value::from("k"), Value::Int8(1)),
        (Value::from("j"), Value::Int8(2)),
        (Value::from("k"), Value::Int8(3)),
    ]);
    assert_eq!(write(&plain, None, &dup), r#"{"k":3,"j":2}"#);
    assert!(
        c.from_connect(
            "t",
            None,
            &Value::Struct(Struct::new(SchemaBuilder::struct_().build()))
        )
        .is_err()
    );

    let sv = read(&plain, r#"{ "a": "", "b": null, "n": [1, "2", 3.5, -0] }"#);
    assert_eq!(sv.schema, None);
    assert_eq!(
        sv.value,
        Value::Map(vec![
            (Value::from("a"), Value::from("")),
            (Value::from("b"), Value::Null),
            (
                Value::from("n"),
                Value::Array(vec![
                    Value::Int64(1),
                    Value::from("2"),
                    Value::Float64(3.5),
                    Value::Int64(0)
                ])
            ),
        ])
    );
    assert_eq!(
        read(&plain, "true"),
        SchemaAndValue::new(None, Value::Boolean(true))
    );
    assert_eq!(
        read(&c, r#"{"schema":null,"payload":12}"#),
        SchemaAndValue::new(None, Value::Int64(12))
    );
    assert_eq!(
        read(&c, r#"{"payload":12.24,"schema":null}"#),
        SchemaAndValue::new(None, Value::Float64(12.24))
    );
}

#[test]
fn bad_bytes() {
    let c = conv(&[]);
    let envelope = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not \
contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your \
converter configuration.";
    for bad in [
        &br#"{"payload":1}"#[..],
        br#"{"schema":null,"payload":1,"x":2}"#,
        b"[1]",
        b"\"foo\"",
    ] {
        let err = read_err(&c, bad);
        assert!(matches!(err, ConvertError::Data(_)), "{err:?}");
        assert_eq!(err.to_string(), envelope);
    }
    let err = read_err(&c, br#"{"schema":{"type":"int32"},"payload":"#);
    assert!(matches!(err, ConvertError::Deserialize(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Converting byte[] to Kafka Connect data failed: EOF while parsing a value at line 1 column 37"
    );
    let err = read_err(&c, b"{\"schema\":null,\n \"payload\": tru }");
    assert!(
        err.to_string()
            .ends_with("expected ident at line 2 column 16"),
        "{err}"
    );
    assert!(matches!(
        read_err(&c, b"\xff"),
        ConvertError::Deserialize(_)
    ));
    assert!(
        read_err(&c, b"{} {}")
            .to_string()
            .contains("trailing characters")
    );

    let cases: &[(&str, &str)] = &[
        (
            r#"{"schema":{"type":"int8"},"payload":300}"#,
            "Value 300 is out of range for schema type INT8",
        ),
        (
            r#"{"schema":{"type":"int32"},"payload":1.5}"#,
            "expected an integer but found a fractional number",
        ),
        (
            r#"{"schema":{"type":"int32"},"payload":"1"}"#,
            "expected an integer but found STRING",
        ),
        (
            r#"{"schema":{"type":"string"},"payload":1}"#,
            "Invalid JSON for schema type STRING: found NUMBER",
        ),
        (
            r#"{"schema":{"type":"bytes"},"payload":"*"}"#,
            "Invalid bytes field",
        ),
        (
            r#"{"schema":{"type":"string"},"payload":null}"#,
            "Invalid null value for required STRING field",
        ),
        (
            r#"{"schema":{"type":"nope"},"payload":1}"#,
            "Unknown schema type: nope",
        ),
        (
            r#"{"schema":{"optional":true},"payload":1}"#,
            "Schema must contain 'type' field",
        ),
        (
            r#"{"schema":{"type":"array"},"payload":[]}"#,
            "Array schema did not specify the element type",
        ),
        (
            r#"{"schema":{"type":"map","keys":{"type":"string"}},"payload":{}}"#,
            "Map schema did not specify the value type",
        ),
        (
            r#"{"schema":{"type":"struct"},"payload":{}}"#,
            "Struct schema's \"fields\" argument is not an array.",
        ),
        (
            r#"{"schema":{"type":"struct","fields":[{"type":"int8"}]},"payload":{}}"#,
            "Struct schema's field name not specified properly",
        ),
        (
            r#"{"schema":{"type":"struct","fields":[]},"payload":[]}"#,
            "Structs should be encoded as JSON objects, but found ARRAY",
        ),
        (
            r#"{"schema":{"type":"struct","fields":[{"field":"a","type":"int8"},{"field":"a","type":"int8"}]},"payload":{}}"#,
            "duplication: a",
        ),
        (
            r#"{"schema":{"type":"int8","parameters":{"a":1}},"payload":1}"#,
            "Schema parameters must have string values.",
        ),
        (
            r#"{"schema":{"type":"int8","default":"x"},"payload":1}"#,
            "Invalid JSON for schema type INT8: expected an integer but found STRING",
        ),
        (
            r#"{"schema":{"type":"int8","default":null},"payload":1}"#,
            "Invalid null value for required INT8 field",
        ),
        (
            r#"{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int8"}},"payload":[]}"#,
            "Maps with string fields should be encoded as JSON objects, but found ARRAY",
        ),
        (
            r#"{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[[1]]}"#,
            "expected length 2 but found :1",
        ),
        (
            r#"{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[1]}"#,
            "Found invalid map entry instead of array tuple: NUMBER",
        ),
        (
            r#"{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Time"},"payload":86400001}"#,
            "Time values must use",
        ),
        (
            r#"{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Date"},"payload":1.0}"#,
            "Invalid type for Date, underlying representation should be integer but was NUMBER",
        ),
        (
            r#"{"schema":{"type":"int64","name":"org.apache.kafka.connect.data.Date"},"payload":1}"#,
            "physical type must be INT32 but is INT64",
        ),
        (
            r#"{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"},"payload":"AA=="}"#,
            "scale parameter not found",
        ),
        (
            r#"{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"0"}},"payload":true}"#,
            "should be numeric or bytes but was BOOLEAN",
        ),
        (
            r#"{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"0"}},"payload":"AQEBAQEBAQEBAQEBAQEBAQE="}"#,
            "at most 16",
        ),
        (
            r#"{"schema":null,"payload":123456789012345678901234567890}"#,
            "out of range for an int64",
        ),
    ];
    for (json, expected) in cases {
        let err = read_err(&c, json.as_bytes());
        assert!(err.to_string().contains(expected), "{json}: {err}");
    }
}

#[test]
fn from_connect_errors() {
    let c = conv(&[]);
    let err = c
        .from_connect("t", Some(&Schema::float64()), &Value::Boolean(true))
        .unwrap_err();
    assert_eq!(err.to_string(), "Invalid type for FLOAT64: BOOLEAN");
    let other = SchemaBuilder::struct_().field("x", Schema::int8()).build();
    let s = Struct::new(SchemaBuilder::struct_().field("y", Schema::int8()).build());
    let err = c
        .from_connect("t", Some(&other), &Value::Struct(s))
        .unwrap_err();
    assert_eq!(err.to_string(), "Mismatching schema.");
    let time = time_schema().build();
    assert!(c.from_connect("t", Some(&time), &Value::Int32(-1)).is_err());
    let bad_decimal = SchemaBuilder::bytes()
        .name(crate::logical::DECIMAL_NAME)
        .build();
    assert!(
        c.from_connect("t", Some(&bad_decimal), &Value::Bytes(vec![1]))
            .is_err()
    );
    let required_in_array = SchemaBuilder::array(Schema::int8()).build();
    assert!(
        c.from_connect(
            "t",
            Some(&required_in_array),
            &Value::Array(vec![Value::Null])
        )
        .is_err()
    );
}

#[test]
fn config_errors() {
    let cases = [
        ("schemas.enable", "maybe"),
        ("replace.null.with.default", "1"),
        ("decimal.format", "hex"),
        ("schemas.cache.size", "lots"),
    ];
    for (key, value) in cases {
        let cfg = ConverterConfig::new(true).with(key, value);
        match JsonConverter::new(&cfg).unwrap_err() {
            ConvertError::Config { key: k, message } => {
                assert_eq!(k, key);
                assert!(message.contains(value), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    let c = conv(&[
        ("schemas.enable", " FALSE "),
        ("decimal.format", "Numeric"),
        ("schemas.cache.size", "0"),
        ("converter.type", "key"),
    ]);
    assert!(!c.schemas_enabled());
    assert_eq!(c.decimal_format(), DecimalFormat::Numeric);
    assert!(c.replace_null_with_default());
    // A zero-size cache still converts.
    let with_schema = conv(&[("schemas.cache.size", "0")]);
    let bytes = with_schema
        .from_connect("t", Some(&Schema::int8()), &Value::Int8(1))
        .unwrap();
    assert_eq!(
        with_schema.to_connect("t", bytes.as_deref()).unwrap().value,
        Value::Int8(1)
    );
}

#[test]
fn schema_json_api() {
    let c = conv(&[]);
    let schema = user_schema();
    let json = c.schema_to_json(&schema).unwrap();
    assert_eq!(c.schema_from_json(json.as_bytes()).unwrap(), Some(schema));
    assert_eq!(c.schema_from_json(b"null").unwrap(), None);
}

/// Truncated and corrupted inputs give errors, never panics.
#[test]
fn never_panics_on_garbage() {
    let schema = user_schema();
    let good = conv(&[])
        .from_connect("t", Some(&schema), &user(&schema, Value::from("x")))
        .unwrap()
        .unwrap();
    let converters = [conv(&[]), conv(&[("schemas.enable", "false")])];
    let mut seed: u32 = 12345;
    for c in &converters {
        for end in 0..good.len() {
            let _ = c.to_connect("t", Some(&good[..end]));
        }
        for _ in 0..3000 {
            let mut bytes = good.clone();
            for _ in 0..3 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let pos = (seed >> 8) as usize % bytes.len();
                let byte = (seed >> 16) as u8;
                bytes[pos] = byte;
            }
            let _ = c.to_connect("t", Some(&bytes));
        }
        let _ = c.to_connect("t", Some("[".repeat(10_000).as_bytes()));
        let _ = c.to_connect("t", Some("{\"a\":".repeat(10_000).as_bytes()));
    }
}
