//! The Confluent Schema Registry REST API over [`Registry`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};

use crate::error::RegistryError;
use crate::log::Reference;
use crate::service::{Registry, SchemaRequest, SubjectVersion, VersionSpec};

/// Confluent's content type, used for every response.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

type Params = Query<HashMap<String, String>>;
type Shared = State<Arc<Registry>>;
type ApiResult = Result<Response, RegistryError>;

/// The router; requests may send `application/vnd.schemaregistry.v1+json`,
/// `application/json` or no content type at all.
pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/", get(|| async { ok(json!({})) }))
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(versions).post(register))
        .route(
            "/subjects/{subject}/versions/{version}",
            get(version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(version_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(referenced_by),
        )
        .route("/schemas/types", get(|| async { ok(json!(["AVRO"])) }))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(schema_text_by_id))
        .route("/schemas/ids/{id}/versions", get(id_versions))
        .route("/schemas/ids/{id}/subjects", get(id_subjects))
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compatibility_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility_version),
        )
        .route(
            "/config",
            get(get_config).put(put_config).delete(delete_config),
        )
        .route(
            "/config/{subject}",
            get(get_config).put(put_config).delete(delete_config),
        )
        .route("/mode", get(get_mode).put(put_mode))
        .route(
            "/mode/{subject}",
            get(get_mode).put(put_mode).delete(delete_mode),
        )
        .fallback(|| async {
            error_response(&RegistryError {
                code: 404,
                message: "HTTP 404 Not Found".into(),
            })
        })
        .with_state(registry)
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}

fn error_response(error: &RegistryError) -> Response {
    let status =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error_code": error.code, "message": error.message});
    (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Json) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        body.to_string(),
    )
        .into_response()
}

fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn parse_id(id: &str) -> Result<u32, RegistryError> {
    id.parse::<u32>()
        .map_err(|_| RegistryError::schema_not_found())
}

fn body_json(body: &Bytes) -> Result<Json, RegistryError> {
    serde_json::from_slice(body).map_err(|e| RegistryError {
        code: 400,
        message: format!("Request body is not valid JSON: {e}"),
    })
}

fn schema_request(body: &Bytes) -> Result<SchemaRequest, RegistryError> {
    let json = body_json(body)?;
    let schema = match json.get("schema") {
        Some(Json::String(s)) => s.clone(),
        Some(_) => {
            return Err(RegistryError::unprocessable(
                "The field 'schema' must be a string holding the schema JSON",
            ));
        }
        None => {
            return Err(RegistryError::invalid_schema(
                "the request has no 'schema' field",
            ));
        }
    };
    let references = match json.get("references") {
        None | Some(Json::Null) => Vec::new(),
        Some(refs) => serde_json::from_value::<Vec<Reference>>(refs.clone()).map_err(|e| {
            RegistryError::unprocessable(format!(
                "The field 'references' must be a list of {{name, subject, version}}: {e}"
            ))
        })?,
    };
    let number = |field: &str| -> Result<Option<u32>, RegistryError> {
        match json.get(field) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => match v.as_i64() {
                Some(-1 | 0) => Ok(None),
                Some(n) => i32::try_from(n)
                    .ok()
                    .filter(|n| *n > 0)
                    .map(|n| Some(n.unsigned_abs()))
                    .ok_or_else(|| {
                        RegistryError::unprocessable(format!(
                            "The field '{field}' must be a positive integer"
                        ))
                    }),
                None => Err(RegistryError::unprocessable(format!(
                    "The field '{field}' must be an integer"
                ))),
            },
        }
    };
    Ok(SchemaRequest {
        schema,
        schema_type: json
            .get("schemaType")
            .and_then(Json::as_str)
            .map(str::to_owned),
        references,
        id: number("id")?,
        version: number("version")?,
    })
}

fn version_json(found: &SubjectVersion) -> Json {
    let mut body = json!({
        "subject": found.subject,
        "version": found.version,
        "id": found.schema.id,
        "schema": found.schema.text,
    });
    add_extras(
        &mut body,
        &found.schema.references,
        found.schema.schema_type.as_deref(),
    );
    body
}

fn add_extras(body: &mut Json, references: &[Reference], schema_type: Option<&str>) {
    if let Some(map) = body.as_object_mut() {
        if let Some(t) = schema_type {
            map.insert("schemaType".into(), json!(t));
        }
        if !references.is_empty() {
            map.insert("references".into(), json!(references));
        }
    }
}

async fn subjects(State(r): Shared, Query(p): Params) -> ApiResult {
    let prefix = p.get("subjectPrefix").map_or("", String::as_str);
    Ok(ok(json!(r.subjects(flag(&p, "deleted"), prefix)?)))
}

async fn versions(State(r): Shared, Path(subject): Path<String>, Query(p): Params) -> ApiResult {
    Ok(ok(json!(r.versions(&subject, flag(&p, "deleted"))?)))
}

async fn version(
    State(r): Shared,
    Path((subject, version)): Path<(String, String)>,
    Query(p): Params,
) -> ApiResult {
    let found = r.version(&subject, VersionSpec::parse(&version)?, flag(&p, "deleted"))?;
    Ok(ok(version_json(&found)))
}

async fn version_schema(
    State(r): Shared,
    Path((subject, version)): Path<(String, String)>,
    Query(p): Params,
) -> ApiResult {
    let found = r.version(&subject, VersionSpec::parse(&version)?, flag(&p, "deleted"))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        found.schema.text.clone(),
    )
        .into_response())
}

async fn referenced_by(
    State(r): Shared,
    Path((subject, version)): Path<(String, String)>,
) -> ApiResult {
    let found = r.version(&subject, VersionSpec::parse(&version)?, false)?;
    Ok(ok(json!(r.referenced_by_ids(&subject, found.version)?)))
}

async fn register(State(r): Shared, Path(subject): Path<String>, body: Bytes) -> ApiResult {
    let request = schema_request(&body)?;
    let id = r.register(&subject, &request).await?;
    Ok(ok(json!({"id": id})))
}

async fn lookup(
    State(r): Shared,
    Path(subject): Path<String>,
    Query(p): Params,
    body: Bytes,
) -> ApiResult {
    let request = schema_request(&body)?;
    let found = r.lookup(&subject, &request, flag(&p, "deleted"))?;
    Ok(ok(version_json(&found)))
}

async fn delete_version(
    State(r): Shared,
    Path((subject, version)): Path<(String, String)>,
    Query(p): Params,
) -> ApiResult {
    let deleted = r
        .delete_version(
            &subject,
            VersionSpec::parse(&version)?,
            flag(&p, "permanent"),
        )
        .await?;
    Ok(ok(json!(deleted)))
}

async fn delete_subject(
    State(r): Shared,
    Path(subject): Path<String>,
    Query(p): Params,
) -> ApiResult {
    Ok(ok(json!(
        r.delete_subject(&subject, flag(&p, "permanent")).await?
    )))
}

async fn schema_by_id(State(r): Shared, Path(id): Path<String>) -> ApiResult {
    let schema = r.schema_by_id(parse_id(&id)?)?;
    let mut body = json!({"schema": schema.text});
    add_extras(&mut body, &schema.references, schema.schema_type.as_deref());
    Ok(ok(body))
}

async fn schema_text_by_id(State(r): Shared, Path(id): Path<String>) -> ApiResult {
    let schema = r.schema_by_id(parse_id(&id)?)?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        schema.text.clone(),
    )
        .into_response())
}

async fn id_versions(State(r): Shared, Path(id): Path<String>, Query(p): Params) -> ApiResult {
    let pairs = r.id_versions(parse_id(&id)?, flag(&p, "deleted"))?;
    let body: Vec<Json> = pairs
        .into_iter()
        .map(|(s, v)| json!({"subject": s, "version": v}))
        .collect();
    Ok(ok(json!(body)))
}

async fn id_subjects(State(r): Shared, Path(id): Path<String>, Query(p): Params) -> ApiResult {
    let mut subjects: Vec<String> = r
        .id_versions(parse_id(&id)?, flag(&p, "deleted"))?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    subjects.dedup();
    Ok(ok(json!(subjects)))
}

fn compatibility_body(messages: Vec<String>, verbose: bool) -> Response {
    if verbose {
        ok(json!({"is_compatible": messages.is_empty(), "messages": messages}))
    } else {
        ok(json!({"is_compatible": messages.is_empty()}))
    }
}

async fn compatibility_all(
    State(r): Shared,
    Path(subject): Path<String>,
    Query(p): Params,
    body: Bytes,
) -> ApiResult {
    let request = schema_request(&body)?;
    let messages = r.check_compatibility(&subject, None, &request)?;
    Ok(compatibility_body(messages, flag(&p, "verbose")))
}

async fn compatibility_version(
    State(r): Shared,
    Path((subject, version)): Path<(String, String)>,
    Query(p): Params,
    body: Bytes,
) -> ApiResult {
    let spec = VersionSpec::parse(&version)?;
    let request = schema_request(&body)?;
    let messages = r.check_compatibility(&subject, Some(spec), &request)?;
    Ok(compatibility_body(messages, flag(&p, "verbose")))
}

async fn get_config(
    State(r): Shared,
    subject: Option<Path<String>>,
    Query(p): Params,
) -> ApiResult {
    let subject = subject.map(|Path(s)| s);
    let level = r.config(subject.as_deref(), flag(&p, "defaultToGlobal"))?;
    Ok(ok(json!({"compatibilityLevel": level.as_str()})))
}

async fn put_config(State(r): Shared, subject: Option<Path<String>>, body: Bytes) -> ApiResult {
    let subject = subject.map(|Path(s)| s);
    let json = body_json(&body)?;
    let level = json
        .get("compatibility")
        .or_else(|| json.get("compatibilityLevel"))
        .and_then(Json::as_str)
        .ok_or(RegistryError::invalid_compatibility_level("(missing)"))?;
    let level = r.set_config(subject.as_deref(), level).await?;
    Ok(ok(json!({"compatibility": level.as_str()})))
}

async fn delete_config(State(r): Shared, subject: Option<Path<String>>) -> ApiResult {
    let subject = subject.map(|Path(s)| s);
    let level = r.delete_config(subject.as_deref()).await?;
    Ok(ok(json!({"compatibilityLevel": level.as_str()})))
}

async fn get_mode(State(r): Shared, subject: Option<Path<String>>, Query(p): Params) -> ApiResult {
    let subject = subject.map(|Path(s)| s);
    let mode = r.mode(subject.as_deref(), flag(&p, "defaultToGlobal"))?;
    Ok(ok(json!({"mode": mode.as_str()})))
}

async fn put_mode(
    State(r): Shared,
    subject: Option<Path<String>>,
    Query(p): Params,
    body: Bytes,
) -> ApiResult {
    let subject = subject.map(|Path(s)| s);
    let json = body_json(&body)?;
    let mode = json
        .get("mode")
        .and_then(Json::as_str)
        .ok_or(RegistryError::invalid_mode("(missing)"))?;
    let mode = r
        .set_mode(subject.as_deref(), mode, flag(&p, "force"))
        .await?;
    Ok(ok(json!({"mode": mode.as_str()})))
}

async fn delete_mode(State(r): Shared, Path(subject): Path<String>) -> ApiResult {
    let mode = r.delete_mode(&subject).await?;
    Ok(ok(json!({"mode": mode.as_str()})))
}
