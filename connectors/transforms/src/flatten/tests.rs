use super::*;
use crate::test_support::*;

fn supported_types_schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .field("int8", Schema::int8())
        .field("int16", Schema::int16())
        .field("int32", Schema::int32())
        .field("int64", Schema::int64())
        .field("float32", Schema::float32())
        .field("float64", Schema::float64())
        .field("boolean", Schema::boolean())
        .field("string", Schema::string())
        .field("bytes", Schema::bytes())
        .build()
}

fn supported_values() -> Vec<(&'static str, Value)> {
    vec![
        ("int8", Value::Int8(8)),
        ("int16", Value::Int16(16)),
        ("int32", Value::Int32(32)),
        ("int64", Value::Int64(64)),
        ("float32", Value::Float32(32.0)),
        ("float64", Value::Float64(64.0)),
        ("boolean", Value::Boolean(true)),
        ("string", Value::from("stringy")),
        ("bytes", Value::Bytes(b"bytes".to_vec())),
    ]
}

#[test]
fn top_level_struct_or_map_required() {
    let mut t = configured(Flatten::value(), &[]);
    assert_eq!(
        apply_error(
            &mut t,
            source_value(Some(Schema::int32()), Value::Int32(42))
        ),
        "Only Struct objects supported for [flattening], found: java.lang.Integer"
    );
    assert_eq!(
        apply_error(&mut t, source_value(None, Value::Int32(42))),
        "Only Map objects supported in absence of schema for [flattening], found: java.lang.Integer"
    );
}

#[test]
fn nested_struct() {
    let mut t = configured(Flatten::value(), &[]);
    let inner = supported_types_schema();
    let one = SchemaBuilder::struct_().field("B", inner.clone()).build();
    let two = SchemaBuilder::struct_().field("A", one.clone()).build();
    let inner_v = struct_of(&inner, &supported_values());
    let one_v = struct_of(&one, &[("B", Value::Struct(inner_v))]);
    let two_v = struct_of(&two, &[("A", Value::Struct(one_v))]);
    let r = apply(&mut t, source_value(Some(two), Value::Struct(two_v)));
    let s = as_struct(&r.value);
    assert_eq!(s.schema().fields.len(), 9);
    for (name, v) in supported_values() {
        assert_eq!(s.get(&format!("A.B.{name}")), Some(&v));
    }
    s.validate().unwrap();
}

#[test]
fn nested_map_with_delimiter() {
    let mut t = configured(Flatten::value(), &[("delimiter", "#")]);
    let inner = map_of(&supported_values());
    let v = map_of(&[("A", map_of(&[("B", inner)]))]);
    let r = apply(&mut t, source_value(None, v));
    let expected: Vec<(String, Value)> = supported_values()
        .into_iter()
        .map(|(k, v)| (format!("A#B#{k}"), v))
        .collect();
    assert_eq!(r.value, map::from_pairs(expected));
}

#[test]
fn optional_fields_and_structs() {
    let mut t = configured(Flatten::value(), &[]);
    // A null optional field.
    let inner = SchemaBuilder::struct_()
        .field("opt_int32", Schema::optional_int32())
        .build();
    let one = SchemaBuilder::struct_().field("B", inner.clone()).build();
    let v = struct_of(&one, &[("B", Value::Struct(struct_of(&inner, &[])))]);
    let r = apply(&mut t, source_value(Some(one), Value::Struct(v)));
    assert_eq!(as_struct(&r.value).get("B.opt_int32"), Some(&Value::Null));

    // A null optional struct: passes through with its schema.
    let opt = SchemaBuilder::struct_()
        .optional()
        .field("opt_int32", Schema::optional_int32())
        .build();
    let r = apply(&mut t, source_value(Some(opt.clone()), Value::Null));
    assert_eq!((r.value_schema, r.value), (Some(opt.clone()), Value::Null));

    // A null optional nested struct.
    let one = SchemaBuilder::struct_().field("B", opt).build();
    let r = apply(
        &mut t,
        source_value(Some(one.clone()), Value::Struct(struct_of(&one, &[]))),
    );
    assert_eq!(as_struct(&r.value).get("B.opt_int32"), Some(&Value::Null));
    as_struct(&r.value).validate().unwrap();
}

#[test]
fn optional_map_field_and_key() {
    let mut t = configured(Flatten::value(), &[]);
    let v = map_of(&[("B", map_of(&[("opt_int32", Value::Null)]))]);
    let r = apply(&mut t, source_value(None, v));
    assert_eq!(r.value, map_of(&[("B.opt_int32", Value::Null)]));

    let mut t = configured(Flatten::key(), &[]);
    let key = map_of(&[("A", map_of(&[("B", Value::Int32(12))]))]);
    let r = apply(&mut t, source(None, key, None, Value::Null));
    assert_eq!(r.key, map_of(&[("A.B", Value::Int32(12))]));
}

#[test]
fn arrays_untouched() {
    let mut t = configured(Flatten::value(), &[]);
    let v = map_of(&[(
        "foo",
        Value::Array(vec![
            Value::from("bar"),
            map_of(&[("baz", map_of(&[("lfg", Value::from("lfg"))]))]),
        ]),
    )]);
    assert_eq!(apply(&mut t, source_value(None, v.clone())).value, v);

    let nested = SchemaBuilder::struct_()
        .field("lfg", Schema::string())
        .build();
    let inner = SchemaBuilder::struct_()
        .field("baz", nested.clone())
        .build();
    let schema = SchemaBuilder::struct_()
        .field(
            "foo",
            SchemaBuilder::array(inner.clone()).doc("durk").build(),
        )
        .build();
    let inner_v = struct_of(
        &inner,
        &[(
            "baz",
            Value::Struct(struct_of(&nested, &[("lfg", Value::from("lfg"))])),
        )],
    );
    let value = struct_of(
        &schema,
        &[("foo", Value::Array(vec![Value::Struct(inner_v)]))],
    );
    let r = apply(
        &mut t,
        source_value(Some(schema.clone()), Value::Struct(value.clone())),
    );
    assert_eq!(r.value_schema.as_deref(), Some(&*schema));
    assert_eq!(as_struct(&r.value).values(), value.values());
}

#[test]
fn optional_and_default_values_nested() {
    let mut t = configured(Flatten::value(), &[]);
    let plain = SchemaBuilder::struct_()
        .optional()
        .field("req_field", Schema::string())
        .field(
            "opt_field",
            SchemaBuilder::string()
                .optional()
                .default_value(Value::from("child_default"))
                .build(),
        )
        .build();
    let child_default = struct_of(&plain, &[("req_field", Value::from("req_default"))]);
    let schema = SchemaBuilder::struct_()
        .optional()
        .field("req_field", Schema::string())
        .field(
            "opt_field",
            SchemaBuilder::string()
                .optional()
                .default_value(Value::from("child_default"))
                .build(),
        )
        .default_value(Value::Struct(child_default))
        .build();
    let r = apply(
        &mut t,
        source_value(Some(schema.clone()), Value::Struct(Struct::new(schema))),
    );
    let out = r.value_schema.unwrap();
    assert_eq!(out.fields.len(), 2);
    assert_eq!(
        *out.field("req_field").unwrap().schema,
        *SchemaBuilder::string()
            .optional()
            .default_value(Value::from("req_default"))
            .build()
    );
    assert_eq!(
        *out.field("opt_field").unwrap().schema,
        *SchemaBuilder::string()
            .optional()
            .default_value(Value::from("child_default"))
            .build()
    );
}

#[test]
fn tombstones_pass() {
    let mut t = configured(Flatten::value(), &[]);
    let r = apply(&mut t, source_value(None, Value::Null));
    assert_eq!((r.value_schema, r.value), (None, Value::Null));
    let schema = SchemaBuilder::struct_()
        .name("name")
        .version(1)
        .doc("doc")
        .field("magic", Schema::optional_int64())
        .build();
    let r = apply(&mut t, source_value(Some(schema.clone()), Value::Null));
    assert_eq!((r.value_schema, r.value), (Some(schema), Value::Null));
}

#[test]
fn nulls_keep_order() {
    let mut t = configured(Flatten::value(), &[]);
    let v = map_of(&[
        ("firstNull", Value::Null),
        ("firstNonNull", Value::from("nonNull")),
        ("secondNull", Value::Null),
        ("secondNonNull", Value::from("alsoNonNull")),
        ("thirdNonNull", Value::Null),
    ]);
    assert_eq!(apply(&mut t, source_value(None, v.clone())).value, v);
    let schema = SchemaBuilder::struct_()
        .field("firstNull", Schema::optional_string())
        .field("firstNonNull", Schema::optional_string())
        .field("secondNull", Schema::optional_string())
        .build();
    let value = struct_of(&schema, &[("firstNonNull", Value::from("nonNull"))]);
    let r = apply(
        &mut t,
        source_value(Some(schema.clone()), Value::Struct(value.clone())),
    );
    assert_eq!(as_struct(&r.value).values(), value.values());
    assert_eq!(r.value_schema.as_deref(), Some(&*schema));
}

#[test]
fn unsupported_types() {
    let mut t = configured(Flatten::value(), &[]);
    let schema = SchemaBuilder::struct_()
        .field(
            "m",
            SchemaBuilder::map(Schema::string(), Schema::string()).build(),
        )
        .build();
    assert_eq!(
        apply_error(
            &mut t,
            source_value(
                Some(schema.clone()),
                Value::Struct(struct_of(&schema, &[("m", map_of(&[]))]))
            )
        ),
        "Flatten transformation does not support MAP for record with schemas (for field m)."
    );
    let inner = SchemaBuilder::struct_().field("x", Schema::int32()).build();
    let v = map_of(&[(
        "s",
        Value::Struct(struct_of(&inner, &[("x", Value::Int32(1))])),
    )]);
    assert_eq!(
        apply_error(&mut t, source_value(None, v)),
        "Flatten transformation does not support class org.apache.kafka.connect.data.Struct for record without schemas (for field s)."
    );
}

#[test]
fn name_clash_fails() {
    let mut t = configured(Flatten::value(), &[]);
    let inner = SchemaBuilder::struct_().field("b", Schema::int32()).build();
    let schema = SchemaBuilder::struct_()
        .field("a", inner.clone())
        .field("a.b", Schema::int32())
        .build();
    let v = struct_of(
        &schema,
        &[
            (
                "a",
                Value::Struct(struct_of(&inner, &[("b", Value::Int32(1))])),
            ),
            ("a.b", Value::Int32(2)),
        ],
    );
    assert_eq!(
        apply_error(&mut t, source_value(Some(schema), Value::Struct(v))),
        "Cannot create field because of field name duplication a.b"
    );
}

/// Kafka Connect's schemaless result: every leaf `put` in turn into an
/// empty map (a later name replaces the value of an earlier equal one, in
/// its place). The reference for the one-pass version.
fn put_each_flattened(prefix: &str, entries: &[(Value, Value)], out: &mut map::Entries) {
    for (k, v) in entries {
        let Value::String(k) = k else {
            panic!("string keys only")
        };
        let name = field_name(".", prefix, k);
        match v {
            Value::Map(nested) => put_each_flattened(&name, nested, out),
            other => map::put(out, &name, other.clone()),
        }
    }
}

#[test]
fn schemaless_large_map_with_clashing_names() {
    let mut t = configured(Flatten::value(), &[]);
    let nested = |n: i64| map::from_pairs((0..n).map(|j| (format!("m{j}"), Value::Int64(j))));
    let mut pairs: Vec<(String, Value)> = vec![("a.b".to_string(), Value::Int32(1))];
    pairs.extend((0..1_000).map(|i| (format!("k{i}"), Value::Int32(i))));
    pairs.push(("n".to_string(), nested(1_000)));
    // Clashes: `a` holding `b` after `a.b`; `n.m7` after `n` holding `m7`;
    // a deeper `x` -> `y` -> `z` after `x.y.z`.
    pairs.push(("a".to_string(), map_of(&[("b", Value::Int32(2))])));
    pairs.push(("n.m7".to_string(), Value::Int32(99)));
    pairs.push(("x.y.z".to_string(), Value::Int32(3)));
    pairs.push((
        "x".to_string(),
        map_of(&[
            ("y.z", Value::Int32(4)),
            ("y", map_of(&[("z", Value::Int32(5))])),
        ]),
    ));
    let input = map::from_pairs(pairs);
    let Value::Map(input_entries) = &input else {
        unreachable!()
    };
    let mut expected = Vec::new();
    put_each_flattened("", input_entries, &mut expected);
    let r = apply(&mut t, source_value(None, input));
    assert_eq!(r.value, Value::Map(expected));
    let Value::Map(entries) = &r.value else {
        panic!("not a map")
    };
    // 1 + 1,000 + 1,000 + x.y.z; the clashing ones merged.
    assert_eq!(entries.len(), 2_002);
    assert_eq!(entries[0], (Value::from("a.b"), Value::Int32(2)));
    assert_eq!(entries[1_001 + 7], (Value::from("n.m7"), Value::Int32(99)));
    assert_eq!(entries[2_001], (Value::from("x.y.z"), Value::Int32(5)));
}

#[test]
fn schemaless_large_flat_map_unchanged() {
    let mut t = configured(Flatten::value(), &[]);
    let input = map::from_pairs((0..2_000).map(|i| (format!("k.{i}"), Value::Int32(i))));
    let r = apply(&mut t, source_value(None, input.clone()));
    assert_eq!(r.value, input);
}
