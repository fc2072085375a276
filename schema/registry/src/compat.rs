//! Avro schema compatibility checking in the manner of Confluent Schema Registry.
//!
//! The checker answers "can data written with schema W be decoded with schema R?" by
//! following the "Schema Resolution" rules of the Avro specification:
//!
//! * primitives must be identical or an allowed promotion (`int` → `long`/`float`/`double`,
//!   `long` → `float`/`double`, `float` → `double`, `string` ⇄ `bytes`);
//! * logical types are resolved on their underlying physical type, except that two decimals
//!   must agree on precision and scale;
//! * records, enums and fixed types must have matching names (unqualified names, or a reader
//!   alias naming the writer type);
//! * record fields are matched by name or reader field alias; a reader field without a
//!   counterpart in the writer needs a default value;
//! * every writer enum symbol must be known to the reader unless the reader has a default;
//! * fixed sizes must agree; array items and map values are checked recursively;
//! * every branch of a writer union must be readable by the reader, and a reader union must
//!   contain a branch able to read a non-union writer.
//!
//! Findings are reported as [`Incompatibility`] values whose wording mirrors the messages of
//! Confluent Schema Registry, so clients that parse those messages keep working.

use std::collections::HashMap;
use std::fmt;

use apache_avro::Schema;
use apache_avro::schema::{
    Alias, DecimalSchema, EnumSchema, FixedSchema, InnerDecimalSchema, Name, RecordField,
    RecordSchema, UnionSchema, UuidSchema,
};

/// Compatibility levels as Confluent names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompatibilityLevel {
    /// No compatibility checking at all.
    None,
    /// The new schema can read data written with the latest registered schema.
    Backward,
    /// The new schema can read data written with every registered schema.
    BackwardTransitive,
    /// The latest registered schema can read data written with the new schema.
    Forward,
    /// Every registered schema can read data written with the new schema.
    ForwardTransitive,
    /// Both [`CompatibilityLevel::Backward`] and [`CompatibilityLevel::Forward`].
    Full,
    /// Both [`CompatibilityLevel::BackwardTransitive`] and
    /// [`CompatibilityLevel::ForwardTransitive`].
    FullTransitive,
}

/// Every level, used for parsing.
const ALL_LEVELS: [CompatibilityLevel; 7] = [
    CompatibilityLevel::None,
    CompatibilityLevel::Backward,
    CompatibilityLevel::BackwardTransitive,
    CompatibilityLevel::Forward,
    CompatibilityLevel::ForwardTransitive,
    CompatibilityLevel::Full,
    CompatibilityLevel::FullTransitive,
];

impl CompatibilityLevel {
    /// Parses a level name such as `"BACKWARD"` or `"full_transitive"` (case-insensitive).
    ///
    /// Returns `None` for unknown names.
    pub fn parse(s: &str) -> Option<Self> {
        ALL_LEVELS
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(s))
    }

    /// The canonical upper-case name of the level, e.g. `"BACKWARD_TRANSITIVE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether the level checks against every registered schema rather than the latest one.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    /// Whether the new schema must be able to read the old schemas.
    fn checks_backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    /// Whether the old schemas must be able to read the new schema.
    fn checks_forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of an [`Incompatibility`], named as Confluent (and Avro's Java library) name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncompatibilityType {
    /// A named type (record, enum, fixed) has a different name in the reader.
    NameMismatch,
    /// Two fixed types have different sizes.
    FixedSizeMismatch,
    /// The writer enum has symbols the reader enum lacks, and the reader has no default.
    MissingEnumSymbols,
    /// A reader record field is absent from the writer and has no default value.
    ReaderFieldMissingDefaultValue,
    /// The reader type cannot decode the writer type.
    TypeMismatch,
    /// A union lacks a branch able to read a writer type.
    MissingUnionBranch,
}

impl IncompatibilityType {
    /// The upper-case name, e.g. `"READER_FIELD_MISSING_DEFAULT_VALUE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NameMismatch => "NAME_MISMATCH",
            Self::FixedSizeMismatch => "FIXED_SIZE_MISMATCH",
            Self::MissingEnumSymbols => "MISSING_ENUM_SYMBOLS",
            Self::ReaderFieldMissingDefaultValue => "READER_FIELD_MISSING_DEFAULT_VALUE",
            Self::TypeMismatch => "TYPE_MISMATCH",
            Self::MissingUnionBranch => "MISSING_UNION_BRANCH",
        }
    }
}

impl fmt::Display for IncompatibilityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One incompatibility, in Confluent's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// What kind of rule was broken.
    pub error_type: IncompatibilityType,
    /// JSON-pointer-like location in the reader schema, e.g. `"/fields/1/type"`; `"/"` is the
    /// root. For branches of a writer union the writer branch index is appended.
    pub path: String,
    /// Human-readable explanation worded like Confluent Schema Registry.
    pub description: String,
    /// Extra detail: the field name, the missing symbols, the mismatching types, ...
    pub additional_info: String,
}

impl Incompatibility {
    /// Confluent's rendering, e.g. `{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE',
    /// description:'The field 'f2' at path '/fields/1' in the new schema has no default value
    /// and is missing in the old schema', additionalInfo:'f2'}`.
    pub fn render(&self) -> String {
        format!(
            "{{errorType:'{}', description:'{}', additionalInfo:'{}'}}",
            self.error_type.as_str(),
            self.description,
            self.additional_info
        )
    }
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// Can data written with `writer` be read with `reader`? Empty vec = yes.
///
/// Descriptions call the reader the "new" schema and the writer the "old" one, as Confluent
/// does for a backward check.
pub fn can_read(reader: &Schema, writer: &Schema) -> Vec<Incompatibility> {
    read_with_roles(reader, writer, NEW_READS_OLD)
}

/// Check `new` against `existing` (oldest first) under `level`.
///
/// Non-transitive levels compare with the latest existing schema only; transitive levels
/// with all of them, newest first. BACKWARD: new reads old; FORWARD: old reads new; FULL:
/// both. As Confluent does, checking stops at the first existing version found
/// incompatible, and only that version's findings are returned.
///
/// Each returned message is self-contained: the rendered [`Incompatibility`] followed by the
/// context, e.g. `{errorType:'TYPE_MISMATCH', description:'...', additionalInfo:'...'},
/// {oldSchemaVersion: 2}, {compatibility: 'BACKWARD'}`. The result is empty when `new` is
/// compatible (and always for [`CompatibilityLevel::None`]).
pub fn check(level: CompatibilityLevel, new: &Schema, existing: &[(u32, &Schema)]) -> Vec<String> {
    if level == CompatibilityLevel::None {
        return Vec::new();
    }
    let count = if level.is_transitive() {
        existing.len()
    } else {
        1
    };
    for &(version, old) in existing.iter().rev().take(count) {
        let mut found = Vec::new();
        if level.checks_backward() {
            found.extend(read_with_roles(new, old, NEW_READS_OLD));
        }
        if level.checks_forward() {
            found.extend(read_with_roles(old, new, OLD_READS_NEW));
        }
        if !found.is_empty() {
            return found
                .iter()
                .map(|incompatibility| {
                    format!(
                        "{}, {{oldSchemaVersion: {version}}}, {{compatibility: '{}'}}",
                        incompatibility.render(),
                        level.as_str()
                    )
                })
                .collect();
        }
    }
    Vec::new()
}

/// How the reader and writer schemas are called in descriptions.
#[derive(Debug, Clone, Copy)]
struct Roles {
    reader: &'static str,
    writer: &'static str,
}

/// Backward direction: the new schema reads data written with the old one.
const NEW_READS_OLD: Roles = Roles {
    reader: "new",
    writer: "old",
};

/// Forward direction: the old schema reads data written with the new one.
const OLD_READS_NEW: Roles = Roles {
    reader: "old",
    writer: "new",
};

/// Runs one reader/writer check with the given wording.
fn read_with_roles(reader: &Schema, writer: &Schema, roles: Roles) -> Vec<Incompatibility> {
    let mut checker = Checker::new(reader, writer);
    let mut path = Vec::new();
    checker
        .check(reader, writer, &mut path)
        .into_iter()
        .map(|found| found.into_incompatibility(roles))
        .collect()
}

/// Named types of one schema, by full name and by full alias name.
type NameTable<'a> = HashMap<String, &'a Schema>;

/// Records every named type defined inside `schema` (references are not followed).
fn collect_names<'a>(schema: &'a Schema, table: &mut NameTable<'a>) {
    let named = match schema {
        Schema::Record(record) => Some((&record.name, &record.aliases)),
        Schema::Enum(enumeration) => Some((&enumeration.name, &enumeration.aliases)),
        Schema::Fixed(fixed)
        | Schema::Duration(fixed)
        | Schema::Uuid(UuidSchema::Fixed(fixed))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(fixed),
            ..
        }) => Some((&fixed.name, &fixed.aliases)),
        _ => None,
    };
    if let Some((name, aliases)) = named {
        table.entry(name.fullname(None)).or_insert(schema);
        for alias in aliases.iter().flatten() {
            table.entry(alias.fullname(None)).or_insert(schema);
        }
    }
    match schema {
        Schema::Record(record) => {
            for field in &record.fields {
                collect_names(&field.schema, table);
            }
        }
        Schema::Array(array) => collect_names(&array.items, table),
        Schema::Map(map) => collect_names(&map.types, table),
        Schema::Union(union) => {
            for variant in union.variants() {
                collect_names(variant, table);
            }
        }
        _ => {}
    }
}

/// The physical shape of a schema once references and logical types are looked through.
#[derive(Debug, Clone, Copy)]
enum Shape<'a> {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(&'a Schema),
    Map(&'a Schema),
    Union(&'a UnionSchema),
    Record(&'a RecordSchema),
    Enum(&'a EnumSchema),
    Fixed(&'a FixedSchema),
    /// A reference to a named type not defined in the same schema.
    Unresolved(&'a Name),
}

impl Shape<'_> {
    /// The Avro type name as Confluent prints it (`"INT"`, `"RECORD"`, ...).
    fn type_name(&self) -> String {
        let name = match self {
            Shape::Null => "NULL",
            Shape::Boolean => "BOOLEAN",
            Shape::Int => "INT",
            Shape::Long => "LONG",
            Shape::Float => "FLOAT",
            Shape::Double => "DOUBLE",
            Shape::Bytes => "BYTES",
            Shape::String => "STRING",
            Shape::Array(_) => "ARRAY",
            Shape::Map(_) => "MAP",
            Shape::Union(_) => "UNION",
            Shape::Record(_) => "RECORD",
            Shape::Enum(_) => "ENUM",
            Shape::Fixed(_) => "FIXED",
            Shape::Unresolved(name) => {
                return format!("unresolved reference '{}'", name.fullname(None));
            }
        };
        name.to_owned()
    }
}

/// A schema seen through references and logical types.
#[derive(Debug, Clone, Copy)]
struct View<'a> {
    shape: Shape<'a>,
    /// Precision and scale when the schema is a `decimal` logical type.
    decimal: Option<(usize, usize)>,
}

impl View<'_> {
    /// Type name including decimal parameters, for TYPE_MISMATCH details.
    fn describe(&self) -> String {
        match self.decimal {
            Some((precision, scale)) => {
                format!("{} (decimal({precision}, {scale}))", self.shape.type_name())
            }
            None => self.shape.type_name(),
        }
    }
}

/// Resolves a reference through `names` and maps logical types to their physical type.
fn view<'a>(schema: &'a Schema, names: &NameTable<'a>) -> View<'a> {
    let resolved = match schema {
        Schema::Ref { name } => match names.get(&name.fullname(None)) {
            Some(target) => *target,
            None => schema,
        },
        other => other,
    };
    let mut decimal = None;
    let shape = match resolved {
        Schema::Null => Shape::Null,
        Schema::Boolean => Shape::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Shape::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Shape::Long,
        Schema::Float => Shape::Float,
        Schema::Double => Shape::Double,
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => Shape::Bytes,
        Schema::String | Schema::Uuid(UuidSchema::String) => Shape::String,
        Schema::Array(array) => Shape::Array(&array.items),
        Schema::Map(map) => Shape::Map(&map.types),
        Schema::Union(union) => Shape::Union(union),
        Schema::Record(record) => Shape::Record(record),
        Schema::Enum(enumeration) => Shape::Enum(enumeration),
        Schema::Fixed(fixed) | Schema::Duration(fixed) | Schema::Uuid(UuidSchema::Fixed(fixed)) => {
            Shape::Fixed(fixed)
        }
        Schema::Decimal(decimal_schema) => {
            decimal = Some((decimal_schema.precision, decimal_schema.scale));
            match &decimal_schema.inner {
                InnerDecimalSchema::Bytes => Shape::Bytes,
                InnerDecimalSchema::Fixed(fixed) => Shape::Fixed(fixed),
            }
        }
        Schema::Ref { name } => Shape::Unresolved(name),
    };
    View { shape, decimal }
}

/// Renders path segments as a JSON-pointer-like string (`"/"` for the root).
fn render_path(path: &[String]) -> String {
    format!("/{}", path.join("/"))
}

/// Whether a reader named type may read a writer named type: same unqualified name, or a
/// reader alias equal to the writer's full or unqualified name.
fn names_match(reader: &Name, reader_aliases: Option<&[Alias]>, writer: &Name) -> bool {
    if reader.name() == writer.name() {
        return true;
    }
    let writer_full = writer.fullname(None);
    reader_aliases
        .unwrap_or_default()
        .iter()
        .any(|alias| alias.name() == writer.name() || alias.fullname(None) == writer_full)
}

/// The writer field matching a reader field by name, or else by one of its aliases.
fn find_writer_field<'a>(
    writer: &'a RecordSchema,
    reader_field: &RecordField,
) -> Option<&'a RecordField> {
    writer
        .fields
        .iter()
        .find(|field| field.name == reader_field.name)
        .or_else(|| {
            reader_field
                .aliases
                .iter()
                .find_map(|alias| writer.fields.iter().find(|field| &field.name == alias))
        })
}

/// Upper bound on the findings kept for one record pair, so that schemas sharing named types
/// in a deep DAG cannot make the report grow exponentially.
const MAX_FINDINGS_PER_RECORD: usize = 100;

/// A finding before it is worded: kind, location segments and additional info.
#[derive(Debug, Clone)]
struct Finding {
    error_type: IncompatibilityType,
    path: Vec<String>,
    info: String,
}

impl Finding {
    /// Words the finding like Confluent, calling the two schemas as `roles` says.
    fn into_incompatibility(self, roles: Roles) -> Incompatibility {
        let at = render_path(&self.path);
        let info = self.info;
        let Roles { reader, writer } = roles;
        let description = match self.error_type {
            IncompatibilityType::NameMismatch => {
                format!("The name of the schema has changed (path '{at}')")
            }
            IncompatibilityType::FixedSizeMismatch => format!(
                "The size of FIXED type field at path '{at}' in the {reader} schema does not \
                 match with the {writer} schema"
            ),
            IncompatibilityType::MissingEnumSymbols => format!(
                "The {reader} schema is missing enum symbols '{info}' at path '{at}' in the \
                 {writer} schema"
            ),
            IncompatibilityType::ReaderFieldMissingDefaultValue => format!(
                "The field '{info}' at path '{at}' in the {reader} schema has no default value \
                 and is missing in the {writer} schema"
            ),
            IncompatibilityType::TypeMismatch => format!(
                "The type (path '{at}') of a field in the {reader} schema does not match with \
                 the {writer} schema"
            ),
            IncompatibilityType::MissingUnionBranch => format!(
                "The {reader} schema is missing a type inside a union field at path '{at}' in \
                 the {writer} schema"
            ),
        };
        Incompatibility {
            error_type: self.error_type,
            path: at,
            description,
            additional_info: info,
        }
    }
}

/// A finished record-pair check, with finding paths relative to the record.
#[derive(Debug)]
struct Memo {
    findings: Vec<Finding>,
    /// `Some(depth)` when the result assumed the in-progress pair at `depth` compatible; it
    /// is then only valid until that pair's check finishes.
    depends_on: Option<usize>,
}

/// Recursive reader/writer walker with recursion guard and memo.
#[derive(Debug)]
struct Checker<'a> {
    reader_names: NameTable<'a>,
    writer_names: NameTable<'a>,
    /// Record pairs (reader full name, writer full name) currently being checked.
    in_progress: Vec<(String, String)>,
    /// Finished record-pair checks.
    memo: HashMap<(String, String), Memo>,
    /// Lowest `in_progress` index assumed compatible during the current record check.
    lowest_assumption: usize,
}

/// Builds a finding located at `path`.
fn finding(error_type: IncompatibilityType, path: &[String], info: String) -> Finding {
    Finding {
        error_type,
        path: path.to_vec(),
        info,
    }
}

/// A TYPE_MISMATCH finding naming both physical types.
fn type_mismatch(reader: &View<'_>, writer: &View<'_>, path: &[String]) -> Finding {
    finding(
        IncompatibilityType::TypeMismatch,
        path,
        format!(
            "reader type: {} not compatible with writer type: {}",
            reader.describe(),
            writer.describe()
        ),
    )
}

/// A NAME_MISMATCH finding at `path/name` unless the names match.
fn check_names(
    reader: &Name,
    reader_aliases: Option<&[Alias]>,
    writer: &Name,
    path: &mut Vec<String>,
) -> Option<Finding> {
    if names_match(reader, reader_aliases, writer) {
        return None;
    }
    path.push("name".to_owned());
    let found = finding(
        IncompatibilityType::NameMismatch,
        path,
        format!("expected: {}", writer.fullname(None)),
    );
    path.pop();
    Some(found)
}

fn check_enum(reader: &EnumSchema, writer: &EnumSchema, path: &mut Vec<String>) -> Vec<Finding> {
    let mut out: Vec<Finding> =
        check_names(&reader.name, reader.aliases.as_deref(), &writer.name, path)
            .into_iter()
            .collect();
    if reader.default.is_none() {
        let mut missing: Vec<&str> = writer
            .symbols
            .iter()
            .filter(|symbol| !reader.symbols.contains(symbol))
            .map(String::as_str)
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            path.push("symbols".to_owned());
            out.push(finding(
                IncompatibilityType::MissingEnumSymbols,
                path,
                format!("[{}]", missing.join(", ")),
            ));
            path.pop();
        }
    }
    out
}

fn check_fixed(reader: &FixedSchema, writer: &FixedSchema, path: &mut Vec<String>) -> Vec<Finding> {
    let mut out: Vec<Finding> =
        check_names(&reader.name, reader.aliases.as_deref(), &writer.name, path)
            .into_iter()
            .collect();
    if reader.size != writer.size {
        path.push("size".to_owned());
        out.push(finding(
            IncompatibilityType::FixedSizeMismatch,
            path,
            format!("expected: {}, found: {}", writer.size, reader.size),
        ));
        path.pop();
    }
    out
}

impl<'a> Checker<'a> {
    fn new(reader: &'a Schema, writer: &'a Schema) -> Self {
        let mut reader_names = NameTable::new();
        collect_names(reader, &mut reader_names);
        let mut writer_names = NameTable::new();
        collect_names(writer, &mut writer_names);
        Checker {
            reader_names,
            writer_names,
            in_progress: Vec::new(),
            memo: HashMap::new(),
            lowest_assumption: usize::MAX,
        }
    }

    /// Whether `reader` can read `writer`, ignoring where problems would be reported.
    fn readable(&mut self, reader: &'a Schema, writer: &'a Schema) -> bool {
        let mut scratch = Vec::new();
        self.check(reader, writer, &mut scratch).is_empty()
    }

    /// Checks `reader` against `writer`, `path` locating `reader` in the reader schema.
    fn check(
        &mut self,
        reader: &'a Schema,
        writer: &'a Schema,
        path: &mut Vec<String>,
    ) -> Vec<Finding> {
        let reader_view = view(reader, &self.reader_names);
        let writer_view = view(writer, &self.writer_names);
        match (reader_view.shape, writer_view.shape) {
            (Shape::Union(_), Shape::Union(writer_union)) => {
                // Every writer branch must be readable by the reader union.
                let mut out = Vec::new();
                for (index, branch) in writer_union.variants().iter().enumerate() {
                    if !self.readable(reader, branch) {
                        let branch_type = view(branch, &self.writer_names).shape.type_name();
                        path.push(index.to_string());
                        out.push(finding(
                            IncompatibilityType::MissingUnionBranch,
                            path,
                            format!("reader union lacking writer type: {branch_type}"),
                        ));
                        path.pop();
                    }
                }
                out
            }
            (_, Shape::Union(writer_union)) => {
                // The reader must read every branch the writer may have used.
                let mut out = Vec::new();
                for (index, branch) in writer_union.variants().iter().enumerate() {
                    path.push(index.to_string());
                    out.extend(self.check(reader, branch, path));
                    path.pop();
                }
                out
            }
            (Shape::Union(reader_union), _) => {
                // Some reader branch must read the writer.
                let readable = reader_union
                    .variants()
                    .iter()
                    .any(|branch| self.readable(branch, writer));
                if readable {
                    Vec::new()
                } else {
                    vec![finding(
                        IncompatibilityType::MissingUnionBranch,
                        path,
                        format!(
                            "reader union lacking writer type: {}",
                            writer_view.shape.type_name()
                        ),
                    )]
                }
            }
            _ => self.check_non_union(reader_view, writer_view, path),
        }
    }

    /// Checks two schemas of which neither is a union.
    fn check_non_union(
        &mut self,
        reader: View<'a>,
        writer: View<'a>,
        path: &mut Vec<String>,
    ) -> Vec<Finding> {
        let out = match (reader.shape, writer.shape) {
            (Shape::Null, Shape::Null)
            | (Shape::Boolean, Shape::Boolean)
            | (Shape::Int, Shape::Int)
            | (Shape::Long, Shape::Long | Shape::Int)
            | (Shape::Float, Shape::Float | Shape::Int | Shape::Long)
            | (Shape::Double, Shape::Double | Shape::Int | Shape::Long | Shape::Float)
            | (Shape::Bytes, Shape::Bytes | Shape::String)
            | (Shape::String, Shape::String | Shape::Bytes) => Vec::new(),
            (Shape::Array(reader_items), Shape::Array(writer_items)) => {
                path.push("items".to_owned());
                let out = self.check(reader_items, writer_items, path);
                path.pop();
                out
            }
            (Shape::Map(reader_values), Shape::Map(writer_values)) => {
                path.push("values".to_owned());
                let out = self.check(reader_values, writer_values, path);
                path.pop();
                out
            }
            (Shape::Record(reader_record), Shape::Record(writer_record)) => {
                self.check_record(reader_record, writer_record, path)
            }
            (Shape::Enum(reader_enum), Shape::Enum(writer_enum)) => {
                check_enum(reader_enum, writer_enum, path)
            }
            (Shape::Fixed(reader_fixed), Shape::Fixed(writer_fixed)) => {
                check_fixed(reader_fixed, writer_fixed, path)
            }
            (Shape::Unresolved(reader_name), Shape::Unresolved(writer_name))
                if reader_name.fullname(None) == writer_name.fullname(None) =>
            {
                Vec::new()
            }
            _ => vec![type_mismatch(&reader, &writer, path)],
        };
        if out.is_empty()
            && let (Some(reader_decimal), Some(writer_decimal)) = (reader.decimal, writer.decimal)
            && reader_decimal != writer_decimal
        {
            return vec![type_mismatch(&reader, &writer, path)];
        }
        out
    }

    /// Checks two records, memoizing by name pair and guarding against recursion.
    fn check_record(
        &mut self,
        reader: &'a RecordSchema,
        writer: &'a RecordSchema,
        path: &mut Vec<String>,
    ) -> Vec<Finding> {
        let key = (reader.name.fullname(None), writer.name.fullname(None));
        if let Some(memo) = self.memo.get(&key) {
            if let Some(depth) = memo.depends_on {
                self.lowest_assumption = self.lowest_assumption.min(depth);
            }
            return memo
                .findings
                .iter()
                .map(|relative| Finding {
                    error_type: relative.error_type,
                    path: path.iter().chain(&relative.path).cloned().collect(),
                    info: relative.info.clone(),
                })
                .collect();
        }
        if let Some(depth) = self.in_progress.iter().position(|pair| *pair == key) {
            // A recursive occurrence: assume compatible; the enclosing check of the same pair
            // reports whatever is wrong with it.
            self.lowest_assumption = self.lowest_assumption.min(depth);
            return Vec::new();
        }
        let depth = self.in_progress.len();
        self.in_progress.push(key);
        let outer_assumption = std::mem::replace(&mut self.lowest_assumption, usize::MAX);

        let mut out: Vec<Finding> =
            check_names(&reader.name, reader.aliases.as_deref(), &writer.name, path)
                .into_iter()
                .collect();
        path.push("fields".to_owned());
        for (index, reader_field) in reader.fields.iter().enumerate() {
            path.push(index.to_string());
            match find_writer_field(writer, reader_field) {
                Some(writer_field) => {
                    path.push("type".to_owned());
                    out.extend(self.check(&reader_field.schema, &writer_field.schema, path));
                    path.pop();
                }
                None if reader_field.default.is_none() => out.push(finding(
                    IncompatibilityType::ReaderFieldMissingDefaultValue,
                    path,
                    reader_field.name.clone(),
                )),
                None => {}
            }
            path.pop();
        }
        path.pop();
        out.truncate(MAX_FINDINGS_PER_RECORD);

        let used_assumption = self.lowest_assumption;
        let finished = self.in_progress.pop();
        // Results that relied on this pair being compatible are no longer valid.
        self.memo
            .retain(|_, memo| memo.depends_on.is_none_or(|on| on < depth));
        if let Some(pair) = finished {
            let prefix = path.len();
            let findings = out
                .iter()
                .map(|found| Finding {
                    error_type: found.error_type,
                    path: found.path.get(prefix..).unwrap_or_default().to_vec(),
                    info: found.info.clone(),
                })
                .collect();
            let depends_on = (used_assumption < depth).then_some(used_assumption);
            self.memo.insert(
                pair,
                Memo {
                    findings,
                    depends_on,
                },
            );
        }
        self.lowest_assumption = outer_assumption.min(used_assumption);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use IncompatibilityType::*;

    fn parse(json: &str) -> Schema {
        Schema::parse_str(json)
            .unwrap_or_else(|error| panic!("schema should parse: {error}\n{json}"))
    }

    /// A quoted primitive (or named type) schema.
    fn p(name: &str) -> String {
        format!("\"{name}\"")
    }

    /// A record `R` with one field `f` of the given type JSON.
    fn field(ty: &str) -> String {
        format!(r#"{{"type":"record","name":"R","fields":[{{"name":"f","type":{ty}}}]}}"#)
    }

    /// A record with the given name and fields JSON.
    fn record(name: &str, fields: &str) -> String {
        format!(r#"{{"type":"record","name":"{name}","fields":[{fields}]}}"#)
    }

    fn enumeration(symbols: &str, default: Option<&str>) -> String {
        match default {
            Some(default) => format!(
                r#"{{"type":"enum","name":"E","symbols":[{symbols}],"default":"{default}"}}"#
            ),
            None => format!(r#"{{"type":"enum","name":"E","symbols":[{symbols}]}}"#),
        }
    }

    fn fixed(name: &str, size: usize) -> String {
        format!(r#"{{"type":"fixed","name":"{name}","size":{size}}}"#)
    }

    fn bytes_decimal(precision: usize, scale: usize) -> String {
        format!(
            r#"{{"type":"bytes","logicalType":"decimal","precision":{precision},"scale":{scale}}}"#
        )
    }

    const DATE: &str = r#"{"type":"int","logicalType":"date"}"#;
    const TIMESTAMP_MILLIS: &str = r#"{"type":"long","logicalType":"timestamp-millis"}"#;

    const LIST: &str = r#"{"type":"record","name":"Node","fields":[
        {"name":"value","type":"long"},
        {"name":"next","type":["null","Node"],"default":null}]}"#;
    const LIST_INT: &str = r#"{"type":"record","name":"Node","fields":[
        {"name":"value","type":"int"},
        {"name":"next","type":["null","Node"],"default":null}]}"#;
    const LIST_LABELLED: &str = r#"{"type":"record","name":"Node","fields":[
        {"name":"value","type":"long"},
        {"name":"next","type":["null","Node"],"default":null},
        {"name":"label","type":"string"}]}"#;

    struct Case {
        name: &'static str,
        reader: String,
        writer: String,
        /// Expected (type, path, additional info); empty means compatible.
        expected: Vec<(IncompatibilityType, &'static str, &'static str)>,
    }

    fn ok(name: &'static str, reader: impl Into<String>, writer: impl Into<String>) -> Case {
        Case {
            name,
            reader: reader.into(),
            writer: writer.into(),
            expected: Vec::new(),
        }
    }

    fn bad(
        name: &'static str,
        reader: impl Into<String>,
        writer: impl Into<String>,
        expected: Vec<(IncompatibilityType, &'static str, &'static str)>,
    ) -> Case {
        Case {
            name,
            reader: reader.into(),
            writer: writer.into(),
            expected,
        }
    }

    fn cases() -> Vec<Case> {
        vec![
            // Primitives and promotions.
            ok("same primitive", p("string"), p("string")),
            ok("null reads null", p("null"), p("null")),
            ok("int -> long", p("long"), p("int")),
            ok("int -> float", p("float"), p("int")),
            ok("int -> double", p("double"), p("int")),
            ok("long -> float", p("float"), p("long")),
            ok("long -> double", p("double"), p("long")),
            ok("float -> double", p("double"), p("float")),
            ok("string -> bytes", p("bytes"), p("string")),
            ok("bytes -> string", p("string"), p("bytes")),
            bad(
                "long -> int",
                p("int"),
                p("long"),
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: INT not compatible with writer type: LONG",
                )],
            ),
            bad(
                "double -> float",
                p("float"),
                p("double"),
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: FLOAT not compatible with writer type: DOUBLE",
                )],
            ),
            bad(
                "float -> long",
                p("long"),
                p("float"),
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: LONG not compatible with writer type: FLOAT",
                )],
            ),
            bad(
                "int -> string",
                p("string"),
                p("int"),
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: STRING not compatible with writer type: INT",
                )],
            ),
            bad(
                "boolean -> int",
                p("int"),
                p("boolean"),
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: INT not compatible with writer type: BOOLEAN",
                )],
            ),
            bad(
                "string -> boolean",
                p("boolean"),
                p("string"),
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: BOOLEAN not compatible with writer type: STRING",
                )],
            ),
            // Logical types resolve on their physical type.
            ok("date read as int", p("int"), DATE),
            ok("int read as date", DATE, p("int")),
            ok("date promoted to long", p("long"), DATE),
            ok("timestamp-millis read as long", p("long"), TIMESTAMP_MILLIS),
            bad(
                "date read as string",
                p("string"),
                DATE,
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: STRING not compatible with writer type: INT",
                )],
            ),
            bad(
                "timestamp-millis read as date",
                DATE,
                TIMESTAMP_MILLIS,
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: INT not compatible with writer type: LONG",
                )],
            ),
            ok(
                "uuid read as string",
                p("string"),
                r#"{"type":"string","logicalType":"uuid"}"#,
            ),
            ok("same decimal", bytes_decimal(10, 2), bytes_decimal(10, 2)),
            ok("decimal read as bytes", p("bytes"), bytes_decimal(10, 2)),
            ok("bytes read as decimal", bytes_decimal(10, 2), p("bytes")),
            bad(
                "decimal scale change",
                bytes_decimal(10, 2),
                bytes_decimal(10, 3),
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: BYTES (decimal(10, 2)) not compatible with writer type: BYTES (decimal(10, 3))",
                )],
            ),
            bad(
                "decimal precision change in a field",
                field(&bytes_decimal(12, 2)),
                field(&bytes_decimal(10, 2)),
                vec![(
                    TypeMismatch,
                    "/fields/0/type",
                    "reader type: BYTES (decimal(12, 2)) not compatible with writer type: BYTES (decimal(10, 2))",
                )],
            ),
            bad(
                "fixed decimal scale change",
                r#"{"type":"fixed","name":"D","size":8,"logicalType":"decimal","precision":10,"scale":2}"#,
                r#"{"type":"fixed","name":"D","size":8,"logicalType":"decimal","precision":10,"scale":4}"#,
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: FIXED (decimal(10, 2)) not compatible with writer type: FIXED (decimal(10, 4))",
                )],
            ),
            // Records.
            ok(
                "added field with default",
                record(
                    "R",
                    r#"{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}"#,
                ),
                record("R", r#"{"name":"a","type":"int"}"#),
            ),
            ok(
                "added field with null default",
                record(
                    "R",
                    r#"{"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null}"#,
                ),
                record("R", r#"{"name":"a","type":"int"}"#),
            ),
            bad(
                "added field without default",
                record(
                    "R",
                    r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#,
                ),
                record("R", r#"{"name":"a","type":"int"}"#),
                vec![(ReaderFieldMissingDefaultValue, "/fields/1", "b")],
            ),
            ok(
                "removed field",
                record("R", r#"{"name":"a","type":"int"}"#),
                record(
                    "R",
                    r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#,
                ),
            ),
            ok(
                "renamed field via reader alias",
                record(
                    "R",
                    r#"{"name":"a","type":"int"},{"name":"c","type":"string","aliases":["b"]}"#,
                ),
                record(
                    "R",
                    r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#,
                ),
            ),
            bad(
                "renamed field without alias",
                record(
                    "R",
                    r#"{"name":"a","type":"int"},{"name":"c","type":"string"}"#,
                ),
                record(
                    "R",
                    r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#,
                ),
                vec![(ReaderFieldMissingDefaultValue, "/fields/1", "c")],
            ),
            bad(
                "writer field alias does not count",
                record("R", r#"{"name":"c","type":"string"}"#),
                record("R", r#"{"name":"b","type":"string","aliases":["c"]}"#),
                vec![(ReaderFieldMissingDefaultValue, "/fields/0", "c")],
            ),
            bad(
                "field type change",
                record("R", r#"{"name":"a","type":"string"}"#),
                record("R", r#"{"name":"a","type":"int"}"#),
                vec![(
                    TypeMismatch,
                    "/fields/0/type",
                    "reader type: STRING not compatible with writer type: INT",
                )],
            ),
            ok(
                "field type promotion",
                record("R", r#"{"name":"a","type":"double"}"#),
                record("R", r#"{"name":"a","type":"int"}"#),
            ),
            bad(
                "record renamed",
                record("S", r#"{"name":"a","type":"int"}"#),
                record("R", r#"{"name":"a","type":"int"}"#),
                vec![(NameMismatch, "/name", "expected: R")],
            ),
            ok(
                "record renamed with reader alias",
                r#"{"type":"record","name":"S","aliases":["R"],"fields":[{"name":"a","type":"int"}]}"#,
                record("R", r#"{"name":"a","type":"int"}"#),
            ),
            ok(
                "record alias with full name",
                r#"{"type":"record","name":"S","namespace":"x","aliases":["y.R"],"fields":[]}"#,
                r#"{"type":"record","name":"R","namespace":"y","fields":[]}"#,
            ),
            ok(
                "record namespace change (unqualified names match)",
                r#"{"type":"record","name":"R","namespace":"a","fields":[]}"#,
                r#"{"type":"record","name":"R","namespace":"b","fields":[]}"#,
            ),
            bad(
                "nested record field type change",
                record(
                    "Outer",
                    r#"{"name":"a","type":"int"},{"name":"inner","type":{"type":"record","name":"Inner","fields":[{"name":"x","type":"string"}]}}"#,
                ),
                record(
                    "Outer",
                    r#"{"name":"a","type":"int"},{"name":"inner","type":{"type":"record","name":"Inner","fields":[{"name":"x","type":"int"}]}}"#,
                ),
                vec![(
                    TypeMismatch,
                    "/fields/1/type/fields/0/type",
                    "reader type: STRING not compatible with writer type: INT",
                )],
            ),
            bad(
                "record read as map",
                r#"{"type":"map","values":"int"}"#,
                record("R", r#"{"name":"a","type":"int"}"#),
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: MAP not compatible with writer type: RECORD",
                )],
            ),
            // Enums.
            ok(
                "enum symbol added",
                field(&enumeration(r#""A","B","C""#, None)),
                field(&enumeration(r#""A","B""#, None)),
            ),
            bad(
                "enum symbols removed",
                field(&enumeration(r#""A","B""#, None)),
                field(&enumeration(r#""A","D","B","C""#, None)),
                vec![(MissingEnumSymbols, "/fields/0/type/symbols", "[C, D]")],
            ),
            ok(
                "enum symbol removed with reader default",
                field(&enumeration(r#""A","B""#, Some("A"))),
                field(&enumeration(r#""A","B","C""#, None)),
            ),
            bad(
                "enum renamed",
                r#"{"type":"enum","name":"F","symbols":["A"]}"#,
                r#"{"type":"enum","name":"E","symbols":["A"]}"#,
                vec![(NameMismatch, "/name", "expected: E")],
            ),
            ok(
                "enum renamed with alias",
                r#"{"type":"enum","name":"F","aliases":["E"],"symbols":["A"]}"#,
                r#"{"type":"enum","name":"E","symbols":["A"]}"#,
            ),
            // Fixed.
            ok("same fixed", fixed("F", 16), fixed("F", 16)),
            bad(
                "fixed size change",
                fixed("F", 16),
                fixed("F", 8),
                vec![(FixedSizeMismatch, "/size", "expected: 8, found: 16")],
            ),
            bad(
                "fixed renamed",
                fixed("G", 8),
                fixed("F", 8),
                vec![(NameMismatch, "/name", "expected: F")],
            ),
            bad(
                "fixed read as bytes",
                p("bytes"),
                fixed("F", 8),
                vec![(
                    TypeMismatch,
                    "/",
                    "reader type: BYTES not compatible with writer type: FIXED",
                )],
            ),
            // Arrays and maps.
            ok(
                "array items promoted",
                field(r#"{"type":"array","items":"long"}"#),
                field(r#"{"type":"array","items":"int"}"#),
            ),
            bad(
                "array items narrowed",
                field(r#"{"type":"array","items":"int"}"#),
                field(r#"{"type":"array","items":"long"}"#),
                vec![(
                    TypeMismatch,
                    "/fields/0/type/items",
                    "reader type: INT not compatible with writer type: LONG",
                )],
            ),
            ok(
                "map values promoted",
                field(r#"{"type":"map","values":"double"}"#),
                field(r#"{"type":"map","values":"float"}"#),
            ),
            bad(
                "map values changed",
                field(r#"{"type":"map","values":"string"}"#),
                field(r#"{"type":"map","values":"boolean"}"#),
                vec![(
                    TypeMismatch,
                    "/fields/0/type/values",
                    "reader type: STRING not compatible with writer type: BOOLEAN",
                )],
            ),
            bad(
                "array read as map",
                field(r#"{"type":"map","values":"int"}"#),
                field(r#"{"type":"array","items":"int"}"#),
                vec![(
                    TypeMismatch,
                    "/fields/0/type",
                    "reader type: MAP not compatible with writer type: ARRAY",
                )],
            ),
            // Unions.
            ok(
                "reader union adds a branch",
                r#"["null","string","int"]"#,
                r#"["null","string"]"#,
            ),
            bad(
                "reader union drops a branch",
                r#"["null","string"]"#,
                r#"["null","string","int"]"#,
                vec![(
                    MissingUnionBranch,
                    "/2",
                    "reader union lacking writer type: INT",
                )],
            ),
            bad(
                "reader union drops a branch inside a field",
                field(r#"["null","string"]"#),
                field(r#"["null","int","string"]"#),
                vec![(
                    MissingUnionBranch,
                    "/fields/0/type/1",
                    "reader union lacking writer type: INT",
                )],
            ),
            ok(
                "union branch promoted",
                r#"["null","long"]"#,
                r#"["null","int"]"#,
            ),
            ok(
                "union branches reordered",
                r#"["string","null"]"#,
                r#"["null","string"]"#,
            ),
            ok(
                "non-union read by union",
                r#"["null","string"]"#,
                p("string"),
            ),
            ok(
                "non-union promoted into union",
                r#"["null","double"]"#,
                p("int"),
            ),
            ok("null read by union", r#"["null","string"]"#, p("null")),
            bad(
                "non-union missing from reader union",
                r#"["null","string"]"#,
                p("int"),
                vec![(
                    MissingUnionBranch,
                    "/",
                    "reader union lacking writer type: INT",
                )],
            ),
            bad(
                "writer union read by non-union",
                p("string"),
                r#"["null","string"]"#,
                vec![(
                    TypeMismatch,
                    "/0",
                    "reader type: STRING not compatible with writer type: NULL",
                )],
            ),
            bad(
                "optional field made required",
                field(p("null").as_str()),
                field(r#"["null","string"]"#),
                vec![(
                    TypeMismatch,
                    "/fields/0/type/1",
                    "reader type: NULL not compatible with writer type: STRING",
                )],
            ),
            ok(
                "union of records matched by name",
                field(&format!(
                    "[{},{}]",
                    record("A", r#"{"name":"x","type":"int"}"#),
                    record("B", r#"{"name":"y","type":"long"}"#)
                )),
                field(&record("B", r#"{"name":"y","type":"int"}"#)),
            ),
            // Recursive schemas and references.
            ok("recursive linked list", LIST, LIST),
            ok("recursive linked list with promotion", LIST, LIST_INT),
            bad(
                "recursive linked list narrowed",
                LIST_INT,
                LIST,
                vec![(
                    TypeMismatch,
                    "/fields/0/type",
                    "reader type: INT not compatible with writer type: LONG",
                )],
            ),
            bad(
                "recursive linked list with required field added",
                LIST_LABELLED,
                LIST,
                vec![(ReaderFieldMissingDefaultValue, "/fields/2", "label")],
            ),
            ok(
                "recursive tree via array",
                r#"{"type":"record","name":"T","fields":[{"name":"v","type":"long"},{"name":"kids","type":{"type":"array","items":"T"}}]}"#,
                r#"{"type":"record","name":"T","fields":[{"name":"v","type":"int"},{"name":"kids","type":{"type":"array","items":"T"}}]}"#,
            ),
            bad(
                "named type referenced twice",
                record(
                    "R",
                    &format!(
                        r#"{{"name":"a","type":{}}},{{"name":"b","type":"F"}}"#,
                        fixed("F", 4)
                    ),
                ),
                record(
                    "R",
                    &format!(
                        r#"{{"name":"a","type":{}}},{{"name":"b","type":"F"}}"#,
                        fixed("F", 8)
                    ),
                ),
                vec![
                    (
                        FixedSizeMismatch,
                        "/fields/0/type/size",
                        "expected: 8, found: 4",
                    ),
                    (
                        FixedSizeMismatch,
                        "/fields/1/type/size",
                        "expected: 8, found: 4",
                    ),
                ],
            ),
            bad(
                "referenced enum inside a union",
                record(
                    "R",
                    &format!(
                        r#"{{"name":"e","type":{}}},{{"name":"o","type":["null","E"]}}"#,
                        enumeration(r#""A","B""#, None)
                    ),
                ),
                record(
                    "R",
                    &format!(
                        r#"{{"name":"e","type":{}}},{{"name":"o","type":["null","E"]}}"#,
                        enumeration(r#""A","B","C""#, None)
                    ),
                ),
                vec![
                    (MissingEnumSymbols, "/fields/0/type/symbols", "[C]"),
                    (
                        MissingUnionBranch,
                        "/fields/1/type/1",
                        "reader union lacking writer type: ENUM",
                    ),
                ],
            ),
        ]
    }

    #[test]
    fn can_read_table() {
        let mut failures = Vec::new();
        for case in cases() {
            let reader = parse(&case.reader);
            let writer = parse(&case.writer);
            let actual: Vec<(IncompatibilityType, String, String)> = can_read(&reader, &writer)
                .into_iter()
                .map(|i| (i.error_type, i.path, i.additional_info))
                .collect();
            let expected: Vec<(IncompatibilityType, String, String)> = case
                .expected
                .iter()
                .map(|(t, path, info)| (*t, (*path).to_owned(), (*info).to_owned()))
                .collect();
            if actual != expected {
                failures.push(format!(
                    "{}:\n  expected {expected:?}\n  actual   {actual:?}",
                    case.name
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn descriptions_use_confluent_wording() {
        let reader = parse(&record(
            "R",
            r#"{"name":"a","type":"int"},{"name":"f2","type":"string"}"#,
        ));
        let writer = parse(&record("R", r#"{"name":"a","type":"int"}"#));
        let found = can_read(&reader, &writer);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].render(),
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'f2' at path \
             '/fields/1' in the new schema has no default value and is missing in the old schema', \
             additionalInfo:'f2'}"
        );
        assert_eq!(found[0].to_string(), found[0].render());

        let reader = parse(&field(p("string").as_str()));
        let writer = parse(&field(p("int").as_str()));
        let found = can_read(&reader, &writer);
        assert_eq!(
            found[0].description,
            "The type (path '/fields/0/type') of a field in the new schema does not match with the old schema"
        );
    }

    #[test]
    fn level_names_round_trip() {
        for level in ALL_LEVELS {
            assert_eq!(CompatibilityLevel::parse(level.as_str()), Some(level));
            assert_eq!(
                CompatibilityLevel::parse(&level.as_str().to_lowercase()),
                Some(level)
            );
        }
        assert_eq!(
            CompatibilityLevel::parse("Backward_Transitive"),
            Some(CompatibilityLevel::BackwardTransitive)
        );
        assert_eq!(CompatibilityLevel::parse("sideways"), None);
        assert_eq!(CompatibilityLevel::parse(""), None);
        assert_eq!(
            CompatibilityLevel::FullTransitive.as_str(),
            "FULL_TRANSITIVE"
        );
        let transitive: Vec<_> = ALL_LEVELS
            .into_iter()
            .filter(|l| l.is_transitive())
            .collect();
        assert_eq!(
            transitive,
            vec![
                CompatibilityLevel::BackwardTransitive,
                CompatibilityLevel::ForwardTransitive,
                CompatibilityLevel::FullTransitive
            ]
        );
        assert_eq!(
            IncompatibilityType::MissingUnionBranch.as_str(),
            "MISSING_UNION_BRANCH"
        );
    }

    /// Records T0..=T{depth}, each Ti holding two fields of type T{i+1} (one inline
    /// definition, one reference), so the expanded tree has 2^depth leaves. The last record
    /// has a `v` field of type `leaf` and, when `cyclic`, an optional back-reference to T0.
    fn shared_dag(depth: usize, leaf: &str, cyclic: bool) -> String {
        let back = if cyclic {
            r#",{"name":"back","type":["null","T0"],"default":null}"#
        } else {
            ""
        };
        let mut json = format!(
            r#"{{"type":"record","name":"T{depth}","fields":[{{"name":"v","type":"{leaf}"}}{back}]}}"#
        );
        for level in (0..depth).rev() {
            json = format!(
                r#"{{"type":"record","name":"T{level}","fields":[{{"name":"a","type":{json}}},{{"name":"b","type":"T{next}"}}]}}"#,
                next = level + 1
            );
        }
        json
    }

    #[test]
    fn shared_named_types_do_not_explode() {
        for cyclic in [false, true] {
            let int_leaf = parse(&shared_dag(40, "int", cyclic));
            let long_leaf = parse(&shared_dag(40, "long", cyclic));
            assert!(
                can_read(&long_leaf, &int_leaf).is_empty(),
                "cyclic: {cyclic}"
            );
            assert!(
                can_read(&int_leaf, &int_leaf).is_empty(),
                "cyclic: {cyclic}"
            );
            let found = can_read(&int_leaf, &long_leaf);
            assert_eq!(found.len(), MAX_FINDINGS_PER_RECORD, "cyclic: {cyclic}");
            let expected_path = format!("{}/fields/0/type", "/fields/0/type".repeat(40));
            assert_eq!(found[0].path, expected_path);
            assert!(found.iter().all(|i| i.error_type == TypeMismatch));
            let last = found.last().map(|i| i.path.as_str()).unwrap();
            assert!(last.starts_with("/fields/0/type"), "{last}");
            assert!(last.contains("/fields/1/type"), "{last}");
        }
    }

    #[test]
    fn references_to_other_schemas_compare_by_name() {
        // Schemas parsed as a list keep references to types defined in sibling schemas.
        let inner = r#"{"type":"record","name":"Inner","namespace":"n","fields":[{"name":"x","type":"int"}]}"#;
        let other = r#"{"type":"record","name":"Other","namespace":"n","fields":[{"name":"x","type":"int"}]}"#;
        let outer = |ty: &str| {
            format!(
                r#"{{"type":"record","name":"Outer","namespace":"n","fields":[{{"name":"i","type":"{ty}"}}]}}"#
            )
        };
        let first = Schema::parse_list([inner, other, outer("Inner").as_str()]).unwrap();
        let second = Schema::parse_list([inner, other, outer("Other").as_str()]).unwrap();
        let (uses_inner, uses_other) = (&first[2], &second[2]);
        assert!(can_read(uses_inner, uses_inner).is_empty());
        let found = can_read(uses_inner, uses_other);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].error_type, TypeMismatch);
        assert_eq!(found[0].path, "/fields/0/type");
        assert_eq!(
            found[0].additional_info,
            "reader type: unresolved reference 'n.Inner' not compatible with writer type: \
             unresolved reference 'n.Other'"
        );
    }

    /// v1 {a}; v2 {a, b with default}; v3 {a, b required}: v3 reads v2 but not v1.
    fn backward_history() -> (Schema, Schema, Schema) {
        (
            parse(&record("R", r#"{"name":"a","type":"int"}"#)),
            parse(&record(
                "R",
                r#"{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}"#,
            )),
            parse(&record(
                "R",
                r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#,
            )),
        )
    }

    /// v1 {a, b required}; v2 {a, b with default}; v3 {a}: v2 reads v3 but v1 does not.
    fn forward_history() -> (Schema, Schema, Schema) {
        (
            parse(&record(
                "R",
                r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#,
            )),
            parse(&record(
                "R",
                r#"{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}"#,
            )),
            parse(&record("R", r#"{"name":"a","type":"int"}"#)),
        )
    }

    #[test]
    fn check_levels_backward_history() {
        use CompatibilityLevel::*;
        let (v1, v2, v3) = backward_history();
        let existing = [(1, &v1), (2, &v2)];
        let expectations = [
            (None, true),
            (Backward, true),
            (BackwardTransitive, false),
            (Forward, true),
            (ForwardTransitive, true),
            (Full, true),
            (FullTransitive, false),
        ];
        for (level, compatible) in expectations {
            let messages = check(level, &v3, &existing);
            assert_eq!(messages.is_empty(), compatible, "{level}: {messages:?}");
        }

        let messages = check(BackwardTransitive, &v3, &existing);
        assert_eq!(messages.len(), 1, "{messages:?}");
        let message = &messages[0];
        assert!(
            message.contains("errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'"),
            "{message}"
        );
        assert!(message.contains("path '/fields/1'"), "{message}");
        assert!(
            message.contains(
                "in the new schema has no default value and is missing in the old schema"
            ),
            "{message}"
        );
        assert!(message.contains("{oldSchemaVersion: 1}"), "{message}");
        assert!(
            message.contains("{compatibility: 'BACKWARD_TRANSITIVE'}"),
            "{message}"
        );

        let messages = check(FullTransitive, &v3, &existing);
        assert!(
            messages[0].contains("{compatibility: 'FULL_TRANSITIVE'}"),
            "{messages:?}"
        );
    }

    #[test]
    fn check_levels_forward_history() {
        use CompatibilityLevel::*;
        let (v1, v2, v3) = forward_history();
        let existing = [(1, &v1), (2, &v2)];
        let expectations = [
            (None, true),
            (Backward, true),
            (BackwardTransitive, true),
            (Forward, true),
            (ForwardTransitive, false),
            (Full, true),
            (FullTransitive, false),
        ];
        for (level, compatible) in expectations {
            let messages = check(level, &v3, &existing);
            assert_eq!(messages.is_empty(), compatible, "{level}: {messages:?}");
        }

        let messages = check(ForwardTransitive, &v3, &existing);
        assert_eq!(messages.len(), 1, "{messages:?}");
        let message = &messages[0];
        assert!(
            message.contains("errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'"),
            "{message}"
        );
        assert!(
            message.contains(
                "The field 'b' at path '/fields/1' in the old schema has no default value and is missing in the new schema"
            ),
            "{message}"
        );
        assert!(message.contains("{oldSchemaVersion: 1}"), "{message}");
        assert!(
            message.contains("{compatibility: 'FORWARD_TRANSITIVE'}"),
            "{message}"
        );
    }

    #[test]
    fn full_requires_both_directions() {
        use CompatibilityLevel::*;
        // Adding a required field breaks BACKWARD only; removing one breaks FORWARD only.
        let base = parse(&record("R", r#"{"name":"a","type":"int"}"#));
        let added = parse(&record(
            "R",
            r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#,
        ));
        assert!(!check(Backward, &added, &[(1, &base)]).is_empty());
        assert!(check(Forward, &added, &[(1, &base)]).is_empty());
        assert!(!check(Full, &added, &[(1, &base)]).is_empty());
        assert!(check(Backward, &base, &[(1, &added)]).is_empty());
        assert!(!check(Forward, &base, &[(1, &added)]).is_empty());
        let messages = check(Full, &base, &[(7, &added)]);
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("in the old schema"), "{messages:?}");
        assert!(
            messages[0].contains("{oldSchemaVersion: 7}"),
            "{messages:?}"
        );
        assert!(
            messages[0].contains("{compatibility: 'FULL'}"),
            "{messages:?}"
        );

        // A type change that fails in both directions is reported twice under FULL.
        let int_field = parse(&field(p("int").as_str()));
        let string_field = parse(&field(p("string").as_str()));
        let messages = check(Full, &string_field, &[(1, &int_field)]);
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("reader type: STRING not compatible with writer type: INT"));
        assert!(messages[1].contains("reader type: INT not compatible with writer type: STRING"));
        // A widening is BACKWARD but not FORWARD compatible.
        let long_field = parse(&field(p("long").as_str()));
        assert!(check(Backward, &long_field, &[(1, &int_field)]).is_empty());
        assert!(!check(Forward, &long_field, &[(1, &int_field)]).is_empty());
        assert!(!check(Full, &long_field, &[(1, &int_field)]).is_empty());
    }

    #[test]
    fn check_edge_cases() {
        use CompatibilityLevel::*;
        let int_schema = parse(&p("int"));
        let string_schema = parse(&p("string"));
        assert!(check(None, &string_schema, &[(1, &int_schema)]).is_empty());
        assert!(check(BackwardTransitive, &string_schema, &[]).is_empty());
        // Non-transitive levels only look at the latest version.
        assert!(
            check(
                Backward,
                &string_schema,
                &[(1, &int_schema), (2, &string_schema)]
            )
            .is_empty()
        );
        let messages = check(
            Backward,
            &string_schema,
            &[(1, &string_schema), (2, &int_schema)],
        );
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("errorType:'TYPE_MISMATCH'"));
        assert!(messages[0].contains("(path '/')"));
        assert!(messages[0].contains("{oldSchemaVersion: 2}"));
        // Transitive levels report the newest incompatible version first.
        let messages = check(
            BackwardTransitive,
            &string_schema,
            &[(1, &int_schema), (2, &int_schema)],
        );
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("{oldSchemaVersion: 2}"));
    }
}
