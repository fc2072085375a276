//! HTTPS requests with a real TLS client (rustls): a CA to trust, and a
//! client certificate when the server asks for one.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::http::{HttpAnswer, exchange_over};

/// One HTTPS request to 127.0.0.1:`port` from a client trusting
/// `trust_pem`, offering `client_cert` (chain, key) if given.
pub fn https_exchange(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    trust_pem: &str,
    client_cert: Option<&(String, String)>,
) -> Result<HttpAnswer> {
    let provider = sluice_runtime::tls::provider();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(trust_pem.as_bytes()) {
        roots.add(c?)?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let cfg = match client_cert {
        Some((chain, key)) => builder.with_client_auth_cert(
            CertificateDer::pem_slice_iter(chain.as_bytes()).collect::<Result<_, _>>()?,
            PrivateKeyDer::from_pem_slice(key.as_bytes())?,
        )?,
        None => builder.with_no_client_auth(),
    };
    let mut conn = rustls::ClientConnection::new(
        Arc::new(cfg),
        ServerName::try_from("127.0.0.1")?.to_owned(),
    )?;
    let mut tcp = TcpStream::connect(("127.0.0.1", port))?;
    // A config write may wait out a rebalance.
    tcp.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    exchange_over(&mut tls, method, path, headers, body)
}
