//! Schema texts: normalization (so the same schema written with different
//! spacing gets the same id) and parsing with referenced schemas.

use serde_json::Value as Json;

use crate::error::RegistryError;

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// The text a schema is stored and compared by: compact JSON, keys in the
/// order given, and `{"type":"int"}` written as `"int"` (an object holding
/// nothing but a primitive type is that type). Other properties are kept:
/// Connect's `connect.*` properties change the meaning for Connect readers.
pub fn normalize(text: &str) -> Result<String, RegistryError> {
    let json: Json = serde_json::from_str(text)
        .map_err(|e| RegistryError::invalid_schema(format!("not valid JSON: {e}")))?;
    Ok(simplify(json).to_string())
}

/// Simplifies a schema, touching schema positions only (`type`, `items`,
/// `values`, union branches, field types): defaults and properties are
/// values and stay as written.
fn simplify(json: Json) -> Json {
    match json {
        Json::Object(map) => {
            if map.len() == 1
                && let Some(Json::String(t)) = map.get("type")
                && PRIMITIVES.contains(&t.as_str())
            {
                return Json::String(t.clone());
            }
            Json::Object(
                map.into_iter()
                    .map(|(k, v)| match k.as_str() {
                        "type" | "items" | "values" => (k, simplify(v)),
                        "fields" => (k, simplify_fields(v)),
                        _ => (k, v),
                    })
                    .collect(),
            )
        }
        Json::Array(branches) => Json::Array(branches.into_iter().map(simplify).collect()),
        other => other,
    }
}

fn simplify_fields(fields: Json) -> Json {
    match fields {
        Json::Array(fields) => Json::Array(
            fields
                .into_iter()
                .map(|field| match field {
                    Json::Object(map) => Json::Object(
                        map.into_iter()
                            .map(|(k, v)| {
                                if k == "type" {
                                    (k, simplify(v))
                                } else {
                                    (k, v)
                                }
                            })
                            .collect(),
                    ),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

/// Parses a schema whose references' texts are given dependencies first.
pub fn parse(text: &str, references: &[String]) -> Result<apache_avro::Schema, RegistryError> {
    if references.is_empty() {
        apache_avro::Schema::parse_str(text)
    } else {
        apache_avro::Schema::parse_str_with_list(text, references).map(|(schema, _)| schema)
    }
    .map_err(|e| RegistryError::invalid_schema(format!("{e}: {}", source_chain(&e))))
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_and_trivial_objects_do_not_matter() {
        let a = normalize(r#"{ "type": "record", "name": "r", "fields": [ {"name":"a","type":{"type":"string"}} ] }"#).unwrap();
        let b =
            normalize(r#"{"type":"record","name":"r","fields":[{"name":"a","type":"string"}]}"#)
                .unwrap();
        assert_eq!(a, b);
        assert_eq!(normalize(r#"{"type":"string"}"#).unwrap(), "\"string\"");
        // A default that looks like a schema is a value, not a schema.
        let with_default = r#"{"type":"record","name":"r","fields":[{"name":"m","type":{"type":"map","values":"string"},"default":{"type":"int"}}]}"#;
        assert_eq!(normalize(with_default).unwrap(), with_default);
        assert_eq!(
            normalize(r#"{"type":"int","connect.type":"int8"}"#).unwrap(),
            r#"{"type":"int","connect.type":"int8"}"#
        );
    }

    #[test]
    fn bad_schemas_are_42201() {
        assert_eq!(normalize("{").unwrap_err().code, 42201);
        let err = parse(r#"{"type":"record","name":"r"}"#, &[]).unwrap_err();
        assert_eq!(err.code, 42201);
        assert!(err.message.starts_with("Invalid schema"), "{}", err.message);
        assert_eq!(parse(r#""nosuchtype""#, &[]).unwrap_err().code, 42201);
    }

    #[test]
    fn references_resolve() {
        let child =
            r#"{"type":"record","name":"com.acme.Child","fields":[{"name":"x","type":"int"}]}"#;
        let parent = r#"{"type":"record","name":"com.acme.Parent","fields":[{"name":"c","type":"com.acme.Child"}]}"#;
        assert!(parse(parent, &[]).is_err());
        parse(parent, &[child.to_owned()]).unwrap();
    }
}
