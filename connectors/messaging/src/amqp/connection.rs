//! The connection settings as an AMQP URI, and what a connection or
//! channel error means (retry, or a configuration the broker will never
//! accept, named by its key).

use std::sync::Arc;

use lapin::protocol::AMQPErrorKind;
use lapin::tcp::{AMQPUriTcpExt as _, RustlsConnector};
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{ConnectionProperties, Error, ErrorKind};

use super::config::Connection;
use crate::backoff::Failure;

pub(crate) fn amqp_uri(c: &Connection) -> AMQPUri {
    AMQPUri {
        scheme: AMQPScheme::AMQP,
        authority: AMQPAuthority {
            userinfo: AMQPUserInfo {
                username: c.username.clone(),
                password: c
                    .password
                    .as_ref()
                    .map(|p| p.expose().to_string())
                    .unwrap_or_default(),
            },
            host: c.host.clone(),
            port: c.port,
        },
        vhost: c.vhost.clone(),
        query: AMQPQueryString {
            heartbeat: Some(c.heartbeat_secs),
            connection_timeout: u64::try_from(c.connection_timeout.as_millis()).ok(),
            ..AMQPQueryString::default()
        },
    }
}

/// Opens a connection with the settings of `c`: plain TCP, or with
/// `rabbitmq.security.protocol=SSL` TLS with Sluice's own rustls settings
/// (the connector dials the host of `rabbitmq.host` and checks the
/// certificate against it). Stores that cannot be read are a refusal.
pub(crate) async fn open(
    c: &Connection,
    props: ConnectionProperties,
    where_: &str,
) -> Result<lapin::Connection, Failure> {
    let uri = amqp_uri(c);
    let tls = c
        .tls_config()
        .map_err(|e| Failure::Refused(format!("{where_}: {e}")))?;
    let opened = match tls {
        None => lapin::Connection::connect_uri(uri, props).await,
        Some(tls) => {
            let connector = Arc::new(RustlsConnector::from(tls));
            match lapin::runtime::default_runtime() {
                Err(e) => Err(e),
                Ok(runtime) => {
                    lapin::Connection::connector(
                        uri,
                        runtime,
                        async move |uri: AMQPUri, rt| {
                            // The URI says AMQP: the stream is plain TCP, and
                            // TLS is started here with our settings, not the
                            // library's.
                            let tcp = uri.connect_async(&rt).await?;
                            Ok(tcp.into_rustls(&connector, &uri.authority.host).await?)
                        },
                        props,
                    )
                    .await
                }
            }
        }
    };
    opened.map_err(|e| classify(where_, "", &e))
}

/// `where_` names the broker, `what` the queue or exchange involved.
pub(crate) fn classify(where_: &str, what: &str, e: &Error) -> Failure {
    if let Some(why) = crate::tls::refusal(
        e,
        "rabbitmq.https.ssl.truststore.location",
        "rabbitmq.https.ssl.keystore.location",
    ) {
        return Failure::Refused(format!("{where_}: {why}"));
    }
    let ErrorKind::ProtocolError(amqp) = e.kind() else {
        return Failure::Transient(format!("{where_}: {e}"));
    };
    let code = amqp.get_id();
    let text = amqp.get_message().to_string();
    let hard = matches!(amqp.kind(), AMQPErrorKind::Hard(_));
    let on = if what.is_empty() {
        String::new()
    } else {
        format!(" on {what}")
    };
    match code {
        403 => Failure::Refused(format!(
            "{where_} refused access{on}: {text} (check rabbitmq.username, rabbitmq.password and the user's permissions on rabbitmq.virtual.host)"
        )),
        404 => Failure::Refused(format!(
            "{where_}: {what} does not exist: {text} (create it, or fix the connector's queue or exchange key)"
        )),
        530 => Failure::Refused(format!(
            "{where_}: {text} (check rabbitmq.virtual.host and the user's access to it)"
        )),
        405 | 406 => Failure::Refused(format!("{where_}{on}: {text}")),
        _ if hard => Failure::Transient(format!("{where_}: connection error {code}: {text}")),
        _ => Failure::Transient(format!("{where_}{on}: channel error {code}: {text}")),
    }
}
