//! Kafka Connect's data model for Sluice.
//!
//! A record's key, value and headers are a [`Value`] described by an optional
//! [`Schema`]: the same model as `org.apache.kafka.connect.data` (primitive
//! types int8..int64, float32/64, boolean, string, bytes; array, map, struct;
//! optional, default, name, version, doc, parameters) with the logical types
//! Decimal, Date, Time and Timestamp carried in their physical representation
//! (see [`logical`]).
//!
//! [`converter`] turns these values into bytes and back with the same output as
//! Kafka Connect's converters of the same class name.
//!
//! ```
//! use sluice_schema::{Schema, SchemaBuilder, Struct, Value};
//! let schema = SchemaBuilder::struct_()
//!     .name("com.example.User")
//!     .field("id", Schema::int64())
//!     .field("email", Schema::optional_string())
//!     .build();
//! let user = Struct::new(schema.clone())
//!     .put("id", Value::Int64(42)).unwrap()
//!     .put("email", Value::String("a@b.c".into())).unwrap();
//! user.validate().unwrap();
//! assert_eq!(user.get("id"), Some(&Value::Int64(42)));
//! ```

#[cfg(feature = "avro")]
pub mod avro;
pub mod converter;
mod error;
pub mod logical;
mod schema;
mod value;

pub use error::DataError;
pub use schema::{Field, Schema, SchemaBuilder, SchemaRef, SchemaType};
pub use value::{SchemaAndValue, Struct, Value};
