//! Kafka Connect's `SchemaUtil`, and schema helpers shared by transforms.

use sluice_connect_api::schema::{DataError, Schema, SchemaBuilder, SchemaRef, SchemaType, Value};

/// Copies name, version, doc and parameters (not optionality, not the
/// default, as Kafka Connect's `copySchemaBasics`).
pub(crate) fn copy_basics(source: &Schema, mut builder: SchemaBuilder) -> SchemaBuilder {
    if let Some(name) = &source.name {
        builder = builder.name(name.clone());
    }
    if let Some(version) = source.version {
        builder = builder.version(version);
    }
    if let Some(doc) = &source.doc {
        builder = builder.doc(doc.clone());
    }
    for (k, v) in &source.parameters {
        builder = builder.parameter(k.clone(), v.clone());
    }
    builder
}

/// A builder of the same type as `source` (arrays keep their element schema)
/// with its basics copied.
pub(crate) fn copy_basics_of(source: &Schema) -> SchemaBuilder {
    let builder = match (&source.schema_type, &source.value_schema) {
        (SchemaType::Array, Some(elem)) => SchemaBuilder::array(elem.clone()),
        (SchemaType::Map, Some(v)) => match &source.key_schema {
            Some(k) => SchemaBuilder::map(k.clone(), v.clone()),
            None => SchemaBuilder::new(SchemaType::Map),
        },
        (t, _) => SchemaBuilder::new(*t),
    };
    copy_basics(source, builder)
}

/// Builds a struct schema, rejecting a field name given twice (Kafka
/// Connect's `SchemaBuilder.field` throws the same).
pub(crate) fn build_struct(builder: SchemaBuilder) -> Result<SchemaRef, DataError> {
    let schema = builder.build();
    for (i, f) in schema.fields.iter().enumerate() {
        if schema.fields[..i].iter().any(|g| g.name == f.name) {
            return Err(DataError::new(format!(
                "Cannot create field because of field name duplication {}",
                f.name
            )));
        }
    }
    Ok(schema)
}

/// Kafka Connect's `ConnectSchema.toString()`: `Schema{name:TYPE}` or
/// `Schema{TYPE}`.
pub(crate) fn describe(schema: &Schema) -> String {
    match &schema.name {
        Some(name) => format!("Schema{{{name}:{}}}", schema.schema_type),
        None => format!("Schema{{{}}}", schema.schema_type),
    }
}

/// A field value as Kafka Connect's `Struct.get` (the field schema's
/// default for null) or `getWithoutDefault`, moved in place: a null slot
/// gets a copy of the default when `replace_null_with_default`.
pub(crate) fn fill_default(
    slot: &mut Value,
    field_schema: &Schema,
    replace_null_with_default: bool,
) {
    if replace_null_with_default
        && slot.is_null()
        && let Some(d) = &field_schema.default
    {
        *slot = d.clone();
    }
}
