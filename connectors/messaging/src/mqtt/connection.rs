//! One MQTT connection attempt: the client options from the config, what
//! a failure means (wait and retry, or a configuration the broker will
//! never accept), and the backoff between attempts.
//!
//! Both connectors make a new client and event loop for every connection.
//! Nothing queued for an old connection (an acknowledgement, a publish)
//! can then reach the broker on a new one, where the same packet id may
//! name a different message.

use std::time::Duration;

use rumqttc::{ConnectReturnCode, ConnectionError, MqttOptions, QoS, TlsConfiguration, Transport};

use super::config::Connection;
use crate::backoff::Failure;

/// Requests the client may queue for its event loop. Acknowledgements are
/// queued without waiting, so this bounds how many can wait at once; it
/// is far more than a broker keeps in flight.
pub(crate) const REQUEST_CAPACITY: usize = 65_536;

/// The options for one attempt against server `index` (modulo the list);
/// an error when the TLS stores cannot be read.
pub(crate) fn options(
    conn: &Connection,
    client_id: &str,
    index: usize,
) -> Result<(MqttOptions, String), String> {
    let server = &conn.servers[index % conn.servers.len()];
    let mut o = MqttOptions::new(client_id, server.host.clone(), server.port);
    if server.tls {
        let tls = conn
            .tls_config()?
            .ok_or_else(|| format!("{server}: no TLS settings"))?;
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
    }
    o.set_keep_alive(Duration::from_secs(u64::from(conn.keepalive_secs)));
    o.set_clean_session(conn.clean_session);
    o.set_max_packet_size(conn.max_packet_size, conn.max_packet_size);
    o.set_request_channel_capacity(REQUEST_CAPACITY);
    if !conn.username.is_empty() {
        let password = conn
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        o.set_credentials(conn.username.clone(), password);
    }
    Ok((o, server.to_string()))
}

pub(crate) fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        2 => QoS::ExactlyOnce,
        _ => QoS::AtLeastOnce,
    }
}

/// What a connection error means, in words that name the key to fix.
pub(crate) fn classify(server: &str, client_id: &str, e: &ConnectionError) -> Failure {
    match e {
        ConnectionError::ConnectionRefused(code) => {
            let why = match code {
                ConnectReturnCode::BadUserNamePassword => {
                    "bad user name or password (check mqtt.username and mqtt.password)".to_string()
                }
                ConnectReturnCode::NotAuthorized => {
                    "not authorized (check mqtt.username and mqtt.password, and the broker's ACLs)"
                        .to_string()
                }
                ConnectReturnCode::BadClientId => {
                    format!("the client id '{client_id}' was rejected (check mqtt.client.id)")
                }
                ConnectReturnCode::RefusedProtocolVersion => {
                    "the broker does not speak MQTT 3.1.1".to_string()
                }
                ConnectReturnCode::ServiceUnavailable => {
                    return Failure::Transient(format!(
                        "MQTT broker {server} is unavailable (it refused the connection: server unavailable)"
                    ));
                }
                ConnectReturnCode::Success => "an unexpected CONNACK".to_string(),
            };
            Failure::Refused(format!(
                "MQTT broker {server} refused the connection: {why}"
            ))
        }
        ConnectionError::Tls(e) => {
            match crate::tls::refusal(e, "mqtt.ssl.trust.store.path", "mqtt.ssl.key.store.path") {
                Some(why) => Failure::Refused(format!("MQTT broker {server}: {why}")),
                None => Failure::Transient(format!("MQTT broker {server}: {e}")),
            }
        }
        other => Failure::Transient(format!("MQTT broker {server}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_key() {
        let e = ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword);
        match classify("tcp://h:1883", "c", &e) {
            Failure::Refused(m) => assert!(m.contains("mqtt.password"), "{m}"),
            Failure::Transient(m) => panic!("transient: {m}"),
        }
        let e = ConnectionError::ConnectionRefused(ConnectReturnCode::ServiceUnavailable);
        assert!(matches!(classify("s", "c", &e), Failure::Transient(_)));
        let e = ConnectionError::NetworkTimeout;
        assert!(matches!(classify("s", "c", &e), Failure::Transient(_)));
    }
}
