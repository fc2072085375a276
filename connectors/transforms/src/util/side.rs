use sluice_connect_api::ConnectRecord;
use sluice_connect_api::schema::{SchemaRef, Value};

/// The part of the record a transform works on: Kafka Connect's `$Key` and
/// `$Value` variants of one transform class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    /// The schema of the key or value.
    pub(crate) fn schema(self, record: &dyn ConnectRecord) -> Option<&SchemaRef> {
        match self {
            Self::Key => record.key_schema(),
            Self::Value => record.value_schema(),
        }
    }

    /// The key or the value.
    pub(crate) fn value(self, record: &dyn ConnectRecord) -> &Value {
        match self {
            Self::Key => record.key(),
            Self::Value => record.value(),
        }
    }

    /// The schema and value to edit in place.
    pub(crate) fn parts(
        self,
        record: &mut dyn ConnectRecord,
    ) -> (&mut Option<SchemaRef>, &mut Value) {
        match self {
            Self::Key => record.key_mut(),
            Self::Value => record.value_mut(),
        }
    }
}
