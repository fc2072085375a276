//! Running a sink task: consume (group `connect-<name>`) → convert → `put`
//! → periodically `pre_commit`/flush → commit exactly the offsets the task
//! made durable (DESIGN.md §4).

mod consumer;
mod executor;
mod input;
mod lag;

pub use executor::{SinkTaskParams, run_sink_task};
