//! The executor's decisions, made without Docker: a plan lowered into atomic operations — one
//! engine or Flink call, or a wait — each with the change that caused it and the operations it
//! waits for (docs/ARCHITECTURE.md, "The executor"). [`Operations`]' text form, one line per
//! operation, is what the tests assert.

use crate::model::{Readiness, Role};
use crate::plan::{Action, Change, Plan};
use std::collections::BTreeMap;
use std::fmt;

/// What one operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    /// Removes the object (a container is stopped first); one the plan keeps is only forgotten.
    Remove,
    /// Creates the object (a container: from its image, started).
    Create,
    /// Starts a stopped container.
    Start,
    /// Sets a swarm service's replicas and update settings in place: its running tasks are kept.
    UpdateInPlace,
    /// Sends a swarm service its new configuration and waits while the swarm replaces its
    /// tasks a batch at a time (the service is kept). Like a removal, it waits for the jobs on
    /// it to stop; like a creation, for what it depends on.
    RollingUpdate,
    /// Waits until a created or started container is ready. Its own operation, so that what
    /// needs the container only running (TaskManagers on their JobManager) starts sooner.
    WaitReady(Probe),
    /// Stops a job: with a savepoint, cancelled (stateless mode), or cancelled keeping its
    /// latest checkpoint (last-state mode).
    StopJob(Stop),
    /// Submits a job (from its last savepoint in savepoint mode), or records it suspended.
    SubmitJob,
    /// Writes a TLS cluster's keystores into its TLS volume: after the volume is made, before
    /// any Flink container of the cluster is created or started.
    WriteTls,
}

/// How a job is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    Savepoint,
    Cancel,
    /// Cancelled; it restarts from its latest retained checkpoint.
    LastState,
}

/// Which readiness probe a wait runs: [`Readiness`] without its `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Probe {
    Zookeeper,
    FlinkRest,
    TaskManagerRegistered { slots: u64 },
    Healthy,
}

impl Probe {
    pub fn of(readiness: &Readiness) -> Option<Probe> {
        match readiness {
            Readiness::None => None,
            Readiness::Zookeeper => Some(Probe::Zookeeper),
            Readiness::FlinkRest => Some(Probe::FlinkRest),
            Readiness::TaskManagerRegistered { slots } => Some(Probe::TaskManagerRegistered { slots: *slots }),
            Readiness::Healthy => Some(Probe::Healthy),
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpKind::Remove => f.write_str("remove"),
            OpKind::Create => f.write_str("create"),
            OpKind::Start => f.write_str("start"),
            OpKind::UpdateInPlace => f.write_str("update-in-place"),
            OpKind::RollingUpdate => f.write_str("rolling-update"),
            OpKind::WaitReady(Probe::Zookeeper) => f.write_str("wait-ready(zookeeper srvr)"),
            OpKind::WaitReady(Probe::FlinkRest) => f.write_str("wait-ready(GET /overview)"),
            OpKind::WaitReady(Probe::TaskManagerRegistered { slots }) => {
                write!(f, "wait-ready(registered, {slots} slots)")
            }
            OpKind::WaitReady(Probe::Healthy) => f.write_str("wait-ready(healthy)"),
            OpKind::StopJob(Stop::Savepoint) => f.write_str("stop-with-savepoint"),
            OpKind::StopJob(Stop::Cancel) => f.write_str("cancel"),
            OpKind::StopJob(Stop::LastState) => f.write_str("cancel(keep-latest-checkpoint)"),
            OpKind::SubmitJob => f.write_str("submit"),
            OpKind::WriteTls => f.write_str("write-tls"),
        }
    }
}

/// One operation: what, on which change of the plan, waiting for which operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub kind: OpKind,
    /// Index of its change in the plan.
    pub change: usize,
    pub address: String,
    /// Indices of the operations it waits for.
    pub after: Vec<usize>,
}

/// A plan's operations, in the plan's address order, with their dependencies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operations {
    pub ops: Vec<Operation>,
    /// The plan's reasons, per change, for the text form (the cause of each operation).
    causes: Vec<String>,
}

impl Operations {
    /// Lowers `plan` into operations. Pure: the same plan gives the same operations.
    pub fn lower(plan: &Plan) -> Operations {
        let mut ops = Vec::new();
        let writes = tls_writes(plan);
        for (i, c) in plan.changes.iter().enumerate() {
            let write = writes.contains(c.address.as_str()).then_some(OpKind::WriteTls);
            for kind in kinds(c).into_iter().chain(write) {
                ops.push(Operation { kind, change: i, address: c.address.clone(), after: Vec::new() });
            }
        }
        let after = dependencies(plan, &ops);
        for (op, after) in ops.iter_mut().zip(after) {
            op.after = after;
        }
        let causes = plan.changes.iter().map(|c| c.reasons.join("; ")).collect();
        Operations { ops, causes }
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The operations one change becomes.
fn kinds(c: &Change) -> Vec<OpKind> {
    if let Some(j) = c.job_ops {
        let mut out = Vec::new();
        if j.stop {
            out.push(OpKind::StopJob(how_it_stops(c)));
        }
        if j.submit || (c.action == Action::Create && c.desired.is_some()) {
            out.push(OpKind::SubmitJob);
        }
        return out;
    }
    let mut out = match c.action {
        Action::Create => vec![OpKind::Create],
        Action::Start => vec![OpKind::Start],
        Action::Delete => vec![OpKind::Remove],
        Action::Update if c.kind == crate::model::Kind::Service && c.rolling => vec![OpKind::RollingUpdate],
        Action::Update if c.kind == crate::model::Kind::Service => vec![OpKind::UpdateInPlace],
        Action::Replace | Action::Update => vec![OpKind::Remove, OpKind::Create],
        Action::NoOp => vec![],
    };
    if c.action != Action::Delete
        && !out.is_empty()
        && let Some(probe) = c.desired.as_ref().and_then(|d| Probe::of(&d.readiness))
    {
        out.push(OpKind::WaitReady(probe));
    }
    out
}

/// The TLS volumes whose keystores are written: each one created, or of a cluster whose Flink
/// containers are created or started (the material is derived, so writing it again is safe;
/// written before every start, a volume left empty by a killed run is filled).
fn tls_writes(plan: &Plan) -> std::collections::BTreeSet<&str> {
    let starting = |cluster: &str| {
        plan.changes.iter().any(|c| {
            c.desired
                .as_ref()
                .is_some_and(|d| d.cluster == cluster && matches!(d.role, Role::JobManager | Role::TaskManager))
                && matches!(c.action, Action::Create | Action::Replace | Action::Start)
        })
    };
    plan.changes
        .iter()
        .filter_map(|c| Some((c, c.desired.as_ref().filter(|d| d.role == Role::Volume && d.tls.is_some())?)))
        .filter(|(c, d)| {
            matches!(c.action, Action::Create | Action::Replace) || (c.action != Action::Delete && starting(&d.cluster))
        })
        .map(|(c, _)| c.address.as_str())
        .collect()
}

/// A job is stopped as its recorded mode says (the running job was submitted in it), except
/// that a suspension, or its removal, always takes a savepoint unless it runs stateless (a
/// suspended job keeps its state; a removed one leaves its final savepoint).
fn how_it_stops(c: &Change) -> Stop {
    use crate::config::{JobState, UpgradeMode};
    let suspend = c.desired.as_ref().and_then(|d| d.job.as_ref()).is_some_and(|j| j.state == JobState::Suspended);
    match c.recorded_job.as_ref().map(|j| j.upgrade_mode) {
        _ if suspend => Stop::Savepoint,
        Some(UpgradeMode::Stateless) => Stop::Cancel,
        Some(UpgradeMode::LastState) if c.desired.is_some() => Stop::LastState,
        _ => Stop::Savepoint,
    }
}

/// Where an operation stands in its change: taking the old down, bringing the new up, waiting.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Class {
    Teardown,
    Bringup,
    Ready,
}

fn class(k: OpKind) -> Class {
    match k {
        OpKind::Remove | OpKind::StopJob(_) => Class::Teardown,
        OpKind::Create | OpKind::Start | OpKind::UpdateInPlace | OpKind::RollingUpdate | OpKind::SubmitJob => {
            Class::Bringup
        }
        OpKind::WaitReady(_) | OpKind::WriteTls => Class::Ready,
    }
}

/// A ZooKeeper quorum is replaced one server at a time: each server's removal waits until the
/// one replaced before it answers as a member of the quorum again (its readiness), so the
/// quorum, and the HA metadata Flink keeps in it, survives. Address → the wait it follows.
fn one_server_at_a_time<'a>(plan: &'a Plan, index: &BTreeMap<(&str, Class), usize>) -> BTreeMap<&'a str, usize> {
    let mut by_cluster: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in &plan.changes {
        if let Some(d) = c.desired.as_ref().filter(|d| d.role == Role::Zookeeper && c.action == Action::Replace) {
            by_cluster.entry(d.cluster.as_str()).or_default().push(c.address.as_str());
        }
    }
    let mut out = BTreeMap::new();
    for servers in by_cluster.values() {
        for pair in servers.windows(2) {
            if let Some(ready) = index.get(&(pair[0], Class::Ready)) {
                out.insert(pair[1], *ready);
            }
        }
    }
    out
}

/// Creates/starts/submits wait for what they depend on to be ready (created, and through its
/// readiness wait); a TaskManager only for its JobManager to be running, since its own
/// readiness (registered with that JobManager) includes the JobManager's. A wait follows its
/// create/start. Removes and job stops wait for the removes and stops of what depends on them;
/// a replacement's create waits for its remove.
fn dependencies(plan: &Plan, ops: &[Operation]) -> Vec<Vec<usize>> {
    let mut index: BTreeMap<(&str, Class), usize> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        index.insert((op.address.as_str(), class(op.kind)), i);
    }
    let roles: BTreeMap<&str, Role> =
        plan.changes.iter().filter_map(|c| Some((c.address.as_str(), c.desired.as_ref()?.role))).collect();
    let rejoined = one_server_at_a_time(plan, &index);
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let c = &plan.changes[op.change];
            let mut after = Vec::new();
            match class(op.kind) {
                Class::Bringup => {
                    let early = roles.get(c.address.as_str()) == Some(&Role::TaskManager);
                    for d in &c.dependencies {
                        let running_is_enough = early && roles.get(d.as_str()) == Some(&Role::JobManager);
                        let ready = index.get(&(d.as_str(), Class::Ready)).filter(|_| !running_is_enough);
                        after.extend(ready.or(index.get(&(d.as_str(), Class::Bringup))));
                    }
                    after.extend(index.get(&(c.address.as_str(), Class::Teardown)));
                    if op.kind == OpKind::RollingUpdate {
                        after.extend(teardowns_of_dependents(plan, ops, &c.address));
                    }
                }
                Class::Ready => after.extend(index.get(&(c.address.as_str(), Class::Bringup))),
                Class::Teardown => {
                    after.extend(rejoined.get(c.address.as_str()));
                    after.extend(teardowns_of_dependents(plan, ops, &c.address).filter(|j| *j != i));
                }
            }
            after.sort_unstable();
            after.dedup();
            after
        })
        .collect()
}

/// The removals and job stops of what depends on `address`.
fn teardowns_of_dependents<'a>(
    plan: &'a Plan,
    ops: &'a [Operation],
    address: &'a str,
) -> impl Iterator<Item = usize> + 'a {
    ops.iter().enumerate().filter_map(move |(j, other)| {
        let oc = &plan.changes[other.change];
        (class(other.kind) == Class::Teardown && oc.dependencies.iter().any(|d| d == address)).then_some(j)
    })
}

/// One line per operation: `3 create cluster.a.jobmanager[0] after 2  # slots: 2 → 4`.
impl fmt::Display for Operations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, op) in self.ops.iter().enumerate() {
            write!(f, "{i} {} {}", op.kind, op.address)?;
            if !op.after.is_empty() {
                let after: Vec<String> = op.after.iter().map(usize::to_string).collect();
                write!(f, " after {}", after.join(","))?;
            }
            let cause = &self.causes[op.change];
            if !cause.is_empty() && !matches!(op.kind, OpKind::WaitReady(_)) {
                write!(f, "  # {}", crate::model::sensitive::display(cause))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
