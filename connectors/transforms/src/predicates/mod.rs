//! Kafka Connect's predicates (`org.apache.kafka.connect.transforms.predicates.*`).

mod has_header_key;
mod record_is_tombstone;
mod topic_name_matches;

pub use has_header_key::HasHeaderKey;
pub use record_is_tombstone::RecordIsTombstone;
pub use topic_name_matches::TopicNameMatches;
