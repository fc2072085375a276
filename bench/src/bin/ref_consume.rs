//! Reference consumer: consumes a topic (fresh group) and writes each
//! value as a line to a file until `--count` records were written. Sluice's
//! file sink is compared with it.
//!
//! `ref_consume --bootstrap HOST:PORT --topic T --output FILE --count N`

use std::io::Write;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};

fn main() -> anyhow::Result<()> {
    let args = sluice_bench::args();
    let count: u64 = sluice_bench::arg(&args, "count")?.parse()?;
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", sluice_bench::arg(&args, "bootstrap")?)
        .set("group.id", sluice_bench::arg(&args, "group")?);
    for (k, v) in sluice_bench::CONSUMER {
        cfg.set(*k, *v);
    }
    let consumer: BaseConsumer = cfg.create()?;
    consumer.subscribe(&[&sluice_bench::arg(&args, "topic")?])?;
    let file = std::fs::File::create(sluice_bench::arg(&args, "output")?)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut n = 0u64;
    while n < count {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                out.write_all(m.payload().unwrap_or_default())?;
                out.write_all(b"\n")?;
                n += 1;
            }
            Some(Err(e)) => eprintln!("ref_consume: {e}"),
            None => {}
        }
    }
    out.flush()?;
    out.get_ref().sync_all()?;
    eprintln!("ref_consume: {n} records");
    Ok(())
}
