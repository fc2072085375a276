//! Timestamp representations and conversions between them, through epoch
//! milliseconds (Kafka Connect's `java.util.Date` pivot).

use sluice_connect_api::schema::logical::{
    LogicalType, date_schema, time_schema, timestamp_schema,
};
use sluice_connect_api::schema::{DataError, Schema, SchemaRef, SchemaType, Value};

use crate::simple_date_format::SimpleDateFormat;
use crate::util::java;
use crate::util::schema_util::describe;
use crate::util::time::{MILLIS_PER_DAY, split_millis};

/// A timestamp representation (`target.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Kind {
    String,
    Unix,
    Date,
    Time,
    #[default]
    Timestamp,
}

impl Kind {
    /// The representation a schema stands for.
    pub(super) fn of_schema(schema: &Schema) -> Result<Self, String> {
        match (LogicalType::of(schema), schema.schema_type) {
            (Some(LogicalType::Timestamp), _) => Ok(Self::Timestamp),
            (Some(LogicalType::Date), _) => Ok(Self::Date),
            (Some(LogicalType::Time), _) => Ok(Self::Time),
            (_, SchemaType::String) => Ok(Self::String),
            (_, SchemaType::Int64) => Ok(Self::Unix),
            _ => Err(format!(
                "Schema {} does not correspond to a known timestamp type format",
                describe(schema)
            )),
        }
    }

    /// The representation of a schemaless value: a long is unix time, a
    /// string a formatted timestamp.
    pub(super) fn infer(value: &Value) -> Result<Self, DataError> {
        match value {
            Value::Int64(_) => Ok(Self::Unix),
            Value::String(_) => Ok(Self::String),
            other => Err(DataError::new(format!(
                "TimestampConverter does not support class {} objects as timestamps",
                java::class_name(other)
            ))),
        }
    }
}

/// `unix.precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Precision {
    Seconds,
    #[default]
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

/// The configured target and how to read and write strings and longs.
#[derive(Debug, Clone)]
pub(super) struct Converter {
    target: Kind,
    format: Option<(SimpleDateFormat, String)>,
    precision: Precision,
    required: SchemaRef,
    optional: SchemaRef,
}

impl Default for Converter {
    fn default() -> Self {
        Self::new(Kind::Timestamp, None, Precision::Milliseconds)
    }
}

fn class_of(v: &Value) -> &'static str {
    java::class_name(v)
}

impl Converter {
    pub(super) fn new(
        target: Kind,
        format: Option<(SimpleDateFormat, String)>,
        precision: Precision,
    ) -> Self {
        let (required, optional) = match target {
            Kind::String => (Schema::string(), Schema::optional_string()),
            Kind::Unix => (Schema::int64(), Schema::optional_int64()),
            Kind::Date => (date_schema().build(), date_schema().optional().build()),
            Kind::Time => (time_schema().build(), time_schema().optional().build()),
            Kind::Timestamp => (
                timestamp_schema().build(),
                timestamp_schema().optional().build(),
            ),
        };
        Self {
            target,
            format,
            precision,
            required,
            optional,
        }
    }

    /// The schema of converted values.
    pub(super) fn target_schema(&self, optional: bool) -> SchemaRef {
        if optional {
            self.optional.clone()
        } else {
            self.required.clone()
        }
    }

    /// Converts a value of representation `from` to the target; null stays
    /// null.
    pub(super) fn convert(&self, value: &Value, from: Kind) -> Result<Value, DataError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let millis = self.to_millis(value, from)?;
        Ok(self.millis_to_target(millis))
    }

    fn to_millis(&self, value: &Value, from: Kind) -> Result<i64, DataError> {
        let expected = |what: &str| {
            DataError::new(format!(
                "Expected {what}, but found class {}",
                class_of(value)
            ))
        };
        match (from, value) {
            (Kind::String, Value::String(s)) => {
                let Some((format, pattern)) = &self.format else {
                    return Err(DataError::new(
                        "TimestampConverter requires format option to be specified when using string timestamps",
                    ));
                };
                format.parse(s).map_err(|_| {
                    DataError::new(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({pattern})"
                    ))
                })
            }
            (Kind::String, _) => Err(expected("string timestamp to be a String")),
            (Kind::Unix, Value::Int64(v)) => Ok(match self.precision {
                Precision::Seconds => v.saturating_mul(1000),
                Precision::Milliseconds => *v,
                Precision::Microseconds => v / 1000,
                Precision::Nanoseconds => v / 1_000_000,
            }),
            (Kind::Unix, _) => Err(expected("Unix timestamp to be a Long")),
            (Kind::Date, Value::Int32(days)) => Ok(i64::from(*days) * MILLIS_PER_DAY),
            (Kind::Date, _) => Err(expected("Date to be a java.util.Date")),
            (Kind::Time, Value::Int32(ms)) => Ok(i64::from(*ms)),
            (Kind::Time, _) => Err(expected("Time to be a java.util.Date")),
            (Kind::Timestamp, Value::Int64(ms)) => Ok(*ms),
            (Kind::Timestamp, _) => Err(expected("Timestamp to be a java.util.Date")),
        }
    }

    #[allow(clippy::cast_possible_truncation)]
    fn millis_to_target(&self, millis: i64) -> Value {
        match self.target {
            Kind::String => Value::String(match &self.format {
                Some((f, _)) => f.format(millis),
                None => millis.to_string(),
            }),
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => millis / 1000,
                Precision::Milliseconds => millis,
                Precision::Microseconds => millis.saturating_mul(1000),
                Precision::Nanoseconds => millis.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Int32(split_millis(millis).0 as i32),
            Kind::Time => Value::Int32(split_millis(millis).1 as i32),
            Kind::Timestamp => Value::Int64(millis),
        }
    }
}
