//! TLS for the worker group's own Kafka connections (distributed mode's
//! group protocol client, which is not librdkafka), from the worker's
//! top-level Kafka client keys as Kafka Connect reads them:
//! `security.protocol`, `ssl.truststore.*` (PEM), `ssl.keystore.*` (PEM,
//! for brokers that want client certificates) and
//! `ssl.endpoint.identification.algorithm` (empty: the certificate's
//! chain is checked, not its name).

use std::collections::BTreeMap;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// Checks the chain, not the name (`ssl.endpoint.identification.algorithm=`).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The group client's TLS settings: `None` for PLAINTEXT; an error for
/// what it cannot do (SASL), naming the key.
pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Option<sluice_group::Tls>, String> {
    let protocol = props
        .get("security.protocol")
        .map(|p| p.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "PLAINTEXT".into());
    match protocol.as_str() {
        "PLAINTEXT" => return Ok(None),
        "SSL" => {}
        "SASL_PLAINTEXT" | "SASL_SSL" => {
            return Err(format!(
                "security.protocol={protocol}: the worker group client of distributed mode does not speak SASL yet (standalone workers do); use SSL with client certificates, or PLAINTEXT"
            ));
        }
        other => {
            return Err(format!(
                "Invalid value {other} for configuration security.protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            ));
        }
    }
    // `listeners.kafka.ssl.*` is never set: the lookup falls back to the
    // top-level `ssl.*` keys, which are the Kafka clients' own.
    let base = crate::tls::client_config(props, crate::tls::KAFKA)?;
    let names = props
        .get("ssl.endpoint.identification.algorithm")
        .is_none_or(|v| !v.trim().is_empty());
    if names {
        return Ok(Some(sluice_group::Tls(base)));
    }
    let mut cfg = (*base).clone();
    let roots = crate::tls::roots(props, crate::tls::KAFKA)?;
    let verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), crate::tls::provider())
            .build()
            .map_err(|e| {
            format!("no CA to check the brokers' certificates with (ssl.truststore.location, or the system's): {e}")
        })?;
    cfg.dangerous()
        .set_certificate_verifier(Arc::new(ChainOnly(verifier)));
    Ok(Some(sluice_group::Tls(Arc::new(cfg))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::props;

    #[test]
    fn protocols() {
        assert!(from_worker(&props(&[])).unwrap().is_none());
        assert!(
            from_worker(&props(&[("security.protocol", "SSL")]))
                .unwrap()
                .is_some()
        );
        let e = from_worker(&props(&[("security.protocol", "SASL_SSL")])).unwrap_err();
        assert!(e.contains("SASL"), "{e}");
        let e = from_worker(&props(&[("security.protocol", "TLS")])).unwrap_err();
        assert!(e.contains("security.protocol"), "{e}");
    }
}
