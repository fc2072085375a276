//! PKCS12 stores and encrypted PEM keys (issue 21): stores made by the
//! tools users make them with, Java's keytool (committed fixtures, see
//! fixtures/make.sh) and OpenSSL's command line (made here), opened with
//! Kafka's `ssl.*` keys and proven by a TLS handshake with client
//! certificates between the configurations built from them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use sluice_tls::{Scope, SslProps, client_config_of, server_config_of};

const PASSWORD: &str = "changeit";

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn server(pairs: &[(&str, &str)]) -> Result<Arc<rustls::ServerConfig>, String> {
    server_config_of(&SslProps::new(&props(pairs), Scope::Prefix("")))
}

fn client(pairs: &[(&str, &str)]) -> Result<Arc<rustls::ClientConfig>, String> {
    client_config_of(&SslProps::new(&props(pairs), Scope::Prefix("")))
}

/// Moves what `from` has to send into `to`; `to`'s error is named `side`.
fn pump(
    from: &mut rustls::Connection,
    to: &mut rustls::Connection,
    side: &str,
) -> Result<(), String> {
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).map_err(|e| e.to_string())?;
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).map_err(|e| e.to_string())?;
        to.process_new_packets()
            .map_err(|e| format!("{side}: {e}"))?;
    }
    Ok(())
}

/// Runs a TLS handshake between the two configurations in memory, with
/// the client asking for `localhost`; the error either side saw.
fn handshake(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
) -> Result<(), String> {
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut c: rustls::Connection = rustls::ClientConnection::new(client, name)
        .map_err(|e| e.to_string())?
        .into();
    let mut s: rustls::Connection = rustls::ServerConnection::new(server)
        .map_err(|e| e.to_string())?
        .into();
    for _ in 0..20 {
        pump(&mut c, &mut s, "server")?;
        pump(&mut s, &mut c, "client")?;
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok(());
        }
    }
    Err("the handshake did not finish".into())
}

/// keytool's stores: the keystore (key, chain and a trusted CA entry)
/// serves, the truststore checks; each side presents and checks.
#[test]
fn keytool_stores_serve_and_check_client_certificates() {
    let ks = fixture("worker.p12");
    let ts = fixture("truststore.p12");
    let both = [
        ("ssl.keystore.location", ks.as_str()),
        ("ssl.keystore.password", PASSWORD),
        ("ssl.key.password", PASSWORD),
        ("ssl.truststore.location", ts.as_str()),
        ("ssl.truststore.password", PASSWORD),
        ("ssl.client.auth", "required"),
    ];
    let s = server(&both).expect("server from PKCS12 stores");
    let c = client(&both).expect("client from PKCS12 stores");
    handshake(s.clone(), c).expect("handshake");
    // With Kafka's default store type (JKS), as Java does.
    let mut typed = both.to_vec();
    typed.push(("ssl.keystore.type", "JKS"));
    typed.push(("ssl.truststore.type", "PKCS12"));
    handshake(server(&typed).unwrap(), client(&typed).unwrap()).expect("typed handshake");
    // A client without a certificate is turned away.
    let anonymous = client(&[
        ("ssl.truststore.location", ts.as_str()),
        ("ssl.truststore.password", PASSWORD),
    ])
    .unwrap();
    let e = handshake(s, anonymous).unwrap_err();
    assert!(e.contains("server:"), "{e}");
}

#[test]
fn bad_passwords_and_java_only_stores_are_named() {
    let ks = fixture("worker.p12");
    let e = server(&[("ssl.keystore.location", &ks)]).unwrap_err();
    assert!(
        e.contains("is a PKCS12 store; set ssl.keystore.password"),
        "{e}"
    );
    let e = server(&[
        ("ssl.keystore.location", &ks),
        ("ssl.keystore.password", "wrong"),
    ])
    .unwrap_err();
    assert!(
        e.starts_with("ssl.keystore.location") && e.contains("wrong password"),
        "{e}"
    );
    let e = server(&[
        ("ssl.keystore.location", &ks),
        ("ssl.keystore.password", PASSWORD),
        ("ssl.keystore.type", "PEM"),
    ])
    .unwrap_err();
    assert!(
        e.contains("holds a PKCS12 store but ssl.keystore.type=PEM"),
        "{e}"
    );
    let jks = fixture("worker.jks");
    let e = server(&[
        ("ssl.keystore.location", &jks),
        ("ssl.keystore.password", PASSWORD),
    ])
    .unwrap_err();
    assert!(
        e.contains("is a JKS store") && e.contains("-deststoretype PKCS12"),
        "{e}"
    );
    let e = server(&[
        ("ssl.keystore.location", &ks),
        ("ssl.keystore.type", "BCFKS"),
    ])
    .unwrap_err();
    assert!(
        e.contains("Invalid value BCFKS for configuration ssl.keystore.type"),
        "{e}"
    );
    let ts = fixture("truststore.p12");
    let e = client(&[("ssl.truststore.location", &ts)]).unwrap_err();
    assert!(e.contains("set ssl.truststore.password"), "{e}");
    // The truststore holds no key: as a keystore it is refused.
    let e = server(&[
        ("ssl.keystore.location", &ts),
        ("ssl.keystore.password", PASSWORD),
    ])
    .unwrap_err();
    assert!(e.contains("holds no private key"), "{e}");
}

/// The truststore as PEM text (what librdkafka is given) holds the CA.
#[test]
fn truststore_as_pem() {
    let ts = fixture("truststore.p12");
    let p = props(&[
        ("ssl.truststore.location", &ts),
        ("ssl.truststore.password", PASSWORD),
    ]);
    let pem = sluice_tls::stores::trusted_pem(&SslProps::new(&p, Scope::Prefix("")))
        .unwrap()
        .unwrap();
    let ca = std::fs::read_to_string(fixture("ca.pem")).unwrap();
    let body = |t: &str| -> String { t.lines().filter(|l| !l.starts_with("-----")).collect() };
    assert_eq!(body(&pem), body(&ca));
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian package openssl; `make tools` installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a localhost key and certificate signed by it, made by
/// OpenSSL in `dir`: ca.pem, ca.key, leaf.pem, leaf.key.
fn openssl_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=openssl test CA",
            "-days",
            "2",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=keyCertSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .expect("write ext.cnf");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn path(dir: &Path, name: &str) -> String {
    PathBuf::from(dir).join(name).display().to_string()
}

/// `openssl pkcs12 -export` stores, with OpenSSL 3's default encryption
/// (PBES2, AES-256) and with the 3DES/SHA-1 of older tools; a
/// certificate-only truststore without Java's trust mark.
#[test]
fn openssl_stores_modern_and_legacy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_pki(d);
    let export = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "pkcs12",
            "-export",
            "-in",
            "leaf.pem",
            "-inkey",
            "leaf.key",
            "-certfile",
            "ca.pem",
            "-out",
            out,
            "-passout",
        ];
        args.push("pass:s3cret");
        args.extend_from_slice(extra);
        openssl(d, &args);
    };
    export("modern.p12", &[]);
    export(
        "legacy.p12",
        &[
            "-certpbe",
            "PBE-SHA1-3DES",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-macalg",
            "sha1",
        ],
    );
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            "ca.pem",
            "-out",
            "trust.p12",
            "-passout",
            "pass:trustpw",
        ],
    );
    let trust = path(d, "trust.p12");
    for store in ["modern.p12", "legacy.p12"] {
        let ks = path(d, store);
        let pairs = [
            ("ssl.keystore.location", ks.as_str()),
            ("ssl.keystore.password", "s3cret"),
            ("ssl.truststore.location", trust.as_str()),
            ("ssl.truststore.password", "trustpw"),
            ("ssl.client.auth", "required"),
        ];
        let s = server(&pairs).unwrap_or_else(|e| panic!("{store}: {e}"));
        let c = client(&pairs).unwrap_or_else(|e| panic!("{store}: {e}"));
        handshake(s, c).unwrap_or_else(|e| panic!("{store}: {e}"));
    }
    // The keytool truststore does not trust OpenSSL's CA.
    let kt = fixture("truststore.p12");
    let modern = path(d, "modern.p12");
    let s = server(&[
        ("ssl.keystore.location", &modern),
        ("ssl.keystore.password", "s3cret"),
    ])
    .unwrap();
    let c = client(&[
        ("ssl.truststore.location", &kt),
        ("ssl.truststore.password", PASSWORD),
    ])
    .unwrap();
    let e = handshake(s, c).unwrap_err();
    assert!(e.contains("client:") && e.contains("UnknownIssuer"), "{e}");
}

/// Encrypted PKCS#8 PEM keys, in a file and inline, opened with
/// `ssl.key.password`.
#[test]
fn encrypted_pem_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_pki(d);
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "leaf.key",
            "-out",
            "leaf-enc.key",
            "-passout",
            "pass:keypw",
        ],
    );
    let key = std::fs::read_to_string(d.join("leaf-enc.key")).unwrap();
    assert!(key.contains("BEGIN ENCRYPTED PRIVATE KEY"), "{key}");
    let chain = std::fs::read_to_string(d.join("leaf.pem")).unwrap()
        + &std::fs::read_to_string(d.join("ca.pem")).unwrap();
    let ca = path(d, "ca.pem");
    std::fs::write(d.join("store.pem"), format!("{key}{chain}")).unwrap();
    let store = path(d, "store.pem");
    let file = [
        ("ssl.keystore.location", store.as_str()),
        ("ssl.key.password", "keypw"),
    ];
    let inline = [
        ("ssl.keystore.certificate.chain", chain.as_str()),
        ("ssl.keystore.key", key.as_str()),
        ("ssl.key.password", "keypw"),
    ];
    let trusting = client(&[("ssl.truststore.location", &ca)]).unwrap();
    for pairs in [&file[..], &inline[..]] {
        let s = server(pairs).unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
        handshake(s, trusting.clone()).unwrap();
    }
    let e = server(&file[..1]).unwrap_err();
    assert!(
        e.contains("the private key is encrypted; set ssl.key.password"),
        "{e}"
    );
    let legacy = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n";
    let e = server(&[
        ("ssl.keystore.certificate.chain", chain.as_str()),
        ("ssl.keystore.key", legacy),
        ("ssl.key.password", "keypw"),
    ])
    .unwrap_err();
    assert!(e.contains("openssl pkcs8 -topk8"), "{e}");
    let e = server(&[file[0], ("ssl.key.password", "nope")]).unwrap_err();
    assert!(
        e.contains("cannot be decrypted with ssl.key.password"),
        "{e}"
    );
}
