//! SCRAM users on the test broker: AlterUserScramCredentials, sent over
//! the Kafka protocol as `kafka-configs --alter --add-config
//! 'SCRAM-SHA-256=[password=...]'` does (the client salts and hashes).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::num::NonZeroU32;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey, RequestHeader,
    ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

/// Adds (or replaces) a SCRAM-SHA-256 (`sha512` false) or SCRAM-SHA-512
/// user on a broker that does not require authentication (see
/// [`crate::Broker::start_authenticating`]).
pub fn add_scram_user(bootstrap: &str, sha512: bool, user: &str, password: &str) -> Result<()> {
    let mut conn = Conn::open(bootstrap)?;
    let rng = ring::rand::SystemRandom::new();
    let salt: [u8; 16] = ring::rand::generate(&rng)
        .map_err(|_| anyhow::anyhow!("no randomness"))?
        .expose();
    let iterations = 4096;
    let (kdf, len, mechanism) = if sha512 {
        (ring::pbkdf2::PBKDF2_HMAC_SHA512, 64, 2)
    } else {
        (ring::pbkdf2::PBKDF2_HMAC_SHA256, 32, 1)
    };
    let mut salted = vec![0u8; len];
    ring::pbkdf2::derive(
        kdf,
        NonZeroU32::new(iterations).context("iterations")?,
        &salt,
        password.as_bytes(),
        &mut salted,
    );
    let upsertion = ScramCredentialUpsertion::default()
        .with_name(StrBytes::from_string(user.to_string()))
        .with_mechanism(mechanism)
        .with_iterations(i32::try_from(iterations)?)
        .with_salt(Bytes::copy_from_slice(&salt))
        .with_salted_password(Bytes::from(salted));
    let altered: AlterUserScramCredentialsResponse = conn.call(
        ApiKey::AlterUserScramCredentials,
        0,
        &AlterUserScramCredentialsRequest::default().with_upsertions(vec![upsertion]),
    )?;
    for r in &altered.results {
        if r.error_code != 0 {
            bail!(
                "AlterUserScramCredentials for {user}: error {} {:?}",
                r.error_code,
                r.error_message
            );
        }
    }
    Ok(())
}

struct Conn {
    tcp: TcpStream,
    correlation: i32,
}

impl Conn {
    fn open(bootstrap: &str) -> Result<Self> {
        let tcp = TcpStream::connect(bootstrap).with_context(|| format!("connect {bootstrap}"))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self {
            tcp,
            correlation: 0,
        })
    }

    fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp> {
        self.exchange(key, version, request)
            .with_context(|| format!("{key:?} v{version}"))
    }

    fn exchange<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp> {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("sluice-tests")));
        let mut body = BytesMut::new();
        header.encode(&mut body, key.request_header_version(version))?;
        request.encode(&mut body, version)?;
        let size = i32::try_from(body.len())?;
        self.tcp.write_all(&size.to_be_bytes())?;
        self.tcp.write_all(&body)?;
        let mut len = [0u8; 4];
        self.tcp.read_exact(&mut len)?;
        let mut answer = vec![0u8; usize::try_from(i32::from_be_bytes(len))?];
        self.tcp.read_exact(&mut answer)?;
        let mut answer = Bytes::from(answer);
        ResponseHeader::decode(&mut answer, key.response_header_version(version))?;
        Resp::decode(&mut answer, version)
    }
}
