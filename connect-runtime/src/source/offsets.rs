use sluice_connect_api::OffsetMap;

/// The latest source offset per source partition, in first-seen order.
/// Sources usually have few partitions, so a vector beats a hash map here.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct PartitionOffsets {
    entries: Vec<(OffsetMap, OffsetMap)>,
}

impl PartitionOffsets {
    pub(crate) fn record(&mut self, partition: OffsetMap, offset: OffsetMap) {
        if partition.is_empty() && offset.is_empty() {
            return; // nothing to remember (e.g. reading stdin)
        }
        // The last partition seen is by far the most likely match.
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

    pub(crate) fn entries(&self) -> &[(OffsetMap, OffsetMap)] {
        &self.entries
    }

    pub(crate) fn into_store_entries(self) -> Vec<(OffsetMap, Option<OffsetMap>)> {
        self.entries
            .into_iter()
            .map(|(p, o)| (p, Some(o)))
            .collect()
    }
}
