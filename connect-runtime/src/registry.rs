//! The schema registry as the worker runs it, embedded
//! (`schema.registry.embedded=true`) or on its own
//! (`sluice schema-registry REGISTRY.properties`): Confluent's keys, with
//! the parts the registry crate leaves to its host filled in here:
//!
//! - `authentication.method=BASIC`: the users of the JAAS section
//!   `authentication.realm`, from the file its `PropertyFileLoginModule`
//!   names (Jetty's `user: password,role,...` lines; Argon2 hashes or
//!   plain passwords). The JAAS file is named by
//!   `-Djava.security.auth.login.config=PATH` in `SCHEMA_REGISTRY_OPTS`
//!   (as Confluent's images pass it) or the key
//!   `java.security.auth.login.config`.
//! - The store's Kafka client keys (`kafkastore.security.protocol`,
//!   `kafkastore.ssl.*`, `kafkastore.sasl.*`), turned into librdkafka's
//!   as the worker's own are.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use sluice_schema_registry::RegistryConfig;
use sluice_schema_registry::auth::Guard;

use crate::config::properties;
use crate::rest::passwords::{
    JAAS_CONFIG, Passwords, jaas_path_from_opts, login_file, read_credentials,
};

/// The JVM options variable of Confluent's registry scripts and images.
pub const REGISTRY_OPTS: &str = "SCHEMA_REGISTRY_OPTS";

/// Users of a Jetty `PropertyFileLoginModule` file and their roles.
#[derive(Debug)]
struct JettyUsers {
    passwords: Passwords,
    roles: BTreeMap<String, Vec<String>>,
}

impl Guard for JettyUsers {
    fn roles(&self, authorization: &str) -> Option<Vec<String>> {
        let user = self.passwords.check_basic(authorization)?;
        Some(self.roles.get(&user).cloned().unwrap_or_default())
    }
}

/// Reads `user: password[,role ...]` lines.
fn jetty_users(path: &str, named_by: &str) -> Result<JettyUsers, String> {
    let mut passwords = BTreeMap::new();
    let mut roles = BTreeMap::new();
    for (user, value) in read_credentials(path, named_by)? {
        // An Argon2 hash has commas of its own (`m=19456,t=2,p=1`): the
        // roles start after its fifth `$`, before the hash itself.
        let from = if value.starts_with("$argon2") {
            value.match_indices('$').nth(4).map_or(0, |(i, _)| i)
        } else {
            0
        };
        let (password, rest) = match value[from..].find(',') {
            Some(i) => (&value[..from + i], &value[from + i + 1..]),
            None => (value.as_str(), ""),
        };
        roles.insert(
            user.clone(),
            rest.split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect(),
        );
        passwords.insert(user, password.trim().to_string());
    }
    Ok(JettyUsers {
        passwords: Passwords::new(passwords, path, true)?,
        roles,
    })
}

/// Fills in what the registry crate leaves to its host: the password
/// check when `authentication.method=BASIC`, with the JAAS file from
/// `props` (the registry's keys), else `jaas_fallback`; and the store's
/// client settings in librdkafka's names, over `base` (the worker's
/// client security, for an embedded registry).
pub fn prepare(
    config: &mut RegistryConfig,
    props: &BTreeMap<String, String>,
    jaas_fallback: Option<&str>,
    base: &BTreeMap<String, String>,
) -> Result<(), String> {
    if let Some(settings) = &config.basic_auth {
        let jaas = props
            .get(JAAS_CONFIG)
            .map(String::as_str)
            .or(jaas_fallback)
            .ok_or_else(|| {
                format!(
                    "authentication.method=BASIC needs a JAAS file: -D{JAAS_CONFIG}=PATH in {REGISTRY_OPTS}, or {JAAS_CONFIG}=PATH in the registry's config"
                )
            })?;
        let file = login_file(jaas, &settings.realm, "PropertyFileLoginModule")?;
        let guard: Arc<dyn Guard> = Arc::new(jetty_users(&file, jaas)?);
        config.guard = Some(guard);
    }
    config.store.client = crate::kafka::librdkafka_settings(&[base, &config.store.java_client]);
    Ok(())
}

/// Reads a `schema-registry.properties` file (Confluent's keys).
pub fn load(path: &Path) -> Result<RegistryConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let props =
        properties::parse(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    let mut config = RegistryConfig::from_props(&props)
        .with_context(|| format!("invalid config in {}", path.display()))?;
    let jaas = std::env::var(REGISTRY_OPTS)
        .ok()
        .and_then(|o| jaas_path_from_opts(&o));
    prepare(&mut config, &props, jaas.as_deref(), &BTreeMap::new())
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("invalid config in {}", path.display()))?;
    Ok(config)
}

/// Serves until SIGINT or SIGTERM.
pub async fn run(config: RegistryConfig) -> Result<()> {
    let running = sluice_schema_registry::server::start(&config)
        .await
        .context("cannot start the schema registry")?;
    tracing::info!(addresses = ?running.addresses, topic = %config.store.topic, "schema registry started");
    crate::standalone::shutdown_signal().await;
    running.shutdown().await;
    tracing::info!("schema registry stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;
    use crate::test_util::props;

    #[test]
    fn confluent_basic_auth_setup() {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("passwords");
        let hash = crate::rest::auth::hash_password("dev-pw").unwrap();
        std::fs::write(
            &users,
            format!("admin: admin-pw,admin\ndev: {hash},developer,re$ader\nnobody: x\n"),
        )
        .unwrap();
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            format!(
                "SchemaRegistry-Props {{\n  org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required\n  file=\"{}\"\n  debug=\"false\";\n}};\n",
                users.display()
            ),
        )
        .unwrap();
        let p = props(&[
            ("kafkastore.bootstrap.servers", "127.0.0.1:1"),
            ("authentication.method", "BASIC"),
            ("authentication.realm", "SchemaRegistry-Props"),
            ("authentication.roles", "admin,developer"),
            ("kafkastore.security.protocol", "SSL"),
            ("kafkastore.ssl.endpoint.identification.algorithm", ""),
            ("kafkastore.topic.skip.validation", "true"),
        ]);
        let mut config = RegistryConfig::from_props(&p).unwrap();
        let e = prepare(&mut config, &p, None, &BTreeMap::new()).unwrap_err();
        assert!(e.contains(REGISTRY_OPTS), "{e}");
        let opts = format!("-Xmx512M -D{JAAS_CONFIG}={}", jaas.display());
        let path = jaas_path_from_opts(&opts);
        prepare(&mut config, &p, path.as_deref(), &BTreeMap::new()).unwrap();
        let guard = config.guard.clone().unwrap();
        let basic = |u: &str, pw: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{pw}"))
            )
        };
        assert_eq!(
            guard.roles(&basic("admin", "admin-pw")),
            Some(vec!["admin".to_string()])
        );
        assert_eq!(
            guard.roles(&basic("dev", "dev-pw")),
            Some(vec!["developer".to_string(), "re$ader".to_string()])
        );
        assert_eq!(guard.roles(&basic("nobody", "x")), Some(vec![]));
        assert_eq!(guard.roles(&basic("admin", "dev-pw")), None);
        // The store's keys are librdkafka's now.
        assert!(
            config.store.client.contains(&(
                "ssl.endpoint.identification.algorithm".into(),
                "none".into()
            )),
            "{:?}",
            config.store
        );
        // Registry keys are not client settings; values are not printed.
        assert!(
            !config
                .store
                .client
                .iter()
                .any(|(k, _)| k.contains("skip.validation"))
        );
    }
}
