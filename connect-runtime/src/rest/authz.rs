//! Authorization on the REST API (issue 21, item 5): roles after
//! Confluent's Connect RBAC, bound to principals on the cluster or on
//! connectors (`Connector:<name>`, `Connector:<prefix>*`), least privilege:
//! a principal with no binding may do nothing but what is anonymous.
//!
//! `rest.auth.roles.file` (needs authentication on) holds one line per
//! principal, bindings separated by `;`:
//!
//! ```properties
//! admin=SystemAdmin
//! alice=ResourceOwner:Connector:orders-*;DeveloperRead:cluster
//! bob=Operator:Connector:orders-db
//! ```
//!
//! Without the file every authenticated principal may do everything,
//! unless bearer tokens carry roles (`rest.auth.oauthbearer.roles.claim.name`):
//! then a token's roles are its bindings.

use std::collections::BTreeMap;

pub const ROLES_FILE: &str = "rest.auth.roles.file";

/// What a REST call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// Connector names, states, task states, topics; metrics (cluster).
    ReadStatus,
    /// Connector and task configs, offsets.
    ReadConfig,
    Create,
    Configure,
    /// Pause, resume, stop, restart.
    Operate,
    /// Alter or reset offsets, reset topics.
    AlterOffsets,
    Delete,
    /// `/admin/loggers`.
    Loggers,
    /// `/admin/secrets/rotate`.
    Secrets,
}

impl Op {
    /// The operation's name in `/openapi.json` (`x-sluice-operation`).
    pub fn id(self) -> &'static str {
        match self {
            Self::ReadStatus => "read-status",
            Self::ReadConfig => "read-config",
            Self::Create => "create",
            Self::Configure => "configure",
            Self::Operate => "operate",
            Self::AlterOffsets => "alter-offsets",
            Self::Delete => "delete",
            Self::Loggers => "loggers",
            Self::Secrets => "rotate-secrets",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::ReadStatus => "read status",
            Self::ReadConfig => "read the config of",
            Self::Create => "create",
            Self::Configure => "configure",
            Self::Operate => "pause, resume, stop or restart",
            Self::AlterOffsets => "alter the offsets of",
            Self::Delete => "delete",
            Self::Loggers => "change or read log levels of",
            Self::Secrets => "re-seal the stored secrets of",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    SystemAdmin,
    ResourceOwner,
    DeveloperManage,
    DeveloperWrite,
    DeveloperRead,
    Operator,
}

impl Role {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SystemAdmin" => Self::SystemAdmin,
            "ResourceOwner" => Self::ResourceOwner,
            "DeveloperManage" => Self::DeveloperManage,
            "DeveloperWrite" => Self::DeveloperWrite,
            "DeveloperRead" => Self::DeveloperRead,
            "Operator" => Self::Operator,
            _ => return None,
        })
    }

    fn grants(self, op: Op) -> bool {
        use Op::*;
        match self {
            Self::SystemAdmin => true,
            Self::ResourceOwner => !matches!(op, Loggers | Secrets),
            Self::DeveloperManage => {
                matches!(op, ReadStatus | ReadConfig | Create | Configure | Delete)
            }
            Self::DeveloperWrite => matches!(op, ReadStatus | ReadConfig | Create | Configure),
            Self::DeveloperRead => matches!(op, ReadStatus | ReadConfig),
            Self::Operator => matches!(op, ReadStatus | Operate),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Cluster,
    Connector(String),
    Prefix(String),
}

impl Scope {
    fn covers(&self, connector: Option<&str>) -> bool {
        match (self, connector) {
            (Self::Cluster, _) => true,
            (Self::Connector(n), Some(c)) => n == c,
            (Self::Prefix(p), Some(c)) => c.starts_with(p.as_str()),
            _ => false,
        }
    }
}

/// Who may do what.
#[derive(Debug, Clone, Default)]
pub struct Rbac {
    bindings: BTreeMap<String, Vec<(Role, Scope)>>,
}

fn binding(principal: &str, text: &str, path: &str) -> Result<(Role, Scope), String> {
    let bad = |m: &str| format!("{path}: binding '{text}' of {principal}: {m}");
    let (role, scope) = match text.split_once(':') {
        Some((r, s)) => (r.trim(), s.trim()),
        None => (text.trim(), "cluster"),
    };
    let role = Role::parse(role).ok_or_else(|| {
        bad("unknown role (SystemAdmin, ResourceOwner, DeveloperManage, DeveloperWrite, DeveloperRead, Operator)")
    })?;
    let scope = if scope.eq_ignore_ascii_case("cluster") {
        Scope::Cluster
    } else if let Some(name) = scope.strip_prefix("Connector:") {
        match name.strip_suffix('*') {
            Some(prefix) => Scope::Prefix(prefix.to_string()),
            None if !name.is_empty() => Scope::Connector(name.to_string()),
            None => return Err(bad("Connector: needs a name or a prefix*")),
        }
    } else {
        return Err(bad(
            "the resource is cluster, Connector:<name> or Connector:<prefix>*",
        ));
    };
    if role == Role::SystemAdmin && scope != Scope::Cluster {
        return Err(bad("SystemAdmin is bound on the cluster only"));
    }
    Ok((role, scope))
}

impl Rbac {
    /// Reads `rest.auth.roles.file`; `None` when it is not set.
    pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        let Some(path) = props
            .get(ROLES_FILE)
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
        else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{ROLES_FILE}: cannot read {path}: {e}"))?;
        let props = crate::config::properties::parse(&text)
            .map_err(|e| format!("{ROLES_FILE}: {path}: {e}"))?;
        let mut bindings = BTreeMap::new();
        for (principal, list) in props {
            let b = list
                .split(';')
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(|b| binding(&principal, b, path))
                .collect::<Result<Vec<_>, _>>()?;
            bindings.insert(principal, b);
        }
        Ok(Some(Self { bindings }))
    }

    /// These bindings plus those a bearer token carries for `principal`
    /// (the roles claim, in the roles file's form; bindings that do not
    /// parse grant nothing).
    pub fn with_token_roles(&self, principal: &str, roles: &[String]) -> Self {
        let mut out = self.clone();
        let own = out.bindings.entry(principal.to_string()).or_default();
        for r in roles {
            match binding(principal, r, "the token's roles claim") {
                Ok(b) => own.push(b),
                Err(e) => tracing::debug!(error = %e, "a token role grants nothing"),
            }
        }
        out
    }

    /// May `principal` do `op` on `connector` (`None`: the cluster)?
    pub fn allows(&self, principal: &str, op: Op, connector: Option<&str>) -> bool {
        self.bindings.get(principal).is_some_and(|bs| {
            bs.iter().any(|(role, scope)| {
                role.grants(op)
                    && match connector {
                        Some(_) => scope.covers(connector),
                        // Cluster-wide operations need a cluster binding.
                        None => *scope == Scope::Cluster,
                    }
            })
        })
    }
}

/// What a call needs: the operation and the connector it touches (`None`:
/// the cluster), or nothing beyond being authenticated (plugins, the API
/// document, validation, listing connectors, which is filtered instead).
pub fn required(method: &str, path: &str, body: &[u8]) -> Option<(Op, Option<String>)> {
    // HEAD is served by the GET handlers.
    let method = if method == "HEAD" { "GET" } else { method };
    // As the handlers see them: percent-decoded.
    let decoded = segments(path);
    let parts: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let c = |name: &str| Some(name.to_string());
    Some(match (method, parts.as_slice()) {
        ("POST", ["connectors"]) => {
            let name = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(String::from))
                .unwrap_or_default();
            (Op::Create, Some(name))
        }
        // The connector's info holds its config.
        ("GET", ["connectors", n]) => (Op::ReadConfig, c(n)),
        ("GET", ["connectors", n, "status" | "topics"]) => (Op::ReadStatus, c(n)),
        ("GET", ["connectors", n, "tasks", _, "status"]) => (Op::ReadStatus, c(n)),
        ("GET", ["connectors", n, "config" | "tasks" | "offsets"]) => (Op::ReadConfig, c(n)),
        // Creating through PUT is checked as configure plus create by the
        // caller, which knows whether the connector exists.
        ("PUT" | "PATCH", ["connectors", n, "config"]) => (Op::Configure, c(n)),
        ("DELETE", ["connectors", n]) => (Op::Delete, c(n)),
        ("PUT", ["connectors", n, "pause" | "resume" | "stop"]) => (Op::Operate, c(n)),
        ("POST", ["connectors", n, "restart"] | ["connectors", n, "tasks", _, "restart"]) => {
            (Op::Operate, c(n))
        }
        ("PATCH" | "DELETE", ["connectors", n, "offsets"]) => (Op::AlterOffsets, c(n)),
        ("PUT", ["connectors", n, "topics", "reset"]) => (Op::AlterOffsets, c(n)),
        (_, ["admin", "loggers", ..]) => (Op::Loggers, None),
        (_, ["admin", "secrets", ..]) => (Op::Secrets, None),
        ("GET", ["metrics"]) => (Op::ReadStatus, None),
        _ => return None,
    })
}

/// A path's segments, percent-decoded as axum's `Path` decodes them.
pub fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(|s| {
            let b = s.as_bytes();
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                let hex = |c: u8| char::from(c).to_digit(16);
                match (
                    b[i],
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) {
                    (b'%', Some(h), Some(l)) => {
                        out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                        i += 3;
                    }
                    (c, ..) => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rbac(text: &str) -> Rbac {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("roles.properties");
        std::fs::write(&f, text).unwrap();
        let props = [(ROLES_FILE.to_string(), f.display().to_string())].into();
        Rbac::from_worker(&props).unwrap().unwrap()
    }

    #[test]
    fn roles_scopes_and_least_privilege() {
        let r = rbac(
            "admin=SystemAdmin\nalice=ResourceOwner:Connector:orders-*;DeveloperRead:cluster\n\
             bob=Operator:Connector:orders-db\ncarol=DeveloperManage:Connector:x\n",
        );
        assert!(r.allows("admin", Op::Loggers, None));
        assert!(r.allows("admin", Op::Delete, Some("any")));
        assert!(r.allows("alice", Op::Delete, Some("orders-1")));
        assert!(r.allows("alice", Op::ReadConfig, Some("billing")));
        assert!(!r.allows("alice", Op::Delete, Some("billing")));
        assert!(!r.allows("alice", Op::Loggers, None));
        assert!(!r.allows("alice", Op::Secrets, None));
        assert!(r.allows("admin", Op::Secrets, None));
        assert!(r.allows("alice", Op::ReadStatus, None));
        assert!(r.allows("bob", Op::Operate, Some("orders-db")));
        assert!(!r.allows("bob", Op::ReadConfig, Some("orders-db")));
        assert!(!r.allows("bob", Op::Operate, Some("orders-db2")));
        assert!(!r.allows("bob", Op::ReadStatus, None));
        assert!(r.allows("carol", Op::Create, Some("x")));
        assert!(!r.allows("carol", Op::Operate, Some("x")));
        assert!(!r.allows("nobody", Op::ReadStatus, Some("x")));
    }

    #[test]
    fn bad_bindings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("roles.properties");
        for (text, want) in [
            ("a=Superuser", "unknown role"),
            ("a=SystemAdmin:Connector:x", "cluster only"),
            ("a=Operator:Topic:t", "Connector:<name>"),
            ("a=Operator:Connector:", "needs a name"),
        ] {
            std::fs::write(&f, text).unwrap();
            let props = [(ROLES_FILE.to_string(), f.display().to_string())].into();
            let e = Rbac::from_worker(&props).unwrap_err();
            assert!(e.contains(want) && e.contains("binding"), "{text}: {e}");
        }
    }

    #[test]
    fn routes_map_to_operations() {
        let c = |n: &str| Some(n.to_string());
        for (m, p, want) in [
            ("GET", "/connectors/x", Some((Op::ReadConfig, c("x")))),
            (
                "HEAD",
                "/connectors/x/config",
                Some((Op::ReadConfig, c("x"))),
            ),
            (
                "GET",
                "/connectors/a%20b/status",
                Some((Op::ReadStatus, c("a b"))),
            ),
            (
                "GET",
                "/connectors/x/tasks/0/status",
                Some((Op::ReadStatus, c("x"))),
            ),
            ("GET", "/connectors/x/tasks", Some((Op::ReadConfig, c("x")))),
            (
                "GET",
                "/connectors/x/offsets",
                Some((Op::ReadConfig, c("x"))),
            ),
            (
                "PATCH",
                "/connectors/x/config",
                Some((Op::Configure, c("x"))),
            ),
            ("PUT", "/connectors/x/stop", Some((Op::Operate, c("x")))),
            (
                "POST",
                "/connectors/x/tasks/1/restart",
                Some((Op::Operate, c("x"))),
            ),
            (
                "DELETE",
                "/connectors/x/offsets",
                Some((Op::AlterOffsets, c("x"))),
            ),
            (
                "PUT",
                "/connectors/x/topics/reset",
                Some((Op::AlterOffsets, c("x"))),
            ),
            ("DELETE", "/connectors/x", Some((Op::Delete, c("x")))),
            ("GET", "/admin/loggers", Some((Op::Loggers, None))),
            ("POST", "/admin/secrets/rotate", Some((Op::Secrets, None))),
            ("GET", "/connectors", None),
            ("GET", "/connector-plugins", None),
            ("PUT", "/connector-plugins/X/config/validate", None),
        ] {
            assert_eq!(required(m, p, b""), want, "{m} {p}");
        }
        assert_eq!(
            required("POST", "/connectors", br#"{"name":"n","config":{}}"#),
            Some((Op::Create, c("n")))
        );
    }
}
