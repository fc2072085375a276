//! Run with `cargo run -p custom-connector --bin custom-worker -- standalone
//! worker.properties csv-source.properties`: the `sluice` command line, with
//! the built-in plugins plus this crate's connectors.

fn main() -> std::process::ExitCode {
    let mut registry = sluice_runtime::plugins::registry();
    custom_connector::register(&mut registry);
    sluice_runtime::main_with(registry)
}
