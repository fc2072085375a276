//! Java behaviour that shows in transform results and messages: class names,
//! `Double.toString`/`Float.toString`, `Double.parseDouble`.

use sluice_connect_api::schema::logical::LogicalType;
use sluice_connect_api::schema::{Schema, Value};

/// The Java class Kafka Connect would hold for a value (as
/// `Class.getName()` prints it), `null` for null.
pub(crate) fn class_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) => "java.lang.Integer",
        Value::Int64(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
    }
}

/// Like [`class_name`], knowing the schema: logical values are
/// `java.util.Date` and `java.math.BigDecimal` in Kafka Connect.
pub(crate) fn class_name_of(schema: Option<&Schema>, value: &Value) -> &'static str {
    if value.is_null() {
        return "null";
    }
    match schema.and_then(LogicalType::of) {
        Some(LogicalType::Decimal) => "java.math.BigDecimal",
        Some(LogicalType::Date | LogicalType::Time | LogicalType::Timestamp) => "java.util.Date",
        None => class_name(value),
    }
}

/// Java's `Double.toString` (JDK 19+: the shortest decimal that reads back
/// as the same double).
pub(crate) fn double_to_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    java_float_text(
        v < 0.0 || (v == 0.0 && v.is_sign_negative()),
        &format!("{:e}", v.abs()),
        v.abs() >= 1e-3 && v.abs() < 1e7,
        v == 0.0,
    )
}

/// Java's `Float.toString`.
pub(crate) fn float_to_string(v: f32) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    java_float_text(
        v < 0.0 || (v == 0.0 && v.is_sign_negative()),
        &format!("{:e}", v.abs()),
        v.abs() >= 1e-3 && v.abs() < 1e7,
        v == 0.0,
    )
}

/// Lays out Rust's shortest `{:e}` digits (`1.2345e2`, `1e-4`) as Java does:
/// plain between 10^-3 and 10^7, `d.dddE±n` otherwise, always with a
/// fraction digit.
fn java_float_text(negative: bool, sci: &str, plain: bool, zero: bool) -> String {
    let mut out = String::with_capacity(24);
    if negative {
        out.push('-');
    }
    if zero {
        out.push_str("0.0");
        return out;
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if plain {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() > int_len {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            } else {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
}

/// The text Java's `Double.parseDouble`/`Float.parseFloat` accept, made
/// readable for Rust: surrounding control characters and spaces trimmed, a
/// trailing `f`/`F`/`d`/`D` dropped, `NaN` and `Infinity` spelled as Java
/// does. `None` where Java would throw `NumberFormatException` (hexadecimal
/// floating-point literals are not supported here).
fn java_float_literal(s: &str) -> Option<String> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => ("-", &t[1..]),
        Some(b'+') => ("", &t[1..]),
        _ => ("", t),
    };
    match body {
        "NaN" => return Some("NaN".to_string()),
        "Infinity" => return Some(format!("{sign}inf")),
        _ => {}
    }
    let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
    let valid = !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    valid.then(|| format!("{sign}{body}"))
}

/// Java's `Double.parseDouble`.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    java_float_literal(s)?.parse().ok()
}

/// Java's `Float.parseFloat`.
pub(crate) fn parse_float(s: &str) -> Option<f32> {
    java_float_literal(s)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java() {
        for (v, s) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (42.0, "42.0"),
            (-64.0, "-64.0"),
            (1.5, "1.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1.0e7, "1.0E7"),
            (1.0e10, "1.0E10"),
            (9.223372036854776E18, "9.223372036854776E18"),
            (0.1 + 0.2, "0.30000000000000004"),
            (100.5, "100.5"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (1.25e-5, "1.25E-5"),
        ] {
            assert_eq!(double_to_string(v), s, "{v}");
        }
    }

    #[test]
    fn floats_print_as_java() {
        for (v, s) in [
            (32.0f32, "32.0"),
            (0.1f32, "0.1"),
            (42.125f32, "42.125"),
            (1.0e-5f32, "1.0E-5"),
            (3.4028235e38f32, "3.4028235E38"),
        ] {
            assert_eq!(float_to_string(v), s, "{v}");
        }
    }

    #[test]
    fn parses_like_java() {
        assert_eq!(parse_double(" 1.5 "), Some(1.5));
        assert_eq!(parse_double("2d"), Some(2.0));
        assert_eq!(parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_double("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_double("1e3"), Some(1000.0));
        assert_eq!(parse_double("inf"), None);
        assert_eq!(parse_double("abc"), None);
        assert_eq!(parse_double(""), None);
        assert_eq!(parse_float("123.0"), Some(123.0));
    }
}

/// The integer part of a decimal, truncated toward zero, as its low 64
/// bits: Java's `BigDecimal.longValue()` (and, narrowed, `intValue()`,
/// `shortValue()`, `byteValue()`).
pub(crate) fn decimal_long_value(d: &sluice_connect_api::schema::logical::Decimal) -> i64 {
    let scale = d.scale();
    let unscaled = d.unscaled();
    let integral = if scale <= 0 {
        unscaled.wrapping_mul(10i128.wrapping_pow(scale.unsigned_abs()))
    } else {
        match 10i128.checked_pow(scale.unsigned_abs()) {
            Some(f) => unscaled / f,
            None => 0,
        }
    };
    integral as i64
}

/// Java's `BigDecimal.doubleValue()` (correctly rounded).
pub(crate) fn decimal_double_value(d: &sluice_connect_api::schema::logical::Decimal) -> f64 {
    d.to_java_string().parse().unwrap_or(f64::NAN)
}

/// Java's `BigDecimal.floatValue()` (correctly rounded).
pub(crate) fn decimal_float_value(d: &sluice_connect_api::schema::logical::Decimal) -> f32 {
    d.to_java_string().parse().unwrap_or(f32::NAN)
}

#[cfg(test)]
mod decimal_tests {
    use super::*;
    use sluice_connect_api::schema::logical::Decimal;

    #[test]
    fn decimal_conversions() {
        assert_eq!(
            decimal_long_value(&Decimal::new(2_147_483_648, 0)) as i32,
            i32::MIN
        );
        assert_eq!(decimal_long_value(&Decimal::new(-12_345, 2)), -123);
        assert_eq!(decimal_long_value(&Decimal::new(5, -2)), 500);
        assert_eq!(decimal_long_value(&Decimal::new(5, 60)), 0);
        assert_eq!(decimal_double_value(&Decimal::new(1_982, 0)), 1982.0);
        assert_eq!(decimal_float_value(&Decimal::new(15, 1)), 1.5);
        assert_eq!(decimal_double_value(&Decimal::new(1, -3)), 1000.0);
    }
}
