//! `mqtt.server.uri` entries: `tcp://host:port` (or `mqtt://`), and
//! `ssl://host:port` (or `mqtts://`, `tls://`) over TLS.

/// One broker address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUri {
    pub host: String,
    pub port: u16,
    /// Over TLS (`ssl://`), with the `mqtt.ssl.*` keys.
    pub tls: bool,
}

impl ServerUri {
    /// Parses `tcp://host[:port]` (the port defaults to 1883) and
    /// `ssl://host[:port]` (8883). Web sockets are refused with the
    /// reason.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("'{text}' has no scheme: write tcp://host:port"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "tcp" | "mqtt" => false,
            "ssl" | "mqtts" | "tls" => true,
            other => {
                return Err(format!(
                    "'{text}': scheme '{other}' is not supported; use tcp:// or ssl://"
                ));
            }
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.contains('/') || rest.contains('@') {
            return Err(format!("'{text}' is not {scheme}://host:port"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("'{text}': unclosed [ in an IPv6 address"))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(format!("'{text}' has no host"));
        }
        let port = match port {
            None if tls => 8883,
            None => 1883,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("'{text}': '{p}' is not a port number"))?,
        };
        Ok(Self { host, port, tls })
    }
}

impl std::fmt::Display for ServerUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "ssl" } else { "tcp" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            ServerUri::parse("tcp://127.0.0.1:1884").unwrap(),
            ServerUri {
                host: "127.0.0.1".into(),
                port: 1884,
                tls: false
            }
        );
        assert_eq!(ServerUri::parse("mqtt://broker").unwrap().port, 1883);
        assert_eq!(ServerUri::parse("tcp://[::1]:1883").unwrap().host, "::1");
        let tls = ServerUri::parse("ssl://h").unwrap();
        assert!(tls.tls && tls.port == 8883, "{tls:?}");
        assert_eq!(tls.to_string(), "ssl://h:8883");
        assert!(ServerUri::parse("mqtts://h:1").unwrap().tls);
        assert!(ServerUri::parse("h:1883").is_err());
        assert!(ServerUri::parse("tcp://h:0").is_err());
        assert!(ServerUri::parse("tcp://h:x").is_err());
        assert!(ServerUri::parse("ws://h").is_err());
    }
}
