use super::*;
use crate::test_support::*;
use sluice_connect_api::schema::Schema;

/// Fields (name, schema, value) and headers (name, schema, value) of a test
/// record, as Kafka Connect's HeaderFromTest builds them.
#[derive(Clone, Default)]
struct Spec {
    fields: Vec<(&'static str, SchemaRef, Value)>,
    headers: Vec<(&'static str, SchemaRef, Value)>,
}

impl Spec {
    fn field(mut self, name: &'static str, schema: SchemaRef, value: Value) -> Self {
        self.fields.push((name, schema, value));
        self
    }

    fn header(mut self, name: &'static str, schema: SchemaRef, value: Value) -> Self {
        self.headers.push((name, schema, value));
        self
    }

    fn record(&self, key: bool, with_schema: bool) -> sluice_connect_api::SourceRecord {
        let (schema, value) = if with_schema {
            let schema = self
                .fields
                .iter()
                .fold(SchemaBuilder::struct_(), |b, (n, s, _)| {
                    b.field(*n, s.clone())
                })
                .build();
            let mut s = Struct::new(schema.clone());
            for (n, _, v) in &self.fields {
                s.set(n, v.clone()).unwrap();
            }
            (Some(schema), Value::Struct(s))
        } else {
            (
                None,
                map_of(
                    &self
                        .fields
                        .iter()
                        .map(|(n, _, v)| (*n, v.clone()))
                        .collect::<Vec<_>>(),
                ),
            )
        };
        let mut r = if key {
            source(schema, value, None, Value::from("value"))
        } else {
            source(None, Value::from("key"), schema, value)
        };
        r.headers = self
            .headers
            .iter()
            .map(|(n, s, v)| Header {
                key: (*n).to_string(),
                schema: with_schema.then(|| s.clone()),
                value: v.clone(),
            })
            .collect();
        r
    }
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn with_default() -> SchemaRef {
    SchemaBuilder::string()
        .default_value(s("default"))
        .optional()
        .build()
}

fn cases() -> Vec<(
    &'static str,
    Spec,
    &'static str,
    &'static str,
    &'static str,
    bool,
    Spec,
)> {
    let st = Schema::string;
    let inner = SchemaBuilder::struct_()
        .field("foo", Schema::string())
        .build();
    let inner_value = Value::Struct(struct_of(&inner, &[("foo", s("foo-value"))]));
    let base = Spec::default()
        .field("field1", st(), s("field1-value"))
        .field("field2", st(), s("field2-value"));
    let with_struct = Spec::default()
        .field("field1", inner.clone(), inner_value.clone())
        .field("field2", st(), s("field2-value"))
        .header("header1", st(), s("existing-value"));
    let nulls = Spec::default()
        .field("field1", with_default(), s("field1-value"))
        .field("field2", with_default(), Value::Null)
        .header("header1", st(), s("existing-value"));
    vec![
        (
            "basic copy",
            base.clone().header("header1", st(), s("existing-value")),
            "field1",
            "inserted1",
            "copy",
            true,
            base.clone()
                .header("header1", st(), s("existing-value"))
                .header("inserted1", st(), s("field1-value")),
        ),
        (
            "basic move",
            base.clone().header("header1", st(), s("existing-value")),
            "field1",
            "inserted1",
            "move",
            true,
            Spec::default()
                .field("field2", st(), s("field2-value"))
                .header("header1", st(), s("existing-value"))
                .header("inserted1", st(), s("field1-value")),
        ),
        (
            "copy with preexisting header",
            base.clone().header("inserted1", st(), s("existing-value")),
            "field1",
            "inserted1",
            "copy",
            true,
            base.clone()
                .header("inserted1", st(), s("existing-value"))
                .header("inserted1", st(), s("field1-value")),
        ),
        (
            "copy with struct value",
            with_struct.clone(),
            "field1",
            "inserted1",
            "copy",
            true,
            with_struct
                .clone()
                .header("inserted1", inner.clone(), inner_value.clone()),
        ),
        (
            "move with struct value",
            with_struct,
            "field1",
            "inserted1",
            "move",
            true,
            Spec::default()
                .field("field2", st(), s("field2-value"))
                .header("header1", st(), s("existing-value"))
                .header("inserted1", inner, inner_value),
        ),
        (
            "two headers from same field",
            base.clone().header("header1", st(), s("existing-value")),
            "field1,field1",
            "inserted1,inserted2",
            "move",
            true,
            Spec::default()
                .field("field2", st(), s("field2-value"))
                .header("header1", st(), s("existing-value"))
                .header("inserted1", st(), s("field1-value"))
                .header("inserted2", st(), s("field1-value")),
        ),
        (
            "two fields to same header",
            base.clone().header("header1", st(), s("existing-value")),
            "field1,field2",
            "inserted1,inserted1",
            "move",
            true,
            Spec::default()
                .header("header1", st(), s("existing-value"))
                .header("inserted1", st(), s("field1-value"))
                .header("inserted1", st(), s("field2-value")),
        ),
        (
            "copy null field without default",
            nulls.clone(),
            "field1,field2",
            "inserted1,inserted2",
            "copy",
            false,
            nulls
                .clone()
                .header("inserted1", with_default(), s("field1-value"))
                .header("inserted2", with_default(), Value::Null),
        ),
        (
            "move null field without default",
            nulls,
            "field1,field2",
            "inserted1,inserted2",
            "move",
            false,
            Spec::default()
                .header("header1", st(), s("existing-value"))
                .header("inserted1", with_default(), s("field1-value"))
                .header("inserted2", with_default(), Value::Null),
        ),
    ]
}

#[test]
fn kafka_connect_cases() {
    for key in [true, false] {
        for with_schema in [true, false] {
            for (name, original, fields, headers, op, rnwd, expected) in cases() {
                let side = if key { Side::Key } else { Side::Value };
                let mut t = configured(
                    HeaderFrom::new(side),
                    &[
                        ("fields", fields),
                        ("headers", headers),
                        ("operation", op),
                        (
                            "replace.null.with.default",
                            if rnwd { "true" } else { "false" },
                        ),
                    ],
                );
                let got = apply(&mut t, original.record(key, with_schema));
                let want = expected.record(key, with_schema);
                let ctx = format!("{name} key={key} schema={with_schema}");
                assert_eq!(got.headers, want.headers, "{ctx}");
                assert_eq!(got.key_schema, want.key_schema, "{ctx}");
                assert_eq!(got.value_schema, want.value_schema, "{ctx}");
                assert_eq!(got.key, want.key, "{ctx}");
                assert_eq!(got.value, want.value, "{ctx}");
            }
        }
    }
}

#[test]
fn replace_null_with_default_in_headers() {
    let spec = Spec::default().field("f", with_default(), Value::Null);
    let mut t = configured(
        HeaderFrom::value(),
        &[("fields", "f"), ("headers", "h"), ("operation", "copy")],
    );
    let r = apply(&mut t, spec.record(false, true));
    assert_eq!(r.headers[0].value, s("default"));
}

#[test]
fn errors() {
    let mut t = configured(
        HeaderFrom::value(),
        &[("fields", "f"), ("headers", "h"), ("operation", "move")],
    );
    assert_eq!(
        apply_error(&mut t, source_value(None, Value::Null)),
        "Only Map objects supported in absence of schema for [header move], found: null"
    );
    let schema = SchemaBuilder::struct_()
        .field("g", Schema::string())
        .optional()
        .build();
    assert_eq!(
        apply_error(&mut t, source_value(Some(schema.clone()), Value::Null)),
        "Only Struct objects supported for [header move], found: null"
    );
    let v = Value::Struct(struct_of(&schema, &[("g", s("x"))]));
    assert_eq!(
        apply_error(&mut t, source_value(Some(schema), v)),
        "Field does not exist: f"
    );
}

#[test]
fn config_errors() {
    for (fields, headers) in [("foo", "foo,bar"), ("foo,bar", "foo")] {
        let (keys, msg) = config_error(
            HeaderFrom::value(),
            &[
                ("fields", fields),
                ("headers", headers),
                ("operation", "copy"),
            ],
        );
        assert_eq!(keys, ["headers"]);
        assert_eq!(
            msg,
            "'fields' config must have the same number of elements as 'headers' config."
        );
    }
    let (keys, _) = config_error(
        HeaderFrom::key(),
        &[("fields", ""), ("headers", ""), ("operation", "copy")],
    );
    assert_eq!(keys, ["fields", "headers"]);
    let (keys, msg) = config_error(
        HeaderFrom::key(),
        &[("fields", "a"), ("headers", "b"), ("operation", "Copy")],
    );
    assert_eq!(keys, ["operation"]);
    assert_eq!(
        msg,
        "Invalid value Copy for configuration operation: String must be one of: move, copy"
    );
}
