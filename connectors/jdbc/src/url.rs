//! `connection.url`: the JDBC URLs of PostgreSQL's, MySQL's and MariaDB's
//! drivers, read into what the Rust clients need.
//!
//! - `jdbc:postgresql://host[:port][,host2[:port2]]/database?user=u&password=p`
//!   (also `jdbc:postgresql:database` and `jdbc:postgresql://host/`),
//! - `jdbc:mysql://host[:port]/database?user=u&password=p` and
//!   `jdbc:mariadb://...` (credentials may also precede the host:
//!   `jdbc:mysql://u:p@host/db`).
//!
//! `connection.user` / `connection.password` win over the URL's.

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

/// Which server the URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Postgres,
    MySql,
    MariaDb,
}

impl Flavor {
    pub fn is_mysql_family(self) -> bool {
        matches!(self, Flavor::MySql | Flavor::MariaDb)
    }
}

/// A parsed `connection.url`.
#[derive(Clone, PartialEq, Eq)]
pub struct JdbcUrl {
    pub flavor: Flavor,
    /// At least one `(host, port)`.
    pub hosts: Vec<(String, u16)>,
    /// The database (PostgreSQL) or default schema (MySQL); empty if unset.
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Every other URL parameter, as given (names as written).
    pub params: BTreeMap<String, String>,
}

impl fmt::Debug for JdbcUrl {
    // Never prints the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JdbcUrl")
            .field("flavor", &self.flavor)
            .field("hosts", &self.hosts)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[hidden]"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UrlError {
    #[error(
        "unsupported JDBC URL '{0}': expected jdbc:postgresql://, jdbc:mysql:// or jdbc:mariadb://"
    )]
    Scheme(String),
    #[error("JDBC URL '{url}': bad port '{port}'")]
    Port { url: String, port: String },
    #[error("JDBC URL '{0}': no host")]
    NoHost(String),
    #[error("JDBC URL '{url}': bad percent-encoding in '{part}'")]
    Encoding { url: String, part: String },
    #[error(
        "JDBC URL '{url}' asks for TLS ({param}): encrypted database connections are not supported yet (the security issue adds them); remove it to connect in plain text"
    )]
    Tls { url: String, param: String },
}

impl JdbcUrl {
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let shown = redact(url);
        let trimmed = url.trim();
        let (flavor, rest) = if let Some(r) = strip_prefix_ci(trimmed, "jdbc:postgresql:") {
            (Flavor::Postgres, r)
        } else if let Some(r) = strip_prefix_ci(trimmed, "jdbc:mysql:") {
            (Flavor::MySql, r)
        } else if let Some(r) = strip_prefix_ci(trimmed, "jdbc:mariadb:") {
            (Flavor::MariaDb, r)
        } else {
            return Err(UrlError::Scheme(shown));
        };
        let default_port = if flavor == Flavor::Postgres {
            5432
        } else {
            3306
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = JdbcUrl {
            flavor,
            hosts: Vec::new(),
            database: String::new(),
            user: None,
            password: None,
            params: BTreeMap::new(),
        };
        if let Some(authority_path) = path.strip_prefix("//") {
            let (authority, db) = authority_path
                .split_once('/')
                .unwrap_or((authority_path, ""));
            let hosts_part = match authority.rsplit_once('@') {
                Some((creds, hosts)) => {
                    let (u, p) = creds.split_once(':').unwrap_or((creds, ""));
                    out.user = Some(decode(u, &shown)?);
                    if !p.is_empty() {
                        out.password = Some(decode(p, &shown)?);
                    }
                    hosts
                }
                None => authority,
            };
            for h in hosts_part.split(',').filter(|h| !h.is_empty()) {
                out.hosts.push(host_port(h, default_port, &shown)?);
            }
            out.database = decode(db, &shown)?;
        } else {
            // jdbc:postgresql:database
            out.database = decode(path, &shown)?;
        }
        if out.hosts.is_empty() {
            if path.starts_with("//") && !path.starts_with("///") {
                return Err(UrlError::NoHost(shown));
            }
            out.hosts.push(("localhost".to_string(), default_port));
        }
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v, &shown)?;
            let lower = v.to_ascii_lowercase();
            let tls = match k {
                "sslmode" | "sslMode" => !matches!(
                    lower.as_str(),
                    "disable" | "allow" | "prefer" | "preferred" | "disabled"
                ),
                "ssl" | "useSSL" | "requireSSL" | "useSsl" => lower == "true",
                _ => false,
            };
            if tls {
                return Err(UrlError::Tls {
                    url: shown,
                    param: format!("{k}={v}"),
                });
            }
            match k {
                "user" => out.user = Some(v),
                "password" => out.password = Some(v),
                _ => {
                    out.params.insert(k.to_string(), v);
                }
            }
        }
        Ok(out)
    }
}

/// Checks `dialect.name` against the URL: empty and
/// `GenericDatabaseDialect` take the URL's; a named dialect must match it.
pub fn dialect_matches(dialect_name: &str, url: &str) -> Result<(), String> {
    let Ok(u) = JdbcUrl::parse(url) else {
        return Ok(()); // connection.url reports its own error
    };
    let ok = match dialect_name.trim() {
        "" | "GenericDatabaseDialect" => true,
        "PostgreSqlDatabaseDialect" => u.flavor == Flavor::Postgres,
        "MySqlDatabaseDialect" => u.flavor.is_mysql_family(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "dialect {dialect_name} does not match connection.url {}",
            redact(url)
        ))
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

fn host_port(h: &str, default_port: u16, shown: &str) -> Result<(String, u16), UrlError> {
    // [v6]:port, host:port, host
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, tail)) => (v6, tail.strip_prefix(':')),
            None => (h, None),
        }
    } else {
        match h.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (h, None),
        }
    };
    let port = match port {
        None | Some("") => default_port,
        Some(p) => p.parse().map_err(|_| UrlError::Port {
            url: shown.to_string(),
            port: p.to_string(),
        })?,
    };
    if host.is_empty() {
        return Err(UrlError::NoHost(shown.to_string()));
    }
    Ok((host.to_string(), port))
}

fn decode(s: &str, shown: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return Err(UrlError::Encoding {
                    url: shown.to_string(),
                    part: s.to_string(),
                });
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::Encoding {
        url: shown.to_string(),
        part: s.to_string(),
    })
}

/// The URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(start) = out.find("password=") {
        let vstart = start + "password=".len();
        let end = out[vstart..].find('&').map_or(out.len(), |e| vstart + e);
        out.replace_range(vstart..end, "[hidden]");
    }
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..]
            .find(['/', '?'])
            .map_or(out.len(), |e| auth_start + e);
        if let Some(at) = out[auth_start..auth_end].rfind('@') {
            let creds = &out[auth_start..auth_start + at];
            if let Some(colon) = creds.find(':') {
                out.replace_range(auth_start + colon + 1..auth_start + at, "[hidden]");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls() {
        let u = JdbcUrl::parse(
            "jdbc:postgresql://db.example:6543/shop?user=app&password=s%40cret&sslmode=disable",
        )
        .unwrap();
        assert_eq!(u.flavor, Flavor::Postgres);
        assert_eq!(u.hosts, vec![("db.example".to_string(), 6543)]);
        assert_eq!(u.database, "shop");
        assert_eq!(u.user.as_deref(), Some("app"));
        assert_eq!(u.password.as_deref(), Some("s@cret"));
        assert_eq!(u.params.get("sslmode").map(String::as_str), Some("disable"));
        let u = JdbcUrl::parse("jdbc:postgresql://localhost/test").unwrap();
        assert_eq!(u.hosts, vec![("localhost".to_string(), 5432)]);
        let u = JdbcUrl::parse("jdbc:postgresql:test").unwrap();
        assert_eq!((u.hosts[0].1, u.database.as_str()), (5432, "test"));
        let u = JdbcUrl::parse("jdbc:postgresql://a:1,b/x").unwrap();
        assert_eq!(u.hosts, vec![("a".to_string(), 1), ("b".to_string(), 5432)]);
        let u = JdbcUrl::parse("jdbc:postgresql://[::1]:5433/x").unwrap();
        assert_eq!(u.hosts, vec![("::1".to_string(), 5433)]);
    }

    #[test]
    fn mysql_urls() {
        let u = JdbcUrl::parse("jdbc:mysql://127.0.0.1:3306/test?user=root&password=").unwrap();
        assert_eq!(u.flavor, Flavor::MySql);
        assert_eq!(u.database, "test");
        assert_eq!(u.password.as_deref(), Some(""));
        let u = JdbcUrl::parse("jdbc:mariadb://bob:pw@host/db").unwrap();
        assert_eq!(u.flavor, Flavor::MariaDb);
        assert_eq!(u.user.as_deref(), Some("bob"));
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.hosts, vec![("host".to_string(), 3306)]);
    }

    #[test]
    fn bad_urls_are_named_without_passwords() {
        let e = JdbcUrl::parse("jdbc:oracle:thin:@x:1521:db").unwrap_err();
        assert!(matches!(e, UrlError::Scheme(_)));
        let e = JdbcUrl::parse("jdbc:mysql://h:port/db?password=topsecret").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("bad port 'port'"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");
        assert_eq!(
            redact("jdbc:mysql://u:pw@h/db?password=x&user=u"),
            "jdbc:mysql://u:[hidden]@h/db?password=[hidden]&user=u"
        );
        let e = JdbcUrl::parse("jdbc:postgresql://h/db?sslmode=require").unwrap_err();
        assert!(e.to_string().contains("sslmode=require"), "{e}");
        assert!(JdbcUrl::parse("jdbc:postgresql://h/db?sslmode=disable").is_ok());
        assert!(JdbcUrl::parse("jdbc:mysql://h/db?useSSL=true").is_err());
        assert!(JdbcUrl::parse("jdbc:mysql://h/db?useSSL=false").is_ok());
        let dbg = format!("{:?}", JdbcUrl::parse("jdbc:mysql://u:pw@h/db").unwrap());
        assert!(!dbg.contains("pw\""), "{dbg}");
    }
}
