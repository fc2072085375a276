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

/// Kafka Connect's schemaless result: each kept entry `put` in turn into an
/// empty map (a later name replaces the value of an earlier equal one, in
/// its place). The reference for the one-pass version.
fn put_each(pairs: impl IntoIterator<Item = (String, Value)>) -> Value {
    let mut out = Vec::new();
    for (k, v) in pairs {
        map::put(&mut out, &k, v);
    }
    Value::Map(out)
}

fn large_map(n: i32) -> Vec<(String, Value)> {
    (0..n).map(|i| (format!("k{i}"), Value::Int32(i))).collect()
}

#[test]
fn schemaless_large_map_with_colliding_renames() {
    let mut t = configured(
        ReplaceField::value(),
        &[
            ("exclude", "k5,k6"),
            (
                "renames",
                "k1:k1500,k1999:k3,k10:new,k20:same,k30:same,k5:gone",
            ),
        ],
    );
    let input = large_map(2_000);
    let renamed = |k: &str| match k {
        "k1" => "k1500".to_string(),
        "k1999" => "k3".to_string(),
        "k10" => "new".to_string(),
        "k20" | "k30" => "same".to_string(),
        other => other.to_string(),
    };
    let expected = put_each(
        input
            .iter()
            .filter(|(k, _)| k != "k5" && k != "k6")
            .map(|(k, v)| (renamed(k), v.clone())),
    );
    let r = apply(
        &mut t,
        sink(None, Value::Null, None, map::from_pairs(input)),
    );
    assert_eq!(r.value, expected);
    let Value::Map(entries) = &r.value else {
        panic!("not a map")
    };
    // 2,000 - 2 excluded - 3 merged (k1500, k3, same).
    assert_eq!(entries.len(), 1_995);
    assert_eq!(entries[1], (Value::from("k1500"), Value::Int32(1500)));
    assert_eq!(entries[3], (Value::from("k3"), Value::Int32(1999)));
    assert_eq!(map::get(entries, "new"), Some(&Value::Int32(10)));
    assert_eq!(map::get(entries, "same"), Some(&Value::Int32(30)));
    assert_eq!(
        entries.iter().position(|(k, _)| k == &Value::from("same")),
        Some(18),
        "in k20's place (k5 and k6 are gone)"
    );
    assert_eq!(
        entries.last(),
        Some(&(Value::from("k1998"), Value::Int32(1998)))
    );
}

#[test]
fn schemaless_large_map_without_renames() {
    let mut t = configured(ReplaceField::value(), &[("exclude", "k0,k1999,k1000")]);
    let input = large_map(2_000);
    let expected: Vec<(String, Value)> = input
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "k0" | "k1999" | "k1000"))
        .cloned()
        .collect();
    let r = apply(
        &mut t,
        sink(None, Value::Null, None, map::from_pairs(input)),
    );
    assert_eq!(r.value, map::from_pairs(expected));
}
