//! `io.confluent.connect.avro.AvroConverter`: Connect data as Avro in
//! Confluent's wire format (magic byte 0, the schema id as 4 big-endian
//! bytes, then the Avro binary encoding), with schemas in a Confluent
//! compatible schema registry.
//!
//! Registry calls happen only on cache misses: a writer's schema id is
//! cached per topic and Connect schema, a reader's schema per id.

mod bridge;
mod client;
mod subject;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::avro::{self, AvroDataConfig, AvroSchema};
use crate::converter::{ConvertError, Converter, ConverterConfig};
use crate::schema::SchemaRef;
use crate::value::{SchemaAndValue, Value};

use client::RegistryClient;
use subject::SubjectNameStrategy;

const MAGIC: u8 = 0;
/// Distinct schemas remembered per topic; past it the oldest is dropped. A
/// source building a new but equal schema object per record reuses one entry.
const MAX_SCHEMAS_PER_TOPIC: usize = 64;

/// What a Connect schema is written with on one topic.
#[derive(Debug)]
struct WriterSchema {
    id: u32,
    avro: AvroSchema,
}

/// The Connect schemas seen on one topic and what each is written with.
type KnownWriters = Vec<(SchemaRef, Arc<WriterSchema>)>;

/// What a schema id is read with.
#[derive(Debug)]
struct ReaderSchema {
    avro: apache_avro::Schema,
    connect: SchemaRef,
}

/// Confluent's AvroConverter.
#[derive(Debug)]
pub struct AvroConverter {
    is_key: bool,
    client: RegistryClient,
    auto_register: bool,
    use_latest_version: bool,
    strategy: SubjectNameStrategy,
    data: AvroDataConfig,
    writers: RwLock<HashMap<String, KnownWriters>>,
    readers: RwLock<HashMap<u32, Arc<ReaderSchema>>>,
}

impl AvroConverter {
    /// Confluent's class name.
    pub const CLASS_NAME: &'static str = "io.confluent.connect.avro.AvroConverter";
    /// Short names accepted for it.
    pub const ALIASES: &'static [&'static str] = &["AvroConverter", "Avro"];

    /// Reads Confluent's converter keys: `schema.registry.url` (required),
    /// `auto.register.schemas`, `use.latest.version`,
    /// `key.subject.name.strategy` / `value.subject.name.strategy`,
    /// `basic.auth.credentials.source`, `basic.auth.user.info`,
    /// `connect.meta.data`, `enhanced.avro.schema.support`, `scrub.invalid.names`,
    /// and for https registries `schema.registry.ssl.truststore.*` (PEM; the
    /// system's CAs without one) and `schema.registry.ssl.keystore.*` (a
    /// client certificate).
    pub fn new(config: &ConverterConfig) -> Result<Self, ConvertError> {
        let url = config.get("schema.registry.url").unwrap_or("");
        let (url, auth) = credentials(config, url)?;
        let ssl =
            sluice_tls::SslProps::new(&config.props, sluice_tls::Scope::Prefix("schema.registry."));
        let tls = sluice_tls::client_config_of(&ssl)
            .map_err(|e| ConvertError::config("schema.registry.ssl", e))?;
        let client = RegistryClient::new(&url, auth, tls)?;
        let strategy_key = if config.is_key {
            "key.subject.name.strategy"
        } else {
            "value.subject.name.strategy"
        };
        let strategy = match config.get(strategy_key) {
            Some(v) => SubjectNameStrategy::parse(strategy_key, v)?,
            None => SubjectNameStrategy::Topic,
        };
        let data = AvroDataConfig::from_config(config)?;
        Ok(Self {
            is_key: config.is_key,
            client,
            auto_register: config.get_bool("auto.register.schemas", true)?,
            use_latest_version: config.get_bool("use.latest.version", false)?,
            strategy,
            data,
            writers: RwLock::new(HashMap::new()),
            readers: RwLock::new(HashMap::new()),
        })
    }

    fn writer(&self, topic: &str, schema: &SchemaRef) -> Result<Arc<WriterSchema>, ConvertError> {
        if let Ok(writers) = self.writers.read()
            && let Some(known) = writers.get(topic)
            && let Some((_, w)) = known.iter().find(|(s, _)| Arc::ptr_eq(s, schema))
        {
            return Ok(w.clone());
        }
        // Not this schema object: an equal schema (one entry per distinct
        // schema, now pointing at the newest object), or a new one.
        if let Ok(mut writers) = self.writers.write()
            && let Some(known) = writers.get_mut(topic)
            && let Some(entry) = known.iter_mut().find(|(s, _)| **s == **schema)
        {
            entry.0 = schema.clone();
            return Ok(entry.1.clone());
        }
        let w = Arc::new(self.resolve_writer(topic, schema)?);
        if let Ok(mut writers) = self.writers.write() {
            let known = writers.entry(topic.to_owned()).or_default();
            if known.len() >= MAX_SCHEMAS_PER_TOPIC {
                known.remove(0);
            }
            known.push((schema.clone(), w.clone()));
        }
        Ok(w)
    }

    fn resolve_writer(
        &self,
        topic: &str,
        schema: &SchemaRef,
    ) -> Result<WriterSchema, ConvertError> {
        let avro = avro::to_avro_schema(schema, &self.data)
            .map_err(|e| ConvertError::Serialize(format!("topic {topic}: {e}")))?;
        let subject = self.strategy.subject(topic, self.is_key, &avro.parsed)?;
        let id = if self.use_latest_version {
            let latest = self.client.latest(&subject)?;
            let reader = self.reader_from(&latest.text, &latest.references)?;
            if *reader.connect != **schema {
                return Err(ConvertError::Serialize(format!(
                    "topic {topic}: use.latest.version=true but the latest schema of subject {subject} (id {}) is not the record's schema; records are written only with a schema equal to the latest",
                    latest.id
                )));
            }
            latest.id
        } else if self.auto_register {
            self.client.register(&subject, &avro.json)?
        } else {
            self.client.lookup(&subject, &avro.json)?
        };
        tracing::info!(
            topic,
            subject,
            id,
            "Avro schema resolved in the schema registry"
        );
        Ok(WriterSchema { id, avro })
    }

    fn reader(&self, id: u32) -> Result<Arc<ReaderSchema>, ConvertError> {
        if let Ok(readers) = self.readers.read()
            && let Some(r) = readers.get(&id)
        {
            return Ok(r.clone());
        }
        let fetched = self.client.by_id(id)?;
        let reader = Arc::new(self.reader_from(&fetched.text, &fetched.references)?);
        if let Ok(mut readers) = self.readers.write() {
            readers.insert(id, reader.clone());
        }
        Ok(reader)
    }

    fn reader_from(&self, text: &str, references: &[String]) -> Result<ReaderSchema, ConvertError> {
        let (avro, connect) = avro::parse_avro_schema(text, references).map_err(|e| {
            ConvertError::Deserialize(format!("the registry's schema is not usable: {e}"))
        })?;
        Ok(ReaderSchema { avro, connect })
    }
}

/// The registry URLs without credentials, and the credentials from
/// `basic.auth.credentials.source`: `URL` (the default: `http://user:pass@host`),
/// or `USER_INFO` (`basic.auth.user.info=user:pass`).
fn credentials(
    config: &ConverterConfig,
    url: &str,
) -> Result<(String, Option<(String, String)>), ConvertError> {
    let source = config
        .get("basic.auth.credentials.source")
        .unwrap_or("URL")
        .to_ascii_uppercase();
    match source.as_str() {
        "USER_INFO" => {
            let info = config.get("basic.auth.user.info").unwrap_or("");
            let (user, password) = info.split_once(':').ok_or_else(|| {
                ConvertError::config(
                    "basic.auth.user.info",
                    "Expected user:password with basic.auth.credentials.source=USER_INFO",
                )
            })?;
            Ok((url.to_owned(), Some((user.to_owned(), password.to_owned()))))
        }
        "URL" => {
            let mut auth = None;
            let mut urls = Vec::new();
            for u in url.split(',').map(str::trim) {
                let parsed = u.split_once("://").and_then(|(scheme, rest)| {
                    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    let (info, host) = authority.rsplit_once('@')?;
                    Some((scheme, info, host, path))
                });
                match parsed {
                    Some((scheme, info, host, path)) => {
                        if let Some((user, password)) = info.split_once(':') {
                            auth.get_or_insert((percent_decode(user), percent_decode(password)));
                        }
                        urls.push(format!("{scheme}://{host}{path}"));
                    }
                    None => urls.push(u.to_owned()),
                }
            }
            Ok((urls.join(","), auth))
        }
        other => Err(ConvertError::config(
            "basic.auth.credentials.source",
            format!("{other} is not supported; use URL or USER_INFO"),
        )),
    }
}

/// Decodes `%XX` escapes (user info in a URL); anything malformed is kept.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(&hi), Some(&lo)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(hi), Some(lo)) = (hex(hi), hex(lo))
        {
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Converter for AvroConverter {
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        if value.is_null() && schema.is_none_or(|s| s.optional) {
            return Ok(None);
        }
        let schema = schema.ok_or_else(|| {
            ConvertError::Serialize(format!(
                "topic {topic}: AvroConverter needs a schema; the record's {} has none",
                if self.is_key { "key" } else { "value" }
            ))
        })?;
        let writer = self.writer(topic, schema)?;
        let mut out = Vec::with_capacity(64);
        out.push(MAGIC);
        out.extend_from_slice(&writer.id.to_be_bytes());
        avro::encode_value(schema, &writer.avro.parsed, value, &mut out)
            .map_err(|e| ConvertError::Serialize(format!("topic {topic}: {e}")))?;
        Ok(Some(out))
    }

    fn to_connect(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::new(None, Value::Null));
        };
        let (header, body) = match bytes.split_first_chunk::<5>() {
            Some((header, body)) if header[0] == MAGIC => (header, body),
            Some((header, _)) => {
                return Err(ConvertError::Deserialize(format!(
                    "topic {topic}: Unknown magic byte {:#04x}: not Confluent's Avro wire format (magic byte 0, 4-byte schema id, Avro binary)",
                    header[0]
                )));
            }
            None => {
                return Err(ConvertError::Deserialize(format!(
                    "topic {topic}: {} bytes are too short for Confluent's Avro wire format (magic byte 0, 4-byte schema id, Avro binary)",
                    bytes.len()
                )));
            }
        };
        let id = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let reader = self.reader(id)?;
        let value = avro::decode_value(&reader.avro, &reader.connect, body).map_err(|e| {
            ConvertError::Deserialize(format!("topic {topic}, schema id {id}: {e}"))
        })?;
        Ok(SchemaAndValue::new(Some(reader.connect.clone()), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_url_or_user_info() {
        let config = ConverterConfig::new(false);
        let (urls, auth) = credentials(
            &config,
            "http://al%40ice:p@ss@reg:8081/base, http://other:8081",
        )
        .unwrap();
        assert_eq!(urls, "http://reg:8081/base,http://other:8081");
        assert_eq!(auth, Some(("al@ice".to_owned(), "p@ss".to_owned())));
        let config = ConverterConfig::new(false)
            .with("basic.auth.credentials.source", "USER_INFO")
            .with("basic.auth.user.info", "bob:secret");
        let (urls, auth) = credentials(&config, "http://reg:8081").unwrap();
        assert_eq!(urls, "http://reg:8081");
        assert_eq!(auth, Some(("bob".to_owned(), "secret".to_owned())));
        let config = ConverterConfig::new(false).with("basic.auth.credentials.source", "USER_INFO");
        assert!(
            credentials(&config, "http://reg:8081")
                .unwrap_err()
                .to_string()
                .contains("basic.auth.user.info")
        );
    }

    #[test]
    fn a_registry_url_is_required() {
        let err = AvroConverter::new(&ConverterConfig::new(false))
            .unwrap_err()
            .to_string();
        assert!(err.contains("schema.registry.url"), "{err}");
    }
}
