//! Connector config files: `.properties` (as `connect-file-source.properties`)
//! or JSON (`{"name": .., "config": {..}}`, the REST create body, or a flat
//! object of keys).

use std::path::Path;

use sluice_connect_api::Config;

use super::{ConfigFileError, properties, read};

/// A connector's name and configuration as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorFile {
    pub name: String,
    pub config: Config,
}

pub fn load(path: &Path) -> Result<ConnectorFile, ConfigFileError> {
    let text = read(path)?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    let mut config = if is_json {
        from_json(path, &text)?
    } else {
        properties::parse(&text).map_err(|source| ConfigFileError::Properties {
            path: path.to_path_buf(),
            source,
        })?
    };
    let name = config
        .get("name")
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ConfigFileError::invalid(
                path,
                "Missing required configuration \"name\" which has no default value.",
            )
        })?;
    config.insert("name".to_string(), name.clone());
    Ok(ConnectorFile { name, config })
}

fn from_json(path: &Path, text: &str) -> Result<Config, ConfigFileError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| ConfigFileError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let serde_json::Value::Object(mut top) = value else {
        return Err(ConfigFileError::invalid(path, "expected a JSON object"));
    };
    let name = top.remove("name");
    let (map, name) = match top.remove("config") {
        Some(serde_json::Value::Object(cfg)) => (cfg, name),
        Some(_) => {
            return Err(ConfigFileError::invalid(
                path,
                "\"config\" must be a JSON object of strings",
            ));
        }
        None => {
            if let Some(n) = name.clone() {
                top.insert("name".to_string(), n);
            }
            (top, None)
        }
    };
    let mut config = config_from_json(map).map_err(|m| ConfigFileError::invalid(path, m))?;
    match (name, config.get("name")) {
        (Some(serde_json::Value::String(n)), Some(c)) if n != *c => {
            return Err(ConfigFileError::invalid(
                path,
                format!("connector name \"{n}\" differs from the \"name\" in its config (\"{c}\")"),
            ));
        }
        (Some(serde_json::Value::String(n)), None) => {
            config.insert("name".to_string(), n);
        }
        _ => {}
    }
    Ok(config)
}

/// A JSON config object as a connector config: strings as they are, numbers
/// and booleans as their text (as Jackson does for `Map<String, String>`),
/// nulls dropped. Objects and arrays are refused, naming the key.
pub fn config_from_json(map: serde_json::Map<String, serde_json::Value>) -> Result<Config, String> {
    let mut config = Config::new();
    for (k, v) in map {
        let s = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => {
                return Err(format!(
                    "value of \"{k}\" must be a string, not an object or array"
                ));
            }
        };
        config.insert(k, s);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn properties_and_json_forms() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            &d,
            "a.properties",
            "name=local-file-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile=test.txt\ntopic=connect-test\n",
        );
        let c = load(&p).unwrap();
        assert_eq!(c.name, "local-file-source");
        assert_eq!(c.config["topic"], "connect-test");

        let p = write(
            &d,
            "b.json",
            r#"{"name":"s","config":{"connector.class":"FileStreamSink","tasks.max":2,"topics":"t"}}"#,
        );
        let c = load(&p).unwrap();
        assert_eq!(c.name, "s");
        assert_eq!(c.config["tasks.max"], "2");
        assert_eq!(c.config["name"], "s");

        let p = write(
            &d,
            "c.json",
            r#"{"name":"flat","connector.class":"FileStreamSink"}"#,
        );
        assert_eq!(load(&p).unwrap().name, "flat");
    }

    #[test]
    fn errors_name_file() {
        let d = tempfile::tempdir().unwrap();
        let p = write(&d, "bad.json", "{\"name\": ");
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad.json") && e.contains("malformed JSON"),
            "{e}"
        );
        let p = write(&d, "noname.properties", "connector.class=FileStreamSink\n");
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("noname.properties") && e.contains("\"name\""),
            "{e}"
        );
        let e = load(&d.path().join("missing.properties"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.properties"), "{e}");
        let p = write(&d, "mismatch.json", r#"{"name":"a","config":{"name":"b"}}"#);
        assert!(load(&p).unwrap_err().to_string().contains("differs"));
    }
}
