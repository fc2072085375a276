//! Running a source task: poll → convert → produce → on acknowledgement
//! mark offsets committable → periodically store them (DESIGN.md §4).

mod acks;
mod executor;
mod offsets;
mod poller;
mod sender;

pub use executor::{SourceTaskParams, run_source_task};
