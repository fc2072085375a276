use sluice_connect_api::{OffsetMap, SourceOffset, SourcePartition};

/// The latest source offset per source partition, in first-seen order.
/// Sources usually have few partitions, so a vector beats a hash map here,
/// and the same shared partition is recognised by pointer.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct PartitionOffsets {
    entries: Vec<(SourcePartition, SourceOffset)>,
}

impl PartitionOffsets {
    pub(crate) fn record(&mut self, partition: SourcePartition, offset: SourceOffset) {
        // The last partition seen is by far the most likely match.
        if let Some(last) = self.entries.last_mut()
            && last.0.ptr_eq(&partition)
        {
            last.1 = offset;
            return;
        }
        if partition.is_empty() && offset.is_empty() {
            return; // nothing to remember (e.g. reading stdin)
        }
        if let Some(slot) = self.entries.iter_mut().rev().find(|(p, _)| *p == partition) {
            slot.1 = offset;
        } else {
            self.entries.push((partition, offset));
        }
    }

    pub(crate) fn merge(&mut self, other: PartitionOffsets) {
        for (p, o) in other.entries {
            self.record(p, o);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn entries(&self) -> &[(SourcePartition, SourceOffset)] {
        &self.entries
    }

    /// Kafka Connect's maps, for the offset store: built here, once per
    /// flush and partition, not per record.
    pub(crate) fn to_store_entries(&self) -> Vec<(OffsetMap, Option<OffsetMap>)> {
        self.entries
            .iter()
            .map(|(p, o)| (p.as_map().clone(), Some(o.to_map())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_offset_per_partition_in_first_seen_order() {
        let a = SourcePartition::one("f", "a");
        let b = SourcePartition::one("f", "b");
        let mut o = PartitionOffsets::default();
        o.record(a.clone(), SourceOffset::int("position", 1));
        o.record(a.clone(), SourceOffset::int("position", 2));
        o.record(b.clone(), SourceOffset::int("position", 7));
        // An equal map that is not the same shared partition still matches.
        o.record(
            SourcePartition::one("f", "a"),
            SourceOffset::int("position", 3),
        );
        o.record(SourcePartition::empty(), SourceOffset::empty());
        let stored = o.to_store_entries();
        assert_eq!(stored.len(), 2);
        assert_eq!(
            serde_json::Value::Object(stored[0].0.clone()),
            serde_json::json!({"f": "a"})
        );
        assert_eq!(
            stored[0].1.clone().map(serde_json::Value::Object),
            Some(serde_json::json!({"position": 3}))
        );
        assert_eq!(
            stored[1].1.clone().map(serde_json::Value::Object),
            Some(serde_json::json!({"position": 7}))
        );
    }
}
