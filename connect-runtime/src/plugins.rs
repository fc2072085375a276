//! The plugins compiled into this worker binary. A connector author's
//! worker starts from [`registry`] and adds its own connectors before
//! calling [`crate::main_with`].

use sluice_connect_api::{ConverterPlugin, Registry};
use sluice_schema::converter::{AvroConverter, ByteArrayConverter, JsonConverter, StringConverter};

/// Built-in converters and transforms plus every connector crate enabled
/// by features.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    register_converters(&mut r);
    sluice_transforms::register(&mut r);
    // Stateful: it needs the worker's store, so the runtime provides it.
    r.register_transform(crate::dedupe::PLUGIN);
    #[cfg(feature = "file")]
    sluice_connector_file::register(&mut r);
    #[cfg(feature = "datagen")]
    sluice_connector_datagen::register(&mut r);
    #[cfg(feature = "jdbc")]
    sluice_connector_jdbc::register(&mut r);
    #[cfg(feature = "cdc")]
    sluice_connector_cdc::register(&mut r);
    #[cfg(any(feature = "mqtt", feature = "amqp", feature = "nats"))]
    sluice_connector_messaging::register(&mut r);
    r
}

/// Kafka Connect's built-in converters and Confluent's `AvroConverter`.
/// The runtime registers them: connector crates never depend on them.
pub fn register_converters(r: &mut Registry) {
    r.register_converter(ConverterPlugin {
        class_name: StringConverter::CLASS_NAME,
        aliases: StringConverter::ALIASES,
        factory: |c| Ok(Box::new(StringConverter::new(c)?)),
    });
    r.register_converter(ConverterPlugin {
        class_name: ByteArrayConverter::CLASS_NAME,
        aliases: ByteArrayConverter::ALIASES,
        factory: |c| Ok(Box::new(ByteArrayConverter::new(c)?)),
    });
    r.register_converter(ConverterPlugin {
        class_name: JsonConverter::CLASS_NAME,
        aliases: JsonConverter::ALIASES,
        factory: |c| Ok(Box::new(JsonConverter::new(c)?)),
    });
    r.register_converter(ConverterPlugin {
        class_name: AvroConverter::CLASS_NAME,
        aliases: AvroConverter::ALIASES,
        factory: |c| Ok(Box::new(AvroConverter::new(c)?)),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converter_names() {
        let r = registry();
        for name in [
            "org.apache.kafka.connect.json.JsonConverter",
            "JsonConverter",
            "Json",
        ] {
            assert_eq!(
                r.converter(name).map(|p| p.class_name),
                Some(JsonConverter::CLASS_NAME),
                "{name}"
            );
        }
        assert!(
            r.converter("org.apache.kafka.connect.storage.StringConverter")
                .is_some()
        );
        assert!(
            r.converter("org.apache.kafka.connect.converters.ByteArrayConverter")
                .is_some()
        );
        assert!(
            r.converter("io.confluent.connect.avro.AvroConverter")
                .is_some()
        );
        assert!(r.converter("Converter").is_none());
        assert!(r.converter("com.example.Nope").is_none());
    }
}
