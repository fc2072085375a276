//! `sluice docs [PLUGIN]`: Markdown reference of connector plugins' keys,
//! generated from the same definitions that parse and validate them (and
//! that `/connector-plugins/{p}/config` serves).

use sluice_connect_api::{ConnectorType, Registry};

use crate::connector_config;

/// The reference of every connector plugin, or of the one `only` names
/// (any of its names); an error names the plugins there are.
pub fn markdown(registry: &Registry, only: Option<&str>) -> Result<String, String> {
    let plugins: Vec<_> = match only {
        Some(name) => vec![*registry.connector(name).ok_or_else(|| {
            let names: Vec<&str> = registry.connectors().iter().map(|p| p.class_name).collect();
            format!(
                "no connector plugin named {name}; there are: {}",
                names.join(", ")
            )
        })?],
        None => registry.connectors().to_vec(),
    };
    let mut out = String::new();
    for p in plugins {
        let kind = p.connector_type();
        out.push_str(&format!(
            "## {} ({}, version {})\n\n",
            p.class_name,
            kind.as_str(),
            p.version
        ));
        if !p.aliases.is_empty() {
            out.push_str(&format!("Also known as: {}.\n\n", p.aliases.join(", ")));
        }
        out.push_str("### Connector keys\n\n");
        out.push_str(&(p.new_connector)().config_def().to_markdown());
        out.push_str(&format!(
            "\n### Keys every {} connector has\n\n",
            kind.as_str()
        ));
        let common = connector_config::common_def().merge(&match kind {
            ConnectorType::Sink => connector_config::sink_def(),
            ConnectorType::Source => connector_config::source_def(),
        });
        out.push_str(&common.to_markdown());
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_of_a_plugin_is_documented() {
        let r = crate::plugins::registry();
        let md = super::markdown(&r, Some("DataGen")).unwrap();
        assert!(
            md.starts_with("## io.sluice.connect.datagen.DataGenSourceConnector (source"),
            "{md}"
        );
        assert!(
            md.contains("| `value.format` | STRING | `sequence` |"),
            "{md}"
        );
        assert!(md.contains("One of: sequence, json, bytes."), "{md}");
        assert!(
            md.contains("| `topic.creation.default.partitions` |"),
            "{md}"
        );
        let err = super::markdown(&r, Some("Nope")).unwrap_err();
        assert!(err.contains("FileStreamSourceConnector"), "{err}");
        assert!(
            super::markdown(&r, None)
                .unwrap()
                .contains("FileStreamSinkConnector")
        );
    }
}
