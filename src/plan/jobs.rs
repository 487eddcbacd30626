//! Job decisions. A job is a Flink object, not a container: its "live" view is Flink's
//! `/jobs/overview` of its cluster. A change to the program (jar, entry class, args,
//! parallelism, job config) upgrades it; a cluster change that restarts its JobManagers or all
//! its TaskManagers suspends it with a savepoint first and restores it afterwards.

use super::{Action, Change, JobOps};
use crate::address::{Address, Key, part_of};
use crate::config::{JobState, UpgradeMode};
use crate::model::{Instance, Kind};
use crate::observe::Snapshot;
use crate::state::{PendingOp, Resource, State};
use std::collections::BTreeMap;

/// Flink states in which a job is not running and will not run again by itself.
pub fn is_terminal(state: &str) -> bool {
    matches!(state, "FAILED" | "CANCELED" | "CANCELLING" | "FINISHED" | "SUSPENDED")
}

fn mechanics(mode: UpgradeMode) -> &'static str {
    match mode {
        UpgradeMode::Savepoint => "stop with savepoint → restart from it",
        UpgradeMode::Stateless => "cancel → resubmit; the job's state is dropped (upgrade_mode = \"stateless\")",
        UpgradeMode::LastState => "cancel → restart from its latest checkpoint (upgrade_mode = \"last-state\")",
    }
}

/// Does this plan restart the job's cluster under it (JobManagers, or every TaskManager)?
fn cluster_restart(cluster: &str, changes: &BTreeMap<String, Change>) -> Option<String> {
    let cluster = Address::parse(cluster).ok()?;
    // Each change's role in this cluster, if it is one of its parts.
    let parts: Vec<(&Change, String)> = changes
        .values()
        .filter_map(|c| {
            let a = Address::parse(&c.address).ok()?;
            (a.cluster().as_ref() == Some(&cluster)).then(|| (c, a.role().unwrap_or_default().to_string()))
        })
        .collect();
    let of_role = |role: &'static str| parts.iter().filter(move |(_, r)| r == role).map(|(c, _)| *c);
    if let Some(c) = of_role("jobmanager").find(|c| matches!(c.action, Action::Replace | Action::Create)) {
        return Some(format!("{} is {}", c.address, if c.action == Action::Create { "created" } else { "replaced" }));
    }
    let tms: Vec<&Change> = of_role("taskmanager").filter(|c| c.action != Action::Delete).collect();
    if !tms.is_empty() && tms.iter().all(|c| c.rolling) {
        return Some("every TaskManager is restarted by a rolling update".into());
    }
    if !tms.is_empty() && tms.iter().all(|c| c.rolling || matches!(c.action, Action::Replace | Action::Create)) {
        return Some("every TaskManager is replaced".into());
    }
    None
}

pub fn decide(d: &Instance, state: &State, live: &Snapshot, changes: &BTreeMap<String, Change>) -> Change {
    let settings = d.job.as_ref().expect("job instances carry job settings");
    let recorded = state.resource(&d.address);
    let mut c = Change::unchanged(d, recorded);
    let want_running = settings.state == JobState::Running;
    let savepoint = recorded.and_then(|r| r.savepoint.clone());
    let from_savepoint = |reasons: &mut Vec<String>| match (&savepoint, settings.upgrade_mode) {
        (Some(p), UpgradeMode::Savepoint) => reasons.push(format!("restored from the last savepoint {p}")),
        (Some(p), UpgradeMode::LastState) => {
            reasons.push(format!("restored from {p}, the last savepoint or checkpoint"))
        }
        _ => reasons.push("starts without state (no savepoint to restore)".into()),
    };
    let Some(r) = recorded else {
        c.action = Action::Create;
        c.job_ops = Some(JobOps { stop: false, submit: want_running });
        c.reasons.push(if want_running && settings.application {
            "run by its cluster's JobManager (application mode)".to_string()
        } else if want_running {
            format!("submitted to cluster \"{}\"", d.cluster)
        } else {
            "recorded as suspended; not submitted".into()
        });
        return c;
    };
    if r.suspended() {
        if want_running {
            c.action = Action::Update;
            c.job_ops = Some(JobOps { stop: false, submit: true });
            c.reasons.push("state: suspended → running".into());
            from_savepoint(&mut c.reasons);
        }
        return c;
    }
    let restart = cluster_restart(&d.cluster, changes);
    // Flink's view: Some(Some(state)), Some(None) = the cluster answers but does not know the job.
    let status: Option<Option<String>> =
        live.jobs.get(&d.cluster).and_then(|m| m.as_ref()).map(|m| m.get(&r.id).cloned());
    let running = match &status {
        Some(Some(s)) => !is_terminal(s),
        Some(None) => false,
        None => restart.is_none(),
    };
    if !running {
        let why = match &status {
            Some(Some(s)) => format!("job is {s} outside flinkform"),
            Some(None) => "job is gone from its cluster (Flink does not know it)".into(),
            None => "its cluster is being created".into(),
        };
        if status.is_some() {
            c.drift = Some(super::Drift::JobNotRunning);
        }
        c.reasons.push(why);
        let interrupted = state.pending.iter().any(|p| p.operation == PendingOp::StopJob && p.address == d.address);
        if interrupted {
            c.reasons.push("its stop with a savepoint was interrupted: apply records that savepoint first".into());
        }
        if want_running {
            c.action = Action::Create;
            c.job_ops = Some(JobOps { stop: false, submit: true });
            from_savepoint(&mut c.reasons);
        } else {
            c.action = Action::Update;
            c.job_ops = Some(JobOps { stop: false, submit: false });
            c.reasons.push("recorded as suspended".into());
        }
        return c;
    }
    if !want_running {
        c.action = Action::Update;
        c.job_ops = Some(JobOps { stop: true, submit: false });
        c.reasons.push("state: running → suspended (stop with a savepoint)".into());
        return c;
    }
    if r.config_hash != d.config_hash {
        c.action = Action::Update;
        c.job_ops = Some(JobOps { stop: true, submit: true });
        c.reasons.extend(super::attributes::attribute_changes(c.before.as_ref(), &d.attributes));
        c.reasons.push(mechanics(settings.upgrade_mode).into());
        return c;
    }
    if let Some(why) = restart {
        c.action = Action::Update;
        c.job_ops = Some(JobOps { stop: true, submit: true });
        c.reasons.push(match settings.upgrade_mode {
            UpgradeMode::Savepoint => format!("{why}: suspended with a savepoint before, restored from it after"),
            UpgradeMode::Stateless => format!("{why}: cancelled before and resubmitted after; its state is dropped"),
            UpgradeMode::LastState => format!("{why}: cancelled before and restored from its latest checkpoint after"),
        });
    }
    c
}

/// A job in state but no longer configured (or destroyed): stopped, with a final savepoint in
/// savepoint mode.
pub fn removed(r: &Resource, destroy: bool) -> Change {
    let savepoint_mode = r.job.as_ref().is_none_or(|j| j.upgrade_mode != UpgradeMode::Stateless);
    let suspended = r.suspended();
    let mut reasons =
        vec![if destroy { "destroy requested".to_string() } else { "no longer in the configuration".to_string() }];
    if !suspended {
        reasons.push(if savepoint_mode { "stopped with a final savepoint".into() } else { "cancelled".into() });
    }
    Change {
        address: r.address.clone(),
        kind: Kind::Job,
        name: r.name.clone(),
        action: Action::Delete,
        before: Some(r.attributes.clone()),
        after: None,
        reasons,
        desired: None,
        live_id: Some(r.id.clone()),
        dependencies: r.dependencies.clone(),
        live_ports: BTreeMap::new(),
        live_host: None,
        job_ops: Some(JobOps { stop: !suspended, submit: false }),
        keep_object: false,
        recorded_job: r.job.clone(),
        drift: None,
        rolling: false,
    }
}

/// A data volume that will receive a final savepoint is forgotten, not removed: nothing lost.
pub fn keep_volumes_with_final_savepoints(changes: &mut BTreeMap<String, Change>, state: &State) {
    let keep: Vec<(String, String)> = changes
        .values()
        .filter(|c| c.kind == Kind::Job && c.action == Action::Delete)
        .filter(|c| c.recorded_job.as_ref().is_some_and(|j| j.upgrade_mode != UpgradeMode::Stateless))
        .filter_map(|c| {
            let cluster = c.recorded_job.as_ref()?.cluster.clone();
            let has_savepoint =
                c.job_ops.is_some_and(|o| o.stop) || state.resource(&c.address).is_some_and(|r| r.savepoint.is_some());
            let volume = part_of(&cluster, "volume", Some(Key::Name("data".into())));
            has_savepoint.then(|| (volume, c.address.clone()))
        })
        .collect();
    for (volume, job) in keep {
        if let Some(v) = changes.get_mut(&volume)
            && v.action == Action::Delete
        {
            v.keep_object = true;
            v.reasons.push(format!("kept on Docker: it holds the savepoints of {job}; a later apply adopts it again"));
        }
    }
}
