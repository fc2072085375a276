//! The records of the `_schemas` topic, in Confluent Schema Registry's layout,
//! so a topic written by either registry can be read by the other.
//!
//! Keys are JSON objects with a `keytype`; values are JSON objects, and a null
//! value (tombstone) removes the key (hard delete).

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

/// A schema referenced by name from another schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reference {
    /// The full name of the referenced type.
    pub name: String,
    /// The subject it is registered under.
    pub subject: String,
    /// Its version in that subject.
    pub version: u32,
}

/// The key of a record in the schemas topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogKey {
    /// A subject's version (`SCHEMA`).
    Schema {
        /// The subject.
        subject: String,
        /// The version.
        version: u32,
    },
    /// A compatibility level (`CONFIG`); `None` is the global one.
    Config(Option<String>),
    /// A mode (`MODE`); `None` is the global one.
    Mode(Option<String>),
    /// All versions up to the value's version are soft-deleted (`DELETE_SUBJECT`).
    DeleteSubject(String),
    /// All versions up to the value's version are hard-deleted (`CLEAR_SUBJECT`).
    ClearSubject(String),
    /// A no-op marker (`NOOP`), written by Confluent to find the end of the log.
    Noop,
}

/// The value of a `SCHEMA` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaValue {
    /// The subject.
    pub subject: String,
    /// The version within the subject.
    pub version: u32,
    /// The global schema id.
    pub id: u32,
    /// The schema text.
    pub schema: String,
    /// Soft-deleted.
    #[serde(default)]
    pub deleted: bool,
    /// `AVRO` when absent.
    #[serde(
        rename = "schemaType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub schema_type: Option<String>,
    /// Referenced schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
}

impl LogKey {
    /// The key as Confluent serializes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let json = match self {
            Self::Schema { subject, version } => {
                json!({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1})
            }
            Self::Config(subject) => json!({"keytype": "CONFIG", "subject": subject, "magic": 0}),
            Self::Mode(subject) => json!({"keytype": "MODE", "subject": subject, "magic": 0}),
            Self::DeleteSubject(subject) => {
                json!({"keytype": "DELETE_SUBJECT", "subject": subject, "magic": 0})
            }
            Self::ClearSubject(subject) => {
                json!({"keytype": "CLEAR_SUBJECT", "subject": subject, "magic": 0})
            }
            Self::Noop => json!({"keytype": "NOOP", "magic": 0}),
        };
        json.to_string().into_bytes()
    }

    /// Reads a key; `Err` names what is wrong with it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let json: Json =
            serde_json::from_slice(bytes).map_err(|e| format!("key is not JSON: {e}"))?;
        let keytype = json
            .get("keytype")
            .and_then(Json::as_str)
            .ok_or("key has no keytype")?;
        let subject = json
            .get("subject")
            .and_then(Json::as_str)
            .map(str::to_owned);
        let need_subject = || {
            subject
                .clone()
                .ok_or(format!("{keytype} key has no subject"))
        };
        match keytype {
            "SCHEMA" => {
                let version = json
                    .get("version")
                    .and_then(Json::as_u64)
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or("SCHEMA key has no valid version")?;
                Ok(Self::Schema {
                    subject: need_subject()?,
                    version,
                })
            }
            "CONFIG" => Ok(Self::Config(subject)),
            "MODE" => Ok(Self::Mode(subject)),
            "DELETE_SUBJECT" => Ok(Self::DeleteSubject(need_subject()?)),
            "CLEAR_SUBJECT" => Ok(Self::ClearSubject(need_subject()?)),
            "NOOP" => Ok(Self::Noop),
            other => Err(format!("unknown keytype {other}")),
        }
    }
}

/// The value of a `CONFIG` record.
pub fn config_value(level: &str) -> Vec<u8> {
    json!({"compatibilityLevel": level})
        .to_string()
        .into_bytes()
}

/// The value of a `MODE` record.
pub fn mode_value(mode: &str) -> Vec<u8> {
    json!({"mode": mode}).to_string().into_bytes()
}

/// The value of a `DELETE_SUBJECT` or `CLEAR_SUBJECT` record.
pub fn delete_subject_value(subject: &str, version: u32) -> Vec<u8> {
    json!({"subject": subject, "version": version})
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_as_confluent_writes_them() {
        let key = LogKey::Schema {
            subject: "orders-value".into(),
            version: 3,
        };
        assert_eq!(
            String::from_utf8(key.to_bytes()).unwrap(),
            r#"{"keytype":"SCHEMA","subject":"orders-value","version":3,"magic":1}"#
        );
        assert_eq!(
            String::from_utf8(LogKey::Config(None).to_bytes()).unwrap(),
            r#"{"keytype":"CONFIG","subject":null,"magic":0}"#
        );
        for key in [
            key,
            LogKey::Config(Some("s".into())),
            LogKey::Mode(None),
            LogKey::DeleteSubject("s".into()),
            LogKey::ClearSubject("s".into()),
            LogKey::Noop,
        ] {
            assert_eq!(LogKey::from_bytes(&key.to_bytes()).unwrap(), key);
        }
    }

    #[test]
    fn schema_values_round_trip_and_omit_defaults() {
        let value = SchemaValue {
            subject: "s".into(),
            version: 1,
            id: 7,
            schema: "\"string\"".into(),
            deleted: false,
            schema_type: None,
            references: vec![],
        };
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(
            text,
            r#"{"subject":"s","version":1,"id":7,"schema":"\"string\"","deleted":false}"#
        );
        assert_eq!(serde_json::from_str::<SchemaValue>(&text).unwrap(), value);
    }

    #[test]
    fn bad_keys_are_named() {
        assert!(
            LogKey::from_bytes(b"nope")
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(
            LogKey::from_bytes(br#"{"keytype":"SCHEMA","subject":"s"}"#)
                .unwrap_err()
                .contains("version")
        );
        assert!(
            LogKey::from_bytes(br#"{"keytype":"WHAT"}"#)
                .unwrap_err()
                .contains("WHAT")
        );
    }
}
