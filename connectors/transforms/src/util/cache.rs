//! A small cache of what a transform derived from an input schema (the
//! output schema and how to move values), like Kafka Connect's
//! `LRUCache<Schema, Schema>` of 16 entries.

use std::sync::Arc;

use sluice_connect_api::schema::{DataError, SchemaRef};

/// Kafka Connect's cache size for transforms.
pub(crate) const CACHE_SIZE: usize = 16;

/// Most recently used first. A lookup compares pointers first (the common
/// case: every record of a batch shares one `Arc`), then values; a value
/// hit adopts the new pointer so the next record hits by pointer.
#[derive(Debug)]
pub(crate) struct SchemaCache<T> {
    entries: Vec<(SchemaRef, T)>,
}

impl<T> Default for SchemaCache<T> {
    fn default() -> Self {
        Self {
            entries: Vec::with_capacity(CACHE_SIZE),
        }
    }
}

impl<T> SchemaCache<T> {
    /// The entry for `key`, built by `build` on a miss. A build error is
    /// returned and nothing is cached.
    pub(crate) fn get_or_try_insert(
        &mut self,
        key: &SchemaRef,
        build: impl FnOnce(&SchemaRef) -> Result<T, DataError>,
    ) -> Result<&T, DataError> {
        if let Some(i) = self.entries.iter().position(|(k, _)| Arc::ptr_eq(k, key)) {
            return Ok(self.promote(i));
        }
        if let Some(i) = self.entries.iter().position(|(k, _)| **k == **key) {
            self.entries[i].0 = Arc::clone(key);
            return Ok(self.promote(i));
        }
        let value = build(key)?;
        if self.entries.len() >= CACHE_SIZE {
            self.entries.pop();
        }
        self.entries.insert(0, (Arc::clone(key), value));
        Ok(&self.entries[0].1)
    }

    fn promote(&mut self, i: usize) -> &T {
        if i != 0 {
            self.entries[..=i].rotate_right(1);
        }
        &self.entries[0].1
    }

    /// Forgets everything (after a reconfiguration).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::schema::{Schema, SchemaBuilder};

    #[test]
    fn pointer_then_value_then_build() {
        let mut cache = SchemaCache::<u32>::default();
        let a = SchemaBuilder::struct_().field("a", Schema::int32()).build();
        let a2 = SchemaBuilder::struct_().field("a", Schema::int32()).build();
        let mut builds = 0;
        for s in [&a, &a, &a2, &a] {
            let v = cache
                .get_or_try_insert(s, |_| {
                    builds += 1;
                    Ok(7)
                })
                .unwrap();
            assert_eq!(*v, 7);
        }
        assert_eq!(builds, 1);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn bounded_and_errors_not_cached() {
        let mut cache = SchemaCache::<usize>::default();
        for i in 0..40 {
            let s = SchemaBuilder::struct_()
                .field(format!("f{i}"), Schema::int32())
                .build();
            cache.get_or_try_insert(&s, |_| Ok(i)).unwrap();
        }
        assert_eq!(cache.len(), CACHE_SIZE);
        let s = Schema::string();
        assert!(
            cache
                .get_or_try_insert(&s, |_| Err(DataError::new("no")))
                .is_err()
        );
        assert_eq!(cache.len(), CACHE_SIZE);
    }
}
