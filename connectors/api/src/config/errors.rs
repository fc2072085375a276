use std::fmt;

use thiserror::Error;

/// One bad key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every problem found in a configuration, reported together.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ConfigErrors {
    pub issues: Vec<ConfigIssue>,
}

impl ConfigErrors {
    pub fn single(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            issues: vec![ConfigIssue {
                key: key.into(),
                message: message.into(),
            }],
        }
    }

    /// The keys named, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.issues.iter().map(|i| i.key.as_str()).collect()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Kafka Connect's wording, so scripts that grep for it keep working.
        write!(
            f,
            "Connector configuration is invalid and contains the following {} error(s):",
            self.issues.len()
        )?;
        for issue in &self.issues {
            write!(f, "\n{}", issue.message)?;
        }
        Ok(())
    }
}
