//! The part of Avro → Connect common to every type: the `connect.*`
//! properties (doc, version, parameters, default, name) and the field
//! default.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::AvroDataConfig;
use super::error::{AvroError, Path};
use super::from_avro::Opts;
use super::from_avro_default::default_from_json;
use super::names::*;
use crate::schema::{Schema, SchemaRef};

/// What the type-specific conversion learned for the common part.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    /// The Avro full name of a record, enum or fixed.
    pub(crate) avro_name: Option<String>,
    /// Whether that name names the Connect schema when no `connect.name`
    /// says otherwise (not for a fixed holding a Decimal).
    pub(crate) avro_name_is_connect_name: bool,
}

fn set_parameter(params: &mut Vec<(String, String)>, key: &str, value: String) {
    match params.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => params.push((key.to_string(), value)),
    }
}

/// Applies the `connect.*` properties in `props` to `s` and adds the
/// default, as the end of Confluent's `toConnectSchema` does.
///
/// Parameters: when `connect.parameters` is present its entries come first,
/// in its order, followed by those derived from the Avro type that it does
/// not list; so a Connect schema written by
/// [`to_avro_schema`](super::to_avro_schema) comes back with its parameters
/// in their original order.
pub(crate) fn finish(
    cfg: &AvroDataConfig,
    mut s: Schema,
    props: &Map<String, Json>,
    meta: Meta,
    opts: Opts<'_>,
    path: &Path<'_>,
) -> Result<SchemaRef, AvroError> {
    let connect_meta = cfg.connect_meta_data;
    if connect_meta && let Some(doc) = props.get(CONNECT_DOC_PROP).and_then(Json::as_str) {
        s.doc = Some(doc.to_string());
    }

    let version = match props.get(CONNECT_VERSION_PROP) {
        Some(v) => Some(number_as_i32(v).ok_or_else(|| {
            AvroError::schema(path, format!("Invalid Connect version found: {v}"))
        })?),
        None => opts.version,
    };
    if let Some(version) = version.filter(|v| *v >= 0) {
        match s.version {
            Some(existing) if existing != version => {
                return Err(AvroError::schema(
                    path,
                    format!(
                        "Mismatched versions: version already added to SchemaBuilder ({existing}) \
                         differs from version in source schema ({version})"
                    ),
                ));
            }
            _ => s.version = Some(version),
        }
    }

    let derived = std::mem::take(&mut s.parameters);
    let mut params: Vec<(String, String)> = Vec::with_capacity(derived.len());
    if connect_meta && let Some(p) = props.get(CONNECT_PARAMETERS_PROP) {
        let Json::Object(members) = p else {
            return Err(AvroError::schema(
                path,
                format!("Expected JSON object for schema parameters but found: {p}"),
            ));
        };
        for (k, v) in members {
            let Json::String(v) = v else {
                return Err(AvroError::schema(
                    path,
                    format!("Expected schema parameter values to be strings but found: {v}"),
                ));
            };
            set_parameter(&mut params, k, v.clone());
        }
    }
    for (k, v) in derived {
        if !params.iter().any(|(pk, _)| *pk == k) {
            params.push((k, v));
        }
    }
    for (k, v) in props {
        if k.starts_with(AVRO_PROP_PREFIX) {
            let text = match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            set_parameter(&mut params, k, text);
        }
    }

    let connect_default = props.get(CONNECT_DEFAULT_VALUE_PROP);
    let default = match opts.field_default {
        None => connect_default,
        Some(field_default) => {
            if connect_meta && connect_default.is_none() {
                set_parameter(
                    &mut params,
                    AVRO_FIELD_DEFAULT_FLAG_PROP,
                    "true".to_string(),
                );
            }
            Some(field_default)
        }
    };
    s.parameters = params;

    let name = match props.get(CONNECT_NAME_PROP) {
        Some(Json::String(n)) => Some(n.clone()),
        Some(other) => {
            return Err(AvroError::schema(
                path,
                format!("Invalid schema name: {other}"),
            ));
        }
        None if meta.avro_name_is_connect_name => meta.avro_name,
        None => None,
    };
    if let Some(name) = name.filter(|n| !n.starts_with(DEFAULT_SCHEMA_FULL_NAME)) {
        match &s.name {
            Some(existing) if *existing != name => {
                return Err(AvroError::schema(
                    path,
                    format!(
                        "Mismatched names: name already added to SchemaBuilder ({existing}) \
                         differs from name in source schema ({name})"
                    ),
                ));
            }
            Some(_) => {}
            None => s.name = Some(name),
        }
    }
    if opts.force_optional {
        s.optional = true;
    }

    let without_default = Arc::new(s);
    match default.and_then(|json| default_from_json(&without_default, json)) {
        Some(value) => {
            let mut s = Arc::unwrap_or_clone(without_default);
            s.default = Some(value);
            Ok(Arc::new(s))
        }
        None => Ok(without_default),
    }
}

/// A JSON number as Java's `Number.intValue()` reads it.
fn number_as_i32(v: &Json) -> Option<i32> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i as i32);
    }
    n.as_f64().map(|f| f as i32)
}
