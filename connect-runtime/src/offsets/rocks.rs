use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use sluice_connect_api::OffsetMap;

use super::{OffsetStore, StoreError, decode_key, decode_value, encode_key, key_prefix};

const OFFSETS_CF: &str = "offsets";
/// Connector configs and target states (see `crate::state`).
pub(crate) const CONNECTORS_CF: &str = "connectors";
/// State of stateful transforms (see `crate::state::transform_store`).
pub(crate) const TRANSFORMS_CF: &str = "transform-state";

/// Offsets in a RocksDB database: one write batch and one sync per commit,
/// never per record.
#[derive(Debug, Clone)]
pub struct RocksOffsetStore {
    db: Arc<DB>,
    path: PathBuf,
}

impl RocksOffsetStore {
    /// Opens (or creates) the store in directory `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let io = |e: &dyn std::fmt::Display| StoreError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(path).map_err(|e| io(&e))?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // A small store: keep RocksDB's memory and threads modest.
        opts.set_max_background_jobs(1);
        opts.set_write_buffer_size(4 * 1024 * 1024);
        opts.set_keep_log_file_num(2);
        let cfs = vec![
            ColumnFamilyDescriptor::new(OFFSETS_CF, Options::default()),
            ColumnFamilyDescriptor::new(CONNECTORS_CF, Options::default()),
            ColumnFamilyDescriptor::new(TRANSFORMS_CF, Options::default()),
        ];
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| io(&e))?;
        Ok(Self {
            db: Arc::new(db),
            path: path.to_path_buf(),
        })
    }

    /// The database, shared with the connector store.
    pub(crate) fn db(&self) -> (Arc<DB>, PathBuf) {
        (self.db.clone(), self.path.clone())
    }

    fn err(&self, e: rocksdb::Error) -> StoreError {
        StoreError::Io {
            path: self.path.display().to_string(),
            message: e.into_string(),
        }
    }

    fn cf(&self) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db.cf_handle(OFFSETS_CF).ok_or_else(|| StoreError::Io {
            path: self.path.display().to_string(),
            message: format!("column family {OFFSETS_CF} is missing"),
        })
    }
}

/// Keys that hold how far a log was materialized; they sort before every
/// offset key (those start with `[`).
const POSITION_PREFIX: &[u8] = b"\x00position-";
/// When a log record was last materialized (after the positions).
const SYNCED_AT_KEY: &[u8] = b"\x00synced-at";

impl RocksOffsetStore {
    /// Applies one offsets-topic record read at `partition`/`offset` and
    /// remembers the position, in one write (not synced: the topic is the
    /// source of truth, a lost tail is read again).
    pub fn materialize(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
        partition: i32,
        offset: i64,
    ) -> Result<(), StoreError> {
        let cf = self.cf()?;
        let mut batch = WriteBatch::default();
        match value {
            Some(v) => batch.put_cf(cf, key, v),
            None => batch.delete_cf(cf, key),
        }
        let mut pk = POSITION_PREFIX.to_vec();
        pk.extend_from_slice(partition.to_string().as_bytes());
        batch.put_cf(cf, pk, (offset + 1).to_string());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        batch.put_cf(cf, SYNCED_AT_KEY, now.to_string());
        self.db.write(batch).map_err(|e| self.err(e))
    }

    /// When a log record was last materialized (milliseconds since the
    /// epoch), if ever.
    pub fn synced_at(&self) -> Result<Option<i64>, StoreError> {
        let v = self
            .db
            .get_cf(self.cf()?, SYNCED_AT_KEY)
            .map_err(|e| self.err(e))?;
        Ok(v.and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok()))
    }

    /// Forgets every offset and position (to read the log again).
    pub fn clear_materialized(&self) -> Result<(), StoreError> {
        let cf = self.cf()?;
        let mut batch = WriteBatch::default();
        for item in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (k, _) = item.map_err(|e| self.err(e))?;
            batch.delete_cf(cf, k);
        }
        self.db.write(batch).map_err(|e| self.err(e))
    }

    /// Next offset to read per partition, as materialized so far.
    pub fn positions(&self) -> Result<std::collections::BTreeMap<i32, i64>, StoreError> {
        let mut out = std::collections::BTreeMap::new();
        for item in self.db.iterator_cf(
            self.cf()?,
            IteratorMode::From(POSITION_PREFIX, Direction::Forward),
        ) {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let Some(p) = k.strip_prefix(POSITION_PREFIX) else {
                break;
            };
            let text = |b: &[u8]| std::str::from_utf8(b).ok().map(str::to_string);
            let p = text(p).and_then(|t| t.parse::<i32>().ok());
            let o = text(&v).and_then(|t| t.parse::<i64>().ok());
            if let (Some(p), Some(o)) = (p, o) {
                out.insert(p, o);
            }
        }
        Ok(out)
    }
}

impl RocksOffsetStore {
    fn get_now(
        &self,
        connector: &str,
        partition: &OffsetMap,
    ) -> Result<Option<OffsetMap>, StoreError> {
        let key = encode_key(connector, partition);
        let v = self.db.get_cf(self.cf()?, &key).map_err(|e| self.err(e))?;
        v.map(|v| decode_value(&key, &v)).transpose()
    }

    fn put_all_now(
        &self,
        connector: &str,
        entries: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let cf = self.cf()?;
        let mut batch = WriteBatch::default();
        for (p, o) in entries {
            let key = encode_key(connector, p);
            match o {
                Some(o) => batch.put_cf(cf, key, serde_json::Value::Object(o.clone()).to_string()),
                None => batch.delete_cf(cf, key),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo).map_err(|e| self.err(e))
    }

    /// Every offset of `connector`, read now on this thread.
    pub(crate) fn all_now(
        &self,
        connector: &str,
    ) -> Result<Vec<(OffsetMap, OffsetMap)>, StoreError> {
        let prefix = key_prefix(connector);
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf()?, IteratorMode::From(&prefix, Direction::Forward))
        {
            let (k, v) = item.map_err(|e| self.err(e))?;
            if !k.starts_with(&prefix) {
                break;
            }
            out.push((decode_key(&k)?.1, decode_value(&k, &v)?));
        }
        Ok(out)
    }

    /// Runs `f` on tokio's blocking pool (RocksDB reads and syncs block).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| StoreError::Io {
                path: self.path.display().to_string(),
                message: format!("offset store call did not complete: {e}"),
            })?
    }
}

#[async_trait::async_trait]
impl OffsetStore for RocksOffsetStore {
    async fn get(
        &self,
        connector: &str,
        partition: &OffsetMap,
    ) -> Result<Option<OffsetMap>, StoreError> {
        let (c, p) = (connector.to_string(), partition.clone());
        self.blocking(move |s| s.get_now(&c, &p)).await
    }

    async fn put_all(
        &self,
        connector: &str,
        entries: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let c = connector.to_string();
        self.blocking(move |s| s.put_all_now(&c, &entries)).await
    }

    async fn all(&self, connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StoreError> {
        let c = connector.to_string();
        self.blocking(move |s| s.all_now(&c)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let store = RocksOffsetStore::open(dir.path()).unwrap();
        super::super::conformance::run_all(&store).await;
    }

    #[tokio::test]
    async fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = OffsetMap::new();
        p.insert("filename".into(), "f".into());
        let mut o = OffsetMap::new();
        o.insert("position".into(), 7.into());
        {
            let s = RocksOffsetStore::open(dir.path()).unwrap();
            s.put_all("c", vec![(p.clone(), Some(o.clone()))])
                .await
                .unwrap();
        }
        let s = RocksOffsetStore::open(dir.path()).unwrap();
        assert_eq!(s.get("c", &p).await.unwrap(), Some(o));
    }

    #[test]
    fn materialized_log_is_timestamped_and_can_be_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let s = RocksOffsetStore::open(dir.path()).unwrap();
        assert_eq!(s.synced_at().unwrap(), None);
        let key = encode_key("c", &OffsetMap::new());
        s.materialize(&key, Some(br#"{"position":3}"#), 2, 41)
            .unwrap();
        let t = s.synced_at().unwrap().unwrap();
        assert!(t > 1_700_000_000_000, "{t}");
        assert_eq!(s.positions().unwrap().get(&2), Some(&42));
        assert_eq!(s.all_now("c").unwrap().len(), 1);
        s.clear_materialized().unwrap();
        assert!(s.positions().unwrap().is_empty());
        assert!(s.all_now("c").unwrap().is_empty());
        assert_eq!(s.synced_at().unwrap(), None);
    }

    #[test]
    fn unusable_path_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x").unwrap();
        let err = RocksOffsetStore::open(&file).unwrap_err().to_string();
        assert!(err.contains("plain-file"), "{err}");
    }
}
