//! `sluice secrets generate-key <id>` and `sluice secrets rotate-key`: the
//! second asks a running worker (`POST /admin/secrets/rotate`, which a
//! cluster's leader serves) to seal every stored secret with its active
//! key.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// The `Authorization` header value `rotate-key` sends (`Basic ...`,
/// `Bearer ...`, `ApiKey ...`), from the environment so it stays out of
/// the process list.
pub const AUTH_ENV: &str = "SLUICE_REST_AUTHORIZATION";

pub fn generate_key(id: &str) -> Result<String, String> {
    super::keyring::generate(id)
}

/// `http(s)://host:port` → (tls, host, port).
fn parse_url(url: &str) -> Result<(bool, String, u16), String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!(
            "{url}: expected http://host:port or https://host:port"
        ));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("{url}: bad port {p}"))?,
        ),
        None => (authority, if tls { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    Ok((tls, host.to_string(), port))
}

fn exchange(stream: &mut dyn ReadWrite, request: &[u8]) -> Result<String, String> {
    stream
        .write_all(request)
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut out = Vec::new();
    match stream.read_to_end(&mut out) {
        Ok(_) => {}
        // A server that closes without close_notify still answered.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(format!("cannot read the answer: {e}")),
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Calls the worker at `url`; the answer's status line and body.
pub fn rotate_key(url: &str, cacert: Option<&std::path::Path>) -> Result<String, String> {
    let (tls, host, port) = parse_url(url)?;
    let auth = std::env::var(AUTH_ENV)
        .ok()
        .map(|a| format!("Authorization: {}\r\n", a.trim()))
        .unwrap_or_default();
    let request = format!(
        "POST /admin/secrets/rotate HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut tcp = TcpStream::connect((host.as_str(), port))
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let answer = if tls {
        let mut roots = rustls::RootCertStore::empty();
        let path = cacert
            .ok_or("https needs --cacert with the CA that signed the worker's certificate")?;
        for c in CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("--cacert {}: {e}", path.display()))?
        {
            let c = c.map_err(|e| format!("--cacert {}: {e}", path.display()))?;
            roots
                .add(c)
                .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(host.clone()).map_err(|e| format!("{host}: {e}"))?;
        let conn =
            rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
        let mut s = rustls::StreamOwned::new(conn, tcp);
        exchange(&mut s, request.as_bytes())?
    } else {
        exchange(&mut tcp, request.as_bytes())?
    };
    let status = answer.lines().next().unwrap_or_default().to_string();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let ok = status.split_whitespace().nth(1) == Some("200");
    let text = format!("{status}\n{body}");
    if ok { Ok(text) } else { Err(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://localhost:8083").unwrap(),
            (false, "localhost".into(), 8083)
        );
        assert_eq!(parse_url("https://w1/").unwrap(), (true, "w1".into(), 443));
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://x:port").is_err());
    }
}
