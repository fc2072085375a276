//! A throwaway certificate authority for TLS tests: certificates made at
//! test time, as PEM.

use anyhow::Result;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};

pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

impl Ca {
    pub fn new(name: &str) -> Result<Self> {
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name
            .push(rcgen::DnType::CommonName, format!("test CA {name}"));
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate()?;
        let cert = p.self_signed(&key)?;
        Ok(Self { cert, key })
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate a worker serves with and presents to other workers
    /// (server and client use): (chain PEM, key PEM).
    pub fn issue_worker(&self, names: &[&str]) -> Result<(String, String)> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_string()).collect();
        let mut p = CertificateParams::new(names.clone())?;
        if let Some(first) = names.first() {
            p.distinguished_name
                .push(rcgen::DnType::CommonName, first.clone());
        }
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &self.cert, &self.key)?;
        Ok((format!("{}{}", cert.pem(), self.pem()), key.serialize_pem()))
    }

    /// A leaf certificate for `names`; `expired` puts its validity in the
    /// past. Returns (certificate chain PEM, key PEM).
    pub fn issue(&self, names: &[&str], client: bool, expired: bool) -> Result<(String, String)> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_string()).collect();
        let mut p = CertificateParams::new(names.clone())?;
        if let Some(first) = names.first() {
            p.distinguished_name
                .push(rcgen::DnType::CommonName, first.clone());
        }
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &self.cert, &self.key)?;
        Ok((format!("{}{}", cert.pem(), self.pem()), key.serialize_pem()))
    }
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) -> Result<()> {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| {
            anyhow::anyhow!(
                "the openssl command (Debian package openssl; `make tools` installs it): {e}"
            )
        })?;
    anyhow::ensure!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// A PKCS12 keystore made by `openssl pkcs12 -export` (OpenSSL 3's
/// defaults: PBES2 with AES-256) from a PEM chain and key, at
/// `dir/name`; returns its path.
pub fn pkcs12_keystore(
    dir: &std::path::Path,
    name: &str,
    (chain, key): &(String, String),
    password: &str,
) -> Result<String> {
    std::fs::write(dir.join(format!("{name}.chain.pem")), chain)?;
    std::fs::write(dir.join(format!("{name}.key.pem")), key)?;
    openssl(
        dir,
        &[
            "pkcs12",
            "-export",
            "-in",
            &format!("{name}.chain.pem"),
            "-inkey",
            &format!("{name}.key.pem"),
            "-out",
            name,
            "-passout",
            &format!("pass:{password}"),
        ],
    )?;
    Ok(dir.join(name).display().to_string())
}

/// A PKCS12 truststore holding `ca_pem`, at `dir/name`; returns its path.
pub fn pkcs12_truststore(
    dir: &std::path::Path,
    name: &str,
    ca_pem: &str,
    password: &str,
) -> Result<String> {
    std::fs::write(dir.join(format!("{name}.pem")), ca_pem)?;
    openssl(
        dir,
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            &format!("{name}.pem"),
            "-out",
            name,
            "-passout",
            &format!("pass:{password}"),
        ],
    )?;
    Ok(dir.join(name).display().to_string())
}
