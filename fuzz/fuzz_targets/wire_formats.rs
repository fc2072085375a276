//! Record bytes from a topic through the converters: JsonConverter with
//! and without schemas (envelope, schema JSON, values), and Avro datums
//! against a writer schema with records, unions, arrays, maps, enums,
//! fixed and logical types. Any bytes decode or fail with an error, never
//! a panic or an unbounded allocation.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_schema::SchemaRef;
use sluice_schema::converter::{Converter, ConverterConfig, JsonConverter};

const WRITER: &str = r#"{"type":"record","name":"Fuzz","namespace":"io.sluice","fields":[
  {"name":"id","type":"long"},
  {"name":"name","type":["null","string"],"default":null},
  {"name":"tags","type":{"type":"array","items":"string"}},
  {"name":"attrs","type":{"type":"map","values":["null","double"]}},
  {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","C"]}},
  {"name":"hash","type":{"type":"fixed","name":"Hash","size":4}},
  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
  {"name":"day","type":{"type":"int","logicalType":"date"}},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"child","type":["null",{"type":"record","name":"Child","fields":[{"name":"n","type":"int"}]}],"default":null}
]}"#;

fn avro() -> &'static (apache_avro::Schema, SchemaRef) {
    static S: OnceLock<(apache_avro::Schema, SchemaRef)> = OnceLock::new();
    S.get_or_init(|| sluice_schema::avro::parse_avro_schema(WRITER, &[]).expect("schema"))
}

fn json(schemas: bool) -> JsonConverter {
    let config = ConverterConfig::new(false).with("schemas.enable", schemas.to_string());
    JsonConverter::new(&config).expect("json converter")
}

fuzz_target!(|bytes: &[u8]| {
    let (writer, connect) = avro();
    let _ = sluice_schema::avro::decode_value(writer, connect, bytes);
    for schemas in [true, false] {
        let c = json(schemas);
        if let Ok(sv) = c.to_connect("t", Some(bytes)) {
            // What was read writes back.
            let _ = c.from_connect("t", sv.schema.as_ref(), &sv.value);
        }
        let _ = c.schema_from_json(bytes);
    }
});
