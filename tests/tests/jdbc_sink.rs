//! The JDBC sink (`io.confluent.connect.jdbc.JdbcSinkConnector`) against
//! the machine's PostgreSQL and MariaDB and a real broker:
//! - PostgreSQL: upsert by record key with `auto.create` and
//!   `auto.evolve`, tombstones delete, a row the database refuses goes to
//!   the dead letter queue while the rest of its batch lands;
//! - MariaDB: `kill -9` of the worker mid-stream loses no row and (keyed
//!   by Kafka coordinates) duplicates none;
//! - a table with every supported type travels PostgreSQL → Kafka →
//!   MariaDB through the JDBC source and sink and compares equal.
//!
//! Each test creates its own databases and drops them.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_tests::*;

const WAIT: Duration = Duration::from_secs(90);

fn start_worker(
    dir: &Path,
    bootstrap: &str,
    rest: u16,
    connectors: &[(&str, String)],
    log: &str,
) -> anyhow::Result<Worker> {
    let props = write_worker_props(dir, bootstrap, "offset.flush.interval.ms=300\n")?;
    let mut args = vec![props.display().to_string()];
    for (name, text) in connectors {
        args.push(write_file(dir, name, text)?.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Worker::start(dir, rest, &args, &[], log)
}

const JSON_SCHEMAS: &str = "key.converter=org.apache.kafka.connect.json.JsonConverter\n\
    value.converter=org.apache.kafka.connect.json.JsonConverter\n";

fn key(id: i64) -> String {
    json!({"schema": {"type": "struct", "fields": [{"field": "id", "type": "int64", "optional": false}]}, "payload": {"id": id}}).to_string()
}

fn value(id: i64, name: &str, qty: i32, note: Option<&str>) -> String {
    let mut fields = vec![
        json!({"field": "id", "type": "int64", "optional": false}),
        json!({"field": "name", "type": "string", "optional": false}),
        json!({"field": "qty", "type": "int32", "optional": false}),
    ];
    let mut payload = json!({"id": id, "name": name, "qty": qty});
    if let Some(n) = note {
        fields.push(json!({"field": "note", "type": "string", "optional": true}));
        payload["note"] = json!(n);
    }
    json!({"schema": {"type": "struct", "name": "item", "fields": fields}, "payload": payload})
        .to_string()
}

fn produce_keyed(
    bootstrap: &str,
    topic: &str,
    records: &[(String, Option<String>)],
) -> anyhow::Result<()> {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    for (k, v) in records {
        let mut rec = BaseRecord::<String, String>::to(topic).key(k);
        if let Some(v) = v {
            rec = rec.payload(v);
        }
        p.send(rec).map_err(|(e, _)| e)?;
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(30))?;
    Ok(())
}

#[test]
fn postgres_upserts_deletes_evolves_and_sends_refused_rows_to_the_dlq() -> anyhow::Result<()> {
    let db = PgDb::create()?;
    let broker = Broker::start()?;
    let topic = unique("items").replace('-', "_");
    let dlq = unique("dlq");
    create_topic(&broker.bootstrap, &topic)?;
    let records: Vec<(String, Option<String>)> = (1..=5)
        .map(|i| (key(i), Some(value(i, &format!("n{i}"), 1, None))))
        .collect();
    produce_keyed(&broker.bootstrap, &topic, &records)?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let connector = format!(
        "name=pg-sink\nconnector.class=io.confluent.connect.jdbc.JdbcSinkConnector\ntopics={topic}\n\
         connection.url={}\ninsert.mode=upsert\npk.mode=record_key\ndelete.enabled=true\n\
         auto.create=true\nauto.evolve=true\nerrors.tolerance=all\n\
         errors.deadletterqueue.topic.name={dlq}\nerrors.deadletterqueue.topic.replication.factor=1\n\
         errors.deadletterqueue.context.headers.enable=true\n{JSON_SCHEMAS}",
        db.url()
    );
    let _w = start_worker(
        dir.path(),
        &broker.bootstrap,
        rest,
        &[("sink.properties", connector)],
        "w.log",
    )?;
    let rows = |sql: &str| db.query(sql).unwrap_or_default();
    let q = format!("SELECT id, name, qty, {} FROM \"{topic}\" ORDER BY id", "1");
    wait_until(WAIT, "5 rows", || (rows(&q).len() == 5).then_some(()))?;
    // The created table: key NOT NULL primary key, Confluent's types.
    let cols = rows(&format!(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = '{topic}' ORDER BY ordinal_position"
    ));
    assert_eq!(
        cols,
        vec![
            vec!["id".to_string(), "bigint".into(), "NO".into()],
            vec!["name".into(), "text".into(), "NO".into()],
            vec!["qty".into(), "integer".into(), "NO".into()],
        ]
    );

    // An update, a delete, a new optional field, and a row the database
    // refuses (a CHECK added now) in one stretch of records.
    db.exec(&format!(
        "ALTER TABLE \"{topic}\" ADD CONSTRAINT qty_positive CHECK (qty > 0)"
    ))?;
    produce_keyed(
        &broker.bootstrap,
        &topic,
        &[
            (key(1), Some(value(1, "renamed", 2, None))),
            (key(2), None),
            (key(6), Some(value(6, "n6", 1, Some("new field")))),
            (key(7), Some(value(7, "bad", -1, Some("refused")))),
            (key(8), Some(value(8, "n8", 3, Some("after the bad one")))),
        ],
    )?;
    let q = format!("SELECT id, name, qty, coalesce(note, '-') FROM \"{topic}\" ORDER BY id");
    let got = wait_until(WAIT, "rows 1,3,4,5,6,8", || {
        let r = rows(&q);
        (r.iter().map(|r| r[0].as_str()).collect::<Vec<_>>() == ["1", "3", "4", "5", "6", "8"])
            .then_some(r)
    })?;
    assert_eq!(got[0], vec!["1", "renamed", "2", "-"]);
    assert_eq!(got[4], vec!["6", "n6", "1", "new field"]);
    assert_eq!(got[5], vec!["8", "n8", "3", "after the bad one"]);
    let dead = wait_until(WAIT, "the refused record in the DLQ", || {
        let r = consume_records(&broker.bootstrap, &dlq, 1, Duration::from_secs(2)).ok()?;
        r.into_iter().next()
    })?;
    let v: Value = serde_json::from_slice(dead.value.as_deref().unwrap_or_default())?;
    assert_eq!(v["payload"]["id"], 7);
    let why = dead
        .header("__connect.errors.exception.message")
        .unwrap_or_default();
    assert!(
        why.contains("qty_positive") && why.contains("\"id\":7"),
        "the reason names the constraint and the key: {why}"
    );
    Ok(())
}

#[test]
fn mariadb_sink_loses_and_duplicates_nothing_across_kill9() -> anyhow::Result<()> {
    let db = MyDb::create()?;
    let broker = Broker::start()?;
    let topic = unique("events").replace('-', "_");
    create_topic(&broker.bootstrap, &topic)?;
    let n = 20_000;
    let records: Vec<(String, Option<String>)> = (0..n)
        .map(|i| (key(i), Some(value(i, &format!("e{i}"), 1, None))))
        .collect();
    produce_keyed(&broker.bootstrap, &topic, &records)?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let connector = format!(
        "name=my-sink\nconnector.class=JdbcSink\ntopics={topic}\nconnection.url={}\n\
         insert.mode=upsert\npk.mode=kafka\nauto.create=true\nbatch.size=500\n{JSON_SCHEMAS}",
        db.url()
    );
    let connectors = [("sink.properties", connector)];
    let count = || {
        db.query(&format!(
            "SELECT COUNT(*), COUNT(DISTINCT id) FROM `{topic}`"
        ))
        .ok()
        .and_then(|r| r.first().cloned())
        .map(|r| {
            (
                r[0].parse::<i64>().unwrap_or(0),
                r[1].parse::<i64>().unwrap_or(0),
            )
        })
        .unwrap_or((0, 0))
    };
    let mut w = start_worker(dir.path(), &broker.bootstrap, rest, &connectors, "w1.log")?;
    wait_until(WAIT, "some rows", || (count().0 > 0).then_some(()))?;
    w.kill9()?;
    let at_kill = count().0;
    let _w = start_worker(dir.path(), &broker.bootstrap, rest, &connectors, "w2.log")?;
    let (rows, distinct) = wait_until(WAIT, "all rows", || {
        let c = count();
        (c.1 >= n).then_some(c)
    })?;
    println!(
        "MariaDB sink kill -9 after {at_kill} rows: {n} records, {distinct} rows, {} duplicates",
        rows - distinct
    );
    assert_eq!((rows, distinct), (n, n), "every record once");
    Ok(())
}

#[test]
fn every_type_travels_postgres_to_mariadb_and_compares_equal() -> anyhow::Result<()> {
    let pg = PgDb::create()?;
    let my = MyDb::create()?;
    pg.exec(
        "CREATE TABLE alltypes (
           id BIGINT PRIMARY KEY, i2 SMALLINT, i4 INT NOT NULL, f4 REAL, f8 DOUBLE PRECISION,
           n NUMERIC(38,10), flag BOOLEAN, t TEXT, v VARCHAR(30), b BYTEA, d DATE, tm TIME(3),
           ts TIMESTAMP(3), tz TIMESTAMPTZ(3), j JSONB, u UUID);
         INSERT INTO alltypes VALUES
           (1, -32768, 2147483647, 1.5, -2.25, 1234567890123456789012345678.0123456789, true, 'semi;colon ''quoted''', 'ünïcödé',
            '\\x00ff10', '1999-12-31', '23:59:59.123', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789+02',
            '{\"a\": [1, 2]}', '8e0a7a4e-6f5b-4c55-9d7e-3f1a2b3c4d5e'),
           (2, NULL, 0, NULL, NULL, -0.0000000001, false, NULL, '', NULL, '1970-01-01', '00:00:00', '1970-01-01 00:00:00', NULL, NULL, NULL);",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = format!("{}_", unique("rt").replace('-', "_"));
    let source = format!(
        "name=src\nconnector.class=JdbcSource\nconnection.url={}\nmode=incrementing\n\
         incrementing.column.name=id\ntopic.prefix={prefix}\npoll.interval.ms=200\n{JSON_SCHEMAS}",
        pg.url()
    );
    let sink = format!(
        "name=sink\nconnector.class=JdbcSink\ntopics={prefix}alltypes\nconnection.url={}\n\
         auto.create=true\ninsert.mode=upsert\npk.mode=record_value\npk.fields=id\n\
         table.name.format=alltypes\n{JSON_SCHEMAS}",
        my.url()
    );
    let _w = start_worker(
        dir.path(),
        &broker.bootstrap,
        rest,
        &[("source.properties", source), ("sink.properties", sink)],
        "w.log",
    )?;
    let my_rows = wait_until(WAIT, "2 rows in MariaDB", || {
        let r = my
            .query(
                "SELECT id, i2, i4, f4, f8, n, flag, t, v, HEX(b), d, tm, ts, tz, j, u FROM alltypes ORDER BY id",
            )
            .ok()?;
        (r.len() == 2).then_some(r)
    })?;
    let pg_rows = pg.query(
        "SELECT id, i2, i4, f4, f8, n, CASE WHEN flag THEN 1 ELSE 0 END, t, v, upper(encode(b, 'hex')), d,
                to_char(tm, 'HH24:MI:SS.MS'), to_char(ts, 'YYYY-MM-DD HH24:MI:SS.MS'),
                to_char(tz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), j::text, u::text
         FROM alltypes ORDER BY id",
    )?;
    // The command-line clients print NULL as NULL (MariaDB) and empty (psql).
    let norm = |rows: Vec<Vec<String>>| -> Vec<Vec<String>> {
        rows.into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|c| if c == "NULL" { String::new() } else { c })
                    .collect()
            })
            .collect()
    };
    let (my_rows, pg_rows) = (norm(my_rows), norm(pg_rows));
    for (m, p) in my_rows.iter().zip(&pg_rows) {
        for (i, (a, b)) in m.iter().zip(p).enumerate() {
            let same = a == b
                || match (a.parse::<f64>(), b.parse::<f64>()) {
                    (Ok(x), Ok(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(1.0),
                    _ => false,
                };
            assert!(
                same,
                "column {i} of row {}: MariaDB {a:?} vs PostgreSQL {b:?}\n{m:?}\n{p:?}",
                m[0]
            );
        }
    }
    Ok(())
}

/// Insert mode with `auto.create` and `auto.evolve`, then update mode by
/// the value's id, on one database.
fn insert_evolve_update(
    url: &str,
    query: &dyn Fn(&str) -> Vec<Vec<String>>,
    quote: char,
) -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let table = unique("modes").replace('-', "_");
    let (ins, upd) = (format!("{table}_in"), format!("{table}_up"));
    create_topic(&broker.bootstrap, &ins)?;
    create_topic(&broker.bootstrap, &upd)?;
    produce_keyed(
        &broker.bootstrap,
        &ins,
        &[
            (key(1), Some(value(1, "a", 1, None))),
            (key(2), Some(value(2, "b", 2, None))),
            (key(3), Some(value(3, "c", 3, Some("with a new field")))),
        ],
    )?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let insert = format!(
        "name=ins\nconnector.class=JdbcSink\ntopics={ins}\nconnection.url={url}\ntable.name.format={table}\n\
         auto.create=true\nauto.evolve=true\n{JSON_SCHEMAS}"
    );
    let update = format!(
        "name=upd\nconnector.class=JdbcSink\ntopics={upd}\nconnection.url={url}\ntable.name.format={table}\n\
         insert.mode=update\npk.mode=record_value\npk.fields=id\n{JSON_SCHEMAS}"
    );
    let _w = start_worker(
        dir.path(),
        &broker.bootstrap,
        rest,
        &[("ins.properties", insert), ("upd.properties", update)],
        "w.log",
    )?;
    let q = format!("SELECT id, name, qty, note FROM {quote}{table}{quote} ORDER BY id");
    let rows = wait_until(WAIT, "3 inserted rows", || {
        let r = query(&q);
        (r.len() == 3).then_some(r)
    })?;
    assert_eq!(
        rows[2][1..],
        ["c".to_string(), "3".into(), "with a new field".into()]
    );
    produce_keyed(
        &broker.bootstrap,
        &upd,
        &[(key(2), Some(value(2, "b2", 42, Some("updated"))))],
    )?;
    let rows = wait_until(WAIT, "row 2 updated", || {
        let r = query(&q);
        (r.get(1).is_some_and(|r| r[2] == "42")).then_some(r)
    })?;
    assert_eq!(
        rows[1][1..],
        ["b2".to_string(), "42".into(), "updated".into()]
    );
    assert_eq!(rows.len(), 3, "update mode inserts nothing");
    Ok(())
}

#[test]
fn insert_evolve_and_update_modes_on_both_databases() -> anyhow::Result<()> {
    let my = MyDb::create()?;
    insert_evolve_update(&my.url(), &|sql| my.query(sql).unwrap_or_default(), '`')?;
    let pg = PgDb::create()?;
    insert_evolve_update(&pg.url(), &|sql| pg.query(sql).unwrap_or_default(), '"')
}
