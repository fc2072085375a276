//! Config providers: `${env:VAR}`, `${file:PATH:key}` (a properties file),
//! `${dir:DIR:file}` (a file's contents), declared like Kafka Connect:
//!
//! ```properties
//! config.providers=env,file,dir
//! config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//! config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//! config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
//! ```
//!
//! Placeholders are resolved only when a connector or task starts; configs
//! shown by the REST API keep the placeholders.
//!
//! Connector configs come over REST, so what a placeholder may read is the
//! operator's choice, with Kafka's parameters (KIP-993, KIP-887):
//!
//! ```properties
//! config.providers.file.param.allowed.paths=/etc/sluice/secrets,/run/secrets
//! config.providers.dir.param.allowed.paths=/run/secrets
//! config.providers.env.param.allowlist.pattern=^SLUICE_SECRET_.*$
//! ```
//!
//! Unlike Kafka, where an unset parameter allows everything, Sluice refuses
//! every file, directory or variable that is not allowed: a provider
//! without the parameter resolves nothing, and the error names the
//! parameter to set. Paths are compared after resolving `..` and symbolic
//! links, so neither escapes an allowed directory.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use sluice_connect_api::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Env,
    File,
    Dir,
}

/// One declared provider and what it may read.
#[derive(Debug, Clone)]
struct Provider {
    kind: Kind,
    /// `allowed.paths` (file, dir), as written and canonical; `None` when
    /// unset.
    allowed_paths: Option<Vec<(PathBuf, PathBuf)>>,
    /// `allowlist.pattern` (env), anchored; `None` when unset.
    allowlist: Option<Regex>,
    alias: String,
}

impl PartialEq for Provider {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.alias == other.alias
            && self.allowed_paths == other.allowed_paths
            && self.allowlist.as_ref().map(Regex::as_str)
                == other.allowlist.as_ref().map(Regex::as_str)
    }
}

impl Eq for Provider {}

pub const ALLOWED_PATHS: &str = "allowed.paths";
pub const ALLOWLIST_PATTERN: &str = "allowlist.pattern";

impl Kind {
    fn from_class(class: &str) -> Option<Self> {
        let simple = class.rsplit('.').next().unwrap_or(class);
        match simple {
            "EnvVarConfigProvider" => Some(Self::Env),
            "FileConfigProvider" => Some(Self::File),
            "DirectoryConfigProvider" => Some(Self::Dir),
            _ => None,
        }
    }
}

/// The providers a worker declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

fn pattern() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    // ${provider:[path:]key}, as Kafka's ConfigTransformer.
    P.get_or_init(|| {
        Regex::new(r"\$\{([^}:]*?):(?:([^}]*?):)?([^}]*?)\}").unwrap_or_else(|_| unreachable!())
    })
}

impl ConfigProviders {
    /// Reads `config.providers` and `config.providers.<alias>.class`.
    pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut providers = BTreeMap::new();
        let Some(list) = props.get("config.providers") else {
            return Ok(Self::default());
        };
        for alias in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let key = format!("config.providers.{alias}.class");
            let class = props.get(&key).ok_or_else(|| {
                format!("Missing required configuration \"{key}\" for config provider {alias}")
            })?;
            let kind = Kind::from_class(class.trim()).ok_or_else(|| {
                format!(
                    "Invalid value {class} for configuration {key}: supported providers are EnvVarConfigProvider, FileConfigProvider, DirectoryConfigProvider"
                )
            })?;
            let param = |name: &str| {
                props
                    .get(&format!("config.providers.{alias}.param.{name}"))
                    .map(|v| v.trim())
            };
            let mut provider = Provider {
                kind,
                allowed_paths: None,
                allowlist: None,
                alias: alias.to_string(),
            };
            match kind {
                Kind::File | Kind::Dir => {
                    if let Some(list) = param(ALLOWED_PATHS) {
                        provider.allowed_paths = Some(allowed_paths(alias, list)?);
                    }
                }
                Kind::Env => {
                    if let Some(p) = param(ALLOWLIST_PATTERN) {
                        let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                            format!(
                                "Invalid value {p} for configuration config.providers.{alias}.param.{ALLOWLIST_PATTERN}: {e}"
                            )
                        })?;
                        provider.allowlist = Some(re);
                    }
                }
            }
            let empty = provider.allowed_paths.as_ref().is_some_and(Vec::is_empty);
            if empty || (provider.allowed_paths.is_none() && provider.allowlist.is_none()) {
                tracing::warn!(
                    provider = alias,
                    "config provider {alias} has no or an empty {} parameter: it will refuse every placeholder",
                    provider.param_name()
                );
            }
            providers.insert(alias.to_string(), provider);
        }
        Ok(Self { providers })
    }

    /// Replaces every placeholder of a declared provider. Placeholders of
    /// unknown providers stay as they are (as in Kafka Connect).
    pub fn resolve(&self, config: &Config) -> Result<Config, String> {
        if self.providers.is_empty() {
            return Ok(config.clone());
        }
        let mut out = Config::new();
        for (k, v) in config {
            let mut err = None;
            let resolved = pattern().replace_all(v, |c: &regex::Captures<'_>| {
                let whole = c.get(0).map_or("", |m| m.as_str()).to_string();
                let provider = c.get(1).map_or("", |m| m.as_str());
                let path = c.get(2).map(|m| m.as_str());
                let key = c.get(3).map_or("", |m| m.as_str());
                match self.providers.get(provider) {
                    None => whole,
                    Some(p) => match p.lookup(path, key) {
                        Ok(v) => v,
                        Err(e) => {
                            err.get_or_insert(format!(
                                "cannot resolve {whole} in configuration {k}: {e}"
                            ));
                            whole
                        }
                    },
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            out.insert(k.clone(), resolved.into_owned());
        }
        Ok(out)
    }

    /// Puts placeholders back into a config derived from a resolved one
    /// (task configs), so secrets are not shown by the REST API. Matching is
    /// by value, so a secret a connector copied under another key is hidden
    /// too.
    pub fn reverse(&self, raw: &Config, resolved: &Config, derived: Config) -> Config {
        let secrets: BTreeMap<&str, &str> = raw
            .iter()
            .filter_map(|(k, r)| {
                let res = resolved.get(k)?;
                (res != r && !res.is_empty()).then_some((res.as_str(), r.as_str()))
            })
            .collect();
        derived
            .into_iter()
            .map(|(k, v)| match secrets.get(v.as_str()) {
                Some(placeholder) => (k, (*placeholder).to_string()),
                None => (k, v),
            })
            .collect()
    }
}

/// `allowed.paths`: absolute paths without `..`, each as written and made
/// canonical (a path that does not exist yet is kept as written).
fn allowed_paths(alias: &str, list: &str) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let key = format!("config.providers.{alias}.param.{ALLOWED_PATHS}");
    let mut out = Vec::new();
    for raw in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let p = Path::new(raw);
        if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
            return Err(format!(
                "Invalid value {list} for configuration {key}: {raw} is not an absolute path without '..'"
            ));
        }
        out.push((
            p.to_path_buf(),
            std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()),
        ));
    }
    Ok(out)
}

impl Provider {
    fn param_name(&self) -> &'static str {
        match self.kind {
            Kind::Env => ALLOWLIST_PATTERN,
            Kind::File | Kind::Dir => ALLOWED_PATHS,
        }
    }

    fn not_allowed(&self, what: &str) -> String {
        let param = format!(
            "config.providers.{}.param.{}",
            self.alias,
            self.param_name()
        );
        // The allowed values are not shown: a connector config comes over
        // REST, and its failure trace goes back there.
        let set = match self.kind {
            Kind::Env => self.allowlist.is_some(),
            Kind::File | Kind::Dir => self.allowed_paths.is_some(),
        };
        if set {
            format!("{what} is not allowed by the worker's {param}")
        } else {
            format!(
                "{what} is not allowed: the worker sets no {param}, so the {} provider reads nothing",
                self.alias
            )
        }
    }

    /// The canonical form of `path` when it lies under an allowed path.
    fn check_path(&self, path: &Path) -> Result<PathBuf, String> {
        let what = path.display().to_string();
        let allowed = self
            .allowed_paths
            .as_ref()
            .ok_or_else(|| self.not_allowed(&what))?;
        if !path.is_absolute() {
            return Err(format!("{what} is not an absolute path"));
        }
        // First by name alone, so a path outside the allowed ones tells
        // nothing about the file system (exists, readable) in the error.
        let lexical = !path.components().any(|c| c == Component::ParentDir)
            && allowed
                .iter()
                .any(|(raw, real)| path.starts_with(raw) || path.starts_with(real));
        if !lexical {
            return Err(self.not_allowed(&what));
        }
        // Then where it really leads (symbolic links).
        let real = std::fs::canonicalize(path).map_err(|e| format!("cannot read {what}: {e}"))?;
        if allowed.iter().any(|(_, a)| real.starts_with(a)) {
            Ok(real)
        } else {
            Err(self.not_allowed(&what))
        }
    }

    fn lookup(&self, path: Option<&str>, key: &str) -> Result<String, String> {
        match self.kind {
            Kind::Env => {
                if !self.allowlist.as_ref().is_some_and(|r| r.is_match(key)) {
                    return Err(self.not_allowed(&format!("environment variable {key}")));
                }
                std::env::var(key).map_err(|_| format!("environment variable {key} is not set"))
            }
            Kind::File => {
                let path = path.ok_or("a file placeholder needs ${file:PATH:key}")?;
                let real = self.check_path(Path::new(path))?;
                let text = std::fs::read_to_string(&real)
                    .map_err(|e| format!("cannot read {path}: {e}"))?;
                let props = super::properties::parse(&text).map_err(|e| format!("{path}: {e}"))?;
                props
                    .get(key)
                    .cloned()
                    .ok_or_else(|| format!("{path} has no key {key}"))
            }
            Kind::Dir => {
                let dir = path.ok_or("a dir placeholder needs ${dir:DIR:file}")?;
                if key.contains('/') || key == ".." || key == "." || key.is_empty() {
                    return Err(format!("{key} is not a file name in {dir}"));
                }
                let real = self.check_path(&Path::new(dir).join(key))?;
                std::fs::read_to_string(&real)
                    .map_err(|e| format!("cannot read {}: {e}", real.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props;

    #[test]
    fn resolves_env_file_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("secrets.properties"),
            "db.password=s3cret\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("token"), "abc").unwrap();
        let p = ConfigProviders::from_worker(&props(&[
            ("config.providers", "env,file,dir"),
            (
                "config.providers.env.class",
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            ),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
            ("config.providers.dir.class", "DirectoryConfigProvider"),
            (
                "config.providers.env.param.allowlist.pattern",
                "HOME|SLUICE_.*",
            ),
            (
                "config.providers.file.param.allowed.paths",
                &dir.path().display().to_string(),
            ),
            (
                "config.providers.dir.param.allowed.paths",
                &format!("/nonexistent-dir,{}", dir.path().display()),
            ),
        ]))
        .unwrap();
        let file = dir.path().join("secrets.properties");
        let raw = props(&[
            ("home", "${env:HOME}"),
            ("pw", &format!("${{file:{}:db.password}}", file.display())),
            ("tok", &format!("x-${{dir:{}:token}}", dir.path().display())),
            ("other", "${vault:a:b}"),
        ]);
        let r = p.resolve(&raw).unwrap();
        assert_eq!(r["home"], std::env::var("HOME").unwrap());
        assert_eq!(r["pw"], "s3cret");
        assert_eq!(r["tok"], "x-abc");
        assert_eq!(r["other"], "${vault:a:b}");
        let back = p.reverse(&raw, &r, r.clone());
        assert_eq!(back, raw);
        // A secret copied under another key is hidden as well.
        let mut derived = r.clone();
        derived.insert("copied".into(), "s3cret".into());
        assert_eq!(p.reverse(&raw, &r, derived)["copied"], raw["pw"]);
        let bad = props(&[("pw", &format!("${{file:{}:nope}}", file.display()))]);
        let e = p.resolve(&bad).unwrap_err();
        assert!(
            e.contains("configuration pw") && e.contains("no key nope"),
            "{e}"
        );
        assert!(ConfigProviders::from_worker(&props(&[("config.providers", "x")])).is_err());
    }

    fn all_three(extra: &[(&str, &str)]) -> ConfigProviders {
        let mut p = props(&[
            ("config.providers", "env,file,dir"),
            ("config.providers.env.class", "EnvVarConfigProvider"),
            ("config.providers.file.class", "FileConfigProvider"),
            ("config.providers.dir.class", "DirectoryConfigProvider"),
        ]);
        p.extend(props(extra));
        ConfigProviders::from_worker(&p).unwrap()
    }

    fn refused(p: &ConfigProviders, value: &str) -> String {
        p.resolve(&props(&[("k", value)])).unwrap_err()
    }

    #[test]
    fn nothing_is_read_that_the_worker_does_not_allow() {
        let root = tempfile::tempdir().unwrap();
        let allowed = root.path().join("allowed");
        let outside = root.path().join("outside");
        std::fs::create_dir_all(&allowed).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(allowed.join("ok.properties"), "k=v\n").unwrap();
        std::fs::write(outside.join("secret.properties"), "k=stolen\n").unwrap();
        std::fs::write(outside.join("token"), "stolen").unwrap();
        std::os::unix::fs::symlink(outside.join("secret.properties"), allowed.join("link"))
            .unwrap();

        // No parameters: every placeholder refused, naming the parameter.
        let none = all_three(&[]);
        let e = refused(&none, "${env:HOME}");
        assert!(
            e.contains("config.providers.env.param.allowlist.pattern"),
            "{e}"
        );
        let e = refused(
            &none,
            &format!("${{file:{}/ok.properties:k}}", allowed.display()),
        );
        assert!(
            e.contains("config.providers.file.param.allowed.paths"),
            "{e}"
        );
        let e = refused(&none, &format!("${{dir:{}:token}}", outside.display()));
        assert!(
            e.contains("config.providers.dir.param.allowed.paths"),
            "{e}"
        );

        let dir = allowed.display().to_string();
        let p = all_three(&[
            (
                "config.providers.env.param.allowlist.pattern",
                "SLUICE_TEST_.*",
            ),
            ("config.providers.file.param.allowed.paths", &dir),
            ("config.providers.dir.param.allowed.paths", &dir),
        ]);
        let ok = format!("${{file:{dir}/ok.properties:k}}");
        assert_eq!(p.resolve(&props(&[("k", &ok)])).unwrap()["k"], "v");
        // Outside, through `..`, through a symbolic link: refused.
        for bad in [
            format!("${{file:{}/secret.properties:k}}", outside.display()),
            format!("${{file:{dir}/../outside/secret.properties:k}}"),
            format!("${{file:{dir}/link:k}}"),
            format!("${{dir:{}:token}}", outside.display()),
            format!("${{dir:{dir}/..:outside}}"),
        ] {
            let e = refused(&p, &bad);
            assert!(
                e.contains("not allowed") || e.contains("not a file name"),
                "{bad}: {e}"
            );
            assert!(!e.contains("stolen"), "{e}");
        }
        // Outside the allowed paths, whether a file exists is not told.
        for probe in ["/nonexistent-sluice-probe/a", "/root/.bashrc"] {
            let e = refused(&p, &format!("${{file:{probe}:k}}"));
            assert!(e.contains("not allowed"), "{e}");
            assert!(!e.contains("No such file") && !e.contains("denied"), "{e}");
            assert!(!e.contains(&dir), "the allowed path is shown: {e}");
        }
        // Only variables matching the whole pattern.
        let e = refused(&p, "${env:HOME}");
        assert!(
            e.contains("environment variable HOME is not allowed"),
            "{e}"
        );
        let e = refused(&p, "${env:XSLUICE_TEST_A}");
        assert!(e.contains("not allowed"), "{e}");
        // Relative allowed paths and bad patterns are worker config errors.
        let mut bad = props(&[
            ("config.providers", "file"),
            ("config.providers.file.class", "FileConfigProvider"),
            ("config.providers.file.param.allowed.paths", "secrets"),
        ]);
        assert!(
            ConfigProviders::from_worker(&bad)
                .unwrap_err()
                .contains("absolute")
        );
        bad.insert(
            "config.providers.file.param.allowed.paths".into(),
            "/a/../etc".into(),
        );
        assert!(ConfigProviders::from_worker(&bad).is_err());
        let bad = props(&[
            ("config.providers", "env"),
            ("config.providers.env.class", "EnvVarConfigProvider"),
            ("config.providers.env.param.allowlist.pattern", "("),
        ]);
        assert!(
            ConfigProviders::from_worker(&bad)
                .unwrap_err()
                .contains("allowlist.pattern")
        );
    }
}
