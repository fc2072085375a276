//! A connector's transform chain, built from Kafka Connect's keys:
//! `transforms=a,b`, `transforms.a.type=<class>`, `transforms.a.<key>=..`,
//! `transforms.a.predicate=p`, `transforms.a.negate=true`, `predicates=p`,
//! `predicates.p.type=<class>`, `predicates.p.<key>=..`.

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, ConfigType, Importance,
};
use sluice_connect_api::schema::DataError;
use sluice_connect_api::{Config, ConnectRecord, Predicate, Registry, Transformation};

pub const TRANSFORMS: &str = "transforms";
pub const PREDICATES: &str = "predicates";

struct Stage {
    alias: String,
    class_name: &'static str,
    transform: Box<dyn Transformation>,
    predicate: Option<Box<dyn Predicate>>,
    negate: bool,
}

/// The transforms of one task, applied in order.
#[derive(Default)]
pub struct TransformChain {
    stages: Vec<Stage>,
    /// The stages that applied to the last record.
    last: Vec<usize>,
}

/// Each stage's [`Transformation::mark`] after a batch, in stage order.
pub type Marks = Vec<u64>;

impl std::fmt::Debug for TransformChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.stages.iter().map(|s| (&s.alias, s.class_name)))
            .finish()
    }
}

/// A transform that failed on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformFailure {
    pub alias: String,
    pub class_name: &'static str,
    pub error: DataError,
}

fn aliases(config: &Config, key: &str) -> Vec<String> {
    config
        .get(key)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn prefixed(config: &Config, prefix: &str) -> Config {
    config
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
        .collect()
}

/// A transform's or predicate's own config errors, renamed to the
/// connector's keys (`spec` → `transforms.a.spec`).
fn prefix_issues(e: ConfigErrors, prefix: &str, issues: &mut Vec<ConfigIssue>) {
    for i in e.issues {
        let key = format!("{prefix}{}", i.key);
        let message = i
            .message
            .replace(
                &format!("configuration \"{}\"", i.key),
                &format!("configuration \"{key}\""),
            )
            .replace(
                &format!("configuration {} ", i.key),
                &format!("configuration {key} "),
            )
            .replace(
                &format!("configuration {}:", i.key),
                &format!("configuration {key}:"),
            );
        issues.push(ConfigIssue { key, message });
    }
}

fn duplicates(list: &[String]) -> bool {
    list.iter()
        .enumerate()
        .any(|(i, a)| list[..i].iter().any(|b| b == a))
}

impl TransformChain {
    /// Builds (and so validates) the chain; every bad key is reported.
    pub fn build(registry: &Registry, config: &Config) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let transform_aliases = aliases(config, TRANSFORMS);
        let predicate_aliases = aliases(config, PREDICATES);
        for (key, list) in [
            (TRANSFORMS, &transform_aliases),
            (PREDICATES, &predicate_aliases),
        ] {
            if duplicates(list) {
                issues.push(ConfigIssue {
                    key: key.to_string(),
                    message: format!(
                        "Invalid value {} for configuration {key}: Duplicate alias provided.",
                        config.get(key).map(String::as_str).unwrap_or_default()
                    ),
                });
            }
        }
        // Check every predicate once, even if no transform uses it.
        for p in &predicate_aliases {
            let _ = new_predicate(registry, config, p, &mut issues);
        }
        let mut stages = Vec::with_capacity(transform_aliases.len());
        for alias in &transform_aliases {
            let prefix = format!("{TRANSFORMS}.{alias}.");
            let type_key = format!("{prefix}type");
            let Some(class) = config
                .get(&type_key)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
            else {
                issues.push(ConfigIssue {
                    message: format!(
                        "Missing required configuration \"{type_key}\" which has no default value."
                    ),
                    key: type_key,
                });
                continue;
            };
            let Some(plugin) = registry.transform(class) else {
                issues.push(ConfigIssue {
                    message: format!(
                        "Invalid value {class} for configuration {type_key}: Class {class} could not be found."
                    ),
                    key: type_key,
                });
                continue;
            };
            let own = prefixed(config, &prefix);
            let mut transform = (plugin.new)();
            if let Err(e) = transform.configure(&own) {
                prefix_issues(e, &prefix, &mut issues);
            }
            let negate_key = format!("{prefix}negate");
            let negate = match own.get("negate").map(|s| s.trim()) {
                None | Some("") => false,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(v) => {
                    issues.push(ConfigIssue {
                        message: format!("Invalid value {v} for configuration {negate_key}: Expected value to be either true or false"),
                        key: negate_key,
                    });
                    false
                }
            };
            let predicate_key = format!("{prefix}predicate");
            let predicate = match own
                .get("predicate")
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
            {
                None => None,
                Some(p) if !predicate_aliases.iter().any(|a| a == p) => {
                    issues.push(ConfigIssue {
                        message: format!(
                            "Invalid value {p} for configuration {predicate_key}: The predicate alias must be listed in '{PREDICATES}'"
                        ),
                        key: predicate_key,
                    });
                    None
                }
                // Problems of the predicate itself were reported above.
                Some(p) => new_predicate(registry, config, p, &mut Vec::new()),
            };
            stages.push(Stage {
                alias: alias.clone(),
                class_name: plugin.class_name,
                transform,
                predicate,
                negate,
            });
        }
        if issues.is_empty() {
            Ok(Self {
                stages,
                last: Vec::new(),
            })
        } else {
            Err(ConfigErrors { issues })
        }
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Applies every transform whose predicate (if any) matches, in order.
    /// `Ok(false)`: a transform dropped the record.
    pub fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, TransformFailure> {
        self.last.clear();
        for (i, s) in self.stages.iter_mut().enumerate() {
            if let Some(p) = &s.predicate
                && p.test(record) == s.negate
            {
                continue;
            }
            self.last.push(i);
            match s.transform.apply(record) {
                Ok(true) => {}
                Ok(false) => {
                    // The record goes nowhere: what earlier stages learned
                    // from it must not outlive it.
                    self.forget_last();
                    return Ok(false);
                }
                Err(error) => {
                    return Err(TransformFailure {
                        alias: s.alias.clone(),
                        class_name: s.class_name,
                        error,
                    });
                }
            }
        }
        Ok(true)
    }

    /// Opens every stage with `ctx` (its alias filled in per stage); the
    /// first refusal, named by its alias.
    pub fn open(&mut self, ctx: &sluice_connect_api::TransformContext) -> Result<(), String> {
        for s in &mut self.stages {
            let mut c = ctx.clone();
            c.alias.clone_from(&s.alias);
            s.transform
                .open(&c)
                .map_err(|e| format!("transforms.{} ({}): {e}", s.alias, s.class_name))?;
        }
        Ok(())
    }

    /// Every stage's mark, to settle once the records applied so far are
    /// durable downstream.
    pub fn mark(&mut self) -> Marks {
        self.stages.iter_mut().map(|s| s.transform.mark()).collect()
    }

    /// The records covered by `marks` are durable downstream.
    pub fn settle(&mut self, marks: &[u64]) {
        for (s, m) in self.stages.iter_mut().zip(marks) {
            s.transform.settle(*m);
        }
    }

    /// The last record applied will not be sent.
    pub fn forget_last(&mut self) {
        for i in self.last.drain(..) {
            if let Some(s) = self.stages.get_mut(i) {
                s.transform.forget_last();
            }
        }
    }
}

/// The keys each configured alias adds (`transforms.a.type`,
/// `transforms.a.predicate`, `transforms.a.negate`, the transform's own keys
/// prefixed; `predicates.p.type` and the predicate's keys), for
/// `/config/validate`, like Kafka Connect's `ConnectorConfig.enrich`.
pub fn enriched_def(registry: &Registry, config: &Config) -> ConfigDef {
    let mut def = ConfigDef::new();
    let prefixed_keys = |def: ConfigDef, own: ConfigDef, prefix: &str, group: &str| {
        own.keys().iter().fold(def, |d, k| {
            let mut k = k.clone();
            k.name = format!("{prefix}{}", k.name);
            k.display_name = k.name.clone();
            k.group = Some(group.to_string());
            d.key(k)
        })
    };
    for alias in aliases(config, TRANSFORMS) {
        let prefix = format!("{TRANSFORMS}.{alias}.");
        let group = format!("Transforms: {alias}");
        def = def
            .key(
                ConfigKey::new(format!("{prefix}type"), ConfigType::Class)
                    .importance(Importance::High)
                    .doc("Class for the 'alias' transformation.")
                    .group(&group, 0),
            )
            .key(
                ConfigKey::new(format!("{prefix}predicate"), ConfigType::String)
                    .default_value("")
                    .importance(Importance::Medium)
                    .doc("The alias of a predicate used to determine whether to apply this transformation.")
                    .group(&group, 1),
            )
            .key(
                ConfigKey::new(format!("{prefix}negate"), ConfigType::Boolean)
                    .default_value("false")
                    .importance(Importance::Medium)
                    .doc("Whether the configured predicate should be negated.")
                    .group(&group, 2),
            );
        if let Some(t) = config
            .get(&format!("{prefix}type"))
            .and_then(|c| registry.transform(c))
        {
            def = prefixed_keys(def, (t.new)().config_def(), &prefix, &group);
        }
    }
    for alias in aliases(config, PREDICATES) {
        let prefix = format!("{PREDICATES}.{alias}.");
        let group = format!("Predicates: {alias}");
        def = def.key(
            ConfigKey::new(format!("{prefix}type"), ConfigType::Class)
                .importance(Importance::High)
                .doc("Class for the 'alias' predicate.")
                .group(&group, 0),
        );
        if let Some(p) = config
            .get(&format!("{prefix}type"))
            .and_then(|c| registry.predicate(c))
        {
            def = prefixed_keys(def, (p.new)().config_def(), &prefix, &group);
        }
    }
    def
}

fn new_predicate(
    registry: &Registry,
    config: &Config,
    alias: &str,
    issues: &mut Vec<ConfigIssue>,
) -> Option<Box<dyn Predicate>> {
    let prefix = format!("{PREDICATES}.{alias}.");
    let type_key = format!("{prefix}type");
    let Some(class) = config
        .get(&type_key)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    else {
        issues.push(ConfigIssue {
            message: format!(
                "Missing required configuration \"{type_key}\" which has no default value."
            ),
            key: type_key,
        });
        return None;
    };
    let Some(plugin) = registry.predicate(class) else {
        issues.push(ConfigIssue {
            message: format!(
                "Invalid value {class} for configuration {type_key}: Class {class} could not be found."
            ),
            key: type_key,
        });
        return None;
    };
    let mut predicate = (plugin.new)();
    match predicate.configure(&prefixed(config, &prefix)) {
        Ok(()) => Some(predicate),
        Err(e) => {
            prefix_issues(e, &prefix, issues);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props as cfg;
    use sluice_connect_api::config::ConfigType;
    use sluice_connect_api::schema::Value;
    use sluice_connect_api::{PredicatePlugin, SourceRecord, TransformPlugin};

    /// Appends `suffix` to a string value; fails on non-strings.
    #[derive(Default)]
    struct Append(String);

    impl Transformation for Append {
        fn config_def(&self) -> ConfigDef {
            ConfigDef::new().key(ConfigKey::new("suffix", ConfigType::String))
        }
        fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
            self.0 = self.config_def().parse(config)?.string("suffix")?;
            Ok(())
        }
        fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
            let (_, v) = record.value_mut();
            match v {
                Value::String(s) => {
                    s.push_str(&self.0);
                    Ok(true)
                }
                _ => Err(DataError::new("not a string")),
            }
        }
    }

    struct Drop;

    impl Transformation for Drop {
        fn config_def(&self) -> ConfigDef {
            ConfigDef::new()
        }
        fn configure(&mut self, _: &Config) -> Result<(), ConfigErrors> {
            Ok(())
        }
        fn apply(&mut self, _: &mut dyn ConnectRecord) -> Result<bool, DataError> {
            Ok(false)
        }
    }

    #[derive(Default)]
    struct TopicIs(String);

    impl Predicate for TopicIs {
        fn config_def(&self) -> ConfigDef {
            ConfigDef::new().key(ConfigKey::new("topic", ConfigType::String))
        }
        fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
            self.0 = self.config_def().parse(config)?.string("topic")?;
            Ok(())
        }
        fn test(&self, record: &dyn ConnectRecord) -> bool {
            record.topic() == self.0
        }
    }

    fn registry() -> Registry {
        let mut r = Registry::new();
        r.register_transform(TransformPlugin {
            class_name: "com.example.Append",
            aliases: &[],
            version: "1",
            new: || Box::new(Append::default()),
        });
        r.register_transform(TransformPlugin {
            class_name: "com.example.Drop",
            aliases: &[],
            version: "1",
            new: || Box::new(Drop),
        });
        r.register_predicate(PredicatePlugin {
            class_name: "com.example.TopicIs",
            aliases: &[],
            version: "1",
            new: || Box::new(TopicIs::default()),
        });
        r
    }

    fn record(topic: &str, value: &str) -> SourceRecord {
        SourceRecord::new(
            Default::default(),
            Default::default(),
            topic,
            None,
            value.into(),
        )
    }

    #[test]
    fn chain_applies_in_order_with_predicates_and_negate() {
        let mut chain = TransformChain::build(
            &registry(),
            &cfg(&[
                ("transforms", "a, b ,drop"),
                ("transforms.a.type", "com.example.Append"),
                ("transforms.a.suffix", "-a"),
                ("transforms.b.type", "Append"),
                ("transforms.b.suffix", "-b"),
                ("transforms.b.predicate", "isT"),
                ("transforms.drop.type", "com.example.Drop"),
                ("transforms.drop.predicate", "isT"),
                ("transforms.drop.negate", "true"),
                ("predicates", "isT"),
                ("predicates.isT.type", "com.example.TopicIs"),
                ("predicates.isT.topic", "t"),
            ]),
        )
        .unwrap();
        let mut r = record("t", "x");
        assert_eq!(chain.apply(&mut r), Ok(true));
        assert_eq!(r.value, Value::String("x-a-b".into()));
        let mut r = record("u", "x");
        assert_eq!(chain.apply(&mut r), Ok(false), "negated predicate drops u");
        assert_eq!(r.value, Value::String("x-a".into()));
        let mut r = SourceRecord::new(
            Default::default(),
            Default::default(),
            "t",
            None,
            Value::Int32(1),
        );
        let e = chain.apply(&mut r).unwrap_err();
        assert_eq!(
            (e.alias.as_str(), e.class_name),
            ("a", "com.example.Append")
        );
    }

    #[test]
    fn every_bad_key_is_named_with_its_prefix() {
        let e = TransformChain::build(
            &registry(),
            &cfg(&[
                ("transforms", "a,b,c,a"),
                ("transforms.a.type", "com.example.Append"),
                ("transforms.b.type", "com.example.Nope"),
                ("transforms.c.type", "com.example.Drop"),
                ("transforms.c.predicate", "p"),
                ("transforms.c.negate", "maybe"),
                ("predicates", "q"),
                ("predicates.q.type", "com.example.TopicIs"),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            e.keys(),
            vec![
                "transforms",
                "predicates.q.topic",
                "transforms.a.suffix",
                "transforms.b.type",
                "transforms.c.negate",
                "transforms.c.predicate",
                "transforms.a.suffix",
            ]
        );
        let text = e.to_string();
        assert!(
            text.contains("Missing required configuration \"transforms.a.suffix\""),
            "{text}"
        );
        assert!(text.contains("Duplicate alias"), "{text}");
        let e = TransformChain::build(&registry(), &cfg(&[("transforms", "x")])).unwrap_err();
        assert_eq!(e.keys(), vec!["transforms.x.type"]);
    }

    #[test]
    fn enriched_def_names_alias_keys() {
        let def = enriched_def(
            &registry(),
            &cfg(&[
                ("transforms", "a"),
                ("transforms.a.type", "com.example.Append"),
                ("predicates", "p"),
                ("predicates.p.type", "com.example.TopicIs"),
            ]),
        );
        let names: Vec<&str> = def.keys().iter().map(|k| k.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "transforms.a.type",
                "transforms.a.predicate",
                "transforms.a.negate",
                "transforms.a.suffix",
                "predicates.p.type",
                "predicates.p.topic",
            ]
        );
    }

    #[test]
    fn no_transforms_is_an_empty_chain() {
        let mut chain = TransformChain::build(&registry(), &Config::new()).unwrap();
        assert!(chain.is_empty());
        let mut r = record("t", "x");
        assert_eq!(chain.apply(&mut r), Ok(true));
    }
}
