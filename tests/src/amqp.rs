//! RabbitMQ for the tests: the machine's broker (127.0.0.1:5672,
//! guest/guest), a virtual host of the test's own (made with `rabbitmqctl`,
//! deleted when dropped), and a real AMQP client to declare, publish and
//! read with.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};

fn rabbitmqctl(args: &[&str]) -> Result<String> {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .context("rabbitmqctl is missing: install RabbitMQ (apt-get install rabbitmq-server)")?;
    if !out.status.success() {
        bail!(
            "rabbitmqctl {} failed: {}{}\nIs RabbitMQ running? Start it with `rabbitmq-server -detached`.",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A virtual host of the test's own on the machine's RabbitMQ, where
/// guest may do everything; deleted (with its queues) when dropped.
#[derive(Debug)]
pub struct RabbitVhost {
    pub name: String,
}

/// A message to publish: body, message id, correlation id, headers.
pub type Outgoing = (
    Vec<u8>,
    Option<String>,
    Option<String>,
    Vec<(String, String)>,
);

/// One message read from a queue.
#[derive(Debug, Clone)]
pub struct AmqpMessage {
    pub body: Vec<u8>,
    pub routing_key: String,
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    pub delivery_mode: Option<u8>,
    pub headers: Vec<(String, String)>,
}

impl RabbitVhost {
    pub fn create() -> Result<Self> {
        if std::net::TcpStream::connect("127.0.0.1:5672").is_err() {
            bail!(
                "RabbitMQ does not answer on 127.0.0.1:5672: start it with `rabbitmq-server -detached`"
            );
        }
        let name = crate::unique("sluice-vh");
        rabbitmqctl(&["add_vhost", &name])?;
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"])?;
        Ok(Self { name })
    }

    /// An AMQP URI for guest on this virtual host.
    pub fn uri(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.name)
    }

    /// Closes every client connection to this virtual host (the broker's
    /// side of a lost connection).
    pub fn close_connections(&self) -> Result<()> {
        rabbitmqctl(&[
            "close_all_connections",
            "-p",
            &self.name,
            "test closes connections",
        ])?;
        Ok(())
    }

    /// How many connections to this virtual host the broker has.
    pub fn connections(&self) -> usize {
        rabbitmqctl(&["list_connections", "-q", "--no-table-headers", "vhost"])
            .map(|out| out.lines().filter(|l| l.trim() == self.name).count())
            .unwrap_or(0)
    }

    /// A durable queue, and when `exchange` is given a durable direct
    /// exchange bound to it with `routing_key`.
    pub fn declare(&self, queue: &str, exchange: Option<(&str, &str)>) -> Result<()> {
        let uri = self.uri();
        let (queue, exchange) = (
            queue.to_string(),
            exchange.map(|(e, k)| (e.to_string(), k.to_string())),
        );
        runtime()?.block_on(async move {
            let conn = Connection::connect(&uri, ConnectionProperties::default()).await?;
            let ch = conn.create_channel().await?;
            let durable = QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            };
            ch.queue_declare(queue.as_str().into(), durable, FieldTable::default())
                .await?;
            if let Some((ex, key)) = exchange {
                ch.exchange_declare(
                    ex.as_str().into(),
                    ExchangeKind::Direct,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
                ch.queue_bind(
                    queue.as_str().into(),
                    ex.as_str().into(),
                    key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            }
            conn.close(200, "done".into()).await?;
            anyhow::Ok(())
        })
    }

    /// Publishes persistent messages to a queue (default exchange) with
    /// publisher confirms, at most `per_second` a second when given; each
    /// message is (body, message id, correlation id, headers).
    pub fn publish(
        &self,
        queue: &str,
        messages: Vec<Outgoing>,
        per_second: Option<u32>,
    ) -> Result<()> {
        let uri = self.uri();
        let queue = queue.to_string();
        runtime()?.block_on(async move {
            let conn = Connection::connect(&uri, ConnectionProperties::default()).await?;
            let ch = conn.create_channel().await?;
            ch.confirm_select(ConfirmSelectOptions::default()).await?;
            let started = tokio::time::Instant::now();
            let mut confirms = Vec::new();
            for (i, (body, id, corr, headers)) in messages.into_iter().enumerate() {
                if let Some(rate) = per_second
                    && i % 50 == 0
                {
                    let due = started + Duration::from_secs_f64(i as f64 / f64::from(rate.max(1)));
                    tokio::time::sleep_until(due).await;
                }
                let mut props = BasicProperties::default().with_delivery_mode(2);
                if let Some(id) = id {
                    props = props.with_message_id(id.into());
                }
                if let Some(c) = corr {
                    props = props.with_correlation_id(c.into());
                }
                if !headers.is_empty() {
                    let mut t = FieldTable::default();
                    for (k, v) in headers {
                        t.insert(k.into(), AMQPValue::LongString(v.into()));
                    }
                    props = props.with_headers(t);
                }
                confirms.push(
                    ch.basic_publish(
                        "".into(),
                        queue.as_str().into(),
                        BasicPublishOptions::default(),
                        &body,
                        props,
                    )
                    .await?,
                );
                if confirms.len() >= 500 {
                    for c in confirms.drain(..) {
                        anyhow::ensure!(c.await?.is_ack(), "the broker did not take a message");
                    }
                }
            }
            for c in confirms {
                anyhow::ensure!(c.await?.is_ack(), "the broker did not take a message");
            }
            conn.close(200, "done".into()).await?;
            anyhow::Ok(())
        })
    }

    /// Reads (and acknowledges) messages from `queue` until `n` arrived
    /// or nothing came for `quiet`.
    pub fn read(&self, queue: &str, n: usize, quiet: Duration) -> Result<Vec<AmqpMessage>> {
        let uri = self.uri();
        let queue = queue.to_string();
        runtime()?.block_on(async move {
            let conn = Connection::connect(&uri, ConnectionProperties::default()).await?;
            let ch = conn.create_channel().await?;
            let mut consumer = ch
                .basic_consume(
                    queue.as_str().into(),
                    crate::unique("reader").as_str().into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            let mut out = Vec::new();
            while out.len() < n {
                let Ok(Some(d)) = tokio::time::timeout(quiet, consumer.next()).await else {
                    break;
                };
                let d = d?;
                let p = &d.properties;
                let headers = p
                    .headers()
                    .as_ref()
                    .map(|t| {
                        t.inner()
                            .iter()
                            .map(|(k, v)| (k.to_string(), amqp_text(v)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(AmqpMessage {
                    body: d.data.clone(),
                    routing_key: d.routing_key.to_string(),
                    message_id: p.message_id().as_ref().map(|s| s.to_string()),
                    correlation_id: p.correlation_id().as_ref().map(|s| s.to_string()),
                    delivery_mode: *p.delivery_mode(),
                    headers,
                });
                d.ack(BasicAckOptions::default()).await?;
            }
            conn.close(200, "done".into()).await?;
            anyhow::Ok(out)
        })
    }
}

fn amqp_text(v: &AMQPValue) -> String {
    match v {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.to_string(),
        AMQPValue::LongInt(n) => n.to_string(),
        AMQPValue::LongLongInt(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

impl Drop for RabbitVhost {
    fn drop(&mut self) {
        let _ = rabbitmqctl(&["delete_vhost", &self.name]);
    }
}
