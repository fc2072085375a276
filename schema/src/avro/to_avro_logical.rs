//! The `logicalType` of Connect's logical types (Decimal, Date, Time,
//! Timestamp), written where and how Confluent writes it.

use super::error::{AvroError, Path};
use super::json::Jv;
use super::names::*;
use super::node::{NamedKind, Node, Props, add_prop};
use super::to_avro::Base;
use crate::logical::{DATE_NAME, DECIMAL_NAME, TIME_NAME, TIMESTAMP_NAME, decimal_scale};
use crate::schema::Schema;

fn name_is(s: &Schema, logical: &str) -> bool {
    s.name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case(logical))
}

pub(super) fn is_decimal(s: &Schema) -> bool {
    name_is(s, DECIMAL_NAME)
}

pub(super) fn decimal_precision(s: &Schema, path: &Path<'_>) -> Result<i64, AvroError> {
    match s.parameter(CONNECT_AVRO_DECIMAL_PRECISION_PROP) {
        None => Ok(CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT),
        Some(raw) => raw.parse::<i32>().map(i64::from).map_err(|_| {
            AvroError::schema(
                path,
                format!("invalid {CONNECT_AVRO_DECIMAL_PRECISION_PROP} parameter: \"{raw}\""),
            )
        }),
    }
}

/// The digits a fixed of `size` bytes can hold (Avro's `maxPrecision`).
fn max_precision(size: usize) -> i64 {
    if size == 0 {
        return 0;
    }
    ((size as f64 * 8.0 - 1.0) * std::f64::consts::LOG10_2).floor() as i64
}

/// The `logicalType` of Connect's logical types (and Decimal's precision and
/// scale), where Confluent writes them: after the connect.* properties.
pub(super) fn add_logical_type(
    s: &Schema,
    base: &Base,
    props: &mut Props,
    path: &Path<'_>,
) -> Result<(), AvroError> {
    let physical = |expected: &str| -> Result<(), AvroError> {
        let ok = match (base, expected) {
            (Base::Plain(Node::Primitive { name, .. }), e) => *name == e,
            (Base::Named(_, _, NamedKind::Fixed { .. }), "bytes") => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(AvroError::schema(
                path,
                format!(
                    "the logical type {} requires Avro {expected}",
                    s.name.as_deref().unwrap_or_default()
                ),
            ))
        }
    };
    let logical = if is_decimal(s) {
        physical("bytes")?;
        let precision = decimal_precision(s, path)?;
        let scale = match s.parameter(DECIMAL_SCALE_PROP) {
            None => 0,
            Some(_) => {
                i64::from(decimal_scale(s).map_err(|e| AvroError::schema(path, e.message()))?)
            }
        };
        if scale >= 0 && scale <= precision {
            if precision <= 0 {
                return Err(AvroError::schema(
                    path,
                    format!("invalid decimal precision: {precision} (must be positive)"),
                ));
            }
            if let Base::Named(_, _, NamedKind::Fixed { size }) = base
                && precision > max_precision(*size)
            {
                return Err(AvroError::schema(
                    path,
                    format!(
                        "fixed({size}) cannot store {precision} digits (max {})",
                        max_precision(*size)
                    ),
                ));
            }
            add_prop(props, LOGICAL_TYPE_PROP, Jv::Str(LOGICAL_DECIMAL.into()));
            add_prop(props, DECIMAL_PRECISION_PROP, Jv::Int(precision));
            add_prop(props, DECIMAL_SCALE_PROP, Jv::Int(scale));
        }
        // Otherwise Avro's decimal type cannot describe it; Confluent still
        // writes the logicalType property (readers ignore it as invalid).
        LOGICAL_DECIMAL
    } else if name_is(s, TIME_NAME) {
        physical("int")?;
        LOGICAL_TIME_MILLIS
    } else if name_is(s, TIMESTAMP_NAME) {
        physical("long")?;
        LOGICAL_TIMESTAMP_MILLIS
    } else if name_is(s, DATE_NAME) {
        physical("int")?;
        LOGICAL_DATE
    } else {
        return Ok(());
    };
    add_prop(props, LOGICAL_TYPE_PROP, Jv::Str(logical.into()));
    Ok(())
}
