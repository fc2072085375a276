//! Source partitions and offsets in the form the hot path wants: a
//! partition is shared (cloning it bumps a reference count), an offset is
//! compact (one integer field needs no map at all). Both turn into Kafka
//! Connect's JSON maps only when offsets are stored, once per flush.

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::{Arc, LazyLock};

use serde_json::Value as Json;

use super::OffsetMap;

/// Where in the source system records come from (a file, a table, a
/// replication slot): Kafka Connect's source partition map, shared.
///
/// Build it once per partition and clone it into every record: a clone is
/// a reference count, and the runtime recognises the same partition by
/// pointer before it compares maps.
///
/// ```
/// use sluice_connect_api::SourcePartition;
/// let p = SourcePartition::one("filename", "/data/in.txt");
/// assert_eq!(p["filename"], "/data/in.txt");
/// assert_eq!(p.clone(), p);
/// ```
#[derive(Clone)]
pub struct SourcePartition(Arc<OffsetMap>);

static EMPTY: LazyLock<SourcePartition> = LazyLock::new(|| SourcePartition::new(OffsetMap::new()));

impl SourcePartition {
    pub fn new(map: OffsetMap) -> Self {
        Self(Arc::new(map))
    }

    /// A partition with one field, the common case.
    pub fn one(key: impl Into<String>, value: impl Into<Json>) -> Self {
        let mut m = OffsetMap::new();
        m.insert(key.into(), value.into());
        Self::new(m)
    }

    /// The empty partition (a source with nothing to resume, e.g. stdin).
    pub fn empty() -> Self {
        EMPTY.clone()
    }

    pub fn as_map(&self) -> &OffsetMap {
        &self.0
    }

    /// The map, copied only if it is still shared.
    pub fn into_map(self) -> OffsetMap {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The same shared partition (no map comparison).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for SourcePartition {
    fn default() -> Self {
        Self::empty()
    }
}

impl Deref for SourcePartition {
    type Target = OffsetMap;
    fn deref(&self) -> &OffsetMap {
        &self.0
    }
}

impl PartialEq for SourcePartition {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other) || *self.0 == *other.0
    }
}

impl std::fmt::Debug for SourcePartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<OffsetMap> for SourcePartition {
    fn from(m: OffsetMap) -> Self {
        Self::new(m)
    }
}

/// The position after a record in its source partition: Kafka Connect's
/// source offset map in a compact form.
///
/// [`SourceOffset::int`] (`{"position": 42}`) allocates nothing;
/// [`SourceOffset::fields`] takes several fields with fixed names (a
/// replication position: LSN, transaction id, ...) in one small vector. The
/// runtime builds the JSON map of the last offset per partition only when
/// it stores offsets.
///
/// ```
/// use sluice_connect_api::SourceOffset;
/// let o = SourceOffset::int("position", 42);
/// assert_eq!(o.get_i64("position"), Some(42));
/// assert_eq!(serde_json::Value::Object(o.to_map()), serde_json::json!({"position": 42}));
/// ```
#[derive(Clone)]
pub struct SourceOffset(Repr);

type Key = Cow<'static, str>;

#[derive(Clone)]
enum Repr {
    Int(Key, i64),
    Fields(Vec<(Key, Json)>),
}

impl SourceOffset {
    /// An offset of one integer field.
    pub fn int(key: impl Into<Cow<'static, str>>, value: i64) -> Self {
        Self(Repr::Int(key.into(), value))
    }

    /// An offset of several fields, in the order given (a later duplicate
    /// name wins when the map is built).
    pub fn fields<K: Into<Cow<'static, str>>>(fields: impl IntoIterator<Item = (K, Json)>) -> Self {
        Self(Repr::Fields(
            fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// No offset (nothing to resume from).
    pub fn empty() -> Self {
        Self(Repr::Fields(Vec::new()))
    }

    pub fn is_empty(&self) -> bool {
        matches!(&self.0, Repr::Fields(f) if f.is_empty())
    }

    /// One field's value.
    pub fn get(&self, key: &str) -> Option<Json> {
        match &self.0 {
            Repr::Int(k, v) => (k == key).then(|| Json::from(*v)),
            Repr::Fields(f) => f
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone()),
        }
    }

    /// One integer field's value.
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        match &self.0 {
            Repr::Int(k, v) => (k == key).then_some(*v),
            Repr::Fields(f) => f
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.as_i64()),
        }
    }

    /// Kafka Connect's map, as stored in the offsets topic.
    pub fn to_map(&self) -> OffsetMap {
        let mut m = OffsetMap::new();
        match &self.0 {
            Repr::Int(k, v) => {
                m.insert(k.to_string(), Json::from(*v));
            }
            Repr::Fields(f) => {
                for (k, v) in f {
                    m.insert(k.to_string(), v.clone());
                }
            }
        }
        m
    }
}

impl PartialEq for SourceOffset {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Int(a, x), Repr::Int(b, y)) => a == b && x == y,
            _ => self.to_map() == other.to_map(),
        }
    }
}

impl std::fmt::Debug for SourceOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_map().fmt(f)
    }
}

impl Default for SourceOffset {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<OffsetMap> for SourceOffset {
    fn from(m: OffsetMap) -> Self {
        Self(Repr::Fields(
            m.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn partitions_compare_by_pointer_then_by_map() {
        let a = SourcePartition::one("file", "a");
        let b = SourcePartition::one("file", "a");
        assert!(!a.ptr_eq(&b));
        assert_eq!(a, b);
        assert!(a.ptr_eq(&a.clone()));
        assert_ne!(a, SourcePartition::one("file", "b"));
        assert!(SourcePartition::empty().is_empty());
        assert_eq!(a.clone().into_map(), b.into_map());
    }

    #[test]
    fn offsets_become_kafka_connect_maps() {
        let o = SourceOffset::fields([("lsn", json!(10)), ("txId", json!(7))]);
        assert_eq!(Json::Object(o.to_map()), json!({"lsn": 10, "txId": 7}));
        assert_eq!(o.get_i64("txId"), Some(7));
        assert_eq!(o.get("nope"), None);
        let from_map = SourceOffset::from(o.to_map());
        assert_eq!(from_map, o);
        assert_eq!(
            SourceOffset::int("position", 3),
            SourceOffset::from(SourceOffset::int("position", 3).to_map())
        );
        assert_ne!(
            SourceOffset::int("position", 3),
            SourceOffset::int("position", 4)
        );
        assert!(SourceOffset::empty().is_empty());
        assert!(SourceOffset::empty().to_map().is_empty());
        assert!(!SourceOffset::int("p", 0).is_empty());
    }
}
