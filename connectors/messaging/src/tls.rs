//! TLS handshake failures that will repeat on every attempt: a server
//! certificate the trust store does not vouch for, or a server that
//! turned the client (certificate) down. Network trouble is not one.

/// TLS keys that are set, by name; the values include passwords, so
/// `Debug` shows the names only.
#[derive(Clone, Default)]
pub struct SslKeys(pub std::collections::BTreeMap<String, String>);

impl std::fmt::Debug for SslKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// The rustls error somewhere in `err`'s chain (wrapped in an
/// `io::Error` or a client's own error type), if any.
fn rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(t) = rustls_error(inner)
        {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

/// Why the handshake will keep failing, naming the keys to check
/// (`trust_key` for the CAs, `key_key` for the client certificate);
/// `None` when it is worth another attempt.
pub(crate) fn refusal(
    err: &(dyn std::error::Error + 'static),
    trust_key: &str,
    key_key: &str,
) -> Option<String> {
    match rustls_error(err)? {
        rustls::Error::InvalidCertificate(why) => Some(format!(
            "its certificate is not trusted ({why:?}); check {trust_key} and the host name the connector dials"
        )),
        rustls::Error::AlertReceived(alert) => Some(format!(
            "it refused the TLS handshake ({alert:?}); check {key_key} (the client certificate) and the server's TLS settings"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rustls_error_inside_io_errors() {
        let inner = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        let why = refusal(&io, "a.trust", "a.key").unwrap_or_default();
        assert!(
            why.contains("not trusted") && why.contains("a.trust"),
            "{why}"
        );
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(refusal(&io, "a.trust", "a.key").is_none());
    }
}
