//! An Avro schema under construction and its JSON text, written as Avro's
//! Java library writes it (`Schema.toString()`): `type` first, then the
//! type's own attributes, then properties in the order they were added; a
//! named type written once in full and afterwards by name.

use std::rc::Rc;

use super::error::{AvroError, Path};
use super::json::{Jv, write_string};
use super::names::FullName;

/// Properties in insertion order.
pub(crate) type Props = Vec<(String, Jv)>;

/// Java's `JsonProperties.addProp`: the first value for a key stays.
pub(crate) fn add_prop(props: &mut Props, key: &str, value: Jv) {
    if !props.iter().any(|(k, _)| k == key) {
        props.push((key.to_string(), value));
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// `int`, `string`, ... with their properties.
    Primitive {
        name: &'static str,
        props: Props,
    },
    Array {
        items: Box<Node>,
        props: Props,
    },
    Map {
        values: Box<Node>,
        props: Props,
    },
    Union(Vec<Node>),
    /// Record, enum or fixed. Shared: the same definition used twice is
    /// written the second time by name.
    Named(Rc<Named>),
}

#[derive(Debug, PartialEq)]
pub(crate) struct Named {
    pub(crate) name: FullName,
    pub(crate) doc: Option<String>,
    pub(crate) kind: NamedKind,
    pub(crate) props: Props,
}

#[derive(Debug, PartialEq)]
pub(crate) enum NamedKind {
    Record(Vec<FieldNode>),
    Enum {
        symbols: Vec<String>,
        default: Option<String>,
    },
    Fixed {
        size: usize,
    },
}

#[derive(Debug, PartialEq)]
pub(crate) struct FieldNode {
    pub(crate) name: String,
    pub(crate) schema: Node,
    pub(crate) doc: Option<String>,
    pub(crate) default: Option<Jv>,
    pub(crate) props: Props,
}

impl Node {
    pub(crate) fn primitive(name: &'static str) -> Self {
        Node::Primitive {
            name,
            props: Props::new(),
        }
    }

    /// Properties of this schema, or `None` for a union (which has none).
    pub(crate) fn props_mut(&mut self) -> Option<&mut Props> {
        match self {
            Node::Primitive { props, .. } | Node::Array { props, .. } | Node::Map { props, .. } => {
                Some(props)
            }
            Node::Union(_) | Node::Named(_) => None,
        }
    }

    /// Java's `isNamedAvroType`: a record, enum or fixed, or a union with one.
    pub(crate) fn is_named_or_has_named(&self) -> bool {
        match self {
            Node::Named(_) => true,
            Node::Union(branches) => branches.iter().any(|b| matches!(b, Node::Named(_))),
            _ => false,
        }
    }

    /// The compact JSON text.
    pub(crate) fn to_json(&self) -> Result<String, AvroError> {
        let mut out = String::with_capacity(256);
        Writer::default().write(&mut out, self, None)?;
        Ok(out)
    }
}

/// Java's `Schema.isValidDefault` (Avro 1.11): whether `value` is a valid
/// default for a field of type `node`. A union accepts a value of any branch.
/// Stricter than Java where `apache_avro` would reject the schema text: an
/// enum default must be a symbol, a float default finite.
pub(crate) fn is_valid_default(node: &Node, value: &Jv) -> bool {
    match node {
        Node::Primitive { name, .. } => match (*name, value) {
            ("string" | "bytes", Jv::Str(_)) => true,
            ("int", Jv::Int(i)) => i32::try_from(*i).is_ok(),
            ("long", Jv::Int(_)) => true,
            ("float" | "double", Jv::Int(_)) => true,
            ("float" | "double", Jv::Float(f)) => f.is_finite(),
            ("float" | "double", Jv::Double(d)) => d.is_finite(),
            ("boolean", Jv::Bool(_)) => true,
            ("null", Jv::Null) => true,
            _ => false,
        },
        Node::Array { items, .. } => match value {
            Jv::Arr(elements) => elements.iter().all(|e| is_valid_default(items, e)),
            _ => false,
        },
        Node::Map { values, .. } => match value {
            Jv::Obj(members) => members.iter().all(|(_, v)| is_valid_default(values, v)),
            _ => false,
        },
        Node::Union(branches) => branches.iter().any(|b| is_valid_default(b, value)),
        Node::Named(named) => match (&named.kind, value) {
            (NamedKind::Enum { symbols, .. }, Jv::Str(s)) => symbols.contains(s),
            (NamedKind::Fixed { .. }, Jv::Str(_)) => true,
            (NamedKind::Record(fields), Jv::Obj(members)) => {
                fields
                    .iter()
                    .all(|f| match members.iter().find(|(k, _)| *k == f.name) {
                        Some((_, v)) => is_valid_default(&f.schema, v),
                        None => f
                            .default
                            .as_ref()
                            .is_some_and(|d| is_valid_default(&f.schema, d)),
                    })
            }
            _ => false,
        },
    }
}

/// Writes nodes, remembering the named types already written.
#[derive(Default)]
struct Writer {
    defined: Vec<Rc<Named>>,
}

impl Writer {
    fn write(
        &mut self,
        out: &mut String,
        node: &Node,
        space: Option<&str>,
    ) -> Result<(), AvroError> {
        match node {
            Node::Primitive { name, props } => {
                if props.is_empty() {
                    write_string(out, name);
                } else {
                    out.push_str("{\"type\":");
                    write_string(out, name);
                    write_props(out, props);
                    out.push('}');
                }
            }
            Node::Array { items, props } => {
                out.push_str("{\"type\":\"array\",\"items\":");
                self.write(out, items, space)?;
                write_props(out, props);
                out.push('}');
            }
            Node::Map { values, props } => {
                out.push_str("{\"type\":\"map\",\"values\":");
                self.write(out, values, space)?;
                write_props(out, props);
                out.push('}');
            }
            Node::Union(branches) => {
                out.push('[');
                for (i, b) in branches.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write(out, b, space)?;
                }
                out.push(']');
            }
            Node::Named(named) => self.write_named(out, named, space)?,
        }
        Ok(())
    }

    fn write_named(
        &mut self,
        out: &mut String,
        named: &Rc<Named>,
        space: Option<&str>,
    ) -> Result<(), AvroError> {
        let full = named.name.full();
        if let Some(existing) = self.defined.iter().find(|d| d.name.full() == full) {
            if Rc::ptr_eq(existing, named) || **existing == **named {
                write_string(out, &named.name.qualified(space));
                return Ok(());
            }
            return Err(AvroError::schema(
                &Path::Root,
                format!(
                    "Can't redefine: {full} (two different Connect schemas map to Avro types of \
                     this name; give them different names)"
                ),
            ));
        }
        self.defined.push(named.clone());
        let kind = match named.kind {
            NamedKind::Record(_) => "record",
            NamedKind::Enum { .. } => "enum",
            NamedKind::Fixed { .. } => "fixed",
        };
        out.push_str("{\"type\":\"");
        out.push_str(kind);
        out.push_str("\",\"name\":");
        write_string(out, &named.name.name);
        match (&named.name.space, space) {
            (Some(own), Some(outer)) if own == outer => {}
            (Some(own), _) => {
                out.push_str(",\"namespace\":");
                write_string(out, own);
            }
            (None, Some(_)) => out.push_str(",\"namespace\":\"\""),
            (None, None) => {}
        }
        if let Some(doc) = &named.doc {
            out.push_str(",\"doc\":");
            write_string(out, doc);
        }
        match &named.kind {
            NamedKind::Record(fields) => {
                out.push_str(",\"fields\":[");
                let inner = named.name.space.as_deref();
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"name\":");
                    write_string(out, &f.name);
                    out.push_str(",\"type\":");
                    self.write(out, &f.schema, inner)?;
                    if let Some(doc) = &f.doc {
                        out.push_str(",\"doc\":");
                        write_string(out, doc);
                    }
                    if let Some(default) = &f.default {
                        out.push_str(",\"default\":");
                        default.write(out);
                    }
                    write_props(out, &f.props);
                    out.push('}');
                }
                out.push(']');
            }
            NamedKind::Enum { symbols, default } => {
                out.push_str(",\"symbols\":[");
                for (i, s) in symbols.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, s);
                }
                out.push(']');
                if let Some(d) = default {
                    out.push_str(",\"default\":");
                    write_string(out, d);
                }
            }
            NamedKind::Fixed { size } => {
                out.push_str(",\"size\":");
                out.push_str(&size.to_string());
            }
        }
        write_props(out, &named.props);
        out.push('}');
        Ok(())
    }
}

fn write_props(out: &mut String, props: &Props) {
    for (k, v) in props {
        out.push(',');
        write_string(out, k);
        out.push(':');
        v.write(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, space: Option<&str>, fields: Vec<FieldNode>) -> Rc<Named> {
        Rc::new(Named {
            name: FullName::new(name, space),
            doc: None,
            kind: NamedKind::Record(fields),
            props: Props::new(),
        })
    }

    fn field(name: &str, schema: Node) -> FieldNode {
        FieldNode {
            name: name.into(),
            schema,
            doc: None,
            default: None,
            props: Props::new(),
        }
    }

    #[test]
    fn named_types_are_written_once_then_referenced() {
        let inner = record(
            "Inner",
            Some("a.b"),
            vec![field("x", Node::primitive("int"))],
        );
        let other_ns = record("Other", None, vec![]);
        let outer = record(
            "Outer",
            Some("a.b"),
            vec![
                field("first", Node::Named(inner.clone())),
                field(
                    "second",
                    Node::Union(vec![Node::primitive("null"), Node::Named(inner)]),
                ),
                field("third", Node::Named(other_ns)),
            ],
        );
        assert_eq!(
            Node::Named(outer).to_json().unwrap(),
            r#"{"type":"record","name":"Outer","namespace":"a.b","fields":[{"name":"first","type":{"type":"record","name":"Inner","fields":[{"name":"x","type":"int"}]}},{"name":"second","type":["null","Inner"]},{"name":"third","type":{"type":"record","name":"Other","namespace":"","fields":[]}}]}"#
        );
    }

    #[test]
    fn conflicting_definitions_fail() {
        let a = record("R", None, vec![field("x", Node::primitive("int"))]);
        let b = record("R", None, vec![field("x", Node::primitive("long"))]);
        let top = Node::Union(vec![Node::Named(a), Node::Named(b)]);
        let err = top.to_json().unwrap_err();
        assert!(err.to_string().contains("Can't redefine: R"), "{err}");
    }

    #[test]
    fn defaults_validity() {
        let int = Node::primitive("int");
        assert!(is_valid_default(&int, &Jv::Int(5)));
        assert!(!is_valid_default(&int, &Jv::Int(1 << 40)));
        assert!(!is_valid_default(&int, &Jv::Str("5".into())));
        let opt = Node::Union(vec![Node::primitive("null"), Node::primitive("string")]);
        assert!(is_valid_default(&opt, &Jv::Str("a".into())));
        assert!(is_valid_default(&opt, &Jv::Null));
        let dbl = Node::primitive("double");
        assert!(!is_valid_default(&dbl, &Jv::Double(f64::NAN)));
        let rec = Node::Named(record("R", None, vec![field("x", int)]));
        assert!(is_valid_default(
            &rec,
            &Jv::Obj(vec![("x".into(), Jv::Int(1))])
        ));
        assert!(!is_valid_default(&rec, &Jv::Obj(vec![])));
    }
}
