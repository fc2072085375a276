//! The worker's life in the group: join with what it runs, let the leader
//! compute the incremental cooperative assignment, stop what was revoked
//! and start what was assigned (heartbeating meanwhile), rejoin at once
//! after a revocation, when the leader saw work change, or when a delay
//! for a departed worker's work runs out.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sluice_group::Work;
use sluice_group::assignor::{Clock, Member, Round};
use sluice_group::client::{GroupClient, Joined};
use sluice_group::protocol::{
    Assignment, MemberMetadata, PROTOCOL_NAME, decode_assignment, decode_metadata,
    encode_assignment, encode_metadata,
};
use tokio::sync::watch;

use super::herder::{DistributedHerder, READ_TIMEOUT};

/// A config change waits this long for another before its round starts.
const GATHER_QUIET: Duration = Duration::from_millis(300);
/// ... and at most this long after the first.
const GATHER_MAX: Duration = Duration::from_millis(1500);
/// How long after noticing a round a follower's join is answered (tansu
/// sleeps 3 s first) and its sync done, with a margin.
const FOLLOWER_JOIN_HOLD: Duration = Duration::from_millis(4_000);

/// How far into a round (from the leader's first join) the leader may
/// wait for held work's deadline before it assigns: the others' joins are
/// held about 3 s by tansu, so assigning before then costs no time.
const HOLD_WITHIN_ROUND_MS: u64 = 2_600;

/// Counts consecutive checks that found a problem (`bad`); true once `n`
/// in a row did.
fn in_a_row(count: &mut u32, bad: bool, n: u32) -> bool {
    *count = if bad { count.saturating_add(1) } else { 0 };
    *count >= n
}

/// A monotonic millisecond clock for the assignor.
fn now_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl DistributedHerder {
    fn set_rebalancing(&self, on: bool) {
        self.group.send_if_modified(|g| {
            let changed = g.rebalancing != on;
            g.rebalancing = on;
            changed
        });
    }

    async fn metadata(&self) -> MemberMetadata {
        let owned = self.local.lock().await.owned.clone();
        MemberMetadata {
            url: self.url.clone(),
            config_offset: self.snapshot().offset,
            owned: Some(owned),
        }
    }

    /// The leader's part of a round: every member's assignment.
    async fn assign(
        &self,
        joined: &Joined,
        clock: Instant,
        round_started_ms: u64,
    ) -> Vec<(String, bytes::Bytes)> {
        if let Err(e) = self.config_log.read_to_end(READ_TIMEOUT).await {
            tracing::warn!(error = %e, "leader cannot read the config topic to its end");
        }
        // Status records say where work runs (used for work no member
        // claims); a short wait is enough, they are read continuously.
        match tokio::time::timeout(
            Duration::from_secs(2),
            self.status_log.read_to_end(Duration::from_secs(2)),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "status topic not read to its end before assigning");
            }
            Err(_) => tracing::debug!("status topic not read to its end in 2 s before assigning"),
        }
        let snap = self.snapshot();
        let configured = snap.work();
        let members: Vec<Member> = joined
            .members
            .iter()
            .filter_map(|(id, bytes)| match decode_metadata(bytes) {
                Ok(metadata) => Some(Member {
                    member_id: id.clone(),
                    metadata,
                }),
                Err(e) => {
                    tracing::warn!(member = %id, error = %e, "ignoring a member with unreadable metadata");
                    None
                }
            })
            .collect();
        let mut per_url: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for m in &members {
            per_url
                .entry(m.metadata.url.as_str())
                .or_default()
                .push(m.member_id.as_str());
        }
        for (url, ids) in per_url.iter().filter(|(_, ids)| ids.len() > 1) {
            tracing::info!(
                %url,
                member_ids = ?ids,
                "several member ids with one worker URL (stale ids, or two workers advertising one URL, which must not happen); treated as one worker"
            );
        }
        let reported = self.reported(&configured);
        let round = |now: u64| Round {
            leader_id: &joined.member_id,
            leader_url: &self.url,
            config_offset: snap.offset,
            configured: &configured,
            members: &members,
            reported: &reported,
            clock: Clock {
                // Credit at most 5 s of the round (tansu pauses 3 s in
                // each) so a long round cannot eat the whole delay.
                round_started_ms: round_started_ms.max(now.saturating_sub(5_000)),
                now_ms: now,
            },
        };
        // Work of a departed worker whose delay ends within this round's
        // own wait is released in this round, after the deadline, rather
        // than one round later (each costs seconds): the leader tries the
        // assignment first and, if it would only hold work for a moment
        // more, waits that out.
        let trial = self
            .assignor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .assign(&round(now_ms(clock)));
        let hold_ms = trial
            .values()
            .filter_map(|a| u64::try_from(a.delay_ms).ok().filter(|d| *d > 0))
            .min();
        if let Some(hold_ms) = hold_ms {
            let into_round = now_ms(clock).saturating_sub(round_started_ms);
            if into_round.saturating_add(hold_ms) <= HOLD_WITHIN_ROUND_MS {
                tracing::info!(
                    hold_ms,
                    "a departed worker's work is held until shortly; assigning after its deadline, in this round"
                );
                tokio::time::sleep(Duration::from_millis(hold_ms + 20)).await;
            }
        }
        let result = self
            .assignor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .assign(&round(now_ms(clock)));
        *self
            .last_configured
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(configured);
        tracing::info!(
            generation = joined.generation_id,
            members = members.len(),
            urls = ?per_url.keys().collect::<Vec<_>>(),
            "computed the assignment as leader"
        );
        for m in &members {
            if let Some(a) = result.get(&m.member_id)
                && (!a.assigned.is_empty() || !a.revoked.is_empty())
            {
                tracing::info!(
                    member = %m.member_id,
                    url = %m.metadata.url,
                    assigned = ?a.assigned,
                    revoked = ?a.revoked,
                    owned = a.owned.as_ref().map_or(0, sluice_group::Work::len),
                    "assignment for a member"
                );
            }
        }
        result
            .iter()
            .map(|(id, a)| (id.clone(), encode_assignment(a)))
            .collect()
    }

    /// Where the status topic says configured work runs (not UNASSIGNED),
    /// by worker URL.
    fn reported(&self, configured: &Work) -> BTreeMap<String, Work> {
        use crate::status::State;
        let mut out: BTreeMap<String, Work> = BTreeMap::new();
        let url_of = |s: Option<crate::status::StateInfo>| {
            s.filter(|i| i.state != State::Unassigned)
                .map(|i| self.url_of(&i.worker_id))
        };
        for c in &configured.connectors {
            if let Some(url) = url_of(self.cluster_status.connector(c)) {
                out.entry(url).or_default().connectors.insert(c.clone());
            }
        }
        for t in &configured.tasks {
            if let Some(url) = url_of(self.cluster_status.task(&t.connector, t.task)) {
                out.entry(url).or_default().tasks.insert(t.clone());
            }
        }
        out
    }

    /// Stops revoked work, then starts assigned work. When the leader sent
    /// what this worker runs after the round (`owned`, as Sluice leaders
    /// do), that is followed instead: the leader may have read stale
    /// metadata of this worker (tansu answers with earlier rounds'), and
    /// only its view is consistent with what it gave the others.
    async fn apply(self: &Arc<Self>, a: &Assignment) {
        let mut local = self.local.lock().await;
        let (stop, start) = match &a.owned {
            Some(full) => {
                let mut stop = local.owned.clone();
                stop.remove_all(full);
                let mut start = full.clone();
                start.remove_all(&local.owned);
                let mut extra_stop = stop.clone();
                extra_stop.remove_all(&a.revoked);
                let mut extra_start = start.clone();
                extra_start.remove_all(&a.assigned);
                if !extra_stop.is_empty() || !extra_start.is_empty() {
                    tracing::info!(
                        also_stopping = ?extra_stop,
                        also_starting = ?extra_start,
                        "following the leader's view of this worker beyond the delta (it read stale metadata, kept work where it was, or found it in the status topic)"
                    );
                }
                (stop, start)
            }
            None => (a.revoked.clone(), a.assigned.clone()),
        };
        let stopped: Vec<_> = stop.tasks.iter().cloned().collect();
        self.stop_tasks(&mut local, &stopped, true).await;
        for c in &stop.connectors {
            self.stop_connector(&mut local, c, true).await;
        }
        local.owned.remove_all(&stop);
        local.owned.extend(&start);
        let a = &Assignment {
            assigned: start,
            revoked: stop,
            ..a.clone()
        };
        if !a.assigned.tasks.is_empty()
            && let Err(e) = self.offsets.read_to_end(READ_TIMEOUT).await
        {
            tracing::warn!(error = %e, "offsets topic not read to its end; tasks start from what is known");
        }
        for c in &a.assigned.connectors {
            self.start_connector(&mut local, c).await;
        }
        let snap = self.snapshot();
        for t in &a.assigned.tasks {
            self.start_task(&mut local, t, &snap);
        }
        if !a.revoked.is_empty() || !a.assigned.is_empty() {
            tracing::info!(
                assigned_connectors = ?a.assigned.connectors,
                assigned_tasks = a.assigned.tasks.len(),
                revoked_connectors = ?a.revoked.connectors,
                revoked_tasks = a.revoked.tasks.len(),
                owned_tasks = local.owned.tasks.len(),
                "assignment applied"
            );
        }
    }

    /// Catches up with the config topic up to the assignment's offset.
    async fn catch_up(&self, offset: i64) -> bool {
        let deadline = Instant::now() + READ_TIMEOUT;
        while self.snapshot().offset < offset {
            if Instant::now() > deadline {
                return false;
            }
            let _ = self.config_log.read_to_end(Duration::from_secs(5)).await;
        }
        true
    }

    /// Runs until `stop` turns true: then stops everything and leaves.
    pub async fn run_member(
        self: Arc<Self>,
        mut client: GroupClient,
        mut stop: watch::Receiver<bool>,
    ) {
        let clock = Instant::now();
        let hb = self.cfg.heartbeat_interval;
        // A rejoin this worker starts (not one the coordinator asked for)
        // must open a new generation that every member takes part in. Some
        // coordinators (tansu) answer a stable member's JoinGroup with the
        // current generation or without telling the others, so the member
        // leaves first and joins with a new member id; the leader keys its
        // memory by worker URL, which does not change.
        let mut force = false;
        // A member that rejoins a round another member started sends the
        // metadata it last joined with: tansu holds a follower's JoinGroup
        // 3 s and then treats changed metadata as a reason for yet another
        // generation, which fails this round's sync for everyone. What the
        // member runs now reaches the leader anyway: the leader keeps what
        // it assigned, and a member follows the leader's whole view of it.
        // A rejoin this worker starts (with a new member id) sends fresh
        // metadata.
        let mut last_protocols: Option<[(String, bytes::Bytes); 1]> = None;
        'rounds: loop {
            if *stop.borrow() {
                break;
            }
            if std::mem::take(&mut force) {
                let _ = client.leave().await;
            }
            self.set_rebalancing(true);
            let round_started_ms = now_ms(clock);
            let round_started = tokio::time::Instant::now();
            let protocols = match &last_protocols {
                Some(p) if !client.member_id().is_empty() => p.clone(),
                _ => {
                    let meta = self.metadata().await;
                    [(PROTOCOL_NAME.to_string(), encode_metadata(&meta))]
                }
            };
            last_protocols = Some(protocols.clone());
            let join_started = tokio::time::Instant::now();
            let joined = tokio::select! {
                r = client.join(&protocols) => r,
                _ = stop.changed() => break,
            };
            let joined = match joined {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot join the group; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            // Some coordinators (tansu) answer the leader at once, with
            // the members and metadata of the last round, and hold the
            // others' joins for about 3 s. The leader waits until the
            // others noticed the round (one heartbeat) and joins again
            // (same metadata: same generation) to see who really is in
            // this round and what they run, then syncs before their held
            // joins return. A join that itself took that long (tansu held
            // it: this worker became leader as a follower, the old leader
            // gone) already saw the round as the others see it.
            let notice =
                join_started + (hb + Duration::from_millis(500)).min(Duration::from_millis(2500));
            let joined = if joined.is_leader()
                && joined.members.len() > 1
                && tokio::time::Instant::now() < notice
            {
                tokio::time::sleep_until(notice).await;
                match client.join(&protocols).await {
                    Ok(j) => j,
                    Err(e) => {
                        tracing::info!(error = %e, "leader rejoin failed; rejoining");
                        continue;
                    }
                }
            } else {
                joined
            };
            let assignments = if joined.is_leader() {
                self.assign(&joined, clock, round_started_ms).await
            } else {
                Vec::new()
            };
            let bytes = match client.sync(&joined, assignments).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::info!(error = %e, "group sync failed; rejoining");
                    continue;
                }
            };
            let a = match decode_assignment(&bytes) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(error = %e, "unreadable assignment; rejoining");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            self.generation
                .store(joined.generation_id, Ordering::Release);
            if !joined.is_leader() {
                // A leader's memory is only good while it leads every round.
                self.assignor
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .reset();
            }
            self.group.send_modify(|g| {
                g.member_id = joined.member_id.clone();
                g.leader_id = a.leader.clone();
                g.leader_url = a.leader_url.clone();
            });
            if a.error != 0 {
                tracing::info!("config offsets differ in the group; catching up and rejoining");
                let _ = self.config_log.read_to_end(READ_TIMEOUT).await;
                force = true;
                continue;
            }
            if !self.catch_up(a.config_offset).await {
                tracing::warn!(
                    offset = a.config_offset,
                    "cannot read the config topic up to the assignment; rejoining"
                );
                force = true;
                continue;
            }
            // The round is over: config writes waiting for it go ahead
            // (they serialize with the apply below on the local lock).
            self.set_rebalancing(false);
            // Apply while heartbeating: stopping tasks can take longer than
            // the session timeout.
            let mut rejoin = false;
            {
                let me = self.clone();
                let a2 = a.clone();
                let mut apply = tokio::spawn(async move { me.apply(&a2).await });
                loop {
                    tokio::select! {
                        _ = &mut apply => break,
                        _ = tokio::time::sleep(hb) => {
                            if let Err(e) = client.heartbeat().await {
                                tracing::debug!(error = %e, "heartbeat during apply");
                                rejoin = true;
                            }
                        }
                    }
                }
            }
            self.ready.store(true, Ordering::Release);
            let _ = self.reassert_status();
            // The others may still be finishing this round: they notice it
            // at their next heartbeat and tansu holds a follower's join 3 s
            // before it even reads it. A round this worker starts sooner
            // fails their sync and costs every member another round.
            // (Only a leader that was alone in the round skips this; a
            // follower is never told who else is in it.)
            let followers_done = if joined.is_leader() && joined.members.len() <= 1 {
                round_started
            } else {
                round_started + hb + FOLLOWER_JOIN_HOLD
            };
            // Revoked work that is still configured is assigned in a
            // follow-up round, once the others are done with this one;
            // revoked work that was deleted needs none.
            let mut moved = a.revoked.clone();
            {
                let mut deleted = a.revoked.clone();
                deleted.remove_all(&self.snapshot().work());
                moved.remove_all(&deleted);
            }
            if !moved.is_empty() {
                while !rejoin && tokio::time::Instant::now() < followers_done {
                    tokio::select! {
                        _ = tokio::time::sleep_until(followers_done) => {}
                        _ = tokio::time::sleep(hb) => rejoin = client.heartbeat().await.is_err(),
                        _ = stop.changed() => break 'rounds,
                    }
                }
                force = true;
                continue;
            }
            if rejoin {
                continue;
            }
            // Only the leader opens the round that releases work held for
            // a departed worker; the others follow its rebalance.
            let leads = self.group_view().is_leader();
            let deadline = (a.delay_ms > 0 && leads).then(|| {
                (tokio::time::Instant::now()
                    + Duration::from_millis(u64::try_from(a.delay_ms).unwrap_or(0)))
                .max(followers_done)
            });
            // A config change rebalances once changes stop coming for
            // GATHER_QUIET (at most GATHER_MAX after the first), and not
            // before the others finished this round: a burst of changes
            // (a script creating connectors one after the other, the task
            // configs of connectors started in this round) is assigned in
            // one round. Config writes go ahead meanwhile.
            let mut first_change: Option<tokio::time::Instant> = None;
            let mut rejoin_at: Option<tokio::time::Instant> = None;
            let mut watchdog = tokio::time::interval(Duration::from_secs(5));
            watchdog.reset();
            let mut unrun_checks = 0u32;
            let mut unreachable_checks = 0u32;
            loop {
                let delay = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                };
                let changes_gathered = async {
                    match rejoin_at {
                        Some(t) => tokio::time::sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(hb) => {
                        if let Err(e) = client.heartbeat().await {
                            tracing::info!(error = %e, "rebalance needed");
                            // tansu answers REBALANCE_IN_PROGRESS only to the
                            // member whose heartbeat found another's session
                            // expired, and keeps the generation: the others
                            // learn nothing until this member opens a round,
                            // and a plain rejoin would first sit 3 s in its
                            // join hold to get the old generation back. A
                            // second heartbeat that succeeds tells that case
                            // apart (a real round answers it 27 again).
                            if e == sluice_group::client::GroupError::RebalanceInProgress
                                && client.heartbeat().await.is_ok()
                            {
                                tracing::info!("a member's session expired and the coordinator kept the generation; opening a round");
                                force = true;
                            }
                            continue 'rounds;
                        }
                    }
                    _ = self.rejoin.notified() => {
                        // A wake-up left from before the last round is stale.
                        if self.work_changed() {
                            let now = tokio::time::Instant::now();
                            let first = *first_change.get_or_insert(now);
                            rejoin_at = Some(
                                (now + GATHER_QUIET).min(first + GATHER_MAX).max(followers_done),
                            );
                        }
                    }
                    _ = changes_gathered => {
                        if self.work_changed() {
                            tracing::info!(
                                gathered_ms = first_change.map_or(0, |f| f.elapsed().as_millis()),
                                "connectors or tasks changed; rebalancing"
                            );
                            force = true;
                            continue 'rounds;
                        }
                        first_change = None;
                        rejoin_at = None;
                    }
                    _ = delay => {
                        tracing::info!("scheduled rebalance delay ended; rejoining");
                        force = true;
                        continue 'rounds;
                    }
                    _ = watchdog.tick() => {
                        if self.reassert_status() {
                            tracing::warn!("another worker reports running work this worker runs; rebalancing");
                            force = true;
                            continue 'rounds;
                        }
                        // A coordinator that drops an expired member without
                        // a new generation (tansu does) leaves that worker's
                        // work with it: rebalance when a member (seen from
                        // the leader) or the leader (seen from the others)
                        // does not answer on its REST URL at three checks
                        // in a row (the usual session expiry acts first).
                        let down = self.member_unreachable().await;
                        if in_a_row(&mut unreachable_checks, down, 3) {
                            tracing::warn!("a group member does not answer on its REST URL; rebalancing");
                            force = true;
                            continue 'rounds;
                        }
                        // A coordinator that lets a member miss a generation
                        // (tansu can) leaves work that nobody runs; a new
                        // round after 15 s of that repairs it.
                        if in_a_row(&mut unrun_checks, self.unrun_work(), 3) {
                            tracing::warn!("configured work has run nowhere for 15 s; rebalancing");
                            force = true;
                            continue 'rounds;
                        }
                    }
                    _ = stop.changed() => break 'rounds,
                }
            }
        }
        self.stopping.store(true, Ordering::Release);
        self.stop_all().await;
        if let Err(e) = client.leave().await {
            tracing::debug!(error = %e, "leave group");
        }
        tracing::info!("left the group");
    }

    /// Writes again, with the current generation, the state of each
    /// connector and task running here whose record in the status topic is
    /// another worker's. A former owner that stopped the work reports
    /// UNASSIGNED, and when two workers ran it for a while (a coordinator
    /// answering with stale metadata) that report can come after this
    /// worker's RUNNING and hide it.
    ///
    /// Another worker's UNASSIGNED, or any of its records from an older
    /// generation, is overwritten. A record of another worker from this
    /// generation or a newer one that is not UNASSIGNED means it runs the
    /// work too: nothing is written and `true` is returned (the caller
    /// rebalances, which revokes work claimed twice). Skipped (`false`)
    /// while the local work is locked: this runs between heartbeats.
    fn reassert_status(&self) -> bool {
        use crate::status::State;
        let Ok(local) = self.local.try_lock() else {
            return false;
        };
        let status = &self.worker.status;
        let me = status.worker_id();
        let generation = self.generation.load(Ordering::Acquire);
        let mut twice = false;
        let mut check = |name: &str, task: Option<u32>| {
            let Some((info, written)) = self.cluster_status.record(name, task) else {
                return;
            };
            if info.worker_id == me {
                return;
            }
            if info.state == State::Unassigned || written < generation {
                tracing::info!(connector = %name, task = ?task, other = %info.worker_id, "status topic shows another worker; writing this worker's state again");
                status.republish(name, task);
            } else {
                tracing::warn!(connector = %name, task = ?task, other = %info.worker_id, state = ?info.state, "another worker reports running work this worker runs");
                twice = true;
            }
        };
        for name in local.connectors.keys() {
            check(name, None);
        }
        for id in local.tasks.keys() {
            check(&id.connector, Some(id.task));
        }
        twice
    }

    /// Does a worker this one believes is in the group refuse connections
    /// or not answer on its REST URL within 1.5 s? The leader asks the
    /// members of the round it assigned, the others ask the leader; any
    /// HTTP answer counts as alive. Departed workers whose work is held
    /// are not members, so a long `scheduled.rebalance.max.delay.ms` is
    /// not cut short.
    async fn member_unreachable(&self) -> bool {
        let view = self.group_view();
        let urls: Vec<String> = if view.is_leader() {
            self.assignor
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .worker_urls()
        } else {
            vec![view.leader_url]
        };
        let mine = self.url.trim_end_matches('/');
        let probes = urls
            .iter()
            .filter(|u| !u.is_empty() && u.trim_end_matches('/') != mine)
            .map(|u| async move {
                let url = format!("{}/", u.trim_end_matches('/'));
                let r = self
                    .http
                    .send(
                        hyper::Method::GET,
                        &url,
                        &[],
                        bytes::Bytes::new(),
                        Duration::from_millis(1500),
                    )
                    .await;
                match &r {
                    Err(crate::http_client::HttpError::Unreachable(e)) => {
                        tracing::info!(worker = %u, error = %e, "a group member does not answer on its REST URL");
                        true
                    }
                    // Up but not talking to us (TLS settings that do not
                    // match, say): not a reason to rebalance, a reason to
                    // fix the settings.
                    Err(crate::http_client::HttpError::Failed(e)) => {
                        tracing::error!(worker = %u, error = %e, "a group member answers its REST URL but the call fails; check the workers' TLS settings");
                        false
                    }
                    Ok(_) => false,
                }
            });
        futures::future::join_all(probes)
            .await
            .into_iter()
            .any(|down| down)
    }

    /// Is a configured connector or task (of a connector not STOPPED)
    /// without a state anywhere, or UNASSIGNED?
    fn unrun_work(&self) -> bool {
        use crate::state::TargetState;
        use crate::status::State;
        let idle =
            |s: Option<crate::status::StateInfo>| s.is_none_or(|i| i.state == State::Unassigned);
        self.snapshot().connectors.iter().any(|(name, e)| {
            e.target != TargetState::Stopped
                && (idle(self.cluster_status.connector(name))
                    || (0..u32::try_from(e.tasks.len()).unwrap_or(0))
                        .any(|t| idle(self.cluster_status.task(name, t))))
        })
    }

    /// Stops every task (each flushes and commits) and connector.
    async fn stop_all(&self) {
        let mut local = self.local.lock().await;
        let ids: Vec<_> = local.tasks.keys().cloned().collect();
        self.stop_tasks(&mut local, &ids, true).await;
        let names: Vec<String> = local.connectors.keys().cloned().collect();
        for n in names {
            self.stop_connector(&mut local, &n, true).await;
        }
    }
}
