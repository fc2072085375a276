//! The schema registry client: `schema_registry_converter`'s HTTP calls,
//! made synchronous for the converter (see [`super::bridge`]).

use std::sync::Arc;
use std::time::Duration;

use schema_registry_converter::async_impl::schema_registry::{
    SrSettings, get_referenced_schema, get_schema_by_id, get_schema_by_subject_and_version,
    perform_sr_call, post_schema,
};
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{
    RawError, RegisteredReference, RegisteredSchema, SchemaType, SrCall, SuppliedSchema,
};

use super::bridge::block_on;
use crate::converter::ConvertError;

/// A schema as the registry holds it: its text and the texts of the schemas it
/// references, dependencies first.
#[derive(Debug, Clone)]
pub(super) struct FetchedSchema {
    pub(super) id: u32,
    pub(super) text: String,
    pub(super) references: Vec<String>,
}

/// A client for one registry (one or more URLs, tried in order).
#[derive(Debug, Clone)]
pub(super) struct RegistryClient {
    settings: Arc<SrSettings>,
    urls: String,
}

impl RegistryClient {
    /// `urls`: `schema.registry.url`, comma-separated; `auth`: user and
    /// password; `tls`: how https URLs are checked (and the client
    /// certificate offered).
    pub(super) fn new(
        urls: &str,
        auth: Option<(String, String)>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, ConvertError> {
        let mut list = urls
            .split(',')
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .filter(|u| !u.is_empty());
        let first = list.next().ok_or_else(|| {
            ConvertError::config(
                "schema.registry.url",
                "Missing required configuration \"schema.registry.url\" which has no default value.",
            )
        })?;
        let mut builder = SrSettings::new_builder(first);
        for url in list {
            builder.add_url(url);
        }
        if let Some((user, password)) = &auth {
            builder.set_basic_authorization(user, Some(password));
        }
        builder.set_timeout(Duration::from_secs(30));
        let http = reqwest::Client::builder().tls_backend_preconfigured((*tls).clone());
        let settings = builder
            .build_with(http)
            .map_err(|e| ConvertError::config("schema.registry.url", e.error))?;
        Ok(Self {
            settings: Arc::new(settings),
            urls: urls.to_owned(),
        })
    }

    /// `POST /subjects/{subject}/versions`: the id of the schema, registering it if new.
    pub(super) fn register(&self, subject: &str, text: &str) -> Result<u32, ConvertError> {
        let settings = self.settings.clone();
        let supplied = SuppliedSchema::new(None, SchemaType::Avro, text.to_owned());
        let subject_owned = subject.to_owned();
        let result = block_on(async move { post_schema(&settings, subject_owned, supplied).await })
            .map_err(ConvertError::RegistryUnavailable)?;
        result
            .map(|r| r.id)
            .map_err(|e| self.error(&format!("registering a schema under subject {subject}"), &e))
    }

    /// `POST /subjects/{subject}`: the id of an already registered schema.
    pub(super) fn lookup(&self, subject: &str, text: &str) -> Result<u32, ConvertError> {
        let settings = self.settings.clone();
        let body = serde_json::json!({"schema": text}).to_string();
        let subject_owned = subject.to_owned();
        let result = block_on(async move {
            perform_sr_call(&settings, SrCall::PostForVersion(&subject_owned, &body)).await
        })
        .map_err(ConvertError::RegistryUnavailable)?;
        match result {
            Ok(raw) => raw.id.ok_or_else(|| {
                ConvertError::Registry(format!(
                    "the registry at {} answered a lookup in subject {subject} without an id",
                    self.urls
                ))
            }),
            Err(e) => Err(self.error(
                &format!(
                    "looking up the schema in subject {subject} (auto.register.schemas=false)"
                ),
                &e,
            )),
        }
    }

    /// `GET /subjects/{subject}/versions/latest`
    pub(super) fn latest(&self, subject: &str) -> Result<FetchedSchema, ConvertError> {
        let settings = self.settings.clone();
        let subject_owned = subject.to_owned();
        let result = block_on(async move {
            let latest = get_schema_by_subject_and_version(&settings, &subject_owned, None).await?;
            with_references(&settings, latest).await
        })
        .map_err(ConvertError::RegistryUnavailable)?;
        result.map_err(|e| {
            self.error(
                &format!("reading the latest schema of subject {subject}"),
                &e,
            )
        })
    }

    /// `GET /schemas/ids/{id}` and the schemas it references.
    pub(super) fn by_id(&self, id: u32) -> Result<FetchedSchema, ConvertError> {
        let settings = self.settings.clone();
        let result = block_on(async move {
            let schema = get_schema_by_id(id, &settings).await?;
            with_references(&settings, schema).await
        })
        .map_err(ConvertError::RegistryUnavailable)?;
        result.map_err(|e| self.error(&format!("reading schema id {id}"), &e))
    }

    fn error(&self, doing: &str, e: &SRCError) -> ConvertError {
        let raw = std::error::Error::source(e).and_then(|s| s.downcast_ref::<RawError>());
        // No answer at all, or a 5xx answer (Confluent's 500xx codes): the
        // registry is away or failing, which a later attempt may get past.
        let unavailable = raw.is_none_or(|r| r.error_code >= 50000);
        let detail = raw
            .map_or_else(
                || {
                    let cause = e.cause.clone().unwrap_or_else(|| e.error.clone());
                    format!(
                        "{cause} (check that the registry named by schema.registry.url is running and reachable)"
                    )
                },
                |raw| format!("{} (error code {})", raw.message, raw.error_code),
            );
        let message = format!("schema registry {}: {doing} failed: {detail}", self.urls);
        if unavailable {
            ConvertError::RegistryUnavailable(message)
        } else {
            ConvertError::Registry(message)
        }
    }
}

async fn with_references(
    settings: &SrSettings,
    schema: RegisteredSchema,
) -> Result<FetchedSchema, SRCError> {
    enum Step {
        Visit(RegisteredReference),
        Emit(String),
    }
    let mut texts: Vec<String> = Vec::new();
    let mut seen: Vec<(String, u32)> = Vec::new();
    let mut pending: Vec<Step> = schema
        .references
        .iter()
        .rev()
        .cloned()
        .map(Step::Visit)
        .collect();
    // Depth-first, emitting a schema after the schemas it references.
    while let Some(step) = pending.pop() {
        match step {
            Step::Emit(text) => texts.push(text),
            Step::Visit(reference) => {
                let key = (reference.subject.clone(), reference.version);
                if seen.contains(&key) || seen.len() > 256 {
                    continue;
                }
                seen.push(key);
                let fetched = get_referenced_schema(settings, &reference).await?;
                pending.push(Step::Emit(fetched.schema));
                pending.extend(fetched.references.iter().rev().cloned().map(Step::Visit));
            }
        }
    }
    Ok(FetchedSchema {
        id: schema.id,
        text: schema.schema,
        references: texts,
    })
}
