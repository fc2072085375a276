//! PostgreSQL types as Debezium maps them, and their binary values (the
//! form both `COPY ... (FORMAT binary)` snapshots and the `binary` pgoutput
//! stream carry) as Connect values.

use sluice_connect_api::schema::{Struct, Value};

use crate::pg::wire::PG_EPOCH_UNIX_MICROS;
use crate::types::{BigDecimal, DbzType, DecimalMode, Modes, iso_instant, iso_time_utc};

/// Days from 1970-01-01 to 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Debezium's average month: 365.25 / 12 days.
const MICROS_PER_MONTH: i64 = 2_629_800_000_000;

/// A column's type as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgType {
    pub oid: u32,
    pub typmod: i32,
    /// `typname`, for messages and names Debezium matches on (`citext`).
    pub name: String,
    /// Enum labels (in order) when the type, or an array's element, is an
    /// enum.
    pub enum_labels: Option<Vec<String>>,
    /// The element type of an array.
    pub element: Option<Box<PgType>>,
}

/// How to read a column's binary value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dec {
    Bool,
    I16,
    I32,
    I64,
    Oid,
    F32,
    F64,
    Numeric,
    Money,
    Text,
    Jsonb,
    Uuid,
    Bytes,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Inet,
    MacAddr,
    Bit1,
}

/// A mapped column: its Debezium type and decoders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub ty: DbzType,
    pub dec: Dec,
    /// For arrays: the element decoder (`dec` is then unused).
    pub elem: Option<Dec>,
}

fn scalar(t: &PgType) -> Option<(DbzType, Dec)> {
    if let Some(labels) = &t.enum_labels {
        return Some((DbzType::Enum(labels.join(",")), Dec::Text));
    }
    let m = t.typmod;
    Some(match t.oid {
        16 => (DbzType::Bool, Dec::Bool),
        17 => (DbzType::Bytes, Dec::Bytes),
        18 | 19 | 25 | 1042 | 1043 => (DbzType::Text(None), Dec::Text),
        20 => (DbzType::Int64, Dec::I64),
        21 => (DbzType::Int16, Dec::I16),
        23 => (DbzType::Int32, Dec::I32),
        26 => (DbzType::Int64, Dec::Oid),
        114 => (DbzType::Text(Some("io.debezium.data.Json")), Dec::Text),
        3802 => (DbzType::Text(Some("io.debezium.data.Json")), Dec::Jsonb),
        142 => (DbzType::Text(Some("io.debezium.data.Xml")), Dec::Text),
        2950 => (DbzType::Text(Some("io.debezium.data.Uuid")), Dec::Uuid),
        700 => (DbzType::Float32, Dec::F32),
        701 => (DbzType::Float64, Dec::F64),
        790 => (
            DbzType::Decimal {
                precision: None,
                scale: 2,
            },
            Dec::Money,
        ),
        1700 => {
            if m >= 4 {
                let x = m - 4;
                // The scale is an 11-bit signed number (PostgreSQL 15
                // allows negative scales).
                let scale = ((x & 0x7ff) ^ 1024) - 1024;
                (
                    DbzType::Decimal {
                        precision: Some(((x >> 16) & 0xffff) as u32),
                        scale,
                    },
                    Dec::Numeric,
                )
            } else {
                (DbzType::VariableDecimal, Dec::Numeric)
            }
        }
        1082 => (DbzType::Date, Dec::Date),
        1083 => (DbzType::Time(m), Dec::Time),
        1266 => (DbzType::ZonedTime(m), Dec::TimeTz),
        1114 => (DbzType::Timestamp(m), Dec::Timestamp),
        1184 => (DbzType::ZonedTimestamp(m), Dec::TimestampTz),
        1186 => (DbzType::Interval, Dec::Interval),
        869 | 650 => (DbzType::Text(None), Dec::Inet),
        829 => (DbzType::Text(None), Dec::MacAddr),
        1560 if m == 1 => (DbzType::Bool, Dec::Bit1),
        _ if t.name == "citext" => (DbzType::Text(None), Dec::Text),
        _ => return None,
    })
}

/// The Debezium mapping of a column type; `None` when it has none (the
/// column is left out of events, as Debezium does without
/// `include.unknown.datatypes`).
pub fn map_type(t: &PgType) -> Option<Mapped> {
    if let Some(el) = &t.element {
        let (ety, edec) = scalar(el)?;
        return Some(Mapped {
            ty: DbzType::Array(Box::new(ety)),
            dec: edec,
            elem: Some(edec),
        });
    }
    let (ty, dec) = scalar(t)?;
    Some(Mapped {
        ty,
        dec,
        elem: None,
    })
}

fn take<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.get(..N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| format!("expected {N} bytes, got {}", b.len()))
}

fn utf8(b: &[u8]) -> Result<String, String> {
    std::str::from_utf8(b)
        .map(str::to_string)
        .map_err(|_| "invalid UTF-8 text".to_string())
}

/// NUMERIC's binary form as an exact decimal; `None` for NaN and the
/// infinities, which have no decimal value.
pub fn numeric(b: &[u8]) -> Result<Option<BigDecimal>, String> {
    let ndigits = i16::from_be_bytes(take(b)?);
    let weight = i16::from_be_bytes(take(b.get(2..).unwrap_or_default())?);
    let sign = u16::from_be_bytes(take(b.get(4..).unwrap_or_default())?);
    let dscale = u16::from_be_bytes(take(b.get(6..).unwrap_or_default())?);
    if sign != 0 && sign != 0x4000 {
        return Ok(None);
    }
    let n = usize::try_from(ndigits).map_err(|_| "bad numeric".to_string())?;
    // The value is 0.dddd... ×10000^(weight+1); write out every base-10000
    // digit as four decimal digits, then place the point.
    let mut s = String::with_capacity(4 * n + 8);
    for i in 0..n {
        let d = i16::from_be_bytes(take(b.get(8 + 2 * i..).unwrap_or_default())?);
        if !(0..10_000).contains(&d) {
            return Err("bad numeric digit".into());
        }
        s.push_str(&format!("{d:04}"));
    }
    // Digits before the point: 4·(weight+1).
    let int_digits = 4 * (i64::from(weight) + 1);
    let scale = i64::from(dscale);
    // Unscaled value = all digits shifted so that `scale` digits follow the
    // point.
    let have_frac = s.len() as i64 - int_digits;
    if have_frac < scale {
        s.push_str(&"0".repeat((scale - have_frac) as usize));
    } else if have_frac > scale {
        s.truncate((int_digits + scale).max(0) as usize);
    }
    let digits = s.trim_start_matches('0').to_string();
    Ok(Some(BigDecimal {
        negative: sign == 0x4000 && !digits.is_empty(),
        digits,
        scale: i32::from(dscale),
    }))
}

fn decimal_value(d: &BigDecimal, ty: &DbzType, modes: Modes) -> Result<Value, String> {
    Ok(match modes.decimal {
        DecimalMode::Double => Value::Float64(d.to_f64()),
        DecimalMode::String => Value::String(d.plain()),
        DecimalMode::Precise => match ty {
            DbzType::Decimal { scale, .. } => {
                let d = if d.scale == *scale {
                    d.clone()
                } else {
                    rescale(d, *scale)?
                };
                Value::Bytes(d.unscaled_bytes())
            }
            _ => {
                // Trailing zeros stripped, scale at least 0.
                let mut d = d.clone();
                while d.scale > 0 && d.digits.ends_with('0') {
                    d.digits.pop();
                    d.scale -= 1;
                }
                if d.digits.is_empty() {
                    d.scale = 0;
                }
                let schema = ty.schema(modes, false);
                let s = Struct::new(schema)
                    .put("scale", Value::Int32(d.scale))
                    .and_then(|s| s.put("value", Value::Bytes(d.unscaled_bytes())))
                    .map_err(|e| e.to_string())?;
                Value::Struct(s)
            }
        },
    })
}

/// The same value at another scale (more places: zeros added; fewer: only
/// when the dropped digits are zeros).
fn rescale(d: &BigDecimal, scale: i32) -> Result<BigDecimal, String> {
    let mut digits = d.digits.clone();
    if scale > d.scale {
        if !digits.is_empty() {
            digits.push_str(&"0".repeat((scale - d.scale) as usize));
        }
    } else {
        let cut = (d.scale - scale) as usize;
        let keep = digits.len().saturating_sub(cut);
        if digits[keep..].bytes().any(|c| c != b'0') {
            return Err(format!("value {} does not fit scale {scale}", d.plain()));
        }
        digits.truncate(keep);
    }
    Ok(BigDecimal {
        negative: d.negative && !digits.is_empty(),
        digits,
        scale,
    })
}

fn inet(b: &[u8]) -> Result<String, String> {
    let [family, bits, is_cidr, nb] = take::<4>(b)?;
    let addr = b.get(4..4 + nb as usize).ok_or("truncated inet")?;
    let (text, full) = match family {
        2 if addr.len() == 4 => (
            format!("{}.{}.{}.{}", addr[0], addr[1], addr[2], addr[3]),
            32,
        ),
        3 if addr.len() == 16 => (
            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(addr).map_err(|_| "bad inet")?)
                .to_string(),
            128,
        ),
        _ => return Err("unknown inet address family".into()),
    };
    Ok(if is_cidr != 0 || bits != full {
        format!("{text}/{bits}")
    } else {
        text
    })
}

/// One binary value as a Connect value; `Ok(None)` for values Debezium
/// has no value for (NaN, infinite dates), which become null.
pub fn decode(dec: Dec, ty: &DbzType, modes: Modes, b: &[u8]) -> Result<Option<Value>, String> {
    Ok(Some(match dec {
        Dec::Bool => Value::Boolean(take::<1>(b)?[0] != 0),
        Dec::Bit1 => {
            let [_, _, _, _, v] = take::<5>(b)?;
            Value::Boolean(v & 0x80 != 0)
        }
        Dec::I16 => Value::Int16(i16::from_be_bytes(take(b)?)),
        Dec::I32 => Value::Int32(i32::from_be_bytes(take(b)?)),
        Dec::I64 => Value::Int64(i64::from_be_bytes(take(b)?)),
        Dec::Oid => Value::Int64(i64::from(u32::from_be_bytes(take(b)?))),
        Dec::F32 => Value::Float32(f32::from_be_bytes(take(b)?)),
        Dec::F64 => Value::Float64(f64::from_be_bytes(take(b)?)),
        Dec::Numeric => match numeric(b)? {
            Some(d) => decimal_value(&d, ty, modes)?,
            None => match modes.decimal {
                DecimalMode::Double => Value::Float64(f64::NAN),
                DecimalMode::String => Value::String("NAN".into()),
                DecimalMode::Precise => {
                    return Err(
                        "NaN or infinity has no exact decimal value: set decimal.handling.mode=double or string".into(),
                    );
                }
            },
        },
        Dec::Money => {
            let cents = i64::from_be_bytes(take(b)?);
            let d = BigDecimal {
                negative: cents < 0,
                digits: if cents == 0 {
                    String::new()
                } else {
                    cents.unsigned_abs().to_string()
                },
                scale: 2,
            };
            decimal_value(&d, ty, modes)?
        }
        Dec::Text => Value::String(utf8(b)?),
        Dec::Jsonb => match b.split_first() {
            Some((1, rest)) => Value::String(utf8(rest)?),
            _ => return Err("unsupported jsonb version".into()),
        },
        Dec::Uuid => {
            let u: [u8; 16] = take(b)?;
            let h: String = u.iter().map(|x| format!("{x:02x}")).collect();
            Value::String(format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            ))
        }
        Dec::Bytes => DbzType::bytes_value(modes, b),
        Dec::Date => {
            let d = i32::from_be_bytes(take(b)?);
            if d == i32::MAX || d == i32::MIN {
                return Ok(None);
            }
            let days = i64::from(d) + PG_EPOCH_DAYS;
            Value::Int32(i32::try_from(days).map_err(|_| "date out of range")?)
        }
        Dec::Time => ty.time_value(modes, i64::from_be_bytes(take(b)?)),
        Dec::TimeTz => {
            let us = i64::from_be_bytes(take(b)?);
            let west = i32::from_be_bytes(take(b.get(8..).unwrap_or_default())?);
            Value::String(iso_time_utc(us, -i64::from(west), -1))
        }
        Dec::Timestamp | Dec::TimestampTz => {
            let us = i64::from_be_bytes(take(b)?);
            if us == i64::MAX || us == i64::MIN {
                return Ok(None);
            }
            let epoch = us
                .checked_add(PG_EPOCH_UNIX_MICROS)
                .ok_or("timestamp out of range")?;
            if dec == Dec::Timestamp {
                ty.timestamp_value(modes, epoch)
            } else {
                // Exactly the column's fractional digits (6 when none is
                // declared); timestamptz(0) prints as few as needed.
                let digits = match ty {
                    DbzType::ZonedTimestamp(p) if *p < 0 => 6,
                    DbzType::ZonedTimestamp(0) => -1,
                    DbzType::ZonedTimestamp(p) => *p,
                    _ => 6,
                };
                Value::String(iso_instant(epoch, digits))
            }
        }
        Dec::Interval => {
            let us = i64::from_be_bytes(take(b)?);
            let days = i32::from_be_bytes(take(b.get(8..).unwrap_or_default())?);
            let months = i32::from_be_bytes(take(b.get(12..).unwrap_or_default())?);
            if us == i64::MAX || us == i64::MIN {
                return Ok(None); // infinity (PostgreSQL 17)
            }
            let total = i64::from(days)
                .checked_mul(MICROS_PER_DAY)
                .zip(i64::from(months).checked_mul(MICROS_PER_MONTH))
                .and_then(|(d, m)| d.checked_add(m))
                .and_then(|dm| dm.checked_add(us))
                .ok_or("interval too long for microseconds in 64 bits")?;
            Value::Int64(total)
        }
        Dec::Inet => Value::String(inet(b)?),
        Dec::MacAddr => {
            let m: [u8; 6] = take(b)?;
            Value::String(
                m.iter()
                    .map(|x| format!("{x:02x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            )
        }
    }))
}

/// A one-dimensional array; NULL elements kept.
pub fn decode_array(el: Dec, ty: &DbzType, modes: Modes, b: &[u8]) -> Result<Value, String> {
    let ety = match ty {
        DbzType::Array(e) => e.as_ref(),
        other => other,
    };
    let ndim = i32::from_be_bytes(take(b)?);
    if ndim == 0 {
        return Ok(Value::Array(Vec::new()));
    }
    if ndim != 1 {
        return Err(format!("{ndim}-dimensional arrays are not supported"));
    }
    let len = i32::from_be_bytes(take(b.get(12..).unwrap_or_default())?);
    let mut pos = 20;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(4096));
    for _ in 0..len {
        let n = i32::from_be_bytes(take(b.get(pos..).unwrap_or_default())?);
        pos += 4;
        if n < 0 {
            out.push(Value::Null);
            continue;
        }
        let n = n as usize;
        let item = b.get(pos..pos + n).ok_or("truncated array")?;
        out.push(decode(el, ety, modes, item)?.unwrap_or(Value::Null));
        pos += n;
    }
    Ok(Value::Array(out))
}

/// A column's value: null, or decoded by its mapping.
pub fn value(m: &Mapped, modes: Modes, raw: Option<&[u8]>) -> Result<Value, String> {
    let Some(b) = raw else {
        return Ok(Value::Null);
    };
    match m.elem {
        Some(el) => decode_array(el, &m.ty, modes, b),
        None => Ok(decode(m.dec, &m.ty, modes, b)?.unwrap_or(Value::Null)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend((digits.len() as i16).to_be_bytes());
        b.extend(weight.to_be_bytes());
        b.extend(sign.to_be_bytes());
        b.extend(dscale.to_be_bytes());
        for d in digits {
            b.extend(d.to_be_bytes());
        }
        b
    }

    fn plain(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> String {
        numeric(&numeric_bytes(weight, sign, dscale, digits))
            .unwrap()
            .unwrap()
            .plain()
    }

    #[test]
    fn numerics_are_exact_at_any_size() {
        assert_eq!(plain(1, 0, 4, &[1, 2345, 6789]), "12345.6789");
        assert_eq!(plain(-1, 0x4000, 4, &[5]), "-0.0005");
        assert_eq!(plain(2, 0, 0, &[1]), "100000000");
        assert_eq!(plain(0, 0, 2, &[1, 5000]), "1.50");
        assert_eq!(plain(0, 0, 3, &[]), "0.000");
        assert_eq!(plain(-2, 0, 8, &[12]), "0.00000012");
        // 50 digits: beyond any i128.
        let digits = [1234i16; 13];
        let p = plain(12, 0, 0, &digits);
        assert_eq!(p.len(), 52);
        assert!(p.starts_with("1234") && p.ends_with("1234"));
        assert!(
            numeric(&numeric_bytes(0, 0xC000, 0, &[]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn types_map_as_debezium() {
        let t = |oid, typmod| PgType {
            oid,
            typmod,
            name: String::new(),
            enum_labels: None,
            element: None,
        };
        assert_eq!(map_type(&t(1700, -1)).unwrap().ty, DbzType::VariableDecimal);
        assert_eq!(
            map_type(&t(1700, (10 << 16 | 2) + 4)).unwrap().ty,
            DbzType::Decimal {
                precision: Some(10),
                scale: 2
            }
        );
        assert_eq!(
            map_type(&t(3802, -1)).unwrap().ty,
            DbzType::Text(Some("io.debezium.data.Json"))
        );
        assert!(map_type(&t(600, -1)).is_none()); // point
        let mut arr = t(1007, -1);
        arr.element = Some(Box::new(t(23, -1)));
        assert_eq!(
            map_type(&arr).unwrap().ty,
            DbzType::Array(Box::new(DbzType::Int32))
        );
    }

    #[test]
    fn values_decode() {
        let m = Modes::default();
        let ts = DbzType::ZonedTimestamp(-1);
        assert_eq!(
            decode(Dec::TimestampTz, &ts, m, &0i64.to_be_bytes()).unwrap(),
            Some(Value::String("2000-01-01T00:00:00.000000Z".into()))
        );
        assert_eq!(
            decode(Dec::Date, &DbzType::Date, m, &0i32.to_be_bytes()).unwrap(),
            Some(Value::Int32(10_957))
        );
        assert_eq!(
            decode(
                Dec::Timestamp,
                &DbzType::Timestamp(-1),
                m,
                &1i64.to_be_bytes()
            )
            .unwrap(),
            Some(Value::Int64(PG_EPOCH_UNIX_MICROS + 1))
        );
        assert_eq!(
            decode(
                Dec::Timestamp,
                &DbzType::Timestamp(3),
                m,
                &1000i64.to_be_bytes()
            )
            .unwrap(),
            Some(Value::Int64(PG_EPOCH_UNIX_MICROS / 1000 + 1))
        );
        assert_eq!(
            decode(
                Dec::Inet,
                &DbzType::Text(None),
                m,
                &[2, 32, 0, 4, 10, 0, 0, 1]
            )
            .unwrap(),
            Some(Value::String("10.0.0.1".into()))
        );
        let mut iv = Vec::new();
        iv.extend(1i64.to_be_bytes());
        iv.extend(1i32.to_be_bytes());
        iv.extend(1i32.to_be_bytes());
        assert_eq!(
            decode(Dec::Interval, &DbzType::Interval, m, &iv).unwrap(),
            Some(Value::Int64(1 + MICROS_PER_DAY + MICROS_PER_MONTH))
        );
        assert!(decode(Dec::I32, &DbzType::Int32, m, &[0, 1]).is_err());
        let fixed = DbzType::Decimal {
            precision: Some(5),
            scale: 2,
        };
        assert_eq!(
            decode(Dec::Numeric, &fixed, m, &numeric_bytes(0, 0, 2, &[1, 5000])).unwrap(),
            Some(Value::Bytes(vec![0, 150]))
        );
    }
}
