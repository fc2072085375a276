//! A TLS-terminating TCP proxy for tests: clients speak TLS to it, it
//! speaks plaintext to the broker behind it (tansu has no TLS listener).
//! With the broker advertising the proxy's port, every connection a Kafka
//! client makes goes through TLS.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug)]
pub struct TlsProxy {
    pub port: u16,
    handshakes: Arc<AtomicUsize>,
    rt: Option<tokio::runtime::Runtime>,
}

impl TlsProxy {
    /// Listens on `port` with `chain_pem`/`key_pem`, forwards to `upstream`.
    pub fn start(port: u16, upstream: &str, chain_pem: &str, key_pem: &str) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let certs =
            CertificateDer::pem_slice_iter(chain_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
        let cfg = rustls::ServerConfig::builder_with_provider(sluice_runtime::tls::provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = rt.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))?;
        let handshakes = Arc::new(AtomicUsize::new(0));
        let (count, upstream) = (handshakes.clone(), upstream.to_string());
        rt.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, upstream, count) =
                    (acceptor.clone(), upstream.clone(), count.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    count.fetch_add(1, Ordering::Relaxed);
                    let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        Ok(Self {
            port,
            handshakes,
            rt: Some(rt),
        })
    }

    /// TLS handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::Relaxed)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
