//! The group client against the real test broker (tansu).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sluice_group::{GroupClient, GroupConfig, GroupError, Joined};
use sluice_tests::{Broker, unique};

const PROTOCOL: &str = "compatible";
const SESSION: Duration = Duration::from_secs(6);

/// One broker at a time: tansu's group storage has been seen to fail when
/// several brokers and clusters compete for two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(broker: &Broker, group: &str, client: &str) -> GroupConfig {
    GroupConfig {
        bootstrap: vec![broker.bootstrap.clone()],
        tls: None,
        sasl: None,
        group_id: group.to_string(),
        client_id: client.to_string(),
        protocol_type: "connect".to_string(),
        session_timeout: SESSION,
        rebalance_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(5),
    }
}

fn protocols(metadata: &Bytes) -> Vec<(String, Bytes)> {
    vec![(PROTOCOL.to_string(), metadata.clone())]
}

/// What the leader hands a member.
fn assignment_for(member_id: &str) -> Bytes {
    Bytes::from(format!("assignment-for-{member_id}"))
}

/// A member after the group formed.
#[derive(Debug)]
struct Member {
    client: GroupClient,
    metadata: Bytes,
    joined: Joined,
    assignment: Bytes,
}

#[derive(Debug, Clone)]
struct Synced {
    generation: i32,
    is_leader: bool,
    members: usize,
}

/// Runs every member's join / sync / heartbeat loop (rejoining whenever
/// the broker says so) until all have synced the same generation and its
/// leader saw all of them, then stops the loops and returns the members.
async fn form_group(members: Vec<(GroupClient, Bytes)>) -> Vec<Member> {
    let n = members.len();
    let state: Arc<Mutex<Vec<Option<Synced>>>> = Arc::new(Mutex::new(vec![None; n]));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (i, (mut client, metadata)) in members.into_iter().enumerate() {
        let state = state.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            'rejoin: loop {
                let joined = client.join(&protocols(&metadata)).await.expect("join");
                let assignments = if joined.is_leader() {
                    joined
                        .members
                        .iter()
                        .map(|(id, _)| (id.clone(), assignment_for(id)))
                        .collect()
                } else {
                    Vec::new()
                };
                let assignment = match client.sync(&joined, assignments).await {
                    Ok(a) => a,
                    Err(e) if e.needs_rejoin() => continue,
                    Err(e) => panic!("sync: {e}"),
                };
                state.lock().expect("state")[i] = Some(Synced {
                    generation: joined.generation_id,
                    is_leader: joined.is_leader(),
                    members: joined.members.len(),
                });
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return Member {
                            client,
                            metadata,
                            joined,
                            assignment,
                        };
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if stop.load(Ordering::SeqCst) {
                        continue;
                    }
                    match client.heartbeat().await {
                        Ok(()) => {}
                        Err(e) if e.needs_rejoin() => {
                            state.lock().expect("state")[i] = None;
                            continue 'rejoin;
                        }
                        Err(e) => panic!("heartbeat: {e}"),
                    }
                }
            }
        }));
    }
    let start = Instant::now();
    loop {
        {
            let s = state.lock().expect("state");
            let synced: Vec<&Synced> = s.iter().flatten().collect();
            if synced.len() == n
                && synced.iter().all(|m| m.generation == synced[0].generation)
                && synced.iter().filter(|m| m.is_leader).count() == 1
                && synced.iter().any(|m| m.is_leader && m.members == n)
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the group of {n} did not form: {s:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("member task"));
    }
    eprintln!(
        "group of {n} formed at generation {} in {:?}",
        out[0].joined.generation_id,
        start.elapsed()
    );
    out
}

/// Heartbeats every 300 ms until one fails or `within` passes; returns
/// the error and when it came.
async fn heartbeat_until_error(
    client: &mut GroupClient,
    within: Duration,
) -> Option<(GroupError, Duration)> {
    let start = Instant::now();
    while start.elapsed() < within {
        if let Err(e) = client.heartbeat().await {
            return Some((e, start.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    None
}

fn leader_of(members: &[Member]) -> usize {
    members
        .iter()
        .position(|m| m.joined.is_leader())
        .expect("a leader")
}

fn start_broker() -> Broker {
    Broker::start().expect("start the broker")
}

async fn two_members(broker: &Broker, group: &str) -> Vec<Member> {
    let a = GroupClient::new(config(broker, group, "worker-a"));
    let b = GroupClient::new(config(broker, group, "worker-b"));
    form_group(vec![
        (a, Bytes::from_static(b"meta-a\x00\xff")),
        (b, Bytes::from_static(b"meta-b\x01")),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_members_join_and_sync() {
    let _serial = SERIAL.lock().await;
    let broker = start_broker();
    let group = unique("two");
    let members = two_members(&broker, &group).await;

    assert_eq!(
        members[0].joined.generation_id,
        members[1].joined.generation_id
    );
    assert_ne!(members[0].joined.member_id, members[1].joined.member_id);
    let leader = leader_of(&members);
    assert_eq!(
        members.iter().filter(|m| m.joined.is_leader()).count(),
        1,
        "exactly one leader"
    );
    for m in &members {
        assert_eq!(m.joined.leader_id, members[leader].joined.member_id);
        assert_eq!(m.joined.protocol_name, PROTOCOL);
        assert_eq!(m.client.member_id(), m.joined.member_id);
        assert_eq!(m.client.generation(), m.joined.generation_id);
    }
    let seen: BTreeMap<String, Bytes> = members[leader].joined.members.iter().cloned().collect();
    let expected: BTreeMap<String, Bytes> = members
        .iter()
        .map(|m| (m.joined.member_id.clone(), m.metadata.clone()))
        .collect();
    assert_eq!(seen, expected, "the leader sees every member's metadata");
    for m in &members {
        assert_eq!(m.assignment, assignment_for(&m.joined.member_id));
    }
    assert_ne!(members[0].assignment, members[1].assignment);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_third_member_triggers_a_rebalance() {
    let _serial = SERIAL.lock().await;
    let broker = start_broker();
    let group = unique("three");
    let mut members = two_members(&broker, &group).await;
    let before = members[0].joined.generation_id;

    let c_meta = Bytes::from_static(b"meta-c");
    let mut c = GroupClient::new(config(&broker, &group, "worker-c"));
    let c_join = {
        let meta = c_meta.clone();
        tokio::spawn(async move {
            let joined = c.join(&protocols(&meta)).await;
            (c, joined)
        })
    };
    for m in &mut members {
        let (e, after) = heartbeat_until_error(&mut m.client, Duration::from_secs(5))
            .await
            .expect("the third member's join is seen by heartbeats");
        assert_eq!(e, GroupError::RebalanceInProgress);
        eprintln!("heartbeat saw the rebalance after {after:?}");
    }
    let (c, joined) = c_join.await.expect("join task");
    joined.expect("the third member joins");

    let mut all: Vec<(GroupClient, Bytes)> = members
        .into_iter()
        .map(|m| (m.client, m.metadata))
        .collect();
    all.push((c, c_meta));
    let members = form_group(all).await;
    let generation = members[0].joined.generation_id;
    assert!(generation > before, "{generation} > {before}");
    assert_eq!(members[leader_of(&members)].joined.members.len(), 3);
    for m in &members {
        assert_eq!(m.joined.generation_id, generation);
        assert_eq!(m.assignment, assignment_for(&m.joined.member_id));
    }
}

/// Whether a member of a stable group that sends JoinGroup again makes the
/// others rebalance. Kafka starts a rebalance on any JoinGroup from a
/// member of a stable group; tansu 0.6 does only when the member's
/// metadata changed (or it is new): the same member id with the same
/// metadata gets the current generation back and nobody is told.
/// Leaving and joining with a new member id always starts a new
/// generation.
#[tokio::test(flavor = "multi_thread")]
async fn an_existing_member_rejoining() {
    let _serial = SERIAL.lock().await;
    let broker = start_broker();
    let group = unique("rejoin");
    // A long session, so that no member expires while another waits in
    // JoinGroup (tansu holds a follower's JoinGroup for 3 s, and only
    // heartbeats count as signs of life).
    let long = |client: &str| GroupConfig {
        session_timeout: Duration::from_secs(30),
        ..config(&broker, &group, client)
    };
    let mut members = form_group(vec![
        (
            GroupClient::new(long("worker-a")),
            Bytes::from_static(b"meta-a"),
        ),
        (
            GroupClient::new(long("worker-b")),
            Bytes::from_static(b"meta-b"),
        ),
    ])
    .await;
    let generation = members[0].joined.generation_id;
    let leader = leader_of(&members);
    let follower = 1 - leader;
    let quiet = Duration::from_secs(2);

    // The follower joins again: same member id, same metadata.
    let meta = members[follower].metadata.clone();
    let again = members[follower]
        .client
        .join(&protocols(&meta))
        .await
        .expect("rejoin");
    assert_eq!(again.generation_id, generation, "no new generation");
    assert_eq!(again.member_id, members[follower].joined.member_id);
    assert_eq!(again.leader_id, members[leader].joined.member_id);
    let seen = heartbeat_until_error(&mut members[leader].client, quiet).await;
    assert_eq!(seen, None, "the leader is not told to rebalance");

    // The leader joins again: same generation, and its SyncGroup then
    // gets the stored assignment back (new assignments are ignored).
    let meta = members[leader].metadata.clone();
    let again = members[leader]
        .client
        .join(&protocols(&meta))
        .await
        .expect("rejoin");
    assert_eq!(again.generation_id, generation, "no new generation");
    assert_eq!(again.members.len(), 2);
    let changed = again
        .members
        .iter()
        .map(|(id, _)| (id.clone(), Bytes::from_static(b"changed")))
        .collect();
    let assignment = members[leader]
        .client
        .sync(&again, changed)
        .await
        .expect("sync");
    assert_eq!(
        assignment, members[leader].assignment,
        "the old assignment stands"
    );
    let seen = heartbeat_until_error(&mut members[follower].client, quiet).await;
    assert_eq!(seen, None, "the follower is not told to rebalance");

    // The follower joins again with changed metadata: a new generation.
    let meta = Bytes::from_static(b"meta-b-changed");
    let again = members[follower]
        .client
        .join(&protocols(&meta))
        .await
        .expect("rejoin");
    assert!(again.generation_id > generation);
    members[follower].metadata = meta.clone();
    let (e, _) = heartbeat_until_error(&mut members[leader].client, quiet)
        .await
        .expect("changed metadata starts a rebalance");
    assert_eq!(e, GroupError::RebalanceInProgress);
    let mut members = form_group(
        members
            .into_iter()
            .map(|m| (m.client, m.metadata))
            .collect(),
    )
    .await;
    let leader = leader_of(&members);
    assert!(
        members[leader]
            .joined
            .members
            .iter()
            .any(|(_, m)| *m == meta)
    );
    let generation = members[0].joined.generation_id;

    // Leave, then join with a new member id: a new generation.
    let follower = 1 - leader;
    let old_id = members[follower].joined.member_id.clone();
    members[follower].client.leave().await.expect("leave");
    let meta = members[follower].metadata.clone();
    let again = members[follower]
        .client
        .join(&protocols(&meta))
        .await
        .expect("join");
    assert_ne!(again.member_id, old_id);
    assert!(again.generation_id > generation);
    let (e, _) = heartbeat_until_error(&mut members[leader].client, quiet)
        .await
        .expect("leave + join starts a rebalance");
    assert_eq!(e, GroupError::RebalanceInProgress);
    let members = form_group(
        members
            .into_iter()
            .map(|m| (m.client, m.metadata))
            .collect(),
    )
    .await;
    assert!(members[0].joined.generation_id > generation);
    assert_eq!(members[leader_of(&members)].joined.members.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_that_leaves_triggers_a_rebalance() {
    let _serial = SERIAL.lock().await;
    let broker = start_broker();
    let group = unique("leave");
    let mut members = two_members(&broker, &group).await;
    let before = members[0].joined.generation_id;
    let leaver = leader_of(&members);
    let mut gone = members.remove(leaver);
    gone.client.leave().await.expect("leave");
    assert_eq!(gone.client.member_id(), "");
    assert_eq!(gone.client.generation(), -1);

    let (e, after) = heartbeat_until_error(&mut members[0].client, Duration::from_secs(5))
        .await
        .expect("the survivor sees the leave");
    assert_eq!(e, GroupError::RebalanceInProgress);
    eprintln!("survivor saw the leave after {after:?}");
    let survivor = members.remove(0);
    let members = form_group(vec![(survivor.client, survivor.metadata)]).await;
    assert!(members[0].joined.generation_id > before);
    assert!(members[0].joined.is_leader());
    assert_eq!(members[0].joined.members.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_member_expires() {
    let _serial = SERIAL.lock().await;
    let broker = start_broker();
    let group = unique("drop");
    let mut members = two_members(&broker, &group).await;
    let before = members[0].joined.generation_id;
    let dropped = leader_of(&members);
    drop(members.remove(dropped));

    let (e, after) =
        heartbeat_until_error(&mut members[0].client, SESSION + Duration::from_secs(4))
            .await
            .expect("the survivor sees the dropped member expire");
    eprintln!("survivor saw {e:?} after {after:?}");
    assert_eq!(e, GroupError::RebalanceInProgress);
    let survivor = members.remove(0);
    let members = form_group(vec![(survivor.client, survivor.metadata)]).await;
    // tansu keeps the generation (and names the dropped leader as leader)
    // when a session expires; the client then leaves and joins anew.
    assert!(members[0].joined.generation_id > before);
    assert!(members[0].joined.is_leader());
    assert_eq!(members[0].joined.members.len(), 1);
}
