//! Group membership over the Kafka protocol: FindCoordinator, JoinGroup,
//! SyncGroup, Heartbeat and LeaveGroup, spoken directly over TCP.
//!
//! One [`GroupClient`] is one member of one group. It keeps a single
//! connection to the group coordinator, opened lazily and dropped on any
//! connection error, timeout or undecodable answer (the next call
//! reconnects). Requests are never pipelined: each call sends one request
//! and waits for its answer.
//!
//! What the test broker (tansu 0.6) does differently from Kafka, seen in
//! `tests/client.rs`:
//! - JoinGroup answers at once instead of waiting for the other members;
//!   a new member bumps the generation and the others learn of it from
//!   their next Heartbeat (REBALANCE_IN_PROGRESS). A follower's JoinGroup
//!   is held about 3 s so the leader can go first; a follower's SyncGroup
//!   that arrives before the leader's gets REBALANCE_IN_PROGRESS.
//! - Only Heartbeat keeps a member alive: JoinGroup and SyncGroup do not.
//! - A member of a stable group that joins again with the same member id
//!   and metadata gets the same generation back and nobody rebalances;
//!   the leader's SyncGroup then returns the stored assignment and ignores
//!   new ones. Changed metadata, or [`GroupClient::leave`] followed by
//!   [`GroupClient::join`] (a new member id), starts a new generation.
//! - An expired member is dropped without a new generation (the leader may
//!   stay named after an expired member); [`GroupClient::join`] handles it
//!   (see there).

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, RequestHeader, ResponseHeader,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
    SyncGroupRequest, SyncGroupResponse,
};

use crate::sasl::{Mechanism, Sasl, Scram};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use tracing::debug;

/// Kafka error codes the client acts on.
mod code {
    pub(super) const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub(super) const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub(super) const NOT_COORDINATOR: i16 = 16;
    pub(super) const ILLEGAL_GENERATION: i16 = 22;
    pub(super) const UNKNOWN_MEMBER_ID: i16 = 25;
    pub(super) const REBALANCE_IN_PROGRESS: i16 = 27;
    pub(super) const UNSUPPORTED_VERSION: i16 = 35;
    pub(super) const MEMBER_ID_REQUIRED: i16 = 79;
    pub(super) const FENCED_INSTANCE_ID: i16 = 82;
    pub(super) const SASL_AUTHENTICATION_FAILED: i16 = 58;
}

/// The ApiVersions version sent on every new connection (not flexible, so
/// its answer has no tagged fields; every broker since Kafka 2.0 has it).
const API_VERSIONS_VERSION: i16 = 2;

/// The highest version used of each group API. All are the last versions
/// before the flexible encodings: enough for dynamic membership with
/// MEMBER_ID_REQUIRED (JoinGroup v4+).
const MAX_FIND_COORDINATOR: i16 = 2;
const MAX_JOIN_GROUP: i16 = 5;
const MAX_SYNC_GROUP: i16 = 3;
const MAX_HEARTBEAT: i16 = 3;
const MAX_LEAVE_GROUP: i16 = 3;

/// The largest response accepted; group answers are far smaller.
const MAX_FRAME: usize = 32 * 1024 * 1024;

/// The first and the longest pause between retries inside [`GroupClient::join`].
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How often one [`GroupClient::join`] rejoins at once after
/// MEMBER_ID_REQUIRED or UNKNOWN_MEMBER_ID before giving up.
const MAX_IMMEDIATE_RETRIES: u32 = 5;

/// TLS settings for the connections to the brokers
/// (`security.protocol=SSL`).
#[derive(Clone)]
pub struct Tls(pub std::sync::Arc<rustls::ClientConfig>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl PartialEq for Tls {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Tls {}

/// How to reach the group and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// Brokers to ask for the coordinator, each `host:port`.
    pub bootstrap: Vec<String>,
    /// TLS to the brokers; `None`: plaintext.
    pub tls: Option<Tls>,
    /// SASL on every connection (`SASL_PLAINTEXT`, or `SASL_SSL` with
    /// `tls`); `None`: none.
    pub sasl: Option<Sasl>,
    /// The group's id (`group.id`).
    pub group_id: String,
    /// Sent in every request header; the broker prefixes member ids with it.
    pub client_id: String,
    /// The group's protocol type, `connect` for Kafka Connect workers.
    pub protocol_type: String,
    /// A member that does not heartbeat for this long is removed.
    pub session_timeout: Duration,
    /// How long the coordinator waits for members to rejoin.
    pub rebalance_timeout: Duration,
    /// The longest wait for one answer (JoinGroup waits
    /// `rebalance_timeout` on top), and the time [`GroupClient::join`]
    /// keeps retrying while the coordinator is unavailable.
    pub request_timeout: Duration,
}

impl GroupConfig {
    /// A `connect` group with Kafka Connect's default timeouts (session
    /// 10 s, rebalance 60 s, request 40 s).
    pub fn new(bootstrap: Vec<String>, group_id: impl Into<String>) -> Self {
        Self {
            bootstrap,
            tls: None,
            sasl: None,
            group_id: group_id.into(),
            client_id: "sluice".to_string(),
            protocol_type: "connect".to_string(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(40),
        }
    }
}

/// The outcome of a successful JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The generation this member joined.
    pub generation_id: i32,
    /// This member's id.
    pub member_id: String,
    /// The leader's member id.
    pub leader_id: String,
    /// The protocol the coordinator chose.
    pub protocol_name: String,
    /// Every member's id and metadata; only filled for the leader.
    pub members: Vec<(String, Bytes)>,
}

impl Joined {
    /// Whether this member leads the generation (and so computes the
    /// assignment).
    pub fn is_leader(&self) -> bool {
        !self.member_id.is_empty() && self.member_id == self.leader_id
    }
}

/// Why a group call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// The group is rebalancing: rejoin.
    #[error("the group is rebalancing")]
    RebalanceInProgress,
    /// The coordinator does not know this member (or it never joined):
    /// the member id was reset; rejoin.
    #[error("the coordinator does not know this member")]
    UnknownMember,
    /// The generation is not the group's current one: rejoin.
    #[error("the generation is not the group's current one")]
    IllegalGeneration,
    /// Another member joined with this static instance id.
    #[error("this member's instance id was fenced by another member")]
    FencedInstance,
    /// No coordinator could be found or it moved; the next call looks
    /// for it again.
    #[error("the group coordinator is unavailable: {0}")]
    CoordinatorUnavailable(String),
    /// A connection failed; the next call reconnects.
    #[error("connection error: {0}")]
    Io(String),
    /// No answer to this API in time; the connection was dropped.
    #[error("no answer to {0} in time")]
    Timeout(&'static str),
    /// The broker sent bytes that are not a valid answer; the connection
    /// was dropped.
    #[error("invalid answer from the broker: {0}")]
    Protocol(String),
    /// Any other Kafka error code.
    #[error("{api} failed with error {code}: {message}")]
    Kafka {
        api: &'static str,
        code: i16,
        message: String,
    },
}

impl GroupError {
    /// Whether the member has to join again (its generation is over).
    pub fn needs_rejoin(&self) -> bool {
        matches!(
            self,
            Self::RebalanceInProgress
                | Self::UnknownMember
                | Self::IllegalGeneration
                | Self::FencedInstance
        )
    }

    fn kafka(api: &'static str, code: i16, message: Option<&StrBytes>) -> Self {
        let name = ResponseError::try_from_code(code)
            .map(|e| e.to_string())
            .unwrap_or_default();
        let message = match message.map(|m| m.as_str()) {
            Some(m) if !m.is_empty() => format!("{name}: {m}"),
            _ => name,
        };
        Self::Kafka { api, code, message }
    }

    /// Maps an error code of a group API, or `None` for 0.
    fn from_code(api: &'static str, code: i16, message: Option<&StrBytes>) -> Option<Self> {
        Some(match code {
            0 => return None,
            code::REBALANCE_IN_PROGRESS => Self::RebalanceInProgress,
            code::UNKNOWN_MEMBER_ID => Self::UnknownMember,
            code::ILLEGAL_GENERATION => Self::IllegalGeneration,
            code::FENCED_INSTANCE_ID => Self::FencedInstance,
            code::NOT_COORDINATOR
            | code::COORDINATOR_NOT_AVAILABLE
            | code::COORDINATOR_LOAD_IN_PROGRESS => {
                Self::CoordinatorUnavailable(format!("{}", Self::kafka(api, code, message)))
            }
            _ => Self::kafka(api, code, message),
        })
    }

    /// Whether the connection should be dropped after this error.
    fn breaks_connection(&self) -> bool {
        matches!(
            self,
            Self::Io(_) | Self::Timeout(_) | Self::Protocol(_) | Self::CoordinatorUnavailable(_)
        )
    }
}

/// Versions agreed with one broker.
#[derive(Debug, Clone, Copy, Default)]
struct Versions {
    find_coordinator: Option<i16>,
    join_group: Option<i16>,
    sync_group: Option<i16>,
    heartbeat: Option<i16>,
    leave_group: Option<i16>,
}

/// A connection's bytes: TCP, or TLS over it.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + Sync {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + Sync> Io for T {}

/// One open connection to a broker.
struct Conn {
    stream: Box<dyn Io>,
    addr: String,
    versions: Versions,
    next_correlation_id: i32,
    /// When a broker limits SASL sessions (KIP-368,
    /// `connections.max.reauth.ms`): the time to replace this connection
    /// by a newly authenticated one, before the broker closes it.
    reauth_by: Option<Instant>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("addr", &self.addr)
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

/// One member of a group (see the module docs).
#[derive(Debug)]
pub struct GroupClient {
    config: GroupConfig,
    /// The connection to the coordinator, if open. Taken out while a
    /// request is in flight, so a cancelled call drops it.
    conn: Option<Conn>,
    /// `host:port` of the coordinator, once found.
    coordinator: Option<String>,
    member_id: String,
    generation: i32,
    /// The generation a heartbeat answered REBALANCE_IN_PROGRESS for,
    /// until a join gives a newer one.
    rebalance_from: Option<i32>,
}

impl GroupClient {
    /// A client that connects on its first call.
    pub fn new(config: GroupConfig) -> Self {
        Self {
            config,
            conn: None,
            coordinator: None,
            member_id: String::new(),
            generation: -1,
            rebalance_from: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// This member's id, empty before the first join or after a reset.
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The generation last joined, -1 when none.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// JoinGroup with the given (protocol name, metadata) list.
    ///
    /// Finds the coordinator, answers MEMBER_ID_REQUIRED by joining again
    /// at once with the member id the broker gave, and retries with backoff
    /// for up to `request_timeout` while the coordinator is unavailable or
    /// unreachable. UNKNOWN_MEMBER_ID resets the member id and joins anew.
    /// The answer may take up to `rebalance_timeout` (+ `request_timeout`)
    /// while other members join.
    ///
    /// After a heartbeat answered REBALANCE_IN_PROGRESS, the generation
    /// joined is newer than the one the heartbeat was for: a coordinator
    /// that answers with the same generation (tansu does when another
    /// member's session expired, and can then name the expired member as
    /// leader) is made to start one by leaving and joining with a new
    /// member id.
    pub async fn join(&mut self, protocols: &[(String, Bytes)]) -> Result<Joined, GroupError> {
        // Retries of unavailable coordinators stop `request_timeout` after
        // the first failure; the immediate ones are counted.
        let mut retry_deadline: Option<Instant> = None;
        let mut immediate = 0;
        let mut backoff = BACKOFF_START;
        let mut forced = false;
        loop {
            let err = match self.join_once(protocols).await {
                Ok(joined) => match self.rebalance_from {
                    Some(from) if joined.generation_id <= from && !forced => {
                        debug!(
                            group = %self.config.group_id,
                            generation = joined.generation_id,
                            member_id = %joined.member_id,
                            "the coordinator kept the generation after a rebalance: leaving and joining anew"
                        );
                        forced = true;
                        let _ = self.leave().await;
                        continue;
                    }
                    _ => {
                        self.rebalance_from = None;
                        return Ok(joined);
                    }
                },
                Err(e) => e,
            };
            match err {
                JoinError::MemberIdRequired(id) if immediate < MAX_IMMEDIATE_RETRIES => {
                    debug!(group = %self.config.group_id, member_id = %id, "member id assigned by the coordinator");
                    immediate += 1;
                    self.member_id = id;
                }
                JoinError::MemberIdRequired(_) => {
                    return Err(GroupError::Kafka {
                        api: "JoinGroup",
                        code: code::MEMBER_ID_REQUIRED,
                        message: "the coordinator kept asking for a new member id".to_string(),
                    });
                }
                JoinError::Group(GroupError::UnknownMember)
                    if immediate < MAX_IMMEDIATE_RETRIES =>
                {
                    debug!(group = %self.config.group_id, member_id = %self.member_id, "unknown member id: joining anew");
                    immediate += 1;
                    self.reset_member();
                }
                JoinError::Group(
                    e @ (GroupError::CoordinatorUnavailable(_)
                    | GroupError::Io(_)
                    | GroupError::RebalanceInProgress),
                ) => {
                    let now = Instant::now();
                    let deadline = *retry_deadline.get_or_insert(now + self.config.request_timeout);
                    if now >= deadline {
                        return Err(e);
                    }
                    debug!(group = %self.config.group_id, error = %e, "JoinGroup failed: retrying");
                    sleep(backoff.min(deadline - now)).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                JoinError::Group(e) => return Err(e),
            }
        }
    }

    async fn join_once(&mut self, protocols: &[(String, Bytes)]) -> Result<Joined, JoinError> {
        let mut conn = self.coordinator_conn().await?;
        let Some(version) = conn.versions.join_group else {
            return Err(unsupported("JoinGroup").into());
        };
        let request = JoinGroupRequest::default()
            .with_group_id(group_id(&self.config.group_id))
            .with_session_timeout_ms(millis(self.config.session_timeout))
            .with_rebalance_timeout_ms(millis(self.config.rebalance_timeout))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(StrBytes::from_string(self.config.protocol_type.clone()))
            .with_protocols(
                protocols
                    .iter()
                    .map(|(name, metadata)| {
                        JoinGroupRequestProtocol::default()
                            .with_name(StrBytes::from_string(name.clone()))
                            .with_metadata(metadata.clone())
                    })
                    .collect(),
            );
        let wait = self.config.rebalance_timeout + self.config.request_timeout;
        let response: JoinGroupResponse = self
            .call(
                &mut conn,
                ApiKey::JoinGroup,
                "JoinGroup",
                version,
                &request,
                wait,
                check_join_group,
            )
            .await?;
        match response.error_code {
            0 => {}
            code::MEMBER_ID_REQUIRED if !response.member_id.is_empty() => {
                self.conn = Some(conn);
                return Err(JoinError::MemberIdRequired(response.member_id.to_string()));
            }
            code => {
                let e = GroupError::from_code("JoinGroup", code, None)
                    .unwrap_or_else(|| GroupError::kafka("JoinGroup", code, None));
                self.keep_or_drop(conn, &e);
                return Err(e.into());
            }
        }
        self.conn = Some(conn);
        let joined = Joined {
            generation_id: response.generation_id,
            member_id: response.member_id.to_string(),
            leader_id: response.leader.to_string(),
            protocol_name: response
                .protocol_name
                .map(|p| p.to_string())
                .unwrap_or_default(),
            members: response
                .members
                .into_iter()
                .map(|m| (m.member_id.to_string(), m.metadata))
                .collect(),
        };
        if joined.member_id.is_empty() {
            return Err(
                GroupError::Protocol("JoinGroup answered without a member id".into()).into(),
            );
        }
        self.member_id = joined.member_id.clone();
        self.generation = joined.generation_id;
        debug!(
            group = %self.config.group_id,
            generation = joined.generation_id,
            member_id = %joined.member_id,
            leader = %joined.leader_id,
            protocol = %joined.protocol_name,
            members = joined.members.len(),
            "joined the group"
        );
        Ok(joined)
    }

    /// SyncGroup for the joined generation: the leader passes every
    /// member's assignment, others an empty list. Returns this member's
    /// assignment (empty when the leader gave it none).
    pub async fn sync(
        &mut self,
        joined: &Joined,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<Bytes, GroupError> {
        if joined.member_id.is_empty() {
            return Err(GroupError::UnknownMember);
        }
        let mut conn = self.coordinator_conn().await?;
        let Some(version) = conn.versions.sync_group else {
            return Err(unsupported("SyncGroup"));
        };
        let request = SyncGroupRequest::default()
            .with_group_id(group_id(&self.config.group_id))
            .with_generation_id(joined.generation_id)
            .with_member_id(StrBytes::from_string(joined.member_id.clone()))
            .with_assignments(
                assignments
                    .into_iter()
                    .map(|(member, assignment)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(StrBytes::from_string(member))
                            .with_assignment(assignment)
                    })
                    .collect(),
            );
        let timeout = self.config.rebalance_timeout + self.config.request_timeout;
        let response: SyncGroupResponse = self
            .call(
                &mut conn,
                ApiKey::SyncGroup,
                "SyncGroup",
                version,
                &request,
                timeout,
                no_check,
            )
            .await?;
        if let Some(e) = GroupError::from_code("SyncGroup", response.error_code, None) {
            debug!(group = %self.config.group_id, generation = joined.generation_id, error = %e, "SyncGroup failed");
            self.after_member_error(&e);
            self.keep_or_drop(conn, &e);
            return Err(e);
        }
        self.conn = Some(conn);
        debug!(
            group = %self.config.group_id,
            generation = joined.generation_id,
            bytes = response.assignment.len(),
            "received the assignment"
        );
        Ok(response.assignment)
    }

    /// One Heartbeat for the current generation.
    ///
    /// REBALANCE_IN_PROGRESS gives [`GroupError::RebalanceInProgress`],
    /// ILLEGAL_GENERATION [`GroupError::IllegalGeneration`], and
    /// UNKNOWN_MEMBER_ID resets the member id and gives
    /// [`GroupError::UnknownMember`] (as does a client that never joined).
    pub async fn heartbeat(&mut self) -> Result<(), GroupError> {
        if self.member_id.is_empty() {
            return Err(GroupError::UnknownMember);
        }
        let mut conn = self.coordinator_conn().await?;
        let Some(version) = conn.versions.heartbeat else {
            return Err(unsupported("Heartbeat"));
        };
        let request = HeartbeatRequest::default()
            .with_group_id(group_id(&self.config.group_id))
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()));
        let response: HeartbeatResponse = self
            .call(
                &mut conn,
                ApiKey::Heartbeat,
                "Heartbeat",
                version,
                &request,
                self.config.request_timeout,
                no_check,
            )
            .await?;
        if let Some(e) = GroupError::from_code("Heartbeat", response.error_code, None) {
            debug!(group = %self.config.group_id, generation = self.generation, error = %e, "Heartbeat failed");
            if e == GroupError::RebalanceInProgress {
                self.rebalance_from = Some(self.generation);
            }
            self.after_member_error(&e);
            self.keep_or_drop(conn, &e);
            return Err(e);
        }
        self.conn = Some(conn);
        Ok(())
    }

    /// LeaveGroup (best effort, bounded by `request_timeout`), then forgets
    /// the member id and generation whatever the outcome. Leaving when not
    /// a member, or being unknown to the coordinator, is not an error.
    pub async fn leave(&mut self) -> Result<(), GroupError> {
        if self.member_id.is_empty() {
            self.generation = -1;
            return Ok(());
        }
        let result = match timeout(self.config.request_timeout, self.leave_once()).await {
            Ok(r) => r,
            Err(_) => {
                self.conn = None;
                Err(GroupError::Timeout("LeaveGroup"))
            }
        };
        debug!(group = %self.config.group_id, member_id = %self.member_id, ok = result.is_ok(), "left the group");
        self.reset_member();
        result
    }

    async fn leave_once(&mut self) -> Result<(), GroupError> {
        let mut conn = self.coordinator_conn().await?;
        let Some(version) = conn.versions.leave_group else {
            return Err(unsupported("LeaveGroup"));
        };
        let member_id = StrBytes::from_string(self.member_id.clone());
        let request = LeaveGroupRequest::default().with_group_id(group_id(&self.config.group_id));
        let request = if version >= 3 {
            request.with_members(vec![MemberIdentity::default().with_member_id(member_id)])
        } else {
            request.with_member_id(member_id)
        };
        let response: LeaveGroupResponse = self
            .call(
                &mut conn,
                ApiKey::LeaveGroup,
                "LeaveGroup",
                version,
                &request,
                self.config.request_timeout,
                check_leave_group,
            )
            .await?;
        let code = match response.error_code {
            0 => response
                .members
                .iter()
                .map(|m| m.error_code)
                .find(|c| *c != 0)
                .unwrap_or(0),
            c => c,
        };
        match GroupError::from_code("LeaveGroup", code, None) {
            None | Some(GroupError::UnknownMember) => {
                self.conn = Some(conn);
                Ok(())
            }
            Some(e) => {
                self.keep_or_drop(conn, &e);
                Err(e)
            }
        }
    }

    fn reset_member(&mut self) {
        self.member_id.clear();
        self.generation = -1;
        self.rebalance_from = None;
    }

    /// Forgets the member after UNKNOWN_MEMBER_ID.
    fn after_member_error(&mut self, e: &GroupError) {
        if matches!(e, GroupError::UnknownMember) {
            self.reset_member();
        }
    }

    /// Puts the connection back unless the error says it is no good; a
    /// coordinator error also forgets where the coordinator is.
    fn keep_or_drop(&mut self, conn: Conn, e: &GroupError) {
        if matches!(e, GroupError::CoordinatorUnavailable(_)) {
            self.coordinator = None;
        }
        if e.breaks_connection() {
            drop(conn);
        } else {
            self.conn = Some(conn);
        }
    }

    /// The open connection to the coordinator, finding and connecting to
    /// it first when needed. The caller puts it back in `self.conn`.
    async fn coordinator_conn(&mut self) -> Result<Conn, GroupError> {
        if let Some(conn) = self.conn.take() {
            if conn.reauth_by.is_none_or(|t| Instant::now() < t) {
                return Ok(conn);
            }
            debug!(coordinator = %conn.addr, "the SASL session ends soon: reconnecting");
        }
        if let Some(addr) = self.coordinator.clone() {
            match self.connect(&addr).await {
                Ok(conn) => return Ok(conn),
                Err(e) => {
                    debug!(coordinator = %addr, error = %e, "cannot reach the coordinator: looking it up again");
                    self.coordinator = None;
                }
            }
        }
        let (addr, bootstrap_conn) = self.find_coordinator().await?;
        self.coordinator = Some(addr.clone());
        match bootstrap_conn {
            Some(conn) => Ok(conn),
            None => self
                .connect(&addr)
                .await
                .inspect_err(|_| self.coordinator = None),
        }
    }

    /// Asks the bootstrap brokers in turn for the group's coordinator.
    /// Returns its address and, when it is the broker asked, that
    /// connection.
    async fn find_coordinator(&mut self) -> Result<(String, Option<Conn>), GroupError> {
        let mut last = GroupError::Io("no bootstrap servers configured".to_string());
        for bootstrap in self.config.bootstrap.clone() {
            let mut conn = match self.connect(&bootstrap).await {
                Ok(conn) => conn,
                Err(e) => {
                    debug!(bootstrap = %bootstrap, error = %e, "cannot reach a bootstrap server");
                    last = e;
                    continue;
                }
            };
            let Some(version) = conn.versions.find_coordinator else {
                last = unsupported("FindCoordinator");
                continue;
            };
            let request = FindCoordinatorRequest::default()
                .with_key(StrBytes::from_string(self.config.group_id.clone()))
                .with_key_type(0);
            let response: FindCoordinatorResponse = match self
                .call(
                    &mut conn,
                    ApiKey::FindCoordinator,
                    "FindCoordinator",
                    version,
                    &request,
                    self.config.request_timeout,
                    no_check,
                )
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            if let Some(e) = GroupError::from_code(
                "FindCoordinator",
                response.error_code,
                response.error_message.as_ref(),
            ) {
                return Err(match e {
                    e @ GroupError::CoordinatorUnavailable(_) => e,
                    e => GroupError::CoordinatorUnavailable(e.to_string()),
                });
            }
            let port = u16::try_from(response.port).map_err(|_| {
                GroupError::Protocol(format!("coordinator port {} is invalid", response.port))
            })?;
            let host = response.host.as_str();
            if host.is_empty() {
                return Err(GroupError::CoordinatorUnavailable(
                    "FindCoordinator answered an empty host".to_string(),
                ));
            }
            let addr = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            debug!(group = %self.config.group_id, coordinator = %addr, node = response.node_id.0, "found the coordinator");
            let same = addr == conn.addr;
            return Ok((addr, same.then_some(conn)));
        }
        Err(last)
    }

    /// Connects to the first bootstrap broker that answers, with TLS and
    /// SASL as configured, and drops the connection: whether this client
    /// can reach the cluster, and if not, why (an unknown CA, a refused
    /// password).
    pub async fn check_connection(&self) -> Result<(), GroupError> {
        let mut last = GroupError::Io("no bootstrap broker is configured".into());
        for addr in &self.config.bootstrap {
            match self.connect(addr).await {
                Ok(_) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Opens a connection and agrees on API versions with the broker.
    async fn connect(&self, addr: &str) -> Result<Conn, GroupError> {
        let stream = match timeout(self.config.request_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(GroupError::Io(format!("cannot connect to {addr}: {e}"))),
            Err(_) => return Err(GroupError::Timeout("connect")),
        };
        // Requests are small and latency matters more than batching.
        let _ = stream.set_nodelay(true);
        let stream: Box<dyn Io> = match &self.config.tls {
            None => Box::new(stream),
            Some(Tls(tls)) => {
                let host = addr
                    .rsplit_once(':')
                    .map_or(addr, |(h, _)| h)
                    .trim_matches(['[', ']']);
                let name = rustls::pki_types::ServerName::try_from(host.to_string())
                    .map_err(|e| GroupError::Io(format!("{addr}: {e}")))?;
                let handshake = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, stream);
                match timeout(self.config.request_timeout, handshake).await {
                    Ok(Ok(s)) => Box::new(s),
                    Ok(Err(e)) => {
                        return Err(GroupError::Io(format!("TLS with {addr}: {e}")));
                    }
                    Err(_) => return Err(GroupError::Timeout("TLS handshake")),
                }
            }
        };
        let mut conn = Conn {
            stream,
            addr: addr.to_string(),
            versions: Versions::default(),
            next_correlation_id: 0,
            reauth_by: None,
        };
        let request = ApiVersionsRequest::default();
        let response: ApiVersionsResponse = self
            .call(
                &mut conn,
                ApiKey::ApiVersions,
                "ApiVersions",
                API_VERSIONS_VERSION,
                &request,
                self.config.request_timeout,
                check_api_versions,
            )
            .await?;
        if response.error_code != 0 {
            return Err(GroupError::kafka("ApiVersions", response.error_code, None));
        }
        let pick = |key: ApiKey, max: i16| {
            response
                .api_keys
                .iter()
                .find(|k| k.api_key == key as i16)
                .and_then(|k| {
                    let v = k.max_version.min(max);
                    (v >= k.min_version && v >= 0).then_some(v)
                })
        };
        if let Some(sasl) = &self.config.sasl {
            // v1 of both: the handshake, then the tokens framed in
            // SaslAuthenticate (Kafka 1.0 and later).
            let versions = (
                pick(ApiKey::SaslHandshake, 1).filter(|v| *v >= 1),
                pick(ApiKey::SaslAuthenticate, 1),
            );
            let (Some(handshake), Some(authenticate)) = versions else {
                return Err(unsupported("SaslHandshake/SaslAuthenticate"));
            };
            let lifetime = self
                .authenticate(&mut conn, sasl, handshake, authenticate)
                .await?;
            // Kafka's clients re-authenticate at 85-95% of the session.
            conn.reauth_by = lifetime.map(|l| Instant::now() + l.mul_f64(0.85));
            debug!(broker = %addr, mechanism = sasl.mechanism.name(), ?lifetime, "authenticated");
        }
        conn.versions = Versions {
            find_coordinator: pick(ApiKey::FindCoordinator, MAX_FIND_COORDINATOR),
            join_group: pick(ApiKey::JoinGroup, MAX_JOIN_GROUP),
            sync_group: pick(ApiKey::SyncGroup, MAX_SYNC_GROUP),
            heartbeat: pick(ApiKey::Heartbeat, MAX_HEARTBEAT),
            leave_group: pick(ApiKey::LeaveGroup, MAX_LEAVE_GROUP),
        };
        debug!(broker = %addr, versions = ?conn.versions, "connected");
        Ok(conn)
    }

    /// SaslHandshake, then the mechanism's SaslAuthenticate rounds; the
    /// session's lifetime when the broker limits it.
    async fn authenticate(
        &self,
        conn: &mut Conn,
        sasl: &Sasl,
        handshake: i16,
        authenticate: i16,
    ) -> Result<Option<Duration>, GroupError> {
        let request = SaslHandshakeRequest::default()
            .with_mechanism(StrBytes::from_static_str(sasl.mechanism.name()));
        let response: SaslHandshakeResponse = self
            .call(
                conn,
                ApiKey::SaslHandshake,
                "SaslHandshake",
                handshake,
                &request,
                self.config.request_timeout,
                no_check,
            )
            .await?;
        if response.error_code != 0 {
            let offered: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(GroupError::Kafka {
                api: "SaslHandshake",
                code: response.error_code,
                message: format!(
                    "the broker does not enable {} (it offers {})",
                    sasl.mechanism.name(),
                    offered.join(", ")
                ),
            });
        }
        let failed = |e: String| GroupError::Kafka {
            api: "SaslAuthenticate",
            code: code::SASL_AUTHENTICATION_FAILED,
            message: format!(
                "{} authentication as {} failed: {e}",
                sasl.mechanism.name(),
                sasl.username
            ),
        };
        // A connection that closes here is reported as it is (a broker
        // restart looks the same); refusals are the broker's error codes
        // and SCRAM's own errors.
        let lifetime = match sasl.mechanism {
            Mechanism::OAuthBearer => {
                let source = sasl
                    .tokens
                    .as_ref()
                    .ok_or_else(|| failed("no token source is configured".into()))?;
                let token = source.token().await.map_err(failed)?;
                let (answer, lifetime) = self
                    .sasl_round(conn, authenticate, crate::sasl::bearer(&token))
                    .await
                    .inspect_err(|_| source.invalidate())?;
                if !answer.is_empty() {
                    // RFC 7628 3.2.2: a refusal is the server's JSON status
                    // on an answer without an error code; the client ends
                    // the exchange with %x01 and the broker then fails it.
                    source.invalidate();
                    let status: String =
                        String::from_utf8_lossy(&answer).chars().take(300).collect();
                    let _ = self.sasl_round(conn, authenticate, vec![1]).await;
                    return Err(failed(format!("the broker refused the token: {status}")));
                }
                lifetime
            }
            Mechanism::Plain => {
                self.sasl_round(conn, authenticate, crate::sasl::plain(sasl))
                    .await?
                    .1
            }
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                let mut scram = Scram::new(sasl).map_err(failed)?;
                let (first, _) = self
                    .sasl_round(conn, authenticate, scram.client_first())
                    .await?;
                let last = scram.client_final(&first).map_err(failed)?;
                let (server_final, lifetime) = self.sasl_round(conn, authenticate, last).await?;
                scram.verify_server_final(&server_final).map_err(failed)?;
                lifetime
            }
        };
        Ok(u64::try_from(lifetime)
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis))
    }

    /// One SaslAuthenticate exchange: our token out, the broker's back,
    /// with the session lifetime it grants (v1; 0: unlimited).
    async fn sasl_round(
        &self,
        conn: &mut Conn,
        version: i16,
        token: Vec<u8>,
    ) -> Result<(Bytes, i64), GroupError> {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token));
        let response: SaslAuthenticateResponse = self
            .call(
                conn,
                ApiKey::SaslAuthenticate,
                "SaslAuthenticate",
                version,
                &request,
                self.config.request_timeout,
                no_check,
            )
            .await?;
        if response.error_code != 0 {
            return Err(GroupError::kafka(
                "SaslAuthenticate",
                response.error_code,
                response.error_message.as_ref(),
            ));
        }
        Ok((response.auth_bytes, response.session_lifetime_ms))
    }

    /// Sends one request and reads its answer, within `wait`. On any
    /// failure the connection is unusable (the caller drops it).
    #[allow(clippy::too_many_arguments)]
    async fn call<Req: Encodable, Resp: Decodable>(
        &self,
        conn: &mut Conn,
        key: ApiKey,
        api: &'static str,
        version: i16,
        request: &Req,
        wait: Duration,
        check: fn(&[u8], i16) -> Result<(), String>,
    ) -> Result<Resp, GroupError> {
        let correlation_id = conn.next_correlation_id;
        conn.next_correlation_id = conn.next_correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_string(self.config.client_id.clone())));
        let mut frame = BytesMut::with_capacity(256);
        frame.put_i32(0);
        let encoded = header
            .encode(&mut frame, key.request_header_version(version))
            .and_then(|()| request.encode(&mut frame, version));
        if let Err(e) = encoded {
            return Err(GroupError::Protocol(format!(
                "cannot encode {api} v{version}: {e}"
            )));
        }
        let size = i32::try_from(frame.len() - 4)
            .map_err(|_| GroupError::Protocol(format!("{api} request too large")))?;
        frame[..4].copy_from_slice(&size.to_be_bytes());

        let exchange = async {
            conn.stream.write_all(&frame).await?;
            // TLS may hold the records until flushed (a no-op on TCP).
            conn.stream.flush().await?;
            let size = conn.stream.read_i32().await?;
            let size = usize::try_from(size)
                .ok()
                .filter(|s| (4..=MAX_FRAME).contains(s))
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("invalid response size {size}"),
                    )
                })?;
            let mut body = vec![0u8; size];
            conn.stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(Bytes::from(body))
        };
        let mut body = match timeout(wait, exchange).await {
            Ok(Ok(body)) => body,
            Ok(Err(e)) => {
                return Err(GroupError::Io(format!("{api} to {}: {e}", conn.addr)));
            }
            Err(_) => return Err(GroupError::Timeout(api)),
        };
        let header =
            decode_guarded::<ResponseHeader>(&mut body, key.response_header_version(version))
                .map_err(|e| {
                    GroupError::Protocol(format!("{api} v{version} response header: {e}"))
                })?;
        if header.correlation_id != correlation_id {
            return Err(GroupError::Protocol(format!(
                "{api}: correlation id {} does not match the request's {correlation_id}",
                header.correlation_id
            )));
        }
        check(&body, version)
            .map_err(|e| GroupError::Protocol(format!("{api} v{version} response: {e}")))?;
        decode_guarded::<Resp>(&mut body, version)
            .map_err(|e| GroupError::Protocol(format!("{api} v{version} response: {e}")))
    }
}

/// A join attempt's outcome other than success.
#[derive(Debug)]
enum JoinError {
    /// The coordinator assigned a member id: join again with it.
    MemberIdRequired(String),
    Group(GroupError),
}

impl From<GroupError> for JoinError {
    fn from(e: GroupError) -> Self {
        Self::Group(e)
    }
}

fn unsupported(api: &'static str) -> GroupError {
    GroupError::Kafka {
        api,
        code: code::UNSUPPORTED_VERSION,
        message: format!("the broker supports no version of {api} this client speaks"),
    }
}

fn group_id(id: &str) -> GroupId {
    GroupId(StrBytes::from_string(id.to_string()))
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// Decodes, turning a panic inside the decoder into an error.
fn decode_guarded<T: Decodable>(buf: &mut Bytes, version: i16) -> Result<T, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| T::decode(buf, version))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the decoder panicked".to_string()),
    }
}

// The decoder reserves room for an array from its declared length before
// reading any element, so a corrupt length could ask for gigabytes. These
// checks walk the (non-flexible) answers that hold arrays up to each array
// and refuse lengths the remaining bytes cannot hold.

fn no_check(_: &[u8], _: i16) -> Result<(), String> {
    Ok(())
}

/// A cursor over a non-flexible message.
#[derive(Debug)]
struct Walk<'a>(&'a [u8]);

impl Walk<'_> {
    fn skip(&mut self, n: usize) -> Result<(), String> {
        if self.0.len() < n {
            return Err("truncated".to_string());
        }
        self.0.advance(n);
        Ok(())
    }

    fn i16(&mut self) -> Result<i16, String> {
        if self.0.len() < 2 {
            return Err("truncated".to_string());
        }
        Ok(self.0.get_i16())
    }

    fn i32(&mut self) -> Result<i32, String> {
        if self.0.len() < 4 {
            return Err("truncated".to_string());
        }
        Ok(self.0.get_i32())
    }

    /// A (nullable) string with an int16 length.
    fn string(&mut self) -> Result<(), String> {
        let n = self.i16()?;
        if n > 0 {
            self.skip(n as usize)?;
        }
        Ok(())
    }

    /// An array length (int32), checked against the bytes left given the
    /// smallest encoding of one element.
    fn array(&mut self, min_element: usize) -> Result<(), String> {
        let n = self.i32()?;
        if n > 0 && (n as usize).saturating_mul(min_element) > self.0.len() {
            return Err(format!("array of {n} elements in {} bytes", self.0.len()));
        }
        Ok(())
    }
}

fn check_api_versions(body: &[u8], _version: i16) -> Result<(), String> {
    let mut w = Walk(body);
    w.skip(2)?; // error_code
    w.array(6) // api_key, min_version, max_version
}

fn check_join_group(body: &[u8], version: i16) -> Result<(), String> {
    let mut w = Walk(body);
    if version >= 2 {
        w.skip(4)?; // throttle_time_ms
    }
    w.skip(2 + 4)?; // error_code, generation_id
    w.string()?; // protocol_name
    w.string()?; // leader
    w.string()?; // member_id
    // member_id, group_instance_id (v5+), metadata
    w.array(2 + if version >= 5 { 2 } else { 0 } + 4)
}

fn check_leave_group(body: &[u8], version: i16) -> Result<(), String> {
    if version < 3 {
        return Ok(());
    }
    let mut w = Walk(body);
    w.skip(4 + 2)?; // throttle_time_ms, error_code
    w.array(2 + 2 + 2) // member_id, group_instance_id, error_code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_leader_compares_ids() {
        let mut j = Joined {
            generation_id: 1,
            member_id: "a".into(),
            leader_id: "a".into(),
            protocol_name: "compatible".into(),
            members: vec![],
        };
        assert!(j.is_leader());
        j.leader_id = "b".into();
        assert!(!j.is_leader());
        j.member_id.clear();
        j.leader_id.clear();
        assert!(!j.is_leader());
    }

    #[test]
    fn error_codes_map() {
        assert_eq!(GroupError::from_code("Heartbeat", 0, None), None);
        assert_eq!(
            GroupError::from_code("Heartbeat", 27, None),
            Some(GroupError::RebalanceInProgress)
        );
        assert_eq!(
            GroupError::from_code("Heartbeat", 25, None),
            Some(GroupError::UnknownMember)
        );
        assert_eq!(
            GroupError::from_code("Heartbeat", 22, None),
            Some(GroupError::IllegalGeneration)
        );
        assert!(matches!(
            GroupError::from_code("Heartbeat", 16, None),
            Some(GroupError::CoordinatorUnavailable(_))
        ));
        let Some(GroupError::Kafka { api, code, message }) =
            GroupError::from_code("JoinGroup", 23, None)
        else {
            panic!("23 is not mapped to Kafka");
        };
        assert_eq!((api, code), ("JoinGroup", 23));
        assert!(message.contains("InconsistentGroupProtocol"), "{message}");
        assert!(GroupError::RebalanceInProgress.needs_rejoin());
        assert!(GroupError::UnknownMember.needs_rejoin());
        assert!(GroupError::IllegalGeneration.needs_rejoin());
        assert!(!GroupError::Io("x".into()).needs_rejoin());
        assert!(!GroupError::Timeout("Heartbeat").needs_rejoin());
    }

    /// A JoinGroup v5 answer with the given member array length and bytes.
    fn join_body(count: i32, tail: &[u8]) -> Vec<u8> {
        let mut b = BytesMut::new();
        b.put_i32(0); // throttle
        b.put_i16(0); // error
        b.put_i32(3); // generation
        for s in ["compatible", "m-1", "m-1"] {
            b.put_i16(s.len() as i16);
            b.put_slice(s.as_bytes());
        }
        b.put_i32(count);
        b.put_slice(tail);
        b.to_vec()
    }

    #[test]
    fn join_group_answers_decode_or_fail_cleanly() {
        let mut member = BytesMut::new();
        member.put_i16(3);
        member.put_slice(b"m-1");
        member.put_i16(-1); // no instance id
        member.put_i32(2);
        member.put_slice(b"\x01\x02");
        let good = join_body(1, &member);
        assert_eq!(check_join_group(&good, 5), Ok(()));
        let r: JoinGroupResponse =
            decode_guarded(&mut Bytes::from(good), 5).expect("a valid answer decodes");
        assert_eq!(r.generation_id, 3);
        assert_eq!(r.members.len(), 1);
        assert_eq!(r.members[0].metadata.as_ref(), b"\x01\x02");

        // A huge member count is refused before the decoder reserves room.
        let huge = join_body(i32::MAX, &member);
        assert!(check_join_group(&huge, 5).is_err());

        // Every truncation and every single corrupted byte gives an error
        // or a value, never a panic.
        let good = join_body(1, &member);
        for cut in 0..good.len() {
            let b = &good[..cut];
            if check_join_group(b, 5).is_ok() {
                assert!(
                    decode_guarded::<JoinGroupResponse>(&mut Bytes::copy_from_slice(b), 5).is_err()
                );
            }
        }
        for i in 0..good.len() {
            for v in [0x00, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                if check_join_group(&b, 5).is_ok() {
                    let _ = decode_guarded::<JoinGroupResponse>(&mut Bytes::from(b), 5);
                }
            }
        }
    }

    #[test]
    fn api_versions_and_leave_group_checks() {
        let mut b = BytesMut::new();
        b.put_i16(0);
        b.put_i32(1_000_000);
        b.put_slice(&[0; 12]);
        assert!(check_api_versions(&b, 2).is_err());
        let mut b = BytesMut::new();
        b.put_i16(0);
        b.put_i32(2);
        b.put_slice(&[0; 12]);
        b.put_i32(0);
        assert_eq!(check_api_versions(&b, 2), Ok(()));

        let mut b = BytesMut::new();
        b.put_i32(0);
        b.put_i16(0);
        b.put_i32(-1);
        assert_eq!(check_leave_group(&b, 3), Ok(()));
        let mut b = BytesMut::new();
        b.put_i32(0);
        b.put_i16(0);
        b.put_i32(i32::MAX);
        assert!(check_leave_group(&b, 3).is_err());
        assert_eq!(check_leave_group(&[], 2), Ok(()));
    }

    /// A fake broker on loopback: for each request it calls `answer` with
    /// (api key, version, request body) and sends back the returned body
    /// under a v0 response header, nothing (`None`: silence), or, for
    /// `Some(Err(bytes))`, exactly those raw bytes.
    type Answer = Option<Result<Vec<u8>, Vec<u8>>>;

    async fn fake_broker(
        answer: impl Fn(i16, i16, &[u8]) -> Answer + Send + Sync + 'static,
    ) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let answer = std::sync::Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    loop {
                        let Ok(size) = stream.read_i32().await else {
                            return;
                        };
                        let mut req = vec![0u8; size as usize];
                        if stream.read_exact(&mut req).await.is_err() {
                            return;
                        }
                        let mut r = &req[..];
                        let (key, version, correlation) = (r.get_i16(), r.get_i16(), r.get_i32());
                        let client_len = r.get_i16();
                        r.advance(client_len.max(0) as usize);
                        let frame = match answer(key, version, r) {
                            None => {
                                tokio::time::sleep(Duration::from_secs(60)).await;
                                return;
                            }
                            Some(Err(raw)) => raw,
                            Some(Ok(body)) => {
                                let mut f = BytesMut::new();
                                f.put_i32(4 + body.len() as i32);
                                f.put_i32(correlation);
                                f.put_slice(&body);
                                f.to_vec()
                            }
                        };
                        if stream.write_all(&frame).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn put_str(b: &mut BytesMut, s: &str) {
        b.put_i16(s.len() as i16);
        b.put_slice(s.as_bytes());
    }

    /// ApiVersions v2: the group APIs at versions 0..=9.
    fn api_versions() -> Vec<u8> {
        let mut b = BytesMut::new();
        b.put_i16(0);
        let keys = [10i16, 11, 12, 13, 14];
        b.put_i32(keys.len() as i32);
        for k in keys {
            b.put_i16(k);
            b.put_i16(0);
            b.put_i16(9);
        }
        b.put_i32(0);
        b.to_vec()
    }

    /// FindCoordinator v2 pointing at `addr`.
    fn find_coordinator(addr: &str) -> Vec<u8> {
        let (host, port) = addr.rsplit_once(':').expect("host:port");
        let mut b = BytesMut::new();
        b.put_i32(0);
        b.put_i16(0);
        b.put_i16(-1);
        b.put_i32(1);
        put_str(&mut b, host);
        b.put_i32(port.parse().expect("port"));
        b.to_vec()
    }

    /// The member id in a JoinGroup v5 request.
    fn join_member_id(mut r: &[u8]) -> String {
        let n = r.get_i16();
        r.advance(n as usize + 8);
        let n = r.get_i16();
        String::from_utf8_lossy(&r[..n as usize]).into_owned()
    }

    /// A JoinGroup v5 answer.
    fn join_answer(error: i16, generation: i32, member: &str, leader: &str) -> Vec<u8> {
        let mut b = BytesMut::new();
        b.put_i32(0);
        b.put_i16(error);
        b.put_i32(generation);
        put_str(&mut b, "compatible");
        put_str(&mut b, leader);
        put_str(&mut b, member);
        if member == leader {
            b.put_i32(1);
            put_str(&mut b, member);
            b.put_i16(-1);
            b.put_i32(4);
            b.put_slice(b"meta");
        } else {
            b.put_i32(0);
        }
        b.to_vec()
    }

    fn fake_config(addr: &str) -> GroupConfig {
        GroupConfig {
            request_timeout: Duration::from_millis(500),
            rebalance_timeout: Duration::from_millis(500),
            ..GroupConfig::new(vec![addr.to_string()], "g")
        }
    }

    fn protocols() -> Vec<(String, Bytes)> {
        vec![("compatible".to_string(), Bytes::from_static(b"meta"))]
    }

    #[tokio::test]
    async fn member_id_required_then_not_coordinator_then_joined() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let finds = std::sync::Arc::new(AtomicU32::new(0));
        let joins = std::sync::Arc::new(AtomicU32::new(0));
        let addr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (f, j, a) = (finds.clone(), joins.clone(), addr.clone());
        let bound = fake_broker(move |key, _version, body| {
            Some(Ok(match key {
                18 => api_versions(),
                10 => {
                    f.fetch_add(1, Ordering::SeqCst);
                    find_coordinator(&a.lock().expect("addr"))
                }
                11 => match (
                    j.fetch_add(1, Ordering::SeqCst),
                    join_member_id(body).as_str(),
                ) {
                    (0, "") => join_answer(79, -1, "m-1", ""),
                    (1, "m-1") => join_answer(16, -1, "", ""),
                    (2, "m-1") => join_answer(0, 7, "m-1", "m-1"),
                    (n, id) => panic!("unexpected JoinGroup #{n} from {id:?}"),
                },
                12 => vec![0, 0, 0, 0, 0, 27],
                _ => return None,
            }))
        })
        .await;
        *addr.lock().expect("addr") = bound.clone();
        let mut client = GroupClient::new(fake_config(&bound));
        let joined = client.join(&protocols()).await.expect("join");
        assert_eq!(joined.generation_id, 7);
        assert_eq!(joined.member_id, "m-1");
        assert!(joined.is_leader());
        assert_eq!(
            joined.members,
            vec![("m-1".to_string(), Bytes::from_static(b"meta"))]
        );
        assert_eq!(joins.load(Ordering::SeqCst), 3);
        assert_eq!(
            finds.load(Ordering::SeqCst),
            2,
            "NOT_COORDINATOR looks it up again"
        );
        assert_eq!((client.member_id(), client.generation()), ("m-1", 7));
        assert_eq!(
            client.heartbeat().await,
            Err(GroupError::RebalanceInProgress)
        );
    }

    #[tokio::test]
    async fn silence_is_a_timeout_and_the_connection_is_dropped() {
        let bound = fake_broker(|key, _, _| match key {
            18 => None,
            _ => Some(Ok(Vec::new())),
        })
        .await;
        let mut client = GroupClient::new(fake_config(&bound));
        let t = Instant::now();
        assert_eq!(
            client.join(&protocols()).await,
            Err(GroupError::Timeout("ApiVersions"))
        );
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(client.conn.is_none());
    }

    #[tokio::test]
    async fn unreachable_broker_is_io_after_retrying() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let mut client = GroupClient::new(fake_config(&format!("127.0.0.1:{port}")));
        let t = Instant::now();
        let e = client.join(&protocols()).await.expect_err("nobody listens");
        assert!(matches!(e, GroupError::Io(_)), "{e:?}");
        assert!(
            t.elapsed() >= Duration::from_millis(400),
            "retried for the request timeout"
        );
        assert_eq!(client.leave().await, Ok(()), "leaving without a member id");
    }

    #[tokio::test]
    async fn garbage_from_the_broker_is_an_error() {
        // A deterministic stream of odd answers to ApiVersions and, once
        // connected, to FindCoordinator and JoinGroup.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut errors, mut joined) = (0, 0);
        for round in 0..120 {
            let r = next();
            let len = (r % 64) as usize;
            let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let target = [18i16, 10, 11][round % 3];
            let raw = round % 5 == 4;
            let addr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
            let a = addr.clone();
            let bound = fake_broker(move |key, _, _| {
                if key == target {
                    return Some(if raw {
                        Err(junk.clone())
                    } else {
                        Ok(junk.clone())
                    });
                }
                Some(Ok(match key {
                    18 => api_versions(),
                    10 => find_coordinator(&a.lock().expect("addr")),
                    _ => Vec::new(),
                }))
            })
            .await;
            *addr.lock().expect("addr") = bound.clone();
            let mut client = GroupClient::new(GroupConfig {
                request_timeout: Duration::from_millis(100),
                ..fake_config(&bound)
            });
            // An error naming what went wrong or, rarely (junk that happens
            // to decode), a joined generation; never a panic or a hang.
            match client.join(&protocols()).await {
                Ok(_) => joined += 1,
                Err(e) => {
                    assert!(
                        !e.to_string().trim().is_empty(),
                        "round {round}: an empty error"
                    );
                    errors += 1;
                }
            }
        }
        assert_eq!(errors + joined, 120);
        assert!(
            errors >= 110,
            "garbage answers must fail the join: {errors} errors, {joined} joins"
        );
    }
}
