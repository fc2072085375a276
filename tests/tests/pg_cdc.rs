//! PostgreSQL change data capture (`io.debezium.connector.postgresql.
//! PostgresConnector`) against the machine's PostgreSQL 15 (with
//! `wal_level = logical`, which the harness turns on if needed) and a real
//! broker:
//! - the snapshot and then inserts, updates, deletes, a primary-key change
//!   and a truncate, as Debezium's JSON byte for byte (schema and payload,
//!   times and positions masked), with Debezium's offsets and the slot
//!   confirmed after Kafka has the events;
//! - `kill -9` of the worker while a writer keeps committing: every
//!   committed change is in the topic afterwards.
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

fn start_worker(
    dir: &std::path::Path,
    bootstrap: &str,
    rest: u16,
    connector: &str,
    log: &str,
) -> anyhow::Result<Worker> {
    let props = write_worker_props(dir, bootstrap, "offset.flush.interval.ms=200\n")?;
    let conn = write_file(dir, "cdc.properties", connector)?;
    Worker::start(
        dir,
        rest,
        &[&props.display().to_string(), &conn.display().to_string()],
        &[],
        log,
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
    let _worker = start_worker(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
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

#[test]
fn kill9_while_a_writer_commits_loses_no_change() -> anyhow::Result<()> {
    ensure_pg_logical()?;
    let db = PgDb::create()?;
    db.exec(
        "CREATE TABLE items (id INT PRIMARY KEY, version INT NOT NULL);
         INSERT INTO items SELECT g, 0 FROM generate_series(1, 200) g;",
    )?;
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let prefix = unique("kill");
    let conn = connector(&db, &prefix, "max.batch.size=50\n");
    let mut worker = start_worker(dir.path(), &broker.bootstrap, rest, &conn, "w1.log")?;
    let topic = format!("{prefix}.public.items");
    records(&broker.bootstrap, &topic, 200)?;

    // A writer commits 400 transactions (a new row and an update each)
    // while the worker is killed and restarted.
    let name = db.name.clone();
    let writer = std::thread::spawn(move || -> anyhow::Result<()> {
        let w = PgDb { name };
        for i in 0..400 {
            w.exec(&format!(
                "BEGIN; INSERT INTO items VALUES ({}, 0); UPDATE items SET version = version + 1 WHERE id = {}; COMMIT;",
                1000 + i,
                1 + i % 200
            ))?;
        }
        std::mem::forget(w);
        Ok(())
    });
    records(&broker.bootstrap, &topic, 400)?;
    worker.kill9()?;
    let _worker = start_worker(dir.path(), &broker.bootstrap, rest, &conn, "w2.log")?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer panicked"))??;

    // 200 snapshot rows + 400 inserts + 400 updates, at least.
    let want: std::collections::BTreeMap<i64, i64> = db
        .query("SELECT id, version FROM items")?
        .iter()
        .map(|r| (r[0].parse().unwrap_or(-1), r[1].parse().unwrap_or(-1)))
        .collect();
    let recs = wait_until(WAIT, "every change in the topic", || {
        let recs: Vec<(Value, Value)> = consume_records(
            &broker.bootstrap,
            &topic,
            usize::MAX,
            Duration::from_secs(5),
        )
        .ok()?
        .into_iter()
        .map(|r| {
            let v = r
                .value
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null);
            (Value::Null, v)
        })
        .collect();
        let mut seen = std::collections::BTreeMap::new();
        for (_, v) in &recs {
            let after = &v["payload"]["after"];
            if let (Some(id), Some(ver)) = (after["id"].as_i64(), after["version"].as_i64()) {
                let e = seen.entry(id).or_insert(ver);
                *e = (*e).max(ver);
            }
        }
        (seen == want).then_some(recs)
    })?;
    let mut pairs = std::collections::BTreeMap::new();
    for (_, v) in &recs {
        let a = &v["payload"]["after"];
        *pairs
            .entry((a["id"].as_i64(), a["version"].as_i64(), op(v).to_string()))
            .or_insert(0) += 1;
    }
    let dups: usize = pairs.values().filter(|n| **n > 1).count();
    println!(
        "pg cdc kill -9: {} changes committed, {} records, 0 lost, {dups} repeated",
        1000,
        recs.len()
    );
    Ok(())
}
