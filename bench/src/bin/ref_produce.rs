//! Reference producer: reads lines from a file and produces each as a
//! record value (no key), with the pinned settings, then waits for every
//! acknowledgement. What a framework-free program does; Sluice's file
//! source is compared with it.
//!
//! `ref_produce --bootstrap HOST:PORT --topic T --input FILE [--settings plain]`

use std::io::BufRead;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

fn main() -> anyhow::Result<()> {
    let args = sluice_bench::args();
    let topic = sluice_bench::arg(&args, "topic")?;
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", sluice_bench::arg(&args, "bootstrap")?);
    // `--settings plain`: what a plain client script sets; else pinned.
    let settings = match args.get("settings").map(String::as_str) {
        Some("plain") => sluice_bench::PLAIN_PRODUCER,
        _ => sluice_bench::PRODUCER,
    };
    for (k, v) in settings {
        cfg.set(*k, *v);
    }
    let producer: ThreadedProducer<DefaultProducerContext> = cfg.create()?;
    let file = std::fs::File::open(sluice_bench::arg(&args, "input")?)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(256);
    let mut n = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let mut record = BaseRecord::<(), [u8]>::to(&topic).payload(&line[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
        n += 1;
    }
    producer.flush(Duration::from_secs(300))?;
    eprintln!("ref_produce: {n} records");
    Ok(())
}
