//! Source partition and offsets in Debezium's shape for PostgreSQL:
//! partition `{"server": <topic.prefix>}`; streaming offsets
//! `{"lsn_proc", "lsn_commit", "lsn", "txId", "ts_usec"}`; snapshot
//! offsets `{"snapshot": true, "last_snapshot_record", "lsn", "txId",
//! "ts_usec"}`. LSNs are numbers, as Debezium writes them.
//!
//! What they mean here: `lsn_commit` is the commit LSN of the event's own
//! transaction (Debezium writes the last processed commit there),
//! `lsn_proc` (= `lsn`) the event's own LSN, and `lsn_events_processed`
//! (Debezium 3.7's key) how many events of that LSN were sent, since one
//! WAL record (a multi-row insert, COPY) can carry many changes. A restart
//! asks the server for transactions from `lsn_commit` on and skips the
//! events of that transaction up to (`lsn_proc`, `lsn_events_processed`):
//! what Kafka has is not sent again, and nothing after it is skipped. An
//! offset Debezium wrote resumes with repeats only, never a gap.

use serde_json::{Value as Json, json};
use sluice_connect_api::{OffsetMap, SourceOffset, SourcePartition};

use crate::pg::lsn::Lsn;

pub fn partition(prefix: &str) -> SourcePartition {
    SourcePartition::one("server", prefix)
}

/// An event's place in emission order: (commit LSN, event LSN, index among
/// the events of that LSN). Snapshot rows are (0, row number, 0);
/// heartbeats (position, 0, 0).
pub type Pos = (u64, u64, u64);

pub fn stream_offset(
    commit: Lsn,
    lsn: Lsn,
    xid: u32,
    ts_usec: i64,
    message_type: &'static str,
) -> SourceOffset {
    stream_offset_with(commit, (lsn, 1), xid, ts_usec, message_type, None)
}

/// Where an incremental snapshot stands: the tables left (the one being
/// read first) and the key of the last row sent of that table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncProgress {
    pub tables: Vec<String>,
    pub key: Option<Vec<Vec<u8>>>,
}

const KEY_PREFIX: &str = "sluice:";

/// Key values (binary) as `sluice:` + hex of (length, bytes) pairs.
pub fn encode_key(key: &[Vec<u8>]) -> String {
    let mut s = String::from(KEY_PREFIX);
    for part in key {
        for b in (part.len() as u32).to_be_bytes().iter().chain(part.iter()) {
            s.push_str(&format!("{b:02x}"));
        }
    }
    s
}

pub fn decode_key(s: &str) -> Option<Vec<Vec<u8>>> {
    let hex = s.strip_prefix(KEY_PREFIX)?;
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let len = u32::from_be_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
        pos += 4;
        out.push(bytes.get(pos..pos + len)?.to_vec());
        pos += len;
    }
    Some(out)
}

/// A streaming offset, with Debezium's incremental snapshot keys while one
/// runs (`incremental_snapshot_collections`; the primary key in Sluice's
/// own encoding).
pub fn stream_offset_with(
    commit: Lsn,
    (lsn, events): (Lsn, u64),
    xid: u32,
    ts_usec: i64,
    message_type: &'static str,
    inc: Option<&IncProgress>,
) -> SourceOffset {
    let mut fields = vec![
        ("messageType", json!(message_type)),
        ("lsn_proc", json!(lsn.0)),
        ("lsn_commit", json!(commit.0)),
        ("lsn", json!(lsn.0)),
        ("lsn_events_processed", json!(events)),
        ("txId", json!(xid)),
        ("ts_usec", json!(ts_usec)),
    ];
    push_incremental(&mut fields, inc);
    SourceOffset::fields(fields)
}

fn push_incremental(fields: &mut Vec<(&'static str, Json)>, inc: Option<&IncProgress>) {
    if let Some(p) = inc {
        let collections: Vec<Json> = p
            .tables
            .iter()
            .map(|t| {
                json!({
                    "incremental_snapshot_collections_id": t,
                    "incremental_snapshot_collections_additional_condition": null,
                    "incremental_snapshot_collections_surrogate_key": null
                })
            })
            .collect();
        fields.push((
            "incremental_snapshot_collections",
            json!(Json::Array(collections).to_string()),
        ));
        if let Some(k) = &p.key {
            fields.push(("incremental_snapshot_primary_key", json!(encode_key(k))));
        }
    }
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
pub fn heartbeat_offset(lsn: Lsn, ts_usec: i64, inc: Option<&IncProgress>) -> SourceOffset {
    let mut fields = vec![
        ("lsn_commit", json!(lsn.0)),
        ("lsn", json!(lsn.0)),
        ("ts_usec", json!(ts_usec)),
    ];
    push_incremental(&mut fields, inc);
    SourceOffset::fields(fields)
}

/// An acknowledged offset's position, for confirming upstream.
pub fn ack_pos(offset: &SourceOffset) -> Option<Pos> {
    if offset.get("snapshot").is_some_and(|v| is_snapshot(&v)) {
        let row = offset.get("sluice_snapshot_row").and_then(|v| v.as_u64())?;
        return Some((0, row, 0));
    }
    let commit = offset.get("lsn_commit").and_then(|v| v.as_u64())?;
    Some(match offset.get("lsn_proc").and_then(|v| v.as_u64()) {
        Some(l) => (
            commit,
            l,
            offset
                .get("lsn_events_processed")
                .and_then(|v| v.as_u64())
                .unwrap_or(1),
        ),
        None => (commit, 0, 0),
    })
}

/// What a stored offset says about where to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    /// The snapshot was completed (or never part of this offset).
    pub snapshot_done: bool,
    /// Ask the server for transactions from here on.
    pub start: Option<Lsn>,
    /// Skip events of the transaction committing at `.0` up to the `.2`th
    /// event of LSN `.1` (all of them when the offset does not say).
    pub skip: Option<(Lsn, Lsn, u64)>,
}

/// An incremental snapshot a stored offset says was under way.
pub fn parse_incremental(map: &OffsetMap) -> Option<IncProgress> {
    let text = map.get("incremental_snapshot_collections")?.as_str()?;
    let list: Vec<Json> = serde_json::from_str(text).ok()?;
    let tables: Vec<String> = list
        .iter()
        .filter_map(|c| {
            c.get("incremental_snapshot_collections_id")
                .and_then(Json::as_str)
                .map(str::to_string)
        })
        .collect();
    if tables.is_empty() {
        return None;
    }
    let key = map
        .get("incremental_snapshot_primary_key")
        .and_then(Json::as_str)
        .and_then(|k| {
            let d = decode_key(k);
            if d.is_none() {
                tracing::warn!("the stored incremental snapshot position is not Sluice's: the table is read again from its start");
            }
            d
        });
    Some(IncProgress { tables, key })
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
    let events = map
        .get("lsn_events_processed")
        .and_then(Json::as_u64)
        .unwrap_or(u64::MAX);
    Stored {
        snapshot_done: !snapshot || last,
        start: commit.or(lsn),
        skip: commit.zip(proc_).map(|(c, p)| (c, p, events)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_progress_round_trips() {
        let p = IncProgress {
            tables: vec!["public.a".into(), "public.b".into()],
            key: Some(vec![vec![0, 0, 0, 7], b"abc".to_vec()]),
        };
        let o = stream_offset_with(Lsn(1), (Lsn(1), 1), 1, 1, "INSERT", Some(&p));
        assert_eq!(parse_incremental(&o.to_map()), Some(p));
        assert_eq!(decode_key("sluice:"), Some(Vec::new()));
        assert!(decode_key("aced0005").is_none());
        assert!(decode_key("sluice:0000").is_none());
        let o = stream_offset(Lsn(1), Lsn(1), 1, 1, "INSERT");
        assert_eq!(parse_incremental(&o.to_map()), None);
    }

    #[test]
    fn offsets_round_trip() {
        let o = stream_offset_with(Lsn(200), (Lsn(150), 3), 7, 1, "INSERT", None);
        assert_eq!(ack_pos(&o), Some((200, 150, 3)));
        let s = parse_stored(&o.to_map());
        assert!(s.snapshot_done);
        assert_eq!(s.start, Some(Lsn(200)));
        assert_eq!(s.skip, Some((Lsn(200), Lsn(150), 3)));
        let o = snapshot_offset(Lsn(100), 5, 1, false, 3);
        assert_eq!(ack_pos(&o), Some((0, 3, 0)));
        let s = parse_stored(&o.to_map());
        assert!(!s.snapshot_done);
        let o = snapshot_offset(Lsn(100), 5, 1, true, 4);
        assert!(parse_stored(&o.to_map()).snapshot_done);
        let o = heartbeat_offset(Lsn(300), 1, None);
        assert_eq!(ack_pos(&o), Some((300, 0, 0)));
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
