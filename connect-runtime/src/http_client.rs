//! A small HTTP(S) client for the calls the worker makes itself: to other
//! workers (forwarded requests, task configs, liveness probes) and to an
//! identity provider's key set. rustls with the ring provider and the
//! caller's trusted CAs (and client certificate), HTTP/1.1, one
//! connection per call, a deadline, a bounded answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;

/// The largest answer body read.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why a call got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Nothing answered: the connection was refused or timed out, or no
    /// answer came in time.
    #[error("{0}")]
    Unreachable(String),
    /// Something answered but not usefully: TLS refused (certificate,
    /// name, client certificate), not HTTP, a bad URL.
    #[error("{0}")]
    Failed(String),
}

/// What a call answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: hyper::StatusCode,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
}

/// Calls `http://` and `https://` URLs; https peers are checked with
/// `tls`.
#[derive(Clone)]
pub struct HttpClient {
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

impl HttpClient {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        Self { tls }
    }

    /// Trusts the system's CAs and offers no client certificate.
    pub fn system() -> Result<Self, String> {
        let tls = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS client settings: {e}"))?
            .with_root_certificates(crate::tls::system_roots())
            .with_no_client_auth();
        Ok(Self::new(Arc::new(tls)))
    }

    /// For calls to other workers: the https listener's trust and key
    /// (`listeners.https.ssl.*` / `ssl.*`) when the worker has one.
    pub fn for_workers(config: &crate::config::worker::WorkerConfig) -> Result<Self, String> {
        if config.listeners.iter().any(|l| l.tls) {
            Ok(Self::new(crate::tls::client_config(
                &config.originals,
                "https",
            )?))
        } else {
            Self::system()
        }
    }

    /// One request; an error (naming the URL) when no answer came, any
    /// status otherwise.
    pub async fn send(
        &self,
        method: hyper::Method,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Answer, HttpError> {
        tokio::time::timeout(timeout, self.exchange(method, url, headers, body))
            .await
            .map_err(|_| {
                HttpError::Unreachable(format!(
                    "{url}: no answer within {} ms",
                    timeout.as_millis()
                ))
            })?
    }

    /// GETs `url`; the body of a 2xx answer.
    pub async fn get_ok(&self, url: &str, timeout: Duration) -> Result<Bytes, String> {
        let accept = (
            hyper::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let a = self
            .send(hyper::Method::GET, url, &[accept], Bytes::new(), timeout)
            .await
            .map_err(|e| e.to_string())?;
        if !a.status.is_success() {
            return Err(format!("{url}: answered {}", a.status));
        }
        Ok(a.body)
    }

    async fn exchange(
        &self,
        method: hyper::Method,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Answer, HttpError> {
        let bad = |m: String| HttpError::Failed(format!("{url}: {m}"));
        let uri: hyper::Uri = url.parse().map_err(|e| bad(format!("{e}")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad("expected http:// or https://".into())),
        };
        let host = uri
            .host()
            .ok_or_else(|| bad("no host".into()))?
            .trim_matches(['[', ']'])
            .to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| HttpError::Unreachable(format!("{url}: cannot connect: {e}")))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let mut req = hyper::Request::builder().method(method).uri(path).header(
            hyper::header::HOST,
            uri.authority().map_or(host.as_str(), |a| a.as_str()),
        );
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(body)).map_err(|e| bad(e.to_string()))?;
        let resp = if https {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| bad(e.to_string()))?;
            let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| {
                    // rustls's own refusals (certificates, alerts) come as
                    // InvalidData; a reset or an early close is a peer away.
                    let m = format!("{url}: TLS: {e}");
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        HttpError::Failed(m)
                    } else {
                        HttpError::Unreachable(m)
                    }
                })?;
            call(TokioIo::new(stream), req).await
        } else {
            call(TokioIo::new(tcp), req).await
        }
        .map_err(|e| {
            let m = format!("{url}: {e}");
            if e.is_closed() || e.is_incomplete_message() || e.is_canceled() || e.is_timeout() {
                HttpError::Unreachable(m)
            } else {
                HttpError::Failed(m)
            }
        })?;
        let status = resp.status();
        let content_type = resp.headers().get(hyper::header::CONTENT_TYPE).cloned();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| bad(format!("cannot read the answer: {e}")))?
            .to_bytes();
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }
}

async fn call<T>(
    io: T,
    req: hyper::Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, hyper::Error>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender.send_request(req).await
}
