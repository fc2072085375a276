//! `io.debezium.transforms.ExtractNewRecordState`: a change event becomes
//! its row (`after`; `before` for rewritten deletes), for sinks that want
//! rows, such as the JDBC sink.
//!
//! Records that are not change envelopes (heartbeats, transaction
//! records) pass unchanged; truncates are dropped. `delete.tombstone.
//! handling.mode` (Debezium 3.2's key, default `tombstone`) or, when it is
//! not set, the older `delete.handling.mode` + `drop.tombstones`.

use sluice_connect_api::config::{
    ConfigDef, ConfigEnum, ConfigErrors, ConfigKey, ConnectorConfig, Importance, TypedDef,
};
use sluice_connect_api::schema::{
    DataError, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_connect_api::{Config, ConnectRecord, Header, Transformation};

/// `delete.tombstone.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteMode {
    Drop,
    #[default]
    Tombstone,
    Rewrite,
    RewriteWithTombstone,
    DeleteToTombstone,
}

impl ConfigEnum for DeleteMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("drop", DeleteMode::Drop),
            ("tombstone", DeleteMode::Tombstone),
            ("rewrite", DeleteMode::Rewrite),
            ("rewrite-with-tombstone", DeleteMode::RewriteWithTombstone),
            ("delete-to-tombstone", DeleteMode::DeleteToTombstone),
        ]
    }
}

#[derive(Debug, Default)]
struct EnrsConfig {
    mode: Option<DeleteMode>,
    legacy_delete: String,
    legacy_drop_tombstones: bool,
    add_fields: Vec<String>,
    add_fields_prefix: String,
    add_headers: Vec<String>,
    add_headers_prefix: String,
    route_by_field: String,
    drop_fields_header: String,
}

impl ConnectorConfig for EnrsConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named("delete.tombstone.handling.mode").importance(Importance::Medium)
                    .doc("Deletes and tombstones: drop (both removed), tombstone (a delete becomes a record with a null row; tombstones removed; the default), rewrite (a delete becomes its before row with __deleted=true; tombstones removed), rewrite-with-tombstone (rewrite, tombstones kept), delete-to-tombstone (a delete becomes a tombstone)."),
                |c, v| c.mode = v,
            )
            .field(
                ConfigKey::named("delete.handling.mode").default_value("").importance(Importance::Low)
                    .validator(sluice_connect_api::config::Validator::one_of(&["", "drop", "none", "rewrite"]))
                    .doc("Debezium before 3.2, when delete.tombstone.handling.mode is not set: drop, none or rewrite."),
                |c, v| c.legacy_delete = v,
            )
            .field(
                ConfigKey::named("drop.tombstones").default_value("true").importance(Importance::Low)
                    .doc("Debezium before 3.2, with delete.handling.mode: remove tombstones."),
                |c, v| c.legacy_drop_tombstones = v,
            )
            .field(
                ConfigKey::named("add.fields").default_value("").importance(Importance::Low)
                    .doc("Envelope fields to add to the row: op, ts_ms, source.<field> or a bare source field (table, lsn, db), each optionally :newName; named add.fields.prefix + [struct_] + field."),
                |c, v| c.add_fields = v,
            )
            .field(
                ConfigKey::named("add.fields.prefix").default_value("__").importance(Importance::Low)
                    .doc("Prefix of added fields."),
                |c, v| c.add_fields_prefix = v,
            )
            .field(
                ConfigKey::named("add.headers").default_value("").importance(Importance::Low)
                    .doc("Envelope fields to add as headers, named as for add.fields."),
                |c, v| c.add_headers = v,
            )
            .field(
                ConfigKey::named("add.headers.prefix").default_value("__").importance(Importance::Low)
                    .doc("Prefix of added headers."),
                |c, v| c.add_headers_prefix = v,
            )
            .field(
                ConfigKey::named("route.by.field").default_value("").importance(Importance::Low)
                    .doc("A row field whose value becomes the topic."),
                |c, v| c.route_by_field = v,
            )
            .field(
                ConfigKey::named("drop.fields.header.name").default_value("").importance(Importance::Low)
                    .doc("A header holding a list of row fields to drop (only optional ones, so the schema stays compatible)."),
                |c, v| c.drop_fields_header = v,
            )
    }
}

/// One `add.fields` / `add.headers` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Added {
    /// `None`: the envelope itself; else a struct of it (`source`,
    /// `transaction`).
    parent: Option<String>,
    field: String,
    name: String,
}

fn parse_added(list: &[String], prefix: &str) -> Vec<Added> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (path, rename) = match entry.split_once(':') {
                Some((p, r)) => (p.trim(), Some(r.trim())),
                None => (entry, None),
            };
            let (parent, field, default_name) = match path.split_once('.') {
                Some((p, f)) => (Some(p.to_string()), f.to_string(), format!("{p}_{f}")),
                None => {
                    let parent = match path {
                        "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
                        "id" | "total_order" | "data_collection_order" => {
                            Some("transaction".to_string())
                        }
                        _ => Some("source".to_string()),
                    };
                    (parent, path.to_string(), path.to_string())
                }
            };
            Added {
                parent,
                field,
                name: format!("{prefix}{}", rename.unwrap_or(&default_name)),
            }
        })
        .collect()
}

/// The schema and value of an added field in an envelope.
fn lookup(env: &Struct, a: &Added) -> Option<(SchemaRef, Value)> {
    let (schema, value) = match &a.parent {
        None => {
            let f = env.schema().field(&a.field)?;
            (f.schema.clone(), env.get(&a.field)?.clone())
        }
        Some(p) => {
            let Some(Value::Struct(s)) = env.get(p) else {
                let f = env.schema().field(p)?;
                let inner = f.schema.field(&a.field)?;
                return Some((inner.schema.clone(), Value::Null));
            };
            let f = s.schema().field(&a.field)?;
            (f.schema.clone(), s.get(&a.field)?.clone())
        }
    };
    Some((schema, value))
}

/// A copy of a field schema, optional and without a default.
fn optional_copy(s: &Schema) -> SchemaRef {
    let mut c = s.clone();
    c.optional = true;
    c.default = None;
    std::sync::Arc::new(c)
}

/// The SMT.
#[derive(Debug, Default)]
pub struct ExtractNewRecordState {
    mode: DeleteMode,
    /// Tombstones kept (only rewrite-with-tombstone, or the legacy
    /// `drop.tombstones=false`).
    keep_tombstones: bool,
    fields: Vec<Added>,
    headers: Vec<Added>,
    route_by: String,
    drop_header: String,
    /// Output schema per (row schema, deleted), most recent last.
    cache: Vec<(SchemaRef, bool, SchemaRef)>,
}

impl ExtractNewRecordState {
    fn rewrites(&self) -> bool {
        matches!(
            self.mode,
            DeleteMode::Rewrite | DeleteMode::RewriteWithTombstone
        )
    }

    fn out_schema(
        &mut self,
        row: &SchemaRef,
        env: &Struct,
        deleted: bool,
    ) -> Result<SchemaRef, DataError> {
        if let Some((_, _, s)) = self
            .cache
            .iter()
            .find(|(r, d, _)| *d == deleted && (std::sync::Arc::ptr_eq(r, row) || **r == **row))
        {
            return Ok(s.clone());
        }
        let mut b = SchemaBuilder::struct_();
        if let Some(n) = &row.name {
            b = b.name(n.clone());
        }
        if let Some(v) = row.version {
            b = b.version(v);
        }
        for f in &row.fields {
            b = b.field(f.name.clone(), f.schema.clone());
        }
        if self.rewrites() {
            b = b.field("__deleted", SchemaBuilder::string().optional().build());
        }
        for a in &self.fields {
            if let Some((s, _)) = lookup(env, a) {
                b = b.field(a.name.clone(), optional_copy(&s));
            }
        }
        let s = b.try_build()?;
        if self.cache.len() >= 256 {
            self.cache.remove(0);
        }
        self.cache.push((row.clone(), deleted, s.clone()));
        Ok(s)
    }

    /// The row with `__deleted` and the added fields.
    fn enrich(&mut self, row: Struct, env: &Struct, deleted: bool) -> Result<Value, DataError> {
        if !self.rewrites() && self.fields.is_empty() {
            return Ok(Value::Struct(row));
        }
        let (row_schema, mut values) = row.into_parts();
        let schema = self.out_schema(&row_schema, env, deleted)?;
        if self.rewrites() {
            values.push(Value::String(deleted.to_string()));
        }
        for a in &self.fields {
            if let Some((_, v)) = lookup(env, a) {
                values.push(v);
            }
        }
        Ok(Value::Struct(Struct::from_parts_unchecked(schema, values)))
    }
}

impl Transformation for ExtractNewRecordState {
    fn config_def(&self) -> ConfigDef {
        EnrsConfig::definition().config_def().clone()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = EnrsConfig::parse(config)?;
        (self.mode, self.keep_tombstones) = match c.mode {
            Some(m) => (m, m == DeleteMode::RewriteWithTombstone),
            None if c.legacy_delete.is_empty() => (DeleteMode::Tombstone, false),
            None => (
                match c.legacy_delete.as_str() {
                    "rewrite" => DeleteMode::Rewrite,
                    "none" => DeleteMode::Tombstone,
                    _ => DeleteMode::Drop,
                },
                !c.legacy_drop_tombstones,
            ),
        };
        self.fields = parse_added(&c.add_fields, &c.add_fields_prefix);
        self.headers = parse_added(&c.add_headers, &c.add_headers_prefix);
        self.route_by = c.route_by_field.trim().to_string();
        self.drop_header = c.drop_fields_header.trim().to_string();
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        // A tombstone.
        if record.value().is_null() && record.value_schema().is_none() {
            // Only `op` has a value on a tombstone: a delete's.
            for a in self
                .headers
                .iter()
                .filter(|a| a.field == "op" && a.parent.is_none())
            {
                record.headers_mut().push(Header {
                    key: a.name.clone(),
                    schema: Some(SchemaBuilder::string().build()),
                    value: Value::String("d".into()),
                });
            }
            return Ok(self.keep_tombstones);
        }
        let Some(schema) = record.value_schema().cloned() else {
            return Ok(true);
        };
        if schema.schema_type != SchemaType::Struct
            || !schema
                .name
                .as_deref()
                .is_some_and(|n| n.ends_with(".Envelope"))
        {
            return Ok(true);
        }
        let Value::Struct(env) = record.value().clone() else {
            return Ok(true);
        };
        for a in &self.headers {
            if let Some((s, v)) = lookup(&env, a) {
                record.headers_mut().push(Header {
                    key: a.name.clone(),
                    schema: Some(optional_copy(&s)),
                    value: v,
                });
            }
        }
        let op = env
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let row_schema = schema
            .field("after")
            .map(|f| f.schema.clone())
            .ok_or_else(|| DataError::new("the envelope has no 'after' field"))?;
        let (row, deleted) = match (op.as_str(), env.get("after"), env.get("before")) {
            ("t", _, _) => return Ok(false),
            ("d", _, before) => match self.mode {
                DeleteMode::Drop => return Ok(false),
                DeleteMode::Tombstone => {
                    let (s, v) = record.value_mut();
                    *s = Some(row_schema);
                    *v = Value::Null;
                    return Ok(true);
                }
                DeleteMode::DeleteToTombstone => {
                    let (s, v) = record.value_mut();
                    *s = None;
                    *v = Value::Null;
                    return Ok(true);
                }
                DeleteMode::Rewrite | DeleteMode::RewriteWithTombstone => match before {
                    Some(Value::Struct(b)) => (b.clone(), true),
                    _ => return Ok(false),
                },
            },
            (_, Some(Value::Struct(after)), _) => (after.clone(), false),
            _ => return Ok(false),
        };
        let row = drop_fields(row, record.headers(), &self.drop_header)?;
        if !self.route_by.is_empty()
            && let Some(Value::String(t)) = row.get(&self.route_by)
        {
            let t = t.clone();
            record.set_topic(t);
        }
        let value = self.enrich(row, &env, deleted)?;
        let out_schema = match &value {
            Value::Struct(s) => s.schema().clone(),
            _ => row_schema,
        };
        let (s, v) = record.value_mut();
        *s = Some(out_schema);
        *v = value;
        Ok(true)
    }
}

/// Drops the optional fields the `drop.fields.header.name` header lists.
fn drop_fields(row: Struct, headers: &[Header], header: &str) -> Result<Struct, DataError> {
    if header.is_empty() {
        return Ok(row);
    }
    let Some(Value::Array(names)) = headers.iter().find(|h| h.key == header).map(|h| &h.value)
    else {
        return Ok(row);
    };
    let drop: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
    let (schema, values) = row.into_parts();
    let mut b = SchemaBuilder::struct_().optional();
    if let Some(n) = &schema.name {
        b = b.name(n.clone());
    }
    let mut kept = Vec::new();
    for (f, v) in schema.fields.iter().zip(values) {
        if drop.contains(&f.name.as_str()) && f.schema.optional {
            continue;
        }
        b = b.field(f.name.clone(), f.schema.clone());
        kept.push(v);
    }
    Ok(Struct::from_parts_unchecked(b.try_build()?, kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{self, Op};
    use sluice_connect_api::{SourceOffset, SourcePartition, SourceRecord};

    fn row_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .optional()
            .name("srv.public.t.Value")
            .field("id", SchemaBuilder::int32().build())
            .field("name", SchemaBuilder::string().optional().build())
            .build()
    }

    fn event(op: Op, before: Option<(i32, &str)>, after: Option<(i32, &str)>) -> SourceRecord {
        let row = row_schema();
        let src = envelope::pg_source_schema();
        let env = envelope::envelope_schema("srv.public.t", &row, &src);
        let mk = |x: Option<(i32, &str)>| {
            x.map_or(Value::Null, |(i, n)| {
                Value::Struct(Struct::from_parts_unchecked(
                    row.clone(),
                    vec![Value::Int32(i), Value::String(n.into())],
                ))
            })
        };
        let mut sv = vec![Value::Null; src.fields.len()];
        sv[10] = Value::String("t".into()); // table
        let source = Struct::from_parts_unchecked(src.clone(), sv);
        let value = envelope::envelope(&env, op, mk(before), mk(after), source, Value::Null, 1_000);
        SourceRecord::new(
            SourcePartition::empty(),
            SourceOffset::empty(),
            "srv.public.t",
            Some(env),
            value,
        )
    }

    fn smt(props: &[(&str, &str)]) -> ExtractNewRecordState {
        let mut s = ExtractNewRecordState::default();
        let c: Config = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        s.configure(&c).unwrap();
        s
    }

    #[test]
    fn rows_come_out_and_deletes_follow_the_mode() {
        let mut s = smt(&[]);
        let mut r = event(Op::Create, None, Some((1, "a")));
        assert!(s.apply(&mut r).unwrap());
        assert_eq!(
            r.value_schema.as_ref().unwrap().name.as_deref(),
            Some("srv.public.t.Value")
        );
        let Value::Struct(v) = &r.value else { panic!() };
        assert_eq!(v.get("id"), Some(&Value::Int32(1)));
        // tombstone mode: the delete keeps the row schema with a null row.
        let mut d = event(Op::Delete, Some((1, "a")), None);
        assert!(s.apply(&mut d).unwrap());
        assert!(d.value.is_null() && d.value_schema.is_some());
        let mut t = SourceRecord::new(
            SourcePartition::empty(),
            SourceOffset::empty(),
            "x",
            None,
            Value::Null,
        );
        assert!(
            !s.apply(&mut t).unwrap(),
            "the connector's tombstone is dropped"
        );
        let mut tr = event(Op::Truncate, None, None);
        assert!(!s.apply(&mut tr).unwrap());

        let mut s = smt(&[
            ("delete.tombstone.handling.mode", "rewrite"),
            ("add.fields", "op,table,source.ts_ms"),
        ]);
        let mut d = event(Op::Delete, Some((2, "b")), None);
        assert!(s.apply(&mut d).unwrap());
        let Value::Struct(v) = &d.value else { panic!() };
        let names: Vec<&str> = v.schema().fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "name",
                "__deleted",
                "__op",
                "__table",
                "__source_ts_ms"
            ]
        );
        assert_eq!(v.get("__deleted"), Some(&Value::String("true".into())));
        assert_eq!(v.get("__op"), Some(&Value::String("d".into())));
        assert_eq!(v.get("__table"), Some(&Value::String("t".into())));
        assert!(!v.schema().optional);

        let mut s = smt(&[("delete.tombstone.handling.mode", "drop")]);
        let mut d = event(Op::Delete, Some((2, "b")), None);
        assert!(!s.apply(&mut d).unwrap());
        // Not an envelope: unchanged.
        let mut h = SourceRecord::new(
            SourcePartition::empty(),
            SourceOffset::empty(),
            "hb",
            Some(envelope::heartbeat_value_schema()),
            Value::Struct(Struct::from_parts_unchecked(
                envelope::heartbeat_value_schema(),
                vec![Value::Int64(1)],
            )),
        );
        let before = h.clone();
        assert!(s.apply(&mut h).unwrap());
        assert_eq!(h, before);
    }

    #[test]
    fn legacy_keys_and_routing() {
        let mut s = smt(&[
            ("delete.handling.mode", "rewrite"),
            ("drop.tombstones", "false"),
            ("route.by.field", "name"),
        ]);
        let mut t = SourceRecord::new(
            SourcePartition::empty(),
            SourceOffset::empty(),
            "x",
            None,
            Value::Null,
        );
        assert!(s.apply(&mut t).unwrap(), "tombstones kept");
        let mut r = event(Op::Update, None, Some((3, "elsewhere")));
        assert!(s.apply(&mut r).unwrap());
        assert_eq!(&*r.topic, "elsewhere");
    }
}
