//! The `sluice` command line, as a library function so a connector author's
//! crate can build a worker binary with its own connectors compiled in:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     let mut registry = sluice_runtime::plugins::registry();
//!     // my_connector::register(&mut registry);
//!     sluice_runtime::main_with(registry)
//! }
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::sync::Arc;

use sluice_connect_api::Registry;

use crate::logging::LogLevels;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Sluice: a Kafka Connect-compatible connector runtime.
#[derive(Debug, Parser)]
#[command(name = "sluice", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one worker, like connect-standalone.sh.
    Standalone {
        /// Worker properties (Kafka Connect's connect-standalone.properties keys).
        worker: PathBuf,
        /// Connector configs: .properties or .json files.
        connectors: Vec<PathBuf>,
    },
    /// Run one worker of a cluster, like connect-distributed.sh: workers
    /// with the same group.id share connectors and tasks through Kafka.
    Distributed {
        /// Worker properties (Kafka Connect's connect-distributed.properties keys).
        worker: PathBuf,
    },
    /// Run a Confluent-compatible schema registry (Confluent's
    /// schema-registry.properties keys).
    SchemaRegistry {
        /// Registry properties: listeners, kafkastore.bootstrap.servers, ...
        config: PathBuf,
    },
    /// Read a password on standard input and print its Argon2id hash, for
    /// a REST credentials file (`user=<hash>`).
    HashPassword,
    /// Make a new REST API key for a principal: prints the key (give it to
    /// the client) and the line for `rest.auth.api.keys.file` (its hash).
    ApiKey {
        /// The principal the key authenticates as.
        principal: String,
    },
    /// Keys that seal connector secrets where configs are stored.
    Secrets {
        #[command(subcommand)]
        action: SecretsCommand,
    },
    /// Print the Markdown reference of connector plugins' config keys.
    Docs {
        /// One plugin (any of its names); all of them when omitted.
        plugin: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Print a new key entry (`<id>=<base64>`) for
    /// `secrets.encryption.keys.file`.
    GenerateKey {
        /// The key's id (letters, digits, '-', '_', '.').
        id: String,
    },
    /// Ask a running worker to seal every stored secret with its active
    /// key (`secrets.encryption.key.id`); credentials come from the
    /// SLUICE_REST_AUTHORIZATION variable (an Authorization header value).
    RotateKey {
        /// The worker's REST URL.
        #[arg(long, default_value = "http://localhost:8083")]
        url: String,
        /// PEM file of the CA to trust for an https URL.
        #[arg(long)]
        cacert: Option<PathBuf>,
    },
}

fn secrets_command(action: &SecretsCommand) -> ExitCode {
    let result = match action {
        SecretsCommand::GenerateKey { id } => crate::secrets::cli::generate_key(id),
        SecretsCommand::RotateKey { url, cacert } => {
            crate::secrets::cli::rotate_key(url, cacert.as_deref())
        }
    };
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `log.format=json` in the worker file (or `CONNECT_LOG_FORMAT=json`),
/// read before logging starts; a bad file is reported later, in full.
fn wants_json_logs(cli: &Cli) -> bool {
    let worker = match &cli.command {
        Command::Standalone { worker, .. } | Command::Distributed { worker } => worker,
        Command::SchemaRegistry { .. }
        | Command::Docs { .. }
        | Command::HashPassword
        | Command::Secrets { .. }
        | Command::ApiKey { .. } => {
            return false;
        }
    };
    let mut props = std::fs::read_to_string(worker)
        .ok()
        .and_then(|t| crate::config::properties::parse(&t).ok())
        .unwrap_or_default();
    crate::config::env::apply(&mut props, std::env::vars());
    props
        .get(crate::config::worker::LOG_FORMAT)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("json"))
}

/// Runs the `sluice` command line (`standalone`, `distributed`,
/// `schema-registry`) with the plugins of `registry`, until the worker
/// stops; the process's exit code.
pub fn main_with(registry: Registry) -> ExitCode {
    let cli = Cli::parse();
    if let Command::ApiKey { principal } = &cli.command {
        return match crate::rest::auth::new_api_key(principal) {
            Ok((key, line)) => {
                println!("{key}\n{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    if let Command::Secrets { action } = &cli.command {
        return secrets_command(action);
    }
    if let Command::HashPassword = &cli.command {
        let mut line = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut line) {
            eprintln!("error: cannot read the password: {e}");
            return ExitCode::from(1);
        }
        let pw = line.trim_end_matches(['\r', '\n']);
        if pw.is_empty() {
            eprintln!("error: an empty password");
            return ExitCode::from(1);
        }
        return match crate::rest::auth::hash_password(pw) {
            Ok(h) => {
                println!("{h}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    if let Command::Docs { plugin } = &cli.command {
        return match crate::docs::markdown(&registry, plugin.as_deref()) {
            Ok(md) => {
                print!("{md}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string());
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, reload) = tracing_subscriber::reload::Layer::new(filter);
    let json = wants_json_logs(&cli);
    // One JSON object per line, with the current span's fields (connector,
    // task) and its parents', for log pipelines.
    let json_layer = json.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .with_writer(std::io::stderr)
    });
    let text_layer = (!json).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(json_layer)
        .with(text_layer)
        .init();
    let log_levels = Arc::new(LogLevels::new(
        &spec,
        Some(Box::new(move |f| {
            reload.reload(f).map_err(|e| e.to_string())
        })),
    ));
    let (worker, connectors) = match cli.command {
        Command::Standalone { worker, connectors } => (worker, connectors),
        Command::SchemaRegistry { config } => return run_registry(&config),
        Command::Docs { .. }
        | Command::HashPassword
        | Command::ApiKey { .. }
        | Command::Secrets { .. } => {
            return ExitCode::SUCCESS;
        }
        Command::Distributed { worker } => return run_distributed(&worker, log_levels, registry),
    };
    let (config, files) = match crate::standalone::load_configs(&worker, &connectors, &registry) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    run_async(crate::standalone::run(config, files, log_levels, registry))
}

fn run_distributed(
    worker: &std::path::Path,
    log_levels: Arc<LogLevels>,
    registry: Registry,
) -> ExitCode {
    match crate::standalone::load_configs(worker, &[], &registry) {
        Ok((config, _)) => run_async(crate::distributed::run(config, log_levels, registry)),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run_registry(path: &std::path::Path) -> ExitCode {
    match crate::registry::load(path) {
        Ok(config) => run_async(crate::registry::run(config)),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// How long the runtime waits for blocking calls still running after the
/// worker stopped.
const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs `job` on a multi-threaded runtime; an error is printed and exits 1.
fn run_async(job: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match runtime.block_on(job) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    };
    // The worker has stopped its tasks (each within its own timeouts). A
    // call into librdkafka still blocked on a broker that is gone must not
    // keep the process alive: the runtime gets a deadline, not a wait.
    runtime.shutdown_timeout(SHUTDOWN_DEADLINE);
    code
}
