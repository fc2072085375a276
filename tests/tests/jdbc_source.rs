//! The JDBC source (`io.confluent.connect.jdbc.JdbcSourceConnector`)
//! against the machine's PostgreSQL and MariaDB and a real broker:
//! - incrementing mode: rows in order, a table created while running gets
//!   its topic, Confluent's offsets, and `kill -9` mid-stream loses and
//!   repeats nothing past the last commit;
//! - timestamp mode: thousands of rows sharing one timestamp survive a
//!   `kill -9` in the middle of them (Confluent's issue #598), read
//!   through a view that slows each row down so the kill lands there;
//! - timestamp+incrementing on MariaDB: updates come again, inserts once;
//! - every supported PostgreSQL type through the AvroConverter and the
//!   embedded registry, NUMERIC(38,10) and timestamps exact.
//!
//! Each test creates its own database and drops it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_tests::*;

const WAIT: Duration = Duration::from_secs(60);

fn json_values(bootstrap: &str, topic: &str, at_least: usize) -> anyhow::Result<Vec<Value>> {
    wait_values(
        bootstrap,
        topic,
        &format!("{at_least} records in {topic}"),
        |v| v.len() >= at_least,
    )
}

/// Every record value of `topic` (a large topic's first fetch can take
/// the broker seconds).
fn read_values(bootstrap: &str, topic: &str) -> Option<Vec<Value>> {
    let recs = consume_from_start(
        bootstrap,
        topic,
        Duration::from_secs(10),
        Duration::from_secs(1),
    )
    .ok()?;
    Some(
        recs.iter()
            .filter_map(|(_, v)| serde_json::from_slice(v.as_deref()?).ok())
            .collect(),
    )
}

/// Every record of `topic` as JSON, waiting until `done` holds.
fn wait_values(
    bootstrap: &str,
    topic: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> anyhow::Result<Vec<Value>> {
    wait_until(WAIT, what, || {
        let values = read_values(bootstrap, topic)?;
        done(&values).then_some(values)
    })
}

fn ids(values: &[Value]) -> Vec<i64> {
    values.iter().filter_map(|v| v["id"].as_i64()).collect()
}

fn counts(ids: &[i64]) -> BTreeMap<i64, usize> {
    let mut m = BTreeMap::new();
    for i in ids {
        *m.entry(*i).or_default() += 1;
    }
    m
}

const JSON_VALUES: &str = "value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n";

#[test]
fn postgres_incrementing_follows_new_rows_and_tables_and_survives_kill9() -> anyhow::Result<()> {
    let db = PgDb::create()?;
    db.exec(
        "CREATE TABLE orders (id SERIAL PRIMARY KEY, item TEXT NOT NULL, qty INT);
         INSERT INTO orders (item, qty) SELECT 'item-' || g, g FROM generate_series(1, 50) g;",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = format!("{}-", unique("pg"));
    let connector = format!(
        "name=jdbc-pg\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\n\
         connection.url={}\nmode=incrementing\nincrementing.column.name=id\n\
         topic.prefix={prefix}\npoll.interval.ms=200\ntable.poll.interval.ms=1000\n\
         batch.max.rows=7\n{JSON_VALUES}",
        db.url()
    );
    let mut worker = start_standalone(dir.path(), &broker.bootstrap, rest, &connector, "w1.log")?;
    let topic = format!("{prefix}orders");
    let values = json_values(&broker.bootstrap, &topic, 50)?;
    assert_eq!(ids(&values), (1..=50).collect::<Vec<_>>());
    assert_eq!(values[0], json!({"id": 1, "item": "item-1", "qty": 1}));

    db.exec(
        "INSERT INTO orders (item, qty) SELECT 'item-' || g, NULL FROM generate_series(51, 80) g",
    )?;
    let values = wait_values(&broker.bootstrap, &topic, "80 orders", |v| v.len() >= 80)?;
    assert_eq!(ids(&values), (1..=80).collect::<Vec<_>>());
    assert_eq!(values[79]["qty"], Value::Null);

    // A table created while the connector runs reconfigures the tasks.
    db.exec("CREATE TABLE customers (id BIGSERIAL PRIMARY KEY, name VARCHAR(20) NOT NULL); INSERT INTO customers (name) VALUES ('ann'), ('bob')")?;
    let customers = json_values(&broker.bootstrap, &format!("{prefix}customers"), 2)?;
    assert_eq!(customers[1], json!({"id": 2, "name": "bob"}));

    // Confluent's partition and offset.
    let offsets = wait_until(WAIT, "the orders offset at 80", || {
        let offs = committed_offsets(rest, "jdbc-pg")?;
        offs.into_iter().find(|(p, o)| {
            *p == json!({"protocol": "1", "table": "public.orders"})
                && *o == json!({"incrementing": 80})
        })
    });
    offsets?;

    // kill -9 while rows stream in, then restart: every row once, none lost.
    db.exec(
        "INSERT INTO orders (item, qty) SELECT 'item-' || g, g FROM generate_series(81, 3000) g",
    )?;
    wait_values(&broker.bootstrap, &topic, "some of the new rows", |v| {
        v.len() > 100
    })?;
    worker.kill9()?;
    db.exec(
        "INSERT INTO orders (item, qty) SELECT 'item-' || g, g FROM generate_series(3001, 3100) g",
    )?;
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &connector, "w2.log")?;
    let values = wait_values(&broker.bootstrap, &topic, "3100 distinct orders", |v| {
        counts(&ids(v)).len() >= 3100
    })?;
    let c = counts(&ids(&values));
    let missing: Vec<i64> = (1..=3100).filter(|i| !c.contains_key(i)).collect();
    assert!(missing.is_empty(), "lost rows: {missing:?}");
    let dups = c.values().filter(|n| **n > 1).count();
    println!("incrementing kill -9: 3100 rows, 0 lost, {dups} repeated (after the last commit)");
    // Repeats can only be rows after the last committed offset before the
    // kill, and each at most twice.
    assert!(c.values().all(|n| *n <= 2), "a row came more than twice");
    Ok(())
}

#[test]
fn postgres_timestamp_mode_keeps_rows_sharing_a_timestamp_across_kill9() -> anyhow::Result<()> {
    let db = PgDb::create()?;
    // 3,000 rows share one timestamp. They are read through a view that
    // takes 20 ms per row for rows 100 to 400 (in timestamp order, from an
    // index), so the worker is killed while they stream and offsets are
    // being committed.
    // What this test changes in the server: only its own database's
    // planner settings (no sorts, bitmap or sequential scans).
    db.exec(&format!(
        "ALTER DATABASE {} SET enable_sort = off; ALTER DATABASE {0} SET enable_bitmapscan = off; ALTER DATABASE {0} SET enable_seqscan = off;",
        db.name
    ))?;
    db.exec(
        "CREATE TABLE events (id INT NOT NULL, at TIMESTAMP NOT NULL, note TEXT);
         CREATE INDEX events_at ON events (at);
         INSERT INTO events SELECT g, TIMESTAMP '2024-05-01 10:00:00.123456', 'same' FROM generate_series(1, 3000) g;
         INSERT INTO events SELECT g, TIMESTAMP '2024-05-01 10:00:01', 'later' FROM generate_series(3001, 3010) g;
         CREATE FUNCTION slow(x INT) RETURNS INT AS
           'SELECT pg_sleep(CASE WHEN x BETWEEN 100 AND 400 THEN 0.02 ELSE 0 END); SELECT x' LANGUAGE sql VOLATILE;
         CREATE VIEW events_slow AS SELECT id, at, note FROM events WHERE slow(id) > 0;",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = format!("{}-", unique("ts"));
    let connector = format!(
        "name=jdbc-ts\nconnector.class=JdbcSource\nconnection.url={}\nmode=timestamp\n\
         timestamp.column.name=at\ntopic.prefix={prefix}\npoll.interval.ms=200\n\
         table.types=VIEW\ntable.whitelist=events_slow\nvalidate.non.null=false\n\
         batch.max.rows=20\n{JSON_VALUES}",
        db.url()
    );
    let topic = format!("{prefix}events_slow");
    let mut worker = start_standalone(dir.path(), &broker.bootstrap, rest, &connector, "w1.log")?;
    wait_until(WAIT, "the first 100 rows", || {
        let r = consume_records(&broker.bootstrap, &topic, 100, Duration::from_secs(5)).ok()?;
        (r.len() >= 100).then_some(())
    })?;
    let committed = committed_offsets(rest, "jdbc-ts");
    worker.kill9()?;
    let first = read_values(&broker.bootstrap, &topic).map_or(0, |v| v.len());
    assert!(
        first < 3000,
        "killed in the middle of the shared timestamp ({first} records out)"
    );
    println!("killed after {first} records; committed then: {committed:?}");
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &connector, "w2.log")?;
    let values = wait_values(&broker.bootstrap, &topic, "3010 distinct events", |v| {
        counts(&ids(v)).len() >= 3010
    })?;
    assert_eq!(counts(&ids(&values)).len(), 3010, "every event arrives");
    println!(
        "timestamp kill -9 after {first} records: 3010 rows, 0 lost, {} records in all",
        values.len()
    );
    // The committed offset reaches the last timestamp.
    wait_until(WAIT, "the offset at the last timestamp", || {
        let offs = committed_offsets(rest, "jdbc-ts")?;
        offs.into_iter().find(|(_, o)| {
            // 2024-05-01T10:00:01Z
            *o == json!({"timestamp": 1_714_557_601_000i64, "timestamp_nanos": 0})
        })
    })?;
    // A later row comes once.
    db.exec("INSERT INTO events VALUES (3011, TIMESTAMP '2024-05-01 10:00:02', 'new')")?;
    let values = wait_values(&broker.bootstrap, &topic, "event 3011", |v| {
        ids(v).contains(&3011)
    })?;
    assert_eq!(counts(&ids(&values)).get(&3011), Some(&1));
    Ok(())
}

#[test]
fn mariadb_timestamp_incrementing_reads_inserts_once_and_updates_again() -> anyhow::Result<()> {
    let db = MyDb::create()?;
    db.exec(
        "CREATE TABLE accounts (id INT AUTO_INCREMENT PRIMARY KEY, owner VARCHAR(40) NOT NULL,
           balance DECIMAL(12,2) NOT NULL, updated DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6));
         INSERT INTO accounts (owner, balance, updated) VALUES ('ann', 10.50, '2024-01-01 00:00:00'), ('bob', 20.00, '2024-01-01 00:00:00'), ('cy', -3.25, '2024-01-02 00:00:00');",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = format!("{}-", unique("my"));
    let connector = format!(
        "name=jdbc-my\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\n\
         connection.url={}\nmode=timestamp+incrementing\nincrementing.column.name=id\n\
         timestamp.column.name=updated\ntopic.prefix={prefix}\npoll.interval.ms=200\n\
         numeric.mapping=best_fit\n{JSON_VALUES}",
        db.url()
    );
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &connector, "w1.log")?;
    let topic = format!("{prefix}accounts");
    let values = json_values(&broker.bootstrap, &topic, 3)?;
    assert_eq!(ids(&values), vec![1, 2, 3]);
    // numeric.mapping applies to MySQL DECIMAL too (Confluent's #563).
    assert_eq!(values[0]["balance"], json!(10.5));
    assert_eq!(values[2]["balance"], json!(-3.25));
    // DATETIME as Connect Timestamp in db.timezone (UTC): epoch ms.
    assert_eq!(values[0]["updated"], json!(1_704_067_200_000i64));
    db.exec("UPDATE accounts SET balance = 99.99 WHERE id = 1; INSERT INTO accounts (owner, balance) VALUES ('dee', 1.00)")?;
    let values = wait_values(
        &broker.bootstrap,
        &topic,
        "the update and the insert",
        |v| v.len() >= 5,
    )?;
    assert_eq!(ids(&values), vec![1, 2, 3, 1, 4]);
    assert_eq!(values[3]["balance"], json!(99.99));
    let offs = wait_until(WAIT, "an offset for db.accounts", || {
        committed_offsets(rest, "jdbc-my")?
            .into_iter()
            .find(|(p, o)| {
                *p == json!({"protocol": "1", "table": format!("{}.accounts", db.name)})
                    && o["incrementing"] == json!(4)
            })
    })?;
    assert!(
        offs.1["timestamp"].as_i64().is_some() && offs.1["timestamp_nanos"].as_i64().is_some(),
        "{offs:?}"
    );
    Ok(())
}

#[test]
fn postgres_types_read_back_exactly_through_avro_and_the_registry() -> anyhow::Result<()> {
    use sluice_schema::converter::{AvroConverter, Converter, ConverterConfig};
    use sluice_schema::logical::Decimal;
    use sluice_schema::{SchemaType, Value as C};

    let db = PgDb::create()?;
    db.exec(
        "CREATE TABLE measures (
           id BIGINT PRIMARY KEY, amount NUMERIC(38,10) NOT NULL, small NUMERIC(5,2),
           at TIMESTAMP(6) NOT NULL, at_tz TIMESTAMPTZ, day DATE, tod TIME, flag BOOLEAN,
           tags TEXT[], nums INT[], doc JSONB, uid UUID, raw BYTEA, r REAL, d DOUBLE PRECISION);
         INSERT INTO measures VALUES (1, 1234567890123456789012345678.0123456789, -999.99,
           '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.5+01', '0001-01-01', '12:34:56.789',
           true, ARRAY['a', NULL, 'c'], ARRAY[1, 2], '{\"k\": 1}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
           '\\xdeadbeef', 0.25, 1e300);",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let (rest, registry) = (free_port()?, free_port()?);
    let extra = format!(
        "offset.flush.interval.ms=200\nschema.registry.embedded=true\n\
         schema.registry.listeners=http://127.0.0.1:{registry}\nschema.registry.kafkastore.topic={}\n\
         value.converter=io.confluent.connect.avro.AvroConverter\n\
         value.converter.schema.registry.url=http://127.0.0.1:{registry}\n",
        unique("_schemas")
    );
    let props = write_worker_props(dir.path(), &broker.bootstrap, &extra)?;
    let prefix = format!("{}-", unique("avro"));
    let conn = write_file(
        dir.path(),
        "jdbc.properties",
        &format!(
            "name=jdbc-avro\nconnector.class=JdbcSource\nconnection.url={}\nmode=bulk\n\
             topic.prefix={prefix}\npoll.interval.ms=60000\n",
            db.url()
        ),
    )?;
    let _w = Worker::start(
        dir.path(),
        rest,
        &[&props.display().to_string(), &conn.display().to_string()],
        &[],
        "w.log",
    )?;
    let topic = format!("{prefix}measures");
    let rec = wait_until(WAIT, "the row in the topic", || {
        consume_records(&broker.bootstrap, &topic, 1, Duration::from_secs(3))
            .ok()?
            .into_iter()
            .next()
    })?;
    let converter = AvroConverter::new(&ConverterConfig::new(false).with(
        "schema.registry.url",
        format!("http://127.0.0.1:{registry}"),
    ))?;
    let back = converter.to_connect(&topic, rec.value.as_deref())?;
    let schema = back.schema.clone().expect("a schema");
    assert_eq!(schema.name.as_deref(), Some("measures"));
    let C::Struct(s) = back.value else {
        anyhow::bail!("not a struct: {:?}", back.value)
    };
    let field = |n: &str| s.get(n).cloned().unwrap_or(C::Null);
    let decimal = |n: &str| -> anyhow::Result<Decimal> {
        let f = schema
            .field(n)
            .ok_or_else(|| anyhow::anyhow!("no field {n}"))?;
        Ok(Decimal::from_value(&f.schema, &field(n))?)
    };
    assert_eq!(
        decimal("amount")?,
        Decimal::new(12_345_678_901_234_567_890_123_456_780_123_456_789, 10)
    );
    assert_eq!(decimal("small")?, Decimal::new(-99_999, 2));
    assert!(
        !schema.field("amount").is_some_and(|f| f.schema.optional),
        "NOT NULL is required"
    );
    assert!(schema.field("small").is_some_and(|f| f.schema.optional));
    // 2024-02-29T23:59:59.999999 (db.timezone UTC) in milliseconds.
    assert_eq!(field("at"), C::Int64(1_709_251_199_999));
    assert_eq!(field("at_tz"), C::Int64(1_709_247_599_500));
    assert_eq!(field("day"), C::Int32(-719_162));
    assert_eq!(field("tod"), C::Int32(45_296_789));
    assert_eq!(field("flag"), C::Boolean(true));
    assert_eq!(
        field("tags"),
        C::Array(vec![C::String("a".into()), C::Null, C::String("c".into())])
    );
    assert_eq!(field("nums"), C::Array(vec![C::Int32(1), C::Int32(2)]));
    assert_eq!(field("doc"), C::String("{\"k\": 1}".into()));
    assert_eq!(
        field("uid"),
        C::String("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())
    );
    assert_eq!(field("raw"), C::Bytes(vec![0xde, 0xad, 0xbe, 0xef]));
    assert_eq!(field("r"), C::Float32(0.25));
    assert_eq!(field("d"), C::Float64(1e300));
    assert_eq!(
        schema.field("at").map(|f| f.schema.name.clone()),
        Some(Some("org.apache.kafka.connect.data.Timestamp".to_string()))
    );
    assert_eq!(
        schema.field("tags").map(|f| f.schema.schema_type),
        Some(SchemaType::Array)
    );
    // The value schema is in the registry under the topic's subject.
    let (code, body) = http_get(
        registry,
        &format!("/subjects/{topic}-value/versions/latest"),
    )?;
    assert_eq!(code, 200, "{body}");
    Ok(())
}
