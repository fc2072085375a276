//! The registry's operations, independent of HTTP: what each endpoint does.

use std::sync::{Arc, RwLockReadGuard};

use crate::compat::{self, CompatibilityLevel};
use crate::error::RegistryError;
use crate::log::{LogKey, Reference, SchemaValue, config_value, mode_value};
use crate::schema_text;
use crate::state::{Mode, SchemaEntry, State};
use crate::store::{Log, SharedState};

/// A schema as a client sends it to register, look up or check.
#[derive(Debug, Clone, Default)]
pub struct SchemaRequest {
    /// The schema text.
    pub schema: String,
    /// `AVRO` when absent; nothing else is supported.
    pub schema_type: Option<String>,
    /// Referenced schemas.
    pub references: Vec<Reference>,
    /// The id to use (IMPORT mode only).
    pub id: Option<u32>,
    /// The version to use (IMPORT mode only).
    pub version: Option<u32>,
}

/// Which version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    /// The newest one.
    Latest,
    /// A version number.
    Number(u32),
}

impl VersionSpec {
    /// Parses `latest`, `-1` or 1..=2^31-1.
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        if s.eq_ignore_ascii_case("latest") || s == "-1" {
            return Ok(Self::Latest);
        }
        match s.parse::<i32>() {
            Ok(n) if n >= 1 => Ok(Self::Number(n.unsigned_abs())),
            _ => Err(RegistryError::invalid_version(s)),
        }
    }
}

/// One version of a subject with its schema.
#[derive(Debug, Clone)]
pub struct SubjectVersion {
    /// The subject.
    pub subject: String,
    /// The version.
    pub version: u32,
    /// The schema.
    pub schema: Arc<SchemaEntry>,
}

/// The registry: reads from the shared state, writes through the log.
#[derive(Debug)]
pub struct Registry {
    state: SharedState,
    log: Arc<dyn Log>,
    writes: tokio::sync::Mutex<()>,
    default_level: CompatibilityLevel,
}

const WRITE_ATTEMPTS: usize = 5;

impl Registry {
    /// A registry over `state`, writing to `log`; `default_level` applies
    /// until a global level is set.
    pub fn new(state: SharedState, log: Arc<dyn Log>, default_level: CompatibilityLevel) -> Self {
        Self {
            state,
            log,
            writes: tokio::sync::Mutex::new(()),
            default_level,
        }
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, State>, RegistryError> {
        self.state
            .read()
            .map_err(|_| RegistryError::store("state lock poisoned"))
    }

    /// `GET /subjects`
    pub fn subjects(&self, deleted: bool, prefix: &str) -> Result<Vec<String>, RegistryError> {
        Ok(self
            .read()?
            .subjects()
            .filter(|(name, versions)| {
                name.starts_with(prefix) && versions.values().any(|v| deleted || !v.deleted)
            })
            .map(|(name, _)| name.clone())
            .collect())
    }

    /// `GET /subjects/{s}/versions`
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<u32>, RegistryError> {
        let state = self.read()?;
        let versions: Vec<u32> = state
            .versions(subject)
            .into_iter()
            .flatten()
            .filter(|(_, v)| deleted || !v.deleted)
            .map(|(n, _)| *n)
            .collect();
        if versions.is_empty() {
            return Err(RegistryError::subject_not_found(subject));
        }
        Ok(versions)
    }

    /// `GET /subjects/{s}/versions/{v}`
    pub fn version(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        let state = self.read()?;
        find_version(&state, subject, spec, deleted)
    }

    /// `GET /schemas/ids/{id}`
    pub fn schema_by_id(&self, id: u32) -> Result<Arc<SchemaEntry>, RegistryError> {
        self.read()?
            .schema(id)
            .cloned()
            .ok_or(RegistryError::schema_id_not_found(id))
    }

    /// `GET /schemas/ids/{id}/versions`: the subject versions using an id.
    pub fn id_versions(&self, id: u32, deleted: bool) -> Result<Vec<(String, u32)>, RegistryError> {
        let state = self.read()?;
        if state.schema(id).is_none() {
            return Err(RegistryError::schema_id_not_found(id));
        }
        Ok(state
            .subjects()
            .flat_map(|(subject, versions)| {
                versions
                    .iter()
                    .filter(|(_, v)| v.id == id && (deleted || !v.deleted))
                    .map(|(n, _)| (subject.clone(), *n))
            })
            .collect())
    }

    /// `POST /subjects/{s}`: the version of a subject holding this schema.
    pub fn lookup(
        &self,
        subject: &str,
        request: &SchemaRequest,
        deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        check_type(request)?;
        let text = schema_text::normalize(&request.schema)?;
        let state = self.read()?;
        let versions = state
            .versions(subject)
            .filter(|v| v.values().any(|v| deleted || !v.deleted))
            .ok_or(RegistryError::subject_not_found(subject))?;
        let id = state
            .id_of(&text, &request.references)
            .ok_or(RegistryError::schema_not_found())?;
        let version = versions
            .iter()
            .rev()
            .find(|(_, v)| v.id == id && (deleted || !v.deleted))
            .map(|(n, _)| *n)
            .ok_or(RegistryError::schema_not_found())?;
        find_version(&state, subject, VersionSpec::Number(version), deleted)
    }

    /// `POST /subjects/{s}/versions`: registers a schema, returning its id.
    /// The same schema registered again gets the same id and no new version.
    pub async fn register(
        &self,
        subject: &str,
        request: &SchemaRequest,
    ) -> Result<u32, RegistryError> {
        check_type(request)?;
        let text = schema_text::normalize(&request.schema)?;
        let _writing = self.writes.lock().await;
        for _ in 0..WRITE_ATTEMPTS {
            let (value, level, existing) = {
                let state = self.read()?;
                let mode = effective_mode(&state, subject);
                if mode == Mode::ReadOnly {
                    return Err(RegistryError::operation_not_permitted(format!(
                        "Subject {subject} is in read-only mode"
                    )));
                }
                if (request.id.is_some() || request.version.is_some()) && mode != Mode::Import {
                    return Err(RegistryError::operation_not_permitted(format!(
                        "Subject {subject} is not in import mode; ids and versions cannot be given"
                    )));
                }
                if mode == Mode::Import && request.id.is_none() {
                    return Err(RegistryError::operation_not_permitted(format!(
                        "Subject {subject} is in import mode; a registration must give the schema id"
                    )));
                }
                if let Some(version) = request.version
                    && let Some(taken) = state.versions(subject).and_then(|v| v.get(&version))
                    && Some(taken.id) != request.id
                {
                    return Err(RegistryError::operation_not_permitted(format!(
                        "Subject {subject} version {version} already exists with id {}",
                        taken.id
                    )));
                }
                let deps = resolve_references(&state, &request.references)?;
                let parsed = schema_text::parse(&text, &deps)?;
                let versions = state.versions(subject);
                if mode != Mode::Import
                    && let Some(id) = state.id_of(&text, &request.references)
                    && versions.is_some_and(|v| v.values().any(|v| v.id == id && !v.deleted))
                {
                    return Ok(id);
                }
                let existing = live_versions(&state, subject)?;
                let level = effective_level(&state, subject, self.default_level);
                if mode != Mode::Import {
                    let existing_refs: Vec<(u32, &apache_avro::Schema)> =
                        existing.iter().map(|(v, s)| (*v, s)).collect();
                    let problems = compat::check(level, &parsed, &existing_refs);
                    if !problems.is_empty() {
                        return Err(RegistryError::incompatible(subject, &problems));
                    }
                }
                let id = match request.id {
                    Some(id) => {
                        if let Some(other) = state.schema(id)
                            && (other.text != text || other.references != request.references)
                        {
                            return Err(RegistryError::operation_not_permitted(format!(
                                "Overwrite new schema with id {id} is not permitted."
                            )));
                        }
                        id
                    }
                    None => match state.id_of(&text, &request.references) {
                        Some(id) => id,
                        None => next_number(state.max_id())?,
                    },
                };
                let next_version = match versions.and_then(|v| v.keys().next_back()) {
                    Some(v) => next_number(*v)?,
                    None => 1,
                };
                let version = request.version.unwrap_or(next_version);
                let value = SchemaValue {
                    subject: subject.to_owned(),
                    version,
                    id,
                    schema: text.clone(),
                    deleted: false,
                    schema_type: None,
                    references: request.references.clone(),
                };
                (value, level, existing.len())
            };
            let (version, id) = (value.version, value.id);
            let bytes = serde_json::to_vec(&value).map_err(RegistryError::store)?;
            self.log
                .append(
                    LogKey::Schema {
                        subject: subject.to_owned(),
                        version,
                    },
                    Some(bytes),
                )
                .await?;
            let (landed, winner) = {
                let state = self.read()?;
                let landed = state
                    .versions(subject)
                    .and_then(|v| v.get(&version))
                    .is_some_and(|v| v.id == id)
                    && state.schema(id).is_some_and(|s| s.text == text);
                let winner = state
                    .versions(subject)
                    .and_then(|v| v.get(&version))
                    .filter(|v| v.id != id)
                    .and_then(|v| Some((v.deleted, state.schema(v.id)?.clone())));
                (landed, winner)
            };
            if landed {
                tracing::info!(
                    subject,
                    version,
                    id,
                    level = level.as_str(),
                    existing,
                    "schema registered"
                );
                return Ok(id);
            }
            if let Some((deleted, schema)) = winner {
                // Our record for this key lost, but it is the key's latest
                // record: write the winner again so compaction keeps it.
                let value = SchemaValue {
                    subject: subject.to_owned(),
                    version,
                    id: schema.id,
                    schema: schema.text.clone(),
                    deleted,
                    schema_type: schema.schema_type.clone(),
                    references: schema.references.clone(),
                };
                let bytes = serde_json::to_vec(&value).map_err(RegistryError::store)?;
                let key = LogKey::Schema {
                    subject: subject.to_owned(),
                    version,
                };
                self.log.append(key, Some(bytes)).await?;
            }
            tracing::info!(
                subject,
                version,
                id,
                "another registry instance won the id or version; retrying"
            );
        }
        Err(RegistryError::store(format!(
            "could not register a schema under {subject}: other registry instances kept taking the id or version"
        )))
    }

    /// `POST /compatibility/subjects/{s}/versions[/{v}]`: the reasons the
    /// schema is incompatible, empty when it is compatible.
    pub fn check_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        request: &SchemaRequest,
    ) -> Result<Vec<String>, RegistryError> {
        check_type(request)?;
        let text = schema_text::normalize(&request.schema)?;
        let state = self.read()?;
        let deps = resolve_references(&state, &request.references)?;
        let parsed = schema_text::parse(&text, &deps)?;
        let level = effective_level(&state, subject, self.default_level);
        let mut existing = live_versions(&state, subject)?;
        if let Some(spec) = version {
            let chosen = find_version(&state, subject, spec, false)?;
            existing.retain(|(v, _)| *v == chosen.version);
        }
        let existing_refs: Vec<(u32, &apache_avro::Schema)> =
            existing.iter().map(|(v, s)| (*v, s)).collect();
        Ok(compat::check(level, &parsed, &existing_refs))
    }

    /// `DELETE /subjects/{s}/versions/{v}`
    pub async fn delete_version(
        &self,
        subject: &str,
        spec: VersionSpec,
        permanent: bool,
    ) -> Result<u32, RegistryError> {
        let _writing = self.writes.lock().await;
        let found = {
            let state = self.read()?;
            self.check_writable(&state, subject)?;
            // A soft-deleted version is found too, to answer 40406 for it.
            let found = match find_version(&state, subject, spec, true) {
                Ok(found) if permanent || spec != VersionSpec::Latest => found,
                _ => find_version(&state, subject, spec, permanent)?,
            };
            let deleted = state
                .versions(subject)
                .and_then(|v| v.get(&found.version))
                .is_some_and(|v| v.deleted);
            if permanent && !deleted {
                return Err(RegistryError::version_not_soft_deleted(
                    subject,
                    found.version,
                ));
            }
            if !permanent && deleted {
                return Err(RegistryError::version_soft_deleted(subject, found.version));
            }
            if let Some((s, v)) = referenced_by(&state, subject, found.version) {
                return Err(RegistryError::operation_not_permitted(format!(
                    "One or more references exist to the schema {{subject={subject},version={}}}, e.g. from {s} version {v}",
                    found.version
                )));
            }
            found
        };
        self.write_version(&found, permanent).await?;
        Ok(found.version)
    }

    /// `DELETE /subjects/{s}`: the versions deleted.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<u32>, RegistryError> {
        let _writing = self.writes.lock().await;
        let targets = {
            let state = self.read()?;
            self.check_writable(&state, subject)?;
            let versions = state
                .versions(subject)
                .ok_or(RegistryError::subject_not_found(subject))?;
            let live: Vec<u32> = versions
                .iter()
                .filter(|(_, v)| !v.deleted)
                .map(|(n, _)| *n)
                .collect();
            if permanent && !live.is_empty() {
                return Err(RegistryError::subject_not_soft_deleted(subject));
            }
            if !permanent && live.is_empty() {
                return Err(RegistryError::subject_soft_deleted(subject));
            }
            let mut targets = Vec::new();
            for (&version, _) in versions.iter().filter(|(_, v)| permanent || !v.deleted) {
                if let Some((s, v)) = referenced_by(&state, subject, version) {
                    return Err(RegistryError::operation_not_permitted(format!(
                        "One or more references exist to the schema {{subject={subject},version={version}}}, e.g. from {s} version {v}"
                    )));
                }
                targets.push(find_version(
                    &state,
                    subject,
                    VersionSpec::Number(version),
                    true,
                )?);
            }
            targets
        };
        for target in &targets {
            self.write_version(target, permanent).await?;
        }
        Ok(targets.iter().map(|t| t.version).collect())
    }

    async fn write_version(
        &self,
        version: &SubjectVersion,
        permanent: bool,
    ) -> Result<(), RegistryError> {
        let key = LogKey::Schema {
            subject: version.subject.clone(),
            version: version.version,
        };
        let value = if permanent {
            None
        } else {
            let value = SchemaValue {
                subject: version.subject.clone(),
                version: version.version,
                id: version.schema.id,
                schema: version.schema.text.clone(),
                deleted: true,
                schema_type: version.schema.schema_type.clone(),
                references: version.schema.references.clone(),
            };
            Some(serde_json::to_vec(&value).map_err(RegistryError::store)?)
        };
        self.log.append(key, value).await
    }

    fn check_writable(&self, state: &State, subject: &str) -> Result<(), RegistryError> {
        if effective_mode(state, subject) == Mode::ReadOnly {
            return Err(RegistryError::operation_not_permitted(format!(
                "Subject {subject} is in read-only mode"
            )));
        }
        Ok(())
    }

    /// `GET /config[/{s}]`
    pub fn config(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<CompatibilityLevel, RegistryError> {
        let state = self.read()?;
        match subject {
            None => Ok(state.config(None).unwrap_or(self.default_level)),
            Some(s) => match state.config(Some(s)) {
                Some(level) => Ok(level),
                None if default_to_global => Ok(state.config(None).unwrap_or(self.default_level)),
                None => Err(RegistryError::subject_compatibility_not_configured(s)),
            },
        }
    }

    /// `PUT /config[/{s}]`
    pub async fn set_config(
        &self,
        subject: Option<&str>,
        level: &str,
    ) -> Result<CompatibilityLevel, RegistryError> {
        let level = CompatibilityLevel::parse(level)
            .ok_or(RegistryError::invalid_compatibility_level(level))?;
        let _writing = self.writes.lock().await;
        self.log
            .append(
                LogKey::Config(subject.map(str::to_owned)),
                Some(config_value(level.as_str())),
            )
            .await?;
        Ok(level)
    }

    /// `DELETE /config[/{s}]`: the level that was set.
    pub async fn delete_config(
        &self,
        subject: Option<&str>,
    ) -> Result<CompatibilityLevel, RegistryError> {
        let _writing = self.writes.lock().await;
        let previous = self.config(subject, false)?;
        self.log
            .append(LogKey::Config(subject.map(str::to_owned)), None)
            .await?;
        Ok(previous)
    }

    /// `GET /mode[/{s}]`
    pub fn mode(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<Mode, RegistryError> {
        let state = self.read()?;
        match subject {
            None => Ok(state.mode(None).unwrap_or(Mode::ReadWrite)),
            Some(s) => match state.mode(Some(s)) {
                Some(mode) => Ok(mode),
                None if default_to_global => Ok(state.mode(None).unwrap_or(Mode::ReadWrite)),
                None => Err(RegistryError::subject_mode_not_configured(s)),
            },
        }
    }

    /// `PUT /mode[/{s}]`
    pub async fn set_mode(
        &self,
        subject: Option<&str>,
        mode: &str,
        force: bool,
    ) -> Result<Mode, RegistryError> {
        let mode = Mode::parse(mode).ok_or(RegistryError::invalid_mode(mode))?;
        let _writing = self.writes.lock().await;
        if mode == Mode::Import && !force {
            let state = self.read()?;
            let has_schemas = match subject {
                None => state.subjects().next().is_some(),
                Some(s) => state.versions(s).is_some(),
            };
            if has_schemas {
                return Err(RegistryError::operation_not_permitted(
                    "Cannot import since found existing subjects",
                ));
            }
        }
        self.log
            .append(
                LogKey::Mode(subject.map(str::to_owned)),
                Some(mode_value(mode.as_str())),
            )
            .await?;
        Ok(mode)
    }

    /// `DELETE /mode/{s}`: the mode that was set.
    pub async fn delete_mode(&self, subject: &str) -> Result<Mode, RegistryError> {
        let _writing = self.writes.lock().await;
        let previous = self.mode(Some(subject), false)?;
        self.log
            .append(LogKey::Mode(Some(subject.to_owned())), None)
            .await?;
        Ok(previous)
    }
}

/// The number after `n` (ids and versions stay within Java's int).
fn next_number(n: u32) -> Result<u32, RegistryError> {
    n.checked_add(1)
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| RegistryError::store("ids or versions would pass 2^31-1"))
}

fn check_type(request: &SchemaRequest) -> Result<(), RegistryError> {
    match request.schema_type.as_deref() {
        None => Ok(()),
        Some(t) if t.eq_ignore_ascii_case("AVRO") => Ok(()),
        Some(t) => Err(RegistryError::invalid_schema(format!(
            "schema type {t} is not supported; this registry holds AVRO schemas"
        ))),
    }
}

fn effective_mode(state: &State, subject: &str) -> Mode {
    state
        .mode(Some(subject))
        .or(state.mode(None))
        .unwrap_or(Mode::ReadWrite)
}

fn effective_level(
    state: &State,
    subject: &str,
    default: CompatibilityLevel,
) -> CompatibilityLevel {
    state
        .config(Some(subject))
        .or(state.config(None))
        .unwrap_or(default)
}

fn find_version(
    state: &State,
    subject: &str,
    spec: VersionSpec,
    deleted: bool,
) -> Result<SubjectVersion, RegistryError> {
    let versions = state
        .versions(subject)
        .filter(|v| v.values().any(|v| deleted || !v.deleted))
        .ok_or(RegistryError::subject_not_found(subject))?;
    let (version, entry) = match spec {
        VersionSpec::Latest => versions
            .iter()
            .rev()
            .find(|(_, v)| deleted || !v.deleted)
            .ok_or(RegistryError::subject_not_found(subject))?,
        VersionSpec::Number(n) => versions
            .get_key_value(&n)
            .filter(|(_, v)| deleted || !v.deleted)
            .ok_or(RegistryError::version_not_found(n))?,
    };
    let schema = state
        .schema(entry.id)
        .cloned()
        .ok_or(RegistryError::schema_id_not_found(entry.id))?;
    Ok(SubjectVersion {
        subject: subject.to_owned(),
        version: *version,
        schema,
    })
}

/// The live versions of a subject, parsed, oldest first.
fn live_versions(
    state: &State,
    subject: &str,
) -> Result<Vec<(u32, apache_avro::Schema)>, RegistryError> {
    let mut out = Vec::new();
    for (version, entry) in state.versions(subject).into_iter().flatten() {
        if entry.deleted {
            continue;
        }
        let Some(schema) = state.schema(entry.id) else {
            continue;
        };
        let deps = resolve_references(state, &schema.references)?;
        let parsed = schema_text::parse(&schema.text, &deps).map_err(|e| {
            RegistryError::store(format!(
                "stored schema {subject}/{version} does not parse: {}",
                e.message
            ))
        })?;
        out.push((*version, parsed));
    }
    Ok(out)
}

/// The texts of referenced schemas, each one's own references first.
fn resolve_references(
    state: &State,
    references: &[Reference],
) -> Result<Vec<String>, RegistryError> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for reference in references {
        collect_reference(state, reference, &mut out, &mut seen, 0)?;
    }
    Ok(out)
}

fn collect_reference(
    state: &State,
    reference: &Reference,
    out: &mut Vec<String>,
    seen: &mut Vec<(String, u32)>,
    depth: usize,
) -> Result<(), RegistryError> {
    let key = (reference.subject.clone(), reference.version);
    if seen.contains(&key) {
        return Ok(());
    }
    if depth > 32 {
        return Err(RegistryError::invalid_schema(
            "references nested more than 32 deep",
        ));
    }
    seen.push(key);
    let found = find_version(
        state,
        &reference.subject,
        VersionSpec::Number(reference.version),
        true,
    )
    .map_err(|_| {
        RegistryError::invalid_schema(format!(
            "reference '{}' to subject '{}' version {} does not exist",
            reference.name, reference.subject, reference.version
        ))
    })?;
    for nested in &found.schema.references {
        collect_reference(state, nested, out, seen, depth + 1)?;
    }
    out.push(found.schema.text.clone());
    Ok(())
}

fn referenced_by(state: &State, subject: &str, version: u32) -> Option<(String, u32)> {
    state.subjects().find_map(|(s, versions)| {
        versions.iter().find_map(|(v, entry)| {
            let schema = state.schema(entry.id)?;
            schema
                .references
                .iter()
                .any(|r| r.subject == subject && r.version == version)
                .then(|| (s.clone(), *v))
        })
    })
}

impl Registry {
    /// `GET /subjects/{s}/versions/{v}/referencedby`: ids of schemas referencing it.
    pub fn referenced_by_ids(
        &self,
        subject: &str,
        version: u32,
    ) -> Result<Vec<u32>, RegistryError> {
        let state = self.read()?;
        let mut ids: Vec<u32> = state
            .subjects()
            .flat_map(|(_, versions)| versions.values())
            .filter_map(|entry| state.schema(entry.id))
            .filter(|schema| {
                schema
                    .references
                    .iter()
                    .any(|r| r.subject == subject && r.version == version)
            })
            .map(|schema| schema.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}
