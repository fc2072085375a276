//! `sluice secrets generate-key <id>` and `sluice secrets rotate-key`: the
//! second asks a running worker (`POST /admin/secrets/rotate`, which a
//! cluster's leader serves) to seal every stored secret with its active
//! key.

use std::sync::Arc;
use std::time::Duration;

use hyper::header::{AUTHORIZATION, HeaderValue};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::http_client::HttpClient;

/// The `Authorization` header value `rotate-key` sends (`Basic ...`,
/// `Bearer ...`, `ApiKey ...`), from the environment so it stays out of
/// the process list.
pub const AUTH_ENV: &str = "SLUICE_REST_AUTHORIZATION";

pub fn generate_key(id: &str) -> Result<String, String> {
    super::keyring::generate(id)
}

/// A client trusting `cacert` (PEM), or the system's CAs without one.
fn client(cacert: Option<&std::path::Path>) -> Result<HttpClient, String> {
    let Some(path) = cacert else {
        return HttpClient::system();
    };
    let bad = |e: &dyn std::fmt::Display| format!("--cacert {}: {e}", path.display());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
        roots.add(c.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(HttpClient::new(Arc::new(config)))
}

/// Calls the worker at `url`; the answer's status and body.
pub fn rotate_key(url: &str, cacert: Option<&std::path::Path>) -> Result<String, String> {
    let client = client(cacert)?;
    let mut headers = Vec::new();
    if let Ok(a) = std::env::var(AUTH_ENV) {
        let v = HeaderValue::from_str(a.trim())
            .map_err(|_| format!("{AUTH_ENV} is not a header value"))?;
        headers.push((AUTHORIZATION, v));
    }
    let target = format!("{}/admin/secrets/rotate", url.trim_end_matches('/'));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // A cluster's leader may wait out a rebalance before it answers.
    let answer = rt
        .block_on(client.send(
            hyper::Method::POST,
            &target,
            &headers,
            bytes::Bytes::new(),
            Duration::from_secs(130),
        ))
        .map_err(|e| e.to_string())?;
    let text = format!(
        "{}\n{}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    if answer.status == hyper::StatusCode::OK {
        Ok(text)
    } else {
        Err(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let e = rotate_key("ftp://x", None).unwrap_err();
        assert!(e.contains("http"), "{e}");
        let e = rotate_key("http://x:port", None).unwrap_err();
        assert!(e.contains("x:port"), "{e}");
    }
}
