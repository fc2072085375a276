//! The registry's state, rebuilt by applying the schemas topic in order.
//!
//! Every instance applies the same records in the same order and resolves
//! conflicts the same way (the first record to claim an id or a subject version
//! wins), so all instances agree without talking to each other.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::compat::CompatibilityLevel;
use crate::log::{LogKey, Reference, SchemaValue};

/// A registered schema, shared by every subject version that uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaEntry {
    /// Global id.
    pub id: u32,
    /// The schema text, normalized.
    pub text: String,
    /// Referenced schemas.
    pub references: Vec<Reference>,
    /// `None` for AVRO.
    pub schema_type: Option<String>,
}

/// One version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionEntry {
    /// Global schema id.
    pub id: u32,
    /// Soft-deleted.
    pub deleted: bool,
}

/// The registry's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Normal operation.
    ReadWrite,
    /// No registrations or deletes.
    ReadOnly,
    /// Registrations keep the ids and versions the client gives.
    Import,
}

impl Mode {
    /// Parses `READWRITE`, `READONLY`, `IMPORT` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "READWRITE" => Some(Self::ReadWrite),
            "READONLY" => Some(Self::ReadOnly),
            "IMPORT" => Some(Self::Import),
            _ => None,
        }
    }

    /// The name Confluent uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadWrite => "READWRITE",
            Self::ReadOnly => "READONLY",
            Self::Import => "IMPORT",
        }
    }
}

/// Everything the registry knows.
#[derive(Debug, Default)]
pub struct State {
    schemas: HashMap<u32, Arc<SchemaEntry>>,
    ids_by_content: HashMap<(String, Vec<Reference>), u32>,
    subjects: BTreeMap<String, BTreeMap<u32, VersionEntry>>,
    configs: HashMap<Option<String>, CompatibilityLevel>,
    modes: HashMap<Option<String>, Mode>,
    max_id: u32,
    /// Records that could not be applied, for the logs.
    pub skipped: u64,
}

impl State {
    /// Applies one record of the schemas topic. Returns why it was skipped, if it was.
    pub fn apply(&mut self, key: &LogKey, value: Option<&[u8]>) -> Result<(), String> {
        let result = self.apply_inner(key, value);
        if result.is_err() {
            self.skipped += 1;
        }
        result
    }

    fn apply_inner(&mut self, key: &LogKey, value: Option<&[u8]>) -> Result<(), String> {
        match (key, value) {
            (LogKey::Schema { subject, version }, None) => {
                self.remove_version(subject, *version);
                Ok(())
            }
            (LogKey::Schema { subject, version }, Some(bytes)) => {
                let value: SchemaValue = serde_json::from_slice(bytes)
                    .map_err(|e| format!("SCHEMA value for {subject}/{version}: {e}"))?;
                if value.subject != *subject || value.version != *version {
                    return Err(format!(
                        "SCHEMA value for {subject}/{version} names {}/{}",
                        value.subject, value.version
                    ));
                }
                self.put_version(value)
            }
            (LogKey::Config(subject), None) => {
                self.configs.remove(subject);
                Ok(())
            }
            (LogKey::Config(subject), Some(bytes)) => {
                let level = json_field(bytes, "compatibilityLevel")?;
                let level = CompatibilityLevel::parse(&level)
                    .ok_or(format!("unknown compatibility level {level}"))?;
                self.configs.insert(subject.clone(), level);
                Ok(())
            }
            (LogKey::Mode(subject), None) => {
                self.modes.remove(subject);
                Ok(())
            }
            (LogKey::Mode(subject), Some(bytes)) => {
                let mode = json_field(bytes, "mode")?;
                let mode = Mode::parse(&mode).ok_or(format!("unknown mode {mode}"))?;
                self.modes.insert(subject.clone(), mode);
                Ok(())
            }
            (LogKey::DeleteSubject(subject), Some(bytes)) => {
                let upto = json_version(bytes)?;
                if let Some(versions) = self.subjects.get_mut(subject) {
                    for (_, entry) in versions.range_mut(..=upto) {
                        entry.deleted = true;
                    }
                }
                Ok(())
            }
            (LogKey::ClearSubject(subject), Some(bytes)) => {
                let upto = json_version(bytes)?;
                let versions: Vec<u32> = self
                    .subjects
                    .get(subject)
                    .map(|v| v.range(..=upto).map(|(v, _)| *v).collect())
                    .unwrap_or_default();
                for version in versions {
                    self.remove_version(subject, version);
                }
                Ok(())
            }
            (LogKey::DeleteSubject(_) | LogKey::ClearSubject(_) | LogKey::Noop, None)
            | (LogKey::Noop, Some(_)) => Ok(()),
        }
    }

    fn put_version(&mut self, value: SchemaValue) -> Result<(), String> {
        let SchemaValue {
            subject,
            version,
            id,
            schema,
            deleted,
            schema_type,
            references,
        } = value;
        if let Some(existing) = self.schemas.get(&id)
            && (existing.text != schema || existing.references != references)
        {
            return Err(format!(
                "{subject}/{version} claims id {id}, which an earlier record gave to another schema"
            ));
        }
        let versions = self.subjects.entry(subject.clone()).or_default();
        if let Some(existing) = versions.get_mut(&version) {
            if existing.id != id {
                return Err(format!(
                    "{subject}/{version} claims id {id}, but an earlier record gave it id {}",
                    existing.id
                ));
            }
            existing.deleted = deleted;
            return Ok(());
        }
        versions.insert(version, VersionEntry { id, deleted });
        self.max_id = self.max_id.max(id);
        if !self.schemas.contains_key(&id) {
            self.ids_by_content
                .entry((schema.clone(), references.clone()))
                .or_insert(id);
            self.schemas.insert(
                id,
                Arc::new(SchemaEntry {
                    id,
                    text: schema,
                    references,
                    schema_type,
                }),
            );
        }
        Ok(())
    }

    fn remove_version(&mut self, subject: &str, version: u32) {
        let Some(versions) = self.subjects.get_mut(subject) else {
            return;
        };
        let Some(removed) = versions.remove(&version) else {
            return;
        };
        if versions.is_empty() {
            self.subjects.remove(subject);
        }
        let still_used = self
            .subjects
            .values()
            .any(|versions| versions.values().any(|v| v.id == removed.id));
        if !still_used && let Some(entry) = self.schemas.remove(&removed.id) {
            let content = (entry.text.clone(), entry.references.clone());
            if self.ids_by_content.get(&content) == Some(&removed.id) {
                self.ids_by_content.remove(&content);
            }
        }
    }

    /// A schema by id.
    pub fn schema(&self, id: u32) -> Option<&Arc<SchemaEntry>> {
        self.schemas.get(&id)
    }

    /// The id already given to this content, if any.
    pub fn id_of(&self, text: &str, references: &[Reference]) -> Option<u32> {
        self.ids_by_content
            .get(&(text.to_owned(), references.to_vec()))
            .copied()
    }

    /// The highest id ever seen; new ids are above it.
    pub fn max_id(&self) -> u32 {
        self.max_id
    }

    /// A subject's versions, soft-deleted ones included.
    pub fn versions(&self, subject: &str) -> Option<&BTreeMap<u32, VersionEntry>> {
        self.subjects.get(subject)
    }

    /// All subjects with their versions.
    pub fn subjects(&self) -> impl Iterator<Item = (&String, &BTreeMap<u32, VersionEntry>)> {
        self.subjects.iter()
    }

    /// A subject's own compatibility level, or the global one with `None`.
    pub fn config(&self, subject: Option<&str>) -> Option<CompatibilityLevel> {
        self.configs.get(&subject.map(str::to_owned)).copied()
    }

    /// A subject's own mode, or the global one with `None`.
    pub fn mode(&self, subject: Option<&str>) -> Option<Mode> {
        self.modes.get(&subject.map(str::to_owned)).copied()
    }
}

fn json_field(bytes: &[u8], field: &str) -> Result<String, String> {
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("value is not JSON: {e}"))?;
    json.get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or(format!("value has no {field}"))
}

fn json_version(bytes: &[u8]) -> Result<u32, String> {
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("value is not JSON: {e}"))?;
    json.get("version")
        .and_then(serde_json::Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or("value has no version".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(subject: &str, version: u32, id: u32, text: &str, deleted: bool) -> Vec<u8> {
        serde_json::to_vec(&SchemaValue {
            subject: subject.into(),
            version,
            id,
            schema: text.into(),
            deleted,
            schema_type: None,
            references: vec![],
        })
        .unwrap()
    }

    fn key(subject: &str, version: u32) -> LogKey {
        LogKey::Schema {
            subject: subject.into(),
            version,
        }
    }

    #[test]
    fn first_record_to_claim_an_id_wins() {
        let mut state = State::default();
        state
            .apply(&key("a", 1), Some(&schema("a", 1, 1, "\"string\"", false)))
            .unwrap();
        let err = state
            .apply(&key("b", 1), Some(&schema("b", 1, 1, "\"int\"", false)))
            .unwrap_err();
        assert!(err.contains("claims id 1"), "{err}");
        assert!(state.versions("b").is_none_or(BTreeMap::is_empty));
        // The same content under another subject may share the id.
        state
            .apply(&key("c", 1), Some(&schema("c", 1, 1, "\"string\"", false)))
            .unwrap();
        assert_eq!(state.id_of("\"string\"", &[]), Some(1));
        assert_eq!(state.skipped, 1);
    }

    #[test]
    fn first_record_to_claim_a_version_wins() {
        let mut state = State::default();
        state
            .apply(&key("a", 1), Some(&schema("a", 1, 1, "\"string\"", false)))
            .unwrap();
        assert!(
            state
                .apply(&key("a", 1), Some(&schema("a", 1, 2, "\"int\"", false)))
                .is_err()
        );
        assert_eq!(state.versions("a").unwrap()[&1].id, 1);
    }

    #[test]
    fn soft_then_hard_delete() {
        let mut state = State::default();
        state
            .apply(&key("a", 1), Some(&schema("a", 1, 1, "\"string\"", false)))
            .unwrap();
        state
            .apply(&key("a", 1), Some(&schema("a", 1, 1, "\"string\"", true)))
            .unwrap();
        assert!(state.versions("a").unwrap()[&1].deleted);
        assert!(state.schema(1).is_some());
        state.apply(&key("a", 1), None).unwrap();
        assert!(state.versions("a").is_none());
        assert!(state.schema(1).is_none());
        assert_eq!(state.max_id(), 1, "ids are never reused");
    }

    #[test]
    fn confluent_delete_subject_marks_versions() {
        let mut state = State::default();
        for v in 1..=3 {
            let text = format!("{{\"type\":\"fixed\",\"name\":\"f\",\"size\":{v}}}");
            state
                .apply(&key("a", v), Some(&schema("a", v, v, &text, false)))
                .unwrap();
        }
        state
            .apply(
                &LogKey::DeleteSubject("a".into()),
                Some(br#"{"subject":"a","version":2}"#),
            )
            .unwrap();
        let versions = state.versions("a").unwrap();
        assert!(versions[&1].deleted && versions[&2].deleted && !versions[&3].deleted);
    }

    #[test]
    fn configs_and_modes() {
        let mut state = State::default();
        state
            .apply(
                &LogKey::Config(Some("a".into())),
                Some(br#"{"compatibilityLevel":"FULL"}"#),
            )
            .unwrap();
        assert_eq!(state.config(Some("a")), Some(CompatibilityLevel::Full));
        assert_eq!(state.config(None), None);
        state
            .apply(&LogKey::Config(Some("a".into())), None)
            .unwrap();
        assert_eq!(state.config(Some("a")), None);
        state
            .apply(&LogKey::Mode(None), Some(br#"{"mode":"READONLY"}"#))
            .unwrap();
        assert_eq!(state.mode(None), Some(Mode::ReadOnly));
        assert!(
            state
                .apply(&LogKey::Mode(None), Some(br#"{"mode":"SIDEWAYS"}"#))
                .is_err()
        );
    }
}
