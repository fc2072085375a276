//! Tests across the whole mapping.

mod bench;
mod errors;
mod fixtures;
mod foreign;
mod round_trip;
mod settings;
