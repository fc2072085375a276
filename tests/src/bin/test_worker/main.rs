//! `test-worker`: the `sluice` command line with the built-in plugins plus
//! connectors that exist to test the runtime (registered with
//! `sluice_runtime::main_with`, as a connector author's worker would).
//!
//! - `sluice.test.SlowSource`: numbered records from a poll that takes as
//!   long as it is told, acknowledging them to a file (per record, per
//!   batch, or not at all).

mod slow_source;

fn main() -> std::process::ExitCode {
    let mut registry = sluice_runtime::plugins::registry();
    slow_source::register(&mut registry);
    sluice_runtime::main_with(registry)
}
