//! State of stateful transforms (Deduplicate's remembered keys) in the
//! worker's RocksDB, its own column family, one key space per namespace
//! (`<connector>/<alias>`): key = namespace, a 0 byte, the entry's key.
//! Writes go to RocksDB's log without a sync: they survive the process
//! being killed (the log is in the operating system's hands), and a
//! machine crash loses at most the last ones, which only lets repeats
//! through.

use std::path::PathBuf;
use std::sync::Arc;

use rocksdb::{DB, Direction, IteratorMode, WriteBatch, WriteOptions};
use sluice_connect_api::TransformStore;

use crate::offsets::RocksOffsetStore;

/// Transform state sharing the offset store's database.
#[derive(Debug, Clone)]
pub struct RocksTransformStore {
    db: Arc<DB>,
    path: PathBuf,
}

impl RocksTransformStore {
    pub fn new(offsets: &RocksOffsetStore) -> Self {
        let (db, path) = offsets.db();
        Self { db, path }
    }

    fn cf(&self) -> Result<&rocksdb::ColumnFamily, String> {
        self.db
            .cf_handle(crate::offsets::TRANSFORMS_CF)
            .ok_or_else(|| {
                format!(
                    "{}: column family transform-state is missing",
                    self.path.display()
                )
            })
    }

    fn err(&self, e: rocksdb::Error) -> String {
        format!("{}: {}", self.path.display(), e.into_string())
    }
}

fn prefix(namespace: &str) -> Vec<u8> {
    let mut p = namespace.as_bytes().to_vec();
    p.push(0);
    p
}

impl TransformStore for RocksTransformStore {
    fn load(&self, namespace: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
        let cf = self.cf()?;
        let p = prefix(namespace);
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&p, Direction::Forward))
        {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let Some(key) = k.strip_prefix(p.as_slice()) else {
                break;
            };
            out.push((key.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn write(
        &self,
        namespace: &str,
        puts: &[(Vec<u8>, Vec<u8>)],
        deletes: &[Vec<u8>],
    ) -> Result<(), String> {
        if puts.is_empty() && deletes.is_empty() {
            return Ok(());
        }
        let cf = self.cf()?;
        let p = prefix(namespace);
        let full = |k: &[u8]| [p.as_slice(), k].concat();
        let mut batch = WriteBatch::default();
        for k in deletes {
            batch.delete_cf(cf, full(k));
        }
        for (k, v) in puts {
            batch.put_cf(cf, full(k), v);
        }
        self.db
            .write_opt(batch, &WriteOptions::default())
            .map_err(|e| self.err(e))
    }

    fn clear(&self, prefix: &str) -> Result<(), String> {
        let cf = self.cf()?;
        let start = prefix.as_bytes().to_vec();
        // The first key after every key starting with `prefix`.
        let mut end = start.clone();
        while let Some(last) = end.pop() {
            if last < u8::MAX {
                end.push(last + 1);
                break;
            }
        }
        if end.is_empty() {
            return Err("cannot clear every namespace at once".into());
        }
        self.db
            .delete_range_cf(cf, &start, &end)
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_apart_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = RocksTransformStore::new(&RocksOffsetStore::open(dir.path()).unwrap());
            s.write("c/a", &[(b"k1".to_vec(), b"1".to_vec())], &[])
                .unwrap();
            s.write("c/ab", &[(b"k2".to_vec(), b"2".to_vec())], &[])
                .unwrap();
            s.write("c/a", &[(b"k3".to_vec(), b"3".to_vec())], &[b"k1".to_vec()])
                .unwrap();
        }
        let s = RocksTransformStore::new(&RocksOffsetStore::open(dir.path()).unwrap());
        assert_eq!(
            s.load("c/a").unwrap(),
            vec![(b"k3".to_vec(), b"3".to_vec())]
        );
        assert_eq!(s.load("c/ab").unwrap().len(), 1);
        s.write("d/a", &[(b"k".to_vec(), b"4".to_vec())], &[])
            .unwrap();
        s.clear("c/").unwrap();
        assert!(s.load("c/a").unwrap().is_empty());
        assert!(s.load("c/ab").unwrap().is_empty());
        assert_eq!(s.load("d/a").unwrap().len(), 1);
    }
}
