//! `sluice standalone WORKER.properties [CONNECTOR ...]`: one worker, state
//! in RocksDB, connectors from files.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, bail};
use sluice_schema::converter::ConverterConfig;

use crate::config::connector::{ConnectorFile, load};
use crate::config::worker::{KEY_CONVERTER, VALUE_CONVERTER, WorkerConfig};
use crate::connector_config;
use crate::herder::StandaloneHerder;
use crate::kafka::TopicAdmin;
use crate::offsets::RocksOffsetStore;
use crate::rest::RestState;
use crate::state::RocksConnectorStore;
use crate::status::StatusStore;
use crate::worker::Worker;
use sluice_connect_api::Registry;

/// Everything checked before anything starts: a bad file or key ends the
/// process with a message naming both.
pub fn load_configs(
    worker: &Path,
    connectors: &[PathBuf],
    registry: &Registry,
) -> Result<(WorkerConfig, Vec<ConnectorFile>)> {
    let config = WorkerConfig::load(worker)?;
    for (key, spec) in [
        (KEY_CONVERTER, &config.key_converter),
        (VALUE_CONVERTER, &config.value_converter),
    ] {
        let plugin = registry.converter(&spec.class).with_context(|| {
            format!("invalid config in {}: Invalid value {} for configuration {key}: Class {} could not be found.",
                worker.display(), spec.class, spec.class)
        })?;
        (plugin.factory)(&ConverterConfig {
            is_key: key == KEY_CONVERTER,
            props: spec.props.clone(),
        })
        .with_context(|| {
            format!(
                "invalid config in {}: {key} {}",
                worker.display(),
                spec.class
            )
        })?;
    }
    let mut files: Vec<ConnectorFile> = Vec::new();
    for path in connectors {
        let file = load(path)?;
        let mut issues = config.override_policy.check(&file.config);
        if let Err(e) = connector_config::validate(registry, &file.config) {
            issues.splice(0..0, e.issues);
        }
        if !issues.is_empty() {
            let e = sluice_connect_api::config::ConfigErrors { issues };
            bail!("invalid connector config in {}: {e}", path.display());
        }
        if files.iter().any(|f| f.name == file.name) {
            bail!(
                "invalid connector config in {}: Connector {} already exists",
                path.display(),
                file.name
            );
        }
        files.push(file);
    }
    Ok((config, files))
}

pub(crate) fn worker_id(config: &WorkerConfig) -> String {
    let listener = config.advertised_listener.as_ref();
    let host = config
        .advertised_host
        .clone()
        .unwrap_or_else(|| match listener {
            Some(l) if l.host != "0.0.0.0" && l.host != "::" => l.host.clone(),
            _ => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "localhost".to_string()),
        });
    let port = config
        .advertised_port
        .or(listener.map(|l| l.port))
        .unwrap_or(8083);
    format!("{host}:{port}")
}

/// Runs the worker until SIGINT or SIGTERM, then stops every task (each
/// flushes and commits) and returns.
pub async fn run(
    config: WorkerConfig,
    connectors: Vec<ConnectorFile>,
    log_levels: Arc<crate::logging::LogLevels>,
    plugins: Registry,
) -> Result<()> {
    let store = RocksOffsetStore::open(&config.state_dir).with_context(|| {
        format!(
            "cannot open the offset store (offset.storage.dir / offset.storage.file.filename = {})",
            config.state_dir.display()
        )
    })?;
    let listeners = crate::wiring::bind_rest(&config).await?;
    let admin = Arc::new(TopicAdmin::new(&config.bootstrap_servers, &config.admin)?);
    let id = worker_id(&config);
    let auth = config.rest_auth.clone();
    let authz = config.rest_authz.clone();
    let audit = crate::rest::audit::AuditLog::start(&config, admin.clone(), &id)
        .map_err(anyhow::Error::msg)?;
    // The embedded registry is up before the REST API answers, so a
    // connector created right after start finds it.
    let registry = match &config.schema_registry {
        Some(registry_config) => Some(
            sluice_schema_registry::server::start(registry_config)
                .await
                .context(
                    "cannot start the embedded schema registry (schema.registry.embedded=true)",
                )?,
        ),
        None => None,
    };
    let connector_store = Arc::new(RocksConnectorStore::new(&store));
    let transform_store = Arc::new(crate::state::RocksTransformStore::new(&store));
    let metrics = crate::metrics::Metrics::new(id.clone(), config.metrics_window);
    let status = Arc::new(StatusStore::new(id.clone()));
    crate::wiring::spawn_sampler(&metrics, &status);
    let worker = Arc::new(Worker {
        registry: plugins,
        offsets: Arc::new(store),
        status,
        admin: admin.clone(),
        metrics,
        config,
        transform_store: Some(transform_store),
    });
    let (herder, requests) = StandaloneHerder::new(worker, connector_store);
    tokio::spawn(herder.clone().process_requests(requests));
    let state = Arc::new(RestState {
        herder: herder.clone(),
        // A standalone worker calls no other worker.
        http: crate::http_client::HttpClient::system().map_err(anyhow::Error::msg)?,
        kafka_cluster_id: OnceLock::new(),
        started: std::sync::atomic::AtomicBool::new(false),
        log_levels,
        auth,
        authz,
        audit,
    });
    let stop_rest = crate::wiring::serve_rest(listeners, &state, &id);
    crate::wiring::learn_cluster_id(admin, &state);
    herder
        .start_all(connectors.into_iter().map(|c| (c.name, c.config)).collect())
        .await?;
    state
        .started
        .store(true, std::sync::atomic::Ordering::Release);
    tracing::info!("Sluice worker started");
    shutdown_signal().await;
    tracing::info!("stopping: tasks flush and commit before exit");
    herder.stop_all().await;
    let _ = stop_rest.send(true);
    if let Some(registry) = registry {
        registry.shutdown().await;
    }
    tracing::info!("Sluice worker stopped");
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
