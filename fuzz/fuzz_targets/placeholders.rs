//! Config provider placeholders (`${env:...}`, `${file:path:key}`,
//! `${dir:path:key}`) in values a REST caller sends: resolved, left as
//! they are, or refused with an error naming the key; never a panic, and
//! never a read outside the allowed paths.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_runtime::config::providers::ConfigProviders;

fn providers() -> &'static ConfigProviders {
    static P: OnceLock<ConfigProviders> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join("sluice-fuzz-providers");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("db.properties"), "password=allowed\n");
        let props: BTreeMap<String, String> = [
            ("config.providers", "env,file,dir"),
            ("config.providers.env.class", "EnvVarConfigProvider"),
            (
                "config.providers.env.param.allowlist.pattern",
                "SLUICE_FUZZ_.*",
            ),
            ("config.providers.file.class", "FileConfigProvider"),
            (
                "config.providers.file.param.allowed.paths",
                &dir.display().to_string(),
            ),
            ("config.providers.dir.class", "DirectoryConfigProvider"),
            (
                "config.providers.dir.param.allowed.paths",
                &dir.display().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        ConfigProviders::from_worker(&props).expect("providers")
    })
}

fuzz_target!(|value: &str| {
    let config: BTreeMap<String, String> = [("k".to_string(), value.to_string())].into();
    match providers().resolve(&config) {
        Ok(resolved) => {
            // Nothing from outside the allowed directory (such as
            // /etc/passwd) comes in.
            let out = &resolved["k"];
            if !value.contains("root:") {
                assert!(!out.contains("root:"), "{value} -> {out}");
            }
        }
        Err(e) => assert!(e.contains("configuration k"), "{e}"),
    }
});
