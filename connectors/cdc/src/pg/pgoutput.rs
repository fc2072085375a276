//! The `pgoutput` logical decoding protocol (version 1, values in binary
//! when the `binary` option is on): one message per WAL data payload.

use bytes::{Buf, Bytes};

use crate::error::CdcError;
use crate::pg::lsn::Lsn;

/// A column of a relation as the stream describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelColumn {
    /// Part of the replica identity (the key that `before` carries).
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
}

/// A table's description, sent before its first change in a session and
/// again after it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub id: u32,
    pub schema: String,
    pub name: String,
    /// `d` default, `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    pub columns: Vec<RelColumn>,
}

/// One column value of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datum {
    Null,
    /// A TOASTed value the update did not change: the stream leaves it out.
    Unchanged,
    Text(Bytes),
    Binary(Bytes),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Begin {
        /// The LSN of the commit record.
        final_lsn: Lsn,
        /// µs since 2000-01-01.
        commit_ts: i64,
        xid: u32,
    },
    Commit {
        commit_lsn: Lsn,
        /// The end of the commit record: confirming it frees the
        /// transaction.
        end_lsn: Lsn,
        commit_ts: i64,
    },
    Relation(Relation),
    Insert {
        rel: u32,
        new: Vec<Datum>,
    },
    Update {
        rel: u32,
        /// `K`: the old key (replica identity changed), `O`: the whole old
        /// row (REPLICA IDENTITY FULL); `None`: neither was sent.
        old: Option<(u8, Vec<Datum>)>,
        new: Vec<Datum>,
    },
    Delete {
        rel: u32,
        old: (u8, Vec<Datum>),
    },
    Truncate {
        rels: Vec<u32>,
        cascade: bool,
        restart_identity: bool,
    },
    /// Types, origins and logical messages: not turned into records.
    Other(u8),
}

struct Cur {
    b: Bytes,
}

impl Cur {
    fn short(what: &str) -> CdcError {
        CdcError::Protocol(format!("pgoutput message too short ({what})"))
    }
    fn u8(&mut self, what: &str) -> Result<u8, CdcError> {
        if self.b.remaining() < 1 {
            return Err(Self::short(what));
        }
        Ok(self.b.get_u8())
    }
    fn i16(&mut self, what: &str) -> Result<i16, CdcError> {
        if self.b.remaining() < 2 {
            return Err(Self::short(what));
        }
        Ok(self.b.get_i16())
    }
    fn u32(&mut self, what: &str) -> Result<u32, CdcError> {
        if self.b.remaining() < 4 {
            return Err(Self::short(what));
        }
        Ok(self.b.get_u32())
    }
    fn i32(&mut self, what: &str) -> Result<i32, CdcError> {
        if self.b.remaining() < 4 {
            return Err(Self::short(what));
        }
        Ok(self.b.get_i32())
    }
    fn u64(&mut self, what: &str) -> Result<u64, CdcError> {
        if self.b.remaining() < 8 {
            return Err(Self::short(what));
        }
        Ok(self.b.get_u64())
    }
    fn cstr(&mut self, what: &str) -> Result<String, CdcError> {
        let end = self
            .b
            .iter()
            .position(|&c| c == 0)
            .ok_or_else(|| Self::short(what))?;
        let s = String::from_utf8(self.b.split_to(end).to_vec())
            .map_err(|_| CdcError::Protocol(format!("{what} is not UTF-8")))?;
        self.b.advance(1);
        Ok(s)
    }
    fn bytes(&mut self, n: usize, what: &str) -> Result<Bytes, CdcError> {
        if self.b.remaining() < n {
            return Err(Self::short(what));
        }
        Ok(self.b.split_to(n))
    }
    fn tuple(&mut self) -> Result<Vec<Datum>, CdcError> {
        let n = self.i16("tuple column count")?;
        let mut out = Vec::with_capacity(n.max(0) as usize);
        for _ in 0..n {
            out.push(match self.u8("tuple column kind")? {
                b'n' => Datum::Null,
                b'u' => Datum::Unchanged,
                k @ (b't' | b'b') => {
                    let len = self.i32("value length")?;
                    let len = usize::try_from(len)
                        .map_err(|_| CdcError::Protocol("negative value length".into()))?;
                    let v = self.bytes(len, "value")?;
                    if k == b't' {
                        Datum::Text(v)
                    } else {
                        Datum::Binary(v)
                    }
                }
                k => {
                    return Err(CdcError::Protocol(format!(
                        "unknown tuple column kind '{}'",
                        k as char
                    )));
                }
            });
        }
        Ok(out)
    }
}

/// Decodes one pgoutput message.
pub fn parse(data: Bytes) -> Result<Message, CdcError> {
    let mut c = Cur { b: data };
    let tag = c.u8("tag")?;
    Ok(match tag {
        b'B' => Message::Begin {
            final_lsn: Lsn(c.u64("begin lsn")?),
            commit_ts: c.u64("begin timestamp")? as i64,
            xid: c.u32("xid")?,
        },
        b'C' => {
            let _flags = c.u8("commit flags")?;
            Message::Commit {
                commit_lsn: Lsn(c.u64("commit lsn")?),
                end_lsn: Lsn(c.u64("commit end lsn")?),
                commit_ts: c.u64("commit timestamp")? as i64,
            }
        }
        b'R' => {
            let id = c.u32("relation id")?;
            let schema = c.cstr("namespace")?;
            let name = c.cstr("relation name")?;
            let replica_identity = c.u8("replica identity")?;
            let n = c.i16("column count")?;
            let mut columns = Vec::with_capacity(n.max(0) as usize);
            for _ in 0..n {
                let flags = c.u8("column flags")?;
                columns.push(RelColumn {
                    key: flags & 1 == 1,
                    name: c.cstr("column name")?,
                    type_oid: c.u32("column type")?,
                    typmod: c.i32("column typmod")?,
                });
            }
            Message::Relation(Relation {
                id,
                schema,
                name,
                replica_identity,
                columns,
            })
        }
        b'I' => {
            let rel = c.u32("relation id")?;
            match c.u8("insert tuple kind")? {
                b'N' => {}
                k => {
                    return Err(CdcError::Protocol(format!(
                        "insert with tuple kind '{}'",
                        k as char
                    )));
                }
            }
            Message::Insert {
                rel,
                new: c.tuple()?,
            }
        }
        b'U' => {
            let rel = c.u32("relation id")?;
            let mut kind = c.u8("update tuple kind")?;
            let mut old = None;
            if kind == b'K' || kind == b'O' {
                old = Some((kind, c.tuple()?));
                kind = c.u8("update new tuple kind")?;
            }
            if kind != b'N' {
                return Err(CdcError::Protocol(format!(
                    "update with tuple kind '{}'",
                    kind as char
                )));
            }
            Message::Update {
                rel,
                old,
                new: c.tuple()?,
            }
        }
        b'D' => {
            let rel = c.u32("relation id")?;
            let kind = c.u8("delete tuple kind")?;
            if kind != b'K' && kind != b'O' {
                return Err(CdcError::Protocol(format!(
                    "delete with tuple kind '{}'",
                    kind as char
                )));
            }
            Message::Delete {
                rel,
                old: (kind, c.tuple()?),
            }
        }
        b'T' => {
            let n = c.u32("truncate count")?;
            let opts = c.u8("truncate options")?;
            let mut rels = Vec::with_capacity(n.min(1024) as usize);
            for _ in 0..n {
                rels.push(c.u32("truncated relation")?);
            }
            Message::Truncate {
                rels,
                cascade: opts & 1 != 0,
                restart_identity: opts & 2 != 0,
            }
        }
        other => Message::Other(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{BufMut, BytesMut};

    fn relation() -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'R');
        b.put_u32(16384);
        b.put_slice(b"public\0users\0");
        b.put_u8(b'd');
        b.put_i16(2);
        b.put_u8(1);
        b.put_slice(b"id\0");
        b.put_u32(23);
        b.put_i32(-1);
        b.put_u8(0);
        b.put_slice(b"name\0");
        b.put_u32(25);
        b.put_i32(-1);
        b.freeze()
    }

    #[test]
    fn relations_parse() {
        let Message::Relation(r) = parse(relation()).unwrap() else {
            panic!("not a relation")
        };
        assert_eq!(r.schema, "public");
        assert_eq!(r.name, "users");
        assert_eq!(r.columns.len(), 2);
        assert!(r.columns[0].key && !r.columns[1].key);
        assert_eq!(r.columns[1].type_oid, 25);
    }

    #[test]
    fn changes_parse() {
        let mut b = BytesMut::new();
        b.put_u8(b'U');
        b.put_u32(7);
        b.put_u8(b'K');
        b.put_i16(1);
        b.put_u8(b'b');
        b.put_i32(4);
        b.put_i32(5);
        b.put_u8(b'N');
        b.put_i16(3);
        b.put_u8(b'b');
        b.put_i32(4);
        b.put_i32(6);
        b.put_u8(b'u');
        b.put_u8(b'n');
        assert_eq!(
            parse(b.freeze()).unwrap(),
            Message::Update {
                rel: 7,
                old: Some((b'K', vec![Datum::Binary(Bytes::from_static(&[0, 0, 0, 5]))])),
                new: vec![
                    Datum::Binary(Bytes::from_static(&[0, 0, 0, 6])),
                    Datum::Unchanged,
                    Datum::Null
                ],
            }
        );
        let mut b = BytesMut::new();
        b.put_u8(b'T');
        b.put_u32(2);
        b.put_u8(3);
        b.put_u32(1);
        b.put_u32(2);
        assert_eq!(
            parse(b.freeze()).unwrap(),
            Message::Truncate {
                rels: vec![1, 2],
                cascade: true,
                restart_identity: true
            }
        );
    }

    #[test]
    fn truncated_messages_are_errors() {
        let r = relation();
        for cut in [1, 5, 12, 20, r.len() - 1] {
            assert!(parse(r.slice(..cut)).is_err(), "cut at {cut}");
        }
        let mut b = BytesMut::new();
        b.put_u8(b'I');
        b.put_u32(1);
        b.put_u8(b'N');
        b.put_i16(1);
        b.put_u8(b'b');
        b.put_i32(100);
        assert!(parse(b.freeze()).is_err());
    }
}
