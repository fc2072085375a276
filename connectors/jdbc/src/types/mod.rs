//! Column types: what a driver reads ([`Cell`]), what a column is
//! ([`Column`], [`ColumnKind`]) and the Connect schema and value it becomes
//! ([`FieldPlan`]), with `numeric.mapping` and `timestamp.granularity`.

pub mod time;

use sluice_connect_api::config::ConfigEnum;
use sluice_connect_api::schema::logical::{self, Decimal};
use sluice_connect_api::schema::{SchemaBuilder, SchemaRef, Value};

/// One value as a driver read it, before it becomes a Connect value.
/// Times are UTC instants; wall-clock columns were already read in
/// `db.timezone`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    F32(f32),
    F64(f64),
    Decimal(Decimal),
    Text(String),
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// µs since midnight.
    Time(i64),
    /// µs since the epoch.
    Timestamp(i64),
    Array(Vec<Cell>),
}

/// What a column holds, as far as the mapping to Connect cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// NUMERIC/DECIMAL; `scale` is `None` for PostgreSQL's unconstrained
    /// `numeric`.
    Numeric {
        precision: u32,
        scale: Option<i32>,
    },
    Text,
    Bytes,
    Date,
    Time,
    Timestamp,
    /// A one-dimensional array of a supported element kind.
    Array(Box<ColumnKind>),
    /// Not mapped: the column is left out of records (one warning).
    Unsupported,
}

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    /// The database's name of the type, for messages.
    pub type_name: String,
    /// MySQL `AUTO_INCREMENT` / PostgreSQL identity or `nextval` default.
    pub auto_increment: bool,
}

/// `numeric.mapping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumericMapping {
    #[default]
    None,
    PrecisionOnly,
    BestFit,
    BestFitEagerDouble,
}

impl ConfigEnum for NumericMapping {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("none", NumericMapping::None),
            ("precision_only", NumericMapping::PrecisionOnly),
            ("best_fit", NumericMapping::BestFit),
            ("best_fit_eager_double", NumericMapping::BestFitEagerDouble),
        ]
    }
}

/// `timestamp.granularity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampGranularity {
    #[default]
    ConnectLogical,
    NanosLong,
    NanosString,
    NanosIsoDatetimeString,
}

impl ConfigEnum for TimestampGranularity {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("connect_logical", TimestampGranularity::ConnectLogical),
            ("nanos_long", TimestampGranularity::NanosLong),
            ("nanos_string", TimestampGranularity::NanosString),
            (
                "nanos_iso_datetime_string",
                TimestampGranularity::NanosIsoDatetimeString,
            ),
        ]
    }
}

/// How values of a column become Connect values.
#[derive(Debug, Clone, PartialEq)]
pub enum Conv {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// A Connect Decimal of this scale.
    Decimal(i32),
    String,
    Bytes,
    Date,
    Time,
    Timestamp(TimestampGranularity),
    Array(Box<Conv>),
}

/// A column's place in records: its Connect schema and conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPlan {
    pub name: String,
    pub schema: SchemaRef,
    pub conv: Conv,
}

/// Largest precision mapped to an integer type by `numeric.mapping`.
const MAX_INTEGER_PRECISION: u32 = 18;
/// Scale used for PostgreSQL's unconstrained `numeric` (no declared
/// scale): wide enough for every value PostgreSQL prints by default
/// and within a 128-bit unscaled value for the magnitudes people store.
pub const UNCONSTRAINED_SCALE: i32 = 10;

/// The Connect type for `column`, or `None` for a column left out.
pub fn plan(
    column: &Column,
    numeric: NumericMapping,
    granularity: TimestampGranularity,
) -> Option<FieldPlan> {
    let (builder, conv) = builder_for(&column.kind, numeric, granularity)?;
    let builder = if column.nullable {
        builder.optional()
    } else {
        builder
    };
    Some(FieldPlan {
        name: column.name.clone(),
        schema: builder.build(),
        conv,
    })
}

fn builder_for(
    kind: &ColumnKind,
    numeric: NumericMapping,
    granularity: TimestampGranularity,
) -> Option<(SchemaBuilder, Conv)> {
    Some(match kind {
        ColumnKind::Bool => (SchemaBuilder::boolean(), Conv::Bool),
        ColumnKind::Int8 => (SchemaBuilder::int8(), Conv::Int8),
        ColumnKind::Int16 => (SchemaBuilder::int16(), Conv::Int16),
        ColumnKind::Int32 => (SchemaBuilder::int32(), Conv::Int32),
        ColumnKind::Int64 => (SchemaBuilder::int64(), Conv::Int64),
        ColumnKind::Float32 => (SchemaBuilder::float32(), Conv::Float32),
        ColumnKind::Float64 => (SchemaBuilder::float64(), Conv::Float64),
        ColumnKind::Numeric { precision, scale } => numeric_builder(*precision, *scale, numeric),
        ColumnKind::Text => (SchemaBuilder::string(), Conv::String),
        ColumnKind::Bytes => (SchemaBuilder::bytes(), Conv::Bytes),
        ColumnKind::Date => (logical::date_schema(), Conv::Date),
        ColumnKind::Time => (logical::time_schema(), Conv::Time),
        ColumnKind::Timestamp => match granularity {
            TimestampGranularity::ConnectLogical => {
                (logical::timestamp_schema(), Conv::Timestamp(granularity))
            }
            TimestampGranularity::NanosLong => {
                (SchemaBuilder::int64(), Conv::Timestamp(granularity))
            }
            TimestampGranularity::NanosString | TimestampGranularity::NanosIsoDatetimeString => {
                (SchemaBuilder::string(), Conv::Timestamp(granularity))
            }
        },
        ColumnKind::Array(elem) => {
            let (eb, ec) = builder_for(elem, numeric, granularity)?;
            (
                SchemaBuilder::array(eb.optional().build()),
                Conv::Array(Box::new(ec)),
            )
        }
        ColumnKind::Unsupported => return None,
    })
}

/// Confluent's rules: `precision_only` maps integral NUMERICs that fit 18
/// digits to the smallest integer type; `best_fit` also maps a positive
/// scale (with precision up to 18) to FLOAT64; `best_fit_eager_double`
/// maps every positive scale to FLOAT64. Everything else is a Decimal.
fn numeric_builder(
    precision: u32,
    scale: Option<i32>,
    mapping: NumericMapping,
) -> (SchemaBuilder, Conv) {
    let integral = |p: u32| match p {
        0..=2 => (SchemaBuilder::int8(), Conv::Int8),
        3..=4 => (SchemaBuilder::int16(), Conv::Int16),
        5..=9 => (SchemaBuilder::int32(), Conv::Int32),
        _ => (SchemaBuilder::int64(), Conv::Int64),
    };
    let known = precision > 0;
    match (mapping, scale) {
        (NumericMapping::PrecisionOnly, Some(0)) if known && precision <= MAX_INTEGER_PRECISION => {
            return integral(precision);
        }
        (NumericMapping::BestFit | NumericMapping::BestFitEagerDouble, Some(s))
            if known && precision <= MAX_INTEGER_PRECISION && s <= 0 =>
        {
            return integral(precision);
        }
        (NumericMapping::BestFit, Some(s))
            if known && precision <= MAX_INTEGER_PRECISION && s > 0 =>
        {
            return (SchemaBuilder::float64(), Conv::Float64);
        }
        (NumericMapping::BestFitEagerDouble, Some(s)) if s > 0 => {
            return (SchemaBuilder::float64(), Conv::Float64);
        }
        (NumericMapping::BestFitEagerDouble, None) => {
            return (SchemaBuilder::float64(), Conv::Float64);
        }
        _ => {}
    }
    let scale = scale.unwrap_or(UNCONSTRAINED_SCALE);
    (logical::decimal_schema(scale), Conv::Decimal(scale))
}

/// A cell as the Connect value `conv` says; `column` names it in errors.
pub fn to_value(cell: Cell, conv: &Conv, column: &str) -> Result<Value, String> {
    let bad = |cell: &Cell| format!("column '{column}': cannot convert {cell:?} for {conv:?}");
    Ok(match (conv, cell) {
        (_, Cell::Null) => Value::Null,
        (Conv::Bool, Cell::Bool(b)) => Value::Boolean(b),
        (Conv::Bool, Cell::Int(i)) => Value::Boolean(i != 0),
        (Conv::Bool, Cell::UInt(i)) => Value::Boolean(i != 0),
        (Conv::Int8, c) => Value::Int8(
            int(&c)
                .and_then(|i| i8::try_from(i).ok())
                .ok_or_else(|| bad(&c))?,
        ),
        (Conv::Int16, c) => Value::Int16(
            int(&c)
                .and_then(|i| i16::try_from(i).ok())
                .ok_or_else(|| bad(&c))?,
        ),
        (Conv::Int32, c) => Value::Int32(
            int(&c)
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| bad(&c))?,
        ),
        (Conv::Int64, c) => Value::Int64(int(&c).ok_or_else(|| bad(&c))?),
        (Conv::Float32, Cell::F32(f)) => Value::Float32(f),
        #[allow(clippy::cast_possible_truncation)]
        (Conv::Float32, Cell::F64(f)) => Value::Float32(f as f32),
        (Conv::Float64, Cell::F64(f)) => Value::Float64(f),
        (Conv::Float64, Cell::F32(f)) => Value::Float64(f64::from(f)),
        (Conv::Float64, Cell::Decimal(d)) => Value::Float64(decimal_to_f64(d)),
        #[allow(clippy::cast_precision_loss)]
        (Conv::Float64, Cell::Int(i)) => Value::Float64(i as f64),
        (Conv::Decimal(scale), Cell::Decimal(d)) => {
            let d = rescale_half_even(d, *scale).ok_or_else(|| {
                format!("column '{column}': value {d} does not fit a decimal of scale {scale}")
            })?;
            d.to_value()
        }
        (Conv::Decimal(scale), Cell::Int(i)) => Decimal::new(i128::from(i), 0)
            .rescale(*scale)
            .map_err(|e| format!("column '{column}': {e}"))?
            .to_value(),
        (Conv::Decimal(scale), Cell::UInt(i)) => Decimal::new(i128::from(i), 0)
            .rescale(*scale)
            .map_err(|e| format!("column '{column}': {e}"))?
            .to_value(),
        (Conv::String, Cell::Text(s)) => Value::String(s),
        (Conv::String, Cell::Bytes(b)) => Value::String(String::from_utf8_lossy(&b).into_owned()),
        (Conv::Bytes, Cell::Bytes(b)) => Value::Bytes(b),
        (Conv::Bytes, Cell::Text(s)) => Value::Bytes(s.into_bytes()),
        (Conv::Date, Cell::Date(d)) => Value::Int32(d),
        (Conv::Date, Cell::Timestamp(us)) => Value::Int32(
            i32::try_from(us.div_euclid(time::MICROS_PER_DAY))
                .map_err(|_| bad(&Cell::Timestamp(us)))?,
        ),
        (Conv::Time, Cell::Time(us)) => Value::Int32(
            i32::try_from(us.rem_euclid(time::MICROS_PER_DAY) / 1000)
                .map_err(|_| bad(&Cell::Time(us)))?,
        ),
        (Conv::Timestamp(g), Cell::Timestamp(us)) => timestamp_value(us, *g),
        (Conv::Timestamp(g), Cell::Date(d)) => {
            timestamp_value(i64::from(d) * time::MICROS_PER_DAY, *g)
        }
        (Conv::Array(elem), Cell::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|c| to_value(c, elem, column))
                .collect::<Result<_, _>>()?,
        ),
        (_, c) => return Err(bad(&c)),
    })
}

fn timestamp_value(micros: i64, g: TimestampGranularity) -> Value {
    match g {
        TimestampGranularity::ConnectLogical => Value::Int64(micros.div_euclid(1000)),
        TimestampGranularity::NanosLong => Value::Int64(micros.saturating_mul(1000)),
        TimestampGranularity::NanosString => Value::String(micros.saturating_mul(1000).to_string()),
        TimestampGranularity::NanosIsoDatetimeString => Value::String(time::iso_nanos(micros)),
    }
}

fn int(c: &Cell) -> Option<i64> {
    match c {
        Cell::Int(i) => Some(*i),
        Cell::UInt(u) => i64::try_from(*u).ok(),
        Cell::Bool(b) => Some(i64::from(*b)),
        Cell::Decimal(d) if d.scale() <= 0 => d
            .rescale(0)
            .ok()
            .and_then(|d| i64::try_from(d.unscaled()).ok()),
        Cell::Decimal(d) => {
            let r = rescale_half_even(*d, 0)?;
            i64::try_from(r.unscaled()).ok()
        }
        _ => None,
    }
}

fn decimal_to_f64(d: Decimal) -> f64 {
    // Through the decimal string: exact to the nearest double.
    d.to_string().parse().unwrap_or(f64::NAN)
}

/// `d` at `scale`, rounding half to even when digits are dropped (what
/// Java's `BigDecimal.setScale(scale, HALF_EVEN)` does); `None` when the
/// result does not fit.
pub fn rescale_half_even(d: Decimal, scale: i32) -> Option<Decimal> {
    if scale >= d.scale() {
        return d.rescale(scale).ok();
    }
    let drop = u32::try_from(i64::from(d.scale()) - i64::from(scale)).ok()?;
    let Some(factor) = 10i128.checked_pow(drop) else {
        return Some(Decimal::new(0, scale));
    };
    let q = d.unscaled() / factor;
    let r = d.unscaled() % factor;
    let twice = r.unsigned_abs() * 2;
    let f = factor.unsigned_abs();
    let up = twice > f || (twice == f && q % 2 != 0);
    let q = if up { q + d.unscaled().signum() } else { q };
    Some(Decimal::new(q, scale))
}

/// Parses a decimal string (`-12.3400`, `1e3`) exactly.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (neg, digits) = match mantissa.as_bytes().first()? {
        b'-' => (true, &mantissa[1..]),
        b'+' => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac.is_empty() {
        return None;
    }
    let mut unscaled: i128 = 0;
    for b in int_part.bytes().chain(frac.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        unscaled = unscaled
            .checked_mul(10)?
            .checked_add(i128::from(b - b'0'))?;
    }
    let scale = i32::try_from(frac.len()).ok()?.checked_sub(exp)?;
    Some(Decimal::new(if neg { -unscaled } else { unscaled }, scale))
}

/// The struct schema of a record: `name` (Confluent: the table name; none
/// in query mode), one optional-or-required field per planned column.
pub fn struct_schema(name: Option<&str>, fields: &[FieldPlan]) -> SchemaRef {
    let mut b = SchemaBuilder::struct_();
    if let Some(n) = name {
        b = b.name(n);
    }
    for f in fields {
        b = b.field(f.name.clone(), f.schema.clone());
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(kind: ColumnKind, nullable: bool) -> Column {
        Column {
            name: "c".into(),
            kind,
            nullable,
            type_name: "t".into(),
            auto_increment: false,
        }
    }

    #[test]
    fn numeric_mapping_follows_confluent() {
        let n = |p, s| ColumnKind::Numeric {
            precision: p,
            scale: s,
        };
        let conv = |k, m| {
            plan(&col(k, false), m, TimestampGranularity::ConnectLogical)
                .unwrap()
                .conv
        };
        assert_eq!(
            conv(n(38, Some(10)), NumericMapping::None),
            Conv::Decimal(10)
        );
        assert_eq!(conv(n(5, Some(0)), NumericMapping::None), Conv::Decimal(0));
        assert_eq!(
            conv(n(5, Some(0)), NumericMapping::PrecisionOnly),
            Conv::Int32
        );
        assert_eq!(conv(n(2, Some(0)), NumericMapping::BestFit), Conv::Int8);
        assert_eq!(conv(n(18, Some(0)), NumericMapping::BestFit), Conv::Int64);
        assert_eq!(
            conv(n(19, Some(0)), NumericMapping::BestFit),
            Conv::Decimal(0)
        );
        assert_eq!(
            conv(n(10, Some(2)), NumericMapping::PrecisionOnly),
            Conv::Decimal(2)
        );
        assert_eq!(conv(n(10, Some(2)), NumericMapping::BestFit), Conv::Float64);
        assert_eq!(
            conv(n(30, Some(2)), NumericMapping::BestFit),
            Conv::Decimal(2)
        );
        assert_eq!(
            conv(n(30, Some(2)), NumericMapping::BestFitEagerDouble),
            Conv::Float64
        );
        assert_eq!(
            conv(n(0, None), NumericMapping::None),
            Conv::Decimal(UNCONSTRAINED_SCALE)
        );
    }

    #[test]
    fn decimals_parse_and_round_like_java() {
        assert_eq!(parse_decimal("-12.3400"), Some(Decimal::new(-123_400, 4)));
        assert_eq!(parse_decimal("1e3"), Some(Decimal::new(1, -3)));
        assert_eq!(parse_decimal("abc"), None);
        let d = Decimal::new(125, 2); // 1.25
        assert_eq!(rescale_half_even(d, 1), Some(Decimal::new(12, 1)));
        assert_eq!(
            rescale_half_even(Decimal::new(135, 2), 1),
            Some(Decimal::new(14, 1))
        );
        assert_eq!(
            rescale_half_even(Decimal::new(-135, 2), 1),
            Some(Decimal::new(-14, 1))
        );
        assert_eq!(
            rescale_half_even(Decimal::new(1, 0), 3),
            Some(Decimal::new(1000, 3))
        );
    }

    #[test]
    fn cells_become_connect_values() {
        let v = to_value(Cell::Decimal(Decimal::new(15, 1)), &Conv::Decimal(3), "c").unwrap();
        assert_eq!(v, Decimal::new(1500, 3).to_value());
        assert_eq!(
            to_value(
                Cell::Timestamp(1_234_567),
                &Conv::Timestamp(TimestampGranularity::ConnectLogical),
                "c"
            )
            .unwrap(),
            Value::Int64(1234)
        );
        assert_eq!(
            to_value(
                Cell::Timestamp(-1),
                &Conv::Timestamp(TimestampGranularity::ConnectLogical),
                "c"
            )
            .unwrap(),
            Value::Int64(-1)
        );
        assert_eq!(
            to_value(
                Cell::Timestamp(1),
                &Conv::Timestamp(TimestampGranularity::NanosString),
                "c"
            )
            .unwrap(),
            Value::String("1000".into())
        );
        assert_eq!(
            to_value(Cell::Time(3_600_000_123), &Conv::Time, "c").unwrap(),
            Value::Int32(3_600_000)
        );
        let e = to_value(Cell::Int(300), &Conv::Int8, "small").unwrap_err();
        assert!(e.contains("column 'small'"), "{e}");
        assert_eq!(to_value(Cell::Null, &Conv::Int8, "c").unwrap(), Value::Null);
    }
}
