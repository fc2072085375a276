//! REST request bodies and paths: connector configs (`POST /connectors`,
//! `PUT .../config`, with Kafka Connect's value coercions) and the
//! operation the authorization layer derives from a method, path and
//! body. Anything gives a result or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_runtime::config::connector::config_from_json;
use sluice_runtime::rest::authz::{required, segments};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fuzz_target!(|input: (u8, &str, &[u8])| {
    let (m, path, body) = input;
    let method = METHODS[usize::from(m) % METHODS.len()];
    let _ = segments(path);
    let _ = required(method, path, body);
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
        if let Ok(config) = config_from_json(map.clone()) {
            // Every key that came in as a string is kept as it was.
            for (k, v) in &map {
                if let serde_json::Value::String(s) = v {
                    assert_eq!(config.get(k), Some(s), "{k}");
                }
            }
        }
    }
});
