//! Source partition and offsets in Debezium's shape for PostgreSQL:
//! partition `{"server": <topic.prefix>}`; streaming offsets
//! `{"lsn_proc", "lsn_commit", "lsn", "txId", "ts_usec"}`; snapshot
//! offsets `{"snapshot": true, "last_snapshot_record", "lsn", "txId",
//! "ts_usec"}`. LSNs are numbers, as Debezium writes them.
//!
//! What they mean here: `lsn_commit` is the commit LSN of the event's
//! transaction, `lsn_proc` (= `lsn`) the event's own LSN. A restart asks
//! the server for transactions from `lsn_commit` on and skips the events
//! of that transaction up to `lsn_proc`: what Kafka has is not sent again,
//! and nothing after it is skipped.

use serde_json::{Value as Json, json};
use sluice_connect_api::{OffsetMap, SourceOffset, SourcePartition};

use crate::pg::lsn::Lsn;

pub fn partition(prefix: &str) -> SourcePartition {
    SourcePartition::one("server", prefix)
}

/// An event's place in emission order: (commit LSN, event LSN). Snapshot
/// rows are (0, row number); heartbeats (position, 0).
pub type Pos = (u64, u64);

pub fn stream_offset(
    commit: Lsn,
    lsn: Lsn,
    xid: u32,
    ts_usec: i64,
    message_type: &'static str,
) -> SourceOffset {
    SourceOffset::fields([
        ("messageType", json!(message_type)),
        ("lsn_proc", json!(lsn.0)),
        ("lsn_commit", json!(commit.0)),
        ("lsn", json!(lsn.0)),
        ("txId", json!(xid)),
        ("ts_usec", json!(ts_usec)),
    ])
}

pub fn snapshot_offset(lsn: Lsn, xid: i64, ts_usec: i64, last: bool, row: u64) -> SourceOffset {
    SourceOffset::fields([
        ("last_snapshot_record", json!(last)),
        ("lsn", json!(lsn.0)),
        ("txId", json!(xid)),
        ("ts_usec", json!(ts_usec)),
        ("snapshot", json!("INITIAL")),
        ("snapshot_completed", json!(last)),
        ("sluice_snapshot_row", json!(row)),
    ])
}

/// A heartbeat's offset: everything before `lsn` is in Kafka.
pub fn heartbeat_offset(lsn: Lsn, ts_usec: i64) -> SourceOffset {
    SourceOffset::fields([
        ("lsn_commit", json!(lsn.0)),
        ("lsn", json!(lsn.0)),
        ("ts_usec", json!(ts_usec)),
    ])
}

/// An acknowledged offset's position, for confirming upstream.
pub fn ack_pos(offset: &SourceOffset) -> Option<Pos> {
    if offset.get("snapshot").is_some_and(|v| is_snapshot(&v)) {
        let row = offset.get("sluice_snapshot_row").and_then(|v| v.as_u64())?;
        return Some((0, row));
    }
    let commit = offset.get("lsn_commit").and_then(|v| v.as_u64())?;
    Some(match offset.get("lsn_proc").and_then(|v| v.as_u64()) {
        Some(l) => (commit, l),
        None => (commit, 0),
    })
}

/// What a stored offset says about where to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    /// The snapshot was completed (or never part of this offset).
    pub snapshot_done: bool,
    /// Ask the server for transactions from here on.
    pub start: Option<Lsn>,
    /// Skip events of the transaction committing at `.0` up to `.1`.
    pub skip: Option<(Lsn, Lsn)>,
}

fn lsn_of(v: Option<&Json>) -> Option<Lsn> {
    match v? {
        Json::Number(n) => n.as_u64().map(Lsn),
        Json::String(s) => s.parse().ok().or_else(|| s.parse::<u64>().ok().map(Lsn)),
        _ => None,
    }
}

/// Debezium wrote `true` up to 3.0.1 and the snapshot type's name since.
fn is_snapshot(v: &Json) -> bool {
    matches!(v, Json::Bool(true)) || matches!(v, Json::String(s) if !s.is_empty() && s != "false")
}

pub fn parse_stored(map: &OffsetMap) -> Stored {
    let snapshot = map.get("snapshot").is_some_and(is_snapshot);
    let last = map.get("last_snapshot_record").and_then(Json::as_bool) == Some(true)
        || map.get("snapshot_completed").and_then(Json::as_bool) == Some(true);
    let commit = lsn_of(map.get("lsn_commit"));
    let proc_ = lsn_of(map.get("lsn_proc"));
    let lsn = lsn_of(map.get("lsn"));
    Stored {
        snapshot_done: !snapshot || last,
        start: commit.or(lsn),
        skip: commit.zip(proc_),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip() {
        let o = stream_offset(Lsn(200), Lsn(150), 7, 1, "INSERT");
        assert_eq!(ack_pos(&o), Some((200, 150)));
        let s = parse_stored(&o.to_map());
        assert!(s.snapshot_done);
        assert_eq!(s.start, Some(Lsn(200)));
        assert_eq!(s.skip, Some((Lsn(200), Lsn(150))));
        let o = snapshot_offset(Lsn(100), 5, 1, false, 3);
        assert_eq!(ack_pos(&o), Some((0, 3)));
        let s = parse_stored(&o.to_map());
        assert!(!s.snapshot_done);
        let o = snapshot_offset(Lsn(100), 5, 1, true, 4);
        assert!(parse_stored(&o.to_map()).snapshot_done);
        let o = heartbeat_offset(Lsn(300), 1);
        assert_eq!(ack_pos(&o), Some((300, 0)));
        let s = parse_stored(&o.to_map());
        assert_eq!((s.start, s.skip), (Some(Lsn(300)), None));
        // Offsets written by hand through the REST API may hold strings.
        let mut m = OffsetMap::new();
        m.insert("lsn".into(), json!("0/1F"));
        assert_eq!(parse_stored(&m).start, Some(Lsn(0x1f)));
        // Debezium 3.0.1 and earlier: a boolean snapshot flag.
        m.insert("snapshot".into(), json!(true));
        assert!(!parse_stored(&m).snapshot_done);
        m.insert("last_snapshot_record".into(), json!(true));
        assert!(parse_stored(&m).snapshot_done);
    }
}
