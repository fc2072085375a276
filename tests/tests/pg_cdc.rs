//! PostgreSQL change data capture (`io.debezium.connector.postgresql.
//! PostgresConnector`) against the machine's PostgreSQL 15 (with
//! `wal_level = logical`, which the harness turns on if needed) and a real
//! broker:
//! - the snapshot and then inserts, updates, deletes, a primary-key change
//!   and a truncate, as Debezium's JSON byte for byte (schema and payload,
//!   times and positions masked), with Debezium's offsets and the slot
//!   confirmed after Kafka has the events;
//! - `kill -9` of the worker during the snapshot and again while streaming,
//!   with a writer committing throughout: every committed change is in the
//!   topic afterwards (duplicates counted);
//! - a database whose only changes are to tables not captured still gets
//!   its slot confirmed (its WAL freed), and heartbeats flow;
//! - PostgreSQL → Kafka → MariaDB through `ExtractNewRecordState` and the
//!   JDBC sink keeps the two tables equal under inserts, updates, deletes
//!   and a primary-key change;
//! - transaction metadata: BEGIN/END records and each event's place in its
//!   transaction;
//! - an incremental snapshot (signal table, watermark windows) of a 20,000-
//!   row table while updates, deletes and inserts go on: the topic replayed
//!   in order equals the table (`SLUICE_TEST_INCREMENTAL_ROWS` sets the
//!   size; the test broker slows down past a few tens of thousands of
//!   records in one topic, so 100,000 runs only by hand).
//!
//! Each test creates its own database, slot and publication and drops
//! them.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_tests::*;

const WAIT: Duration = Duration::from_secs(60);

fn connector(db: &PgDb, prefix: &str, extra: &str) -> String {
    format!(
        "name=pg-cdc\nconnector.class=io.debezium.connector.postgresql.PostgresConnector\n\
         database.hostname=127.0.0.1\ndatabase.port=5432\ndatabase.user=postgres\n\
         database.password=postgres\ndatabase.dbname={db}\ntopic.prefix={prefix}\n\
         slot.name={db}_slot\npublication.name={db}_pub\n\
         key.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n{extra}",
        db = db.name
    )
}

/// Records of `topic` as (key JSON, value JSON), `Null` for null bytes.
fn records(bootstrap: &str, topic: &str, n: usize) -> anyhow::Result<Vec<(Value, Value)>> {
    wait_until(WAIT, &format!("{n} records in {topic}"), || {
        let recs = consume_records(bootstrap, topic, n, Duration::from_secs(5)).ok()?;
        (recs.len() >= n).then_some(recs)
    })?
    .into_iter()
    .map(|r| {
        let parse = |b: Option<Vec<u8>>| -> anyhow::Result<Value> {
            Ok(match b {
                Some(b) => serde_json::from_slice(&b)?,
                None => Value::Null,
            })
        };
        Ok((parse(r.key)?, parse(r.value)?))
    })
    .collect()
}

/// With `snapshot.mode=no_data` only changes made after the task created
/// its slot are streamed, and the worker answers REST before that: repeat
/// an update of `big` row 1 (to the same version) until one comes through.
fn stream_up(db: &PgDb, bootstrap: &str, topic: &str) -> anyhow::Result<()> {
    wait_until(
        Duration::from_secs(120),
        &format!("a first change in {topic}"),
        || {
            db.exec("UPDATE big SET version = 1 WHERE id = 1").ok()?;
            let recs = consume_records(bootstrap, topic, 1, Duration::from_secs(3)).ok()?;
            (!recs.is_empty()).then_some(())
        },
    )
}

/// Replaces values that differ from run to run.
fn mask(v: &mut Value) {
    if let Some(p) = v.get_mut("payload").and_then(Value::as_object_mut) {
        for k in ["ts_ms", "ts_us", "ts_ns"] {
            if p.contains_key(k) {
                p.insert(k.into(), json!("T"));
            }
        }
        if let Some(s) = p.get_mut("source").and_then(Value::as_object_mut) {
            for k in ["ts_ms", "ts_us", "ts_ns", "txId", "lsn", "sequence"] {
                if s.get(k).is_some_and(|x| !x.is_null()) {
                    s.insert(k.into(), json!("X"));
                }
            }
        }
    }
}

fn op(v: &Value) -> &str {
    v["payload"]["op"].as_str().unwrap_or("")
}

#[test]
fn snapshot_then_changes_match_debezium_json() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec(
        "CREATE TABLE customers (id SERIAL PRIMARY KEY, first_name VARCHAR(255) NOT NULL,
           last_name VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL, note TEXT);
         INSERT INTO customers (first_name, last_name, email) VALUES
           ('Sally', 'Thomas', 'sally.thomas@acme.com'), ('George', 'Bailey', 'gbailey@foobar.com');
         CREATE TABLE other (id INT PRIMARY KEY);",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("dbserver1");
    let conn = connector(
        &db,
        &prefix,
        "table.include.list=public.customers\nskipped.operations=none\n",
    );
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    let topic = format!("{prefix}.public.customers");

    let snap = records(&broker.bootstrap, &topic, 2)?;
    assert_eq!(op(&snap[0].1), "r");
    assert_eq!(snap[0].1["payload"]["source"]["snapshot"], "first");
    assert_eq!(snap[1].1["payload"]["source"]["snapshot"], "last");
    assert_eq!(
        snap[0].0,
        json!({"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],
          "optional":false,"name":format!("{prefix}.public.customers.Key")},"payload":{"id":1}})
    );

    db.exec(
        "INSERT INTO customers (first_name, last_name, email) VALUES ('Anne', 'Kretchmar', 'annek@noanswer.org');
         INSERT INTO other VALUES (1);",
    )?;
    db.exec("UPDATE customers SET email = 'anne@example.com' WHERE id = 3")?;
    db.exec("DELETE FROM customers WHERE id = 2")?;
    db.exec("UPDATE customers SET id = 10 WHERE id = 1")?;
    db.exec("TRUNCATE customers")?;
    // c, u, d + tombstone, (d + tombstone + c) for the key change, t.
    let all = records(&broker.bootstrap, &topic, 10)?;
    let ops: Vec<&str> = all[2..].iter().map(|(_, v)| op(v)).collect();
    assert_eq!(ops, ["c", "u", "d", "", "d", "", "c", "t"]);
    assert_eq!(all[5].1, Value::Null, "a tombstone after the delete");
    assert_eq!(all[5].0["payload"], json!({"id": 2}));
    assert_eq!(all[8].0["payload"], json!({"id": 10}));
    assert_eq!(all[9].0, Value::Null, "truncate events have no key");

    // The insert, byte for byte as Debezium 3.1 writes it with the
    // JsonConverter (times, transaction id and LSNs masked).
    let mut insert = all[2].1.clone();
    mask(&mut insert);
    let row = |field: &str| {
        format!(
            r#"{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}},{{"type":"string","optional":false,"field":"first_name"}},{{"type":"string","optional":false,"field":"last_name"}},{{"type":"string","optional":false,"field":"email"}},{{"type":"string","optional":true,"field":"note"}}],"optional":true,"name":"{prefix}.public.customers.Value","field":"{field}"}}"#
        )
    };
    let expected = format!(
        r#"{{"schema":{{"type":"struct","fields":[{},{},{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"version"}},{{"type":"string","optional":false,"field":"connector"}},{{"type":"string","optional":false,"field":"name"}},{{"type":"int64","optional":false,"field":"ts_ms"}},{{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"}},"default":"false","field":"snapshot"}},{{"type":"string","optional":false,"field":"db"}},{{"type":"string","optional":true,"field":"sequence"}},{{"type":"int64","optional":true,"field":"ts_us"}},{{"type":"int64","optional":true,"field":"ts_ns"}},{{"type":"string","optional":false,"field":"schema"}},{{"type":"string","optional":false,"field":"table"}},{{"type":"int64","optional":true,"field":"txId"}},{{"type":"int64","optional":true,"field":"lsn"}},{{"type":"int64","optional":true,"field":"xmin"}}],"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"}},{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"id"}},{{"type":"int64","optional":false,"field":"total_order"}},{{"type":"int64","optional":false,"field":"data_collection_order"}}],"optional":true,"name":"event.block","version":1,"field":"transaction"}},{{"type":"string","optional":false,"field":"op"}},{{"type":"int64","optional":true,"field":"ts_ms"}},{{"type":"int64","optional":true,"field":"ts_us"}},{{"type":"int64","optional":true,"field":"ts_ns"}}],"optional":false,"name":"{prefix}.public.customers.Envelope","version":2}},"payload":{{"before":null,"after":{{"id":3,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org","note":null}},"source":{{"version":"3.1.0.Final","connector":"postgresql","name":"{prefix}","ts_ms":"X","snapshot":"false","db":"{db}","sequence":"X","ts_us":"X","ts_ns":"X","schema":"public","table":"customers","txId":"X","lsn":"X","xmin":null}},"transaction":null,"op":"c","ts_ms":"T","ts_us":"T","ts_ns":"T"}}}}"#,
        row("before"),
        row("after"),
        db = db.name
    );
    assert_eq!(serde_json::to_string(&insert)?, expected);

    // REPLICA IDENTITY DEFAULT: an update has no before; a delete's before
    // has the key and fallbacks for the other NOT NULL columns.
    assert_eq!(all[3].1["payload"]["before"], Value::Null);
    assert_eq!(
        all[4].1["payload"]["before"],
        json!({"id": 2, "first_name": "", "last_name": "", "email": "", "note": null})
    );
    // The key change: the delete carries the old row's key, the create the
    // new row.
    assert_eq!(all[6].0["payload"], json!({"id": 1}));
    assert_eq!(all[8].1["payload"]["after"]["first_name"], "Sally");

    // Debezium's offsets, and the slot confirmed up to the last event once
    // Kafka has it.
    let offsets = wait_until(WAIT, "a streaming offset", || {
        committed_offsets(rest, "pg-cdc")?
            .into_iter()
            .find(|(p, o)| *p == json!({"server": prefix}) && o.get("lsn_commit").is_some())
    })?;
    let o = offsets.1;
    for k in ["lsn", "lsn_proc", "lsn_commit", "txId", "ts_usec"] {
        assert!(o.get(k).is_some_and(Value::is_u64), "offset {k} in {o}");
    }
    let last_lsn = all[9].1["payload"]["source"]["lsn"]
        .as_u64()
        .unwrap_or(u64::MAX);
    wait_until(WAIT, "the slot confirmed past the last event", || {
        let rows = db
            .query(&format!(
                "SELECT (confirmed_flush_lsn - '0/0')::int8 FROM pg_replication_slots WHERE slot_name = '{}_slot'",
                db.name
            ))
            .ok()?;
        let confirmed: u64 = rows.first()?.first()?.parse().ok()?;
        (confirmed > last_lsn).then_some(())
    })?;
    Ok(())
}

/// Every change record of `topic`, read until 5 s pass without more.
fn all_values(bootstrap: &str, topic: &str) -> Option<Vec<Value>> {
    Some(
        consume_records(bootstrap, topic, usize::MAX, Duration::from_secs(5))
            .ok()?
            .into_iter()
            .map(|r| {
                r.value
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null)
            })
            .collect(),
    )
}

/// Highest `version` seen per `id` in `after` rows.
fn latest(values: &[Value]) -> std::collections::BTreeMap<i64, i64> {
    let mut seen = std::collections::BTreeMap::new();
    for v in values {
        let after = &v["payload"]["after"];
        if let (Some(id), Some(ver)) = (after["id"].as_i64(), after["version"].as_i64()) {
            let e = seen.entry(id).or_insert(ver);
            *e = (*e).max(ver);
        }
    }
    seen
}

/// `id` → `version` of a table.
fn versions(db: &PgDb, table: &str) -> anyhow::Result<std::collections::BTreeMap<i64, i64>> {
    Ok(db
        .query(&format!("SELECT id, version FROM {table}"))?
        .iter()
        .map(|r| (r[0].parse().unwrap_or(-1), r[1].parse().unwrap_or(-1)))
        .collect())
}

/// What a topic of schemaless events says the table is, replayed in order
/// (the last event of a key wins), and how many snapshot reads it holds.
fn replay(records: &[Consumed]) -> Option<(std::collections::BTreeMap<i64, i64>, usize)> {
    let mut state = std::collections::BTreeMap::new();
    let mut reads = 0usize;
    for r in records {
        let v: Value = serde_json::from_slice(r.value.as_deref()?).ok()?;
        match v["op"].as_str()? {
            "d" => {
                state.remove(&v["before"]["id"].as_i64()?);
            }
            op => {
                reads += usize::from(op == "r");
                state.insert(v["after"]["id"].as_i64()?, v["after"]["version"].as_i64()?);
            }
        }
    }
    Some((state, reads))
}

#[test]
fn kill9_during_the_snapshot_and_the_stream_loses_no_change() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec(
        "CREATE TABLE items (id INT PRIMARY KEY, version INT NOT NULL, pad TEXT);
         INSERT INTO items SELECT g, 0, repeat('x', 200) FROM generate_series(1, 3000) g;",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("kill");
    let conn = connector(&db, &prefix, "max.batch.size=20\nmax.queue.size=40\n");
    let mut worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    let topic = format!("{prefix}.public.items");

    // A writer commits 400 transactions (a new row and an update each)
    // from the start: during the snapshot, at the switch to the stream and
    // while the worker is killed twice.
    let name = db.name.clone();
    let writer = std::thread::spawn(move || -> anyhow::Result<()> {
        let w = PgDb { name };
        let r = (0..400).try_for_each(|i| {
            w.exec(&format!(
                "BEGIN; INSERT INTO items VALUES ({}, 0); UPDATE items SET version = version + 1 WHERE id = {}; COMMIT;",
                10_000 + i,
                1 + (i * 7) % 3000
            ))
        });
        std::mem::forget(w);
        r
    });
    // The first kill lands in the snapshot (3,000 rows at 20 a batch).
    let at_kill = records(&broker.bootstrap, &topic, 300)?.len();
    worker.kill9()?;
    let mut worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w2.log")?;
    let values = wait_until(WAIT, "the snapshot done and the stream going", || {
        let v = all_values(&broker.bootstrap, &topic)?;
        v.iter().any(|x| x["payload"]["op"] == "c").then_some(v)
    })?;
    println!(
        "pg cdc: first kill after {at_kill}+ records, second after {}",
        values.len()
    );
    worker.kill9()?;
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w3.log")?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer panicked"))??;

    let want = versions(&db, "items")?;
    assert_eq!(want.len(), 3400);
    let values = wait_until(WAIT, "every committed change in the topic", || {
        let v = all_values(&broker.bootstrap, &topic)?;
        (latest(&v) == want).then_some(v)
    })
    .map_err(|e| {
        let got = all_values(&broker.bootstrap, &topic)
            .map(|v| latest(&v))
            .unwrap_or_default();
        let missing = want.iter().filter(|(k, v)| got.get(k) != Some(v)).count();
        anyhow::anyhow!("{e}: {missing} rows missing or behind")
    })?;
    let mut pairs = std::collections::BTreeMap::new();
    for v in &values {
        let a = &v["payload"]["after"];
        *pairs
            .entry((a["id"].as_i64(), a["version"].as_i64(), op(v).to_string()))
            .or_insert(0usize) += 1;
    }
    let dups: usize = pairs.values().map(|n| n - 1).sum();
    println!(
        "pg cdc kill -9 x2: 3000 snapshot rows + 800 changes committed, {} records, 0 lost, {dups} repeated",
        values.len()
    );
    Ok(())
}

#[test]
fn idle_and_filtered_changes_move_the_slot_and_heartbeats_flow() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec(
        "CREATE TABLE watched (id INT PRIMARY KEY);
         CREATE TABLE busy (id SERIAL PRIMARY KEY, pad TEXT);",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("hb");
    let conn = connector(
        &db,
        &prefix,
        "table.include.list=public.watched\npublication.autocreate.mode=filtered\n\
         heartbeat.interval.ms=300\nstatus.update.interval.ms=1000\n",
    );
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    let slot_lsn = || -> Option<u64> {
        let rows = db
            .query(&format!(
                "SELECT (confirmed_flush_lsn - '0/0')::int8 FROM pg_replication_slots WHERE slot_name = '{}_slot' AND active",
                db.name
            ))
            .ok()?;
        rows.first()?.first()?.parse().ok()
    };
    wait_until(WAIT, "the slot in use", slot_lsn)?;
    // Only a table the connector does not capture changes: WAL grows.
    db.exec("INSERT INTO busy (pad) SELECT repeat('y', 500) FROM generate_series(1, 5000)")?;
    let wal: u64 = db.query("SELECT (pg_current_wal_lsn() - '0/0')::int8")?[0][0].parse()?;
    let confirmed = wait_until(
        WAIT,
        "the slot confirmed past the unrelated changes",
        || slot_lsn().filter(|l| *l >= wal),
    )?;
    println!("slot confirmed {confirmed} >= WAL {wal} after unrelated changes");
    // The lag is in the task's status and in /metrics.
    let lag = wait_until(WAIT, "a small slot lag in the status", || {
        let st = connector_status(rest, "pg-cdc")?;
        let lag = st["tasks"][0]["metrics"]["replication-slot-lag-bytes"].as_i64()?;
        (lag < 1_000_000).then_some(lag)
    })?;
    let (_, metrics) = http_get(rest, "/metrics")?;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("kafka_connect_task_reported{")
                && l.contains("metric=\"replication-slot-lag-bytes\"")),
        "no slot lag metric"
    );
    println!("slot lag in the status: {lag} bytes");
    // Heartbeats: Debezium's key and value on __debezium-heartbeat.<prefix>.
    let hb = records(
        &broker.bootstrap,
        &format!("__debezium-heartbeat.{prefix}"),
        1,
    )?;
    assert_eq!(hb[0].0["payload"], json!({"serverName": prefix}));
    assert_eq!(
        hb[0].1["schema"]["name"],
        "io.debezium.connector.common.Heartbeat"
    );
    assert!(hb[0].1["payload"]["ts_ms"].is_i64());
    // The captured table still streams.
    db.exec("INSERT INTO watched VALUES (7)")?;
    let w = records(&broker.bootstrap, &format!("{prefix}.public.watched"), 1)?;
    assert_eq!(w[0].1["payload"]["after"], json!({"id": 7}));
    Ok(())
}

#[test]
fn postgres_to_mariadb_through_extract_new_record_state_keeps_tables_equal() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let pg = PgDb::create()?;
    let my = MyDb::create()?;
    pg.exec(
        "CREATE TABLE items (id INT PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2), qty INT);
         INSERT INTO items SELECT g, 'item-' || g, g * 1.25, g FROM generate_series(1, 50) g;",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("rt");
    let topic = format!("{prefix}.public.items");
    let source = connector(&pg, &prefix, "");
    let sink = format!(
        "name=to-mariadb\nconnector.class=io.confluent.connect.jdbc.JdbcSinkConnector\n\
         topics={topic}\nconnection.url={}\ntable.name.format=items\n\
         insert.mode=upsert\npk.mode=record_key\ndelete.enabled=true\nauto.create=true\n\
         key.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n\
         transforms=unwrap\ntransforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState\n\
         transforms.unwrap.delete.tombstone.handling.mode=tombstone\n",
        my.url()
    );
    let props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        "offset.flush.interval.ms=200\n",
    )?;
    let a = write_file(dir.path(), "source.properties", &source)?;
    let b = write_file(dir.path(), "sink.properties", &sink)?;
    let _worker = Worker::start(
        dir.path(),
        rest,
        &[
            &props.display().to_string(),
            &a.display().to_string(),
            &b.display().to_string(),
        ],
        &[],
        "w1.log",
    )?;
    let pg_rows =
        || pg.query("SELECT id, name, price, coalesce(qty::text, 'NULL') FROM items ORDER BY id");
    let my_rows =
        || my.query("SELECT id, name, price, coalesce(qty, 'NULL') FROM items ORDER BY id");
    let equal = |what: &str| -> anyhow::Result<()> {
        let want = pg_rows()?;
        wait_until(WAIT, what, || (my_rows().ok()? == want).then_some(()))
            .map_err(|e| anyhow::anyhow!("{e}: MariaDB has {:?}", my_rows().map(|r| r.len())))
    };
    equal("the snapshot in MariaDB")?;
    pg.exec(
        "INSERT INTO items SELECT g, 'new-' || g, g * 0.5, NULL FROM generate_series(51, 80) g;
         UPDATE items SET price = price + 1, qty = qty * 2 WHERE id % 3 = 0;
         DELETE FROM items WHERE id % 10 = 0;
         UPDATE items SET id = 1000 WHERE id = 1;",
    )?;
    equal("inserts, updates, deletes and a key change in MariaDB")?;
    Ok(())
}

#[test]
fn transaction_metadata_frames_each_transaction() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec("CREATE TABLE a (id INT PRIMARY KEY); CREATE TABLE b (id INT PRIMARY KEY);")?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("tx");
    let conn = connector(&db, &prefix, "provide.transaction.metadata=true\n");
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    // The stream is up once a first change comes through.
    db.exec("INSERT INTO a VALUES (0)")?;
    records(&broker.bootstrap, &format!("{prefix}.public.a"), 1)?;
    db.exec("BEGIN; INSERT INTO a VALUES (1); INSERT INTO b VALUES (1); INSERT INTO a VALUES (2); COMMIT;")?;
    let a = records(&broker.bootstrap, &format!("{prefix}.public.a"), 3)?;
    let b = records(&broker.bootstrap, &format!("{prefix}.public.b"), 1)?;
    let tx = records(&broker.bootstrap, &format!("{prefix}.transaction"), 4)?;
    let block = |v: &Value| v["payload"]["transaction"].clone();
    let (b1, b2, b3) = (block(&a[1].1), block(&b[0].1), block(&a[2].1));
    assert_eq!(
        (&b1["total_order"], &b1["data_collection_order"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        (&b2["total_order"], &b2["data_collection_order"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(
        (&b3["total_order"], &b3["data_collection_order"]),
        (&json!(3), &json!(2))
    );
    let xid = a[1].1["payload"]["source"]["txId"].as_i64().unwrap_or(-1);
    assert!(
        b1["id"]
            .as_str()
            .is_some_and(|id| id.starts_with(&format!("{xid}:")))
    );
    // The second transaction's BEGIN and END.
    let (begin, end) = (&tx[2].1["payload"], &tx[3].1["payload"]);
    assert_eq!(begin["status"], "BEGIN");
    assert_eq!(begin["event_count"], Value::Null);
    assert_eq!(end["status"], "END");
    assert_eq!(end["event_count"], 3);
    assert_eq!(
        end["data_collections"],
        json!([{"data_collection": "public.a", "event_count": 2}, {"data_collection": "public.b", "event_count": 1}])
    );
    assert_eq!(
        tx[3].1["schema"]["name"],
        "io.debezium.connector.common.TransactionMetadataValue"
    );
    assert_eq!(tx[3].0["payload"]["id"], end["id"]);
    Ok(())
}

#[test]
fn incremental_snapshot_while_updates_continue_ends_equal_to_the_table() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let rows: usize = std::env::var("SLUICE_TEST_INCREMENTAL_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let db = PgDb::create()?;
    db.exec(&format!(
        "CREATE TABLE debezium_signal (id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048));
         CREATE TABLE big (id INT PRIMARY KEY, version INT NOT NULL);
         INSERT INTO big SELECT g, 0 FROM generate_series(1, {rows}) g;"
    ))?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("inc");
    let conn = connector(
        &db,
        &prefix,
        "snapshot.mode=no_data\nsignal.data.collection=public.debezium_signal\n\
         incremental.snapshot.chunk.size=2000\ntombstones.on.delete=false\n\
         key.converter.schemas.enable=false\nvalue.converter.schemas.enable=false\n",
    );
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    let topic = format!("{prefix}.public.big");
    stream_up(&db, &broker.bootstrap, &topic)?;
    // Read as the topic grows: the test broker cannot serve a fetch from the
    // start of a topic this large.
    let mut reader = TopicReader::new(&broker.bootstrap, &topic)?;
    db.exec(
        r#"INSERT INTO debezium_signal VALUES ('sig-1', 'execute-snapshot', '{"data-collections": ["public.big"], "type": "incremental"}')"#,
    )?;
    // Updates, deletes and inserts while the chunks are read.
    let name = db.name.clone();
    let n = rows as i64;
    let writer = std::thread::spawn(move || -> anyhow::Result<()> {
        let w = PgDb { name };
        let r = (0..150i64).try_for_each(|i| {
            let id = 1 + (i * 7919) % n;
            w.exec(&format!(
                "BEGIN; UPDATE big SET version = version + 1 WHERE id = {id};
                 DELETE FROM big WHERE id = {}; INSERT INTO big VALUES ({}, 5); COMMIT;",
                1 + (i * 104_729 + 13) % n,
                n + 1 + i
            ))
        });
        std::mem::forget(w);
        r
    });
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer panicked"))??;
    let want = versions(&db, "big")?;
    let done = || -> Option<i64> {
        connector_status(rest, "pg-cdc")?["tasks"][0]["metrics"]["incremental-snapshot-rows-done"]
            .as_i64()
    };
    wait_until(
        Duration::from_secs(180),
        "the incremental snapshot read",
        || {
            reader.read_more(Duration::from_millis(500)).ok()?;
            done().filter(|d| *d as usize >= want.len().min(rows) - 200)
        },
    )?;
    // The topic replayed in order (last event per key wins) is the table.
    let state = wait_until(
        Duration::from_secs(120),
        "the topic equal to the table",
        || {
            reader.read_more(Duration::from_secs(3)).ok()?;
            let recs = &reader.records;
            let (state, reads) = replay(recs)?;
            if state != want {
                let missing = want.keys().filter(|k| !state.contains_key(k)).count();
                let extra = state.keys().filter(|k| !want.contains_key(k)).count();
                let stale = want
                    .iter()
                    .filter(|(k, v)| state.get(k).is_some_and(|s| s != *v))
                    .count();
                eprintln!(
                    "{} records: {missing} keys missing, {extra} extra, {stale} stale",
                    recs.len()
                );
            }
            (state == want).then_some((recs.len(), reads))
        },
    )?;
    println!(
        "incremental snapshot: {rows} rows, {} records, {} reads, table equal",
        state.0, state.1
    );
    Ok(())
}

/// Debezium's tutorial registration, posted to the REST API as it is with
/// only the host and database names changed: defaults for the plugin,
/// slot and publication, `schema.include.list`, JSON with schemas.
#[test]
fn debezium_tutorial_registration_runs_unchanged() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec(
        "CREATE SCHEMA inventory;
         CREATE TABLE inventory.customers (id SERIAL PRIMARY KEY, first_name VARCHAR(255) NOT NULL,
           last_name VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL UNIQUE);
         INSERT INTO inventory.customers (first_name, last_name, email) VALUES
           ('Sally', 'Thomas', 'sally.thomas@acme.com'), ('Anne', 'Kretchmar', 'annek@noanswer.org');
         CREATE TABLE public.elsewhere (id INT PRIMARY KEY);
         INSERT INTO public.elsewhere VALUES (1);",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        "offset.flush.interval.ms=200\nkey.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\n",
    )?;
    let _worker = Worker::start(
        dir.path(),
        rest,
        &[&props.display().to_string()],
        &[],
        "w1.log",
    )?;
    let body = json!({
        "name": "inventory-connector",
        "config": {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "tasks.max": "1",
            "database.hostname": "127.0.0.1",
            "database.port": "5432",
            "database.user": "postgres",
            "database.password": "postgres",
            "database.dbname": db.name,
            "topic.prefix": "dbserver1",
            "schema.include.list": "inventory"
        }
    });
    let (code, text) = http_request(rest, "POST", "/connectors", &body.to_string())?;
    assert_eq!(code, 201, "{text}");
    let recs = records(&broker.bootstrap, "dbserver1.inventory.customers", 2)?;
    assert_eq!(recs[1].1["payload"]["after"]["email"], "annek@noanswer.org");
    assert_eq!(recs[1].1["payload"]["source"]["snapshot"], "last");
    db.exec("UPDATE inventory.customers SET first_name = 'Anne Marie' WHERE id = 2")?;
    let recs = records(&broker.bootstrap, "dbserver1.inventory.customers", 3)?;
    assert_eq!(recs[2].1["payload"]["op"], "u");
    assert_eq!(recs[2].1["payload"]["after"]["first_name"], "Anne Marie");
    // Not in schema.include.list: no topic, no records.
    assert!(
        consume_records(
            &broker.bootstrap,
            "dbserver1.public.elsewhere",
            1,
            Duration::from_secs(2)
        )?
        .is_empty()
    );
    // The default slot and publication were made.
    assert_eq!(
        db.query("SELECT count(*) FROM pg_publication WHERE pubname = 'dbz_publication'")?[0][0],
        "1"
    );
    let (code, _) = http_request(rest, "DELETE", "/connectors/inventory-connector", "")?;
    assert_eq!(code, 204);
    Ok(())
}

/// A slot another consumer holds is a clear error naming what to do.
#[test]
fn a_slot_in_use_fails_the_second_task_with_a_clear_error() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY)")?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("busy");
    let first = connector(&db, &prefix, "");
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &first, "w1.log")?;
    wait_connector_state(rest, "pg-cdc", "RUNNING", Some(1))?;
    db.exec("INSERT INTO t VALUES (1)")?;
    records(&broker.bootstrap, &format!("{prefix}.public.t"), 1)?;
    let second = json!({"name": "second", "config": {
        "connector.class": "PostgresCdc", "database.hostname": "127.0.0.1",
        "database.user": "postgres", "database.dbname": db.name,
        "topic.prefix": format!("{prefix}-2"), "slot.name": format!("{}_slot", db.name),
        "publication.name": format!("{}_pub", db.name)}});
    let (code, text) = http_request(rest, "POST", "/connectors", &second.to_string())?;
    assert_eq!(code, 201, "{text}");
    let trace = wait_until(WAIT, "the second task to fail", || {
        let st = connector_status(rest, "second")?;
        let t = &st["tasks"][0];
        (t["state"] == "FAILED").then(|| t["trace"].as_str().unwrap_or_default().to_string())
    })?;
    assert!(
        trace.contains("in use by another consumer") && trace.contains("slot.name"),
        "{trace}"
    );
    Ok(())
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Debezium's mapping of PostgreSQL types, value by value, and the TOAST
/// placeholder for a large value an update left alone.
#[test]
fn types_and_unchanged_toast_values_as_debezium_maps_them() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE ty (id INT PRIMARY KEY, n_fixed NUMERIC(10,2), n_free NUMERIC, n_i128 NUMERIC,
           n_big NUMERIC, i2 SMALLINT, f8 FLOAT8, b BOOL, d DATE, t TIME, ts TIMESTAMP,
           ts3 TIMESTAMP(3), tz TIMESTAMPTZ, tz0 TIMESTAMPTZ(0), ttz TIMETZ, iv INTERVAL,
           j JSONB, u UUID, by BYTEA, arr INT[], tarr TEXT[], m mood, cash MONEY, big TEXT);",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("types");
    let conn = connector(&db, &prefix, "");
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    let topic = format!("{prefix}.public.ty");
    wait_connector_state(rest, "pg-cdc", "RUNNING", Some(1))?;
    db.exec(
        "SET TIME ZONE 'UTC';
         INSERT INTO ty VALUES (1, 12.34, 1.50, 98765432109876543210987654321098765432,
           123456789012345678901234567890123456789012345678901, 7, 1.5, true, '2024-03-01',
           '12:34:56.5', '2024-03-01 12:34:56.789012', '2024-03-01 12:34:56.789',
           '2024-03-01 12:34:56.789+02', '2024-03-01 12:34:56.789+02', '12:34:56.5+02',
           '1 day 2 hours', '{\"a\": 1}', '12345678-9abc-def0-0001-020304050607', '\\x0102',
           '{1,NULL,3}', '{x,y}', 'ok', 12.34,
           (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 600) g));",
    )?;
    // The stream may start after the insert: then the row is a snapshot read.
    let first = records(&broker.bootstrap, &topic, 1)?;
    let v = &first[0].1;
    let after = &v["payload"]["after"];
    let field = |name: &str| -> Value {
        v["schema"]["fields"][1]["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|x| x["field"] == name).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(after["n_fixed"], b64(&[0x04, 0xd2]));
    assert_eq!(
        field("n_fixed")["parameters"],
        json!({"scale": "2", "connect.decimal.precision": "10"})
    );
    assert_eq!(after["n_free"], json!({"scale": 1, "value": b64(&[15])}));
    assert_eq!(
        field("n_free")["name"],
        "io.debezium.data.VariableScaleDecimal"
    );
    let i128_bytes = 98765432109876543210987654321098765432i128.to_be_bytes();
    let first_needed = i128_bytes.iter().position(|b| *b != 0).unwrap_or(0);
    let mut want = i128_bytes[first_needed..].to_vec();
    if want[0] & 0x80 != 0 {
        want.insert(0, 0);
    }
    assert_eq!(after["n_i128"], json!({"scale": 0, "value": b64(&want)}));
    // 51 digits, more than any i128: 2^166 < n < 2^167, so 21 bytes with
    // the sign bit (28 base64 characters).
    let big = after["n_big"]["value"].as_str().unwrap_or("");
    assert_eq!(big.len(), 28, "{big}");
    assert_eq!(after["i2"], 7);
    assert_eq!(after["f8"], 1.5);
    assert_eq!(after["b"], true);
    assert_eq!(after["d"], 19783);
    assert_eq!(field("d")["name"], "io.debezium.time.Date");
    assert_eq!(after["t"], 45_296_500_000i64);
    assert_eq!(field("t")["name"], "io.debezium.time.MicroTime");
    assert_eq!(after["ts"], 1_709_296_496_789_012i64);
    assert_eq!(field("ts")["name"], "io.debezium.time.MicroTimestamp");
    assert_eq!(after["ts3"], 1_709_296_496_789i64);
    assert_eq!(field("ts3")["name"], "io.debezium.time.Timestamp");
    assert_eq!(after["tz"], "2024-03-01T10:34:56.789000Z");
    assert_eq!(after["tz0"], "2024-03-01T10:34:57Z");
    assert_eq!(after["ttz"], "10:34:56.5Z");
    assert_eq!(after["iv"], 93_600_000_000i64);
    assert_eq!(after["j"], "{\"a\": 1}");
    assert_eq!(field("j")["name"], "io.debezium.data.Json");
    assert_eq!(after["u"], "12345678-9abc-def0-0001-020304050607");
    assert_eq!(after["by"], b64(&[1, 2]));
    assert_eq!(after["arr"], json!([1, null, 3]));
    assert_eq!(after["tarr"], json!(["x", "y"]));
    assert_eq!(after["m"], "ok");
    assert_eq!(field("m")["parameters"], json!({"allowed": "sad,ok,happy"}));
    assert_eq!(after["cash"], b64(&[0x04, 0xd2]));
    assert_eq!(after["big"].as_str().map(str::len), Some(19_200));

    // An update that leaves the TOASTed text alone: the placeholder.
    db.exec("UPDATE ty SET i2 = 8 WHERE id = 1")?;
    let recs = records(&broker.bootstrap, &topic, 2)?;
    let after = &recs[1].1["payload"]["after"];
    assert_eq!(after["i2"], 8);
    assert_eq!(after["big"], "__debezium_unavailable_value");
    Ok(())
}

/// A `kill -9` in the middle of an incremental snapshot: the restarted
/// task goes on from the last chunk Kafka had (the offsets carry it), and
/// the topic still ends equal to the table.
#[test]
fn incremental_snapshot_resumes_after_kill9() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let rows = 20_000usize;
    let db = PgDb::create()?;
    db.exec(&format!(
        "CREATE TABLE debezium_signal (id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048));
         CREATE TABLE big (id INT PRIMARY KEY, version INT NOT NULL);
         INSERT INTO big SELECT g, 0 FROM generate_series(1, {rows}) g;"
    ))?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("incr");
    let conn = connector(
        &db,
        &prefix,
        "snapshot.mode=no_data\nsignal.data.collection=public.debezium_signal\n\
         incremental.snapshot.chunk.size=200\nmax.batch.size=5\nmax.queue.size=10\n\
         tombstones.on.delete=false\n\
         key.converter.schemas.enable=false\nvalue.converter.schemas.enable=false\n",
    );
    let mut worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    let topic = format!("{prefix}.public.big");
    stream_up(&db, &broker.bootstrap, &topic)?;
    let mut reader = TopicReader::new(&broker.bootstrap, &topic)?;
    db.exec(
        r#"INSERT INTO debezium_signal VALUES ('sig-1', 'execute-snapshot', '{"data-collections": ["public.big"]}')"#,
    )?;
    let reads = |reader: &TopicReader| {
        reader
            .records
            .iter()
            .filter(|r| {
                r.value
                    .as_deref()
                    .and_then(|b| serde_json::from_slice::<Value>(b).ok())
                    .is_some_and(|v| v["op"] == "r")
            })
            .count()
    };
    wait_until(WAIT, "a part of the incremental snapshot read", || {
        let st = connector_status(rest, "pg-cdc")?;
        let done = st["tasks"][0]["metrics"]["incremental-snapshot-rows-done"].as_i64()?;
        (done >= 600).then_some(())
    })?;
    // Paused, the task stops taking records, so reading stops mid-way; the
    // offsets record the snapshot's place before the kill.
    set_target_state(rest, "pg-cdc", "pause", "PAUSED")?;
    wait_until(
        WAIT,
        "the incremental snapshot's place in the offsets",
        || {
            committed_offsets(rest, "pg-cdc")?
                .into_iter()
                .find(|(_, o)| o.get("incremental_snapshot_primary_key").is_some())
        },
    )?;
    worker.kill9()?;
    // Everything the killed worker got into Kafka: committed offsets mean
    // some reads are there, but a loaded broker can be slow to answer the
    // first fetch, so wait for them before draining.
    wait_until(WAIT, "the reads written before the kill", || {
        reader.read_more(Duration::from_secs(2)).ok()?;
        (reads(&reader) > 0).then_some(())
    })?;
    while reader.read_more(Duration::from_secs(2))? > 0 {}
    let before = reads(&reader);
    assert!(
        before < rows,
        "the snapshot ended before the kill ({before} reads)"
    );
    db.exec("UPDATE big SET version = 2 WHERE id IN (10, 7000); DELETE FROM big WHERE id = 7001")?;
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w2.log")?;
    // The REST API answers before the connector file is loaded (seen in
    // CI: a 404 on resume); wait for the connector first.
    wait_until(WAIT, "the connector after the restart", || {
        connector_status(rest, "pg-cdc")
    })?;
    // The worker keeps the connector's target state: resume it.
    set_target_state(rest, "pg-cdc", "resume", "RUNNING")?;
    let want = versions(&db, "big")?;
    wait_until(
        Duration::from_secs(240),
        "the topic equal to the table",
        || {
            reader.read_more(Duration::from_secs(2)).ok()?;
            (replay(&reader.records)?.0 == want).then_some(())
        },
    )?;
    let total = reads(&reader);
    let distinct: std::collections::BTreeSet<i64> = reader
        .records
        .iter()
        .filter_map(|r| {
            let v: Value = serde_json::from_slice(r.value.as_deref()?).ok()?;
            (v["op"] == "r").then(|| v["after"]["id"].as_i64())?
        })
        .collect();
    let repeated = total - distinct.len();
    println!(
        "incremental snapshot kill -9: {before} reads before the kill, {total} in all for {rows} rows, {repeated} repeated"
    );
    // Started over, every read before the kill would come again; going on
    // from the stored chunk repeats only what came after it.
    assert!(
        repeated < before,
        "{repeated} of {before} reads repeated: the snapshot started over instead of going on"
    );
    Ok(())
}

/// COPY writes many rows per WAL record, so many changes share one LSN; a
/// `kill -9` while such a transaction streams in small batches must not
/// skip the rest of a group on restart.
#[test]
fn kill9_inside_a_copy_loses_no_row_of_a_shared_lsn() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY)")?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("copy");
    let conn = connector(
        &db,
        &prefix,
        "max.batch.size=7\nmax.queue.size=14\n\
         key.converter.schemas.enable=false\nvalue.converter.schemas.enable=false\n",
    );
    let mut worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    let topic = format!("{prefix}.public.t");
    wait_connector_state(rest, "pg-cdc", "RUNNING", Some(1))?;
    db.exec("INSERT INTO t VALUES (0)")?;
    records(&broker.bootstrap, &topic, 1)?;
    // What this changes in the server: nothing; COPY FROM PROGRAM runs
    // `seq` as the server's user.
    db.exec("COPY t FROM PROGRAM 'seq 1 6000'")?;
    records(&broker.bootstrap, &topic, 1500)?;
    wait_until(WAIT, "an offset inside the COPY", || {
        committed_offsets(rest, "pg-cdc")?
            .into_iter()
            .find(|(_, o)| o["lsn_events_processed"].as_u64().is_some_and(|n| n > 1))
    })?;
    worker.kill9()?;
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &conn, "w2.log")?;
    let mut reader = TopicReader::new(&broker.bootstrap, &topic)?;
    let ids = wait_until(WAIT, "every copied row", || {
        reader.read_more(Duration::from_secs(2)).ok()?;
        let ids: std::collections::BTreeSet<i64> = reader
            .records
            .iter()
            .filter_map(|r| {
                let v: Value = serde_json::from_slice(r.value.as_deref()?).ok()?;
                v["after"]["id"].as_i64()
            })
            .collect();
        (ids.len() == 6001).then_some(ids)
    })
    .map_err(|e| {
        let n = reader.records.len();
        anyhow::anyhow!("{e}: {n} records read")
    })?;
    println!(
        "COPY kill -9: 6,001 rows, 0 lost, {} repeated",
        reader.records.len() - ids.len()
    );
    Ok(())
}

/// `initial_only` snapshots and does not stream; `when_needed` snapshots
/// again when the slot the stored offset points into is gone.
#[test]
fn initial_only_stops_after_the_snapshot_and_when_needed_redoes_it_without_the_slot()
-> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);")?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("modes");
    let topic = format!("{prefix}.public.t");
    let only = connector(&db, &prefix, "snapshot.mode=initial_only\n");
    let mut worker = start_standalone(dir.path(), &broker.bootstrap, rest, &only, "w1.log")?;
    let snap = records(&broker.bootstrap, &topic, 3)?;
    assert!(snap.iter().all(|(_, v)| v["payload"]["op"] == "r"));
    wait_until(WAIT, "the snapshot's last offset", || {
        committed_offsets(rest, "pg-cdc")?
            .into_iter()
            .find(|(_, o)| o["last_snapshot_record"] == true)
    })?;
    db.exec("INSERT INTO t VALUES (4)")?;
    // Nothing streams: the topic still holds the three reads a while later.
    let later = consume_records(&broker.bootstrap, &topic, 4, Duration::from_secs(3))?;
    assert_eq!(later.len(), 3, "initial_only streamed a change");
    worker.stop()?;

    // The slot disappears while the connector is stopped.
    wait_until(WAIT, "the slot dropped once its reader is gone", || {
        db.exec(&format!(
            "SELECT pg_drop_replication_slot('{}_slot')",
            db.name
        ))
        .ok()
    })?;
    let needed = connector(&db, &prefix, "snapshot.mode=when_needed\n");
    let _worker = start_standalone(dir.path(), &broker.bootstrap, rest, &needed, "w2.log")?;
    let all = records(&broker.bootstrap, &topic, 7)?;
    let ids: Vec<i64> = all[3..]
        .iter()
        .filter(|(_, v)| v["payload"]["op"] == "r")
        .filter_map(|(_, v)| v["payload"]["after"]["id"].as_i64())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4], "when_needed read the table again");
    db.exec("INSERT INTO t VALUES (5)")?;
    let all = records(&broker.bootstrap, &topic, 8)?;
    assert_eq!(all[7].1["payload"]["op"], "c");
    Ok(())
}
