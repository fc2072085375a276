//! Debezium's column types: the Connect schema a column becomes under
//! `decimal.handling.mode`, `time.precision.mode` and
//! `binary.handling.mode`, and the value helpers they need (exact decimals
//! of any size, ISO-8601 instants).

use base64::Engine;
use sluice_connect_api::config::ConfigEnum;
use sluice_connect_api::schema::{SchemaBuilder, SchemaRef, Value};

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalMode {
    #[default]
    Precise,
    String,
    Double,
}

impl ConfigEnum for DecimalMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("precise", DecimalMode::Precise),
            ("string", DecimalMode::String),
            ("double", DecimalMode::Double),
        ]
    }
}

/// `time.precision.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeMode {
    #[default]
    Adaptive,
    AdaptiveTimeMicroseconds,
    Connect,
}

impl ConfigEnum for TimeMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("adaptive", TimeMode::Adaptive),
            (
                "adaptive_time_microseconds",
                TimeMode::AdaptiveTimeMicroseconds,
            ),
            ("connect", TimeMode::Connect),
        ]
    }
}

/// `binary.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinaryMode {
    #[default]
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

impl ConfigEnum for BinaryMode {
    fn variants() -> &'static [(&'static str, Self)] {
        &[
            ("bytes", BinaryMode::Bytes),
            ("base64", BinaryMode::Base64),
            ("base64-url-safe", BinaryMode::Base64UrlSafe),
            ("hex", BinaryMode::Hex),
        ]
    }
}

/// The three modes together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modes {
    pub decimal: DecimalMode,
    pub time: TimeMode,
    pub binary: BinaryMode,
}

/// What a column is, as Debezium maps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbzType {
    Bool,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// A fixed-scale decimal (NUMERIC(p,s), MONEY).
    Decimal {
        precision: Option<u32>,
        scale: i32,
    },
    /// NUMERIC without a scale: `io.debezium.data.VariableScaleDecimal`.
    VariableDecimal,
    /// Text, with Debezium's semantic name when it has one
    /// (`io.debezium.data.Json`, `Xml`, `Uuid`).
    Text(Option<&'static str>),
    /// An enum: `io.debezium.data.Enum` with its labels.
    Enum(String),
    Bytes,
    /// Days since the epoch.
    Date,
    /// Time of day with its fractional digits (-1: unspecified).
    Time(i32),
    /// Wall-clock timestamp with its fractional digits (-1: unspecified).
    Timestamp(i32),
    /// An instant: `io.debezium.time.ZonedTimestamp` (ISO-8601 in UTC).
    ZonedTimestamp(i32),
    /// Time of day with an offset: `io.debezium.time.ZonedTime`.
    ZonedTime(i32),
    /// `io.debezium.time.MicroDuration`.
    Interval,
    Array(Box<DbzType>),
}

fn frac(p: i32) -> i32 {
    if p < 0 { 6 } else { p }
}

impl DbzType {
    /// The field schema, optional when the column is nullable.
    pub fn schema(&self, modes: Modes, optional: bool) -> SchemaRef {
        let b = self.builder(modes);
        if optional {
            b.optional().build()
        } else {
            b.build()
        }
    }

    fn builder(&self, modes: Modes) -> SchemaBuilder {
        match self {
            DbzType::Bool => SchemaBuilder::boolean(),
            DbzType::Int16 => SchemaBuilder::int16(),
            DbzType::Int32 => SchemaBuilder::int32(),
            DbzType::Int64 => SchemaBuilder::int64(),
            DbzType::Float32 => SchemaBuilder::float32(),
            DbzType::Float64 => SchemaBuilder::float64(),
            DbzType::Decimal { precision, scale } => match modes.decimal {
                DecimalMode::Precise => {
                    let mut b = SchemaBuilder::bytes()
                        .name("org.apache.kafka.connect.data.Decimal")
                        .version(1)
                        .parameter("scale", scale.to_string());
                    if let Some(p) = precision {
                        b = b.parameter("connect.decimal.precision", p.to_string());
                    }
                    b
                }
                DecimalMode::String => SchemaBuilder::string(),
                DecimalMode::Double => SchemaBuilder::float64(),
            },
            DbzType::VariableDecimal => match modes.decimal {
                DecimalMode::Precise => SchemaBuilder::struct_()
                    .name("io.debezium.data.VariableScaleDecimal")
                    .version(1)
                    .doc("Variable scaled decimal")
                    .field("scale", SchemaBuilder::int32().build())
                    .field("value", SchemaBuilder::bytes().build()),
                DecimalMode::String => SchemaBuilder::string(),
                DecimalMode::Double => SchemaBuilder::float64(),
            },
            DbzType::Text(None) => SchemaBuilder::string(),
            DbzType::Text(Some(name)) => SchemaBuilder::string().name(*name).version(1),
            DbzType::Enum(allowed) => SchemaBuilder::string()
                .name("io.debezium.data.Enum")
                .version(1)
                .parameter("allowed", allowed.clone()),
            DbzType::Bytes => match modes.binary {
                BinaryMode::Bytes => SchemaBuilder::bytes(),
                _ => SchemaBuilder::string(),
            },
            DbzType::Date => match modes.time {
                TimeMode::Connect => SchemaBuilder::int32()
                    .name("org.apache.kafka.connect.data.Date")
                    .version(1),
                _ => SchemaBuilder::int32()
                    .name("io.debezium.time.Date")
                    .version(1),
            },
            DbzType::Time(p) => match (modes.time, frac(*p)) {
                (TimeMode::Connect, _) => SchemaBuilder::int32()
                    .name("org.apache.kafka.connect.data.Time")
                    .version(1),
                (TimeMode::Adaptive, 0..=3) => SchemaBuilder::int32()
                    .name("io.debezium.time.Time")
                    .version(1),
                _ => SchemaBuilder::int64()
                    .name("io.debezium.time.MicroTime")
                    .version(1),
            },
            DbzType::Timestamp(p) => match (modes.time, frac(*p)) {
                (TimeMode::Connect, _) => SchemaBuilder::int64()
                    .name("org.apache.kafka.connect.data.Timestamp")
                    .version(1),
                (_, 0..=3) => SchemaBuilder::int64()
                    .name("io.debezium.time.Timestamp")
                    .version(1),
                _ => SchemaBuilder::int64()
                    .name("io.debezium.time.MicroTimestamp")
                    .version(1),
            },
            DbzType::ZonedTimestamp(_) => SchemaBuilder::string()
                .name("io.debezium.time.ZonedTimestamp")
                .version(1),
            DbzType::ZonedTime(_) => SchemaBuilder::string()
                .name("io.debezium.time.ZonedTime")
                .version(1),
            DbzType::Interval => SchemaBuilder::int64()
                .name("io.debezium.time.MicroDuration")
                .version(1),
            DbzType::Array(el) => SchemaBuilder::array(el.schema(modes, true)),
        }
    }

    /// A time of day (µs since midnight) as this type's value.
    pub fn time_value(&self, modes: Modes, micros: i64) -> Value {
        let p = match self {
            DbzType::Time(p) => frac(*p),
            _ => 6,
        };
        match (modes.time, p) {
            (TimeMode::Connect, _) | (TimeMode::Adaptive, 0..=3) => {
                Value::Int32((micros / 1000) as i32)
            }
            _ => Value::Int64(micros),
        }
    }

    /// A wall-clock timestamp (µs since the epoch, as if UTC).
    pub fn timestamp_value(&self, modes: Modes, micros: i64) -> Value {
        let p = match self {
            DbzType::Timestamp(p) => frac(*p),
            _ => 6,
        };
        match (modes.time, p) {
            (TimeMode::Connect, _) | (_, 0..=3) => Value::Int64(micros.div_euclid(1000)),
            _ => Value::Int64(micros),
        }
    }

    /// Binary data as `binary.handling.mode` wants it.
    pub fn bytes_value(modes: Modes, b: &[u8]) -> Value {
        match modes.binary {
            BinaryMode::Bytes => Value::Bytes(b.to_vec()),
            BinaryMode::Base64 => {
                Value::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
            BinaryMode::Base64UrlSafe => {
                Value::String(base64::engine::general_purpose::URL_SAFE.encode(b))
            }
            BinaryMode::Hex => Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        }
    }

    /// The placeholder of an unchanged TOASTed value, in this type's
    /// representation (Debezium: the placeholder's bytes for binary and
    /// decimal columns, the text for strings, a one-element array for
    /// arrays; no placeholder for other types).
    pub fn placeholder(&self, modes: Modes, text: &str) -> Option<Value> {
        match self {
            DbzType::Text(_) | DbzType::Enum(_) => Some(Value::String(text.to_string())),
            DbzType::Bytes => match modes.binary {
                BinaryMode::Bytes => Some(Value::Bytes(text.as_bytes().to_vec())),
                BinaryMode::Hex => Some(Value::String(text.to_string())),
                BinaryMode::Base64 | BinaryMode::Base64UrlSafe => None,
            },
            DbzType::Array(el) => el.placeholder(modes, text).map(|v| Value::Array(vec![v])),
            DbzType::Decimal { .. } if modes.decimal == DecimalMode::Precise => {
                Some(Value::Bytes(text.as_bytes().to_vec()))
            }
            DbzType::Decimal { .. } | DbzType::VariableDecimal
                if modes.decimal == DecimalMode::String =>
            {
                Some(Value::String(text.to_string()))
            }
            _ => None,
        }
    }
}

/// An exact decimal of any size: sign, decimal digits of the unscaled
/// value, scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigDecimal {
    pub negative: bool,
    /// Decimal digits of the unscaled value, most significant first, no
    /// leading zeros ("" is zero).
    pub digits: String,
    pub scale: i32,
}

impl BigDecimal {
    /// The unscaled value as big-endian two's complement (Java's
    /// `BigInteger.toByteArray`), as Connect's Decimal wants it.
    pub fn unscaled_bytes(&self) -> Vec<u8> {
        // Little-endian base-2^32 limbs.
        let mut limbs: Vec<u32> = Vec::new();
        for d in self.digits.bytes() {
            let mut carry = u64::from(d - b'0');
            for l in limbs.iter_mut() {
                let v = u64::from(*l) * 10 + carry;
                *l = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                limbs.push(carry as u32);
            }
        }
        let mut be: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
        let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
        be.drain(..first);
        if be.first().is_none_or(|&b| b & 0x80 != 0) {
            be.insert(0, 0);
        }
        if self.negative && be.iter().any(|&b| b != 0) {
            // Two's complement: invert and add one.
            for b in be.iter_mut() {
                *b = !*b;
            }
            for b in be.iter_mut().rev() {
                let (v, overflow) = b.overflowing_add(1);
                *b = v;
                if !overflow {
                    break;
                }
            }
            // Drop a redundant leading 0xff.
            while be.len() > 1 && be[0] == 0xff && be[1] & 0x80 != 0 {
                be.remove(0);
            }
        }
        be
    }

    /// `1234.50`, as Java's `BigDecimal.toPlainString`.
    pub fn plain(&self) -> String {
        let digits = if self.digits.is_empty() {
            "0"
        } else {
            &self.digits
        };
        let sign = if self.negative && digits != "0" {
            "-"
        } else {
            ""
        };
        if self.scale <= 0 {
            let zeros = "0".repeat(if digits == "0" {
                0
            } else {
                (-self.scale) as usize
            });
            return format!("{sign}{digits}{zeros}");
        }
        let s = self.scale as usize;
        if digits.len() > s {
            let (i, f) = digits.split_at(digits.len() - s);
            format!("{sign}{i}.{f}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat(s - digits.len()))
        }
    }

    pub fn to_f64(&self) -> f64 {
        self.plain().parse().unwrap_or(f64::NAN)
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A fraction of a second (µs) with `digits` places, or as few as needed
/// when `digits` is negative; empty when nothing is to be printed.
fn fraction(micros: i64, digits: i32) -> String {
    if digits < 0 {
        if micros == 0 {
            return String::new();
        }
        let s = format!("{micros:06}");
        return format!(".{}", s.trim_end_matches('0'));
    }
    if digits == 0 {
        return String::new();
    }
    let s = format!("{micros:06}");
    format!(".{}", &s[..digits.min(6) as usize])
}

/// An instant (µs since the epoch) as `2024-03-01T12:34:56.789Z`, with
/// `digits` fractional places (negative: as few as needed, none for whole
/// seconds).
pub fn iso_instant(micros: i64, digits: i32) -> String {
    let days = micros.div_euclid(86_400_000_000);
    let in_day = micros.rem_euclid(86_400_000_000);
    let (y, m, d) = civil(days);
    let secs = in_day / 1_000_000;
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("+{y}")
    };
    format!(
        "{year}-{m:02}-{d:02}T{:02}:{:02}:{:02}{}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        fraction(in_day % 1_000_000, digits)
    )
}

/// A time of day (µs) with its offset east of UTC (seconds) as
/// `12:34:56.789Z`, normalised to UTC as Debezium's ZonedTime.
pub fn iso_time_utc(micros: i64, offset_east_secs: i64, digits: i32) -> String {
    let t = (micros - offset_east_secs * 1_000_000).rem_euclid(86_400_000_000);
    let secs = t / 1_000_000;
    format!(
        "{:02}:{:02}:{:02}{}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        fraction(t % 1_000_000, digits)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(neg: bool, digits: &str, scale: i32) -> BigDecimal {
        BigDecimal {
            negative: neg,
            digits: digits.into(),
            scale,
        }
    }

    #[test]
    fn unscaled_bytes_are_java_big_integers() {
        assert_eq!(dec(false, "", 2).unscaled_bytes(), vec![0]);
        assert_eq!(dec(false, "127", 0).unscaled_bytes(), vec![0x7f]);
        assert_eq!(dec(false, "128", 0).unscaled_bytes(), vec![0, 0x80]);
        assert_eq!(dec(true, "1", 0).unscaled_bytes(), vec![0xff]);
        assert_eq!(dec(true, "128", 0).unscaled_bytes(), vec![0x80]);
        assert_eq!(dec(true, "129", 0).unscaled_bytes(), vec![0xff, 0x7f]);
        assert_eq!(dec(false, "65536", 0).unscaled_bytes(), vec![1, 0, 0]);
        // 2^100 = 1267650600228229401496703205376
        let b = dec(false, "1267650600228229401496703205376", 0).unscaled_bytes();
        let mut want = vec![0x10];
        want.extend([0u8; 12]);
        assert_eq!(b, want);
        // Agrees with i128 where that fits.
        for v in [0i128, 1, -1, 255, -255, 1_000_000_007, -98_765_432_109_876] {
            let d = dec(v < 0, &v.unsigned_abs().to_string(), 0);
            let d = if v == 0 { dec(false, "", 0) } else { d };
            let full = v.to_be_bytes();
            let got = d.unscaled_bytes();
            assert_eq!(&full[16 - got.len()..], got.as_slice(), "{v}");
            let pad = if v < 0 { 0xff } else { 0 };
            assert!(full[..16 - got.len()].iter().all(|&b| b == pad), "{v}");
        }
    }

    #[test]
    fn plain_strings() {
        assert_eq!(dec(false, "12345", 2).plain(), "123.45");
        assert_eq!(dec(true, "5", 3).plain(), "-0.005");
        assert_eq!(dec(false, "", 2).plain(), "0.00");
        assert_eq!(dec(false, "12", -2).plain(), "1200");
    }

    #[test]
    fn instants_format() {
        assert_eq!(iso_instant(0, -1), "1970-01-01T00:00:00Z");
        assert_eq!(
            iso_instant(1_709_296_496_789_000, -1),
            "2024-03-01T12:34:56.789Z"
        );
        assert_eq!(
            iso_instant(1_709_296_496_789_000, 6),
            "2024-03-01T12:34:56.789000Z"
        );
        assert_eq!(iso_instant(-1, -1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(civil(19_783), (2024, 3, 1));
        assert_eq!(iso_time_utc(3_600_000_000, 3600, -1), "00:00:00Z");
        assert_eq!(iso_time_utc(0, 3600, 3), "23:00:00.000Z");
    }
}
