//! Calendar arithmetic and `db.timezone`: columns without a time zone
//! (PostgreSQL `timestamp`, MySQL `DATETIME`) hold wall-clock times that
//! are read as times in `db.timezone`.

use jiff::Timestamp;
use jiff::tz::TimeZone;

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// `db.timezone`: how wall-clock columns map to instants.
#[derive(Debug, Clone)]
pub struct DbZone {
    name: String,
    /// `None`: UTC, no lookups.
    tz: Option<TimeZone>,
}

impl DbZone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".to_string(),
            tz: None,
        }
    }

    /// A zone by IANA name (`Europe/Paris`), `UTC`/`GMT`/`Z`, or a fixed
    /// offset (`+02:00`).
    pub fn parse(name: &str) -> Result<Self, String> {
        let trimmed = name.trim();
        if ["UTC", "GMT", "Z", "Etc/UTC", "+00:00"]
            .iter()
            .any(|u| u.eq_ignore_ascii_case(trimmed))
        {
            return Ok(Self::utc());
        }
        let tz = if let Some(offset) = parse_offset(trimmed) {
            jiff::tz::Offset::from_seconds(offset)
                .map(TimeZone::fixed)
                .map_err(|e| format!("Invalid time zone '{trimmed}': {e}"))?
        } else {
            TimeZone::get(trimmed).map_err(|e| format!("Invalid time zone '{trimmed}': {e}"))?
        };
        Ok(Self {
            name: trimmed.to_string(),
            tz: Some(tz),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_utc(&self) -> bool {
        self.tz.is_none()
    }

    /// The instant (µs since the epoch) of a wall-clock time in this zone
    /// given as µs since 1970-01-01T00:00 local. A time that does not exist
    /// (a DST gap) moves forward, one that exists twice takes the earlier.
    pub fn wall_to_utc(&self, wall_micros: i64) -> i64 {
        let Some(tz) = &self.tz else {
            return wall_micros;
        };
        let Ok(ts) = Timestamp::from_microsecond(wall_micros) else {
            return wall_micros;
        };
        let civil = TimeZone::UTC.to_datetime(ts);
        match tz.to_ambiguous_timestamp(civil).compatible() {
            Ok(t) => t.as_microsecond(),
            Err(_) => wall_micros,
        }
    }

    /// The wall-clock time (µs since 1970-01-01T00:00 local) of an instant.
    pub fn utc_to_wall(&self, utc_micros: i64) -> i64 {
        let Some(tz) = &self.tz else {
            return utc_micros;
        };
        let Ok(ts) = Timestamp::from_microsecond(utc_micros) else {
            return utc_micros;
        };
        utc_micros + i64::from(tz.to_offset(ts).seconds()) * MICROS_PER_SECOND
    }
}

fn parse_offset(s: &str) -> Option<i32> {
    let s = s
        .strip_prefix("UTC")
        .or_else(|| s.strip_prefix("GMT"))
        .unwrap_or(s);
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?),
        None if rest.len() == 4 => (rest[..2].parse().ok()?, rest[2..].parse().ok()?),
        None => (rest.parse().ok()?, 0),
    };
    (h <= 18 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Broken-down wall-clock time of µs since the epoch:
/// (year, month, day, hour, minute, second, microsecond).
pub fn civil_from_micros(micros: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rem = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / MICROS_PER_SECOND;
    (
        y,
        m,
        d,
        (secs / 3600) as u32,
        (secs / 60 % 60) as u32,
        (secs % 60) as u32,
        (rem % MICROS_PER_SECOND) as u32,
    )
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff` of µs since the epoch (UTC), the ISO
/// form `timestamp.granularity=nanos_iso_datetime_string` writes (with
/// nanoseconds, which are the microseconds times 1000 here).
pub fn iso_nanos(micros: i64) -> String {
    let (y, mo, d, h, mi, s, us) = civil_from_micros(micros);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:09}",
        u64::from(us) * 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 1, 1), 10_957);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for days in [-800_000, -1, 0, 59, 60, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(iso_nanos(1_500_000), "1970-01-01T00:00:01.500000000");
    }

    #[test]
    fn zones_shift_wall_clock_times() {
        let utc = DbZone::parse("UTC").unwrap();
        assert!(utc.is_utc());
        assert_eq!(utc.wall_to_utc(5), 5);
        let plus2 = DbZone::parse("+02:00").unwrap();
        let hour = 3600 * MICROS_PER_SECOND;
        assert_eq!(plus2.wall_to_utc(10 * hour), 8 * hour);
        assert_eq!(plus2.utc_to_wall(8 * hour), 10 * hour);
        let paris = DbZone::parse("Europe/Paris").unwrap();
        // 2024-07-01T12:00 in Paris is 10:00 UTC (summer time).
        let wall = days_from_civil(2024, 7, 1) * MICROS_PER_DAY + 12 * hour;
        assert_eq!(paris.wall_to_utc(wall), wall - 2 * hour);
        assert_eq!(paris.utc_to_wall(wall - 2 * hour), wall);
        assert!(DbZone::parse("Mars/Olympus").is_err());
    }
}
