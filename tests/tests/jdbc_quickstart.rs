//! Confluent's JDBC quickstart configs (`examples/jdbc/confluent-quickstart/`)
//! run unchanged but for `connection.url`, against the machine's
//! PostgreSQL: the source copies the quickstart's `accounts` table into
//! `test-sqlite-jdbc-accounts`, and the sink creates table `orders` from
//! the quickstart's order record.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_tests::*;

const WAIT: Duration = Duration::from_secs(60);

fn example(name: &str, url: &str) -> anyhow::Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/jdbc/confluent-quickstart")
        .join(name);
    let text = std::fs::read_to_string(&path)?;
    let mut changed = 0;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("connection.url=") {
                changed += 1;
                format!("connection.url={url}")
            } else {
                l.to_string()
            }
        })
        .collect();
    anyhow::ensure!(
        changed == 1,
        "{} has no connection.url line",
        path.display()
    );
    Ok(out.join("\n") + "\n")
}

#[test]
fn confluents_quickstart_configs_run_with_only_the_url_changed() -> anyhow::Result<()> {
    let db = PgDb::create()?;
    db.exec(
        "CREATE TABLE accounts (id SERIAL PRIMARY KEY, name VARCHAR(255));
         INSERT INTO accounts (name) VALUES ('alice'), ('bob');",
    )?;
    let broker = Broker::start()?;
    create_topic(&broker.bootstrap, "orders")?;
    let order = json!({
        "schema": {"type": "struct", "name": "myrecord", "fields": [
            {"field": "id", "type": "int32"}, {"field": "product", "type": "string"},
            {"field": "quantity", "type": "int32"}, {"field": "price", "type": "float"}]},
        "payload": {"id": 999, "product": "foo", "quantity": 100, "price": 50.0}
    });
    produce_strings(&broker.bootstrap, "orders", &[order.to_string()])?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        "value.converter=org.apache.kafka.connect.json.JsonConverter\n",
    )?;
    let source = write_file(
        dir.path(),
        "source.properties",
        &example("source-quickstart.properties", &db.url())?,
    )?;
    let sink = write_file(
        dir.path(),
        "sink.properties",
        &example("sink-quickstart.properties", &db.url())?,
    )?;
    let _w = Worker::start(
        dir.path(),
        rest,
        &[
            &props.display().to_string(),
            &source.display().to_string(),
            &sink.display().to_string(),
        ],
        &[],
        "w.log",
    )?;
    let accounts = wait_until(WAIT, "alice and bob in test-sqlite-jdbc-accounts", || {
        let recs = consume_records(
            &broker.bootstrap,
            "test-sqlite-jdbc-accounts",
            2,
            Duration::from_secs(3),
        )
        .ok()?;
        (recs.len() >= 2).then_some(recs)
    })?;
    let first: Value = serde_json::from_slice(accounts[0].value.as_deref().unwrap_or_default())?;
    assert_eq!(first["payload"], json!({"id": 1, "name": "alice"}));
    assert_eq!(first["schema"]["name"], "accounts");
    let rows = wait_until(WAIT, "the order in table orders", || {
        let r = db
            .query("SELECT id, product, quantity, price FROM orders")
            .ok()?;
        (!r.is_empty()).then_some(r)
    })?;
    assert_eq!(rows, vec![vec!["999", "foo", "100", "50"]]);
    Ok(())
}
