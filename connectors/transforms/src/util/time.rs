//! Calendar arithmetic (proleptic Gregorian, UTC) and Kafka Connect's fixed
//! ISO 8601 formats (`Values.dateFormatFor`).

pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a civil date. Month and day may be out of
/// range; they roll over as in Java's lenient calendar.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let m0 = month - 1;
    let y = year + m0.div_euclid(12);
    let m = m0.rem_euclid(12) + 1;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (day - 1)
}

/// The civil date (year, month 1-12, day 1-31) of a day since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Splits epoch milliseconds into days and milliseconds of the day.
pub(crate) fn split_millis(millis: i64) -> (i64, i64) {
    (
        millis.div_euclid(MILLIS_PER_DAY),
        millis.rem_euclid(MILLIS_PER_DAY),
    )
}

/// `yyyy` as SimpleDateFormat prints it: the year of era, at least four
/// digits.
fn year_text(year: i64) -> String {
    let year_of_era = if year <= 0 { 1 - year } else { year };
    format!("{year_of_era:04}")
}

/// `yyyy-MM-dd`.
pub(crate) fn iso_date(millis: i64) -> String {
    let (days, _) = split_millis(millis);
    let (y, m, d) = civil_from_days(days);
    format!("{}-{m:02}-{d:02}", year_text(y))
}

/// `HH:mm:ss.SSS'Z'`.
pub(crate) fn iso_time(millis: i64) -> String {
    let (_, ms) = split_millis(millis);
    format!(
        "{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`.
pub(crate) fn iso_timestamp(millis: i64) -> String {
    format!("{}T{}", iso_date(millis), iso_time(millis))
}

/// Kafka Connect's `Values.dateFormatFor(date).format(date)` in UTC: a time
/// below one day (including any instant before the epoch) prints as a time,
/// a whole day as a date, anything else as a timestamp.
pub(crate) fn format_like_values(millis: i64) -> String {
    if millis < MILLIS_PER_DAY {
        iso_time(millis)
    } else if millis % MILLIS_PER_DAY == 0 {
        iso_date(millis)
    } else {
        iso_timestamp(millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [
            -800_000, -719_468, -1, 0, 1, 59, 365, 10_957, 19_000, 2_932_896,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(17_169), (2017, 1, 3));
        assert_eq!(days_from_civil(2016, 13, 1), days_from_civil(2017, 1, 1));
        assert_eq!(days_from_civil(2017, 1, 32), days_from_civil(2017, 2, 1));
    }

    #[test]
    fn iso_formats() {
        assert_eq!(format_like_values(MILLIS_PER_DAY), "1970-01-02");
        assert_eq!(format_like_values(3_600_000), "01:00:00.000Z");
        assert_eq!(
            format_like_values(MILLIS_PER_DAY + 1),
            "1970-01-02T00:00:00.001Z"
        );
        assert_eq!(
            format_like_values(1_483_425_001_864),
            "2017-01-03T06:30:01.864Z"
        );
        assert_eq!(format_like_values(-1), "23:59:59.999Z");
    }
}
