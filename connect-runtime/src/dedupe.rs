//! `io.sluice.connect.transforms.Deduplicate` (alias `Deduplicate`): drops
//! a source record whose key (the record key, the value, a value field or
//! a header, e.g. AMQP's `rabbitmq.message.id`) was already seen within
//! `dedupe.window.ms`. At-least-once sources repeat what was in flight at
//! a crash; this removes the repeats without risking a loss:
//!
//! - a key counts as seen while its record is in flight (in memory), and
//!   is remembered in the worker's RocksDB only once Kafka acknowledged
//!   the record ([`Transformation::settle`]); a record that is not sent
//!   (the task stops or fails on it) is forgotten. A crash before the
//!   acknowledgement therefore lets the redelivered copy through: a
//!   repeat, never a loss;
//! - keys are kept as 16 bytes of their SHA-256, with the time they
//!   expire; at most `dedupe.max.keys` (the oldest go first) and never
//!   past the window;
//! - records without the key (a null key, a missing header or field) pass.
//!
//! The gauges `dedupe-<alias>-dropped` and `dedupe-<alias>-keys` show in
//! the task's status and `/metrics`. Sink connectors are refused for now.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConnectorConfig, Importance, TypedDef, Validator,
};
use sluice_connect_api::schema::{DataError, Value};
use sluice_connect_api::{
    Config, ConnectRecord, TaskGauge, TransformContext, TransformPlugin, TransformStore,
    Transformation,
};

pub const CLASS: &str = "io.sluice.connect.transforms.Deduplicate";

/// The plugin, registered by the runtime (it needs the worker's store).
pub const PLUGIN: TransformPlugin = TransformPlugin {
    class_name: CLASS,
    aliases: &["Deduplicate"],
    version: env!("CARGO_PKG_VERSION"),
    new: || Box::new(Deduplicate::default()),
};

type Hash = [u8; 16];

/// What identifies a record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum By {
    #[default]
    Key,
    Value,
    Field(Vec<String>),
    Header(String),
}

#[derive(Debug, Default)]
struct DedupeConfig {
    by: String,
    field: String,
    header: String,
    window: Duration,
    max_keys: usize,
}

impl ConnectorConfig for DedupeConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named("dedupe.by")
                    .default_value("key")
                    .validator(Validator::one_of(&["key", "value", "field", "header"]))
                    .importance(Importance::High)
                    .doc("What identifies a record: key (the record key), value (the whole value), field (a value field, see field) or header (see header)."),
                |c, v| c.by = v,
            )
            .field(
                ConfigKey::named("field")
                    .default_value("")
                    .importance(Importance::High)
                    .doc("With dedupe.by=field: the value field, dotted for nested fields (order.id)."),
                |c, v| c.field = v,
            )
            .field(
                ConfigKey::named("header")
                    .default_value("")
                    .importance(Importance::High)
                    .doc("With dedupe.by=header: the header, e.g. rabbitmq.message.id or correlation-id (an id from upstream; one Sluice made is new on every run)."),
                |c, v| c.header = v,
            )
            .field(
                ConfigKey::named("dedupe.window.ms")
                    .default_value("86400000")
                    .validator(Validator::between(1000.0, 31_622_400_000.0))
                    .importance(Importance::Medium)
                    .doc("How long a key is remembered after its record reached Kafka."),
                |c, v| c.window = v,
            )
            .field(
                ConfigKey::named("dedupe.max.keys")
                    .default_value("1000000")
                    .validator(Validator::between(1.0, 100_000_000.0))
                    .importance(Importance::Medium)
                    .doc("Most keys remembered (24 bytes each in memory and on disk); past it the oldest are forgotten first."),
                |c, v: i64| c.max_keys = usize::try_from(v).unwrap_or(1),
            )
            .check(|c| match c.by.as_str() {
                "field" if c.field.trim().is_empty() => {
                    vec![("field", "is required with dedupe.by=field")]
                }
                "header" if c.header.trim().is_empty() => {
                    vec![("header", "is required with dedupe.by=header")]
                }
                _ => vec![],
            })
    }
}

/// Drops records whose key was seen within the window (module docs).
#[derive(Default)]
pub struct Deduplicate {
    by: By,
    window_ms: i64,
    max_keys: usize,
    store: Option<Arc<dyn TransformStore>>,
    namespace: String,
    /// Keys remembered, with the time (ms) they expire.
    seen: HashMap<Hash, i64>,
    /// `seen` in the order keys were remembered (stale entries skipped).
    order: VecDeque<(Hash, i64)>,
    /// Keys of records applied and not yet settled, in apply order.
    pending: VecDeque<(u64, Hash)>,
    in_flight: HashMap<Hash, u32>,
    seq: u64,
    /// The key the last applied record added to `pending`.
    last: Option<(u64, Hash)>,
    dropped: TaskGauge,
    keys: TaskGauge,
    dropped_count: i64,
    write_failed: bool,
    /// The canonical bytes of the record's key, reused record to record.
    buf: Vec<u8>,
}

impl std::fmt::Debug for Deduplicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduplicate")
            .field("by", &self.by)
            .field("namespace", &self.namespace)
            .field("seen", &self.seen.len())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Appends a canonical form of `v` (type tag, then contents).
fn canonical(v: &Value, out: &mut Vec<u8>) {
    let len = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u64).to_be_bytes());
    match v {
        Value::Null => out.push(0),
        Value::Int8(x) => {
            out.push(1);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Int16(x) => {
            out.push(2);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Int32(x) => {
            out.push(3);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Int64(x) => {
            out.push(4);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Float32(x) => {
            out.push(5);
            out.extend_from_slice(&x.to_bits().to_be_bytes());
        }
        Value::Float64(x) => {
            out.push(6);
            out.extend_from_slice(&x.to_bits().to_be_bytes());
        }
        Value::Boolean(b) => out.extend_from_slice(&[7, u8::from(*b)]),
        // Text and bytes hash alike, so a header read as either matches.
        Value::String(s) => {
            out.push(8);
            len(out, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(8);
            len(out, b.len());
            out.extend_from_slice(b);
        }
        Value::Array(items) => {
            out.push(10);
            len(out, items.len());
            for i in items {
                canonical(i, out);
            }
        }
        Value::Map(entries) => {
            out.push(11);
            len(out, entries.len());
            for (k, v) in entries {
                canonical(k, out);
                canonical(v, out);
            }
        }
        Value::Struct(s) => {
            out.push(12);
            len(out, s.values().len());
            for v in s.values() {
                canonical(v, out);
            }
        }
    }
}

fn field<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for name in path {
        cur = match cur {
            Value::Struct(s) => s.get(name)?,
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::String(s) if s == name))
                .map(|(_, v)| v)?,
            _ => return None,
        };
    }
    Some(cur)
}

impl Deduplicate {
    /// The hash of the record's key, `None` when it has none.
    fn key_of(&mut self, record: &dyn ConnectRecord) -> Option<Hash> {
        let v = match &self.by {
            By::Key => record.key(),
            By::Value => record.value(),
            By::Field(path) => field(record.value(), path)?,
            By::Header(name) => {
                &record
                    .headers()
                    .iter()
                    .rev()
                    .find(|h| &h.key == name)?
                    .value
            }
        };
        if v.is_null() {
            return None;
        }
        self.buf.clear();
        canonical(v, &mut self.buf);
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.buf);
        let mut h = [0u8; 16];
        h.copy_from_slice(&digest.as_ref()[..16]);
        Some(h)
    }

    /// Forgets expired keys and the oldest past `max_keys`; the keys to
    /// delete from the store.
    fn evict(&mut self, now: i64) -> Vec<Vec<u8>> {
        let mut deletes = Vec::new();
        while let Some(&(h, expires)) = self.order.front() {
            let stale = self.seen.get(&h) != Some(&expires);
            if !stale && expires > now && self.seen.len() <= self.max_keys {
                break;
            }
            self.order.pop_front();
            if !stale {
                self.seen.remove(&h);
                deletes.push(h.to_vec());
            }
        }
        deletes
    }

    fn publish(&self) {
        self.keys
            .set(i64::try_from(self.seen.len()).unwrap_or(i64::MAX));
        self.dropped.set(self.dropped_count);
    }
}

impl Transformation for Deduplicate {
    fn config_def(&self) -> ConfigDef {
        DedupeConfig::definition().config_def().clone()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = DedupeConfig::parse(config)?;
        self.by = match c.by.as_str() {
            "value" => By::Value,
            "field" => By::Field(c.field.split('.').map(str::to_string).collect()),
            "header" => By::Header(c.header),
            _ => By::Key,
        };
        self.window_ms = i64::try_from(c.window.as_millis()).unwrap_or(i64::MAX);
        self.max_keys = c.max_keys;
        Ok(())
    }

    fn open(&mut self, ctx: &TransformContext) -> Result<(), String> {
        if !ctx.source {
            return Err("Deduplicate runs on source connectors only for now (on a sink, a key could be remembered only once the sink's offsets commit, which is not built yet)".into());
        }
        let store = ctx
            .store
            .clone()
            .ok_or("Deduplicate needs the worker's state store, and this worker has none")?;
        self.namespace = format!("{}/{}", ctx.connector, ctx.alias);
        self.dropped = ctx.gauges.gauge(&format!("dedupe-{}-dropped", ctx.alias));
        self.keys = ctx.gauges.gauge(&format!("dedupe-{}-keys", ctx.alias));
        let now = now_ms();
        let mut loaded: Vec<(Hash, i64)> = Vec::new();
        let mut deletes = Vec::new();
        for (k, v) in store.load(&self.namespace)? {
            let (Ok(h), Ok(e)) = (
                <Hash>::try_from(k.as_slice()),
                <[u8; 8]>::try_from(v.as_slice()),
            ) else {
                deletes.push(k);
                continue;
            };
            let expires = i64::from_be_bytes(e);
            if expires <= now {
                deletes.push(k);
            } else {
                loaded.push((h, expires));
            }
        }
        loaded.sort_by_key(|(_, e)| *e);
        for (h, e) in loaded {
            self.seen.insert(h, e);
            self.order.push_back((h, e));
        }
        deletes.extend(self.evict(now));
        store.write(&self.namespace, &[], &deletes)?;
        tracing::info!(
            namespace = %self.namespace,
            keys = self.seen.len(),
            "Deduplicate remembers keys from earlier runs"
        );
        self.store = Some(store);
        self.publish();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        self.last = None;
        if self.store.is_none() {
            return Err(DataError::new("Deduplicate was not opened by the task"));
        }
        let Some(h) = self.key_of(record) else {
            return Ok(true);
        };
        let seen = self.seen.get(&h).is_some_and(|e| *e > now_ms());
        if seen || self.in_flight.contains_key(&h) {
            self.dropped_count += 1;
            self.dropped.set(self.dropped_count);
            return Ok(false);
        }
        self.seq += 1;
        self.pending.push_back((self.seq, h));
        *self.in_flight.entry(h).or_default() += 1;
        self.last = Some((self.seq, h));
        Ok(true)
    }

    fn mark(&mut self) -> u64 {
        self.seq
    }

    fn settle(&mut self, mark: u64) {
        let now = now_ms();
        let expires = now.saturating_add(self.window_ms);
        let mut puts = Vec::new();
        while let Some(&(seq, h)) = self.pending.front() {
            if seq > mark {
                break;
            }
            self.pending.pop_front();
            if let Some(n) = self.in_flight.get_mut(&h) {
                *n -= 1;
                if *n == 0 {
                    self.in_flight.remove(&h);
                }
            }
            self.seen.insert(h, expires);
            self.order.push_back((h, expires));
            puts.push((h.to_vec(), expires.to_be_bytes().to_vec()));
        }
        if puts.is_empty() {
            return;
        }
        let deletes = self.evict(now);
        if let Some(store) = &self.store {
            match store.write(&self.namespace, &puts, &deletes) {
                Ok(()) => self.write_failed = false,
                // Kept in memory; after a restart their repeats pass.
                Err(e) if !self.write_failed => {
                    self.write_failed = true;
                    tracing::warn!(namespace = %self.namespace, "Deduplicate cannot store keys: {e}");
                }
                Err(_) => {}
            }
        }
        self.publish();
    }

    fn forget_last(&mut self) {
        if let Some((seq, h)) = self.last.take()
            && self.pending.back() == Some(&(seq, h))
        {
            self.pending.pop_back();
            if let Some(n) = self.in_flight.get_mut(&h) {
                *n -= 1;
                if *n == 0 {
                    self.in_flight.remove(&h);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::{Header, SourceRecord, TaskGauges};
    use std::sync::Mutex;

    /// Entries by (namespace, key).
    type Entries = std::collections::BTreeMap<(String, Vec<u8>), Vec<u8>>;

    /// A store in memory, shared by the instances of a test (a restart).
    #[derive(Debug, Default)]
    struct Mem(Mutex<Entries>);

    impl TransformStore for Mem {
        fn load(&self, ns: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
            let m = self.0.lock().unwrap();
            Ok(m.iter()
                .filter(|((n, _), _)| n == ns)
                .map(|((_, k), v)| (k.clone(), v.clone()))
                .collect())
        }
        fn write(
            &self,
            ns: &str,
            puts: &[(Vec<u8>, Vec<u8>)],
            deletes: &[Vec<u8>],
        ) -> Result<(), String> {
            let mut m = self.0.lock().unwrap();
            for d in deletes {
                m.remove(&(ns.to_string(), d.clone()));
            }
            for (k, v) in puts {
                m.insert((ns.to_string(), k.clone()), v.clone());
            }
            Ok(())
        }
        fn clear(&self, prefix: &str) -> Result<(), String> {
            self.0
                .lock()
                .unwrap()
                .retain(|(n, _), _| !n.starts_with(prefix));
            Ok(())
        }
    }

    fn opened(store: &Arc<Mem>, pairs: &[(&str, &str)]) -> (Deduplicate, TaskGauges) {
        let mut d = Deduplicate::default();
        let cfg: Config = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        d.configure(&cfg).unwrap();
        let gauges = TaskGauges::default();
        d.open(&TransformContext {
            connector: "c".into(),
            task: 0,
            alias: "d".into(),
            source: true,
            gauges: gauges.clone(),
            store: Some(store.clone()),
        })
        .unwrap();
        (d, gauges)
    }

    fn rec(id: &str) -> SourceRecord {
        let mut r = SourceRecord::new(
            Default::default(),
            Default::default(),
            "t",
            None,
            Value::from("v"),
        );
        r.headers.push(Header {
            key: "msg".into(),
            schema: None,
            value: Value::from(id),
        });
        r
    }

    fn keeps(d: &mut Deduplicate, id: &str) -> bool {
        d.apply(&mut rec(id)).unwrap()
    }

    #[test]
    fn in_flight_and_settled_keys_drop_repeats_and_survive_a_restart() {
        let store = Arc::new(Mem::default());
        let (mut d, gauges) = opened(&store, &[("dedupe.by", "header"), ("header", "msg")]);
        assert!(keeps(&mut d, "a"));
        assert!(!keeps(&mut d, "a"), "in flight: a repeat");
        assert!(keeps(&mut d, "b"));
        let m = d.mark();
        // Not settled: a restart forgets them (their records may not be in Kafka).
        let (mut again, _) = opened(&store, &[("dedupe.by", "header"), ("header", "msg")]);
        assert!(keeps(&mut again, "a"));
        d.settle(m);
        let (mut after, _) = opened(&store, &[("dedupe.by", "header"), ("header", "msg")]);
        assert!(!keeps(&mut after, "a"));
        assert!(!keeps(&mut after, "b"));
        assert!(keeps(&mut after, "c"));
        let values: std::collections::BTreeMap<_, _> = gauges.values().into_iter().collect();
        assert_eq!(values.get("dedupe-d-dropped"), Some(&1));
        assert_eq!(values.get("dedupe-d-keys"), Some(&2));
    }

    #[test]
    fn a_record_not_sent_is_forgotten_and_missing_keys_pass() {
        let store = Arc::new(Mem::default());
        let (mut d, _) = opened(&store, &[("dedupe.by", "header"), ("header", "msg")]);
        assert!(keeps(&mut d, "a"));
        d.forget_last();
        let m = d.mark();
        d.settle(m);
        assert!(
            keeps(&mut d, "a"),
            "the forgotten record's repeat must pass"
        );
        let mut no_header = SourceRecord::new(
            Default::default(),
            Default::default(),
            "t",
            None,
            Value::from("v"),
        );
        assert!(d.apply(&mut no_header).unwrap());
        assert!(d.apply(&mut no_header).unwrap());
    }

    /// A record a later stage drops leaves nothing behind in earlier
    /// stages: its id must not block a different message with that id.
    #[test]
    fn a_record_dropped_by_a_later_stage_is_forgotten() {
        let cfg: Config = [
            ("transforms", "d1,d2"),
            ("transforms.d1.type", "Deduplicate"),
            ("transforms.d1.dedupe.by", "header"),
            ("transforms.d1.header", "msg"),
            ("transforms.d2.type", "Deduplicate"),
            ("transforms.d2.dedupe.by", "value"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut chain =
            crate::transforms::TransformChain::build(&crate::plugins::registry(), &cfg).unwrap();
        let store = Arc::new(Mem::default());
        chain
            .open(&TransformContext {
                connector: "c".into(),
                task: 0,
                alias: String::new(),
                source: true,
                gauges: TaskGauges::default(),
                store: Some(store),
            })
            .unwrap();
        let with = |id: &str, v: &str| {
            let mut r = rec(id);
            r.value = Value::from(v);
            r
        };
        assert!(chain.apply(&mut with("A", "v1")).unwrap());
        assert!(
            !chain.apply(&mut with("B", "v1")).unwrap(),
            "same value: dropped by d2"
        );
        let marks = chain.mark();
        chain.settle(&marks);
        assert!(
            chain.apply(&mut with("B", "v2")).unwrap(),
            "B never reached Kafka: d1 must not drop it"
        );
    }

    #[test]
    fn the_oldest_keys_go_past_the_limit() {
        let store = Arc::new(Mem::default());
        let (mut d, _) = opened(
            &store,
            &[
                ("dedupe.by", "header"),
                ("header", "msg"),
                ("dedupe.max.keys", "2"),
            ],
        );
        for id in ["a", "b", "c"] {
            assert!(keeps(&mut d, id));
            let m = d.mark();
            d.settle(m);
        }
        assert!(keeps(&mut d, "a"), "a was evicted");
        assert!(!keeps(&mut d, "c"));
        assert_eq!(store.load("c/d").unwrap().len(), 2);
    }

    #[test]
    fn fields_and_config_errors() {
        let mut d = Deduplicate::default();
        let cfg: Config = [("dedupe.by", "field")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let e = d.configure(&cfg).unwrap_err();
        assert!(e.to_string().contains("field"), "{e}");
        let v = Value::Map(vec![(
            Value::from("order"),
            Value::Map(vec![(Value::from("id"), Value::Int64(7))]),
        )]);
        assert_eq!(
            field(&v, &["order".into(), "id".into()]),
            Some(&Value::Int64(7))
        );
        assert_eq!(field(&v, &["order".into(), "x".into()]), None);
        let mut sink = Deduplicate::default();
        let e = sink
            .open(&TransformContext {
                connector: "c".into(),
                task: 0,
                alias: "d".into(),
                source: false,
                gauges: TaskGauges::default(),
                store: None,
            })
            .unwrap_err();
        assert!(e.contains("source connectors only"), "{e}");
    }
}
