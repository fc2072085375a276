//! Java `java.text.SimpleDateFormat` semantics, fixed to UTC and English (US) names.
//!
//! Kafka Connect's `TimestampConverter` and `TimestampRouter` take `SimpleDateFormat`
//! patterns from user configuration, so this module reproduces the JDK's behaviour for
//! a formatter created with `new SimpleDateFormat(pattern)` (locale `US`/`ROOT`) and
//! `setTimeZone(UTC)`: the same pattern syntax and errors, the same output, and the same
//! lenient parsing (`parse(String)`).
//!
//! # Supported
//! * All pattern letters of the JDK: `G y Y M L w W D d F E u a H k K h m s S z Z X`,
//!   quoted literals (`'...'`, `''` for a quote), every other non-letter as a literal.
//!   Other ASCII letters fail with `Illegal pattern character 'q'`, an open quote with
//!   `Unterminated quote`, `XXXX` with `invalid ISO 8601 format: length=4`.
//! * Formatting exactly as Java: zero padding to the letter count, `yy` = last two digits,
//!   `MMM`/`MMMM`, `E..EEE`/`EEEE`, `S` = milliseconds as a plain number (`S` = `235`,
//!   `SSSS` = `0235`), `k` = 24 at midnight, `h` = 12 at noon/midnight, `z` = `UTC`
//!   (`zzzz` = `Coordinated Universal Time`), `Z` = `+0000`, `X`/`XX`/`XXX` = `Z`,
//!   US week rules (weeks start on Sunday, week 1 is the week holding January 1) for
//!   `w W F Y u`.
//! * Java's default `GregorianCalendar`: Julian calendar before 1582-10-15 (the day after
//!   1582-10-04), including the special day-of-year and week numbering of 1582; years
//!   before AD 1 are printed as year-of-era with `G` = `BC`.
//! * Lenient parsing as Java's default: the numeric, text, zone and two-digit-year rules,
//!   adjacent numeric fields split by the letter counts, out-of-range values rolled over
//!   by the calendar, Java's field-resolution order when fields conflict (the field parsed
//!   last wins), week dates (`YYYY-'W'ww-u`), a parse that stops after the pattern and
//!   ignores trailing text, numbers as Java's `DecimalFormat` reads them (an optional
//!   `-`, Unicode decimal digits of the BMP, an `E` exponent, `NaN`, `∞`, `int`
//!   truncation of long values).
//!
//! # Known differences from Java
//! * Named time zones in parsed text (`z`/`Z` letters): only a fixed table is known: `UTC`,
//!   `GMT`, the US zones (`PST`/`PDT`, `MST`/`MDT`, `CST`/`CDT`, `EST`/`EDT`,
//!   `AKST`/`AKDT`, `HST`), `CET`/`CEST`, `EET`/`EEST`, `WET`/`WEST`, `JST`, with their long
//!   English names and today's offsets. Java searches its whole time-zone database
//!   (historical offsets included, e.g. local mean time before 1883, and the JVM's default
//!   zone first, so `CST` and `IST` can mean other zones). Numeric forms (`GMT+hh:mm`,
//!   `+hhmm`, ISO 8601 with `X`) are complete.
//! * After parsing a named zone such as `PDT`, Java's formatter switches its own time zone
//!   to that zone for every later call. This type is immutable and stays in UTC.
//! * The two-digit-year window (`y`/`yy`: 80 years before to 20 years after) is taken from
//!   the system clock in UTC when [`SimpleDateFormat::new`] runs; Java uses the JVM's
//!   default zone at construction time (the same in a UTC JVM).
//! * Names and number symbols are always English (US/ROOT) as in JDK 9 and later (CLDR
//!   data; JDK 8's `NaN` symbol was U+FFFD). Java's `new SimpleDateFormat(pattern)` uses
//!   the JVM's default locale, so a JVM with another default locale prints other names.
//!
//! Text is handled as UTF-16 units, as Java does (supplementary-plane digits are not
//! digits to Java either). Checked against OpenJDK 17 with randomized differential runs
//! (patterns, instants, parses of formatted and mutated text): apart from zone
//! abbreviations missing from the table above, every case agreed.

use std::cmp::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// Day number of 1970-01-01, counting 0001-01-01 (proleptic Gregorian) as day 1.
const EPOCH_FIXED: i64 = 719_163;
/// Day number of 1582-10-15, the first Gregorian day of Java's default calendar.
const CUTOVER_FIXED: i64 = 577_736;
/// Year of the Julian-Gregorian change.
const CUTOVER_YEAR: i64 = 1582;
/// `Calendar.SUNDAY`; also the first day of the week in the US locale.
const SUNDAY: i32 = 1;
/// Java's `DecimalFormat` pads integers to at most this many digits.
const MAX_PAD_DIGITS: usize = 309;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Index 0 is Sunday (`Calendar.SUNDAY` = 1).
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const SHORT_WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/// Index 0 is `GregorianCalendar.BC`.
const ERAS: [&str; 2] = ["BC", "AD"];
const AM_PM_NAMES: [&str; 2] = ["AM", "PM"];
const UTC_SHORT_NAME: &str = "UTC";
const UTC_LONG_NAME: &str = "Coordinated Universal Time";

// Calendar field indices (as java.util.Calendar, plus the week year of the builder).
const F_ERA: usize = 0;
const F_YEAR: usize = 1;
const F_MONTH: usize = 2;
const F_WEEK_OF_YEAR: usize = 3;
const F_WEEK_OF_MONTH: usize = 4;
const F_DAY_OF_MONTH: usize = 5;
const F_DAY_OF_YEAR: usize = 6;
const F_DAY_OF_WEEK: usize = 7;
const F_DAY_OF_WEEK_IN_MONTH: usize = 8;
const F_AM_PM: usize = 9;
const F_HOUR: usize = 10;
const F_HOUR_OF_DAY: usize = 11;
const F_MINUTE: usize = 12;
const F_SECOND: usize = 13;
const F_MILLISECOND: usize = 14;
const F_ZONE_OFFSET: usize = 15;
const F_DST_OFFSET: usize = 16;
const F_WEEK_YEAR: usize = 17;
const FIELD_COUNT: usize = 18;

const U_QUOTE: u16 = b'\'' as u16;
const U_MINUS: u16 = b'-' as u16;
const U_PLUS: u16 = b'+' as u16;
const U_COLON: u16 = b':' as u16;
const U_INFINITY: u16 = 0x221E;

/// First code unit (the zero) of every run of ten decimal digits in the BMP, the digits
/// Java's `Character.digit(char, 10)` accepts.
const DIGIT_ZEROS: [u16; 37] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

/// A named zone that parsing knows: long standard, short standard, long daylight and
/// short daylight names, the raw offset and the daylight saving amount.
struct ZoneNames {
    names: [&'static str; 4],
    raw_offset_ms: i32,
    dst_savings_ms: i32,
}

const HOUR_MS: i32 = 3_600_000;

/// Searched in order; the first zone with a name that prefixes the text wins.
const ZONES: [ZoneNames; 12] = [
    ZoneNames {
        names: [UTC_LONG_NAME, UTC_SHORT_NAME, UTC_LONG_NAME, UTC_SHORT_NAME],
        raw_offset_ms: 0,
        dst_savings_ms: 0,
    },
    ZoneNames {
        names: ["Greenwich Mean Time", "GMT", "Greenwich Mean Time", "GMT"],
        raw_offset_ms: 0,
        dst_savings_ms: 0,
    },
    ZoneNames {
        names: [
            "Pacific Standard Time",
            "PST",
            "Pacific Daylight Time",
            "PDT",
        ],
        raw_offset_ms: -8 * HOUR_MS,
        dst_savings_ms: HOUR_MS,
    },
    ZoneNames {
        names: [
            "Mountain Standard Time",
            "MST",
            "Mountain Daylight Time",
            "MDT",
        ],
        raw_offset_ms: -7 * HOUR_MS,
        dst_savings_ms: HOUR_MS,
    },
    ZoneNames {
        names: [
            "Central Standard Time",
            "CST",
            "Central Daylight Time",
            "CDT",
        ],
        raw_offset_ms: -6 * HOUR_MS,
        dst_savings_ms: HOUR_MS,
    },
    ZoneNames {
        names: [
            "Eastern Standard Time",
            "EST",
            "Eastern Daylight Time",
            "EDT",
        ],
        raw_offset_ms: -5 * HOUR_MS,
        dst_savings_ms: HOUR_MS,
    },
    ZoneNames {
        names: [
            "Alaska Standard Time",
            "AKST",
            "Alaska Daylight Time",
            "AKDT",
        ],
        raw_offset_ms: -9 * HOUR_MS,
        dst_savings_ms: HOUR_MS,
    },
    ZoneNames {
        names: [
            "Hawaii-Aleutian Standard Time",
            "HST",
            "Hawaii-Aleutian Daylight Time",
            "HDT",
        ],
        raw_offset_ms: -10 * HOUR_MS,
        dst_savings_ms: 0,
    },
    ZoneNames {
        names: [
            "Central European Standard Time",
            "CET",
            "Central European Summer Time",
            "CEST",
        ],
        raw_offset_ms: HOUR_MS,
        dst_savings_ms: HOUR_MS,
    },
    ZoneNames {
        names: [
            "Eastern European Standard Time",
            "EET",
            "Eastern European Summer Time",
            "EEST",
        ],
        raw_offset_ms: 2 * HOUR_MS,
        dst_savings_ms: HOUR_MS,
    },
    ZoneNames {
        names: [
            "Western European Standard Time",
            "WET",
            "Western European Summer Time",
            "WEST",
        ],
        raw_offset_ms: 0,
        dst_savings_ms: HOUR_MS,
    },
    ZoneNames {
        names: ["Japan Standard Time", "JST", "Japan Daylight Time", "JDT"],
        raw_offset_ms: 9 * HOUR_MS,
        dst_savings_ms: 0,
    },
];

/// One pattern letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Letter {
    /// `G`
    Era,
    /// `y`
    Year,
    /// `M`
    Month,
    /// `d`
    DayOfMonth,
    /// `k` (1-24)
    HourOfDay1,
    /// `H` (0-23)
    HourOfDay0,
    /// `m`
    Minute,
    /// `s`
    Second,
    /// `S`
    Millisecond,
    /// `E`
    DayOfWeek,
    /// `D`
    DayOfYear,
    /// `F`
    DayOfWeekInMonth,
    /// `w`
    WeekOfYear,
    /// `W`
    WeekOfMonth,
    /// `a`
    AmPm,
    /// `h` (1-12)
    Hour1,
    /// `K` (0-11)
    Hour0,
    /// `z`
    ZoneName,
    /// `Z`
    ZoneValue,
    /// `Y`
    WeekYear,
    /// `u`
    IsoDayOfWeek,
    /// `X`
    IsoZone,
    /// `L`
    MonthStandalone,
}

impl Letter {
    fn from_unit(unit: u16) -> Option<Letter> {
        let letter = match u8::try_from(unit).ok()? {
            b'G' => Letter::Era,
            b'y' => Letter::Year,
            b'M' => Letter::Month,
            b'd' => Letter::DayOfMonth,
            b'k' => Letter::HourOfDay1,
            b'H' => Letter::HourOfDay0,
            b'm' => Letter::Minute,
            b's' => Letter::Second,
            b'S' => Letter::Millisecond,
            b'E' => Letter::DayOfWeek,
            b'D' => Letter::DayOfYear,
            b'F' => Letter::DayOfWeekInMonth,
            b'w' => Letter::WeekOfYear,
            b'W' => Letter::WeekOfMonth,
            b'a' => Letter::AmPm,
            b'h' => Letter::Hour1,
            b'K' => Letter::Hour0,
            b'z' => Letter::ZoneName,
            b'Z' => Letter::ZoneValue,
            b'Y' => Letter::WeekYear,
            b'u' => Letter::IsoDayOfWeek,
            b'X' => Letter::IsoZone,
            b'L' => Letter::MonthStandalone,
            _ => return None,
        };
        Some(letter)
    }

    /// Whether a numeric field just before this one must stop after its own letter count
    /// (adjacent numeric fields such as `yyyyMMdd`).
    fn is_adjacent_number(self, count: usize) -> bool {
        match self {
            Letter::Month | Letter::MonthStandalone => count <= 2,
            Letter::Year
            | Letter::DayOfMonth
            | Letter::HourOfDay1
            | Letter::HourOfDay0
            | Letter::Minute
            | Letter::Second
            | Letter::Millisecond
            | Letter::DayOfYear
            | Letter::DayOfWeekInMonth
            | Letter::WeekOfYear
            | Letter::WeekOfMonth
            | Letter::Hour1
            | Letter::Hour0
            | Letter::WeekYear
            | Letter::IsoDayOfWeek => true,
            Letter::Era
            | Letter::DayOfWeek
            | Letter::AmPm
            | Letter::ZoneName
            | Letter::ZoneValue
            | Letter::IsoZone => false,
        }
    }
}

/// One element of a compiled pattern.
#[derive(Debug, Clone)]
enum Item {
    /// Text copied on output and matched exactly (UTF-16 units, as Java compares them).
    Literal { units: Vec<u16>, text: String },
    /// A run of one pattern letter.
    Field { letter: Letter, count: usize },
}

/// A compiled `java.text.SimpleDateFormat` pattern working in UTC with English names.
#[derive(Debug, Clone)]
pub struct SimpleDateFormat {
    pattern: String,
    items: Vec<Item>,
    /// Start of the 100-year window for two-digit years (epoch millis).
    default_century_start: i64,
    /// Year (of era) of `default_century_start`.
    default_century_start_year: i32,
}

impl SimpleDateFormat {
    /// Compiles a pattern. Err with Java's message for bad patterns, e.g.
    /// "Illegal pattern character 'q'" or "Unterminated quote".
    pub fn new(pattern: &str) -> Result<Self, String> {
        Self::with_now(pattern, current_time_millis())
    }

    /// As [`SimpleDateFormat::new`], with the two-digit-year window placed relative to
    /// `now_millis` instead of the system clock.
    fn with_now(pattern: &str, now_millis: i64) -> Result<Self, String> {
        let items = compile(pattern)?;
        let (start, start_year) = century_start(now_millis);
        Ok(SimpleDateFormat {
            pattern: pattern.to_string(),
            items,
            default_century_start: start,
            default_century_start_year: start_year,
        })
    }

    /// The pattern this formatter was compiled from.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats epoch milliseconds (may be negative) in UTC, as Java's SimpleDateFormat
    /// with setTimeZone(UTC) and Locale.ROOT/US.
    pub fn format(&self, epoch_millis: i64) -> String {
        let fields = DateFields::from_epoch_millis(epoch_millis);
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Literal { text, .. } => out.push_str(text),
                Item::Field { letter, count } => format_field(&mut out, &fields, *letter, *count),
            }
        }
        out
    }

    /// Parses text to epoch millis in UTC, as Java's `parse(String)` (lenient, as Java's
    /// default), Err with a message like Java's ParseException "Unparseable date: \"...\"".
    pub fn parse(&self, text: &str) -> Result<i64, String> {
        let units: Vec<u16> = text.encode_utf16().collect();
        self.parse_units(&units)
            .ok_or_else(|| format!("Unparseable date: \"{text}\""))
    }

    fn parse_units(&self, text: &[u16]) -> Option<i64> {
        let mut state = ParseState {
            fields: FieldSet::new(),
            ambiguous_year: false,
        };
        let mut pos = 0usize;
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal { units, .. } => {
                    for unit in units {
                        if text.get(pos) != Some(unit) {
                            return None;
                        }
                        pos += 1;
                    }
                }
                Item::Field { letter, count } => {
                    let obey_count = match self.items.get(i + 1) {
                        Some(Item::Field { letter, count }) => letter.is_adjacent_number(*count),
                        _ => false,
                    };
                    pos = self.sub_parse(text, pos, *letter, *count, obey_count, &mut state)?;
                }
            }
        }
        // `DateFormat.parse(String)` reports a parse that consumed nothing as a failure,
        // which includes every parse with an empty pattern.
        if pos == 0 {
            return None;
        }
        let mut millis = establish(&state.fields)?;
        if state.ambiguous_year && millis < self.default_century_start {
            let fields = &mut state.fields;
            fields.value[F_YEAR] = fields.value[F_YEAR].wrapping_add(100);
            fields.value[F_WEEK_YEAR] = fields.value[F_WEEK_YEAR].wrapping_add(100);
            millis = establish(fields)?;
        }
        Some(millis)
    }

    /// Parses one field at `start`; returns the position after it.
    fn sub_parse(
        &self,
        text: &[u16],
        start: usize,
        letter: Letter,
        count: usize,
        obey_count: bool,
        state: &mut ParseState,
    ) -> Option<usize> {
        // Spaces and tabs before a field are skipped; the end of the text fails.
        let mut pos = start;
        loop {
            let unit = *text.get(pos)?;
            if unit != u16::from(b' ') && unit != u16::from(b'\t') {
                break;
            }
            pos += 1;
        }
        let actual_start = pos;
        // Adjacent numeric fields only read up to `start + count` (counted from before
        // the skipped spaces, as Java does).
        let number_limit = || -> Option<usize> {
            if obey_count {
                let limit = start.checked_add(count)?;
                (limit <= text.len()).then_some(limit)
            } else {
                Some(text.len())
            }
        };
        let fields = &mut state.fields;

        let mut value = 0i32;
        let numeric_first = matches!(
            letter,
            Letter::HourOfDay1 | Letter::Hour1 | Letter::Year | Letter::WeekYear
        ) || (matches!(letter, Letter::Month | Letter::MonthStandalone)
            && count <= 2);
        if numeric_first {
            let (number, end) = parse_number(text, pos, number_limit()?)?;
            value = number;
            pos = end;
        }

        match letter {
            Letter::Era => {
                let (index, end) = match_longest(text, start, &ERAS)?;
                fields.set(F_ERA, index as i32);
                Some(end)
            }
            Letter::Year | Letter::WeekYear => {
                if count <= 2
                    && pos - actual_start == 2
                    && is_digit(text[actual_start])
                    && is_digit(text[actual_start + 1])
                {
                    // Two digits: place the year in the 100 years from the century start.
                    let start_year = self.default_century_start_year;
                    let ambiguous = start_year % 100;
                    state.ambiguous_year = value == ambiguous;
                    value = value
                        .wrapping_add((start_year / 100).wrapping_mul(100))
                        .wrapping_add(if value < ambiguous { 100 } else { 0 });
                }
                let field = if letter == Letter::Year {
                    F_YEAR
                } else {
                    F_WEEK_YEAR
                };
                fields.set(field, value);
                Some(pos)
            }
            Letter::Month | Letter::MonthStandalone => {
                if count <= 2 {
                    fields.set(F_MONTH, value.wrapping_sub(1));
                    return Some(pos);
                }
                let (index, end) = match_longest(text, start, &MONTHS)
                    .or_else(|| match_longest(text, start, &SHORT_MONTHS))?;
                fields.set(F_MONTH, index as i32);
                Some(end)
            }
            Letter::HourOfDay1 => {
                fields.set(F_HOUR_OF_DAY, if value == 24 { 0 } else { value });
                Some(pos)
            }
            Letter::Hour1 => {
                fields.set(F_HOUR, if value == 12 { 0 } else { value });
                Some(pos)
            }
            Letter::DayOfWeek => {
                let (index, end) = match_longest(text, start, &WEEKDAYS)
                    .or_else(|| match_longest(text, start, &SHORT_WEEKDAYS))?;
                fields.set(F_DAY_OF_WEEK, index as i32 + SUNDAY);
                Some(end)
            }
            Letter::AmPm => {
                let (index, end) = match_longest(text, start, &AM_PM_NAMES)?;
                fields.set(F_AM_PM, index as i32);
                Some(end)
            }
            Letter::ZoneName | Letter::ZoneValue => parse_general_zone(text, start, pos, fields),
            Letter::IsoZone => {
                let unit = *text.get(pos)?;
                if unit == u16::from(b'Z') {
                    fields.set(F_ZONE_OFFSET, 0);
                    fields.set(F_DST_OFFSET, 0);
                    return Some(pos + 1);
                }
                let sign = zone_sign(unit)?;
                parse_numeric_zone(text, pos + 1, sign, count, count == 3, fields)
            }
            Letter::DayOfMonth
            | Letter::HourOfDay0
            | Letter::Minute
            | Letter::Second
            | Letter::Millisecond
            | Letter::DayOfYear
            | Letter::DayOfWeekInMonth
            | Letter::WeekOfYear
            | Letter::WeekOfMonth
            | Letter::Hour0
            | Letter::IsoDayOfWeek => {
                let (number, end) = parse_number(text, pos, number_limit()?)?;
                let (field, number) = match letter {
                    Letter::DayOfMonth => (F_DAY_OF_MONTH, number),
                    Letter::HourOfDay0 => (F_HOUR_OF_DAY, number),
                    Letter::Minute => (F_MINUTE, number),
                    Letter::Second => (F_SECOND, number),
                    Letter::Millisecond => (F_MILLISECOND, number),
                    Letter::DayOfYear => (F_DAY_OF_YEAR, number),
                    Letter::DayOfWeekInMonth => (F_DAY_OF_WEEK_IN_MONTH, number),
                    Letter::WeekOfYear => (F_WEEK_OF_YEAR, number),
                    Letter::WeekOfMonth => (F_WEEK_OF_MONTH, number),
                    Letter::Hour0 => (F_HOUR, number),
                    _ => (F_DAY_OF_WEEK, iso_to_calendar_day_of_week(number)),
                };
                fields.set(field, number);
                Some(end)
            }
        }
    }
}

struct ParseState {
    fields: FieldSet,
    ambiguous_year: bool,
}

// ---------------------------------------------------------------------------------------
// Pattern compilation
// ---------------------------------------------------------------------------------------

fn compile(pattern: &str) -> Result<Vec<Item>, String> {
    let units: Vec<u16> = pattern.encode_utf16().collect();
    let mut items: Vec<Item> = Vec::new();
    let mut run: Option<(Letter, usize)> = None;
    let mut in_quote = false;
    let mut quoted: Vec<u16> = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let unit = units[i];
        if unit == U_QUOTE {
            if units.get(i + 1) == Some(&U_QUOTE) {
                // '' is a quote character, inside or outside a quoted section.
                flush_run(&mut run, &mut items)?;
                if in_quote {
                    quoted.push(U_QUOTE);
                } else {
                    push_literal(&mut items, &[U_QUOTE]);
                }
                i += 2;
                continue;
            }
            if in_quote {
                push_literal(&mut items, &quoted);
                quoted.clear();
                in_quote = false;
            } else {
                flush_run(&mut run, &mut items)?;
                in_quote = true;
            }
            i += 1;
            continue;
        }
        if in_quote {
            quoted.push(unit);
            i += 1;
            continue;
        }
        let is_ascii_letter = u8::try_from(unit).is_ok_and(|b| b.is_ascii_alphabetic());
        if !is_ascii_letter {
            flush_run(&mut run, &mut items)?;
            push_literal(&mut items, &[unit]);
            i += 1;
            continue;
        }
        let letter = Letter::from_unit(unit).ok_or_else(|| {
            format!(
                "Illegal pattern character '{}'",
                char::from_u32(u32::from(unit)).unwrap_or('?')
            )
        })?;
        match &mut run {
            Some((current, count)) if *current == letter => *count += 1,
            _ => {
                flush_run(&mut run, &mut items)?;
                run = Some((letter, 1));
            }
        }
        i += 1;
    }
    if in_quote {
        return Err("Unterminated quote".to_string());
    }
    flush_run(&mut run, &mut items)?;
    for item in &mut items {
        if let Item::Literal { units, text } = item {
            *text = String::from_utf16_lossy(units);
        }
    }
    Ok(items)
}

fn flush_run(run: &mut Option<(Letter, usize)>, items: &mut Vec<Item>) -> Result<(), String> {
    if let Some((letter, count)) = run.take() {
        if letter == Letter::IsoZone && count >= 4 {
            return Err(format!("invalid ISO 8601 format: length={count}"));
        }
        items.push(Item::Field { letter, count });
    }
    Ok(())
}

fn push_literal(items: &mut Vec<Item>, new_units: &[u16]) {
    if let Some(Item::Literal { units, .. }) = items.last_mut() {
        units.extend_from_slice(new_units);
    } else {
        items.push(Item::Literal {
            units: new_units.to_vec(),
            text: String::new(),
        });
    }
}

// ---------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------

/// The calendar fields of an instant, as Java's GregorianCalendar computes them in UTC.
#[derive(Debug, Clone, Copy)]
struct DateFields {
    /// 0 = BC, 1 = AD.
    era: usize,
    year_of_era: i64,
    /// 0-based.
    month: usize,
    day_of_month: i64,
    /// 1 = Sunday .. 7 = Saturday.
    day_of_week: i64,
    day_of_year: i64,
    day_of_week_in_month: i64,
    week_of_year: i64,
    week_of_month: i64,
    /// Proleptic (1 BC = 0), as Java's `getWeekYear()`.
    week_year: i64,
    hour_of_day: i64,
    minute: i64,
    second: i64,
    millisecond: i64,
}

impl DateFields {
    fn from_epoch_millis(epoch_millis: i64) -> DateFields {
        let fixed = epoch_millis.div_euclid(DAY_MS) + EPOCH_FIXED;
        let time_of_day = epoch_millis.rem_euclid(DAY_MS);
        let gregorian = fixed >= CUTOVER_FIXED;
        let (year, month, day) = date_from_fixed(fixed);

        // Day of year, week numbers and the first day of the month; 1582 starts on the
        // Julian January 1 and its October on the Julian October 1.
        let mut jan1 = fixed_from_date(!gregorian, year, 1, 1);
        let mut month1 = fixed - day + 1;
        if year == CUTOVER_YEAR {
            jan1 = julian_fixed(year, 1, 1);
            if gregorian && month == 10 {
                month1 = julian_fixed(year, 10, 1);
            }
        }
        let day_of_year = fixed - jan1 + 1;
        let day_of_week_in_month = (fixed - month1) / 7 + 1;
        let mut week_of_year = week_number(jan1, fixed);
        let next_jan1 = match year.cmp(&CUTOVER_YEAR) {
            Ordering::Equal => fixed_from_date(!gregorian, year + 1, 1, 1),
            Ordering::Greater => gregorian_fixed(year + 1, 1, 1),
            Ordering::Less => julian_fixed(year + 1, 1, 1),
        };
        let next_week1 = day_of_week_on_or_before(next_jan1 + 6, SUNDAY);
        // A last partial week that holds the next January 1 is week 1 of the next year.
        if next_week1 - next_jan1 >= 1 && fixed >= next_week1 - 7 {
            week_of_year = 1;
        }
        let week_of_month = week_number(month1, fixed);
        let week_year = if year > CUTOVER_YEAR + 1 {
            if month == 1 && week_of_year >= 52 {
                year - 1
            } else if month != 1 && week_of_year == 1 {
                year + 1
            } else {
                year
            }
        } else {
            early_week_year(year, day_of_year, next_jan1 - jan1)
        };
        let (era, year_of_era) = if year <= 0 { (0, 1 - year) } else { (1, year) };
        DateFields {
            era,
            year_of_era,
            month: usize::try_from(month - 1).unwrap_or(0),
            day_of_month: day,
            day_of_week: fixed.rem_euclid(7) + 1,
            day_of_year,
            day_of_week_in_month,
            week_of_year,
            week_of_month,
            week_year,
            hour_of_day: time_of_day / 3_600_000,
            minute: time_of_day / 60_000 % 60,
            second: time_of_day / 1000 % 60,
            millisecond: time_of_day % 1000,
        }
    }
}

/// `GregorianCalendar.getWeekYear()` for years up to 1583, which Java computes from the
/// first Sunday of the next year. For BC years Java looks that year up with the BC era
/// still set (year `y` BC is followed by year `-y`, counted AD), and so does this.
fn early_week_year(year: i64, day_of_year: i64, days_in_year: i64) -> i64 {
    if day_of_year > 1 && day_of_year < days_in_year - 6 {
        return year;
    }
    let next = if year <= 0 { -year } else { year + 1 };
    let next_jan1 = fixed_from_date(next <= CUTOVER_YEAR, next, 1, 1);
    let mut days_before_sunday = day_of_week_on_or_before(next_jan1 + 6, SUNDAY) - next_jan1;
    if days_before_sunday == 0 {
        days_before_sunday = 7;
    }
    if days_in_year - day_of_year < 7 - days_before_sunday {
        year + 1
    } else {
        year
    }
}

fn format_field(out: &mut String, f: &DateFields, letter: Letter, count: usize) {
    match letter {
        Letter::Era => out.push_str(ERAS[f.era]),
        Letter::Year | Letter::WeekYear => {
            let value = if letter == Letter::Year {
                f.year_of_era
            } else {
                f.week_year
            };
            if count == 2 {
                zero_pad(out, value, 2, 2);
            } else {
                zero_pad(out, value, count, usize::MAX);
            }
        }
        Letter::Month | Letter::MonthStandalone => {
            if count >= 4 {
                out.push_str(MONTHS[f.month]);
            } else if count == 3 {
                out.push_str(SHORT_MONTHS[f.month]);
            } else {
                zero_pad(out, f.month as i64 + 1, count, usize::MAX);
            }
        }
        Letter::DayOfWeek => {
            let index = usize::try_from(f.day_of_week - 1).unwrap_or(0) % 7;
            if count >= 4 {
                out.push_str(WEEKDAYS[index]);
            } else {
                out.push_str(SHORT_WEEKDAYS[index]);
            }
        }
        Letter::AmPm => out.push_str(AM_PM_NAMES[usize::from(f.hour_of_day >= 12)]),
        Letter::ZoneName => out.push_str(if count >= 4 {
            UTC_LONG_NAME
        } else {
            UTC_SHORT_NAME
        }),
        Letter::ZoneValue => out.push_str("+0000"),
        Letter::IsoZone => out.push('Z'),
        _ => {
            let value = match letter {
                Letter::DayOfMonth => f.day_of_month,
                Letter::HourOfDay1 => {
                    if f.hour_of_day == 0 {
                        24
                    } else {
                        f.hour_of_day
                    }
                }
                Letter::HourOfDay0 => f.hour_of_day,
                Letter::Minute => f.minute,
                Letter::Second => f.second,
                Letter::Millisecond => f.millisecond,
                Letter::DayOfYear => f.day_of_year,
                Letter::DayOfWeekInMonth => f.day_of_week_in_month,
                Letter::WeekOfYear => f.week_of_year,
                Letter::WeekOfMonth => f.week_of_month,
                Letter::Hour1 => {
                    let hour = f.hour_of_day % 12;
                    if hour == 0 { 12 } else { hour }
                }
                Letter::Hour0 => f.hour_of_day % 12,
                // Monday = 1 .. Sunday = 7.
                _ => (f.day_of_week + 5) % 7 + 1,
            };
            zero_pad(out, value, count, usize::MAX);
        }
    }
}

/// Writes `value` with at least `min_digits` digits (capped as DecimalFormat caps it) and
/// keeps only its last `max_digits` digits.
fn zero_pad(out: &mut String, value: i64, min_digits: usize, max_digits: usize) {
    if value < 0 {
        out.push('-');
    }
    let digits = value.unsigned_abs().to_string();
    let digits = if digits.len() > max_digits {
        &digits[digits.len() - max_digits..]
    } else {
        digits.as_str()
    };
    for _ in digits.len()..min_digits.min(MAX_PAD_DIGITS) {
        out.push('0');
    }
    out.push_str(digits);
}

// ---------------------------------------------------------------------------------------
// Parsing helpers
// ---------------------------------------------------------------------------------------

/// Value of a decimal digit as Java's `Character.digit(char, 10)` reads it.
fn digit_value(unit: u16) -> Option<u8> {
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| unit >= zero && unit - zero < 10)
        .map(|&zero| (unit - zero) as u8)
}

fn is_digit(unit: u16) -> bool {
    digit_value(unit).is_some()
}

/// Java's `regionMatches(true, ...)` of one text unit against one ASCII character: equal,
/// equal upper cases, or equal lower cases of the upper cases (so `ı`, `ſ`, `İ` and the
/// Kelvin sign match their ASCII letters).
fn eq_ignore_case(unit: u16, ascii: u8) -> bool {
    if unit == u16::from(ascii) {
        return true;
    }
    if !ascii.is_ascii_alphabetic() {
        return false;
    }
    let folded = match unit {
        0x41..=0x5A | 0x61..=0x7A => (unit as u8).to_ascii_lowercase(),
        0x130 | 0x131 => b'i',
        0x17F => b's',
        0x212A => b'k',
        _ => return false,
    };
    folded == ascii.to_ascii_lowercase()
}

fn region_matches_ignore_case(text: &[u16], pos: usize, name: &str) -> bool {
    let name = name.as_bytes();
    match text.get(pos..).and_then(|rest| rest.get(..name.len())) {
        Some(region) => region
            .iter()
            .zip(name)
            .all(|(&unit, &ascii)| eq_ignore_case(unit, ascii)),
        None => false,
    }
}

fn starts_with_ascii(text: &[u16], pos: usize, s: &str) -> bool {
    let s = s.as_bytes();
    match text.get(pos..).and_then(|rest| rest.get(..s.len())) {
        Some(region) => region.iter().zip(s).all(|(&u, &b)| u == u16::from(b)),
        None => false,
    }
}

/// The longest name (case-insensitive) at `pos`: its index and the position after it.
fn match_longest(text: &[u16], pos: usize, names: &[&str]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (index, name) in names.iter().enumerate() {
        let longer = best.is_none_or(|(_, len)| name.len() > len);
        if !name.is_empty() && longer && region_matches_ignore_case(text, pos, name) {
            best = Some((index, name.len()));
        }
    }
    best.map(|(index, len)| (index, pos + len))
}

/// Reads an integer at `pos` as Java's integer `DecimalFormat` (US symbols, no grouping)
/// does within `text[..limit]`, and converts it with `Number.intValue()`.
fn parse_number(text: &[u16], pos: usize, limit: usize) -> Option<(i32, usize)> {
    let text = text.get(..limit)?;
    if pos >= text.len() {
        return None;
    }
    if starts_with_ascii(text, pos, "NaN") {
        // Double.NaN.intValue()
        return Some((0, pos + 3));
    }
    let mut p = pos;
    let negative = text[p] == U_MINUS;
    if negative {
        p += 1;
    }
    if text.get(p) == Some(&U_INFINITY) {
        return Some((if negative { i32::MIN } else { i32::MAX }, p + 1));
    }
    // Significant digits (leading zeros dropped) and the exponent.
    let mut digits: Vec<u8> = Vec::new();
    let mut saw_digit = false;
    let mut exponent = 0i32;
    while let Some(&unit) = text.get(p) {
        if let Some(digit) = digit_value(unit) {
            saw_digit = true;
            if !(digits.is_empty() && digit == 0) {
                digits.push(digit);
            }
            p += 1;
        } else if unit == u16::from(b'E') {
            if let Some((value, end)) = parse_exponent(text, p + 1) {
                exponent = value;
                p = end;
            }
            break;
        } else {
            break;
        }
    }
    if !saw_digit {
        return None;
    }
    // The number is 0.d1d2d3... * 10^decimal_at (Java keeps decimal_at in an int).
    let decimal_at = i32::try_from(digits.len())
        .unwrap_or(i32::MAX)
        .wrapping_add(exponent);
    let mut significant = digits.len();
    while significant > 0 && digits[significant - 1] == 0 {
        significant -= 1;
    }
    if significant == 0 {
        return Some((0, p));
    }
    let decimal_at_len = usize::try_from(decimal_at).ok();
    if let Some(int_digits) = decimal_at_len.filter(|&d| d >= significant && d <= 19) {
        let mut magnitude: u128 = 0;
        for &digit in &digits[..significant] {
            magnitude = magnitude * 10 + u128::from(digit);
        }
        for _ in significant..int_digits {
            magnitude *= 10;
        }
        let fits_long = if negative {
            magnitude <= 1u128 << 63
        } else {
            magnitude <= i64::MAX as u128
        };
        if fits_long {
            // A Long: intValue() keeps the low 32 bits.
            let signed = if negative {
                (magnitude as i128).wrapping_neg()
            } else {
                magnitude as i128
            };
            return Some((signed as i64 as i32, p));
        }
    }
    // A Double: intValue() truncates toward zero and saturates (as Rust's `as`).
    let mut repr = String::with_capacity(significant + 16);
    repr.push_str("0.");
    for &digit in &digits[..significant] {
        repr.push(char::from(b'0' + digit));
    }
    repr.push('e');
    repr.push_str(&decimal_at.to_string());
    let magnitude: f64 = repr.parse().unwrap_or(0.0);
    let value = if negative { -magnitude } else { magnitude };
    Some((value as i32, p))
}

/// The exponent after an `E`: an optional `-` and digits whose value fits a long.
fn parse_exponent(text: &[u16], pos: usize) -> Option<(i32, usize)> {
    let mut p = pos;
    let negative = text.get(p) == Some(&U_MINUS);
    if negative {
        p += 1;
    }
    let mut saw_digit = false;
    let mut magnitude: u128 = 0;
    let mut too_big = false;
    while let Some(digit) = text.get(p).and_then(|&unit| digit_value(unit)) {
        saw_digit = true;
        if !too_big {
            magnitude = magnitude * 10 + u128::from(digit);
            too_big = magnitude > 1u128 << 64;
        }
        p += 1;
    }
    if !saw_digit {
        return None;
    }
    let fits_long = !too_big
        && if negative {
            magnitude <= 1u128 << 63
        } else {
            magnitude <= i64::MAX as u128
        };
    if !fits_long {
        return None;
    }
    let value = if negative {
        (magnitude as i128).wrapping_neg()
    } else {
        magnitude as i128
    };
    Some((value as i64 as i32, p))
}

fn zone_sign(unit: u16) -> Option<i32> {
    match unit {
        U_PLUS => Some(1),
        U_MINUS => Some(-1),
        _ => None,
    }
}

/// `z` and `Z`: RFC 822 offset (`-0800`), `GMT`, `GMT+h:mm`/`GMT+hh:mm`, or a zone name.
fn parse_general_zone(
    text: &[u16],
    start: usize,
    pos: usize,
    fields: &mut FieldSet,
) -> Option<usize> {
    let unit = *text.get(pos)?;
    if let Some(sign) = zone_sign(unit) {
        return parse_numeric_zone(text, pos + 1, sign, 0, false, fields);
    }
    // Java looks for "GMT" where the field started, before any skipped spaces.
    if (unit == u16::from(b'G') || unit == u16::from(b'g'))
        && region_matches_ignore_case(text, start, "GMT")
    {
        let after = start + 3;
        if let Some(sign) = text.get(after).and_then(|&u| zone_sign(u)) {
            return parse_numeric_zone(text, after + 1, sign, 0, true, fields);
        }
        fields.set(F_ZONE_OFFSET, 0);
        fields.set(F_DST_OFFSET, 0);
        return Some(after);
    }
    parse_zone_name(text, pos, fields)
}

/// Hours and minutes of an offset. `count` is the `X` letter count (0 for `z`/`Z`): 1
/// reads `hh`, 2 `hhmm`, 3 `hh:mm`; with `colon` and no count the hour may be one digit.
fn parse_numeric_zone(
    text: &[u16],
    pos: usize,
    sign: i32,
    count: usize,
    colon: bool,
    fields: &mut FieldSet,
) -> Option<usize> {
    let ascii_digit = |unit: u16| -> Option<i32> {
        (u16::from(b'0')..=u16::from(b'9'))
            .contains(&unit)
            .then(|| i32::from(unit - u16::from(b'0')))
    };
    let mut p = pos;
    let mut hours = ascii_digit(*text.get(p)?)?;
    p += 1;
    match ascii_digit(*text.get(p)?) {
        Some(digit) => {
            hours = hours * 10 + digit;
            p += 1;
        }
        None => {
            if count > 0 || !colon {
                return None;
            }
        }
    }
    if hours > 23 {
        return None;
    }
    let mut minutes = 0;
    if count != 1 {
        if colon {
            if *text.get(p)? != U_COLON {
                return None;
            }
            p += 1;
        }
        let tens = ascii_digit(*text.get(p)?)?;
        let ones = ascii_digit(*text.get(p + 1)?)?;
        p += 2;
        minutes = tens * 10 + ones;
        if minutes > 59 {
            return None;
        }
    }
    fields.set(F_ZONE_OFFSET, (hours * 60 + minutes) * 60_000 * sign);
    fields.set(F_DST_OFFSET, 0);
    Some(p)
}

/// A zone name from [`ZONES`] (long or short, standard or daylight, case-insensitive).
fn parse_zone_name(text: &[u16], pos: usize, fields: &mut FieldSet) -> Option<usize> {
    for zone in &ZONES {
        let Some(index) = zone
            .names
            .iter()
            .position(|name| region_matches_ignore_case(text, pos, name))
        else {
            continue;
        };
        let name = zone.names[index];
        let daylight = index >= 2;
        let same_name = !daylight && name.eq_ignore_ascii_case(zone.names[index + 2]);
        let dst = if daylight { zone.dst_savings_ms } else { 0 };
        // The zone becomes the calendar's zone; unless its name says nothing about
        // daylight time, the offset comes from the zone and the daylight amount from
        // the name.
        fields.zone_raw_offset = zone.raw_offset_ms;
        if !(same_name || (daylight && dst == 0)) {
            fields.clear(F_ZONE_OFFSET);
            fields.set(F_DST_OFFSET, dst);
        }
        return Some(pos + name.len());
    }
    None
}

/// `u` values are Monday = 1 .. Sunday = 7; out-of-range values are kept as they are.
fn iso_to_calendar_day_of_week(iso: i32) -> i32 {
    match iso {
        7 => SUNDAY,
        1..=6 => iso + 1,
        _ => iso,
    }
}

// ---------------------------------------------------------------------------------------
// Lenient calendar: from parsed fields to an instant
// ---------------------------------------------------------------------------------------

/// Calendar fields with the order in which they were set (stamp 0 = unset).
#[derive(Debug, Clone)]
struct FieldSet {
    stamp: [u32; FIELD_COUNT],
    value: [i32; FIELD_COUNT],
    next_stamp: u32,
    /// Raw offset of the calendar's time zone (UTC unless a zone name was parsed).
    zone_raw_offset: i32,
}

impl FieldSet {
    fn new() -> FieldSet {
        FieldSet {
            stamp: [0; FIELD_COUNT],
            value: [0; FIELD_COUNT],
            next_stamp: 0,
            zone_raw_offset: 0,
        }
    }

    fn set(&mut self, field: usize, value: i32) {
        self.next_stamp = self.next_stamp.saturating_add(1);
        self.stamp[field] = self.next_stamp;
        self.value[field] = value;
    }

    fn clear(&mut self, field: usize) {
        self.stamp[field] = 0;
        self.value[field] = 0;
    }

    fn is_set(&self, field: usize) -> bool {
        self.stamp[field] != 0
    }
}

const fn bit(field: usize) -> u32 {
    1 << field
}

/// Builds the calendar from the parsed fields (applying a week date) and returns the
/// instant in epoch milliseconds.
fn establish(parsed: &FieldSet) -> Option<i64> {
    let mut cal = FieldSet {
        next_stamp: parsed.next_stamp,
        zone_raw_offset: parsed.zone_raw_offset,
        ..FieldSet::new()
    };
    for field in 0..F_WEEK_YEAR {
        if parsed.is_set(field) {
            cal.stamp[field] = parsed.stamp[field];
            cal.value[field] = parsed.value[field];
        }
    }
    // A week year parsed after the year (or without one) makes this a week date.
    if parsed.is_set(F_WEEK_YEAR) && parsed.stamp[F_WEEK_YEAR] > parsed.stamp[F_YEAR] {
        let mut week = if parsed.is_set(F_WEEK_OF_YEAR) {
            parsed.value[F_WEEK_OF_YEAR]
        } else {
            1
        };
        let mut day_of_week = if parsed.is_set(F_DAY_OF_WEEK) {
            parsed.value[F_DAY_OF_WEEK]
        } else {
            SUNDAY
        };
        if !(1..=7).contains(&day_of_week) {
            if day_of_week >= 8 {
                day_of_week -= 1;
                week = week.wrapping_add(day_of_week / 7);
                day_of_week = day_of_week % 7 + 1;
            } else {
                let steps = (1 - i64::from(day_of_week) + 6) / 7;
                day_of_week = (i64::from(day_of_week) + 7 * steps) as i32;
                week = week.wrapping_sub(steps as i32);
            }
            day_of_week = iso_to_calendar_day_of_week(day_of_week);
        }
        set_week_date(&mut cal, parsed.value[F_WEEK_YEAR], week, day_of_week)?;
    }
    compute_time(&cal).map(|(millis, _)| millis)
}

/// `GregorianCalendar.setWeekDate`: sets era, year, month and day of month of `cal` to
/// the given day of the given week of the week year.
fn set_week_date(cal: &mut FieldSet, week_year: i32, week: i32, day_of_week: i32) -> Option<()> {
    // Java works on the instant (a long that may have wrapped around) and reads the
    // fields back from it, here and after each step below.
    let (millis, offset) = compute_time(cal)?;
    let local_fixed = day_of_instant(millis, offset);
    let era = if date_from_fixed(local_fixed).0 <= 0 {
        0
    } else {
        1
    };
    let mut first_week = FieldSet::new();
    first_week.set(F_ERA, era);
    first_week.set(F_YEAR, week_year);
    first_week.set(F_WEEK_OF_YEAR, 1);
    first_week.set(F_DAY_OF_WEEK, SUNDAY);
    let (first_millis, _) = compute_time(&first_week)?;
    let mut days = day_of_week - SUNDAY;
    if days < 0 {
        days += 7;
    }
    let days = days.wrapping_add(7i32.wrapping_mul(week.wrapping_sub(1)));
    let target = day_of_instant(first_millis, 0) + i64::from(days);
    let target_millis =
        ((i128::from(target) - i128::from(EPOCH_FIXED)) * i128::from(DAY_MS)) as i64;
    let (year, month, day) = date_from_fixed(day_of_instant(target_millis, 0));
    let (era, year_of_era) = if year <= 0 { (0, 1 - year) } else { (1, year) };
    cal.set(F_ERA, era);
    cal.set(F_YEAR, year_of_era as i32);
    cal.set(F_MONTH, (month - 1) as i32);
    cal.set(F_DAY_OF_MONTH, day as i32);
    Some(())
}

/// Which fields determine the date and the time (the most recently set group wins).
fn select_fields(c: &FieldSet) -> u32 {
    let stamp = |field: usize| c.stamp[field];
    let aggregate = |a: u32, b: u32| if a == 0 || b == 0 { 0 } else { a.max(b) };
    let mut mask = bit(F_YEAR);
    if c.is_set(F_ERA) {
        mask |= bit(F_ERA);
    }

    let dow = stamp(F_DAY_OF_WEEK);
    let month = stamp(F_MONTH);
    let mut dom = stamp(F_DAY_OF_MONTH);
    let mut wom = aggregate(stamp(F_WEEK_OF_MONTH), dow);
    let mut dowim = aggregate(stamp(F_DAY_OF_WEEK_IN_MONTH), dow);
    let doy = stamp(F_DAY_OF_YEAR);
    let mut woy = aggregate(stamp(F_WEEK_OF_YEAR), dow);
    let mut best = dom.max(wom).max(dowim).max(doy).max(woy);
    if best == 0 {
        // No complete group: a week field alone, a day of week alone (as the first such
        // day of the month), or the month alone (as its first day).
        wom = stamp(F_WEEK_OF_MONTH);
        dowim = stamp(F_DAY_OF_WEEK_IN_MONTH).max(dow);
        woy = stamp(F_WEEK_OF_YEAR);
        best = wom.max(dowim).max(woy);
        if best == 0 {
            dom = month;
            best = month;
        }
    }
    if best == dom
        || (best == wom && stamp(F_WEEK_OF_MONTH) >= stamp(F_WEEK_OF_YEAR))
        || (best == dowim && stamp(F_DAY_OF_WEEK_IN_MONTH) >= stamp(F_WEEK_OF_YEAR))
    {
        mask |= bit(F_MONTH);
        if best == dom {
            mask |= bit(F_DAY_OF_MONTH);
        } else {
            if dow != 0 {
                mask |= bit(F_DAY_OF_WEEK);
            }
            if wom == dowim {
                if stamp(F_WEEK_OF_MONTH) >= stamp(F_DAY_OF_WEEK_IN_MONTH) {
                    mask |= bit(F_WEEK_OF_MONTH);
                } else {
                    mask |= bit(F_DAY_OF_WEEK_IN_MONTH);
                }
            } else if best == wom {
                mask |= bit(F_WEEK_OF_MONTH);
            } else if stamp(F_DAY_OF_WEEK_IN_MONTH) != 0 {
                mask |= bit(F_DAY_OF_WEEK_IN_MONTH);
            }
        }
    } else if best == doy {
        mask |= bit(F_DAY_OF_YEAR);
    } else {
        if dow != 0 {
            mask |= bit(F_DAY_OF_WEEK);
        }
        mask |= bit(F_WEEK_OF_YEAR);
    }

    let hour_of_day = stamp(F_HOUR_OF_DAY);
    let hour = aggregate(stamp(F_HOUR), stamp(F_AM_PM));
    let mut best = hour.max(hour_of_day);
    if best == 0 {
        best = stamp(F_HOUR).max(stamp(F_AM_PM));
    }
    if best != 0 {
        if best == hour_of_day {
            mask |= bit(F_HOUR_OF_DAY);
        } else {
            mask |= bit(F_HOUR);
            if c.is_set(F_AM_PM) {
                mask |= bit(F_AM_PM);
            }
        }
    }
    for field in [
        F_MINUTE,
        F_SECOND,
        F_MILLISECOND,
        F_ZONE_OFFSET,
        F_DST_OFFSET,
    ] {
        if c.is_set(field) {
            mask |= bit(field);
        }
    }
    mask
}

/// Day number of the local date of an instant with the given zone offset.
fn day_of_instant(millis: i64, offset: i32) -> i64 {
    ((i128::from(millis) + i128::from(offset)).div_euclid(i128::from(DAY_MS))) as i64 + EPOCH_FIXED
}

/// `GregorianCalendar.computeTime`: returns the instant (wrapped around as Java's long)
/// and the zone offset that was applied.
fn compute_time(c: &FieldSet) -> Option<(i64, i32)> {
    let mask = select_fields(c);
    let has = |field: usize| mask & bit(field) != 0;
    let mut year = if c.is_set(F_YEAR) {
        c.value[F_YEAR]
    } else {
        1970
    };
    let era = if c.is_set(F_ERA) { c.value[F_ERA] } else { 1 };
    match era {
        0 => year = 1i32.wrapping_sub(year),
        1 => {}
        _ => return None,
    }

    let mut time_of_day = if has(F_HOUR_OF_DAY) {
        i64::from(c.value[F_HOUR_OF_DAY])
    } else {
        let mut hours = i64::from(c.value[F_HOUR]);
        if has(F_AM_PM) {
            hours += i64::from(12i32.wrapping_mul(c.value[F_AM_PM]));
        }
        hours
    };
    time_of_day = time_of_day * 60 + i64::from(c.value[F_MINUTE]);
    time_of_day = time_of_day * 60 + i64::from(c.value[F_SECOND]);
    time_of_day = time_of_day * 1000 + i64::from(c.value[F_MILLISECOND]);
    let day_offset = time_of_day.div_euclid(DAY_MS);
    let time_of_day = time_of_day.rem_euclid(DAY_MS);

    let fixed = resolve_fixed_date(c, i64::from(year), mask, day_offset);

    let zone = if has(F_ZONE_OFFSET) {
        c.value[F_ZONE_OFFSET]
    } else {
        c.zone_raw_offset
    };
    let dst = if has(F_DST_OFFSET) {
        c.value[F_DST_OFFSET]
    } else {
        0
    };
    let offset = zone.wrapping_add(dst);
    let millis = (i128::from(fixed) - i128::from(EPOCH_FIXED)) * i128::from(DAY_MS)
        + i128::from(time_of_day)
        - i128::from(offset);
    // Java's long arithmetic wraps around.
    Some((millis as i64, offset))
}

/// Picks the Julian or the Gregorian reading of the date fields around the cutover.
fn resolve_fixed_date(c: &FieldSet, year: i64, mask: u32, day_offset: i64) -> i64 {
    let gregorian_date;
    let julian_date;
    match year.cmp(&CUTOVER_YEAR) {
        Ordering::Greater => {
            let g = day_offset + fixed_date(c, false, year, mask);
            if g >= CUTOVER_FIXED {
                return g;
            }
            gregorian_date = g;
            julian_date = day_offset + fixed_date(c, true, year, mask);
        }
        Ordering::Less => {
            let j = day_offset + fixed_date(c, true, year, mask);
            if j < CUTOVER_FIXED {
                return j;
            }
            julian_date = j;
            gregorian_date = j;
        }
        Ordering::Equal => {
            julian_date = day_offset + fixed_date(c, true, year, mask);
            gregorian_date = day_offset + fixed_date(c, false, year, mask);
        }
    }
    // Counting from the (Julian) start of the year, or a date in the missing days.
    if mask & (bit(F_DAY_OF_YEAR) | bit(F_WEEK_OF_YEAR)) != 0 || gregorian_date < CUTOVER_FIXED {
        julian_date
    } else {
        gregorian_date
    }
}

/// `GregorianCalendar.getFixedDate` in one calendar system (lenient arithmetic).
fn fixed_date(c: &FieldSet, julian: bool, year: i64, mask: u32) -> i64 {
    let has = |field: usize| mask & bit(field) != 0;
    // The year is a Java int.
    let mut year = year as i32;
    let mut month = 0i32;
    if has(F_MONTH) {
        month = c.value[F_MONTH];
        if month > 11 {
            year = year.wrapping_add(month / 12);
            month %= 12;
        } else if month < 0 {
            year = year.wrapping_add(month.div_euclid(12));
            month = month.rem_euclid(12);
        }
    }
    let mut fixed = fixed_from_date(julian, i64::from(year), i64::from(month) + 1, 1);
    if has(F_MONTH) {
        if has(F_DAY_OF_MONTH) {
            if c.is_set(F_DAY_OF_MONTH) {
                fixed += i64::from(c.value[F_DAY_OF_MONTH]) - 1;
            }
        } else if has(F_WEEK_OF_MONTH) {
            let mut first = day_of_week_on_or_before(fixed + 6, SUNDAY);
            if first - fixed >= 1 {
                first -= 7;
            }
            if has(F_DAY_OF_WEEK) {
                first = day_of_week_on_or_before(first + 6, c.value[F_DAY_OF_WEEK]);
            }
            fixed = first + i64::from(7i32.wrapping_mul(c.value[F_WEEK_OF_MONTH].wrapping_sub(1)));
        } else {
            let day_of_week = if has(F_DAY_OF_WEEK) {
                c.value[F_DAY_OF_WEEK]
            } else {
                SUNDAY
            };
            let nth = if has(F_DAY_OF_WEEK_IN_MONTH) {
                c.value[F_DAY_OF_WEEK_IN_MONTH]
            } else {
                1
            };
            if nth >= 0 {
                fixed = day_of_week_on_or_before(
                    fixed + i64::from(7i32.wrapping_mul(nth)) - 1,
                    day_of_week,
                );
            } else {
                let last =
                    month_length(month, year).wrapping_add(7i32.wrapping_mul(nth.wrapping_add(1)));
                fixed = day_of_week_on_or_before(fixed + i64::from(last) - 1, day_of_week);
            }
        }
    } else if has(F_DAY_OF_YEAR) {
        fixed += i64::from(c.value[F_DAY_OF_YEAR]) - 1;
    } else {
        let mut first = day_of_week_on_or_before(fixed + 6, SUNDAY);
        if first - fixed >= 1 {
            first -= 7;
        }
        if has(F_DAY_OF_WEEK) && c.value[F_DAY_OF_WEEK] != SUNDAY {
            first = day_of_week_on_or_before(first + 6, c.value[F_DAY_OF_WEEK]);
        }
        fixed = first + 7 * (i64::from(c.value[F_WEEK_OF_YEAR]) - 1);
    }
    fixed
}

/// Month length under the hybrid calendar's leap rule (0-based month).
fn month_length(month: i32, year: i32) -> i32 {
    let leap =
        year & 3 == 0 && (i64::from(year) < CUTOVER_YEAR || year % 100 != 0 || year % 400 == 0);
    match month {
        1 => {
            if leap {
                29
            } else {
                28
            }
        }
        3 | 5 | 8 | 10 => 30,
        _ => 31,
    }
}

// ---------------------------------------------------------------------------------------
// Calendar arithmetic on day numbers (0001-01-01 Gregorian = day 1)
// ---------------------------------------------------------------------------------------

/// Day number of a proleptic Gregorian date (month 1-12).
fn gregorian_fixed(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 0000-03-01 (Gregorian) is day -305.
    era * 146_097 + day_of_era - 305
}

/// Day number of a proleptic Julian date (astronomical years, month 1-12).
fn julian_fixed(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let cycle = y.div_euclid(4);
    let year_of_cycle = y - cycle * 4;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    // 0000-03-01 (Julian) is day -307.
    cycle * 1461 + year_of_cycle * 365 + day_of_year - 307
}

fn fixed_from_date(julian: bool, year: i64, month: i64, day: i64) -> i64 {
    if julian {
        julian_fixed(year, month, day)
    } else {
        gregorian_fixed(year, month, day)
    }
}

/// Month (1-12) and day from a day number counted from a March 1 start.
fn month_day_from_march_day(day_of_year: i64) -> (i64, i64) {
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (month, day)
}

fn gregorian_from_fixed(fixed: i64) -> (i64, i64, i64) {
    let z = fixed + 305;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let (month, day) = month_day_from_march_day(day_of_year);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn julian_from_fixed(fixed: i64) -> (i64, i64, i64) {
    let z = fixed + 307;
    let cycle = z.div_euclid(1461);
    let day_of_cycle = z - cycle * 1461;
    let year_of_cycle = (day_of_cycle - day_of_cycle / 1460) / 365;
    let day_of_year = day_of_cycle - 365 * year_of_cycle;
    let (month, day) = month_day_from_march_day(day_of_year);
    let year = year_of_cycle + cycle * 4 + i64::from(month <= 2);
    (year, month, day)
}

/// Proleptic year (1 BC = 0), month 1-12 and day of Java's hybrid calendar.
fn date_from_fixed(fixed: i64) -> (i64, i64, i64) {
    if fixed >= CUTOVER_FIXED {
        gregorian_from_fixed(fixed)
    } else {
        julian_from_fixed(fixed)
    }
}

/// The day with the given day of week (1 = Sunday; other values taken modulo 7) on or
/// before `fixed`.
fn day_of_week_on_or_before(fixed: i64, day_of_week: i32) -> i64 {
    let shifted = fixed - i64::from(day_of_week.wrapping_sub(1));
    fixed - shifted.rem_euclid(7)
}

/// Week number of `fixed` in the period starting at `first_day` (US rules: weeks start on
/// Sunday, the week holding the first day is week 1).
fn week_number(first_day: i64, fixed: i64) -> i64 {
    let mut week1 = day_of_week_on_or_before(first_day + 6, SUNDAY);
    if week1 - first_day >= 1 {
        week1 -= 7;
    }
    (fixed - week1).div_euclid(7) + 1
}

// ---------------------------------------------------------------------------------------
// Two-digit-year window
// ---------------------------------------------------------------------------------------

fn current_time_millis() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
        Err(err) => i64::try_from(err.duration().as_millis()).map_or(i64::MIN, |m| -m),
    }
}

/// The instant 80 years before `now_millis` (same day and time, the day pinned to the
/// month's length) and its year of era.
fn century_start(now_millis: i64) -> (i64, i32) {
    let now = DateFields::from_epoch_millis(now_millis);
    let proleptic = if now.era == 0 {
        1 - now.year_of_era
    } else {
        now.year_of_era
    };
    let year = proleptic - 80;
    let (era, year_of_era) = if year <= 0 { (0, 1 - year) } else { (1, year) };
    let month = now.month as i32;
    let day = (now.day_of_month as i32).min(month_length(month, year as i32));
    let mut fields = FieldSet::new();
    fields.set(F_ERA, era);
    fields.set(F_YEAR, year_of_era as i32);
    fields.set(F_MONTH, month);
    fields.set(F_DAY_OF_MONTH, day);
    fields.set(F_HOUR_OF_DAY, now.hour_of_day as i32);
    fields.set(F_MINUTE, now.minute as i32);
    fields.set(F_SECOND, now.second as i32);
    fields.set(F_MILLISECOND, now.millisecond as i32);
    let start = compute_time(&fields).map_or(now_millis, |(millis, _)| millis);
    let start_year = DateFields::from_epoch_millis(start).year_of_era as i32;
    (start, start_year)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2001-07-04T19:08:56.235Z: the javadoc's example instant (12:08:56.235 PDT).
    const JAVADOC_INSTANT: i64 = 994_273_736_235;
    /// 2001-07-04T00:00:00Z.
    const JULY_4_2001: i64 = 994_204_800_000;

    fn sdf(pattern: &str) -> SimpleDateFormat {
        match SimpleDateFormat::new(pattern) {
            Ok(f) => f,
            Err(e) => panic!("pattern {pattern:?} rejected: {e}"),
        }
    }

    fn sdf_at(pattern: &str, now_millis: i64) -> SimpleDateFormat {
        match SimpleDateFormat::with_now(pattern, now_millis) {
            Ok(f) => f,
            Err(e) => panic!("pattern {pattern:?} rejected: {e}"),
        }
    }

    fn fmt(pattern: &str, millis: i64) -> String {
        sdf(pattern).format(millis)
    }

    fn parse(pattern: &str, text: &str) -> Result<i64, String> {
        sdf(pattern).parse(text)
    }

    fn parse_ok(pattern: &str, text: &str) -> i64 {
        match parse(pattern, text) {
            Ok(millis) => millis,
            Err(e) => panic!("{pattern:?} could not parse {text:?}: {e}"),
        }
    }

    fn assert_unparseable(pattern: &str, text: &str) {
        assert_eq!(
            parse(pattern, text),
            Err(format!("Unparseable date: \"{text}\"")),
            "pattern {pattern:?}, text {text:?}"
        );
    }

    fn pattern_error(pattern: &str) -> Option<String> {
        SimpleDateFormat::new(pattern).err()
    }

    /// A small deterministic generator for the randomized tests.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
            (i128::from(lo) + (u128::from(self.next()) % span) as i128) as i64
        }

        fn text(&mut self, alphabet: &[char], max_len: usize) -> String {
            let len = self.below(max_len + 1);
            (0..len)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect()
        }
    }

    #[test]
    fn javadoc_examples_format_in_utc() {
        let cases = [
            (
                "yyyy.MM.dd G 'at' HH:mm:ss z",
                "2001.07.04 AD at 19:08:56 UTC",
            ),
            ("EEE, MMM d, ''yy", "Wed, Jul 4, '01"),
            ("h:mm a", "7:08 PM"),
            (
                "hh 'o''clock' a, zzzz",
                "07 o'clock PM, Coordinated Universal Time",
            ),
            ("K:mm a, z", "7:08 PM, UTC"),
            ("yyyyy.MMMMM.dd GGG hh:mm aaa", "02001.July.04 AD 07:08 PM"),
            (
                "EEE, d MMM yyyy HH:mm:ss Z",
                "Wed, 4 Jul 2001 19:08:56 +0000",
            ),
            ("yyMMddHHmmssZ", "010704190856+0000"),
            ("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2001-07-04T19:08:56.235+0000"),
            ("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2001-07-04T19:08:56.235Z"),
            ("YYYY-'W'ww-u", "2001-W27-3"),
        ];
        for (pattern, expected) in cases {
            assert_eq!(
                fmt(pattern, JAVADOC_INSTANT),
                expected,
                "pattern {pattern:?}"
            );
        }
    }

    #[test]
    fn javadoc_examples_parse_their_pacific_strings() {
        let cases = [
            (
                "yyyy.MM.dd G 'at' HH:mm:ss z",
                "2001.07.04 AD at 12:08:56 PDT",
                994_273_736_000,
            ),
            ("h:mm a", "12:08 PM", 43_680_000),
            (
                "hh 'o''clock' a, zzzz",
                "12 o'clock PM, Pacific Daylight Time",
                68_400_000,
            ),
            ("K:mm a, z", "0:08 PM, PDT", 68_880_000),
            (
                "yyyyy.MMMMM.dd GGG hh:mm aaa",
                "02001.July.04 AD 12:08 PM",
                994_248_480_000,
            ),
            (
                "EEE, d MMM yyyy HH:mm:ss Z",
                "Wed, 4 Jul 2001 12:08:56 -0700",
                994_273_736_000,
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
                "2001-07-04T12:08:56.235-0700",
                JAVADOC_INSTANT,
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
                "2001-07-04T12:08:56.235-07:00",
                JAVADOC_INSTANT,
            ),
            ("YYYY-'W'ww-u", "2001-W27-3", JULY_4_2001),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(parse_ok(pattern, text), expected, "pattern {pattern:?}");
        }
        // Two-digit years depend on the creation time: fix it at 2020-01-01.
        let now = 1_577_836_800_000;
        assert_eq!(
            sdf_at("EEE, MMM d, ''yy", now).parse("Wed, Jul 4, '01"),
            Ok(JULY_4_2001)
        );
        assert_eq!(
            sdf_at("yyMMddHHmmssZ", now).parse("010704120856-0700"),
            Ok(994_273_736_000)
        );
    }

    #[test]
    fn kafka_timestamp_converter_format() {
        // TimestampConverterTest: 1970-01-01 + 1 day + 1234 ms.
        let f = sdf("yyyy MM dd HH mm ss SSS z");
        assert_eq!(f.format(86_401_234), "1970 01 02 00 00 01 234 UTC");
        assert_eq!(f.parse("1970 01 02 00 00 01 234 UTC"), Ok(86_401_234));
        assert_eq!(f.pattern(), "yyyy MM dd HH mm ss SSS z");
        // testConfigInvalidFormat
        assert_eq!(
            pattern_error("bad-format"),
            Some("Illegal pattern character 'b'".to_string())
        );
    }

    #[test]
    fn epoch_edges_and_leap_years() {
        let p = "yyyy-MM-dd'T'HH:mm:ss.SSS";
        assert_eq!(fmt(p, 0), "1970-01-01T00:00:00.000");
        assert_eq!(fmt(p, -1), "1969-12-31T23:59:59.999");
        assert_eq!(fmt(p, 1), "1970-01-01T00:00:00.001");
        assert_eq!(fmt(p, 951_782_400_000), "2000-02-29T00:00:00.000");
        assert_eq!(fmt(p, 951_868_799_999), "2000-02-29T23:59:59.999");
        assert_eq!(fmt(p, -2_203_891_200_000), "1900-03-01T00:00:00.000");
        assert_eq!(fmt(p, 1_709_164_800_000), "2024-02-29T00:00:00.000");
        for millis in [
            0,
            -1,
            1,
            951_782_400_000,
            -2_203_891_200_000,
            1_709_164_800_000,
        ] {
            assert_eq!(parse_ok(p, &fmt(p, millis)), millis);
        }
        // 1900 is not a leap year: February 29 rolls over to March 1.
        assert_eq!(parse_ok("yyyy-MM-dd", "1900-02-29"), -2_203_891_200_000);
    }

    #[test]
    fn extreme_instants() {
        let p = "G yyyy-MM-dd HH:mm:ss.SSS EEE";
        assert_eq!(fmt(p, i64::MIN), "BC 292269055-12-02 16:47:04.192 Sun");
        assert_eq!(fmt(p, i64::MAX), "AD 292278994-08-17 07:12:55.807 Sun");
        assert_eq!(parse_ok(p, &fmt(p, i64::MIN)), i64::MIN);
        assert_eq!(parse_ok(p, &fmt(p, i64::MAX)), i64::MAX);
    }

    #[test]
    fn julian_gregorian_cutover() {
        let p = "G yyyy-MM-dd EEE D";
        assert_eq!(fmt(p, -12_219_292_800_000), "AD 1582-10-15 Fri 278");
        assert_eq!(fmt(p, -12_219_292_800_001), "AD 1582-10-04 Thu 277");
        assert_eq!(
            fmt("G yyyy-MM-dd EEE", -62_135_769_600_000),
            "AD 0001-01-01 Sat"
        );
        assert_eq!(
            fmt("G yyyy-MM-dd EEE", -62_135_596_800_000),
            "AD 0001-01-03 Mon"
        );
        assert_eq!(fmt("D w", -12_212_553_600_000), "1 1");
        assert_eq!(parse_ok("yyyy-MM-dd", "1582-10-04"), -12_219_379_200_000);
        assert_eq!(parse_ok("yyyy-MM-dd", "1582-10-15"), -12_219_292_800_000);
        // The ten missing days are read as Julian dates: 10 October is 20 October.
        assert_eq!(parse_ok("yyyy-MM-dd", "1582-10-10"), -12_218_860_800_000);
        assert_eq!(parse_ok("yyyy-MM-dd", "1582-10-20"), -12_218_860_800_000);
        assert_eq!(parse_ok("yyyy-DDD", "1582-288"), -12_218_428_800_000);
    }

    #[test]
    fn eras_and_years_before_christ() {
        assert_eq!(
            fmt("y yy yyy yyyy yyyyy G", -62_198_755_200_000),
            "2 02 002 0002 00002 BC"
        );
        assert_eq!(
            fmt("y yy yyy yyyy yyyyy G", -64_827_000_000_000),
            "86 86 086 0086 00086 BC"
        );
        assert_eq!(fmt("G y-MM-dd Y", -62_167_219_200_000), "BC 1-01-03 0");
        // The week year is proleptic (1 BC = 0, 2 BC = -1).
        assert_eq!(fmt("YYYY yyyy", -62_198_755_200_000), "-0001 0002");
        assert_eq!(
            parse_ok("G yyyy-MM-dd", "BC 0044-03-15"),
            -63_517_996_800_000
        );
        assert_eq!(
            parse_ok("G yyyy-MM-dd", "bc 0001-01-01"),
            -62_167_392_000_000
        );
        // Year 0 is 1 BC.
        assert_eq!(parse_ok("yyyy-MM-dd", "0000-01-01"), -62_167_392_000_000);
    }

    #[test]
    fn millisecond_letter_is_a_number_not_a_fraction() {
        assert_eq!(fmt("s.S s.SS s.SSS s.SSSS", 1005), "1.5 1.05 1.005 1.0005");
        assert_eq!(
            fmt("s.S s.SS s.SSS s.SSSS", 61_235),
            "1.235 1.235 1.235 1.0235"
        );
        assert_eq!(parse_ok("ss.S", "01.5"), 1005);
        assert_eq!(parse_ok("ss.SSS", "01.5"), 1005);
        assert_eq!(
            fmt("yyyy-MM-dd'T'HH:mm:ss.SSS", 1),
            "1970-01-01T00:00:00.001"
        );
    }

    #[test]
    fn hour_letters() {
        assert_eq!(fmt("k K h H a", 0), "24 0 12 0 AM");
        assert_eq!(fmt("k K h H a", 43_200_000), "12 0 12 12 PM");
        assert_eq!(fmt("k K h H a", 82_800_000), "23 11 11 23 PM");
        assert_eq!(parse_ok("h a", "12 AM"), 0);
        assert_eq!(parse_ok("h a", "12 PM"), 43_200_000);
        assert_eq!(parse_ok("k", "24"), 0);
        assert_eq!(parse_ok("HH:mm", "12:34"), 45_240_000);
    }

    #[test]
    fn week_and_day_letters() {
        assert_eq!(fmt("D w W F u E", 0), "1 1 1 1 4 Thu");
        assert_eq!(fmt("D w W F u E", 978_220_800_000), "366 1 6 5 7 Sun");
        assert_eq!(fmt("D w W F u E", 1_009_756_800_000), "365 1 6 5 1 Mon");
        // The last days of 2001 belong to week 1 of week year 2002.
        assert_eq!(
            fmt("D w W F u E YYYY yyyy", 1_009_670_400_000),
            "364 1 6 5 7 Sun 2002 2001"
        );
        assert_eq!(
            fmt("D w W F u E YYYY yyyy", 1_104_537_600_000),
            "1 1 1 1 6 Sat 2005 2005"
        );
    }

    #[test]
    fn zone_and_name_letters() {
        assert_eq!(
            fmt("z zz zzz zzzz Z ZZZZZ X XX XXX", 0),
            "UTC UTC UTC Coordinated Universal Time +0000 +0000 Z Z Z"
        );
        assert_eq!(
            fmt("MMMM MMM MM M LLLL LLL LL L", 0),
            "January Jan 01 1 January Jan 01 1"
        );
        assert_eq!(fmt("EEEE EEE EE E", 0), "Thursday Thu Thu Thu");
        assert_eq!(
            fmt("y yy yyy yyyy yyyyy", JAVADOC_INSTANT),
            "2001 01 2001 2001 02001"
        );
        assert_eq!(fmt("GGGG aaaa", JAVADOC_INSTANT), "AD PM");
    }

    #[test]
    fn literals_and_quotes() {
        assert_eq!(
            fmt("'yyyy' '' 'o''clock' \u{e9} \u{1F600} ''''", 0),
            "yyyy ' o'clock \u{e9} \u{1F600} ''"
        );
        assert_eq!(fmt("yyyy'T'MM", 0), "1970T01");
        assert_eq!(fmt("", 0), "");
        assert_eq!(
            parse_ok("yyyy-MM-dd'T'HH:mm:ss", "2001-07-04T12:08:56"),
            994_248_536_000
        );
        // Literals match exactly (case-sensitively).
        assert_unparseable("yyyy-MM-dd'T'HH:mm:ss", "2001-07-04t12:08:56");
        assert_eq!(parse_ok("'\u{1F600}'yyyy", "\u{1F600}1970"), 0);
    }

    #[test]
    fn pattern_errors() {
        let illegal = |c: char| Some(format!("Illegal pattern character '{c}'"));
        assert_eq!(pattern_error("q"), illegal('q'));
        assert_eq!(pattern_error("yyyy-MM-dd'T'HH:mm:ssq"), illegal('q'));
        assert_eq!(pattern_error("yyyy-MM-dd hh:mm:ss A"), illegal('A'));
        assert_eq!(
            pattern_error("'abc"),
            Some("Unterminated quote".to_string())
        );
        assert_eq!(
            pattern_error("yyyy'"),
            Some("Unterminated quote".to_string())
        );
        assert_eq!(pattern_error("'''"), Some("Unterminated quote".to_string()));
        assert_eq!(
            pattern_error("XXXX"),
            Some("invalid ISO 8601 format: length=4".to_string())
        );
        // The illegal letter is found before the over-long X run is closed.
        assert_eq!(pattern_error("XXXXq"), illegal('q'));
        assert_eq!(pattern_error("''"), None);
        assert_eq!(pattern_error("'q'"), None);
        assert_eq!(pattern_error("\u{e9}\u{df}"), None);
    }

    #[test]
    fn lenient_rollover() {
        let p = "yyyy-MM-dd";
        assert_eq!(parse_ok(p, "2001-13-01"), 1_009_843_200_000); // 2002-01-01
        assert_eq!(parse_ok(p, "2001-02-30"), 983_491_200_000); // 2001-03-02
        assert_eq!(parse_ok(p, "2001-00-10"), 976_406_400_000); // 2000-12-10
        assert_eq!(parse_ok(p, "2001-01-32"), 980_985_600_000); // 2001-02-01
        assert_eq!(parse_ok(p, "2001-01-00"), 978_220_800_000); // 2000-12-31
        assert_eq!(parse_ok(p, "2001--1-01"), 973_036_800_000); // month -1: 2000-11-01
        assert_eq!(
            parse_ok("yyyy-MM-dd HH:mm", "2001-01-01 25:00"),
            978_397_200_000
        );
        assert_eq!(
            parse_ok("yyyy-MM-dd HH:mm", "2001-01-01 24:00"),
            978_393_600_000
        );
        assert_eq!(
            parse_ok("yyyy-MM-dd HH:mm:ss", "2001-01-01 23:59:60"),
            978_393_600_000
        );
        assert_eq!(
            parse_ok("yyyy-MM-dd HH:mm:ss.SSS", "2001-01-01 00:00:00.1000"),
            978_307_201_000
        );
    }

    #[test]
    fn adjacent_numeric_fields() {
        assert_eq!(
            parse_ok("yyyyMMddHHmmss", "20010704120856"),
            994_248_536_000
        );
        // The last field takes whatever digits remain.
        assert_eq!(parse_ok("yyyyMMdd", "2001074"), JULY_4_2001);
        assert_unparseable("yyyyMMdd", "200107");
        assert_unparseable("yyyyMMdd", "20010");
        // Full-width digits count as digits.
        assert_eq!(
            parse_ok("yyyyMMdd", "2001\u{FF11}\u{FF12}\u{FF13}\u{FF11}"),
            1_009_756_800_000
        );
        // Without an adjacent number a field reads all of its digits.
        assert_eq!(parse_ok("yyyy-MM-dd", "12345-1-1"), 327_403_382_400_000);
    }

    #[test]
    fn parse_stops_after_the_pattern() {
        assert_eq!(parse_ok("yyyy-MM-dd", "2001-07-04xyz"), JULY_4_2001);
        assert_eq!(parse_ok("yyyy-MM-dd", "2001-07-4.5"), JULY_4_2001);
        assert_unparseable("yyyy-MM-dd", "2001-07");
        assert_unparseable("yyyy-MM-dd", "2001-07-");
        assert_unparseable("yyyy-MM-dd", "");
        assert_unparseable("yyyy-MM-dd", "junk");
        // An empty pattern consumes nothing, which `parse(String)` reports as a failure.
        assert_unparseable("", "2001");
        assert_unparseable("", "");
    }

    #[test]
    fn spaces_before_fields_are_skipped() {
        assert_eq!(parse_ok("yyyy-MM-dd", " 2001-07-04"), JULY_4_2001);
        assert_eq!(parse_ok("yyyy-MM-dd", "2001- 07-\t04"), JULY_4_2001);
        // ... but not before literals.
        assert_unparseable("yyyy-MM-dd", "2001 -07-04");
        // Text fields are matched where the field starts, before the spaces.
        assert_unparseable("MMM", "\tMar");
        assert_eq!(parse_ok("yyyy z", "2001 \tUTC"), 978_307_200_000);
    }

    #[test]
    fn zone_parsing() {
        let at = |letters: &str, zone: &str| {
            parse(
                &format!("yyyy-MM-dd HH:mm {letters}"),
                &format!("2001-07-04 12:08 {zone}"),
            )
        };
        let noon = 994_248_480_000;
        let hour = 3_600_000;
        assert_eq!(at("z", "UTC"), Ok(noon));
        assert_eq!(at("z", "utc"), Ok(noon));
        assert_eq!(at("z", "GMT"), Ok(noon));
        assert_eq!(at("z", "Coordinated Universal Time"), Ok(noon));
        assert_eq!(at("z", "GMT+01:00"), Ok(noon - hour));
        assert_eq!(at("z", "GMT+1:00"), Ok(noon - hour));
        assert_eq!(at("z", "+0100"), Ok(noon - hour));
        assert_eq!(at("z", "EST"), Ok(noon + 5 * hour));
        assert_eq!(at("z", "PDT"), Ok(noon + 7 * hour));
        assert_eq!(at("z", "Central European Summer Time"), Ok(noon - 2 * hour));
        assert_eq!(at("Z", "-0800"), Ok(noon + 8 * hour));
        assert_eq!(at("Z", "UTC"), Ok(noon));
        assert_eq!(at("X", "Z"), Ok(noon));
        assert_eq!(at("X", "+01"), Ok(noon - hour));
        assert_eq!(at("X", "+0130"), Ok(noon - hour)); // reads "+01" only
        assert_eq!(at("XX", "+0130"), Ok(noon - 3 * hour / 2));
        assert_eq!(at("XXX", "+01:30"), Ok(noon - 3 * hour / 2));
        assert_eq!(at("XXX", "-01:30"), Ok(noon + 3 * hour / 2));
        // As Java: RFC 822 offsets have no colon, GMT offsets need one, X takes no names.
        let rejected = [
            ("z", "GMT+0100"),
            ("z", "GMT+01"),
            ("z", "+01:00"),
            ("z", "Z"),
            ("Z", "+01:00"),
            ("XX", "+01:30"),
            ("XXX", "+0130"),
            ("XXX", "UTC"),
            ("XXX", "+24:00"),
            ("XXX", "+01:60"),
        ];
        for (letters, zone) in rejected {
            assert!(at(letters, zone).is_err(), "{letters} {zone}");
        }
    }

    #[test]
    fn text_fields_ignore_case() {
        assert_eq!(
            parse_ok("EEE, MMM d, yyyy", "wed, JUL 4, 2001"),
            JULY_4_2001
        );
        assert_eq!(
            parse_ok("EEEE, MMMM d, yyyy", "WEDNESDAY, july 4, 2001"),
            JULY_4_2001
        );
        // Java's case folding also matches dotless i, dotted capital I and long s.
        assert_eq!(parse_ok("EEEE", "fr\u{131}day"), 86_400_000);
        assert_eq!(parse_ok("EEEE", "FR\u{130}DAY"), 86_400_000);
        assert_eq!(parse_ok("MMM yyyy", "\u{17F}ep 2001"), 999_302_400_000);
        // MMMM also reads short names; "Sept" is "Sep" followed by a stray "t".
        assert_eq!(parse_ok("MMMM yyyy", "Sep 2001"), 999_302_400_000);
        assert_unparseable("MMM yyyy", "Sept 2001");
        assert_eq!(parse_ok("G yyyy", "ad 2001"), 978_307_200_000);
        assert_eq!(parse_ok("yyyy a hh", "2001 pm 01"), 978_354_000_000);
    }

    #[test]
    fn numbers_as_java_decimal_format_reads_them() {
        let p = "yyyy-MM-dd";
        assert_eq!(parse_ok(p, "2001-1E1-04"), 1_002_153_600_000); // month 10
        assert_eq!(parse_ok(p, "2001-1E-1-01"), 975_628_800_000); // month 0.1 -> 0
        assert_unparseable(p, "2001-1E+1-01");
        assert_eq!(parse_ok(p, "NaN-07-04"), -62_151_408_000_000); // year 0
        let arabic = "\u{662}\u{660}\u{660}\u{661}-\u{660}\u{667}-\u{660}\u{664}";
        assert_eq!(parse_ok(p, arabic), JULY_4_2001);
        // Long values keep their low 32 bits; 4294969297 = 2^32 + 2001.
        assert_eq!(parse_ok(p, "4294969297-07-04"), JULY_4_2001);
        // Larger values saturate, as infinity does.
        assert_eq!(
            parse_ok(p, "2001-99999999999999999999-01"),
            5_647_337_506_281_600_000
        );
        assert_eq!(parse_ok(p, "2001-\u{221E}-01"), 5_647_337_506_281_600_000);
        assert_eq!(parse_ok(p, "2001--\u{221E}-01"), 5_647_337_508_960_000_000);
        assert_unparseable(p, "+2001-07-04");
    }

    #[test]
    fn field_resolution_as_java_calendar() {
        // A day of week alone is its first occurrence in January 1970.
        assert_eq!(parse_ok("EEE", "Mon"), 345_600_000);
        assert_eq!(parse_ok("MMM", "Mar"), 5_097_600_000);
        // A day of week does not override a full date.
        assert_eq!(parse_ok("yyyy-MM-dd EEE", "2001-07-04 Mon"), JULY_4_2001);
        assert_eq!(parse_ok("EEE yyyy-MM-dd", "Mon 2001-07-04"), JULY_4_2001);
        // The group set last wins.
        assert_eq!(parse_ok("yyyy-DDD-MM-dd", "2001-001-07-04"), JULY_4_2001);
        assert_eq!(
            parse_ok("yyyy-MM-dd-DDD", "2001-07-04-001"),
            978_307_200_000
        );
        assert_eq!(parse_ok("yyyy-MM-W-E", "2001-07-1-Sun"), 993_945_600_000);
        assert_eq!(parse_ok("yyyy-MM-F-E", "2001-07-2-Fri"), 994_982_400_000);
        assert_eq!(parse_ok("yyyy-ww-u", "2001-27-7"), 993_945_600_000);
        assert_eq!(parse_ok("YYYY-'W'ww-u", "2001-W27-3"), JULY_4_2001);
    }

    #[test]
    fn two_digit_years_use_the_window_around_creation() {
        // Javadoc: created on 1997-01-01, "01/11/12" is 2012 and "05/04/64" is 1964.
        let f = sdf_at("MM/dd/yy", 852_076_800_000);
        assert_eq!(f.parse("01/11/12"), Ok(1_326_240_000_000));
        assert_eq!(f.parse("05/04/64"), Ok(-178_675_200_000));
        // The window starts 1917-01-01: 17 is 1917 from that instant on.
        assert_eq!(f.parse("01/01/17"), Ok(-1_672_531_200_000));
        assert_eq!(f.parse("12/31/17"), Ok(-1_641_081_600_000));
        // Created 1997-06-15: January 1917 is before the window, so 17 means 2017.
        let f = sdf_at("MM/dd/yy", 866_332_800_000);
        assert_eq!(f.parse("01/01/17"), Ok(1_483_228_800_000));
        assert_eq!(f.parse("12/31/17"), Ok(-1_641_081_600_000));
        assert_eq!(f.parse("12/31/16"), Ok(1_483_142_400_000));
        // "y" alone also reads two digits through the window; other lengths are literal.
        let f = sdf_at("y", 852_076_800_000);
        assert_eq!(f.parse("12"), Ok(1_325_376_000_000));
        assert_eq!(f.parse("012"), parse("yyyy", "0012"));
        // Javadoc: with "MM/dd/yyyy", "01/11/12" is January 11, 12 AD.
        assert_eq!(parse_ok("MM/dd/yyyy", "01/11/12"), -61_787_836_800_000);
        // Created on 1980-02-29T12:00Z: the window starts on 1900-02-28 (not a leap year).
        assert_eq!(century_start(320_673_600_000), (-2_203_934_400_000, 1900));
    }

    #[test]
    fn round_trips() {
        let any_era = [
            "G yyyy-MM-dd HH:mm:ss.SSS",
            "G yyyy-DDD HH:mm:ss.SSS",
            "yyyy-MM-dd G HH:mm:ss.SSS Z",
        ];
        let after_christ = [
            "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            "EEE, d MMM yyyy HH:mm:ss.SSS z",
            "EEEE, MMMM d, yyyy h:mm:ss.SSS a zzzz",
            "yyyy-DDD HH:mm:ss.SSS",
            "K:mm:ss.SSS a yyyy-MM-dd",
            "k:mm:ss.SSS yyyy-MM-dd",
            "yyyy MM dd HH mm ss SSS z",
        ];
        // Weeks of October 1582 count from its Julian first day, so (in Java too) these
        // do not round-trip in that month.
        let weeks_of_month = ["yyyy-MM-W-E HH:mm:ss.SSS", "yyyy-MM-F-E HH:mm:ss.SSS"];
        let october_1582 = -12_219_638_400_000..-12_217_824_000_000;
        let four_digit_years = ["yyyyMMddHHmmssSSS", "yyyyMMdd'T'HHmmss.SSSX"];
        let week_dates = ["YYYY-'W'ww-u HH:mm:ss.SSS", "YYYY-ww-E HH:mm:ss.SSS"];
        let year_1 = -62_135_769_600_000;
        let year_1000 = -30_610_224_000_000;
        let year_1600 = -11_676_096_000_000;
        let year_10000 = 253_402_300_800_000;
        let mut rng = XorShift(0x5DEE_CE66_D1CE_4E5B);
        let mut instants = vec![
            0,
            -1,
            1,
            86_401_234,
            JAVADOC_INSTANT,
            -12_219_292_800_000,
            -12_219_292_800_001,
        ];
        for _ in 0..400 {
            instants.push(rng.range(-4_000_000_000_000, 4_000_000_000_000));
            instants.push(rng.range(year_1, year_10000 - 1));
            instants.push(rng.range(-12_300_000_000_000, -12_100_000_000_000));
        }
        for millis in instants {
            let mut patterns: Vec<&str> = any_era.to_vec();
            if millis >= year_1 {
                patterns.extend(after_christ);
                if !october_1582.contains(&millis) {
                    patterns.extend(weeks_of_month);
                }
            }
            if (year_1000..year_10000).contains(&millis) {
                patterns.extend(four_digit_years);
            }
            if (year_1600..year_10000).contains(&millis) {
                patterns.extend(week_dates);
            }
            for pattern in patterns {
                let f = sdf(pattern);
                let text = f.format(millis);
                assert_eq!(
                    f.parse(&text),
                    Ok(millis),
                    "pattern {pattern:?}, text {text:?}"
                );
            }
        }
    }

    #[test]
    fn randomized_inputs_never_panic() {
        const PATTERN_CHARS: &[char] = &[
            'G',
            'y',
            'Y',
            'M',
            'L',
            'w',
            'W',
            'D',
            'd',
            'F',
            'E',
            'u',
            'a',
            'H',
            'k',
            'K',
            'h',
            'm',
            's',
            'S',
            'z',
            'Z',
            'X',
            'q',
            'b',
            '\'',
            '\'',
            '-',
            ':',
            ' ',
            '.',
            '0',
            '\u{e9}',
            '\u{1F600}',
            'T',
        ];
        const TEXT_CHARS: &[char] = &[
            '0',
            '1',
            '2',
            '9',
            '-',
            '+',
            ':',
            ' ',
            '\t',
            '.',
            'E',
            'N',
            'a',
            'N',
            'Z',
            'G',
            'M',
            'T',
            'U',
            'C',
            'P',
            'D',
            'S',
            'J',
            'u',
            'l',
            '\u{221E}',
            '\u{660}',
            '\u{131}',
            '\u{1F600}',
            '\'',
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let instants = [
            0,
            -1,
            i64::MIN,
            i64::MAX,
            i64::MIN + 1,
            -12_219_292_800_001,
            253_402_300_799_999,
        ];
        for _ in 0..4000 {
            let pattern = rng.text(PATTERN_CHARS, 8);
            let Ok(f) = SimpleDateFormat::new(&pattern) else {
                continue;
            };
            let text = f.format(instants[rng.below(instants.len())]);
            let _ = f.parse(&text);
            let _ = f.format(rng.next() as i64);
            for _ in 0..3 {
                let _ = f.parse(&rng.text(TEXT_CHARS, 14));
                let mut mutated: Vec<char> = text.chars().collect();
                if !mutated.is_empty() {
                    let at = rng.below(mutated.len());
                    mutated[at] = TEXT_CHARS[rng.below(TEXT_CHARS.len())];
                }
                let _ = f.parse(&mutated.into_iter().collect::<String>());
            }
        }
        // Extreme field values wrap around as Java's int and long arithmetic does.
        let f = sdf("yyyy-MM-dd HH:mm:ss.SSS u w D F W");
        let max = i32::MAX;
        let min = i32::MIN;
        let _ = f.parse(&format!(
            "{max}-{max}-{max} {max}:{max}:{max}.{max} {min} {max} {min} {max} {min}"
        ));
        let _ = f.parse(&format!(
            "{min}-{min}-{min} {min}:{min}:{min}.{min} {max} {min} {max} {min} {max}"
        ));
        let f = sdf("YYYY-ww-u");
        for text in [
            format!("{max}-{max}-{min}"),
            format!("{min}-{min}-{max}"),
            "0-0-0".to_string(),
        ] {
            let _ = f.parse(&text);
        }
        // Long patterns pad to at most 309 digits, as DecimalFormat does.
        let long = "y".repeat(1000);
        assert_eq!(fmt(&long, 0).len(), 309);
        let _ = sdf(&long).parse(&"9".repeat(5000));
    }

    #[test]
    fn formatter_is_cloneable_and_debuggable() {
        let f = sdf("yyyy-MM-dd");
        let g = f.clone();
        assert_eq!(g.format(JULY_4_2001), "2001-07-04");
        assert!(format!("{f:?}").contains("yyyy-MM-dd"));
    }
}
