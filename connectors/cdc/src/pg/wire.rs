//! A PostgreSQL replication connection (`replication=database`), which
//! `tokio-postgres` does not offer: startup and authentication (trust,
//! cleartext, MD5, SCRAM-SHA-256), simple queries for the replication
//! commands (`IDENTIFY_SYSTEM`, `CREATE_REPLICATION_SLOT`, ...), and the
//! copy-both stream of `START_REPLICATION`: WAL data and keepalives in,
//! standby status updates out.
//!
//! Message framing is ours (a tag byte, a length, a body); the frontend
//! messages and the authentication exchanges come from `postgres-protocol`.

use bytes::{Buf, BufMut, BytesMut};
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::error::CdcError;
use crate::pg::lsn::Lsn;

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
}

/// One backend message: its tag and body.
#[derive(Debug)]
pub struct Msg {
    pub tag: u8,
    pub body: BytesMut,
}

/// The server's error or notice fields that matter for a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerError {
    pub severity: String,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.code, self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "; hint: {h}")?;
        }
        Ok(())
    }
}

/// Parses an ErrorResponse/NoticeResponse body.
pub fn parse_error(mut b: &[u8]) -> ServerError {
    let mut e = ServerError::default();
    while let Some((&kind, rest)) = b.split_first() {
        if kind == 0 {
            break;
        }
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        let text = String::from_utf8_lossy(&rest[..end]).into_owned();
        match kind {
            b'V' => e.severity = text,
            b'S' if e.severity.is_empty() => e.severity = text,
            b'C' => e.code = text,
            b'M' => e.message = text,
            b'D' => e.detail = Some(text),
            b'H' => e.hint = Some(text),
            _ => {}
        }
        b = rest.get(end + 1..).unwrap_or_default();
    }
    e
}

/// The largest message accepted (PostgreSQL's own limit is 1 GiB per
/// value).
const MAX_MESSAGE: usize = (1 << 30) + 64 * 1024;

/// Reads framed messages from the server.
#[derive(Debug)]
pub struct Reader {
    sock: OwnedReadHalf,
    buf: BytesMut,
}

impl Reader {
    pub async fn next(&mut self) -> Result<Msg, CdcError> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]])
                    as usize;
                if !(4..=MAX_MESSAGE).contains(&len) {
                    return Err(CdcError::Protocol(format!("bad message length {len}")));
                }
                if self.buf.len() > len {
                    let mut m = self.buf.split_to(len + 1);
                    let tag = m[0];
                    m.advance(5);
                    return Ok(Msg { tag, body: m });
                }
                self.buf.reserve(len + 1 - self.buf.len());
            } else {
                self.buf.reserve(64 * 1024);
            }
            let n = self
                .sock
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| CdcError::Io(format!("reading from PostgreSQL: {e}")))?;
            if n == 0 {
                return Err(CdcError::Io("PostgreSQL closed the connection".into()));
            }
        }
    }
}

/// Writes messages to the server.
#[derive(Debug)]
pub struct Writer {
    sock: OwnedWriteHalf,
    buf: BytesMut,
}

impl Writer {
    async fn flush(&mut self) -> Result<(), CdcError> {
        let r = self.sock.write_all(&self.buf).await;
        self.buf.clear();
        r.map_err(|e| CdcError::Io(format!("writing to PostgreSQL: {e}")))
    }

    /// A standby status update: everything up to `flushed` is safe and the
    /// slot may forget it.
    pub async fn standby_status(&mut self, flushed: Lsn, reply: bool) -> Result<(), CdcError> {
        let mut body = BytesMut::with_capacity(34);
        body.put_u8(b'r');
        body.put_u64(flushed.0); // written
        body.put_u64(flushed.0); // flushed
        body.put_u64(flushed.0); // applied
        body.put_i64(pg_now_micros());
        body.put_u8(u8::from(reply));
        frontend::CopyData::new(body)
            .map_err(|e| CdcError::Protocol(e.to_string()))?
            .write(&mut self.buf);
        self.flush().await
    }

    /// Ends the copy-both stream.
    pub async fn copy_done(&mut self) -> Result<(), CdcError> {
        frontend::copy_done(&mut self.buf);
        self.flush().await
    }
}

/// µs since 2000-01-01, PostgreSQL's clock.
pub fn pg_now_micros() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    now - PG_EPOCH_UNIX_MICROS
}

/// 2000-01-01 in µs since 1970-01-01.
pub const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// A connection in replication mode.
#[derive(Debug)]
pub struct ReplConn {
    pub reader: Reader,
    pub writer: Writer,
}

/// Rows of a simple query, as text.
pub type TextRows = Vec<Vec<Option<String>>>;

impl ReplConn {
    pub async fn connect(info: &ConnInfo) -> Result<Self, CdcError> {
        let sock = TcpStream::connect((info.host.as_str(), info.port))
            .await
            .map_err(|e| {
                CdcError::Connect(format!(
                    "cannot reach PostgreSQL at {}:{}: {e}",
                    info.host, info.port
                ))
            })?;
        let _ = sock.set_nodelay(true);
        let (r, w) = sock.into_split();
        let mut c = ReplConn {
            reader: Reader {
                sock: r,
                buf: BytesMut::new(),
            },
            writer: Writer {
                sock: w,
                buf: BytesMut::new(),
            },
        };
        let params = [
            ("user", info.user.as_str()),
            ("database", info.dbname.as_str()),
            ("replication", "database"),
            ("application_name", "sluice-cdc"),
            ("client_encoding", "UTF8"),
        ];
        frontend::startup_message(params.iter().copied(), &mut c.writer.buf)
            .map_err(|e| CdcError::Protocol(e.to_string()))?;
        c.writer.flush().await?;
        c.authenticate(info).await?;
        c.until_ready().await?;
        Ok(c)
    }

    async fn authenticate(&mut self, info: &ConnInfo) -> Result<(), CdcError> {
        let password = || {
            info.password.clone().ok_or_else(|| {
                CdcError::Connect(format!(
                    "PostgreSQL asks a password for user '{}': set database.password",
                    info.user
                ))
            })
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            let m = self.reader.next().await?;
            match m.tag {
                b'R' => {
                    let mut b = &m.body[..];
                    if b.len() < 4 {
                        return Err(CdcError::Protocol("short authentication message".into()));
                    }
                    let code = b.get_i32();
                    match code {
                        0 => return Ok(()),
                        3 => {
                            frontend::password_message(
                                password()?.as_bytes(),
                                &mut self.writer.buf,
                            )
                            .map_err(|e| CdcError::Protocol(e.to_string()))?;
                        }
                        5 => {
                            let salt: [u8; 4] = b
                                .get(..4)
                                .and_then(|s| s.try_into().ok())
                                .ok_or_else(|| CdcError::Protocol("short MD5 salt".into()))?;
                            let h = md5_hash(info.user.as_bytes(), password()?.as_bytes(), salt);
                            frontend::password_message(h.as_bytes(), &mut self.writer.buf)
                                .map_err(|e| CdcError::Protocol(e.to_string()))?;
                        }
                        10 => {
                            let mechs = String::from_utf8_lossy(b);
                            if !mechs.split('\0').any(|x| x == SCRAM_SHA_256) {
                                return Err(CdcError::Connect(format!(
                                    "PostgreSQL offers SASL mechanisms {mechs:?}; only {SCRAM_SHA_256} is supported"
                                )));
                            }
                            let s = ScramSha256::new(
                                password()?.as_bytes(),
                                ChannelBinding::unsupported(),
                            );
                            frontend::sasl_initial_response(
                                SCRAM_SHA_256,
                                s.message(),
                                &mut self.writer.buf,
                            )
                            .map_err(|e| CdcError::Protocol(e.to_string()))?;
                            scram = Some(s);
                        }
                        11 => {
                            let s = scram.as_mut().ok_or_else(|| {
                                CdcError::Protocol("SASL continue without a start".into())
                            })?;
                            s.update(b)
                                .map_err(|e| CdcError::Connect(format!("SCRAM: {e}")))?;
                            frontend::sasl_response(s.message(), &mut self.writer.buf)
                                .map_err(|e| CdcError::Protocol(e.to_string()))?;
                        }
                        12 => {
                            let s = scram.as_mut().ok_or_else(|| {
                                CdcError::Protocol("SASL final without a start".into())
                            })?;
                            s.finish(b)
                                .map_err(|e| CdcError::Connect(format!("SCRAM: {e}")))?;
                            continue;
                        }
                        other => {
                            return Err(CdcError::Connect(format!(
                                "unsupported PostgreSQL authentication method {other}"
                            )));
                        }
                    }
                    self.writer.flush().await?;
                }
                b'E' => {
                    return Err(CdcError::Connect(format!(
                        "PostgreSQL refused the replication connection as '{}' to database '{}': {}",
                        info.user,
                        info.dbname,
                        parse_error(&m.body)
                    )));
                }
                b'N' => {}
                t => {
                    return Err(CdcError::Protocol(format!(
                        "unexpected message '{}' during authentication",
                        t as char
                    )));
                }
            }
        }
    }

    async fn until_ready(&mut self) -> Result<(), CdcError> {
        let mut err = None;
        loop {
            let m = self.reader.next().await?;
            match m.tag {
                b'Z' => return err.map_or(Ok(()), Err),
                b'E' => err = Some(CdcError::Server(parse_error(&m.body))),
                _ => {}
            }
        }
    }

    /// Runs one command and returns its rows as text.
    pub async fn simple_query(&mut self, sql: &str) -> Result<TextRows, CdcError> {
        frontend::query(sql, &mut self.writer.buf)
            .map_err(|e| CdcError::Protocol(e.to_string()))?;
        self.writer.flush().await?;
        let mut rows = Vec::new();
        let mut err = None;
        loop {
            let m = self.reader.next().await?;
            match m.tag {
                b'D' => rows.push(parse_data_row(&m.body)?),
                b'E' => err = Some(CdcError::Server(parse_error(&m.body))),
                b'Z' => return err.map_or(Ok(rows), Err),
                _ => {}
            }
        }
    }

    /// Sends `START_REPLICATION` and waits for the copy-both stream.
    pub async fn start_replication(&mut self, sql: &str) -> Result<(), CdcError> {
        frontend::query(sql, &mut self.writer.buf)
            .map_err(|e| CdcError::Protocol(e.to_string()))?;
        self.writer.flush().await?;
        loop {
            let m = self.reader.next().await?;
            match m.tag {
                b'W' => return Ok(()),
                b'E' => {
                    let e = CdcError::Server(parse_error(&m.body));
                    // The server follows an error with ReadyForQuery.
                    let _ = self.until_ready().await;
                    return Err(e);
                }
                _ => {}
            }
        }
    }
}

fn parse_data_row(b: &[u8]) -> Result<Vec<Option<String>>, CdcError> {
    let short = || CdcError::Protocol("short data row".into());
    let mut b = b;
    if b.len() < 2 {
        return Err(short());
    }
    let n = b.get_i16();
    let mut out = Vec::with_capacity(n.max(0) as usize);
    for _ in 0..n {
        if b.len() < 4 {
            return Err(short());
        }
        let len = b.get_i32();
        if len < 0 {
            out.push(None);
            continue;
        }
        let len = len as usize;
        let v = b.get(..len).ok_or_else(short)?;
        out.push(Some(String::from_utf8_lossy(v).into_owned()));
        b.advance(len);
    }
    Ok(out)
}

/// One message of the replication stream.
#[derive(Debug, PartialEq)]
pub enum ReplMsg {
    /// WAL data: where it starts, the server's WAL end, and the payload
    /// (one pgoutput message).
    XLogData {
        start: Lsn,
        end: Lsn,
        data: bytes::Bytes,
    },
    /// The server is alive and has sent WAL up to `end`.
    Keepalive { end: Lsn, reply: bool },
}

/// Decodes a CopyData payload of the replication stream.
pub fn parse_copy_data(mut body: BytesMut) -> Result<ReplMsg, CdcError> {
    let short = || CdcError::Protocol("short replication message".into());
    if body.is_empty() {
        return Err(short());
    }
    match body[0] {
        b'w' => {
            if body.len() < 25 {
                return Err(short());
            }
            body.advance(1);
            let start = Lsn(body.get_u64());
            let end = Lsn(body.get_u64());
            let _send_time = body.get_i64();
            Ok(ReplMsg::XLogData {
                start,
                end,
                data: body.freeze(),
            })
        }
        b'k' => {
            if body.len() < 18 {
                return Err(short());
            }
            body.advance(1);
            let end = Lsn(body.get_u64());
            let _send_time = body.get_i64();
            let reply = body.get_u8() != 0;
            Ok(ReplMsg::Keepalive { end, reply })
        }
        t => Err(CdcError::Protocol(format!(
            "unknown replication message '{}'",
            t as char
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_parse() {
        let body = b"SERROR\0VERROR\0C42704\0Mreplication slot \"x\" does not exist\0\0";
        let e = parse_error(body);
        assert_eq!(e.code, "42704");
        assert_eq!(e.severity, "ERROR");
        assert_eq!(e.message, "replication slot \"x\" does not exist");
    }

    #[test]
    fn copy_data_parses() {
        let mut b = BytesMut::new();
        b.put_u8(b'w');
        b.put_u64(0x10);
        b.put_u64(0x20);
        b.put_i64(0);
        b.put_slice(b"B...");
        assert_eq!(
            parse_copy_data(b).unwrap(),
            ReplMsg::XLogData {
                start: Lsn(0x10),
                end: Lsn(0x20),
                data: bytes::Bytes::from_static(b"B...")
            }
        );
        let mut b = BytesMut::new();
        b.put_u8(b'k');
        b.put_u64(0x30);
        b.put_i64(0);
        b.put_u8(1);
        assert_eq!(
            parse_copy_data(b).unwrap(),
            ReplMsg::Keepalive {
                end: Lsn(0x30),
                reply: true
            }
        );
        assert!(parse_copy_data(BytesMut::from(&b"w12"[..])).is_err());
    }

    #[test]
    fn data_rows_parse() {
        let mut b = BytesMut::new();
        b.put_i16(2);
        b.put_i32(3);
        b.put_slice(b"abc");
        b.put_i32(-1);
        assert_eq!(
            parse_data_row(&b).unwrap(),
            vec![Some("abc".to_string()), None]
        );
        assert!(parse_data_row(&b[..5]).is_err());
    }
}
