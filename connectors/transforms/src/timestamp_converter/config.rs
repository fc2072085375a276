//! `TimestampConverter`'s keys as a typed config.

use sluice_connect_api::config::{ConfigIssue, ConfigKey, ConnectorConfig, Importance, TypedDef};

use super::convert::{Converter, Kind, Precision};
use crate::simple_date_format::SimpleDateFormat;
use crate::util::config::{issues_of, plain_issue, replace_null_with_default_key};
use crate::util::fields::{Choice, choice_field};

const FIELD: &str = "field";
const TARGET_TYPE: &str = "target.type";
const FORMAT: &str = "format";
const UNIX_PRECISION: &str = "unix.precision";

impl Choice for Kind {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("string", Self::String),
        ("unix", Self::Unix),
        ("Date", Self::Date),
        ("Time", Self::Time),
        ("Timestamp", Self::Timestamp),
    ];
}

choice_field!(Kind);

impl Choice for Precision {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("nanoseconds", Self::Nanoseconds),
        ("microseconds", Self::Microseconds),
        ("milliseconds", Self::Milliseconds),
        ("seconds", Self::Seconds),
    ];
}

choice_field!(Precision);

#[derive(Debug, Default)]
pub(super) struct TimestampConverterConfig {
    pub(super) field: String,
    pub(super) target: Kind,
    pub(super) format: String,
    pub(super) precision: Precision,
    pub(super) replace_null_with_default: bool,
}

impl TimestampConverterConfig {
    /// The conversion to `target` (the format is required for strings).
    pub(super) fn converter(&self) -> Result<Converter, ConfigIssue> {
        let pattern = &self.format;
        if self.target == Kind::String && pattern.trim().is_empty() {
            return Err(plain_issue(
                FORMAT,
                "TimestampConverter requires format option to be specified when using string \
                 timestamps",
            ));
        }
        let format = if pattern.trim().is_empty() {
            None
        } else {
            let format = SimpleDateFormat::new(pattern).map_err(|_| {
                plain_issue(
                    FORMAT,
                    format!(
                        "TimestampConverter requires a SimpleDateFormat-compatible pattern for \
                         string timestamps: {pattern}"
                    ),
                )
            })?;
            Some((format, pattern.clone()))
        };
        Ok(Converter::new(self.target, format, self.precision))
    }
}

impl ConnectorConfig for TimestampConverterConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(FIELD)
                    .default_value("")
                    .importance(Importance::High)
                    .doc(
                        "The field containing the timestamp, or empty if the entire value is a \
                         timestamp",
                    ),
                |c, v| c.field = v,
            )
            .field(
                ConfigKey::named(TARGET_TYPE)
                    .importance(Importance::High)
                    .doc(
                        "The desired timestamp representation: string, unix, Date, Time, or \
                         Timestamp",
                    ),
                |c, v| c.target = v,
            )
            .field(
                ConfigKey::named(FORMAT)
                    .default_value("")
                    .importance(Importance::Medium)
                    .doc(
                        "A SimpleDateFormat-compatible format for the timestamp. Used to generate \
                         the output when type=string or used to parse the input if the input is a \
                         string.",
                    ),
                |c, v| c.format = v,
            )
            .field(
                ConfigKey::named(UNIX_PRECISION)
                    .default_value("milliseconds")
                    .importance(Importance::Low)
                    .doc(
                        "The desired Unix precision for the timestamp: seconds, milliseconds, \
                         microseconds, or nanoseconds. Used to generate the output when type=unix \
                         or used to parse the input if the input is a Long.Note: This SMT will \
                         cause precision loss during conversions from, and to, values with \
                         sub-millisecond components.",
                    ),
                |c, v| c.precision = v,
            )
            .field(replace_null_with_default_key(), |c, v| {
                c.replace_null_with_default = v;
            })
            .check_issues(|c| issues_of(c.converter()))
    }
}
