//! `sluice distributed WORKER.properties`: workers that form a cluster
//! through Kafka alone, like Kafka Connect's distributed mode.
//!
//! - [`config`]: the distributed worker keys.
//! - [`topics`]: internal topics created (compacted) or checked.
//! - [`kafka_log`]: a topic read to its end and kept read.
//! - [`config_topic`], [`status_topic`], [`offset_topic`]: the three
//!   internal topics with Kafka Connect's keys and values.
//! - [`herder`]: the REST side (leader-only writes, forwarding);
//!   `member.rs`: group rounds; `work.rs`: running what was assigned.

pub mod config;
pub mod config_topic;
pub mod herder;
pub mod kafka_log;
mod member;
pub mod offset_topic;
pub mod session_key;
pub mod status_topic;
pub mod topics;
mod work;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use sluice_group::assignor::Assignor;
use sluice_group::client::{GroupClient, GroupConfig};
use tokio::sync::{Notify, mpsc, watch};

pub use herder::DistributedHerder;

use crate::config::worker::WorkerConfig;
use crate::kafka::TopicAdmin;
use crate::offsets::{OffsetStore, RocksOffsetStore};
use crate::rest::RestState;
use crate::status::StatusStore;
use crate::worker::Worker;
use config::{CONFIG_TOPIC, DistributedConfig, OFFSET_TOPIC, STATUS_TOPIC};
use config_topic::{Change, ConfigState};
use kafka_log::KafkaLog;
use status_topic::ClusterStatus;

/// Runs a distributed worker until SIGINT or SIGTERM; then it stops its
/// tasks (each flushes and commits), leaves the group and returns.
pub async fn run(
    config: WorkerConfig,
    log_levels: Arc<crate::logging::LogLevels>,
    registry: sluice_connect_api::Registry,
) -> Result<()> {
    let dcfg = DistributedConfig::from_props(&config.originals)
        .map_err(|m| anyhow::anyhow!("invalid distributed worker config: {m}"))?;
    if config.schema_registry.is_some() {
        tracing::warn!(
            "schema.registry.embedded=true is read by standalone workers only; beside a cluster, run `sluice schema-registry` with the same keys (without the schema.registry. prefix)"
        );
    }
    let listeners = crate::wiring::bind_rest(&config).await?;
    let id = crate::standalone::worker_id(&config);
    // The group client's own connections to Kafka (not librdkafka's).
    let group_security =
        crate::kafka::group_security::from_worker(&config.originals).map_err(anyhow::Error::msg)?;
    // Workers reach each other on the advertised listener: over https
    // when it is one, trusting the listener's truststore and offering its
    // keystore as the client certificate (`HttpClient::for_workers`).
    let scheme = if config.advertised_listener.as_ref().is_some_and(|l| l.tls) {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://{id}");
    let bootstrap = config.bootstrap_servers.clone();
    let group_config = GroupConfig {
        bootstrap: bootstrap.split(',').map(|s| s.trim().to_string()).collect(),
        tls: group_security.tls,
        sasl: group_security.sasl,
        group_id: dcfg.group_id.clone(),
        client_id: format!("sluice-{id}"),
        protocol_type: "connect".to_string(),
        session_timeout: dcfg.session_timeout,
        rebalance_timeout: dcfg.rebalance_timeout,
        request_timeout: Duration::from_secs(30),
    };
    let ensure = |key: &'static str, spec: &config::TopicSpec, exact: bool| {
        let (b, a, s) = (bootstrap.clone(), config.admin.clone(), spec.clone());
        let group_config = group_config.clone();
        async move {
            match topics::ensure_topic(&b, &a, key, &s, exact).await {
                Ok(t) => Ok(t),
                // librdkafka reports a broker that refuses the worker's
                // TLS or SASL as a timeout; the group client says why.
                Err(e) => Err(
                    match GroupClient::new(group_config).check_connection().await {
                        Ok(()) => anyhow::anyhow!(e),
                        Err(why) => anyhow::anyhow!("{e}; connecting to the brokers: {why}"),
                    },
                ),
            }
        }
    };
    // Credentials the brokers refuse will not get better: stop now, with
    // the broker's reason, rather than after librdkafka's timeouts.
    if group_config.sasl.is_some()
        && let Err(e @ sluice_group::GroupError::Kafka { code: 33 | 58, .. }) =
            GroupClient::new(group_config.clone())
                .check_connection()
                .await
    {
        anyhow::bail!("cannot authenticate to the Kafka brokers: {e}");
    }
    ensure(CONFIG_TOPIC, &dcfg.config_topic, true).await?;
    let offset_topic = ensure(OFFSET_TOPIC, &dcfg.offset_topic, false).await?;
    let status_partitions = ensure(STATUS_TOPIC, &dcfg.status_topic, false)
        .await?
        .partitions;

    // Offsets: the topic, materialized under the worker's state directory.
    let dir = config
        .state_dir
        .join(format!("{}@{}", dcfg.group_id, id.replace([':', '/'], "_")));
    let local = RocksOffsetStore::open(&dir)
        .with_context(|| format!("cannot open the local offset store at {}", dir.display()))?;
    // Transform state stays on this worker's disk (it does not follow a
    // task that moves to another worker).
    let transform_store = Arc::new(crate::state::RocksTransformStore::new(&local));
    let offsets = offset_topic::KafkaOffsetStore::start(
        local,
        &bootstrap,
        &[&config.admin],
        &dcfg.offset_topic.name,
        offset_topic,
    )
    .context("cannot read the offsets topic")?;

    // Status: everyone's states, read; ours, written.
    let cluster_status = Arc::new(ClusterStatus::default());
    let status_log = {
        let cs = cluster_status.clone();
        Arc::new(
            KafkaLog::start(
                &bootstrap,
                &[&config.admin],
                &dcfg.status_topic.name,
                status_partitions,
                &BTreeMap::new(),
                Box::new(move |rec| {
                    let Some(key) = rec.key.as_deref().and_then(|k| std::str::from_utf8(k).ok())
                    else {
                        return;
                    };
                    if let Err(e) = cs.apply(key, rec.value.as_deref()) {
                        tracing::warn!(error = %e, "skipping a status record");
                    }
                }),
            )
            .context("cannot read the status topic")?,
        )
    };

    // Config: the cluster's connectors, applied in order; changes go to
    // the herder.
    let config_state = Arc::new(Mutex::new(ConfigState::with_secrets(
        config.secrets.clone(),
    )));
    let (change_tx, mut change_rx) = mpsc::unbounded_channel();
    // Cluster log levels written before this worker read the topic to its
    // end are old: they are not applied (Kafka Connect's rule).
    let read_up = Arc::new(AtomicBool::new(false));
    let config_log = {
        let st = config_state.clone();
        let (read_up, levels) = (read_up.clone(), log_levels.clone());
        KafkaLog::start(
            &bootstrap,
            &[&config.admin],
            &dcfg.config_topic.name,
            1,
            &BTreeMap::new(),
            Box::new(move |rec| {
                let mut s = st.lock().unwrap_or_else(PoisonError::into_inner);
                s.offset = rec.offset + 1;
                let Some(key) = rec.key.as_deref().and_then(|k| std::str::from_utf8(k).ok()) else {
                    tracing::warn!(
                        offset = rec.offset,
                        "skipping a config record without a UTF-8 key"
                    );
                    return;
                };
                match s.apply(key, rec.value.as_deref()) {
                    Ok(Change::LoggerLevel { namespace, level }) => {
                        if !read_up.load(Ordering::Acquire) {
                            tracing::debug!(%namespace, %level, "ignoring a cluster log level set before this worker started");
                        } else if let Err(e) = levels.set(&namespace, &level) {
                            tracing::warn!(%namespace, %level, error = ?e, "cannot apply a cluster log level");
                        } else {
                            tracing::info!(%namespace, %level, "log level set for the cluster");
                        }
                    }
                    Ok(change) => {
                        let _ = change_tx.send(change);
                    }
                    Err(e) => {
                        tracing::error!(offset = rec.offset, error = %e, "skipping a config record")
                    }
                }
            }),
        )
        .context("cannot read the config topic")?
    };
    // A broker that is slow to answer right now is waited for (two
    // minutes), not a reason to exit.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match config_log.read_to_end(Duration::from_secs(60)).await {
            Ok(()) => break,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "cannot read the config topic to its end yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).context("cannot read the config topic to its end"),
        }
    }
    read_up.store(true, Ordering::Release);

    let admin = Arc::new(TopicAdmin::new(&bootstrap, &config.admin)?);
    let metrics = crate::metrics::Metrics::new(id.clone(), config.metrics_window);
    let status = Arc::new(StatusStore::new(id.clone()));
    crate::wiring::spawn_sampler(&metrics, &status);
    // Local state changes → the status topic, in order.
    let generation = Arc::new(AtomicI32::new(-1));
    let pending = Arc::new(AtomicUsize::new(0));
    {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let p = pending.clone();
        status.add_listener(Arc::new(move |u| {
            p.fetch_add(1, Ordering::AcqRel);
            let _ = tx.send(u);
        }));
        let (log, generation, p) = (status_log.clone(), generation.clone(), pending.clone());
        tokio::spawn(async move {
            while let Some(u) = rx.recv().await {
                let (k, v) = status_topic::update_record(&u, generation.load(Ordering::Acquire));
                if let Err(e) = log.send(k.as_bytes(), Some(&v)).await {
                    tracing::warn!(error = %e, "cannot write a status record");
                }
                p.fetch_sub(1, Ordering::AcqRel);
            }
        });
    }
    let worker = Arc::new(Worker {
        registry,
        offsets: offsets.clone() as Arc<dyn OffsetStore>,
        status,
        admin: admin.clone(),
        metrics,
        config: config.clone(),
        transform_store: Some(transform_store),
    });
    let (req_tx, mut req_rx) = mpsc::unbounded_channel();
    let http = crate::http_client::HttpClient::for_workers(&config).map_err(anyhow::Error::msg)?;
    let herder = Arc::new(DistributedHerder {
        worker,
        url: url.clone(),
        cfg: dcfg.clone(),
        config_state,
        config_log,
        status_log,
        cluster_status,
        offsets,
        generation,
        local: tokio::sync::Mutex::new(herder::Local::default()),
        group: watch::Sender::new(herder::GroupView::default()),
        assignor: Mutex::new(Assignor::new(dcfg.rebalance_delay)),
        last_configured: Mutex::new(None),
        publish_seq: Mutex::new(BTreeMap::new()),
        rejoin: Notify::new(),
        requests: req_tx,
        http: http.clone(),
        stopping: AtomicBool::new(false),
        ready: AtomicBool::new(false),
        audit: std::sync::OnceLock::new(),
        writes: tokio::sync::Mutex::new(()),
    });
    {
        let h = herder.clone();
        tokio::spawn(async move {
            while let Some(change) = change_rx.recv().await {
                h.on_change(change).await;
            }
        });
        let h = herder.clone();
        tokio::spawn(async move {
            while let Some((name, req)) = req_rx.recv().await {
                h.on_request(name, req).await;
            }
        });
        // The leader keeps a fresh session key in the config topic.
        let h = herder.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                h.ensure_session_key().await;
            }
        });
    }
    let audit = crate::rest::audit::AuditLog::start(&config, admin.clone(), &id)
        .map_err(anyhow::Error::msg)?;
    if let Some(a) = &audit {
        let _ = herder.audit.set(a.clone());
    }
    let state = Arc::new(RestState {
        herder: herder.clone(),
        http,
        kafka_cluster_id: OnceLock::new(),
        started: AtomicBool::new(false),
        log_levels,
        auth: config.rest_auth.clone(),
        authz: config.rest_authz.clone(),
        audit,
    });
    let stop_rest = crate::wiring::serve_rest(listeners, &state, &id);
    crate::wiring::learn_cluster_id(admin, &state);
    let group = GroupClient::new(group_config);
    let (stop_tx, stop_rx) = watch::channel(false);
    let member = tokio::spawn(herder.clone().run_member(group, stop_rx));
    {
        let (h, st) = (herder.clone(), state.clone());
        tokio::spawn(async move {
            while !h.is_ready() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            st.started.store(true, Ordering::Release);
            tracing::info!("Sluice distributed worker joined its group and started its work");
        });
    }
    tracing::info!(group = %dcfg.group_id, worker_id = %id, "Sluice distributed worker starting");
    crate::standalone::shutdown_signal().await;
    tracing::info!("stopping: tasks flush and commit, then the worker leaves the group");
    let _ = stop_tx.send(true);
    let _ = member.await;
    // Let the last status records reach the topic.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while pending.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_rest.send(true);
    tracing::info!("Sluice worker stopped");
    Ok(())
}
