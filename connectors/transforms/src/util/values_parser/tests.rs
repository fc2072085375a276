use super::*;

fn parsed(text: &str) -> Option<Parsed> {
    parse_string(text)
}

fn is(text: &str, schema: &SchemaRef, value: Value) {
    assert_eq!(parsed(text), Some((Some(schema.clone()), value)), "{text}");
}

#[test]
fn scalars() {
    assert_eq!(parsed("null"), None);
    is("true", &Schema::boolean(), Value::Boolean(true));
    is("false", &Schema::boolean(), Value::Boolean(false));
    is("1", &Schema::int8(), Value::Int8(1));
    is("-129", &Schema::int16(), Value::Int16(-129));
    is("70000", &Schema::int32(), Value::Int32(70_000));
    is("3000000000", &Schema::int64(), Value::Int64(3_000_000_000));
    is("1.0", &Schema::int8(), Value::Int8(1));
    is("2.5", &Schema::float32(), Value::Float32(2.5));
    is(
        "inserted-value",
        &Schema::string(),
        Value::from("inserted-value"),
    );
    is("", &Schema::string(), Value::from(""));
    is("  ", &Schema::string(), Value::from("  "));
    is("true}", &Schema::string(), Value::from("true}"));
    is(
        "hello, world",
        &Schema::string(),
        Value::from("hello, world"),
    );
    is(
        "99999999999999999999",
        &logical::decimal_schema(0).build(),
        Decimal::new(99_999_999_999_999_999_999, 0).to_value(),
    );
}

#[test]
fn temporal() {
    is(
        "2017-01-03",
        &logical::date_schema().build(),
        Value::Int32(17_169),
    );
    is(
        "01:02:03.004Z",
        &logical::time_schema().build(),
        Value::Int32(3_723_004),
    );
    is(
        "2017-01-03T06:30:01.864Z",
        &logical::timestamp_schema().build(),
        Value::Int64(1_483_425_001_864),
    );
}

#[test]
fn arrays_and_maps() {
    is(
        "[1, 2, 300]",
        &SchemaBuilder::array(Schema::int16()).build(),
        Value::Array(vec![Value::Int16(1), Value::Int16(2), Value::Int16(300)]),
    );
    is(
        "[1, 2.5]",
        &SchemaBuilder::array(Schema::float32()).build(),
        Value::Array(vec![Value::Float32(1.0), Value::Float32(2.5)]),
    );
    is(
        "[\"a\", \"b\"]",
        &SchemaBuilder::array(Schema::string()).build(),
        Value::Array(vec![Value::from("a"), Value::from("b")]),
    );
    is(
        "{\"a\": 1, \"b\": 2}",
        &SchemaBuilder::map(Schema::string(), Schema::int8()).build(),
        Value::Map(vec![
            (Value::from("a"), Value::Int8(1)),
            (Value::from("b"), Value::Int8(2)),
        ]),
    );
    assert_eq!(parsed("[]"), Some((None, Value::Array(vec![]))));
    // Not an array after all: the string.
    is("[1, 2", &Schema::string(), Value::from("[1, 2"));
    is("[1,, 2]", &Schema::string(), Value::from("[1,, 2]"));
    is("[1, null]", &Schema::string(), Value::from("[1, null]"));
}
