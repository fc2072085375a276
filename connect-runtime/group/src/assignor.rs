//! The leader's incremental cooperative assignment (Kafka Connect's
//! KIP-415 assignor, simplified). Pure logic: the caller supplies the
//! members' metadata, the leader's config snapshot and a monotonic clock.
//!
//! One round ([`Assignor::assign`]):
//!
//! 1. **Config mismatch.** If a member read the config topic further than
//!    the leader (`config_offset` above the leader's), every member gets
//!    error [`CONFIG_MISMATCH`] with the highest reported offset, nothing
//!    assigned or revoked and no delay; the assignor's state is untouched.
//!    Everyone (the leader too) reads up to that offset and rejoins.
//! 2. **Current work.** A member runs what it reports in `owned` (`None` is
//!    nothing), except work the previous round placed on another member
//!    still present (the leader's memory wins over stale metadata), plus
//!    work no member reports that the status topic shows on its worker, if
//!    the previous round neither placed nor revoked it (see
//!    [`Round::reported`]). Work no longer configured, and work reported by more than
//!    one member, is revoked (from every member reporting it).
//! 3. **Lost work.** The assignor remembers what each worker *URL* ran
//!    after the previous round (member ids change when a worker restarts;
//!    its URL does not). Remembered work that is still configured and that
//!    no member reports now is lost:
//!    - if its URL is among the members (a restarted worker, or one that
//!      missed its assignment), it is given back to that member now;
//!    - otherwise it is held for `scheduled_rebalance_max_delay` from the
//!      start of the round that first saw it lost (see [`Clock`]): assigned to nobody, and every member
//!      gets `delay_ms` = the time left until the earliest deadline, so the
//!      group rebalances then. If the URL comes back before the deadline,
//!      it gets the work back. At or after the deadline, or as soon as a
//!      worker with a URL this assignor never saw joins (which would get it
//!      anyway), held work is released and assigned like new work.
//!
//!    A fresh assignor (a new leader) remembers nothing, so it sees no
//!    lost work: everything configured and not running is unassigned.
//! 4. **Balance.** Connectors and tasks are balanced separately. With `t`
//!    configured items and `n` members, `t % n` members may keep
//!    `⌈t/n⌉` and the others `⌊t/n⌋`; the extra slots go to the most
//!    loaded members first (ties by URL). A member above its share gives up
//!    the excess: work given back in step 3 first, then running work, the
//!    highest names / task ids first. Work taken away is revoked and *not*
//!    reassigned in this round (its owner must stop it first and rejoins;
//!    the next round assigns it); given-back work counts as running, as a
//!    member whose metadata was stale may be running it.
//! 5. **Unassigned work** (configured, not kept, not revoked in this round,
//!    not held) goes one item at a time, in order, to the member with the
//!    fewest items of that kind (ties: fewest items in all, then URL, then
//!    member id), which spreads one connector's tasks across workers.
//!
//! Members are grouped by URL first: one worker is one member, and member
//! ids listed with the same URL (a coordinator answering with stale
//! members) have their claims merged and get the same assignment.
//!
//! Each member's [`Assignment`] carries the delta, as Kafka Connect's:
//! `assigned` (work it did not report owning) and `revoked`; and, as the
//! Sluice extension `owned`, everything it runs after the round, which a
//! Sluice member follows. The assignor then remembers, per URL,
//! `owned − revoked + assigned`. Kafka Connect's backoff between
//! successive revoking rebalances is not implemented.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::protocol::{Assignment, CONFIG_MISMATCH, MemberMetadata, NO_ERROR};
use crate::{TaskId, Work};

/// A group member as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The id the group coordinator gave the member.
    pub member_id: String,
    /// What the member sent in JoinGroup.
    pub metadata: MemberMetadata,
}

/// What the leader knows in one round.
#[derive(Debug, Clone, Copy)]
pub struct Round<'a> {
    /// The leader's member id and REST URL.
    pub leader_id: &'a str,
    pub leader_url: &'a str,
    /// The leader's config snapshot: its offset and every connector and
    /// task in it.
    pub config_offset: i64,
    pub configured: &'a Work,
    /// The members and their metadata, as the coordinator gave them.
    pub members: &'a [Member],
    /// Where the status topic says work runs, by worker URL. Used only for
    /// work that no member claims and that the previous round neither gave
    /// to a worker nor revoked (a new leader's first round): a coordinator
    /// that serves stale metadata (tansu) can hide that a live worker runs
    /// it, and handing it to another would run it twice.
    pub reported: &'a BTreeMap<String, Work>,
    pub clock: Clock,
}

/// When a round happens, in milliseconds of a monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// When the leader started the round (its first JoinGroup). A departed
    /// worker's work is held for the delay from then: the worker was gone
    /// before the round began, and a slow round (tansu pauses 3 s in each)
    /// should not add to the wait. The caller bounds how far back this
    /// goes (Sluice: 5 s), so a long round cannot eat the whole delay.
    pub round_started_ms: u64,
    /// When the assignment is computed.
    pub now_ms: u64,
}

impl Clock {
    /// A round that starts and is assigned at `ms`.
    pub fn at(ms: u64) -> Self {
        Self {
            round_started_ms: ms,
            now_ms: ms,
        }
    }
}

/// The leader's assignor, with the state it keeps between rounds.
#[derive(Debug, Clone)]
pub struct Assignor {
    delay: Duration,
    /// What each worker URL runs after the last round; `None` before the
    /// first round.
    previous: Option<BTreeMap<String, Work>>,
    /// Work of departed URLs, held until its deadline.
    held: BTreeMap<String, Held>,
    /// Work revoked in the last round (assigned in the next).
    revoked: Work,
    /// Every worker URL seen since the last reset.
    seen: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct Held {
    work: Work,
    deadline_ms: u64,
}

impl Assignor {
    /// An assignor that holds departed workers' work for
    /// `scheduled_rebalance_max_delay` (Kafka Connect's
    /// `scheduled.rebalance.max.delay.ms`; zero reassigns it at once).
    pub fn new(scheduled_rebalance_max_delay: Duration) -> Self {
        Self {
            delay: scheduled_rebalance_max_delay,
            previous: None,
            held: BTreeMap::new(),
            revoked: Work::default(),
            seen: BTreeSet::new(),
        }
    }

    /// Forgets the previous rounds, as a fresh leader would. Call it when
    /// this worker was not the leader for the previous generation.
    pub fn reset(&mut self) {
        self.previous = None;
        self.held.clear();
        self.revoked = Work::default();
        self.seen.clear();
    }

    /// The worker URLs of the last round assigned (none after a reset).
    pub fn worker_urls(&self) -> Vec<String> {
        self.previous
            .as_ref()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Work currently held for departed workers (assigned to nobody).
    pub fn held(&self) -> Work {
        let mut work = Work::default();
        for held in self.held.values() {
            work.extend(&held.work);
        }
        work
    }

    /// One rebalance round. Returns an assignment for every member id (a
    /// member id listed twice counts once).
    pub fn assign(&mut self, round: &Round<'_>) -> BTreeMap<String, Assignment> {
        let Round {
            leader_id,
            leader_url,
            config_offset,
            configured,
            members,
            reported,
            clock: Clock {
                round_started_ms,
                now_ms,
            },
        } = *round;
        let mut by_id: BTreeMap<&str, &MemberMetadata> = BTreeMap::new();
        for m in members {
            by_id.entry(m.member_id.as_str()).or_insert(&m.metadata);
        }
        let base = |error: i16, config_offset: i64| Assignment {
            error,
            leader: leader_id.to_owned(),
            leader_url: leader_url.to_owned(),
            config_offset,
            ..Assignment::default()
        };

        let max_offset = by_id.values().map(|m| m.config_offset).max();
        if let Some(max_offset) = max_offset.filter(|&o| o > config_offset) {
            return by_id
                .keys()
                .map(|id| (id.to_string(), base(CONFIG_MISMATCH, max_offset)))
                .collect();
        }
        if by_id.is_empty() {
            return BTreeMap::new();
        }

        // One worker per URL. A coordinator may still list a member id the
        // worker had before (tansu answers the leader with earlier rounds'
        // members): the claims of every id with one URL are merged, and
        // each of those ids gets the same assignment.
        let mut workers: BTreeMap<&str, (Vec<&str>, Work)> = BTreeMap::new();
        for (id, m) in &by_id {
            let (ids, claims) = workers.entry(m.url.as_str()).or_default();
            ids.push(id);
            if let Some(owned) = &m.owned {
                claims.extend(owned);
            }
        }

        // Work the last round placed on a worker that is still here stays
        // there: another URL's claim of it (stale metadata, or a member id
        // that worker had before) is dropped, and its `owned` tells it to
        // stop the work should it run it.
        if let Some(previous) = &self.previous {
            let mut placed: BTreeMap<Item, &str> = BTreeMap::new();
            for (url, work) in previous {
                if workers.contains_key(url.as_str()) {
                    for c in &work.connectors {
                        placed.insert(Item::Connector(c.clone()), url);
                    }
                    for t in &work.tasks {
                        placed.insert(Item::Task(t.clone()), url);
                    }
                }
            }
            for (url, (_, claims)) in &mut workers {
                let elsewhere = |item: Item| placed.get(&item).is_some_and(|owner| owner != url);
                claims
                    .connectors
                    .retain(|c| !elsewhere(Item::Connector(c.clone())));
                claims.tasks.retain(|t| !elsewhere(Item::Task(t.clone())));
            }
        }

        // Work nobody claims but the status topic shows on a member's
        // worker, unless the last round placed or revoked it.
        let mut accounted = std::mem::take(&mut self.revoked);
        for work in self.previous.iter().flat_map(BTreeMap::values) {
            accounted.extend(work);
        }
        for work in self.held.values() {
            accounted.extend(&work.work);
        }
        let mut unclaimed = configured.clone();
        for (_, claims) in workers.values() {
            unclaimed.remove_all(claims);
        }
        unclaimed.remove_all(&accounted);
        for (url, work) in reported {
            let Some((_, claims)) = workers.get_mut(url.as_str()) else {
                continue;
            };
            for c in work.connectors.intersection(&unclaimed.connectors) {
                claims.connectors.insert(c.clone());
            }
            for t in work.tasks.intersection(&unclaimed.tasks) {
                claims.tasks.insert(t.clone());
            }
            unclaimed.remove_all(work);
        }

        // Who runs what now.
        let mut connector_owners: BTreeMap<&str, usize> = BTreeMap::new();
        let mut task_owners: BTreeMap<&TaskId, usize> = BTreeMap::new();
        for (_, owned) in workers.values() {
            for c in &owned.connectors {
                *connector_owners.entry(c.as_str()).or_default() += 1;
            }
            for t in &owned.tasks {
                *task_owners.entry(t).or_default() += 1;
            }
        }

        // Keep what is configured and run once; revoke the rest.
        let mut slots: Vec<Slot<'_>> = workers
            .iter()
            .map(|(url, (ids, owned))| {
                let mut slot = Slot {
                    ids: ids.clone(),
                    url,
                    connectors: Part::default(),
                    tasks: Part::default(),
                };
                for c in &owned.connectors {
                    let single = connector_owners.get(c.as_str()) == Some(&1);
                    if single && configured.connectors.contains(c) {
                        slot.connectors.kept.insert(c.clone());
                    } else {
                        slot.connectors.revoked.insert(c.clone());
                    }
                }
                for t in &owned.tasks {
                    let single = task_owners.get(t) == Some(&1);
                    if single && configured.tasks.contains(t) {
                        slot.tasks.kept.insert(t.clone());
                    } else {
                        slot.tasks.revoked.insert(t.clone());
                    }
                }
                slot
            })
            .collect();

        let by_url: BTreeMap<&str, usize> = slots
            .iter()
            .enumerate()
            .map(|(i, slot)| (slot.url, i))
            .collect();

        // Lost work: remembered, still configured, run by nobody.
        let mut claimed = Work::default();
        let lost = |work: &Work, claimed: &mut Work| {
            let mut out = Work::default();
            for c in &work.connectors {
                if configured.connectors.contains(c)
                    && !connector_owners.contains_key(c.as_str())
                    && claimed.connectors.insert(c.clone())
                {
                    out.connectors.insert(c.clone());
                }
            }
            for t in &work.tasks {
                if configured.tasks.contains(t)
                    && !task_owners.contains_key(t)
                    && claimed.tasks.insert(t.clone())
                {
                    out.tasks.insert(t.clone());
                }
            }
            out
        };
        let delay_ms = u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX);
        let mut new_url_joined = false;
        let mut still_held = BTreeMap::new();
        let mut returned: Vec<(usize, Work)> = Vec::new();
        if let Some(previous) = self.previous.take() {
            // New: a URL this leader has never seen. A worker that comes
            // back after its held work was released is not new (a live
            // worker the coordinator left out of one round must not lose
            // its work to it at once).
            new_url_joined = by_url.keys().any(|url| {
                !previous.contains_key(*url)
                    && !self.held.contains_key(*url)
                    && !self.seen.contains(*url)
            });
            for (url, work) in &previous {
                match by_url.get(url.as_str()) {
                    Some(&i) => returned.push((i, lost(work, &mut claimed))),
                    // Filtered with the rest of the held work below.
                    None => self
                        .held
                        .entry(url.clone())
                        .or_insert_with(|| Held {
                            work: Work::default(),
                            deadline_ms: round_started_ms.saturating_add(delay_ms),
                        })
                        .work
                        .extend(work),
                }
            }
        }
        for (url, held) in std::mem::take(&mut self.held) {
            let work = lost(&held.work, &mut claimed);
            if work.is_empty() {
                continue;
            }
            if let Some(&i) = by_url.get(url.as_str()) {
                returned.push((i, work));
            } else if !new_url_joined && now_ms < held.deadline_ms {
                still_held.insert(
                    url,
                    Held {
                        work,
                        deadline_ms: held.deadline_ms,
                    },
                );
            }
            // Otherwise released: it is unassigned below.
        }
        self.held = still_held;
        for (i, work) in returned {
            if let Some(slot) = slots.get_mut(i) {
                slot.connectors.returned.extend(work.connectors);
                slot.tasks.returned.extend(work.tasks);
            }
        }

        // Balance, then hand out what nobody keeps.
        let keys: Vec<(&str, &str)> = slots
            .iter()
            .map(|s| (s.url, s.ids.first().copied().unwrap_or_default()))
            .collect();
        let held = self.held();
        {
            let mut parts: Vec<&mut Part<String>> =
                slots.iter_mut().map(|s| &mut s.connectors).collect();
            trim(configured.connectors.len(), &mut parts, &keys);
        }
        {
            let mut parts: Vec<&mut Part<TaskId>> =
                slots.iter_mut().map(|s| &mut s.tasks).collect();
            trim(configured.tasks.len(), &mut parts, &keys);
        }
        let unassigned_connectors: Vec<String> = configured
            .connectors
            .iter()
            .filter(|c| !held.connectors.contains(*c) && !slots.iter().any(|s| s.connectors.has(c)))
            .cloned()
            .collect();
        let unassigned_tasks: Vec<TaskId> = configured
            .tasks
            .iter()
            .filter(|t| !held.tasks.contains(*t) && !slots.iter().any(|s| s.tasks.has(t)))
            .cloned()
            .collect();
        {
            let task_loads: Vec<usize> = slots.iter().map(|s| s.tasks.load()).collect();
            let mut parts: Vec<&mut Part<String>> =
                slots.iter_mut().map(|s| &mut s.connectors).collect();
            fill(unassigned_connectors, &mut parts, &task_loads, &keys);
        }
        {
            let connector_loads: Vec<usize> = slots.iter().map(|s| s.connectors.load()).collect();
            let mut parts: Vec<&mut Part<TaskId>> =
                slots.iter_mut().map(|s| &mut s.tasks).collect();
            fill(unassigned_tasks, &mut parts, &connector_loads, &keys);
        }

        // Remember what each URL runs after this round.
        let mut previous: BTreeMap<String, Work> = BTreeMap::new();
        for slot in &slots {
            let work = previous.entry(slot.url.to_owned()).or_default();
            work.connectors.extend(slot.connectors.after());
            work.tasks.extend(slot.tasks.after());
        }
        self.seen.extend(previous.keys().cloned());
        self.previous = Some(previous);
        for slot in &slots {
            self.revoked
                .connectors
                .extend(slot.connectors.revoked.iter().cloned());
            self.revoked
                .tasks
                .extend(slot.tasks.revoked.iter().cloned());
        }

        let delay = self
            .held
            .values()
            .map(|h| h.deadline_ms.saturating_sub(now_ms))
            .min()
            .map_or(0, |ms| i32::try_from(ms).unwrap_or(i32::MAX));
        let mut out = BTreeMap::new();
        for slot in slots {
            let mut a = base(NO_ERROR, config_offset);
            a.assigned.connectors = slot.connectors.delta();
            a.assigned.tasks = slot.tasks.delta();
            a.owned = Some(Work {
                connectors: slot.connectors.after().collect(),
                tasks: slot.tasks.after().collect(),
            });
            a.revoked.connectors = slot.connectors.revoked;
            a.revoked.tasks = slot.tasks.revoked;
            a.delay_ms = delay;
            for id in slot.ids {
                out.insert(id.to_owned(), a.clone());
            }
        }
        out
    }
}

/// A connector or a task, as a key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Connector(String),
    Task(TaskId),
}

/// One worker's work during a round.
#[derive(Debug)]
struct Slot<'a> {
    /// Its member ids (one, unless the coordinator listed stale ones).
    ids: Vec<&'a str>,
    url: &'a str,
    connectors: Part<String>,
    tasks: Part<TaskId>,
}

/// One member's connectors or tasks during a round.
#[derive(Debug)]
struct Part<T> {
    /// Running and staying.
    kept: BTreeSet<T>,
    /// Lost by this member's URL and given back to it.
    returned: BTreeSet<T>,
    /// Running and to be stopped.
    revoked: BTreeSet<T>,
    /// Unassigned work handed to it.
    assigned: BTreeSet<T>,
}

impl<T> Default for Part<T> {
    fn default() -> Self {
        Self {
            kept: BTreeSet::new(),
            returned: BTreeSet::new(),
            revoked: BTreeSet::new(),
            assigned: BTreeSet::new(),
        }
    }
}

impl<T: Ord + Clone> Part<T> {
    /// What it runs after this round.
    fn load(&self) -> usize {
        self.kept.len() + self.returned.len() + self.assigned.len()
    }

    /// Whether `item` is accounted for by this member (not unassigned).
    fn has(&self, item: &T) -> bool {
        self.kept.contains(item)
            || self.returned.contains(item)
            || self.revoked.contains(item)
            || self.assigned.contains(item)
    }

    fn after(&self) -> impl Iterator<Item = T> + '_ {
        self.kept
            .iter()
            .chain(&self.returned)
            .chain(&self.assigned)
            .cloned()
    }

    /// What it must start: given back and newly assigned.
    fn delta(&self) -> BTreeSet<T> {
        self.returned.union(&self.assigned).cloned().collect()
    }
}

/// Cuts every member down to its share of `total` items: `total % n`
/// members (most loaded first, then by URL) may keep one above the floor.
/// Returned work goes first, then running work, highest first; both are
/// revoked (assigned elsewhere in the next round, never in this one):
/// work "returned" to a member whose metadata was stale may well be
/// running there, and handing it to another member in the same round
/// would run it twice.
fn trim<T: Ord + Clone>(total: usize, parts: &mut [&mut Part<T>], keys: &[(&str, &str)]) {
    let n = parts.len();
    if n == 0 {
        return;
    }
    let floor = total / n;
    let mut extras = total % n;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let load = |i: usize| parts.get(i).map_or(0, |p| p.load());
        load(b).cmp(&load(a)).then(keys.get(a).cmp(&keys.get(b)))
    });
    for i in order {
        let Some(part) = parts.get_mut(i) else {
            continue;
        };
        let load = part.load();
        if load <= floor {
            continue;
        }
        let share = if extras > 0 {
            extras -= 1;
            floor + 1
        } else {
            floor
        };
        for _ in share..load {
            match part.returned.pop_last().or_else(|| part.kept.pop_last()) {
                Some(item) => {
                    part.revoked.insert(item);
                }
                None => break,
            }
        }
    }
}

/// Hands `items` out one at a time to the member with the fewest of this
/// kind (ties: fewest in all, then URL, then member id).
fn fill<T: Ord + Clone>(
    items: Vec<T>,
    parts: &mut [&mut Part<T>],
    other_loads: &[usize],
    keys: &[(&str, &str)],
) {
    for item in items {
        let least = (0..parts.len()).min_by_key(|&i| {
            let load = parts.get(i).map_or(0, |p| p.load());
            let other = other_loads.get(i).copied().unwrap_or(0);
            (load, load + other, keys.get(i))
        });
        if let Some(part) = least.and_then(|i| parts.get_mut(i)) {
            part.assigned.insert(item);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DELAY: Duration = Duration::from_secs(10);

    fn work(connectors: &[&str], tasks: &[(&str, u32)]) -> Work {
        Work {
            connectors: connectors.iter().map(|c| c.to_string()).collect(),
            tasks: tasks.iter().map(|(c, t)| TaskId::new(*c, *t)).collect(),
        }
    }

    fn tasks(tasks: &[(&str, u32)]) -> Work {
        work(&[], tasks)
    }

    /// Connectors with that many tasks each.
    fn config(connectors: &[(&str, u32)]) -> Work {
        let mut w = Work::default();
        for (c, n) in connectors {
            w.connectors.insert(c.to_string());
            for t in 0..*n {
                w.tasks.insert(TaskId::new(*c, t));
            }
        }
        w
    }

    /// A group whose members apply every assignment they get.
    struct Sim {
        assignor: Assignor,
        /// member id -> its metadata
        members: BTreeMap<String, MemberMetadata>,
        config: Work,
        offset: i64,
        now: u64,
        /// Whether the leader sees where work runs (the status topic).
        status: bool,
    }

    impl Sim {
        fn new(config: Work, members: &[&str]) -> Self {
            let mut sim = Sim {
                assignor: Assignor::new(DELAY),
                members: BTreeMap::new(),
                config,
                offset: 5,
                now: 1_000,
                status: false,
            };
            for id in members {
                sim.join(id, &format!("w{}", &id[1..]));
            }
            sim
        }

        /// Three workers m1..m3 (URLs http://w1/..) running connectors a
        /// and b with 3 tasks each, after the first round.
        fn three_workers() -> Self {
            let mut sim = Sim::new(config(&[("a", 3), ("b", 3)]), &["m1", "m2", "m3"]);
            sim.settle();
            sim
        }

        fn join(&mut self, id: &str, worker: &str) {
            let metadata = MemberMetadata {
                url: format!("http://{worker}/"),
                config_offset: self.offset,
                owned: None,
            };
            self.members.insert(id.to_string(), metadata);
        }

        fn leave(&mut self, id: &str) {
            self.members.remove(id);
        }

        fn member_list(&self) -> Vec<Member> {
            self.members
                .iter()
                .map(|(id, metadata)| Member {
                    member_id: id.clone(),
                    metadata: metadata.clone(),
                })
                .collect()
        }

        /// A round in which the leader sees every member as it is.
        fn round(&mut self) -> BTreeMap<String, Assignment> {
            let members = self.member_list();
            self.round_seeing(members)
        }

        /// A round in which the leader sees `view` (stale metadata, or
        /// member ids that are gone, as tansu can answer). Members apply
        /// `owned` as a Sluice member does; where the leader saw a member
        /// as it is, that is the delta applied. The returned assignments
        /// have `owned` taken out.
        fn round_seeing(&mut self, view: Vec<Member>) -> BTreeMap<String, Assignment> {
            // The status topic, when shown, tells the truth.
            let mut reported: BTreeMap<String, Work> = BTreeMap::new();
            if self.status {
                for m in self.members.values() {
                    reported
                        .entry(m.url.clone())
                        .or_default()
                        .extend(&m.owned.clone().unwrap_or_default());
                }
            }
            let mut out = self.assignor.assign(&Round {
                leader_id: "leader",
                leader_url: "http://leader/",
                config_offset: self.offset,
                configured: &self.config,
                members: &view,
                reported: &reported,
                clock: Clock::at(self.now),
            });
            let ids: BTreeSet<&String> = view.iter().map(|m| &m.member_id).collect();
            assert_eq!(out.keys().collect::<BTreeSet<_>>(), ids);
            check_round(&self.config, &view, &reported, &out);
            for (id, a) in &mut out {
                let owned = a.owned.take();
                if a.error != NO_ERROR {
                    assert_eq!(owned, None);
                    continue;
                }
                let owned = owned.expect("a Sluice leader sends owned");
                let Some(m) = self.members.get_mut(id) else {
                    continue; // a member id that is gone
                };
                if view.iter().any(|v| v.member_id == *id && v.metadata == *m) {
                    let mut delta = m.owned.clone().unwrap_or_default();
                    delta.remove_all(&a.revoked);
                    delta.extend(&a.assigned);
                    if view.iter().filter(|v| v.metadata.url == m.url).count() == 1 {
                        assert_eq!(delta, owned, "owned is the delta applied");
                    }
                }
                m.owned = Some(owned);
            }
            out
        }

        fn owned(&self, id: &str) -> Work {
            self.members[id].owned.clone().unwrap_or_default()
        }

        /// Rounds, `DELAY` apart, until one changes nothing (at most 5).
        fn settle(&mut self) {
            for _ in 0..5 {
                let out = self.round();
                if out.values().all(is_quiet) {
                    return;
                }
                self.now += DELAY.as_millis() as u64;
            }
            panic!("no stable assignment after 5 rounds");
        }

        /// Everything configured runs exactly once and loads differ by at
        /// most one, for connectors and tasks alike.
        fn assert_balanced(&self) {
            let mut all = Work::default();
            let mut count = 0;
            for m in self.members.values() {
                let owned = m.owned.clone().unwrap_or_default();
                count += owned.len();
                all.extend(&owned);
            }
            assert_eq!(all, self.config);
            assert_eq!(count, self.config.len(), "something runs twice");
            let connectors: Vec<usize> = self
                .members
                .values()
                .map(|m| m.owned.as_ref().map_or(0, |o| o.connectors.len()))
                .collect();
            let tasks: Vec<usize> = self
                .members
                .values()
                .map(|m| m.owned.as_ref().map_or(0, |o| o.tasks.len()))
                .collect();
            for loads in [connectors, tasks] {
                let (min, max) = (loads.iter().min(), loads.iter().max());
                assert!(max.unwrap() - min.unwrap() <= 1, "unbalanced: {loads:?}");
            }
        }
    }

    fn is_quiet(a: &Assignment) -> bool {
        a.error == NO_ERROR && a.assigned.is_empty() && a.revoked.is_empty() && a.delay_ms == 0
    }

    fn delta(assigned: Work, revoked: Work, delay_ms: i32) -> Assignment {
        Assignment {
            error: NO_ERROR,
            leader: "leader".into(),
            leader_url: "http://leader/".into(),
            config_offset: 5,
            assigned,
            revoked,
            delay_ms,
            owned: None,
        }
    }

    fn quiet() -> Assignment {
        delta(Work::default(), Work::default(), 0)
    }

    fn assigned(w: Work) -> Assignment {
        delta(w, Work::default(), 0)
    }

    fn revoked(w: Work) -> Assignment {
        delta(Work::default(), w, 0)
    }

    fn waiting(delay_ms: i32) -> Assignment {
        delta(Work::default(), Work::default(), delay_ms)
    }

    fn expect(pairs: &[(&str, Assignment)]) -> BTreeMap<String, Assignment> {
        pairs
            .iter()
            .map(|(id, a)| (id.to_string(), a.clone()))
            .collect()
    }

    /// Per worker URL (claims of its member ids merged, every id given the
    /// same assignment): revoked work was claimed, assigned work was not
    /// and is configured, `owned` holds what was assigned and nothing
    /// revoked, and after the round nothing runs on two workers.
    fn check_round(
        config: &Work,
        members: &[Member],
        reported: &BTreeMap<String, Work>,
        out: &BTreeMap<String, Assignment>,
    ) {
        let mut connectors: BTreeMap<String, usize> = BTreeMap::new();
        let mut tasks: BTreeMap<TaskId, usize> = BTreeMap::new();
        let mut by_url: BTreeMap<&str, (Work, &Assignment)> = BTreeMap::new();
        for m in members {
            let a = &out[&m.member_id];
            let (claims, first) = by_url
                .entry(m.metadata.url.as_str())
                .or_insert((Work::default(), a));
            assert_eq!(*first, a, "one URL, one assignment");
            if let Some(owned) = &m.metadata.owned {
                claims.extend(owned);
            }
        }
        let mut all_assigned = Work::default();
        for a in out.values() {
            all_assigned.extend(&a.assigned);
        }
        for (url, (owned, a)) in by_url {
            let mut known = owned.clone();
            if let Some(r) = reported.get(url) {
                known.extend(r);
            }
            if a.error != NO_ERROR {
                assert!(a.assigned.is_empty() && a.revoked.is_empty());
                continue;
            }
            // Revoked: what the member claims or is seen running, or work
            // the leader placed there that stale metadata left out (it may
            // run there), which then goes to nobody in this round.
            let mut unclaimed = a.revoked.clone();
            unclaimed.remove_all(&known);
            assert!(
                unclaimed.connectors.is_disjoint(&all_assigned.connectors)
                    && unclaimed.tasks.is_disjoint(&all_assigned.tasks),
                "revoked from {url} and handed out in the same round: {unclaimed:?}"
            );
            assert!(a.assigned.connectors.is_disjoint(&owned.connectors));
            assert!(a.assigned.tasks.is_disjoint(&owned.tasks));
            assert!(a.assigned.connectors.is_subset(&config.connectors));
            assert!(a.assigned.tasks.is_subset(&config.tasks));
            // `owned` is the claims minus revoked plus assigned, except
            // claims the leader's memory places elsewhere, plus work the
            // status topic shows on the worker.
            let owned = a.owned.clone().expect("a Sluice leader sends owned");
            assert!(a.assigned.connectors.is_subset(&owned.connectors));
            assert!(a.assigned.tasks.is_subset(&owned.tasks));
            assert!(a.revoked.connectors.is_disjoint(&owned.connectors));
            assert!(a.revoked.tasks.is_disjoint(&owned.tasks));
            assert!(owned.connectors.is_subset(&config.connectors));
            assert!(owned.tasks.is_subset(&config.tasks));
            let after = owned;
            for c in after.connectors {
                *connectors.entry(c).or_default() += 1;
            }
            for t in after.tasks {
                *tasks.entry(t).or_default() += 1;
            }
        }
        for (c, n) in connectors {
            assert_eq!(n, 1, "connector {c} runs on {n} members");
        }
        for (t, n) in tasks {
            assert_eq!(n, 1, "task {t} runs on {n} members");
        }
    }

    #[test]
    fn first_round_spreads_connectors_and_tasks_evenly() {
        let mut sim = Sim::new(config(&[("a", 3), ("b", 3)]), &["m1", "m2", "m3"]);
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", assigned(work(&["a"], &[("a", 1), ("b", 1)]))),
                ("m2", assigned(work(&["b"], &[("a", 2), ("b", 2)]))),
                ("m3", assigned(tasks(&[("a", 0), ("b", 0)]))),
            ])
        );
    }

    #[test]
    fn stable_group_changes_nothing() {
        let mut sim = Sim::three_workers();
        let before: Vec<Work> = ["m1", "m2", "m3"].iter().map(|m| sim.owned(m)).collect();
        for _ in 0..3 {
            sim.now += 60_000;
            let out = sim.round();
            assert_eq!(
                out,
                expect(&[("m1", quiet()), ("m2", quiet()), ("m3", quiet())])
            );
        }
        let after: Vec<Work> = ["m1", "m2", "m3"].iter().map(|m| sim.owned(m)).collect();
        assert_eq!(before, after);
        sim.assert_balanced();
    }

    #[test]
    fn joining_member_causes_only_excess_revocations() {
        let mut sim = Sim::three_workers();
        sim.join("m4", "w4");
        // 6 tasks over 4 members: two may keep 2, the others 1. m3 gives
        // up its highest task; 2 connectors over 4 members move nothing.
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", quiet()),
                ("m2", quiet()),
                ("m3", revoked(tasks(&[("b", 0)]))),
                ("m4", quiet()),
            ])
        );
        // m3 stopped b-0: it goes to m4 and nothing else moves.
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", quiet()),
                ("m2", quiet()),
                ("m3", quiet()),
                ("m4", assigned(tasks(&[("b", 0)]))),
            ])
        );
        assert_eq!(sim.owned("m1"), work(&["a"], &[("a", 1), ("b", 1)]));
        assert_eq!(sim.owned("m2"), work(&["b"], &[("a", 2), ("b", 2)]));
        assert_eq!(sim.owned("m3"), tasks(&[("a", 0)]));
        assert_eq!(sim.owned("m4"), tasks(&[("b", 0)]));
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn departed_worker_work_is_held_until_the_deadline() {
        let mut sim = Sim::three_workers();
        sim.leave("m3");
        sim.now = 2_000;
        assert_eq!(
            sim.round(),
            expect(&[("m1", waiting(10_000)), ("m2", waiting(10_000))])
        );
        assert_eq!(sim.assignor.held(), tasks(&[("a", 0), ("b", 0)]));

        // A rebalance in between keeps holding, with the time left.
        sim.now = 7_500;
        assert_eq!(
            sim.round(),
            expect(&[("m1", waiting(4_500)), ("m2", waiting(4_500))])
        );

        // At the deadline the held work is spread like new work.
        sim.now = 12_000;
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", assigned(tasks(&[("a", 0)]))),
                ("m2", assigned(tasks(&[("b", 0)]))),
            ])
        );
        assert!(sim.assignor.held().is_empty());
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn departed_worker_returning_before_the_deadline_gets_its_work_back() {
        let mut sim = Sim::three_workers();
        sim.leave("m3");
        sim.now = 2_000;
        sim.round();
        // The worker restarts: same URL, new member id, owns nothing.
        sim.now = 6_000;
        sim.join("m3-new", "w3");
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", quiet()),
                ("m2", quiet()),
                ("m3-new", assigned(tasks(&[("a", 0), ("b", 0)]))),
            ])
        );
        assert!(sim.assignor.held().is_empty());
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn restarted_worker_gets_its_work_back_at_once() {
        let mut sim = Sim::three_workers();
        // Restarted between two rounds: new member id, same URL.
        sim.leave("m2");
        sim.join("m2-new", "w2");
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", quiet()),
                ("m2-new", assigned(work(&["b"], &[("a", 2), ("b", 2)]))),
                ("m3", quiet()),
            ])
        );
    }

    #[test]
    fn member_that_missed_its_assignment_gets_it_again() {
        let mut sim = Sim::three_workers();
        sim.members.get_mut("m3").unwrap().owned = Some(Work::default());
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", quiet()),
                ("m2", quiet()),
                ("m3", assigned(tasks(&[("a", 0), ("b", 0)]))),
            ])
        );
    }

    #[test]
    fn the_delay_counts_from_the_start_of_the_round() {
        let mut sim = Sim::three_workers();
        sim.leave("m3");
        let members = sim.member_list();
        let configured = sim.config.clone();
        let start = sim.now + 1;
        // A round that took 4 s and noticed the departure: 6 s left.
        let none = BTreeMap::new();
        let round = |clock| Round {
            leader_id: "leader",
            leader_url: "http://leader/",
            config_offset: 5,
            configured: &configured,
            members: &members,
            reported: &none,
            clock,
        };
        let out = sim.assignor.assign(&round(Clock {
            round_started_ms: start,
            now_ms: start + 4_000,
        }));
        assert_eq!(out["m1"].delay_ms, 6_000);
        // A round longer than the delay hands the work out at once.
        let out = sim.assignor.assign(&round(Clock {
            round_started_ms: start + 20_000,
            now_ms: start + 20_000 + 11_000,
        }));
        assert!(sim.assignor.held().is_empty());
        let mut given = Work::default();
        for a in out.values() {
            assert_eq!(a.delay_ms, 0);
            given.extend(&a.assigned);
        }
        assert_eq!(given, tasks(&[("a", 0), ("b", 0)]));
    }

    #[test]
    fn new_worker_takes_held_work_at_once() {
        let mut sim = Sim::three_workers();
        sim.leave("m3");
        sim.now = 2_000;
        sim.round();
        sim.now = 3_000;
        sim.join("m4", "w4");
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", quiet()),
                ("m2", quiet()),
                ("m4", assigned(tasks(&[("a", 0), ("b", 0)]))),
            ])
        );
        assert!(sim.assignor.held().is_empty());
    }

    #[test]
    fn a_worker_seen_before_does_not_release_held_work() {
        let mut sim = Sim::three_workers();
        // w3 leaves and its work is handed out after the delay.
        sim.leave("m3");
        sim.round();
        sim.now += DELAY.as_millis() as u64;
        sim.settle();
        // Then w2 drops out of a round while w3 comes back: w2's work is
        // held for it, not given to w3 at once.
        let w2_work = sim.owned("m2");
        sim.leave("m2");
        sim.join("m3-new", "w3");
        sim.now += 1;
        let out = sim.round();
        assert!(out.values().all(|a| a.delay_ms > 0), "{out:?}");
        assert_eq!(sim.assignor.held(), w2_work);
        assert!(out["m3-new"].assigned.is_empty());
    }

    #[test]
    fn worker_replaced_in_one_round_hands_its_work_to_the_new_one() {
        let mut sim = Sim::three_workers();
        sim.leave("m3");
        sim.join("m4", "w4");
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", quiet()),
                ("m2", quiet()),
                ("m4", assigned(tasks(&[("a", 0), ("b", 0)]))),
            ])
        );
    }

    #[test]
    fn zero_delay_reassigns_lost_work_at_once() {
        let mut sim = Sim::three_workers();
        sim.assignor.delay = Duration::ZERO;
        sim.leave("m3");
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", assigned(tasks(&[("a", 0)]))),
                ("m2", assigned(tasks(&[("b", 0)]))),
            ])
        );
    }

    #[test]
    fn held_work_that_is_deleted_is_dropped() {
        let mut sim = Sim::three_workers();
        sim.leave("m3");
        sim.now = 2_000;
        sim.round();
        sim.config = config(&[("a", 3)]);
        sim.now = 3_000;
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", delta(Work::default(), tasks(&[("b", 1)]), 9_000)),
                (
                    "m2",
                    delta(Work::default(), work(&["b"], &[("b", 2)]), 9_000)
                ),
            ])
        );
        assert_eq!(sim.assignor.held(), tasks(&[("a", 0)]));
        sim.now = 12_000;
        assert_eq!(
            sim.round(),
            expect(&[("m1", quiet()), ("m2", assigned(tasks(&[("a", 0)])))])
        );
    }

    #[test]
    fn deleted_connectors_and_tasks_are_revoked() {
        let mut sim = Sim::three_workers();
        // b goes from 3 tasks to 1 and c appears.
        sim.config = config(&[("a", 3), ("b", 1), ("c", 1)]);
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", delta(tasks(&[("c", 0)]), tasks(&[("b", 1)]), 0)),
                ("m2", revoked(tasks(&[("b", 2)]))),
                ("m3", assigned(work(&["c"], &[]))),
            ])
        );
        // b is deleted.
        sim.config = config(&[("a", 3), ("c", 1)]);
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", quiet()),
                ("m2", revoked(work(&["b"], &[]))),
                ("m3", revoked(tasks(&[("b", 0)]))),
            ])
        );
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn work_run_twice_is_revoked_from_every_owner() {
        let mut sim = Sim::new(config(&[("a", 2)]), &["m1", "m2"]);
        sim.members.get_mut("m1").unwrap().owned = Some(work(&["a"], &[("a", 0)]));
        sim.members.get_mut("m2").unwrap().owned = Some(tasks(&[("a", 0), ("a", 1)]));
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", revoked(tasks(&[("a", 0)]))),
                ("m2", revoked(tasks(&[("a", 0)]))),
            ])
        );
        // Once both stopped it, it goes to the one with fewer tasks.
        assert_eq!(
            sim.round(),
            expect(&[("m1", assigned(tasks(&[("a", 0)]))), ("m2", quiet())])
        );
    }

    #[test]
    fn config_mismatch_assigns_nothing() {
        let mut sim = Sim::three_workers();
        sim.members.get_mut("m2").unwrap().config_offset = 9;
        sim.leave("m3");
        let mismatch = Assignment {
            error: CONFIG_MISMATCH,
            leader: "leader".into(),
            leader_url: "http://leader/".into(),
            config_offset: 9,
            ..Assignment::default()
        };
        assert_eq!(
            sim.round(),
            expect(&[("m1", mismatch.clone()), ("m2", mismatch)])
        );
        assert!(sim.assignor.held().is_empty());
        // The leader caught up: the round goes on from the last good one.
        sim.offset = 9;
        sim.now = 2_000;
        let out = sim.round();
        assert_eq!(out["m1"].config_offset, 9);
        assert_eq!(out["m1"].delay_ms, 10_000);
        assert_eq!(sim.assignor.held(), tasks(&[("a", 0), ("b", 0)]));
    }

    #[test]
    fn single_member_gets_everything() {
        let c = config(&[("a", 2), ("b", 1)]);
        let mut sim = Sim::new(c.clone(), &["m1"]);
        assert_eq!(sim.round(), expect(&[("m1", assigned(c.clone()))]));
        assert_eq!(sim.owned("m1"), c);
        assert_eq!(sim.round(), expect(&[("m1", quiet())]));
    }

    #[test]
    fn fresh_leader_sees_no_lost_work() {
        let mut sim = Sim::new(config(&[("a", 3), ("b", 3)]), &["m1", "m2", "m3"]);
        sim.members.get_mut("m1").unwrap().owned = Some(work(&["a"], &[("a", 1), ("b", 1)]));
        sim.members.get_mut("m2").unwrap().owned = Some(work(&["b"], &[("a", 2), ("b", 2)]));
        // m3 (just restarted) runs nothing; a-0 and b-0 are not held.
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", quiet()),
                ("m2", quiet()),
                ("m3", assigned(tasks(&[("a", 0), ("b", 0)]))),
            ])
        );
    }

    #[test]
    fn reset_forgets_previous_rounds() {
        let mut sim = Sim::three_workers();
        sim.leave("m3");
        sim.now = 2_000;
        sim.round();
        assert_eq!(sim.assignor.worker_urls(), vec!["http://w1/", "http://w2/"]);
        sim.assignor.reset();
        assert!(sim.assignor.held().is_empty());
        assert!(sim.assignor.worker_urls().is_empty());
        assert_eq!(
            sim.round(),
            expect(&[
                ("m1", assigned(tasks(&[("a", 0)]))),
                ("m2", assigned(tasks(&[("b", 0)]))),
            ])
        );
    }

    #[test]
    fn no_members_no_assignments() {
        let mut a = Assignor::new(DELAY);
        let out = a.assign(&Round {
            leader_id: "l",
            leader_url: "u",
            config_offset: 0,
            configured: &config(&[("a", 1)]),
            members: &[],
            reported: &BTreeMap::new(),
            clock: Clock::at(0),
        });
        assert!(out.is_empty());
    }

    #[test]
    fn random_membership_changes_never_double_assign_and_settle_balanced() {
        for seed in [0x2545_f491_4f6c_dd1d, 1, 0xdead_beef, 42] {
            random_walk(seed, false);
        }
    }

    #[test]
    fn stale_member_views_never_strand_work_and_still_settle() {
        for seed in [7, 0x5eed_cafe, 99, 0x1234_5678_9abc] {
            random_walk(seed, true);
        }
    }

    /// A member id a restarted worker had before, still listed with the
    /// work it ran then, does not take back work the last round moved to
    /// another worker (tansu lists such ids).
    /// tansu answers with a member's metadata from before its last round:
    /// a task it was just given is missing from its claims. When a new
    /// worker joins in that round, the task must not go to another member
    /// while the first may still run it: it is revoked, then reassigned.
    #[test]
    fn work_missing_from_stale_metadata_is_not_handed_to_another_in_the_same_round() {
        let mut sim = Sim::three_workers();
        let owned = sim.owned("m2");
        let t = owned.tasks.iter().next().cloned().unwrap();
        let mut stale = sim.members["m2"].clone();
        let mut stale_owned = owned.clone();
        stale_owned.tasks.remove(&t);
        stale.owned = Some(stale_owned);
        sim.join("m4", "w4");
        let mut view = sim.member_list();
        for m in &mut view {
            if m.member_id == "m2" {
                m.metadata = stale.clone();
            }
        }
        let out = sim.round_seeing(view);
        for (id, a) in &out {
            if id != "m2" {
                assert!(
                    !a.assigned.tasks.contains(&t),
                    "{id} got {t:?} while m2 may run it: {out:?}"
                );
            }
        }
        sim.settle();
        sim.assert_balanced();
    }

    #[test]
    fn a_stale_member_id_does_not_take_back_moved_work() {
        let mut sim = Sim::three_workers();
        let moved = sim.owned("m2").tasks.first().cloned().unwrap();
        sim.leave("m1");
        sim.join("m1-new", "w1");
        let mut view = sim.member_list();
        let mut ghost = sim.member_list()[0].clone();
        ghost.member_id = "m1-old".into();
        ghost.metadata.url = "http://w1/".into();
        ghost.metadata.owned = Some(tasks(&[(&moved.connector, moved.task)]));
        view.push(ghost);
        let out = sim.round_seeing(view);
        assert!(sim.owned("m2").tasks.contains(&moved));
        assert!(!sim.owned("m1-new").tasks.contains(&moved));
        assert!(out.values().all(|a| !a.revoked.tasks.contains(&moved)));
    }

    /// A new leader whose coordinator hides that a live worker runs a
    /// task (stale metadata without it) does not hand it to another when
    /// the status topic shows it running there.
    #[test]
    fn new_leader_keeps_work_the_status_topic_shows_running() {
        let mut sim = Sim::three_workers();
        sim.status = true;
        sim.assignor.reset();
        let mut view = sim.member_list();
        let hidden = view.iter_mut().find(|m| m.member_id == "m2").unwrap();
        let stale = hidden.metadata.owned.as_mut().unwrap();
        let task = stale.tasks.pop_first().unwrap();
        let out = sim.round_seeing(view);
        assert!(out.values().all(|a| !a.assigned.tasks.contains(&task)));
        assert!(sim.owned("m2").tasks.contains(&task));
        // Without the status topic it would run twice.
        let mut sim = Sim::three_workers();
        sim.assignor.reset();
        let mut view = sim.member_list();
        let hidden = view.iter_mut().find(|m| m.member_id == "m2").unwrap();
        hidden.metadata.owned.as_mut().unwrap().tasks.remove(&task);
        let out = sim.round_seeing(view);
        assert!(out.values().any(|a| a.assigned.tasks.contains(&task)));
    }

    /// Leader changes, stale metadata and member ids that are gone, with
    /// the status topic showing where work runs: nothing ever runs on two
    /// workers, nothing is stranded, and the group settles.
    #[test]
    fn new_leaders_with_stale_views_and_the_status_topic_never_run_work_twice() {
        for seed in [3, 0xfeed_f00d, 0x0bad_cafe_1234] {
            random_walk_with(seed, true, true);
        }
    }

    /// 600 random changes (joins, leaves, restarts, config edits, time),
    /// mostly each followed by a round; every 25 the group must settle.
    fn random_walk(seed: u64, stale: bool) {
        random_walk_with(seed, stale, false);
    }

    /// `status`: the leader sees the status topic, the assignor forgets its
    /// memory now and then (a new leader), and no round may leave work
    /// running on two workers.
    fn random_walk_with(mut seed: u64, stale: bool, status: bool) {
        let mut last_view: BTreeMap<String, MemberMetadata> = BTreeMap::new();
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut sim = Sim::new(config(&[("c0", 2), ("c1", 3)]), &["m0", "m1"]);
        sim.status = status;
        let mut next_id = 2;
        let mut next_connector = 2;
        let (mut held_rounds, mut revoking_rounds) = (0, 0);
        for step in 0..600 {
            match next(8) {
                0 => {
                    // A new worker, or a departed one coming back (one
                    // still up at that URL restarts).
                    let worker = format!("w{}", next(next_id + 1));
                    let url = format!("http://{worker}/");
                    sim.members.retain(|_, m| m.url != url);
                    sim.join(&format!("m{next_id}"), &worker);
                    next_id += 1;
                }
                1 if sim.members.len() > 1 => {
                    let i = next(sim.members.len() as u64) as usize;
                    let id = sim.members.keys().nth(i).unwrap().clone();
                    sim.leave(&id);
                }
                2 => {
                    // Restart: same URL, new member id, owns nothing.
                    let i = next(sim.members.len() as u64) as usize;
                    let id = sim.members.keys().nth(i).unwrap().clone();
                    let url = sim.members[&id].url.clone();
                    sim.leave(&id);
                    let worker = url.trim_start_matches("http://").trim_end_matches('/');
                    sim.join(&format!("m{next_id}"), worker);
                    next_id += 1;
                }
                3 => {
                    let tasks = next(5) as u32;
                    sim.config
                        .extend(&config(&[(&format!("c{next_connector}"), tasks)]));
                    next_connector += 1;
                }
                4 => {
                    let n = sim.config.connectors.len() as u64;
                    let i = next(n.max(1)) as usize;
                    if let Some(c) = sim.config.connectors.iter().nth(i).cloned() {
                        sim.config.connectors.remove(&c);
                        sim.config.tasks.retain(|t| t.connector != c);
                    }
                }
                5 => {
                    let n = sim.config.connectors.len() as u64;
                    if n > 0 {
                        let c = sim
                            .config
                            .connectors
                            .iter()
                            .nth(next(n) as usize)
                            .cloned()
                            .unwrap();
                        let tasks = next(6) as u32;
                        sim.config.tasks.retain(|t| t.connector != c);
                        sim.config.extend(&config(&[(&c, tasks)]));
                    }
                }
                _ => {}
            }
            sim.now += next(12_000);
            // Some changes come without a rebalance in between.
            if next(3) > 0 {
                // The leader may see last round's metadata of a member, or
                // a member id a live worker had before (as tansu answers).
                let now = sim.member_list();
                let mut view = Vec::new();
                for m in &now {
                    match last_view.get(&m.member_id) {
                        Some(old) if stale && next(3) == 0 => view.push(Member {
                            member_id: m.member_id.clone(),
                            metadata: old.clone(),
                        }),
                        _ => view.push(m.clone()),
                    }
                }
                if stale && next(4) == 0 {
                    let live: BTreeSet<&str> =
                        now.iter().map(|m| m.metadata.url.as_str()).collect();
                    if let Some((id, old)) = last_view.iter().find(|(id, old)| {
                        !sim.members.contains_key(*id) && live.contains(old.url.as_str())
                    }) {
                        view.push(Member {
                            member_id: id.clone(),
                            metadata: old.clone(),
                        });
                    }
                }
                last_view = now.into_iter().map(|m| (m.member_id, m.metadata)).collect();
                let out = sim.round_seeing(view);
                // Nothing configured is stranded: it runs, is held, or was
                // revoked in this round (the next one assigns it).
                let mut covered = sim.assignor.held();
                for m in sim.members.values() {
                    covered.extend(&m.owned.clone().unwrap_or_default());
                }
                for a in out.values() {
                    covered.extend(&a.revoked);
                }
                let mut stranded = sim.config.clone();
                stranded.remove_all(&covered);
                assert!(
                    stranded.is_empty(),
                    "step {step}: {stranded:?} runs nowhere"
                );
                if status {
                    let mut runs = Work::default();
                    for m in sim.members.values() {
                        let owned = m.owned.clone().unwrap_or_default();
                        let mut twice = owned.clone();
                        twice.connectors.retain(|c| runs.connectors.contains(c));
                        twice.tasks.retain(|t| runs.tasks.contains(t));
                        assert!(twice.is_empty(), "step {step}: {twice:?} runs twice");
                        runs.extend(&owned);
                    }
                    if next(10) == 0 {
                        sim.assignor.reset();
                    }
                }
                held_rounds += usize::from(out.values().any(|a| a.delay_ms > 0));
                revoking_rounds += usize::from(out.values().any(|a| !a.revoked.is_empty()));
            }
            if step % 25 == 24 {
                sim.settle();
                sim.assert_balanced();
                assert!(sim.assignor.held().is_empty());
            }
        }
        // The walk went through holds and revocations, not just easy rounds.
        assert!(held_rounds > 5, "{held_rounds} rounds held work");
        assert!(revoking_rounds > 5, "{revoking_rounds} rounds revoked");
    }
}
