//! `sasl.jaas.config` values (Kafka client settings a REST caller may
//! send in a client override): parsed and translated into librdkafka's
//! keys without a panic; a password never lands under another key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::kafka::java_keys::{parse_jaas, translate};

fuzz_target!(|text: &str| {
    let _ = parse_jaas(text);
    let none = |_: &str| None;
    for (k, _) in translate("sasl.jaas.config", text, &none) {
        assert!(k.starts_with("sasl."), "sasl.jaas.config became {k}");
    }
});
