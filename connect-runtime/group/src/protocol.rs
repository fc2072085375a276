//! Member metadata and assignments, in the byte layout of Kafka Connect's
//! incremental cooperative protocol, so Sluice workers can share a group
//! with (or be read by tools written for) Kafka Connect.
//!
//! All integers are big-endian. Kafka's struct types: `STRING` is an int16
//! byte length and UTF-8; `NULLABLE_BYTES` an int32 length (-1 = null) and
//! the bytes; `ARRAY` an int32 count (-1 = null where nullable) and items.
//!
//! Member metadata (JoinGroup), version 1 (2 has the same layout; 0 stops
//! after `config_offset`):
//!
//! ```text
//! version        INT16
//! url            STRING
//! config_offset  INT64
//! allocation     NULLABLE_BYTES   the owned work, as a whole assignment
//!                                 (version header included); null = None
//! ```
//!
//! Assignment (SyncGroup), version 1 (0 stops after `assignment`):
//!
//! ```text
//! version        INT16
//! error          INT16
//! leader         STRING
//! leader_url     STRING
//! config_offset  INT64
//! assignment     ARRAY of { connector STRING, tasks ARRAY of INT32 }
//! revoked        ARRAY of { connector STRING, tasks ARRAY of INT32 }
//! delay          INT32
//! owned          (Sluice extension, optional) the bytes "SLU1", then an
//!                ARRAY of { connector STRING, tasks ARRAY of INT32 }
//! ```
//!
//! `owned` is everything the member runs after this round as the leader
//! sees it; a Sluice member makes what it runs match it, so a claim the
//! leader read from stale metadata can neither strand work (kept in the
//! leader's view but run nowhere) nor run it twice. Kafka Connect's reader
//! ignores bytes after `delay`, and an assignment without them (a Kafka
//! Connect leader's) is applied as a delta.
//!
//! In the connector arrays, task id -1 ([`CONNECTOR_TASK`]) stands for the
//! connector itself. Entries are written in connector order, the connector
//! (-1) first, then its tasks in ascending order.
//!
//! Decoding is strict about truncation (every field of the version is
//! required, unlike Java's reader, which fills missing trailing fields with
//! defaults; Kafka Connect always writes them), accepts versions above 2 as
//! version 1 (as Kafka Connect does) and ignores trailing bytes that do not
//! start with the `owned` marker. A null connector array decodes as empty.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{TaskId, Work};

/// The protocol name of Kafka Connect's incremental cooperative protocol
/// version 1.
pub const PROTOCOL_NAME: &str = "compatible";

/// Kafka Connect's eager protocol version (no owned work, no revocations).
pub const CONNECT_PROTOCOL_V0: i16 = 0;
/// Incremental cooperative protocol version, the one Sluice writes.
pub const CONNECT_PROTOCOL_V1: i16 = 1;
/// Incremental cooperative protocol with session keys (same layout as 1).
pub const CONNECT_PROTOCOL_V2: i16 = 2;

/// The task id that stands for the connector itself in connector arrays.
pub const CONNECTOR_TASK: i32 = -1;

/// [`Assignment::error`]: no error.
pub const NO_ERROR: i16 = 0;
/// [`Assignment::error`]: the leader's config was behind a member's; read
/// the config topic to the end and rejoin.
pub const CONFIG_MISMATCH: i16 = 1;

/// The marker of the `owned` extension after an assignment's `delay`.
pub const OWNED_MARKER: &[u8; 4] = b"SLU1";

/// The longest string, in UTF-8 bytes, a Kafka `STRING` can carry. Longer
/// URLs or connector names are cut at a character boundary when encoded, so
/// callers should reject such names before they get here.
pub const MAX_STRING_LEN: usize = i16::MAX as usize;

/// The highest task number an `INT32` can carry. Tasks numbered higher are
/// left out when encoded.
pub const MAX_TASK: u32 = i32::MAX as u32;

/// What a member sends in JoinGroup: where its REST API is, how far it
/// read the config topic, and what it runs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    /// The worker's advertised REST URL, e.g. `http://127.0.0.1:8083/`.
    pub url: String,
    /// Offset of the last config-topic record the worker applied, -1 when none.
    pub config_offset: i64,
    /// What the member runs now (`None` in Kafka Connect's eager protocol).
    pub owned: Option<Work>,
}

/// What the leader gives each member in SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// 0 = none, 1 = CONFIG_MISMATCH (the leader's config was behind: rejoin).
    pub error: i16,
    /// The leader's member id and REST URL.
    pub leader: String,
    pub leader_url: String,
    /// The config-topic offset the assignment was computed at; a member
    /// that is behind reads up to it before starting anything.
    pub config_offset: i64,
    /// Newly assigned work (added to what the member keeps).
    pub assigned: Work,
    /// Work the member must stop.
    pub revoked: Work,
    /// Milliseconds after which the member rejoins (work held for a
    /// departed worker is reassigned then), 0 when none.
    pub delay_ms: i32,
    /// Sluice extension: everything the member runs after this round, as
    /// the leader sees it (`None` from a Kafka Connect leader, and in
    /// member metadata).
    pub owned: Option<Work>,
}

/// Not a valid encoding.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what}: {message}")]
pub struct ProtocolError {
    pub what: &'static str,
    pub message: String,
}

impl ProtocolError {
    fn new(what: &'static str, message: String) -> Self {
        Self { what, message }
    }

    /// Puts `prefix` and `sep` before the message (the path of the field).
    fn within(mut self, prefix: impl std::fmt::Display, sep: &str) -> Self {
        self.message = format!("{prefix}{sep}{}", self.message);
        self
    }
}

const METADATA: &str = "member metadata";
const ASSIGNMENT: &str = "assignment";

/// Encodes member metadata as version 1. `owned: None` is written as a null
/// allocation; `Some` as an assignment (version 1, no error, empty leader,
/// the member's `config_offset`) whose `assignment` is the owned work.
pub fn encode_metadata(m: &MemberMetadata) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(CONNECT_PROTOCOL_V1);
    put_string(&mut buf, &m.url);
    buf.put_i64(m.config_offset);
    match &m.owned {
        None => buf.put_i32(-1),
        Some(work) => {
            let allocation = encode_assignment(&Assignment {
                error: NO_ERROR,
                leader: String::new(),
                leader_url: String::new(),
                config_offset: m.config_offset,
                assigned: work.clone(),
                revoked: Work::default(),
                delay_ms: 0,
                owned: None,
            });
            put_len_i32(&mut buf, allocation.len());
            buf.put_slice(&allocation);
        }
    }
    buf.freeze()
}

/// Decodes member metadata of any version (0 has no allocation: `owned`
/// is `None`). The owned work is the `assignment` part of the allocation.
pub fn decode_metadata(b: &[u8]) -> Result<MemberMetadata, ProtocolError> {
    let mut r = Reader::new(b, METADATA);
    let version = r.version()?;
    let url = r.string("url")?;
    let config_offset = r.i64("config_offset")?;
    let owned = if version == CONNECT_PROTOCOL_V0 {
        None
    } else {
        match r.nullable_bytes("allocation")? {
            None => None,
            Some(bytes) => {
                let allocation = decode_assignment_as(bytes, METADATA)
                    .map_err(|e| e.within("allocation", ": "))?;
                Some(allocation.assigned)
            }
        }
    };
    Ok(MemberMetadata {
        url,
        config_offset,
        owned,
    })
}

/// Encodes an assignment as version 1, with the `owned` extension when
/// `a.owned` is set.
pub fn encode_assignment(a: &Assignment) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(CONNECT_PROTOCOL_V1);
    buf.put_i16(a.error);
    put_string(&mut buf, &a.leader);
    put_string(&mut buf, &a.leader_url);
    buf.put_i64(a.config_offset);
    put_work(&mut buf, &a.assigned);
    put_work(&mut buf, &a.revoked);
    buf.put_i32(a.delay_ms);
    if let Some(owned) = &a.owned {
        buf.put_slice(OWNED_MARKER);
        put_work(&mut buf, owned);
    }
    buf.freeze()
}

/// Decodes an assignment of any version (0 has no `revoked` and no
/// `delay`: they decode as empty and 0).
pub fn decode_assignment(b: &[u8]) -> Result<Assignment, ProtocolError> {
    decode_assignment_as(b, ASSIGNMENT)
}

fn decode_assignment_as(b: &[u8], what: &'static str) -> Result<Assignment, ProtocolError> {
    let mut r = Reader::new(b, what);
    let version = r.version()?;
    let error = r.i16("error")?;
    let leader = r.string("leader")?;
    let leader_url = r.string("leader_url")?;
    let config_offset = r.i64("config_offset")?;
    let assigned = r.work("assignment")?;
    let (revoked, delay_ms) = if version == CONNECT_PROTOCOL_V0 {
        (Work::default(), 0)
    } else {
        (r.work("revoked")?, r.i32("delay")?)
    };
    let owned = if version != CONNECT_PROTOCOL_V0 && r.buf.starts_with(OWNED_MARKER) {
        r.take("owned", OWNED_MARKER.len())?;
        // Null would read as "run nothing": not accepted.
        Some(r.work_of("owned", false)?)
    } else {
        None
    };
    Ok(Assignment {
        error,
        leader,
        leader_url,
        config_offset,
        assigned,
        revoked,
        delay_ms,
        owned,
    })
}

fn put_len_i16(buf: &mut BytesMut, len: usize) {
    buf.put_i16(i16::try_from(len).unwrap_or(i16::MAX));
}

fn put_len_i32(buf: &mut BytesMut, len: usize) {
    buf.put_i32(i32::try_from(len).unwrap_or(i32::MAX));
}

fn put_string(buf: &mut BytesMut, s: &str) {
    let s = truncate(s, MAX_STRING_LEN);
    put_len_i16(buf, s.len());
    buf.put_slice(s.as_bytes());
}

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Writes `work` as an array of connector assignments.
fn put_work(buf: &mut BytesMut, work: &Work) {
    let mut by_connector: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for connector in &work.connectors {
        by_connector
            .entry(connector.as_str())
            .or_default()
            .push(CONNECTOR_TASK);
    }
    // Tasks are ordered by connector, then number: each list stays sorted.
    for task in &work.tasks {
        if let Ok(id) = i32::try_from(task.task) {
            by_connector
                .entry(task.connector.as_str())
                .or_default()
                .push(id);
        }
    }
    put_len_i32(buf, by_connector.len());
    for (connector, tasks) in by_connector {
        put_string(buf, connector);
        put_len_i32(buf, tasks.len());
        for id in tasks {
            buf.put_i32(id);
        }
    }
}

/// Reads Kafka struct fields off a byte slice, never past its end.
#[derive(Debug)]
struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, what }
    }

    fn error(&self, field: &str, message: impl std::fmt::Display) -> ProtocolError {
        ProtocolError::new(self.what, format!("{field}: {message}"))
    }

    fn short(&self, field: &str, need: usize) -> ProtocolError {
        self.error(
            field,
            format_args!("need {need} bytes, have {}", self.buf.len()),
        )
    }

    fn fixed<const N: usize>(&mut self, field: &str) -> Result<[u8; N], ProtocolError> {
        match self.buf.split_first_chunk::<N>() {
            Some((head, rest)) => {
                self.buf = rest;
                Ok(*head)
            }
            None => Err(self.short(field, N)),
        }
    }

    fn take(&mut self, field: &str, n: usize) -> Result<&'a [u8], ProtocolError> {
        match self.buf.split_at_checked(n) {
            Some((head, rest)) => {
                self.buf = rest;
                Ok(head)
            }
            None => Err(self.short(field, n)),
        }
    }

    fn i16(&mut self, field: &str) -> Result<i16, ProtocolError> {
        self.fixed(field).map(i16::from_be_bytes)
    }

    fn i32(&mut self, field: &str) -> Result<i32, ProtocolError> {
        self.fixed(field).map(i32::from_be_bytes)
    }

    fn i64(&mut self, field: &str) -> Result<i64, ProtocolError> {
        self.fixed(field).map(i64::from_be_bytes)
    }

    /// The version header; any version from 0 up is read (higher ones as 1).
    fn version(&mut self) -> Result<i16, ProtocolError> {
        let version = self.i16("version")?;
        if version < CONNECT_PROTOCOL_V0 {
            return Err(self.error("version", format_args!("unsupported version {version}")));
        }
        Ok(version)
    }

    fn string(&mut self, field: &str) -> Result<String, ProtocolError> {
        let len = self.i16(field)?;
        let len = usize::try_from(len)
            .map_err(|_| self.error(field, format_args!("negative length {len}")))?;
        let bytes = self.take(field, len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(self.error(field, format_args!("not UTF-8 ({e})"))),
        }
    }

    fn nullable_bytes(&mut self, field: &str) -> Result<Option<&'a [u8]>, ProtocolError> {
        let len = self.i32(field)?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len)
            .map_err(|_| self.error(field, format_args!("negative length {len}")))?;
        self.take(field, len).map(Some)
    }

    /// An array count; `None` for a null array when `nullable`.
    fn count(&mut self, field: &str, nullable: bool) -> Result<Option<usize>, ProtocolError> {
        let count = self.i32(field)?;
        if count == -1 && nullable {
            return Ok(None);
        }
        usize::try_from(count)
            .map(Some)
            .map_err(|_| self.error(field, format_args!("negative count {count}")))
    }

    /// An array of connector assignments; null reads as empty.
    fn work(&mut self, field: &str) -> Result<Work, ProtocolError> {
        self.work_of(field, true)
    }

    /// `nullable`: a null array reads as empty; otherwise it is an error.
    fn work_of(&mut self, field: &str, nullable: bool) -> Result<Work, ProtocolError> {
        let mut work = Work::default();
        let count = self.count(field, nullable)?.unwrap_or(0);
        for i in 0..count {
            self.connector_assignment(&mut work)
                .map_err(|e| e.within(format_args!("{field}[{i}]"), "."))?;
        }
        Ok(work)
    }

    fn connector_assignment(&mut self, work: &mut Work) -> Result<(), ProtocolError> {
        let connector = self.string("connector")?;
        let count = self.count("tasks", false)?.unwrap_or(0);
        for i in 0..count {
            let Ok(id) = self.i32("task") else {
                return Err(self.short(&format!("tasks[{i}]"), 4));
            };
            if id == CONNECTOR_TASK {
                work.connectors.insert(connector.clone());
            } else {
                let task = u32::try_from(id).map_err(|_| {
                    ProtocolError::new(
                        self.what,
                        format!("tasks[{i}]: task id {id} (below {CONNECTOR_TASK})"),
                    )
                })?;
                work.tasks.insert(TaskId::new(connector.clone(), task));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn work(connectors: &[&str], tasks: &[(&str, u32)]) -> Work {
        Work {
            connectors: connectors.iter().map(|c| c.to_string()).collect(),
            tasks: tasks.iter().map(|(c, t)| TaskId::new(*c, *t)).collect(),
        }
    }

    fn sample_assignment() -> Assignment {
        Assignment {
            error: NO_ERROR,
            leader: "worker-1-abc".into(),
            leader_url: "http://10.0.0.1:8083/".into(),
            config_offset: 42,
            assigned: work(
                &["orders", "users"],
                &[("orders", 0), ("orders", 3), ("users", 1)],
            ),
            revoked: work(&["gone"], &[("gone", 0), ("other", 7)]),
            delay_ms: 30_000,
            owned: None,
        }
    }

    /// Builds Kafka struct bytes by hand, independently of the encoder.
    #[derive(Default)]
    struct Raw(Vec<u8>);

    impl Raw {
        fn i16(mut self, v: i16) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn i32(mut self, v: i32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn i64(mut self, v: i64) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn str(mut self, s: &str) -> Self {
            self.0.extend_from_slice(&(s.len() as i16).to_be_bytes());
            self.0.extend_from_slice(s.as_bytes());
            self
        }
        fn bytes(mut self, b: &[u8]) -> Self {
            self.0.extend_from_slice(b);
            self
        }
    }

    #[test]
    fn metadata_round_trips() {
        for owned in [
            None,
            Some(Work::default()),
            Some(work(&["a"], &[("a", 0), ("a", 1), ("b", 2)])),
        ] {
            let m = MemberMetadata {
                url: "http://w1:8083/".into(),
                config_offset: -1,
                owned,
            };
            assert_eq!(decode_metadata(&encode_metadata(&m)).unwrap(), m);
        }
    }

    #[test]
    fn assignment_round_trips() {
        let a = sample_assignment();
        assert_eq!(decode_assignment(&encode_assignment(&a)).unwrap(), a);
        let mismatch = Assignment {
            error: CONFIG_MISMATCH,
            leader: "l".into(),
            leader_url: "u".into(),
            config_offset: 9,
            ..Assignment::default()
        };
        assert_eq!(
            decode_assignment(&encode_assignment(&mismatch)).unwrap(),
            mismatch
        );
    }

    #[test]
    fn assignment_matches_java_layout() {
        let a = Assignment {
            error: 0,
            leader: "L".into(),
            leader_url: "http://l".into(),
            config_offset: 7,
            assigned: work(&["c"], &[("c", 0), ("c", 2), ("b", 5)]),
            revoked: work(&[], &[("d", 1)]),
            delay_ms: 500,
            owned: None,
        };
        #[rustfmt::skip]
        let expected: Vec<u8> = vec![
            0, 1,                               // version 1
            0, 0,                               // error
            0, 1, b'L',                         // leader
            0, 8, b'h', b't', b't', b'p', b':', b'/', b'/', b'l', // leader_url
            0, 0, 0, 0, 0, 0, 0, 7,             // config_offset
            0, 0, 0, 2,                         // assignment: 2 connectors
            0, 1, b'b', 0, 0, 0, 1, 0, 0, 0, 5, //   b: [5]
            0, 1, b'c', 0, 0, 0, 3,             //   c: [-1, 0, 2]
            0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2,
            0, 0, 0, 1,                         // revoked: 1 connector
            0, 1, b'd', 0, 0, 0, 1, 0, 0, 0, 1, //   d: [1]
            0, 0, 0x01, 0xf4,                   // delay 500
        ];
        assert_eq!(encode_assignment(&a).as_ref(), expected.as_slice());
        assert_eq!(decode_assignment(&expected).unwrap(), a);
    }

    #[test]
    fn metadata_matches_java_layout() {
        let null_allocation = Raw::default()
            .i16(1)
            .str("http://w:8083/")
            .i64(12)
            .i32(-1)
            .0;
        let m = MemberMetadata {
            url: "http://w:8083/".into(),
            config_offset: 12,
            owned: None,
        };
        assert_eq!(encode_metadata(&m).as_ref(), null_allocation.as_slice());
        assert_eq!(decode_metadata(&null_allocation).unwrap(), m);

        let allocation = Raw::default()
            .i16(1)
            .i16(0)
            .str("")
            .str("")
            .i64(12)
            .i32(1)
            .str("x")
            .i32(2)
            .i32(-1)
            .i32(4)
            .i32(0)
            .i32(0)
            .0;
        let with_allocation = Raw::default()
            .i16(1)
            .str("http://w:8083/")
            .i64(12)
            .i32(allocation.len() as i32)
            .bytes(&allocation)
            .0;
        let m = MemberMetadata {
            owned: Some(work(&["x"], &[("x", 4)])),
            ..m
        };
        assert_eq!(encode_metadata(&m).as_ref(), with_allocation.as_slice());
        assert_eq!(decode_metadata(&with_allocation).unwrap(), m);
    }

    #[test]
    fn decodes_allocation_written_by_a_java_worker() {
        // A Kafka Connect worker embeds its last assignment, leader and
        // revocations included; only the assignment part is owned.
        let allocation = Raw::default()
            .i16(1)
            .i16(0)
            .str("leader-id")
            .str("http://leader/")
            .i64(3)
            .i32(1)
            .str("x")
            .i32(1)
            .i32(2)
            .i32(1)
            .str("y")
            .i32(1)
            .i32(-1)
            .i32(1000)
            .0;
        let b = Raw::default()
            .i16(1)
            .str("u")
            .i64(3)
            .i32(allocation.len() as i32)
            .bytes(&allocation)
            .0;
        let m = decode_metadata(&b).unwrap();
        assert_eq!(m.owned, Some(work(&[], &[("x", 2)])));
    }

    #[test]
    fn decodes_version_0_and_2_metadata() {
        let v0 = Raw::default().i16(0).str("http://old/").i64(5).0;
        assert_eq!(
            decode_metadata(&v0).unwrap(),
            MemberMetadata {
                url: "http://old/".into(),
                config_offset: 5,
                owned: None,
            }
        );

        let m = MemberMetadata {
            url: "http://new/".into(),
            config_offset: 8,
            owned: Some(work(&["a"], &[])),
        };
        let mut v2 = encode_metadata(&m).to_vec();
        v2[1] = 2;
        assert_eq!(decode_metadata(&v2).unwrap(), m);
    }

    #[test]
    fn decodes_version_0_assignment() {
        let v0 = Raw::default()
            .i16(0)
            .i16(0)
            .str("l")
            .str("http://l/")
            .i64(4)
            .i32(1)
            .str("a")
            .i32(2)
            .i32(-1)
            .i32(0)
            .0;
        assert_eq!(
            decode_assignment(&v0).unwrap(),
            Assignment {
                error: 0,
                leader: "l".into(),
                leader_url: "http://l/".into(),
                config_offset: 4,
                assigned: work(&["a"], &[("a", 0)]),
                revoked: Work::default(),
                delay_ms: 0,
                owned: None,
            }
        );
    }

    #[test]
    fn null_connector_arrays_decode_as_empty() {
        let b = Raw::default()
            .i16(1)
            .i16(0)
            .str("l")
            .str("u")
            .i64(0)
            .i32(-1)
            .i32(-1)
            .i32(0)
            .0;
        let a = decode_assignment(&b).unwrap();
        assert!(a.assigned.is_empty() && a.revoked.is_empty());
    }

    #[test]
    fn owned_extension_round_trips_after_the_java_fields() {
        let plain = sample_assignment();
        let a = Assignment {
            owned: Some(work(&["orders"], &[("orders", 0), ("users", 2)])),
            ..plain.clone()
        };
        let bytes = encode_assignment(&a);
        let java = encode_assignment(&plain);
        // Kafka Connect's fields come first, unchanged; a reader that stops
        // after `delay` sees the plain assignment.
        assert_eq!(&bytes[..java.len()], java.as_ref());
        #[rustfmt::skip]
        let tail: Vec<u8> = vec![
            b'S', b'L', b'U', b'1',
            0, 0, 0, 2,                                    // 2 connectors
            0, 6, b'o', b'r', b'd', b'e', b'r', b's',      //   orders: [-1, 0]
            0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
            0, 5, b'u', b's', b'e', b'r', b's',            //   users: [2]
            0, 0, 0, 1, 0, 0, 0, 2,
        ];
        assert_eq!(&bytes[java.len()..], tail.as_slice());
        assert_eq!(decode_assignment(&bytes).unwrap(), a);
        // A null array is an error, not "run nothing".
        let mut null = java.to_vec();
        null.extend_from_slice(OWNED_MARKER);
        null.extend_from_slice(&(-1i32).to_be_bytes());
        let e = decode_assignment(&null).unwrap_err();
        assert!(e.message.starts_with("owned"), "{e}");
        // Cut inside the extension: an error naming it.
        for len in java.len() + OWNED_MARKER.len()..bytes.len() {
            let e = decode_assignment(&bytes[..len]).unwrap_err();
            assert!(e.message.starts_with("owned"), "length {len}: {e}");
        }
    }

    #[test]
    fn ignores_trailing_bytes() {
        let a = sample_assignment();
        let mut b = encode_assignment(&a).to_vec();
        b.extend_from_slice(&[1, 2, 3]);
        assert_eq!(decode_assignment(&b).unwrap(), a);
    }

    #[test]
    fn truncated_input_is_an_error_at_every_length() {
        let m = encode_metadata(&MemberMetadata {
            url: "http://w1:8083/".into(),
            config_offset: 17,
            owned: Some(work(&["a", "b"], &[("a", 0), ("b", 1)])),
        });
        for len in 0..m.len() {
            let e = decode_metadata(&m[..len]).unwrap_err();
            assert_eq!(e.what, METADATA, "length {len}");
        }
        let a = encode_assignment(&sample_assignment());
        for len in 0..a.len() {
            let e = decode_assignment(&a[..len]).unwrap_err();
            assert_eq!(e.what, ASSIGNMENT, "length {len}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let b = Raw::default().i16(1).i16(12).bytes(b"htt").0;
        assert_eq!(
            decode_metadata(&b).unwrap_err().to_string(),
            "invalid member metadata: url: need 12 bytes, have 3"
        );

        let b = Raw::default()
            .i16(1)
            .str("u")
            .i64(0)
            .i32(10)
            .bytes(&[0, 1])
            .0;
        assert_eq!(
            decode_metadata(&b).unwrap_err().to_string(),
            "invalid member metadata: allocation: need 10 bytes, have 2"
        );

        let a = encode_assignment(&sample_assignment());
        // Cut inside the second task id of the first assigned connector.
        let header = 2 + 2 + (2 + 12) + (2 + 21) + 8 + 4;
        let cut = header + (2 + 6) + 4 + 4 + 2;
        assert_eq!(
            decode_assignment(&a[..cut]).unwrap_err().to_string(),
            "invalid assignment: assignment[0].tasks[1]: need 4 bytes, have 2"
        );

        let allocation = Raw::default()
            .i16(1)
            .i16(0)
            .str("")
            .str("")
            .i64(0)
            .i32(1)
            .str("a")
            .i32(1)
            .0;
        let b = Raw::default()
            .i16(1)
            .str("u")
            .i64(0)
            .i32(allocation.len() as i32)
            .bytes(&allocation)
            .0;
        assert_eq!(
            decode_metadata(&b).unwrap_err().to_string(),
            "invalid member metadata: allocation: assignment[0].tasks[0]: need 4 bytes, have 0"
        );
    }

    #[test]
    fn negative_lengths_are_errors() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                Raw::default().i16(1).i16(-1).0,
                "invalid member metadata: url: negative length -1",
            ),
            (
                Raw::default().i16(1).str("u").i64(0).i32(-2).0,
                "invalid member metadata: allocation: negative length -2",
            ),
            (
                Raw::default()
                    .i16(1)
                    .i16(0)
                    .str("l")
                    .str("u")
                    .i64(0)
                    .i32(-2)
                    .0,
                "invalid assignment: assignment: negative count -2",
            ),
            (
                Raw::default()
                    .i16(1)
                    .i16(0)
                    .str("l")
                    .str("u")
                    .i64(0)
                    .i32(0)
                    .i32(1)
                    .str("a")
                    .i32(-1)
                    .0,
                "invalid assignment: revoked[0].tasks: negative count -1",
            ),
            (
                Raw::default()
                    .i16(1)
                    .i16(0)
                    .str("l")
                    .str("u")
                    .i64(0)
                    .i32(1)
                    .i16(-3)
                    .0,
                "invalid assignment: assignment[0].connector: negative length -3",
            ),
            (
                Raw::default().i16(-1).0,
                "invalid assignment: version: unsupported version -1",
            ),
        ];
        for (b, expected) in cases {
            let e = if expected.contains("member metadata") {
                decode_metadata(&b).unwrap_err()
            } else {
                decode_assignment(&b).unwrap_err()
            };
            assert_eq!(e.to_string(), expected);
        }
    }

    #[test]
    fn task_ids_below_minus_one_are_rejected() {
        let b = Raw::default()
            .i16(1)
            .i16(0)
            .str("l")
            .str("u")
            .i64(0)
            .i32(1)
            .str("a")
            .i32(2)
            .i32(0)
            .i32(-2)
            .i32(0)
            .i32(0)
            .0;
        assert_eq!(
            decode_assignment(&b).unwrap_err().to_string(),
            "invalid assignment: assignment[0].tasks[1]: task id -2 (below -1)"
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let b = Raw::default().i16(1).i16(2).bytes(&[0xc3, 0x28]).0;
        let e = decode_metadata(&b).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid member metadata: url: not UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn over_long_strings_are_cut_at_a_character_boundary() {
        // 'é' is two bytes: 16,384 of them are 32,768 bytes, one too many.
        let url = "é".repeat(16_384);
        let m = MemberMetadata {
            url,
            config_offset: 0,
            owned: None,
        };
        let decoded = decode_metadata(&encode_metadata(&m)).unwrap();
        assert_eq!(decoded.url, "é".repeat(16_383));
    }

    #[test]
    fn tasks_beyond_int32_are_left_out() {
        let a = Assignment {
            assigned: work(&[], &[("a", 1), ("a", MAX_TASK + 1)]),
            ..Assignment::default()
        };
        let decoded = decode_assignment(&encode_assignment(&a)).unwrap();
        assert_eq!(decoded.assigned, work(&[], &[("a", 1)]));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let valid = [
            encode_assignment(&sample_assignment()).to_vec(),
            encode_metadata(&MemberMetadata {
                url: "http://w/".into(),
                config_offset: 1,
                owned: Some(work(&["a"], &[("a", 0)])),
            })
            .to_vec(),
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5_000 {
            // Random bytes, and valid encodings with a few bytes changed.
            let len = (next() % 64) as usize;
            let random: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = decode_metadata(&random);
            let _ = decode_assignment(&random);
            for v in &valid {
                let mut b = v.clone();
                for _ in 0..3 {
                    let i = (next() as usize) % b.len();
                    b[i] = next() as u8;
                }
                let _ = decode_metadata(&b);
                let _ = decode_assignment(&b);
            }
        }
    }
}
