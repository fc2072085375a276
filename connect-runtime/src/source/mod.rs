//! Running a source task: poll → convert → produce → on acknowledgement
//! mark offsets committable → periodically store them (DESIGN.md §4).

mod acks;
mod executor;
#[cfg(test)]
mod executor_tests;
mod offsets;
mod output;
mod poller;
mod sender;

pub use executor::{SourceOutput, SourceTaskParams, run_source_task};
