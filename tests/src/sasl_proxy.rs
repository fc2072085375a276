//! A SASL/OAUTHBEARER-terminating proxy for tests: clients authenticate
//! to it with a bearer token (SaslHandshake v0-1, SaslAuthenticate v0-1,
//! RFC 7628's `n,,\x01auth=Bearer <token>\x01\x01`), and once the token
//! is one it accepts, their connection is passed through to the broker
//! behind it in plaintext. A refused token is answered as Kafka answers
//! it: the JSON status, the client's `\x01`, then error 58. tansu 0.6.0 accepts the OAUTHBEARER handshake
//! but never authenticates it, so this stands in for a broker that
//! validates tokens. ApiVersions before authentication is forwarded; any
//! other request before it closes the connection, as a broker does,
//! unless the proxy is [`SaslProxy::set_open`] (for a test's own setup,
//! such as creating topics with an admin client that cannot do
//! OAUTHBEARER).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, ResponseHeader, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug)]
pub struct SaslProxy {
    pub port: u16,
    open: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    refused: Arc<Mutex<Vec<String>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl SaslProxy {
    /// Listens on `port`, lets in clients whose token is in `tokens`,
    /// forwards them to `upstream`.
    pub fn start(port: u16, upstream: &str, tokens: Vec<String>) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let listener = rt.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let open = Arc::new(AtomicBool::new(false));
        let (a, r, upstream) = (accepted.clone(), refused.clone(), upstream.to_string());
        let (tokens, o) = (Arc::new(tokens), open.clone());
        rt.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let (a, r, upstream, tokens) =
                    (a.clone(), r.clone(), upstream.clone(), tokens.clone());
                let open = o.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &tokens, open, &a, &r).await;
                });
            }
        });
        Ok(Self {
            port,
            open,
            accepted,
            refused,
            rt: Some(rt),
        })
    }

    /// Whether new connections may skip authentication.
    pub fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }

    /// Connections authenticated so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The tokens refused so far.
    pub fn refused(&self) -> Vec<String> {
        self.refused.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for SaslProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

async fn read_frame(s: &mut TcpStream) -> Result<Bytes> {
    let size = usize::try_from(s.read_i32().await?)?;
    if size > 64 * 1024 * 1024 {
        bail!("frame of {size} bytes");
    }
    let mut body = vec![0u8; size];
    s.read_exact(&mut body).await?;
    Ok(Bytes::from(body))
}

async fn write_frame(s: &mut TcpStream, body: &[u8]) -> Result<()> {
    s.write_i32(i32::try_from(body.len())?).await?;
    s.write_all(body).await?;
    s.flush().await?;
    Ok(())
}

fn respond<R: Encodable>(key: ApiKey, version: i16, correlation: i32, body: &R) -> Result<Bytes> {
    let mut out = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(correlation)
        .encode(&mut out, key.response_header_version(version))?;
    body.encode(&mut out, version)?;
    Ok(out.freeze())
}

/// The bearer token of an OAUTHBEARER initial response.
fn bearer(auth: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(auth).ok()?;
    text.split('\u{1}')
        .find_map(|kv| kv.strip_prefix("auth=Bearer "))
        .map(str::to_string)
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    tokens: &[String],
    open: bool,
    accepted: &AtomicUsize,
    refused: &Mutex<Vec<String>>,
) -> Result<()> {
    let mut up = TcpStream::connect(upstream).await.context("upstream")?;
    loop {
        let frame = read_frame(&mut client).await?;
        let head = frame.get(..8).context("short frame")?;
        let key = i16::from_be_bytes([head[0], head[1]]);
        let version = i16::from_be_bytes([head[2], head[3]]);
        let correlation = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let api = ApiKey::try_from(key).map_err(|()| anyhow::anyhow!("api key {key}"))?;
        let mut body = frame.clone();
        match api {
            ApiKey::ApiVersions => {
                write_frame(&mut up, &frame).await?;
                let answer = read_frame(&mut up).await?;
                write_frame(&mut client, &answer).await?;
            }
            ApiKey::SaslHandshake => {
                RequestHeader::decode(&mut body, api.request_header_version(version))?;
                let req = SaslHandshakeRequest::decode(&mut body, version)?;
                let ok = req.mechanism.as_str() == "OAUTHBEARER";
                let resp = SaslHandshakeResponse::default()
                    .with_error_code(if ok { 0 } else { 33 })
                    .with_mechanisms(vec![StrBytes::from_static_str("OAUTHBEARER")]);
                write_frame(&mut client, &respond(api, version, correlation, &resp)?).await?;
                if !ok {
                    return Ok(());
                }
            }
            ApiKey::SaslAuthenticate => {
                RequestHeader::decode(&mut body, api.request_header_version(version))?;
                let req = SaslAuthenticateRequest::decode(&mut body, version)?;
                let token = bearer(&req.auth_bytes).unwrap_or_default();
                if tokens.contains(&token) {
                    let resp = SaslAuthenticateResponse::default();
                    write_frame(&mut client, &respond(api, version, correlation, &resp)?).await?;
                    accepted.fetch_add(1, Ordering::Relaxed);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
                    return Ok(());
                }
                if let Ok(mut r) = refused.lock() {
                    r.push(token);
                }
                // As Kafka does (RFC 7628 3.2.2): the error as JSON on an
                // answer without an error code, the client's %x01, then
                // the failure.
                let resp = SaslAuthenticateResponse::default()
                    .with_auth_bytes(Bytes::from_static(br#"{"status":"invalid_token"}"#));
                write_frame(&mut client, &respond(api, version, correlation, &resp)?).await?;
                let next = read_frame(&mut client).await?;
                let head = next.get(..8).context("short frame")?;
                let correlation = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
                let resp = SaslAuthenticateResponse::default()
                    .with_error_code(58)
                    .with_error_message(Some(StrBytes::from_static_str(
                        "Authentication failed: invalid bearer token",
                    )));
                write_frame(&mut client, &respond(api, version, correlation, &resp)?).await?;
                return Ok(());
            }
            _ if open => {
                write_frame(&mut up, &frame).await?;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
                return Ok(());
            }
            _ => bail!("{api:?} before authentication"),
        }
    }
}
