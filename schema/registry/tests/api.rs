//! The REST API against an in-memory log: success and error bodies as
//! Confluent Schema Registry returns them.

#![allow(clippy::unwrap_used)] // test helpers

use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sluice_schema_registry::compat::CompatibilityLevel;
use sluice_schema_registry::service::Registry;
use sluice_schema_registry::state::State;
use sluice_schema_registry::store::MemoryLog;
use tower::ServiceExt;

struct Api(axum::Router);

impl Api {
    fn new() -> Self {
        let state = Arc::new(RwLock::new(State::default()));
        let log = Arc::new(MemoryLog::new(state.clone()));
        let registry = Arc::new(Registry::new(state, log, CompatibilityLevel::Backward));
        Self(sluice_schema_registry::api::router(registry))
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/vnd.schemaregistry.v1+json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let response = self.0.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.schemaregistry.v1+json"
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn register(&self, subject: &str, schema: &Value) -> (u16, Value) {
        self.call(
            Method::POST,
            &format!("/subjects/{subject}/versions"),
            Some(json!({"schema": schema.to_string()})),
        )
        .await
    }
}

fn user_v1() -> Value {
    json!({"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"id","type":"long"}]})
}

fn user_v2() -> Value {
    json!({"type":"record","name":"User","namespace":"com.acme","fields":[
        {"name":"id","type":"long"},
        {"name":"email","type":["null","string"],"default":null}]})
}

#[tokio::test]
async fn register_is_idempotent_and_versions_are_listed() {
    let api = Api::new();
    assert_eq!(
        api.register("users-value", &user_v1()).await,
        (200, json!({"id": 1}))
    );
    // The same schema, spelled differently, is the same schema.
    let spaced = json!({"schema": serde_json::to_string_pretty(&user_v1()).unwrap()});
    assert_eq!(
        api.call(Method::POST, "/subjects/users-value/versions", Some(spaced))
            .await,
        (200, json!({"id": 1}))
    );
    assert_eq!(
        api.register("users-value", &user_v2()).await,
        (200, json!({"id": 2}))
    );
    // The same schema under another subject keeps its id.
    assert_eq!(
        api.register("other-value", &user_v1()).await,
        (200, json!({"id": 1}))
    );

    assert_eq!(
        api.call(Method::GET, "/subjects", None).await,
        (200, json!(["other-value", "users-value"]))
    );
    assert_eq!(
        api.call(Method::GET, "/subjects/users-value/versions", None)
            .await,
        (200, json!([1, 2]))
    );
    let (status, latest) = api
        .call(Method::GET, "/subjects/users-value/versions/latest", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(latest["subject"], "users-value");
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["id"], 2);
    assert_eq!(latest["schema"], user_v2().to_string());
    assert_eq!(
        api.call(Method::GET, "/subjects/users-value/versions/1/schema", None)
            .await,
        (200, user_v1())
    );
    assert_eq!(
        api.call(Method::GET, "/schemas/ids/2", None).await,
        (200, json!({"schema": user_v2().to_string()}))
    );
    assert_eq!(
        api.call(Method::GET, "/schemas/ids/1/schema", None).await,
        (200, user_v1())
    );
    assert_eq!(
        api.call(Method::GET, "/schemas/ids/1/versions", None).await,
        (
            200,
            json!([{"subject":"other-value","version":1},{"subject":"users-value","version":1}])
        )
    );
    assert_eq!(
        api.call(Method::GET, "/schemas/types", None).await,
        (200, json!(["AVRO"]))
    );

    let (status, found) = api
        .call(
            Method::POST,
            "/subjects/users-value",
            Some(json!({"schema": user_v1().to_string()})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (found["version"].clone(), found["id"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn errors_have_confluent_codes() {
    let api = Api::new();
    let not_found = |code: u64, message: &str| json!({"error_code": code, "message": message});
    assert_eq!(
        api.call(Method::GET, "/subjects/nope/versions", None).await,
        (404, not_found(40401, "Subject 'nope' not found."))
    );
    api.register("s", &user_v1()).await;
    assert_eq!(
        api.call(Method::GET, "/subjects/s/versions/7", None).await,
        (404, not_found(40402, "Version 7 not found."))
    );
    assert_eq!(
        api.call(Method::GET, "/schemas/ids/99", None).await,
        (404, not_found(40403, "Schema 99 not found"))
    );
    let (status, body) = api.call(Method::GET, "/subjects/s/versions/0", None).await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42202)));
    let (status, body) = api
        .call(
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": "{\"type\":\"record\"}"})),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (422, json!(42201)),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::POST,
            "/subjects/s/versions",
            Some(json!({"schema": "{", "schemaType": "AVRO"})),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].clone()),
        (422, json!(42201)),
        "{body}"
    );
    let (status, body) = api
        .call(
            Method::PUT,
            "/config",
            Some(json!({"compatibility": "SIDEWAYS"})),
        )
        .await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42203)));
    let (status, body) = api
        .call(
            Method::POST,
            "/subjects/s",
            Some(json!({"schema": "\"string\""})),
        )
        .await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40403)));
    let (status, body) = api.call(Method::GET, "/config/s", None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40408)));
}

#[tokio::test]
async fn incompatible_changes_are_409_with_reasons() {
    let api = Api::new();
    api.register("s", &user_v1()).await;
    let breaking = json!({"type":"record","name":"User","namespace":"com.acme","fields":[
        {"name":"id","type":"long"},{"name":"email","type":"string"}]});
    let (status, body) = api.register("s", &breaking).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error_code"], 409);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("incompatible with an earlier schema for subject \"s\""),
        "{message}"
    );
    assert!(
        message.contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
        "{message}"
    );

    let (status, body) = api
        .call(
            Method::POST,
            "/compatibility/subjects/s/versions/latest?verbose=true",
            Some(json!({"schema": breaking.to_string()})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["is_compatible"], false);
    assert!(!body["messages"].as_array().unwrap().is_empty());
    assert_eq!(
        api.call(
            Method::POST,
            "/compatibility/subjects/s/versions",
            Some(json!({"schema": user_v2().to_string()}))
        )
        .await,
        (200, json!({"is_compatible": true}))
    );

    // With NONE on the subject the same change registers.
    assert_eq!(
        api.call(
            Method::PUT,
            "/config/s",
            Some(json!({"compatibility": "NONE"}))
        )
        .await,
        (200, json!({"compatibility": "NONE"}))
    );
    assert_eq!(
        api.call(Method::GET, "/config/s", None).await,
        (200, json!({"compatibilityLevel": "NONE"}))
    );
    assert_eq!(
        api.call(Method::GET, "/config", None).await,
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
    assert_eq!(api.register("s", &breaking).await, (200, json!({"id": 2})));
    assert_eq!(
        api.call(Method::DELETE, "/config/s", None).await,
        (200, json!({"compatibilityLevel": "NONE"}))
    );
    assert_eq!(
        api.call(Method::GET, "/config/s?defaultToGlobal=true", None)
            .await,
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
}

#[tokio::test]
async fn soft_and_hard_deletes() {
    let api = Api::new();
    api.register("s", &user_v1()).await;
    api.register("s", &user_v2()).await;
    assert_eq!(
        api.call(
            Method::DELETE,
            "/subjects/s/versions/2?permanent=true",
            None
        )
        .await
        .1["error_code"],
        40407
    );
    assert_eq!(
        api.call(Method::DELETE, "/subjects/s/versions/2", None)
            .await,
        (200, json!(2))
    );
    assert_eq!(
        api.call(Method::DELETE, "/subjects/s/versions/2", None)
            .await
            .1["error_code"],
        40406,
        "deleting a soft-deleted version again"
    );
    assert_eq!(
        api.call(Method::GET, "/subjects/s/versions", None).await,
        (200, json!([1]))
    );
    assert_eq!(
        api.call(Method::GET, "/subjects/s/versions?deleted=true", None)
            .await,
        (200, json!([1, 2]))
    );
    // A soft-deleted schema can still be read by id (deserializers need it).
    assert_eq!(api.call(Method::GET, "/schemas/ids/2", None).await.0, 200);
    assert_eq!(
        api.call(Method::DELETE, "/subjects/s?permanent=true", None)
            .await
            .1["error_code"],
        40405
    );
    assert_eq!(
        api.call(Method::DELETE, "/subjects/s", None).await,
        (200, json!([1]))
    );
    assert_eq!(
        api.call(Method::GET, "/subjects", None).await,
        (200, json!([]))
    );
    assert_eq!(
        api.call(Method::GET, "/subjects?deleted=true", None).await,
        (200, json!(["s"]))
    );
    assert_eq!(
        api.call(Method::DELETE, "/subjects/s", None).await.1["error_code"],
        40404
    );
    assert_eq!(
        api.call(Method::DELETE, "/subjects/s?permanent=true", None)
            .await,
        (200, json!([1, 2]))
    );
    assert_eq!(
        api.call(Method::GET, "/schemas/ids/1", None).await.1["error_code"],
        40403
    );
    // Ids are not reused after a hard delete.
    let v3 = json!({"type":"record","name":"Other","fields":[]});
    assert_eq!(api.register("s", &v3).await, (200, json!({"id": 3})));
}

#[tokio::test]
async fn references_and_modes() {
    let api = Api::new();
    let address = json!({"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"city","type":"string"}]});
    assert_eq!(
        api.register("address", &address).await,
        (200, json!({"id": 1}))
    );
    let user = json!({"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"home","type":"com.acme.Address"}]});
    let body = json!({"schema": user.to_string(), "references": [{"name":"com.acme.Address","subject":"address","version":1}]});
    assert_eq!(
        api.call(Method::POST, "/subjects/users-value/versions", Some(body))
            .await,
        (200, json!({"id": 2}))
    );
    let (_, by_id) = api.call(Method::GET, "/schemas/ids/2", None).await;
    assert_eq!(
        by_id["references"],
        json!([{"name":"com.acme.Address","subject":"address","version":1}])
    );
    assert_eq!(
        api.call(
            Method::GET,
            "/subjects/address/versions/1/referencedby",
            None
        )
        .await,
        (200, json!([2]))
    );
    // Without the reference the type is unknown.
    assert_eq!(
        api.register("users2-value", &user).await.1["error_code"],
        42201
    );
    // A referenced version cannot be deleted.
    assert_eq!(
        api.call(Method::DELETE, "/subjects/address/versions/1", None)
            .await
            .1["error_code"],
        42205
    );

    assert_eq!(
        api.call(Method::GET, "/mode", None).await,
        (200, json!({"mode": "READWRITE"}))
    );
    assert_eq!(
        api.call(Method::PUT, "/mode", Some(json!({"mode": "READONLY"})))
            .await,
        (200, json!({"mode": "READONLY"}))
    );
    assert_eq!(api.register("x", &user_v1()).await.1["error_code"], 42205);
    assert_eq!(
        api.call(Method::PUT, "/mode", Some(json!({"mode": "IMPORT"})))
            .await
            .1["error_code"],
        42205
    );
    assert_eq!(
        api.call(Method::PUT, "/mode", Some(json!({"mode": "WHAT"})))
            .await
            .1["error_code"],
        42204
    );
    api.call(
        Method::PUT,
        "/mode?force=true",
        Some(json!({"mode": "IMPORT"})),
    )
    .await;
    let import = json!({"schema": user_v1().to_string(), "id": 100, "version": 5});
    assert_eq!(
        api.call(Method::POST, "/subjects/imported/versions", Some(import))
            .await,
        (200, json!({"id": 100}))
    );
    assert_eq!(
        api.call(Method::GET, "/subjects/imported/versions", None)
            .await,
        (200, json!([5]))
    );
    // In IMPORT mode a registration gives its id, and a taken version is refused.
    let no_id = json!({"schema": user_v2().to_string()});
    assert_eq!(
        api.call(Method::POST, "/subjects/imported/versions", Some(no_id))
            .await
            .1["error_code"],
        42205
    );
    let clash = json!({"schema": user_v2().to_string(), "id": 101, "version": 5});
    assert_eq!(
        api.call(Method::POST, "/subjects/imported/versions", Some(clash))
            .await
            .1["error_code"],
        42205
    );
    let too_big = json!({"schema": user_v2().to_string(), "id": 4_294_967_295_u64});
    assert_eq!(
        api.call(Method::POST, "/subjects/imported/versions", Some(too_big))
            .await
            .0,
        422
    );
}
