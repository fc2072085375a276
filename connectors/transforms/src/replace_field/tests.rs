use super::*;
use crate::test_support::*;
use sluice_connect_api::schema::Schema;

fn schema() -> SchemaRef {
    SchemaBuilder::struct_()
        .name("n")
        .version(3)
        .doc("d")
        .field("dont", Schema::string())
        .field("abc", Schema::int32())
        .field("foo", Schema::boolean())
        .field("etc", Schema::string())
        .build()
}

fn value() -> Value {
    Value::Struct(struct_of(
        &schema(),
        &[
            ("dont", Value::from("whatever")),
            ("abc", Value::Int32(42)),
            ("foo", Value::Boolean(true)),
            ("etc", Value::from("etc")),
        ],
    ))
}

#[test]
fn tombstones_pass() {
    let mut t = configured(
        ReplaceField::value(),
        &[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")],
    );
    let r = apply(&mut t, sink(None, Value::Null, None, Value::Null));
    assert_eq!((r.value_schema, r.value), (None, Value::Null));
    let r = apply(&mut t, sink(None, Value::Null, Some(schema()), Value::Null));
    assert_eq!((r.value_schema, r.value), (Some(schema()), Value::Null));
}

#[test]
fn schemaless() {
    let mut t = configured(
        ReplaceField::value(),
        &[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")],
    );
    let v = map_of(&[
        ("dont", Value::from("whatever")),
        ("abc", Value::Int32(42)),
        ("foo", Value::Boolean(true)),
        ("etc", Value::from("etc")),
    ]);
    let r = apply(&mut t, sink(None, Value::Null, None, v));
    assert_eq!(
        r.value,
        map_of(&[
            ("xyz", Value::Int32(42)),
            ("bar", Value::Boolean(true)),
            ("etc", Value::from("etc"))
        ])
    );
}

#[test]
fn with_schema() {
    let mut t = configured(
        ReplaceField::value(),
        &[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")],
    );
    let r = apply(&mut t, sink(None, Value::Null, Some(schema()), value()));
    let s = as_struct(&r.value);
    assert_eq!(s.schema().fields.len(), 2);
    assert_eq!(s.get("xyz"), Some(&Value::Int32(42)));
    assert_eq!(s.get("bar"), Some(&Value::Boolean(true)));
    s.validate().unwrap();
    let out = r.value_schema.unwrap();
    assert_eq!(
        (out.name.as_deref(), out.version, out.doc.as_deref()),
        (Some("n"), Some(3), Some("d"))
    );
    assert!(std::sync::Arc::ptr_eq(s.schema(), &out));
}

#[test]
fn exclude_wins_and_order_kept() {
    let mut t = configured(
        ReplaceField::value(),
        &[
            ("include", "etc,abc,dont"),
            ("exclude", "dont"),
            ("renames", "etc:zz"),
        ],
    );
    let r = apply(&mut t, sink(None, Value::Null, Some(schema()), value()));
    let s = as_struct(&r.value);
    let names: Vec<_> = s.schema().fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["abc", "zz"]);
    assert_eq!(s.values(), [Value::Int32(42), Value::from("etc")]);
}

#[test]
fn deprecated_aliases() {
    let mut t = configured(
        ReplaceField::key(),
        &[("blacklist", "dont,etc"), ("whitelist", "")],
    );
    let r = apply(&mut t, sink(Some(schema()), value(), None, Value::Null));
    let names: Vec<_> = as_struct(&r.key)
        .schema()
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    assert_eq!(names, ["abc", "foo"]);
    // The new key wins.
    let mut t = configured(
        ReplaceField::key(),
        &[("blacklist", "dont"), ("exclude", "etc")],
    );
    let r = apply(&mut t, sink(Some(schema()), value(), None, Value::Null));
    assert_eq!(as_struct(&r.key).schema().fields.len(), 3);
    assert!(as_struct(&r.key).schema().field("dont").is_some());
}

#[test]
fn rename_collision_is_an_error() {
    let mut t = configured(ReplaceField::value(), &[("renames", "abc:foo")]);
    let msg = apply_error(&mut t, sink(None, Value::Null, Some(schema()), value()));
    assert_eq!(
        msg,
        "Cannot create field because of field name duplication foo"
    );
}

#[test]
fn replace_null_with_default() {
    let schema = SchemaBuilder::struct_()
        .field(
            "abc",
            SchemaBuilder::int32()
                .optional()
                .default_value(Value::Int32(42))
                .build(),
        )
        .build();
    for side in [Side::Key, Side::Value] {
        for (flag, expected) in [("false", Value::Null), ("true", Value::Int32(42))] {
            let mut t = configured(
                ReplaceField::new(side),
                &[
                    ("include", "abc"),
                    ("renames", "abc:optional_with_default"),
                    ("replace.null.with.default", flag),
                ],
            );
            let v = Value::Struct(struct_of(&schema, &[]));
            let r = match side {
                Side::Key => apply(&mut t, sink(Some(schema.clone()), v, None, Value::Null)).key,
                Side::Value => {
                    apply(&mut t, sink(None, Value::Null, Some(schema.clone()), v)).value
                }
            };
            assert_eq!(as_struct(&r).get("optional_with_default"), Some(&expected));
        }
    }
}

#[test]
fn wrong_types() {
    let mut t = configured(ReplaceField::value(), &[("exclude", "a")]);
    assert_eq!(
        apply_error(&mut t, sink(None, Value::Null, None, Value::Int32(1))),
        "Only Map objects supported in absence of schema for [field replacement], found: java.lang.Integer"
    );
    assert_eq!(
        apply_error(
            &mut t,
            sink(None, Value::Null, Some(Schema::int32()), Value::Int32(1))
        ),
        "Only Struct objects supported for [field replacement], found: java.lang.Integer"
    );
}

#[test]
fn bad_renames() {
    for bad in ["a:b:c", "a", "a:"] {
        let (keys, msg) = config_error(ReplaceField::value(), &[("renames", bad)]);
        assert_eq!(keys, ["renames"]);
        assert_eq!(
            msg,
            format!("Invalid value {bad} for configuration renames: Invalid rename mapping: {bad}")
        );
    }
    configured(ReplaceField::value(), &[("renames", ":b")]);
}
