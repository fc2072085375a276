//! Connecting to NATS: the options from the config, and what a failure
//! means. Once connected, the client reconnects by itself.

use async_nats::{Client, ConnectErrorKind, ConnectOptions};

use super::config::Connection;
use crate::backoff::Failure;

pub(crate) async fn connect(c: &Connection, name: &str) -> Result<Client, Failure> {
    let mut o = ConnectOptions::new()
        .name(format!("sluice {name}"))
        .connection_timeout(c.connect_timeout);
    if !c.user.is_empty() {
        let password = c
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        o = o.user_and_password(c.user.clone(), password);
    } else if let Some(t) = &c.token {
        o = o.token(t.expose().to_string());
    } else if let Some(seed) = &c.nkey {
        o = o.nkey(seed.expose().to_string());
    }
    let servers = c.urls.join(",");
    match c.tls_config() {
        Ok(Some(tls)) => {
            // TLS keys set mean TLS is wanted: a server (or a man in the
            // middle) that does not offer it must not get the credentials
            // in plain text.
            o = o.tls_client_config((*tls).clone()).require_tls(true);
        }
        Ok(None) => {}
        Err(e) => return Err(Failure::Refused(e)),
    }
    o.connect(c.urls.as_slice()).await.map_err(|e| match e.kind() {
        ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => Failure::Refused(format!(
            "NATS {servers} refused the connection: {e} (check nats.user and nats.password, nats.token or nats.nkey.seed)"
        )),
        ConnectErrorKind::ServerParse => Failure::Refused(format!("nats.url '{servers}': {e}")),
        _ => match crate::tls::refusal(
            &e,
            "nats.ssl.truststore.location",
            "nats.ssl.keystore.location",
        ) {
            Some(why) => Failure::Refused(format!("NATS {servers}: {why}")),
            None => Failure::Transient(format!("NATS {servers}: {e}")),
        },
    })
}
