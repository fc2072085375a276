//! Sink destinations from records: text with `${topic}`, `${partition}`,
//! `${key}`, `${value.<field>}` and `${header.<name>}` (the MQTT sink's
//! `mqtt.topic.template`, the RabbitMQ sink's `rabbitmq.routing.key`).

use sluice_connect_api::SinkRecord;
use sluice_connect_api::schema::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Topic,
    Partition,
    Key,
    Field(Vec<String>),
    Header(String),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("'{text}': a ${{ without its closing }}"))?;
            let name = after[..end].trim();
            parts.push(match name {
                "topic" => Part::Topic,
                "partition" => Part::Partition,
                "key" => Part::Key,
                _ => {
                    if let Some(path) = name.strip_prefix("value.").filter(|p| !p.is_empty()) {
                        Part::Field(path.split('.').map(str::to_string).collect())
                    } else if let Some(h) = name.strip_prefix("header.").filter(|h| !h.is_empty()) {
                        Part::Header(h.to_string())
                    } else {
                        return Err(format!(
                            "'{text}': unknown placeholder ${{{name}}}; use ${{topic}}, ${{partition}}, ${{key}}, ${{value.<field>}} or ${{header.<name>}}"
                        ));
                    }
                }
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if parts.is_empty() {
            return Err("the template is empty".into());
        }
        Ok(Self { parts })
    }

    /// The text for one record, or why there is none.
    pub fn render(&self, record: &SinkRecord) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Topic => out.push_str(&record.topic),
                Part::Partition => out.push_str(&record.kafka_partition.to_string()),
                Part::Key => scalar(&record.key, "${key}", &mut out)?,
                Part::Field(path) => {
                    let mut v = &record.value;
                    for name in path {
                        v = field(v, name).ok_or_else(|| {
                            format!(
                                "the value has no field '{}' for ${{value.{}}}",
                                name,
                                path.join(".")
                            )
                        })?;
                    }
                    scalar(v, &format!("${{value.{}}}", path.join(".")), &mut out)?;
                }
                Part::Header(name) => {
                    let h = record
                        .headers
                        .iter()
                        .rev()
                        .find(|h| &h.key == name)
                        .ok_or_else(|| format!("the record has no header '{name}'"))?;
                    scalar(&h.value, &format!("${{header.{name}}}"), &mut out)?;
                }
            }
        }
        Ok(out)
    }
}

fn field<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    match v {
        Value::Struct(s) => s.get(name),
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(k, Value::String(s) if s == name))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn scalar(v: &Value, what: &str, out: &mut String) -> Result<(), String> {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Int8(n) => out.push_str(&n.to_string()),
        Value::Int16(n) => out.push_str(&n.to_string()),
        Value::Int32(n) => out.push_str(&n.to_string()),
        Value::Int64(n) => out.push_str(&n.to_string()),
        Value::Float32(n) => out.push_str(&n.to_string()),
        Value::Float64(n) => out.push_str(&n.to_string()),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Bytes(b) => out.push_str(
            std::str::from_utf8(b).map_err(|_| format!("{what} is bytes that are not UTF-8"))?,
        ),
        Value::Null => return Err(format!("{what} is null")),
        Value::Array(_) | Value::Map(_) | Value::Struct(_) => {
            return Err(format!("{what} is not a single value"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::schema::{SchemaBuilder, Struct};
    use sluice_connect_api::{Header, TimestampType};

    fn record(key: Value, value: Value) -> SinkRecord {
        SinkRecord {
            topic: "orders".into(),
            kafka_partition: 2,
            kafka_offset: 7,
            key_schema: None,
            key,
            value_schema: None,
            value,
            timestamp: None,
            timestamp_type: TimestampType::CreateTime,
            headers: vec![Header {
                key: "site".into(),
                schema: None,
                value: Value::String("paris".into()),
            }],
        }
    }

    #[test]
    fn renders_each_placeholder() {
        let schema = SchemaBuilder::struct_()
            .field("device", SchemaBuilder::string().build())
            .build();
        let mut s = Struct::new(schema);
        s.set("device", Value::String("d1".into())).unwrap();
        let r = record(Value::Int32(5), Value::Struct(s));
        let t = Template::parse("site/${header.site}/${topic}/${partition}/${key}/${value.device}")
            .unwrap();
        assert_eq!(t.render(&r).unwrap(), "site/paris/orders/2/5/d1");
        assert_eq!(
            Template::parse("${topic}").unwrap().render(&r).unwrap(),
            "orders"
        );
    }

    #[test]
    fn bad_templates_and_records_are_explained() {
        assert!(
            Template::parse("a/${nope}")
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(Template::parse("a/${topic").is_err());
        assert!(Template::parse("").is_err());
        let r = record(Value::Null, Value::String("x".into()));
        let e = Template::parse("${key}").unwrap().render(&r).unwrap_err();
        assert!(e.contains("${key} is null"), "{e}");
        let e = Template::parse("${value.a}")
            .unwrap()
            .render(&r)
            .unwrap_err();
        assert!(e.contains("no field 'a'"), "{e}");
    }
}
