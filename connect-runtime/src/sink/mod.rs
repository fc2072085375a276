//! Running a sink task: consume (group `connect-<name>`) → convert → `put`
//! → periodically `pre_commit`/flush → commit exactly the offsets the task
//! made durable (DESIGN.md §4).

mod consumer;
mod executor;
#[cfg(test)]
mod executor_tests;
mod input;
mod lag;

pub use executor::{SinkInput, SinkTaskParams, run_sink_task};
