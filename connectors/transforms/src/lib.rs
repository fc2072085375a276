//! Kafka Connect's built-in single message transforms and predicates, with
//! the same class names, config keys and results, so the `transforms.*` and
//! `predicates.*` sections of a Kafka Connect connector config run
//! unchanged.
//!
//! Transforms (`org.apache.kafka.connect.transforms.*`, with `$Key` and
//! `$Value` variants where Kafka Connect has them): [`Cast`],
//! [`DropHeaders`], [`ExtractField`], [`Filter`], [`Flatten`],
//! [`HeaderFrom`], [`HoistField`], [`InsertField`], [`InsertHeader`],
//! [`MaskField`], [`RegexRouter`], [`ReplaceField`], [`SetSchemaMetadata`],
//! [`TimestampConverter`], [`TimestampRouter`], [`ValueToKey`].
//! Predicates (`org.apache.kafka.connect.transforms.predicates.*`):
//! [`TopicNameMatches`], [`HasHeaderKey`], [`RecordIsTombstone`].
//!
//! Records with schemas carry Structs, schemaless ones Maps with string
//! keys, as in Kafka Connect. Logical types are in their physical form
//! (see `sluice_schema::logical`): where Kafka Connect hands out a
//! `java.util.Date` or `BigDecimal`, the value here is the Date's days, the
//! Time's or Timestamp's milliseconds, or the Decimal's bytes.
//!
//! Output schemas are derived once per input schema and cached (16 per
//! transform, like Kafka Connect); values are moved, not copied.
//!
//! ```
//! use sluice_connect_api::{Config, SourceRecord, Transformation};
//! use sluice_connect_api::schema::{Schema, SchemaBuilder, Struct, Value};
//! use sluice_transforms::InsertField;
//!
//! let mut insert = InsertField::value();
//! let config: Config = [("static.field", "origin"), ("static.value", "eu-1")]
//!     .into_iter()
//!     .map(|(k, v)| (k.to_string(), v.to_string()))
//!     .collect();
//! insert.configure(&config).unwrap();
//!
//! let schema = SchemaBuilder::struct_().field("id", Schema::int64()).build();
//! let value = Struct::new(schema.clone()).put("id", Value::Int64(7)).unwrap();
//! let mut record = SourceRecord::new(
//!     Default::default(), Default::default(), "orders", Some(schema), Value::Struct(value),
//! );
//! assert!(insert.apply(&mut record).unwrap());
//! let Value::Struct(s) = &record.value else { unreachable!() };
//! assert_eq!(s.get("origin"), Some(&Value::from("eu-1")));
//! ```

mod cast;
mod drop_headers;
mod extract_field;
mod filter;
mod flatten;
mod header_from;
mod hoist_field;
mod insert_field;
mod insert_header;
mod mask_field;
mod predicates;
mod regex_router;
mod replace_field;
mod set_schema_metadata;
pub mod simple_date_format;
mod timestamp_converter;
mod timestamp_router;
mod util;
mod value_to_key;

#[cfg(test)]
mod test_support;

use sluice_connect_api::{PredicatePlugin, Registry, TransformPlugin};

pub use cast::Cast;
pub use drop_headers::DropHeaders;
pub use extract_field::ExtractField;
pub use filter::Filter;
pub use flatten::Flatten;
pub use header_from::HeaderFrom;
pub use hoist_field::HoistField;
pub use insert_field::InsertField;
pub use insert_header::InsertHeader;
pub use mask_field::MaskField;
pub use predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
pub use regex_router::RegexRouter;
pub use replace_field::ReplaceField;
pub use set_schema_metadata::SetSchemaMetadata;
pub use timestamp_converter::TimestampConverter;
pub use timestamp_router::TimestampRouter;
pub use util::Side;
pub use value_to_key::ValueToKey;

const VERSION: &str = env!("CARGO_PKG_VERSION");

const fn transform(
    class_name: &'static str,
    new: fn() -> Box<dyn sluice_connect_api::Transformation>,
) -> TransformPlugin {
    TransformPlugin {
        class_name,
        aliases: &[],
        version: VERSION,
        new,
    }
}

/// Every transform, by Kafka Connect class name. Simple names
/// (`InsertField$Value`, `Filter`) are matched by the registry.
pub const TRANSFORMS: &[TransformPlugin] = &[
    transform("org.apache.kafka.connect.transforms.Cast$Key", || {
        Box::new(Cast::key())
    }),
    transform("org.apache.kafka.connect.transforms.Cast$Value", || {
        Box::new(Cast::value())
    }),
    transform("org.apache.kafka.connect.transforms.DropHeaders", || {
        Box::new(DropHeaders::default())
    }),
    transform(
        "org.apache.kafka.connect.transforms.ExtractField$Key",
        || Box::new(ExtractField::key()),
    ),
    transform(
        "org.apache.kafka.connect.transforms.ExtractField$Value",
        || Box::new(ExtractField::value()),
    ),
    transform("org.apache.kafka.connect.transforms.Filter", || {
        Box::new(Filter)
    }),
    transform("org.apache.kafka.connect.transforms.Flatten$Key", || {
        Box::new(Flatten::key())
    }),
    transform("org.apache.kafka.connect.transforms.Flatten$Value", || {
        Box::new(Flatten::value())
    }),
    transform("org.apache.kafka.connect.transforms.HeaderFrom$Key", || {
        Box::new(HeaderFrom::key())
    }),
    transform(
        "org.apache.kafka.connect.transforms.HeaderFrom$Value",
        || Box::new(HeaderFrom::value()),
    ),
    transform("org.apache.kafka.connect.transforms.HoistField$Key", || {
        Box::new(HoistField::key())
    }),
    transform(
        "org.apache.kafka.connect.transforms.HoistField$Value",
        || Box::new(HoistField::value()),
    ),
    transform(
        "org.apache.kafka.connect.transforms.InsertField$Key",
        || Box::new(InsertField::key()),
    ),
    transform(
        "org.apache.kafka.connect.transforms.InsertField$Value",
        || Box::new(InsertField::value()),
    ),
    transform("org.apache.kafka.connect.transforms.InsertHeader", || {
        Box::new(InsertHeader::default())
    }),
    transform("org.apache.kafka.connect.transforms.MaskField$Key", || {
        Box::new(MaskField::key())
    }),
    transform(
        "org.apache.kafka.connect.transforms.MaskField$Value",
        || Box::new(MaskField::value()),
    ),
    transform("org.apache.kafka.connect.transforms.RegexRouter", || {
        Box::new(RegexRouter::default())
    }),
    transform(
        "org.apache.kafka.connect.transforms.ReplaceField$Key",
        || Box::new(ReplaceField::key()),
    ),
    transform(
        "org.apache.kafka.connect.transforms.ReplaceField$Value",
        || Box::new(ReplaceField::value()),
    ),
    transform(
        "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key",
        || Box::new(SetSchemaMetadata::key()),
    ),
    transform(
        "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
        || Box::new(SetSchemaMetadata::value()),
    ),
    transform(
        "org.apache.kafka.connect.transforms.TimestampConverter$Key",
        || Box::new(TimestampConverter::key()),
    ),
    transform(
        "org.apache.kafka.connect.transforms.TimestampConverter$Value",
        || Box::new(TimestampConverter::value()),
    ),
    transform(
        "org.apache.kafka.connect.transforms.TimestampRouter",
        || Box::new(TimestampRouter::default()),
    ),
    transform("org.apache.kafka.connect.transforms.ValueToKey", || {
        Box::new(ValueToKey::default())
    }),
];

/// Every predicate.
pub const PREDICATES: &[PredicatePlugin] = &[
    PredicatePlugin {
        class_name: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        aliases: &[],
        version: VERSION,
        new: || Box::new(TopicNameMatches::default()),
    },
    PredicatePlugin {
        class_name: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
        aliases: &[],
        version: VERSION,
        new: || Box::new(HasHeaderKey::default()),
    },
    PredicatePlugin {
        class_name: "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        aliases: &[],
        version: VERSION,
        new: || Box::new(RecordIsTombstone),
    },
];

/// Registers every transform and predicate.
pub fn register(registry: &mut Registry) {
    for p in TRANSFORMS {
        registry.register_transform(*p);
    }
    for p in PREDICATES {
        registry.register_predicate(*p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_finds_class_and_simple_names() {
        let mut r = Registry::new();
        register(&mut r);
        assert_eq!(r.transforms().len(), 26);
        for name in [
            "org.apache.kafka.connect.transforms.InsertField$Value",
            "InsertField$Value",
        ] {
            assert_eq!(
                r.transform(name).map(|p| p.class_name),
                Some("org.apache.kafka.connect.transforms.InsertField$Value")
            );
        }
        assert_eq!(
            r.transform("Filter").map(|p| p.class_name),
            Some("org.apache.kafka.connect.transforms.Filter")
        );
        assert!(r.transform("InsertField").is_none());
        assert_eq!(
            r.predicate("TopicNameMatches").map(|p| p.class_name),
            Some("org.apache.kafka.connect.transforms.predicates.TopicNameMatches")
        );
        for p in TRANSFORMS {
            assert!(
                p.class_name
                    .starts_with("org.apache.kafka.connect.transforms.")
            );
            let mut t = (p.new)();
            // Every config definition parses its own defaults where it has
            // no required key.
            let _ = t.config_def();
            let _ = t.configure(&Default::default());
        }
    }
}
