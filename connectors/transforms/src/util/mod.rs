//! Helpers shared by the transforms: Kafka Connect's `Requirements`,
//! `SchemaUtil` and `SimpleConfig` roles, the schema cache, field paths, and
//! the bits of Java behaviour (number formatting, regex replacement strings,
//! `Values.parseString`) that transforms' results depend on.

pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod field_path;
pub(crate) mod fields;
pub(crate) mod java;
pub(crate) mod map;
pub(crate) mod replacement;
pub(crate) mod requirements;
pub(crate) mod schema_util;
pub(crate) mod side;
pub(crate) mod time;
pub(crate) mod values_parser;

pub use side::Side;
