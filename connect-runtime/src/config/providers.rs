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

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use sluice_connect_api::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Env,
    File,
    Dir,
}

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
    providers: BTreeMap<String, Kind>,
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
            providers.insert(alias.to_string(), kind);
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
                    Some(kind) => match lookup(*kind, path, key) {
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

fn lookup(kind: Kind, path: Option<&str>, key: &str) -> Result<String, String> {
    match kind {
        Kind::Env => {
            std::env::var(key).map_err(|_| format!("environment variable {key} is not set"))
        }
        Kind::File => {
            let path = path.ok_or("a file placeholder needs ${file:PATH:key}")?;
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            let props = super::properties::parse(&text).map_err(|e| format!("{path}: {e}"))?;
            props
                .get(key)
                .cloned()
                .ok_or_else(|| format!("{path} has no key {key}"))
        }
        Kind::Dir => {
            let dir = path.ok_or("a dir placeholder needs ${dir:DIR:file}")?;
            if key.contains('/') || key == ".." {
                return Err(format!("{key} is not a file name in {dir}"));
            }
            let p = Path::new(dir).join(key);
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

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
}
