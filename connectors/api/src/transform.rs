//! Single message transforms and predicates (Kafka Connect's
//! `Transformation` and `Predicate`), and the record view they work on.
//!
//! A transform changes one record in place and says whether to keep it. The
//! same instance serves source and sink records through [`ConnectRecord`];
//! each task gets its own instances, so a transform may cache in `&mut self`
//! (e.g. the output schema per input schema) without locks.

use sluice_schema::{DataError, SchemaRef, Value};

use crate::Config;
use crate::config::{ConfigDef, ConfigErrors};
use crate::record::{Header, SinkRecord, SourceRecord};

/// What transforms and predicates see of a record: Kafka Connect's
/// `ConnectRecord`, mutable in place.
pub trait ConnectRecord: Send {
    fn topic(&self) -> &str;
    fn set_topic(&mut self, topic: String);
    /// The Kafka partition: always set on sink records, optional on source
    /// records.
    fn kafka_partition(&self) -> Option<i32>;
    /// The Kafka offset, for sink records only.
    fn kafka_offset(&self) -> Option<i64>;
    fn is_sink_record(&self) -> bool {
        self.kafka_offset().is_some()
    }
    fn timestamp(&self) -> Option<i64>;
    fn set_timestamp(&mut self, timestamp: Option<i64>);
    fn key_schema(&self) -> Option<&SchemaRef>;
    fn key(&self) -> &Value;
    fn value_schema(&self) -> Option<&SchemaRef>;
    fn value(&self) -> &Value;
    /// The key's schema and value, to replace or edit.
    fn key_mut(&mut self) -> (&mut Option<SchemaRef>, &mut Value);
    /// The value's schema and value, to replace or edit.
    fn value_mut(&mut self) -> (&mut Option<SchemaRef>, &mut Value);
    fn headers(&self) -> &[Header];
    fn headers_mut(&mut self) -> &mut Vec<Header>;
}

macro_rules! common_record_accessors {
    () => {
        fn topic(&self) -> &str {
            &self.topic
        }
        fn set_topic(&mut self, topic: String) {
            self.topic = topic.into();
        }
        fn timestamp(&self) -> Option<i64> {
            self.timestamp
        }
        fn set_timestamp(&mut self, timestamp: Option<i64>) {
            self.timestamp = timestamp;
        }
        fn key_schema(&self) -> Option<&SchemaRef> {
            self.key_schema.as_ref()
        }
        fn key(&self) -> &Value {
            &self.key
        }
        fn value_schema(&self) -> Option<&SchemaRef> {
            self.value_schema.as_ref()
        }
        fn value(&self) -> &Value {
            &self.value
        }
        fn key_mut(&mut self) -> (&mut Option<SchemaRef>, &mut Value) {
            (&mut self.key_schema, &mut self.key)
        }
        fn value_mut(&mut self) -> (&mut Option<SchemaRef>, &mut Value) {
            (&mut self.value_schema, &mut self.value)
        }
        fn headers(&self) -> &[Header] {
            &self.headers
        }
        fn headers_mut(&mut self) -> &mut Vec<Header> {
            &mut self.headers
        }
    };
}

impl ConnectRecord for SourceRecord {
    common_record_accessors!();
    fn kafka_partition(&self) -> Option<i32> {
        self.kafka_partition
    }
    fn kafka_offset(&self) -> Option<i64> {
        None
    }
}

impl ConnectRecord for SinkRecord {
    common_record_accessors!();
    fn kafka_partition(&self) -> Option<i32> {
        Some(self.kafka_partition)
    }
    fn kafka_offset(&self) -> Option<i64> {
        Some(self.kafka_offset)
    }
}

/// A single message transform (Kafka Connect's `Transformation`).
/// `Sync` only so a task holding one can be shared across awaits; `apply`
/// takes `&mut self`, so no locking is ever needed.
pub trait Transformation: Send + Sync {
    /// The keys this transform understands (shown by
    /// `/connector-plugins/{class}/config`, prefixed `transforms.<alias>.`
    /// in connector validation).
    fn config_def(&self) -> ConfigDef;

    /// Takes the transform's own keys, without the `transforms.<alias>.`
    /// prefix (`type`, `predicate` and `negate` may be present too and are
    /// to be ignored). Every bad key is reported.
    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors>;

    /// Transforms the record in place. `Ok(false)` drops it (Kafka
    /// Connect's `null`). An error is Kafka Connect's `DataException`: the
    /// message names the field and the reason.
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError>;

    /// Called once when the task starts, before any `apply`, with where
    /// the transform runs, its gauges and (for stateful transforms) the
    /// worker's store. An error fails the task with the message.
    fn open(&mut self, _ctx: &TransformContext) -> Result<(), String> {
        Ok(())
    }

    /// A position covering every record applied so far; given back to
    /// [`Transformation::settle`] once those records are durable.
    fn mark(&mut self) -> u64 {
        0
    }

    /// The records applied up to `mark` are durable downstream (a source
    /// task's records acknowledged by Kafka). What a stateful transform
    /// learned from them may now be kept; before, a crash must not lose
    /// a record because of it.
    fn settle(&mut self, _mark: u64) {}

    /// The record just applied will not be sent (the task is stopping or
    /// failing on it): forget what was learned from it.
    fn forget_last(&mut self) {}
}

/// Where a transform runs, given to [`Transformation::open`].
#[derive(Clone)]
pub struct TransformContext {
    pub connector: String,
    pub task: i32,
    /// The alias in `transforms=`.
    pub alias: String,
    /// A source task's chain (records are settled once Kafka has them);
    /// `false` for a sink task's.
    pub source: bool,
    /// The task's gauges (status `metrics`, `/metrics`).
    pub gauges: crate::TaskGauges,
    /// The worker's key-value store for transform state, when it has one.
    pub store: Option<std::sync::Arc<dyn TransformStore>>,
}

impl std::fmt::Debug for TransformContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformContext")
            .field("connector", &self.connector)
            .field("task", &self.task)
            .field("alias", &self.alias)
            .field("source", &self.source)
            .field("store", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

/// A key and its value in a [`TransformStore`].
pub type StoreEntry = (Vec<u8>, Vec<u8>);

/// Durable key-value state of stateful transforms, one namespace each
/// (e.g. `<connector>/<alias>`), kept in the worker's local store.
pub trait TransformStore: Send + Sync + std::fmt::Debug {
    /// Every entry of `namespace`.
    fn load(&self, namespace: &str) -> Result<Vec<StoreEntry>, String>;
    /// Writes `puts` and removes `deletes` in `namespace` at once. The
    /// write reaches the operating system before it returns (it survives
    /// the process being killed), not necessarily the disk.
    fn write(
        &self,
        namespace: &str,
        puts: &[StoreEntry],
        deletes: &[Vec<u8>],
    ) -> Result<(), String>;
    /// Removes every namespace starting with `prefix` (`<connector>/`
    /// when the connector is deleted).
    fn clear(&self, prefix: &str) -> Result<(), String>;
}

/// A condition on a record (Kafka Connect's `Predicate`), used to apply a
/// transform only to some records.
pub trait Predicate: Send + Sync {
    fn config_def(&self) -> ConfigDef;

    /// Takes the predicate's own keys, without the `predicates.<alias>.`
    /// prefix (`type` may be present and is to be ignored).
    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors>;

    fn test(&self, record: &dyn ConnectRecord) -> bool;
}

/// A transform plugin: its class name, extra names and constructor.
#[derive(Debug, Clone, Copy)]
pub struct TransformPlugin {
    /// Kafka Connect's class name, e.g.
    /// `org.apache.kafka.connect.transforms.InsertField$Value`.
    pub class_name: &'static str,
    /// Short names also accepted (e.g. `Filter`).
    pub aliases: &'static [&'static str],
    pub version: &'static str,
    pub new: fn() -> Box<dyn Transformation>,
}

/// A predicate plugin.
#[derive(Debug, Clone, Copy)]
pub struct PredicatePlugin {
    /// e.g. `org.apache.kafka.connect.transforms.predicates.TopicNameMatches`.
    pub class_name: &'static str,
    pub aliases: &'static [&'static str],
    pub version: &'static str,
    pub new: fn() -> Box<dyn Predicate>,
}
