//! Kafka Connect's logical types, carried in their physical representation.
//!
//! | logical type | schema name                                  | physical type | value                                        |
//! |--------------|----------------------------------------------|---------------|----------------------------------------------|
//! | Decimal      | `org.apache.kafka.connect.data.Decimal`      | `BYTES`       | big-endian two's-complement unscaled value   |
//! | Date         | `org.apache.kafka.connect.data.Date`         | `INT32`       | days since 1970-01-01                        |
//! | Time         | `org.apache.kafka.connect.data.Time`         | `INT32`       | milliseconds since midnight                  |
//! | Timestamp    | `org.apache.kafka.connect.data.Timestamp`    | `INT64`       | milliseconds since 1970-01-01T00:00:00Z      |
//!
//! The schema builders here return the same schemas as Kafka Connect's
//! `Decimal.builder(scale)`, `Date.builder()`, `Time.builder()` and
//! `Timestamp.builder()`, including `version` 1, so converters write the same
//! schema JSON.
//!
//! [`Decimal`] is a 128-bit unscaled value and an `i32` scale. Kafka Connect
//! uses `BigDecimal`, which is unbounded; 128 bits hold 38 decimal digits,
//! more than any SQL `DECIMAL`/`NUMERIC` column of common databases (at most
//! 38 digits for Oracle, SQL Server and Snowflake; PostgreSQL's unconstrained
//! `numeric` is the exception), and keep the type `Copy` and free of a
//! big-integer dependency. Values of more than 16 significant bytes are
//! reported as errors, never truncated.

use std::fmt;
use std::str::FromStr;

use crate::error::DataError;
use crate::schema::{Schema, SchemaBuilder, SchemaType};
use crate::value::Value;

/// Schema name of the Decimal logical type.
pub const DECIMAL_NAME: &str = "org.apache.kafka.connect.data.Decimal";
/// The Decimal schema parameter holding the scale (a decimal integer string).
pub const DECIMAL_SCALE_PARAMETER: &str = "scale";
/// Schema name of the Date logical type.
pub const DATE_NAME: &str = "org.apache.kafka.connect.data.Date";
/// Schema name of the Time logical type.
pub const TIME_NAME: &str = "org.apache.kafka.connect.data.Time";
/// Schema name of the Timestamp logical type.
pub const TIMESTAMP_NAME: &str = "org.apache.kafka.connect.data.Timestamp";
/// Milliseconds in a day: the upper bound of a Time value.
pub const MILLIS_PER_DAY: i64 = 86_400_000;
/// The most significant bytes a Decimal's unscaled value may have here.
pub const DECIMAL_MAX_BYTES: usize = 16;

/// Kafka Connect's `Decimal.builder(scale)`: `BYTES`, named
/// [`DECIMAL_NAME`], parameter `scale`, version 1.
pub fn decimal_schema(scale: i32) -> SchemaBuilder {
    SchemaBuilder::bytes()
        .name(DECIMAL_NAME)
        .parameter(DECIMAL_SCALE_PARAMETER, scale.to_string())
        .version(1)
}

/// Kafka Connect's `Date.builder()`: `INT32` days since the epoch, version 1.
pub fn date_schema() -> SchemaBuilder {
    SchemaBuilder::int32().name(DATE_NAME).version(1)
}

/// Kafka Connect's `Time.builder()`: `INT32` milliseconds since midnight,
/// version 1.
pub fn time_schema() -> SchemaBuilder {
    SchemaBuilder::int32().name(TIME_NAME).version(1)
}

/// Kafka Connect's `Timestamp.builder()`: `INT64` milliseconds since the
/// epoch, version 1.
pub fn timestamp_schema() -> SchemaBuilder {
    SchemaBuilder::int64().name(TIMESTAMP_NAME).version(1)
}

/// The logical types Kafka Connect defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicalType {
    Decimal,
    Date,
    Time,
    Timestamp,
}

impl LogicalType {
    /// The logical type a schema name stands for, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            DECIMAL_NAME => Self::Decimal,
            DATE_NAME => Self::Date,
            TIME_NAME => Self::Time,
            TIMESTAMP_NAME => Self::Timestamp,
            _ => return None,
        })
    }

    /// The logical type of a schema (by its name), if any.
    pub fn of(schema: &Schema) -> Option<Self> {
        schema.name.as_deref().and_then(Self::from_name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Decimal => DECIMAL_NAME,
            Self::Date => DATE_NAME,
            Self::Time => TIME_NAME,
            Self::Timestamp => TIMESTAMP_NAME,
        }
    }

    /// The schema type values of this logical type are stored as.
    pub fn physical_type(self) -> SchemaType {
        match self {
            Self::Decimal => SchemaType::Bytes,
            Self::Date | Self::Time => SchemaType::Int32,
            Self::Timestamp => SchemaType::Int64,
        }
    }
}

/// The scale of a Decimal schema, from its `scale` parameter (Kafka Connect's
/// `Decimal.scale(schema)`, with the same messages).
pub fn decimal_scale(schema: &Schema) -> Result<i32, DataError> {
    let raw = schema
        .parameter(DECIMAL_SCALE_PARAMETER)
        .ok_or_else(|| DataError::new("Invalid Decimal schema: scale parameter not found."))?;
    raw.parse::<i32>().map_err(|_| {
        DataError::new(format!(
            "Invalid scale parameter found in Decimal schema: \"{raw}\" is not a 32-bit integer"
        ))
    })
}

/// Checks the logical-type constraints of a non-null `value` whose physical
/// type already matched `schema`. Schemas without a logical name pass.
pub(crate) fn validate(schema: &Schema, value: &Value) -> Result<(), DataError> {
    let Some(logical) = LogicalType::of(schema) else {
        return Ok(());
    };
    check_physical(schema, logical)?;
    match (logical, value) {
        (LogicalType::Decimal, Value::Bytes(bytes)) => {
            decimal_scale(schema)?;
            check_decimal_bytes(bytes)
        }
        (LogicalType::Time, Value::Int32(millis)) => check_time(*millis),
        (LogicalType::Date, Value::Int32(_)) | (LogicalType::Timestamp, Value::Int64(_)) => Ok(()),
        (_, other) => Err(DataError::new(format!(
            "Invalid value for logical type {}: expected {} but found {}",
            logical.name(),
            logical.physical_type(),
            other.schema_type().map_or("null", SchemaType::upper_name)
        ))),
    }
}

/// Rejects a logical name on a schema of the wrong physical type.
pub(crate) fn check_physical(schema: &Schema, logical: LogicalType) -> Result<(), DataError> {
    if schema.schema_type == logical.physical_type() {
        return Ok(());
    }
    Err(DataError::new(format!(
        "Invalid schema for logical type {}: physical type must be {} but is {}",
        logical.name(),
        logical.physical_type(),
        schema.schema_type
    )))
}

/// Kafka Connect's Time range check. Kafka accepts `86_400_000` itself
/// (`value > MILLIS_PER_DAY` is its error test), so this does too: data a
/// Kafka worker wrote must stay readable.
pub(crate) fn check_time(millis: i32) -> Result<(), DataError> {
    if (0..=MILLIS_PER_DAY).contains(&i64::from(millis)) {
        Ok(())
    } else {
        Err(DataError::new(format!(
            "Time values must use number of milliseconds greater than 0 and less than 86400000, got {millis}"
        )))
    }
}

fn check_decimal_bytes(bytes: &[u8]) -> Result<(), DataError> {
    if bytes.is_empty() {
        return Err(DataError::new(
            "Invalid Decimal value: the unscaled value is an empty byte array",
        ));
    }
    let significant = significant_len(bytes);
    if significant > DECIMAL_MAX_BYTES {
        return Err(DataError::new(format!(
            "Decimal value too large: its unscaled value has {significant} bytes, \
             at most {DECIMAL_MAX_BYTES} (a 128-bit integer) are supported"
        )));
    }
    Ok(())
}

/// Length of a two's-complement big-endian integer without redundant leading
/// sign bytes (what Java's `BigInteger.toByteArray()` would give).
fn significant_len(bytes: &[u8]) -> usize {
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (cur, next_negative) = (bytes[start], bytes[start + 1] & 0x80 != 0);
        if (cur == 0x00 && !next_negative) || (cur == 0xff && next_negative) {
            start += 1;
        } else {
            break;
        }
    }
    bytes.len() - start
}

/// A decimal number: `unscaled × 10^-scale`, as Java's `BigDecimal` limited
/// to a 128-bit unscaled value.
///
/// Equality is Java's `BigDecimal.equals`: `1.50` (150, scale 2) and `1.5`
/// (15, scale 1) differ. [`fmt::Display`] is `toPlainString()`;
/// [`Decimal::to_java_string`] is `toString()` (which may use an exponent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    unscaled: i128,
    scale: i32,
}

impl Decimal {
    pub const fn new(unscaled: i128, scale: i32) -> Self {
        Self { unscaled, scale }
    }

    pub const fn unscaled(&self) -> i128 {
        self.unscaled
    }

    pub const fn scale(&self) -> i32 {
        self.scale
    }

    /// The unscaled value as minimal big-endian two's-complement bytes, like
    /// Java's `BigInteger.toByteArray()` (`0` → `[0x00]`, `-1` → `[0xff]`,
    /// `128` → `[0x00, 0x80]`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let bytes = self.unscaled.to_be_bytes();
        let start = bytes.len() - significant_len(&bytes);
        bytes[start..].to_vec()
    }

    /// Reads an unscaled value written by [`Decimal::to_bytes`] (or by Java's
    /// `BigInteger.toByteArray()`). Redundant leading sign bytes are accepted;
    /// an empty array or more than 16 significant bytes is an error.
    pub fn from_bytes(bytes: &[u8], scale: i32) -> Result<Self, DataError> {
        check_decimal_bytes(bytes)?;
        let significant = &bytes[bytes.len() - significant_len(bytes)..];
        let fill = if significant[0] & 0x80 != 0 {
            0xff
        } else {
            0x00
        };
        let mut buf = [fill; 16];
        buf[16 - significant.len()..].copy_from_slice(significant);
        Ok(Self::new(i128::from_be_bytes(buf), scale))
    }

    /// The Decimal a value of a Decimal schema holds.
    pub fn from_value(schema: &Schema, value: &Value) -> Result<Self, DataError> {
        let scale = decimal_scale(schema)?;
        match value {
            Value::Bytes(bytes) => Self::from_bytes(bytes, scale),
            other => Err(DataError::new(format!(
                "Invalid type for Decimal, underlying representation should be bytes but was {}",
                other.schema_type().map_or("null", SchemaType::upper_name)
            ))),
        }
    }

    /// The physical value: `Value::Bytes(self.to_bytes())`.
    pub fn to_value(&self) -> Value {
        Value::Bytes(self.to_bytes())
    }

    /// The same number at another scale. Fails when digits would be lost or
    /// the unscaled value would not fit 128 bits.
    pub fn rescale(&self, scale: i32) -> Result<Self, DataError> {
        let diff = i64::from(scale) - i64::from(self.scale);
        let err = || {
            DataError::new(format!(
                "Decimal {self} cannot be represented exactly with scale {scale}"
            ))
        };
        if diff == 0 || self.unscaled == 0 {
            return Ok(Self::new(self.unscaled, scale));
        }
        let factor = u32::try_from(diff.unsigned_abs())
            .ok()
            .and_then(|e| 10i128.checked_pow(e))
            .ok_or_else(err)?;
        let unscaled = if diff > 0 {
            self.unscaled.checked_mul(factor).ok_or_else(err)?
        } else if self.unscaled % factor == 0 {
            self.unscaled / factor
        } else {
            return Err(err());
        };
        Ok(Self::new(unscaled, scale))
    }

    /// Java's `BigDecimal.toString()`: plain notation when the scale is not
    /// negative and the adjusted exponent is at least -6, otherwise
    /// scientific (`1E+3`, `1.5E-7`). This is how Jackson writes a
    /// `BigDecimal`, so Kafka's JsonConverter uses it for `decimal.format=NUMERIC`.
    pub fn to_java_string(&self) -> String {
        let digits = self.unscaled.unsigned_abs().to_string();
        let adjusted = -i64::from(self.scale) + (digits.len() as i64 - 1);
        if self.scale >= 0 && adjusted >= -6 {
            return self.to_string();
        }
        let mut out = String::with_capacity(digits.len() + 8);
        if self.unscaled < 0 {
            out.push('-');
        }
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('E');
        if adjusted > 0 {
            out.push('+');
        }
        out.push_str(&adjusted.to_string());
        out
    }
}

impl fmt::Display for Decimal {
    /// Java's `BigDecimal.toPlainString()`: `-12.345`, `0.001`, `1200`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.unscaled.unsigned_abs().to_string();
        let sign = if self.unscaled < 0 { "-" } else { "" };
        if self.scale <= 0 {
            if self.unscaled == 0 {
                return f.write_str("0");
            }
            f.write_str(sign)?;
            f.write_str(&digits)?;
            for _ in 0..self.scale.unsigned_abs() {
                f.write_str("0")?;
            }
            return Ok(());
        }
        let scale = self.scale.unsigned_abs() as usize;
        f.write_str(sign)?;
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{int}.{frac}")
        } else {
            f.write_str("0.")?;
            for _ in 0..scale - digits.len() {
                f.write_str("0")?;
            }
            f.write_str(&digits)
        }
    }
}

impl FromStr for Decimal {
    type Err = DataError;

    /// Java's `new BigDecimal(String)` syntax: optional sign, digits with an
    /// optional fraction, optional exponent (`-12.345`, `.5`, `1E+3`,
    /// `1.5e-7`). The scale is the number of fraction digits minus the
    /// exponent, as in Java.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| DataError::new(format!("Invalid decimal \"{s}\": {why}"));
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(err("no digits"));
        }
        let mut unscaled: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            if !b.is_ascii_digit() {
                return Err(err("not a number"));
            }
            let digit = i128::from(b - b'0');
            unscaled = unscaled
                .checked_mul(10)
                .and_then(|u| {
                    if negative {
                        u.checked_sub(digit)
                    } else {
                        u.checked_add(digit)
                    }
                })
                .ok_or_else(|| err("more digits than a 128-bit unscaled value holds"))?;
        }
        let exponent = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("invalid exponent"));
                }
                e.parse::<i64>().map_err(|_| err("exponent out of range"))?
            }
        };
        let scale =
            i32::try_from(frac.len() as i64 - exponent).map_err(|_| err("scale out of range"))?;
        Ok(Self::new(unscaled, scale))
    }
}

impl From<Decimal> for Value {
    fn from(d: Decimal) -> Self {
        d.to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bytes_match_java_biginteger() {
        let cases: &[(i128, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0xff]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x00, 0x80]),
            (-128, &[0x80]),
            (-129, &[0xff, 0x7f]),
            (156, &[0x00, 0x9c]),
            (255, &[0x00, 0xff]),
            (256, &[0x01, 0x00]),
            (-256, &[0xff, 0x00]),
            (
                i128::MAX,
                &[
                    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                    0xff, 0xff, 0xff,
                ],
            ),
            (
                i128::MIN,
                &[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
        ];
        for &(unscaled, bytes) in cases {
            let d = Decimal::new(unscaled, 3);
            assert_eq!(d.to_bytes(), bytes, "{unscaled}");
            assert_eq!(Decimal::from_bytes(bytes, 3).unwrap(), d, "{unscaled}");
        }
    }

    #[test]
    fn decimal_from_bytes_limits() {
        // Redundant sign bytes are fine, even beyond 16 bytes.
        assert_eq!(Decimal::from_bytes(&[0, 0, 0, 5], 0).unwrap().unscaled(), 5);
        assert_eq!(Decimal::from_bytes(&[0xff; 20], 0).unwrap().unscaled(), -1);
        let err = Decimal::from_bytes(&[1; 17], 0).unwrap_err();
        assert!(err.message().contains("17 bytes"), "{err}");
        assert!(err.message().contains("at most 16"), "{err}");
        assert!(
            Decimal::from_bytes(&[], 0)
                .unwrap_err()
                .message()
                .contains("empty")
        );
    }

    #[test]
    fn decimal_display_is_plain() {
        let cases = [
            ((-12345, 3), "-12.345"),
            ((1, 3), "0.001"),
            ((-1, 3), "-0.001"),
            ((0, 2), "0.00"),
            ((12, -2), "1200"),
            ((0, -2), "0"),
            ((156, 2), "1.56"),
            ((15600, 4), "1.5600"),
            ((7, 0), "7"),
            ((i128::MIN, 0), "-170141183460469231731687303715884105728"),
        ];
        for ((u, s), expected) in cases {
            assert_eq!(Decimal::new(u, s).to_string(), expected);
        }
    }

    #[test]
    fn decimal_java_to_string() {
        let cases = [
            ((156, 2), "1.56"),
            ((1, 6), "0.000001"),
            ((1, 7), "1E-7"),
            ((15, 8), "1.5E-7"),
            ((-15, 8), "-1.5E-7"),
            ((1, -3), "1E+3"),
            ((123, -1), "1.23E+3"),
            ((0, -2), "0E+2"),
            ((0, 8), "0E-8"),
            ((0, 2), "0.00"),
        ];
        for ((u, s), expected) in cases {
            assert_eq!(Decimal::new(u, s).to_java_string(), expected, "{u} {s}");
        }
    }

    #[test]
    fn decimal_parse() {
        let cases = [
            ("-12.345", (-12345, 3)),
            ("1.5600", (15600, 4)),
            ("0", (0, 0)),
            (".5", (5, 1)),
            ("5.", (5, 0)),
            ("+7", (7, 0)),
            ("1E+3", (1, -3)),
            ("1.5e-7", (15, 8)),
            ("00012.30", (1230, 2)),
            ("-170141183460469231731687303715884105728", (i128::MIN, 0)),
        ];
        for (text, (u, s)) in cases {
            assert_eq!(
                text.parse::<Decimal>().unwrap(),
                Decimal::new(u, s),
                "{text}"
            );
        }
        for bad in [
            "",
            "-",
            ".",
            "1.2.3",
            "abc",
            "1e",
            "1e+",
            "12x",
            "170141183460469231731687303715884105728",
        ] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad:?}");
        }
        for d in [
            Decimal::new(-12345, 3),
            Decimal::new(1, 9),
            Decimal::new(5, -4),
        ] {
            assert_eq!(d.to_java_string().parse::<Decimal>().unwrap(), d);
        }
    }

    #[test]
    fn decimal_rescale() {
        let d = Decimal::new(105, 1); // 10.5
        assert_eq!(d.rescale(3).unwrap(), Decimal::new(10500, 3));
        assert_eq!(
            d.rescale(0).unwrap_err().message(),
            "Decimal 10.5 cannot be represented exactly with scale 0"
        );
        assert_eq!(
            Decimal::new(1000, 2).rescale(0).unwrap(),
            Decimal::new(10, 0)
        );
        assert_eq!(
            Decimal::new(0, 2).rescale(-50).unwrap(),
            Decimal::new(0, -50)
        );
        assert!(Decimal::new(1, 0).rescale(40).is_err());
        assert!(Decimal::new(1, 0).rescale(i32::MIN).is_err());
    }

    #[test]
    fn schemas_match_kafka_builders() {
        let d = decimal_schema(2).build();
        assert_eq!(d.schema_type, SchemaType::Bytes);
        assert_eq!(d.name.as_deref(), Some(DECIMAL_NAME));
        assert_eq!(d.parameter("scale"), Some("2"));
        assert_eq!(d.version, Some(1));
        assert_eq!(date_schema().build().schema_type, SchemaType::Int32);
        assert_eq!(time_schema().build().name.as_deref(), Some(TIME_NAME));
        assert_eq!(timestamp_schema().build().schema_type, SchemaType::Int64);
        assert_eq!(LogicalType::of(&d), Some(LogicalType::Decimal));
    }

    #[test]
    fn validate_logical_values() {
        let dec = decimal_schema(2).build();
        assert!(Value::Bytes(vec![0, 0x9c]).validate(&dec).is_ok());
        assert!(Value::Bytes(vec![1; 17]).validate(&dec).is_err());
        assert!(Value::Bytes(vec![]).validate(&dec).is_err());
        let no_scale = SchemaBuilder::bytes().name(DECIMAL_NAME).build();
        assert_eq!(
            Value::Bytes(vec![1])
                .validate(&no_scale)
                .unwrap_err()
                .message(),
            "Invalid Decimal schema: scale parameter not found."
        );
        let bad_scale = SchemaBuilder::bytes()
            .name(DECIMAL_NAME)
            .parameter("scale", "x")
            .build();
        assert!(Value::Bytes(vec![1]).validate(&bad_scale).is_err());

        let time = time_schema().build();
        assert!(Value::Int32(0).validate(&time).is_ok());
        assert!(Value::Int32(86_399_999).validate(&time).is_ok());
        assert!(Value::Int32(86_400_000).validate(&time).is_ok());
        assert!(Value::Int32(86_400_001).validate(&time).is_err());
        assert!(Value::Int32(-1).validate(&time).is_err());

        assert!(Value::Int32(-5).validate(&date_schema().build()).is_ok());
        assert!(
            Value::Int64(-5)
                .validate(&timestamp_schema().build())
                .is_ok()
        );

        // A logical name on the wrong physical type.
        let wrong = SchemaBuilder::int64().name(DATE_NAME).build();
        let err = Value::Int64(1).validate(&wrong).unwrap_err();
        assert!(
            err.message().contains("must be INT32 but is INT64"),
            "{err}"
        );

        // Errors inside structs name the field.
        let s = SchemaBuilder::struct_()
            .field("t", time_schema().build())
            .build();
        let err = crate::Struct::new(s)
            .put("t", Value::Int32(-3))
            .unwrap_err();
        assert!(err.message().contains("\"t\""), "{err}");

        // Other names are not checked.
        let other = SchemaBuilder::int32().name("com.example.Thing").build();
        assert!(Value::Int32(-3).validate(&other).is_ok());
    }
}
