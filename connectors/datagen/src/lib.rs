//! `DataGenSource` for Sluice: a sequence-numbered record generator, used by
//! benchmarks (many tasks, idle or flat out) and by failover tests (every
//! sequence number must arrive).
//!
//! `io.sluice.connect.datagen.DataGenSourceConnector` (aliases
//! `DataGenSource`, `DataGen`) makes exactly `tasks.max` task configs, each
//! with a `task.id` (0..n-1). Task `T` writes records numbered `0, 1, 2, ...`
//! to `topic`, with source partition `{"task": T}` and source offset
//! `{"seq": N}`, N being the next sequence number. A restarted or moved task
//! continues from its committed offset, so no sequence number is skipped;
//! the ones after the last commit may arrive twice.
//!
//! Keys (besides the runtime's `tasks.max`):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `topic` | required | topic to write to |
//! | `max.records` | `-1` | per task; `-1` unlimited, `0` an idle task |
//! | `records.per.second` | `0` | per task; `0` as fast as possible |
//! | `batch.size` | `1000` | records per poll, at most |
//! | `value.format` | `sequence` | `sequence`: `"T-N"`; `json`: `{"task":T,"seq":N,"payload":"x…"}`; `bytes`: `T-N` followed by the padding |
//! | `payload.bytes` | `0` | padding characters (`x`) in `json`/`bytes` values |
//! | `key` | `none` | `none`, or `task`: the key is the task id as a string |

mod source;

use sluice_connect_api::{ConnectorPlugin, Registry, TaskFactory, TaskSplit};

pub use source::{DataGenConfig, DataGenSourceConnector, DataGenSourceTask, KeyMode, ValueFormat};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The source plugin.
pub const SOURCE_PLUGIN: ConnectorPlugin = ConnectorPlugin {
    class_name: "io.sluice.connect.datagen.DataGenSourceConnector",
    aliases: &["DataGenSource", "DataGen"],
    version: VERSION,
    new_connector: || {
        Box::new(DataGenSourceConnector::new(
            VERSION,
            TaskSplit::Numbered("task.id"),
        ))
    },
    new_task: TaskFactory::Source(|| Box::new(DataGenSourceTask::default())),
};

/// Adds the plugin to a registry.
pub fn register(registry: &mut Registry) {
    registry.register_connector(SOURCE_PLUGIN);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::ConnectorType;

    #[test]
    fn found_by_its_names() {
        let mut r = Registry::new();
        register(&mut r);
        for name in [
            "io.sluice.connect.datagen.DataGenSourceConnector",
            "DataGenSourceConnector",
            "DataGenSource",
            "DataGen",
        ] {
            let p = r.connector(name);
            assert_eq!(
                p.map(|p| p.class_name),
                Some(SOURCE_PLUGIN.class_name),
                "{name}"
            );
            assert_eq!(
                p.map(ConnectorPlugin::connector_type),
                Some(ConnectorType::Source)
            );
        }
        assert!(r.connector("Data").is_none());
    }
}
