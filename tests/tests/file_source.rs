//! FileStreamSource against a real broker: lines arrive in order, a clean
//! restart re-sends nothing, a `kill -9` loses nothing and repeats only what
//! came after the last committed offset.

use std::time::Duration;

use sluice_tests::*;

fn source_props(name: &str, file: &std::path::Path, topic: &str) -> String {
    format!(
        "name={name}\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic={topic}\n",
        file.display()
    )
}

/// A broker, a temp dir, a topic, an input file and the worker's arguments.
struct Setup {
    broker: Broker,
    name: String,
    dir: tempfile::TempDir,
    topic: String,
    input: std::path::PathBuf,
    args: Vec<String>,
}

impl Setup {
    fn new(topic_prefix: &str, input_name: &str) -> anyhow::Result<Self> {
        let broker = Broker::start()?;
        let dir = tempfile::tempdir()?;
        let topic = unique(topic_prefix);
        let input = dir.path().join(input_name);
        let worker_props = write_worker_props(dir.path(), &broker.bootstrap, "")?;
        let name = unique("src");
        let conn = write_file(
            dir.path(),
            "source.properties",
            &source_props(&name, &input, &topic),
        )?;
        let args = vec![
            worker_props.display().to_string(),
            conn.display().to_string(),
        ];
        Ok(Self {
            broker,
            name,
            dir,
            topic,
            input,
            args,
        })
    }

    /// Waits until the source committed the offset at the end of its file.
    fn committed_to_end(&self, port: u16) -> anyhow::Result<()> {
        let end = file_len(&self.input);
        wait_source_offset(port, &self.name, "position", end, Duration::from_secs(30))
    }

    fn start(&self, port: u16, log: &str) -> anyhow::Result<Worker> {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        Worker::start(self.dir.path(), port, &args, &[], log)
    }
}

#[test]
fn lines_arrive_in_order_and_clean_restart_resends_nothing() -> anyhow::Result<()> {
    let s = Setup::new("lines", "input.txt")?;
    let (broker, topic, input) = (&s.broker, s.topic.as_str(), s.input.as_path());
    let port = free_port()?;

    append_lines(input, &numbered("a", 0, 100))?;
    let mut w = s.start(port, "worker1.log")?;
    // Appended while the worker runs.
    for chunk in 0..4 {
        append_lines(input, &numbered("a", 100 + chunk * 100, 100))?;
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = wait_for_records(&broker.bootstrap, topic, 500, Duration::from_secs(60))?;
    assert_eq!(got, numbered("a", 0, 500), "worker log:\n{}", w.log_text());

    let status = w.stop()?;
    assert!(
        status.success(),
        "clean stop must exit 0, got {status}; log:\n{}",
        w.log_text()
    );

    let mut w = s.start(port, "worker2.log")?;
    append_lines(input, &numbered("a", 500, 20))?;
    let got = wait_for_records(&broker.bootstrap, topic, 520, Duration::from_secs(60))?;
    // Committed at the end of the file: every record sent is in the topic,
    // so a wrongly re-sent file would show now.
    s.committed_to_end(port)?;
    let got_after = wait_for_records(&broker.bootstrap, topic, got.len(), Duration::from_secs(10))?;
    assert_eq!(
        got_after,
        numbered("a", 0, 520),
        "worker log:\n{}",
        w.log_text()
    );
    assert!(
        w.log_text().contains("resuming from committed offset"),
        "{}",
        w.log_text()
    );
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn kill_minus_nine_loses_nothing_and_repeats_only_the_uncommitted_tail() -> anyhow::Result<()> {
    let s = Setup::new("kill9", "input.txt")?;
    let (broker, topic, input) = (&s.broker, s.topic.as_str(), s.input.as_path());
    let port = free_port()?;

    let mut w = s.start(port, "worker1.log")?;
    append_lines(input, &numbered("k", 0, 300))?;
    wait_for_records(&broker.bootstrap, topic, 300, Duration::from_secs(60))?;
    // The first 300 are committed.
    s.committed_to_end(port)?;
    append_lines(input, &numbered("k", 300, 300))?;
    std::thread::sleep(Duration::from_millis(150));
    w.kill9()?;

    let mut w = s.start(port, "worker2.log")?;
    append_lines(input, &numbered("k", 600, 100))?;
    let all = numbered("k", 0, 700);
    let got = wait_until(Duration::from_secs(60), "every line in the topic", || {
        let got = wait_for_records(&broker.bootstrap, topic, 700, Duration::from_secs(5)).ok()?;
        got.ends_with(&all[600..]).then_some(got)
    })?;
    // The topic is lines[0..k] followed by lines[j..700] with 300 <= j <= k:
    // nothing missing, and only lines after a committed offset repeat.
    let k = got.iter().zip(&all).take_while(|(a, b)| a == b).count();
    let rest = &got[k..];
    let j = if rest.is_empty() {
        k
    } else {
        all.iter().position(|l| *l == rest[0]).unwrap_or(usize::MAX)
    };
    assert!(
        j >= 300 && j <= k,
        "repeat starts at {j}, first run reached {k}; log:\n{}",
        w.log_text()
    );
    assert_eq!(
        rest,
        &all[j..],
        "after the repeat point every line follows in order"
    );
    eprintln!(
        "kill -9: first run delivered {k} lines, restart repeated {} lines from {j}",
        k - j
    );
    assert!(w.stop()?.success());
    Ok(())
}

#[test]
fn missing_source_file_is_waited_for() -> anyhow::Result<()> {
    let s = Setup::new("later", "not-yet.txt")?;
    let (broker, topic, input) = (&s.broker, s.topic.as_str(), s.input.as_path());
    let mut w = s.start(free_port()?, "worker.log")?;
    wait_until(
        Duration::from_secs(20),
        "the log line about the missing file",
        || w.log_text().contains("Couldn't find file").then_some(()),
    )?;
    append_lines(input, &numbered("late", 0, 5))?;
    let got = wait_for_records(&broker.bootstrap, topic, 5, Duration::from_secs(30))?;
    assert_eq!(got, numbered("late", 0, 5));
    assert!(w.stop()?.success());
    Ok(())
}
