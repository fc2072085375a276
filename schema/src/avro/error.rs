//! [`AvroError`] and the field paths its messages name.

use std::fmt;

/// Why a schema or a value could not be mapped between Connect and Avro.
///
/// Messages name the field they are about as a dotted path (`field
/// 'address.zip': expected int32, got string`); array elements show as
/// `items[3]`, map keys and values as `tags.<key>` / `tags.<value>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvroError {
    /// A Connect schema has no Avro form (or an Avro schema no Connect
    /// form), or a schema text is not valid.
    #[error("{}", with_path(.path, .message))]
    Schema {
        path: Option<String>,
        message: String,
    },
    /// A value does not fit its schema.
    #[error("{}", with_path(.path, .message))]
    Data {
        path: Option<String>,
        message: String,
    },
    /// The bytes are not Avro binary data of the writer schema (truncated,
    /// garbage, a length prefix larger than the data, ...).
    #[error("Malformed Avro data: {}", with_path(.path, .message))]
    Malformed {
        path: Option<String>,
        message: String,
    },
    /// Schemaless Connect data was given to the Avro mapping.
    #[error(
        "AvroConverter requires a schema: schemaless Connect data (no key or value schema) \
         cannot be written as Avro. Give the records a schema, or use a converter that \
         handles schemaless data (e.g. JsonConverter with schemas.enable=false)"
    )]
    SchemaRequired,
}

fn with_path(path: &Option<String>, message: &str) -> String {
    match path {
        Some(p) => format!("field '{p}': {message}"),
        None => message.to_string(),
    }
}

impl AvroError {
    /// A schema error about the schema at `path`.
    pub(crate) fn schema(path: &Path<'_>, message: impl Into<String>) -> Self {
        Self::Schema {
            path: path.render(),
            message: message.into(),
        }
    }

    /// A value error about the value at `path`.
    pub(crate) fn data(path: &Path<'_>, message: impl Into<String>) -> Self {
        Self::Data {
            path: path.render(),
            message: message.into(),
        }
    }

    /// A decoding error about the value at `path`.
    pub(crate) fn malformed(path: &Path<'_>, message: impl Into<String>) -> Self {
        Self::Malformed {
            path: path.render(),
            message: message.into(),
        }
    }

    /// The message without the field path.
    pub fn message(&self) -> String {
        match self {
            Self::Schema { message, .. }
            | Self::Data { message, .. }
            | Self::Malformed { message, .. } => message.clone(),
            Self::SchemaRequired => self.to_string(),
        }
    }

    /// The dotted path of the field the error is about, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Schema { path, .. } | Self::Data { path, .. } | Self::Malformed { path, .. } => {
                path.as_deref()
            }
            Self::SchemaRequired => None,
        }
    }
}

/// Where in a schema or value the conversion is: a list of steps kept on
/// the stack, rendered only when an error is reported.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>),
    Value(&'a Path<'a>),
}

impl<'a> Path<'a> {
    pub(crate) fn field(&'a self, name: &'a str) -> Path<'a> {
        Path::Field(self, name)
    }

    pub(crate) fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }

    pub(crate) fn key(&'a self) -> Path<'a> {
        Path::Key(self)
    }

    pub(crate) fn value(&'a self) -> Path<'a> {
        Path::Value(self)
    }

    /// `None` at the root, else the dotted path.
    pub(crate) fn render(&self) -> Option<String> {
        if matches!(self, Path::Root) {
            return None;
        }
        Some(self.to_string())
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dot = |f: &mut fmt::Formatter<'_>, parent: &Path<'_>| -> fmt::Result {
            if matches!(parent, Path::Root) {
                Ok(())
            } else {
                write!(f, "{parent}.")
            }
        };
        match self {
            Path::Root => Ok(()),
            Path::Field(parent, name) => {
                dot(f, parent)?;
                f.write_str(name)
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Path::Key(parent) => {
                dot(f, parent)?;
                f.write_str("<key>")
            }
            Path::Value(parent) => {
                dot(f, parent)?;
                f.write_str("<value>")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_dotted() {
        let root = Path::Root;
        assert_eq!(root.render(), None);
        let a = root.field("address");
        let zip = a.field("zip");
        assert_eq!(zip.render().as_deref(), Some("address.zip"));
        let items = root.field("items");
        let third = items.index(3);
        let name = third.field("name");
        assert_eq!(name.to_string(), "items[3].name");
        let tags = root.field("tags");
        assert_eq!(tags.key().to_string(), "tags.<key>");
        assert_eq!(root.index(0).to_string(), "[0]");
        assert_eq!(root.value().to_string(), "<value>");
    }

    #[test]
    fn messages_name_the_field() {
        let root = Path::Root;
        let a = root.field("address");
        let zip = a.field("zip");
        let err = AvroError::data(&zip, "expected int32, got string");
        assert_eq!(
            err.to_string(),
            "field 'address.zip': expected int32, got string"
        );
        assert_eq!(err.path(), Some("address.zip"));
        assert_eq!(err.message(), "expected int32, got string");
        let top = AvroError::schema(&root, "no Avro form");
        assert_eq!(top.to_string(), "no Avro form");
        let bad = AvroError::malformed(&root, "truncated");
        assert_eq!(bad.to_string(), "Malformed Avro data: truncated");
        assert!(
            AvroError::SchemaRequired
                .to_string()
                .starts_with("AvroConverter requires a schema")
        );
    }
}
