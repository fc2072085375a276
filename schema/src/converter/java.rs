//! Java's `toString` formats that Kafka Connect's output depends on:
//! `Double.toString`, `Float.toString` (Jackson writes numbers with them) and
//! `java.util.Date.toString` (what `StringConverter` writes for Date, Time and
//! Timestamp values).

use crate::logical::MILLIS_PER_DAY;

/// Java's `Double.toString` (JDK 19+, the shortest-digits algorithm; older
/// JDKs print a longer string for a few values): `1.0`, `100.0`, `0.001`,
/// `1.0E7`, `1.234E-4`, `-0.0`, `NaN`, `Infinity`, `4.9E-324`.
pub(crate) fn java_double(v: f64) -> String {
    if let Some(s) = special(v.is_nan(), v.is_infinite(), v == 0.0, v.is_sign_negative()) {
        return s.to_string();
    }
    let a = v.abs();
    let bits = a.to_bits();
    let (biased, fraction) = ((bits >> 52) as i32, bits & ((1 << 52) - 1));
    let binary = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased - 1075),
    };
    let (digits, exp) = java_digits(
        &format!("{a:e}"),
        binary,
        |precision| format!("{a:.precision$e}"),
        |s| s.parse::<f64>() == Ok(a),
    );
    layout(v < 0.0, &digits, exp)
}

/// Java's `Float.toString` (JDK 19+): as [`java_double`] for `f32`.
pub(crate) fn java_float(v: f32) -> String {
    if let Some(s) = special(v.is_nan(), v.is_infinite(), v == 0.0, v.is_sign_negative()) {
        return s.to_string();
    }
    let a = v.abs();
    let bits = a.to_bits();
    let (biased, fraction) = ((bits >> 23) as i32, u64::from(bits & ((1 << 23) - 1)));
    let binary = match biased {
        0 => (fraction, -149),
        _ => (fraction | 1 << 23, biased - 150),
    };
    let (digits, exp) = java_digits(
        &format!("{a:e}"),
        binary,
        |precision| format!("{a:.precision$e}"),
        |s| s.parse::<f32>() == Ok(a),
    );
    layout(v < 0.0, &digits, exp)
}

/// Java's choice of digits (JDK 19+ `Double.toString` spec): among the
/// shortest decimals that round to the value (one or two digits when one
/// suffices), the closest to it, and on a tie the one with an even last
/// digit. Rust's `{:e}` gives a shortest decimal but breaks ties upwards and
/// never looks at two digits when one suffices.
///
/// `shortest` is the `{:e}` form of the (positive, finite) value, `binary`
/// its value as `mantissa × 2^exponent`, `exact(p)` its correctly rounded
/// form with `p` fraction digits, `round_trips(s)` whether `s` parses back
/// to the value.
fn java_digits(
    shortest: &str,
    binary: (u64, i32),
    exact: impl Fn(usize) -> String,
    round_trips: impl Fn(&str) -> bool,
) -> (String, i32) {
    let (digits, exp) = split_sci(shortest);
    if digits.len() == 1 {
        // Double.MIN_VALUE is 4.9E-324, not 5.0E-324.
        let two = exact(1);
        return if round_trips(&two) {
            split_sci(&two)
        } else {
            (digits, exp)
        };
    }
    // A tie: the value is exactly halfway between two decimals of this
    // length, so its exact expansion is those digits followed by a 5. The
    // 40 extra digits rule out a value merely close to halfway: a float
    // cannot be that close to a short decimal without being equal.
    let n = digits.len();
    if !tie_possible(binary, n) {
        return (digits, exp);
    }
    let (long, long_exp) = split_sci(&exact(n + 40));
    let long = format!("{long:0<width$}", width = n + 41);
    if long.as_bytes().get(n) != Some(&b'5') || !long[n + 1..].bytes().all(|b| b == b'0') {
        return (digits, exp);
    }
    let lower = &long[..n];
    if lower.ends_with(['0', '2', '4', '6', '8']) {
        let candidate = format!("{}.{}e{long_exp}", &lower[..1], &lower[1..]);
        if round_trips(&candidate) {
            return split_sci(&candidate);
        }
    }
    (digits, exp)
}

fn special(nan: bool, infinite: bool, zero: bool, negative: bool) -> Option<&'static str> {
    Some(match (nan, infinite, zero, negative) {
        (true, ..) => "NaN",
        (_, true, _, false) => "Infinity",
        (_, true, _, true) => "-Infinity",
        (_, _, true, false) => "0.0",
        (_, _, true, true) => "-0.0",
        _ => return None,
    })
}

/// Whether `mantissa × 2^exponent` can be exactly halfway between two
/// decimals of `n` significant digits, i.e. have an exact decimal expansion
/// of `n + 1` digits ending in 5. A cheap filter before the exact check.
fn tie_possible((mantissa, exponent): (u64, i32), n: usize) -> bool {
    if mantissa == 0 {
        return false;
    }
    let tz = mantissa.trailing_zeros();
    let (m, e) = (mantissa >> tz, exponent + tz as i32);
    if e >= 0 {
        // An integer: its last non-zero digit is even unless 5^e+1 divides m.
        return m % 5 == 0;
    }
    // m / 2^k = m·5^k / 10^k: the expansion has as many digits as m·5^k.
    let digits =
        (m as f64).log10() + f64::from(-e) * std::f64::consts::LOG10_2.mul_add(-1.0, 1.0) + 1.0;
    digits <= n as f64 + 3.0
}

/// Splits Rust's `{:e}` output (`1.234e-4`) into significant digits without
/// trailing zeros (`1234`) and the decimal exponent of the first one (`-4`).
fn split_sci(s: &str) -> (String, i32) {
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exp.parse().unwrap_or(0))
}

/// Java's layout: plain for 1e-3 <= |v| < 1e7 with at least one fraction
/// digit, otherwise `d.dddE±n`.
fn layout(negative: bool, digits: &str, exp: i32) -> String {
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if (-3..7).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() > int_len {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            } else {
                out.push_str(digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(digits);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
}

/// `java.util.Date.toString()` in a JVM whose time zone is UTC:
/// `Thu Jan 01 00:00:00 UTC 1970`. Uses the proleptic Gregorian calendar
/// (Java switches to the Julian calendar before 1582-10-15).
pub(crate) fn java_date(millis: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let ms = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let secs = ms / 1000;
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[(days + 4).rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        year
    )
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31); Howard
/// Hinnant's `civil_from_days`.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_like_java() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (100.0, "100.0"),
            (1.0, "1.0"),
            (1.0e7, "1.0E7"),
            (9_999_999.0, "9999999.0"),
            (1.234e-4, "1.234E-4"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1.0e-5, "1.0E-5"),
            (1.0e10, "1.0E10"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (12.34, "12.34"),
            (-1.5, "-1.5"),
            (123_456_789.0, "1.23456789E8"),
            (0.30000000000000004, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (5e-324, "4.9E-324"),
            (2e23, "2.0E23"),
            (1e23, "1.0E23"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(v, expected) in cases {
            assert_eq!(java_double(v), expected, "{v:e}");
        }
    }

    #[test]
    fn floats_like_java() {
        let cases: &[(f32, &str)] = &[
            (12.34, "12.34"),
            (0.1, "0.1"),
            (1.0, "1.0"),
            (1.0e7, "1.0E7"),
            (1.0e-5, "1.0E-5"),
            (3.4028235e38, "3.4028235E38"),
            (1.4e-45, "1.4E-45"),
            (-0.0, "-0.0"),
            (f32::NAN, "NaN"),
        ];
        for &(v, expected) in cases {
            assert_eq!(java_float(v), expected, "{v:e}");
        }
    }

    #[test]
    fn dates_like_java_in_utc() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            java_date(10_000 * MILLIS_PER_DAY),
            "Mon May 19 00:00:00 UTC 1997"
        );
        assert_eq!(java_date(14_400_000), "Thu Jan 01 04:00:00 UTC 1970");
        assert_eq!(java_date(-1), "Wed Dec 31 23:59:59 UTC 1969");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(java_date(4_102_444_800_000), "Fri Jan 01 00:00:00 UTC 2100");
    }
}
