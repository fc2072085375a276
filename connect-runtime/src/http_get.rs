//! A small HTTP(S) GET for what the worker fetches itself (an identity
//! provider's key set): rustls with the ring provider and the caller's
//! trusted CAs, HTTP/1.1, a deadline, a bounded body.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;

/// The largest body read.
const MAX_BODY: usize = 1024 * 1024;

/// GETs `url` (`http://` or `https://`); the body of a 2xx answer, or an
/// error naming the URL.
pub async fn get(
    url: &str,
    tls: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    tokio::time::timeout(timeout, fetch(url, tls))
        .await
        .map_err(|_| format!("{url}: no answer within {} ms", timeout.as_millis()))?
}

async fn fetch(url: &str, tls: &Arc<rustls::ClientConfig>) -> Result<Vec<u8>, String> {
    let bad = |m: String| format!("{url}: {m}");
    let uri: hyper::Uri = url.parse().map_err(|e| bad(format!("{e}")))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("expected http:// or https://".into())),
    };
    let host = uri.host().ok_or_else(|| bad("no host".into()))?.to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| bad(format!("cannot connect: {e}")))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let req = hyper::Request::get(path)
        .header(
            hyper::header::HOST,
            uri.authority().map_or(host.as_str(), |a| a.as_str()),
        )
        .header(hyper::header::ACCEPT, "application/json")
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| bad(e.to_string()))?;
    let resp = if https {
        let name =
            rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                .map_err(|e| bad(e.to_string()))?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| bad(format!("TLS: {e}")))?;
        send(TokioIo::new(stream), req).await
    } else {
        send(TokioIo::new(tcp), req).await
    }
    .map_err(bad)?;
    if !resp.status().is_success() {
        return Err(bad(format!("answered {}", resp.status())));
    }
    let body = Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| bad(format!("cannot read the body: {e}")))?;
    Ok(body.to_bytes().to_vec())
}

async fn send<T>(
    io: T,
    req: hyper::Request<Empty<bytes::Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender.send_request(req).await.map_err(|e| e.to_string())
}
