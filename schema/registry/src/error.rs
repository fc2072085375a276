//! Errors as Confluent Schema Registry reports them: an HTTP status plus a body
//! `{"error_code": N, "message": "..."}` whose code refines the status.

/// A registry operation that failed, with Confluent's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (error code {code})")]
pub struct RegistryError {
    /// Confluent's error code: 40401, 42201, 409, 50001, ...
    pub code: u32,
    /// The message returned to the client.
    pub message: String,
}

impl RegistryError {
    fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status that carries this code: the first three digits.
    pub fn http_status(&self) -> u16 {
        let mut code = self.code;
        while code >= 1000 {
            code /= 10;
        }
        u16::try_from(code).unwrap_or(500)
    }

    /// 40401
    pub fn subject_not_found(subject: &str) -> Self {
        Self::new(40401, format!("Subject '{subject}' not found."))
    }

    /// 40402
    pub fn version_not_found(version: u32) -> Self {
        Self::new(40402, format!("Version {version} not found."))
    }

    /// 40403 for an id.
    pub fn schema_id_not_found(id: u32) -> Self {
        Self::new(40403, format!("Schema {id} not found"))
    }

    /// 40403 for a lookup by content.
    pub fn schema_not_found() -> Self {
        Self::new(40403, "Schema not found")
    }

    /// 40404
    pub fn subject_soft_deleted(subject: &str) -> Self {
        Self::new(
            40404,
            format!(
                "Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
            ),
        )
    }

    /// 40405
    pub fn subject_not_soft_deleted(subject: &str) -> Self {
        Self::new(
            40405,
            format!("Subject '{subject}' was not deleted first before being permanently deleted"),
        )
    }

    /// 40406
    pub fn version_soft_deleted(subject: &str, version: u32) -> Self {
        Self::new(
            40406,
            format!(
                "Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently"
            ),
        )
    }

    /// 40407
    pub fn version_not_soft_deleted(subject: &str, version: u32) -> Self {
        Self::new(
            40407,
            format!(
                "Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
            ),
        )
    }

    /// 40408
    pub fn subject_compatibility_not_configured(subject: &str) -> Self {
        Self::new(
            40408,
            format!("Subject '{subject}' does not have subject-level compatibility configured"),
        )
    }

    /// 40409
    pub fn subject_mode_not_configured(subject: &str) -> Self {
        Self::new(
            40409,
            format!("Subject '{subject}' does not have subject-level mode configured"),
        )
    }

    /// 409 with the incompatibilities found.
    pub fn incompatible(subject: &str, messages: &[String]) -> Self {
        Self::new(
            409,
            format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                messages.join(", ")
            ),
        )
    }

    /// 42201
    pub fn invalid_schema(detail: impl std::fmt::Display) -> Self {
        Self::new(42201, format!("Invalid schema: {detail}"))
    }

    /// 42202
    pub fn invalid_version(version: &str) -> Self {
        Self::new(
            42202,
            format!(
                "The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
        )
    }

    /// 42203
    pub fn invalid_compatibility_level(level: &str) -> Self {
        Self::new(
            42203,
            format!(
                "Invalid compatibility level '{level}'. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"
            ),
        )
    }

    /// 42204
    pub fn invalid_mode(mode: &str) -> Self {
        Self::new(
            42204,
            format!("Invalid mode '{mode}'. Valid values are READWRITE, READONLY and IMPORT"),
        )
    }

    /// 42205
    pub fn operation_not_permitted(message: impl Into<String>) -> Self {
        Self::new(42205, message)
    }

    /// 422 for a request body that is not what the endpoint takes.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, message)
    }

    /// 50001
    pub fn store(message: impl std::fmt::Display) -> Self {
        Self::new(50001, format!("Error in the backend data store: {message}"))
    }

    /// 50002
    pub fn store_timeout(message: impl std::fmt::Display) -> Self {
        Self::new(
            50002,
            format!("Timed out in the backend data store: {message}"),
        )
    }

    /// 40101
    pub fn unauthorized() -> Self {
        Self::new(40101, "Unauthorized")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_the_code_prefix() {
        assert_eq!(RegistryError::subject_not_found("s").http_status(), 404);
        assert_eq!(RegistryError::incompatible("s", &[]).http_status(), 409);
        assert_eq!(RegistryError::invalid_schema("x").http_status(), 422);
        assert_eq!(RegistryError::store("x").http_status(), 500);
        assert_eq!(RegistryError::unauthorized().http_status(), 401);
    }
}
