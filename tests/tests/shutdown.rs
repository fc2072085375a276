//! Shutdown always ends: a worker running three file sources and a file
//! sink, sent SIGTERM at the moment its broker dies (records in flight,
//! consumer offsets to commit), exits within
//! `task.shutdown.graceful.timeout.ms` + `offset.flush.timeout.ms` + a few
//! seconds, however many connectors run (in Kubernetes a hung pod is
//! SIGKILLed after its grace period).

use std::time::{Duration, Instant};

use sluice_tests::*;

const GRACEFUL_MS: u64 = 2_000;
const FLUSH_TIMEOUT_MS: u64 = 2_000;
const SOURCES: usize = 3;

#[test]
fn sigterm_while_the_broker_dies_exits_in_bounded_time() -> anyhow::Result<()> {
    let broker = Broker::start()?;
    let dir = tempfile::tempdir()?;
    let topic = unique("shutdown");
    create_topic(&broker.bootstrap, &topic)?;
    let props = write_worker_props(
        dir.path(),
        &broker.bootstrap,
        // No periodic commit before the shutdown: every task's final
        // commit has work to do when the broker is already gone.
        &format!(
            "offset.flush.interval.ms=600000\ntask.shutdown.graceful.timeout.ms={GRACEFUL_MS}\noffset.flush.timeout.ms={FLUSH_TIMEOUT_MS}\nconsumer.session.timeout.ms=6000"
        ),
    )?;
    let mut args = vec![props.display().to_string()];
    let inputs: Vec<_> = (0..SOURCES)
        .map(|i| dir.path().join(format!("in-{i}.txt")))
        .collect();
    for (i, input) in inputs.iter().enumerate() {
        let f = write_file(
            dir.path(),
            &format!("source-{i}.properties"),
            &format!(
                "name={}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n",
                unique("src"),
                input.display()
            ),
        )?;
        args.push(f.display().to_string());
    }
    let sink = write_file(
        dir.path(),
        "sink.properties",
        &format!(
            "name={}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n",
            unique("sink"),
            dir.path().join("out.txt").display()
        ),
    )?;
    args.push(sink.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let port = free_port()?;
    let mut w = Worker::start(dir.path(), port, &args, &[], "worker.log")?;
    for input in &inputs {
        append_lines(input, &numbered("line", 0, 100))?;
    }
    // The sink read them (it writes its file only when it commits).
    let want = (SOURCES * 100) as f64;
    wait_until(
        Duration::from_secs(60),
        "the sink to read every record",
        || {
            let (_, text) = http_get(port, "/metrics").ok()?;
            let read: f64 = text
                .lines()
                .filter(|l| l.starts_with("kafka_connect_sink_task_sink_record_read_total"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            (read >= want).then_some(())
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;

    let started = Instant::now();
    drop(broker); // SIGKILL: the broker is gone at once
    // Records the sources read now stay in flight.
    for input in &inputs {
        append_lines(input, &numbered("line", 100, 1_000))?;
    }
    w.terminate()?;
    let bound = Duration::from_millis(GRACEFUL_MS + FLUSH_TIMEOUT_MS) + Duration::from_secs(5);
    let status = w.wait_exit(bound + Duration::from_secs(30));
    let took = started.elapsed();
    println!("worker exited {took:?} after SIGTERM with the broker gone (bound {bound:?})");
    for l in w
        .log_text()
        .lines()
        .filter(|l| l.contains("did not stop") || l.contains("commit") || l.contains("stopped"))
    {
        println!("  {l}");
    }
    let status = status.map_err(|e| anyhow::anyhow!("{e}; log:\n{}", w.log_text()))?;
    assert!(
        took <= bound,
        "the worker took {took:?} to exit (bound {bound:?}), status {status}; log:\n{}",
        w.log_text()
    );
    Ok(())
}
