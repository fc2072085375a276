//! Kafka Connect's `Values.parseString`: infers a schema and value from
//! text, as `InsertHeader` does with `value.literal`.
//!
//! `null` is null; `true`/`false` booleans; integers the smallest of
//! int8..int64 that holds them; other numbers float32 (or float64, or a
//! Decimal when neither is finite); `yyyy-MM-dd`, `HH:mm:ss.SSS'Z'` and
//! `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` the Date, Time and Timestamp logical types
//! (UTC); `[..]` arrays and `{k:v,..}` maps of such values with a common
//! schema; anything else, including text that fails to parse as one of
//! these, the string itself. Where Kafka Connect would give an array or map
//! a schema of `null` elements (no elements, only nulls, or elements
//! without a common type), the result here is schemaless instead: such a
//! schema cannot be written by converters.

use std::sync::Arc;

use sluice_connect_api::schema::logical::{self, Decimal};
use sluice_connect_api::schema::{DataError, Schema, SchemaBuilder, SchemaRef, SchemaType, Value};

use super::time::{MILLIS_PER_DAY, days_from_civil};

mod tokenizer;

use tokenizer::Tokenizer;

/// A parsed value: its schema (`None`: schemaless) and value.
pub(crate) type Parsed = (Option<SchemaRef>, Value);

/// Parses `text` as Kafka Connect's `Values.parseString`. `None` is Kafka
/// Connect's `null` result (the text `null`).
pub(crate) fn parse_string(text: &str) -> Option<Parsed> {
    if text.is_empty() {
        return Some((Some(Schema::string()), Value::String(String::new())));
    }
    let mut parser = ValueParser {
        p: Tokenizer::new(text),
    };
    match parser.parse(false) {
        Ok(v) => v,
        // A top-level value never fails in Kafka Connect: it falls back to
        // the string.
        Err(_) => Some((Some(Schema::string()), Value::String(text.to_string()))),
    }
}

struct ValueParser<'a> {
    p: Tokenizer<'a>,
}

fn plain(item: Option<Parsed>) -> Value {
    item.map_or(Value::Null, |(_, v)| v)
}

fn err(message: String) -> DataError {
    DataError::new(message)
}

impl ValueParser<'_> {
    fn single_token_literal(&mut self, embedded: bool, literal: &str) -> bool {
        let start = self.p.mark();
        if self.p.can_consume(literal) && (embedded || !self.p.has_next()) {
            return true;
        }
        self.p.rewind_to(start);
        false
    }

    fn parse(&mut self, embedded: bool) -> Result<Option<Parsed>, DataError> {
        if !self.p.has_next() {
            return Ok(None);
        }
        if embedded && self.p.can_consume("\"") {
            return Ok(Some(self.parse_quoted_string()));
        }
        if self.single_token_literal(embedded, "null") {
            return Ok(None);
        }
        if self.single_token_literal(embedded, "true") {
            return Ok(Some((Some(Schema::boolean()), Value::Boolean(true))));
        }
        if self.single_token_literal(embedded, "false") {
            return Ok(Some((Some(Schema::boolean()), Value::Boolean(false))));
        }
        let start = self.p.mark();
        let compound = if self.p.can_consume("[") {
            Some(self.parse_array())
        } else if self.p.can_consume("{") {
            Some(self.parse_map())
        } else {
            None
        };
        match compound {
            Some(Ok(v)) => return Ok(Some(v)),
            Some(Err(_)) => self.p.rewind_to(start),
            None => {}
        }
        let token = self.p.next();
        if token.trim().is_empty() {
            return Ok(Some((
                Some(Schema::string()),
                Value::String(token.to_string()),
            )));
        }
        self.parse_next_token(embedded, token.trim()).map(Some)
    }

    fn parse_next_token(&mut self, embedded: bool, token: &str) -> Result<Parsed, DataError> {
        let first = token.chars().next().unwrap_or(' ');
        let digit = first.is_ascii_digit();
        if digit && let Some(t) = self.parse_multiple_tokens_as_temporal(token) {
            return Ok(t);
        }
        if (digit || first == '+' || first == '-')
            && let Some(n) = parse_as_number(token)
        {
            return Ok(n);
        }
        if embedded {
            return Err(err("Failed to parse embedded value".to_string()));
        }
        Ok((
            Some(Schema::string()),
            Value::String(self.p.original.to_string()),
        ))
    }

    fn parse_quoted_string(&mut self) -> Parsed {
        let mut content = String::new();
        while self.p.has_next() {
            if self.p.can_consume("\"") {
                break;
            }
            content.push_str(self.p.next());
        }
        parse_as_temporal(&content)
            .unwrap_or_else(|| (Some(Schema::string()), Value::String(content)))
    }

    fn parse_array(&mut self) -> Result<Parsed, DataError> {
        let mut items = Vec::new();
        let mut merger = SchemaMerger::default();
        while self.p.has_next() {
            if self.p.can_consume("]") {
                return match merger.common {
                    Some(elem) => {
                        let items = items
                            .into_iter()
                            .map(|v| convert_to(&elem, v))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok((
                            Some(SchemaBuilder::array(elem).build()),
                            Value::Array(items),
                        ))
                    }
                    None => Ok((None, Value::Array(items.into_iter().map(plain).collect()))),
                };
            }
            if self.p.can_consume(",") {
                return Err(err(format!(
                    "Unable to parse an empty array element: {}",
                    self.p.original
                )));
            }
            let element = self.parse(true)?;
            merger.merge(element.as_ref());
            items.push(element);
            let current = self.p.mark();
            if self.p.can_consume("]") {
                self.p.rewind_to(current);
            } else if !self.p.can_consume(",") {
                return Err(err("Array elements missing ',' delimiter".to_string()));
            }
        }
        if self.p.previous == Some(",") {
            return Err(err(format!(
                "Array is missing element after ',': {}",
                self.p.original
            )));
        }
        Err(err(format!(
            "Array is missing terminating ']': {}",
            self.p.original
        )))
    }

    fn parse_map(&mut self) -> Result<Parsed, DataError> {
        let mut entries: Vec<(Parsed, Option<Parsed>)> = Vec::new();
        let mut keys = SchemaMerger::default();
        let mut values = SchemaMerger::default();
        while self.p.has_next() {
            if self.p.can_consume("}") {
                return match (keys.common, values.common) {
                    (Some(k), Some(v)) => {
                        let entries = entries
                            .into_iter()
                            .map(|(key, val)| {
                                Ok((convert_to(&k, Some(key))?, convert_to(&v, val)?))
                            })
                            .collect::<Result<Vec<_>, DataError>>()?;
                        Ok((Some(SchemaBuilder::map(k, v).build()), Value::Map(entries)))
                    }
                    (Some(k), None) => {
                        let entries = entries
                            .into_iter()
                            .map(|(key, val)| Ok((convert_to(&k, Some(key))?, plain(val))))
                            .collect::<Result<Vec<_>, DataError>>()?;
                        Ok((None, Value::Map(entries)))
                    }
                    _ => Ok((
                        None,
                        Value::Map(entries.into_iter().map(|(k, v)| (k.1, plain(v))).collect()),
                    )),
                };
            }
            if self.p.can_consume(",") {
                return Err(err(format!(
                    "Unable to parse a map entry with no key or value: {}",
                    self.p.original
                )));
            }
            let key = match self.parse(true)? {
                Some(k) if !k.1.is_null() => k,
                _ => {
                    return Err(err(format!(
                        "Map entry may not have a null key: {}",
                        self.p.original
                    )));
                }
            };
            if !self.p.can_consume(":") {
                return Err(err(format!(
                    "Map entry is missing ':' at {} in {}",
                    self.p.pos, self.p.original
                )));
            }
            let value = self.parse(true)?;
            keys.merge(Some(&key));
            values.merge(value.as_ref());
            match entries.iter_mut().find(|(k, _)| k.1 == key.1) {
                Some(slot) => slot.1 = value,
                None => entries.push((key, value)),
            }
            self.p.can_consume(",");
        }
        if self.p.previous == Some(",") {
            return Err(err(format!(
                "Map is missing element after ',': {}",
                self.p.original
            )));
        }
        Err(err(format!(
            "Map is missing terminating '}}': {}",
            self.p.original
        )))
    }

    /// A time or timestamp is split into five tokens by its colons; try
    /// those first, then the token alone.
    fn parse_multiple_tokens_as_temporal(&mut self, token: &str) -> Option<Parsed> {
        let position = self.p.mark();
        if let Some(rest) = self.p.next_n(4)
            && let Some(t) = parse_as_temporal(&format!("{token}{rest}"))
        {
            return Some(t);
        }
        self.p.rewind_to(position);
        parse_as_temporal(token)
    }
}

/// The smallest integer type for an integral number, else float32,
/// float64 or Decimal.
fn parse_as_number(token: &str) -> Option<Parsed> {
    let decimal: Decimal = token.parse().ok()?;
    if let Some(integral) = exact_integer(&decimal) {
        return Some(if let Ok(v) = i8::try_from(integral) {
            (Some(Schema::int8()), Value::Int8(v))
        } else if let Ok(v) = i16::try_from(integral) {
            (Some(Schema::int16()), Value::Int16(v))
        } else if let Ok(v) = i32::try_from(integral) {
            (Some(Schema::int32()), Value::Int32(v))
        } else {
            (Some(Schema::int64()), Value::Int64(integral))
        });
    }
    let text = decimal.to_java_string();
    let f: f32 = text.parse().ok()?;
    let d: f64 = text.parse().ok()?;
    if f.is_finite() && decimal.scale() != 0 {
        Some((Some(Schema::float32()), Value::Float32(f)))
    } else if d.is_finite() && decimal.scale() != 0 {
        Some((Some(Schema::float64()), Value::Float64(d)))
    } else {
        Some((
            Some(logical::decimal_schema(decimal.scale()).build()),
            decimal.to_value(),
        ))
    }
}

/// The value of an integral decimal that fits a `long`.
fn exact_integer(d: &Decimal) -> Option<i64> {
    let unscaled = d.unscaled();
    let value = if d.scale() <= 0 {
        let factor = 10i128.checked_pow(d.scale().unsigned_abs())?;
        unscaled.checked_mul(factor)?
    } else {
        let factor = 10i128.checked_pow(d.scale().unsigned_abs());
        match factor {
            Some(f) if unscaled % f == 0 => unscaled / f,
            Some(_) => return None,
            None if unscaled == 0 => 0,
            None => return None,
        }
    };
    i64::try_from(value).ok()
}

#[derive(Clone, Copy)]
enum Part {
    Num,
    Lit(u8),
}

/// Reads numbers (any count of digits, as lenient SimpleDateFormat does)
/// and literal characters; trailing text is ignored.
fn read_fields(text: &str, pattern: &[Part]) -> Option<Vec<i64>> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::with_capacity(pattern.len());
    for part in pattern {
        match part {
            Part::Lit(c) => {
                if b.get(i) != Some(c) {
                    return None;
                }
                i += 1;
            }
            Part::Num => {
                let start = i;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                out.push(text.get(start..i)?.parse().ok()?);
            }
        }
    }
    Some(out)
}

const DATE: &[Part] = &[
    Part::Num,
    Part::Lit(b'-'),
    Part::Num,
    Part::Lit(b'-'),
    Part::Num,
];
const TIME: &[Part] = &[
    Part::Num,
    Part::Lit(b':'),
    Part::Num,
    Part::Lit(b':'),
    Part::Num,
    Part::Lit(b'.'),
    Part::Num,
    Part::Lit(b'Z'),
];

fn time_millis(f: &[i64]) -> Option<i64> {
    let [h, m, s, ms] = f else { return None };
    h.checked_mul(3_600_000)?
        .checked_add(m.checked_mul(60_000)?)?
        .checked_add(s.checked_mul(1000)?)?
        .checked_add(*ms)
}

/// A Date (10 characters), Time (13) or Timestamp (24), in UTC.
fn parse_as_temporal(token: &str) -> Option<Parsed> {
    let token = token.replace("\\:", ":");
    match token.len() {
        13 => {
            let millis = time_millis(&read_fields(&token, TIME)?)?;
            let millis = i32::try_from(millis)
                .ok()
                .filter(|m| i64::from(*m) < MILLIS_PER_DAY)?;
            Some((Some(logical::time_schema().build()), Value::Int32(millis)))
        }
        24 => {
            let (date, time) = token.split_at_checked(10)?;
            let d = read_fields(date, DATE)?;
            let time = time.strip_prefix('T')?;
            let t = time_millis(&read_fields(time, TIME)?)?;
            let days = days_from_civil(d[0], d[1], d[2]);
            let millis = days.checked_mul(MILLIS_PER_DAY)?.checked_add(t)?;
            Some((
                Some(logical::timestamp_schema().build()),
                Value::Int64(millis),
            ))
        }
        10 => {
            let d = read_fields(&token, DATE)?;
            let days = i32::try_from(days_from_civil(d[0], d[1], d[2])).ok()?;
            Some((Some(logical::date_schema().build()), Value::Int32(days)))
        }
        _ => None,
    }
}

/// Kafka Connect's `SchemaMerger`: the schema all values seen so far fit.
#[derive(Default)]
struct SchemaMerger {
    common: Option<SchemaRef>,
    incompatible: bool,
}

impl SchemaMerger {
    fn merge(&mut self, latest: Option<&Parsed>) {
        let Some((Some(schema), _)) = latest else {
            return;
        };
        if self.incompatible {
            return;
        }
        self.common = match &self.common {
            None => Some(Arc::clone(schema)),
            Some(previous) => {
                let merged = merge_schemas(previous, schema);
                self.incompatible = merged.is_none();
                merged
            }
        };
    }
}

fn numeric_rank(t: SchemaType) -> Option<u8> {
    Some(match t {
        SchemaType::Int8 => 0,
        SchemaType::Int16 => 1,
        SchemaType::Int32 => 2,
        SchemaType::Int64 => 3,
        SchemaType::Float32 => 4,
        SchemaType::Float64 => 5,
        _ => return None,
    })
}

fn merge_schemas(previous: &SchemaRef, new: &SchemaRef) -> Option<SchemaRef> {
    if previous.schema_type != new.schema_type {
        let (p, n) = (
            numeric_rank(previous.schema_type)?,
            numeric_rank(new.schema_type)?,
        );
        return Some(Arc::clone(if n > p { new } else { previous }));
    }
    if previous.optional == new.optional {
        return Some(Arc::clone(if previous.optional { previous } else { new }));
    }
    (previous == new).then(|| Arc::clone(previous))
}

/// Kafka Connect's `Values.convertTo` for the merged schemas above: numeric
/// widening and Decimal rescaling; other values are unchanged. Null only
/// fits an optional schema.
fn convert_to(schema: &Schema, item: Option<Parsed>) -> Result<Value, DataError> {
    let Some((from, value)) = item.filter(|(_, v)| !v.is_null()) else {
        return if schema.optional {
            Ok(Value::Null)
        } else {
            Err(err(
                "Unable to convert a null value to a schema that requires a value".to_string(),
            ))
        };
    };
    let as_i64 = |v: &Value| -> Option<i64> {
        Some(match v {
            Value::Int8(x) => i64::from(*x),
            Value::Int16(x) => i64::from(*x),
            Value::Int32(x) => i64::from(*x),
            Value::Int64(x) => *x,
            _ => return None,
        })
    };
    #[allow(clippy::cast_precision_loss)]
    let as_f64 = |v: &Value| -> Option<f64> {
        Some(match v {
            Value::Float32(x) => f64::from(*x),
            Value::Float64(x) => *x,
            other => as_i64(other)? as f64,
        })
    };
    let logical = logical::LogicalType::of(schema);
    #[allow(clippy::cast_possible_truncation)]
    let converted = match (schema.schema_type, logical) {
        (SchemaType::Int16, _) => as_i64(&value).map(|v| Value::Int16(v as i16)),
        (SchemaType::Int32, None) => as_i64(&value).map(|v| Value::Int32(v as i32)),
        (SchemaType::Int64, None) => as_i64(&value).map(Value::Int64),
        (SchemaType::Float32, _) => as_f64(&value).map(|v| Value::Float32(v as f32)),
        (SchemaType::Float64, _) => as_f64(&value).map(Value::Float64),
        (SchemaType::Bytes, Some(logical::LogicalType::Decimal)) => match from.as_deref() {
            Some(source) if logical::LogicalType::of(source).is_some() => {
                let d = Decimal::from_value(source, &value)?;
                Some(d.rescale(logical::decimal_scale(schema)?)?.to_value())
            }
            _ => None,
        },
        _ => None,
    };
    Ok(converted.unwrap_or(value))
}

#[cfg(test)]
mod tests;
