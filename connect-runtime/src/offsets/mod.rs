//! Source offset storage.
//!
//! Keys and values use Kafka Connect's offsets-topic encoding: the key is the
//! JSON array `["<connector>",{<source partition>}]`, the value the JSON
//! object of the source offset. Partition objects are written with sorted
//! keys so equal partitions always give equal keys.

mod memory;
mod reader;
mod rocks;

use std::fmt;

use sluice_connect_api::OffsetMap;
use thiserror::Error;

pub use memory::MemoryOffsetStore;
pub use reader::ConnectorOffsetReader;
pub use rocks::RocksOffsetStore;
pub(crate) use rocks::{CONNECTORS_CF, TRANSFORMS_CF};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("offset store I/O error at {path}: {message}")]
    Io { path: String, message: String },
    #[error("corrupt offset store entry {key}: {message}")]
    Corrupt { key: String, message: String },
}

/// Where source offsets live. Implementations: RocksDB (standalone), memory
/// (tests), the Kafka offsets topic (distributed mode).
///
/// Async, and never blocking the calling thread: RocksDB work (reads, the
/// one fsync per flush) runs on tokio's blocking pool, the offsets topic is
/// awaited.
#[async_trait::async_trait]
pub trait OffsetStore: Send + Sync + fmt::Debug {
    async fn get(
        &self,
        connector: &str,
        partition: &OffsetMap,
    ) -> Result<Option<OffsetMap>, StoreError>;

    /// Writes all entries atomically and durably (one batch, one sync).
    /// A `None` offset deletes the partition's offset.
    async fn put_all(
        &self,
        connector: &str,
        entries: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), StoreError>;

    /// Every partition and offset stored for a connector.
    async fn all(&self, connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StoreError>;
}

/// Sorts object keys recursively.
fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The store key of a connector's source partition.
pub fn encode_key(connector: &str, partition: &OffsetMap) -> Vec<u8> {
    let v = serde_json::Value::Array(vec![
        serde_json::Value::String(connector.to_string()),
        canonical(&serde_json::Value::Object(partition.clone())),
    ]);
    v.to_string().into_bytes()
}

/// The prefix every key of `connector` starts with.
fn key_prefix(connector: &str) -> Vec<u8> {
    let mut p = serde_json::Value::Array(vec![serde_json::Value::String(connector.to_string())])
        .to_string()
        .into_bytes();
    p.pop(); // the closing ']'
    p.push(b',');
    p
}

/// Parses a store key back into (connector, partition).
pub fn decode_key(key: &[u8]) -> Result<(String, OffsetMap), StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message,
    };
    let v: serde_json::Value = serde_json::from_slice(key).map_err(|e| corrupt(e.to_string()))?;
    match v {
        serde_json::Value::Array(mut a) if a.len() == 2 => {
            let p = a.pop();
            let c = a.pop();
            match (c, p) {
                (Some(serde_json::Value::String(c)), Some(serde_json::Value::Object(p))) => {
                    Ok((c, p))
                }
                _ => Err(corrupt("expected [\"connector\", {partition}]".to_string())),
            }
        }
        _ => Err(corrupt("expected a two-element array".to_string())),
    }
}

fn decode_value(key: &[u8], value: &[u8]) -> Result<OffsetMap, StoreError> {
    match serde_json::from_slice(value) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            message: "offset is not a JSON object".to_string(),
        }),
        Err(e) => Err(StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            message: e.to_string(),
        }),
    }
}

#[cfg(test)]
pub(crate) mod conformance {
    //! Tests every [`OffsetStore`] must pass; each backend runs them.
    use super::*;
    use serde_json::json;

    fn map(v: serde_json::Value) -> OffsetMap {
        match v {
            serde_json::Value::Object(m) => m,
            _ => OffsetMap::new(),
        }
    }

    pub(crate) async fn run_all(store: &dyn OffsetStore) {
        let p1 = map(json!({"filename": "/a", "x": 1}));
        let p1_reordered = map(json!({"x": 1, "filename": "/a"}));
        let p2 = map(json!({"filename": "/b"}));
        assert_eq!(store.get("c1", &p1).await.unwrap(), None);
        store
            .put_all(
                "c1",
                vec![
                    (p1.clone(), Some(map(json!({"position": 10})))),
                    (p2.clone(), Some(map(json!({"position": 3})))),
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            store.get("c1", &p1_reordered).await.unwrap(),
            Some(map(json!({"position": 10})))
        );
        // Another connector with a name that is a prefix does not see them.
        assert_eq!(store.get("c", &p1).await.unwrap(), None);
        store
            .put_all("c", vec![(p1.clone(), Some(map(json!({"position": 99}))))])
            .await
            .unwrap();
        store
            .put_all("c1", vec![(p1.clone(), Some(map(json!({"position": 20}))))])
            .await
            .unwrap();
        let mut all = store.all("c1").await.unwrap();
        all.sort_by_key(|(p, _)| p["filename"].as_str().map(str::to_string));
        assert_eq!(
            all,
            vec![
                (p1.clone(), map(json!({"position": 20}))),
                (p2.clone(), map(json!({"position": 3})))
            ]
        );
        store.put_all("c1", vec![(p2.clone(), None)]).await.unwrap();
        assert_eq!(store.get("c1", &p2).await.unwrap(), None);
        assert_eq!(store.all("c1").await.unwrap().len(), 1);
        assert_eq!(store.all("c").await.unwrap().len(), 1);
    }

    #[test]
    fn key_encoding_is_kafka_connects() {
        let k = encode_key("local-file-source", &map(json!({"filename": "test.txt"})));
        assert_eq!(
            String::from_utf8(k.clone()).unwrap(),
            r#"["local-file-source",{"filename":"test.txt"}]"#
        );
        let (c, p) = decode_key(&k).unwrap();
        assert_eq!(c, "local-file-source");
        assert_eq!(p["filename"], "test.txt");
        assert!(k.starts_with(&key_prefix("local-file-source")));
        assert!(!k.starts_with(&key_prefix("local-file")));
        assert!(decode_key(b"not json").is_err());
    }
}
