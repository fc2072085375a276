//! The example's own worker binary, against a real broker: CSV rows go
//! through `example.CsvSourceConnector` into a topic (JsonConverter with
//! schemas) and out through `example.JsonLinesSinkConnector` as JSON lines;
//! a restart reads no row twice.

use std::path::Path;
use std::time::Duration;

use sluice_tests::{Broker, Worker, free_port, read_lines, unique, wait_until, write_file};

const WORKER: &str = env!("CARGO_BIN_EXE_custom-worker");

fn rows(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| format!("sku-{i},widget {i},{}", i * 3))
        .collect()
}

fn append(path: &Path, lines: &[String]) -> anyhow::Result<()> {
    let mut text = lines.join("\n");
    text.push('\n');
    sluice_tests::append_lines(path, &[text.trim_end().to_string()])
}

#[test]
fn csv_rows_come_out_as_json_lines_and_a_restart_repeats_none() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let (csv, out) = (dir.path().join("items.csv"), dir.path().join("items.jsonl"));
    let topic = unique("items");
    let props = write_file(
        dir.path(),
        "worker.properties",
        &format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\noffset.storage.file.filename={}\noffset.flush.interval.ms=500\n",
            broker.bootstrap,
            dir.path().join("state").display()
        ),
    )?;
    let source = write_file(
        dir.path(),
        "csv-source.properties",
        &format!(
            "name={}\nconnector.class=example.CsvSourceConnector\ncsv.file={}\ntopic={topic}\n",
            unique("csv"),
            csv.display()
        ),
    )?;
    let sink = write_file(
        dir.path(),
        "jsonl-sink.properties",
        &format!(
            "name={}\nconnector.class=JsonLinesSink\noutput.file={}\ntopics={topic}\n",
            unique("jsonl"),
            out.display()
        ),
    )?;
    let args = [
        props.display().to_string(),
        source.display().to_string(),
        sink.display().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    std::fs::write(&csv, "sku,name,qty\n")?;
    append(&csv, &rows(0, 50))?;

    let port = free_port()?;
    let mut w = Worker::start_binary(Path::new(WORKER), dir.path(), port, &args, "worker1.log")?;
    let want = |n: usize| -> Vec<String> {
        (0..n)
            .map(|i| {
                serde_json::json!({"sku": format!("sku-{i}"), "name": format!("widget {i}"), "qty": (i * 3).to_string()})
                    .to_string()
            })
            .collect()
    };
    let got = wait_until(Duration::from_secs(60), "50 JSON lines", || {
        let lines = read_lines(&out);
        (lines.len() >= 50).then_some(lines)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert_eq!(got, want(50), "log:\n{}", w.log_text());
    assert!(w.stop()?.success(), "clean stop; log:\n{}", w.log_text());

    append(&csv, &rows(50, 30))?;
    let mut w = Worker::start_binary(Path::new(WORKER), dir.path(), port, &args, "worker2.log")?;
    let got = wait_until(Duration::from_secs(60), "80 JSON lines", || {
        let lines = read_lines(&out);
        (lines.len() >= 80).then_some(lines)
    })
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert_eq!(got, want(80), "log:\n{}", w.log_text());
    assert!(w.stop()?.success(), "clean stop; log:\n{}", w.log_text());
    Ok(())
}
