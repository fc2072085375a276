//! The `sluice` binary: the command line with the built-in plugins.

fn main() -> std::process::ExitCode {
    sluice_runtime::main_with(sluice_runtime::plugins::registry())
}
