//! Finding the definition of a named type an `apache_avro` schema refers to
//! (`Schema::Ref`) from inside the same schema.

use apache_avro::Schema as Avro;
use apache_avro::schema::{InnerDecimalSchema, Name, UuidSchema};

/// The named types defined in a schema, collected on first use (most
/// schemas never refer back to a type, so most calls never walk them).
#[derive(Debug)]
pub(crate) struct NamedIndex<'s> {
    root: &'s Avro,
    index: Option<Vec<(&'s Name, &'s Avro)>>,
}

impl<'s> NamedIndex<'s> {
    pub(crate) fn new(root: &'s Avro) -> Self {
        Self { root, index: None }
    }

    /// The definition of `name`, if the schema has one.
    pub(crate) fn get(&mut self, name: &Name) -> Option<&'s Avro> {
        let root = self.root;
        let index = self.index.get_or_insert_with(|| {
            let mut found = Vec::new();
            collect(root, &mut found);
            found
        });
        index.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
    }
}

fn collect<'s>(s: &'s Avro, out: &mut Vec<(&'s Name, &'s Avro)>) {
    match s {
        Avro::Record(r) => {
            out.push((&r.name, s));
            for f in &r.fields {
                collect(&f.schema, out);
            }
        }
        Avro::Enum(e) => out.push((&e.name, s)),
        Avro::Fixed(f) | Avro::Duration(f) | Avro::Uuid(UuidSchema::Fixed(f)) => {
            out.push((&f.name, s));
        }
        Avro::Decimal(d) => {
            if let InnerDecimalSchema::Fixed(f) = &d.inner {
                out.push((&f.name, s));
            }
        }
        Avro::Array(a) => collect(&a.items, out),
        Avro::Map(m) => collect(&m.types, out),
        Avro::Union(u) => u.variants().iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_definitions_of_references() {
        let schema = Avro::parse_str(
            r#"{"type":"record","name":"a.Outer","fields":[
                {"name":"x","type":{"type":"record","name":"Inner","fields":[]}},
                {"name":"y","type":["null","Inner"]},
                {"name":"z","type":{"type":"fixed","name":"F","size":2}}]}"#,
        )
        .unwrap();
        let mut index = NamedIndex::new(&schema);
        let inner = Name::new("a.Inner").unwrap();
        assert!(matches!(index.get(&inner), Some(Avro::Record(_))));
        assert!(matches!(
            index.get(&Name::new("a.F").unwrap()),
            Some(Avro::Fixed(_))
        ));
        assert!(index.get(&Name::new("Nope").unwrap()).is_none());
    }
}
