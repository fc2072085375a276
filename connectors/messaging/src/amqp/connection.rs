//! The connection settings as an AMQP URI, and what a connection or
//! channel error means (retry, or a configuration the broker will never
//! accept, named by its key).

use lapin::protocol::AMQPErrorKind;
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{Error, ErrorKind};

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

/// `where_` names the broker, `what` the queue or exchange involved.
pub(crate) fn classify(where_: &str, what: &str, e: &Error) -> Failure {
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
