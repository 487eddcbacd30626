//! The decision: for each address, compare desired, recorded and live, and choose an action with
//! its reasons. A container's config-hash label against the desired hash decides "replace"
//! (as Docker Compose does); state attributes explain *what* changed.

use super::attributes::{attribute_changes, changed_keys, ignored};
use super::{Action, Change, Plan, PlanError};
use crate::model::{Desired, Instance, Kind, Role};
use crate::observe::{LiveObject, Snapshot};
use crate::state::State;
use std::collections::BTreeMap;

/// Computes the plan. With `destroy`, everything flinkform owns is deleted (`desired` is then
/// only consulted for `prevent_destroy`).
pub fn compute(
    desired: &Desired,
    state: &State,
    live: &Snapshot,
    project: &str,
    destroy: bool,
) -> Result<Plan, PlanError> {
    compute_with(desired, state, live, project, destroy, &[])
}

/// [`compute`], replacing the objects at `replace` (`-replace`) even when nothing changed:
/// before what is on them (a volume's containers) and their jobs are decided.
pub fn compute_with(
    desired: &Desired,
    state: &State,
    live: &Snapshot,
    project: &str,
    destroy: bool,
    replace: &[String],
) -> Result<Plan, PlanError> {
    // Objects removed from management with `state rm` keep their labels; flinkform ignores them.
    let forgotten_live;
    let live = if state.forgotten.is_empty() {
        live
    } else {
        let mut l = live.clone();
        for o in l.objects.values_mut().filter(|o| state.forgotten.contains(&o.id)) {
            o.labels.remove(crate::names::LABEL_MANAGED);
        }
        forgotten_live = l;
        &forgotten_live
    };
    let mut changes: BTreeMap<String, Change> = BTreeMap::new();
    let mut conflicts = Vec::new();

    if !destroy {
        let applications = super::application::application_clusters(desired);
        for d in desired.values().filter(|d| d.kind != Kind::Job) {
            match decide(d, state, live, project, &applications) {
                Ok(c) => {
                    changes.insert(d.address.clone(), c);
                }
                Err(msg) => conflicts.push(msg),
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Conflicts(conflicts));
    }
    for c in changes.values_mut().filter(|c| replace.contains(&c.address)) {
        if c.kind != Kind::Job && (matches!(c.action, Action::NoOp | Action::Start) || c.rolling) {
            c.action = Action::Replace;
            c.rolling = false;
            c.reasons = vec!["replacement requested with --replace".into()];
        }
    }
    propagate_infrastructure_replacements(&mut changes, desired);
    describe_rolling_updates(&mut changes);
    if !destroy {
        super::application::replace_stopped_jobmanagers(&mut changes, desired);
        for d in desired.values().filter(|d| d.kind == Kind::Job) {
            let c = super::jobs::decide(d, state, live, &changes);
            changes.insert(d.address.clone(), c);
        }
        super::application::restart_jobmanagers_with_the_application(&mut changes, desired);
    }

    remove_what_is_not_desired(&mut changes, state, live, project, destroy);

    super::jobs::keep_volumes_with_final_savepoints(&mut changes, state);

    refuse_protected(&changes, desired)?;
    let foreign = foreign_objects(live, state, project);
    Ok(Plan { changes: changes.into_values().collect(), outputs: Vec::new(), foreign, moved: Vec::new() })
}

/// What flinkform owns but is not desired — recorded in state, or labelled as the project's —
/// is deleted (everything, with `destroy`); jobs are stopped as recorded.
fn remove_what_is_not_desired(
    changes: &mut BTreeMap<String, Change>,
    state: &State,
    live: &Snapshot,
    project: &str,
    destroy: bool,
) {
    // What flinkform owns but is not desired: recorded in state, or labelled as ours.
    struct Owned<'a> {
        kind: Kind,
        name: String,
        live: Option<&'a LiveObject>,
        deps: Vec<String>,
        in_state: bool,
    }
    let mut owned: BTreeMap<String, Owned> = BTreeMap::new();
    for r in &state.resources {
        if r.kind == Kind::Job {
            // Jobs live in Flink, not Docker: a removed job is stopped, as recorded.
            if !changes.contains_key(&r.address) {
                changes.insert(r.address.clone(), super::jobs::removed(r, destroy));
            }
            continue;
        }
        let l = live.get(r.kind, &r.name).filter(|l| l.owned_by(project, &state.lineage) || l.id == r.id);
        owned.insert(
            r.address.clone(),
            Owned { kind: r.kind, name: r.name.clone(), live: l, deps: r.dependencies.clone(), in_state: true },
        );
    }
    let recorded_ids: std::collections::BTreeSet<&str> = state.resources.iter().map(|r| r.id.as_str()).collect();
    for l in live
        .objects
        .values()
        .filter(|l| l.owned_by(project, &state.lineage) && !recorded_ids.contains(l.id.as_str()))
        .filter(|l| !secret_in_use_by_this_run(l, changes))
    {
        if let Some(a) = l.address()
            && !owned.contains_key(a)
        {
            owned.insert(
                a.to_string(),
                Owned {
                    kind: l.kind,
                    name: l.name.clone(),
                    live: Some(l),
                    deps: infer_dependencies(a, l.kind),
                    in_state: false,
                },
            );
        }
    }
    for (address, Owned { kind, name, live: l, deps, in_state }) in owned {
        if changes.contains_key(&address) {
            continue;
        }
        let reason = match (l, in_state) {
            (None, _) => "already removed outside flinkform; only forgotten from state".to_string(),
            (Some(l), false) if kind == Kind::Secret => unused_secret_reason(l),
            (Some(_), _) if destroy => "destroy requested".to_string(),
            (Some(_), true) => "no longer in the configuration".to_string(),
            (Some(_), false) => "labelled as this project's but neither configured nor in state".to_string(),
        };
        changes.insert(
            address.clone(),
            Change {
                before: state.resource(&address).map(|r| r.attributes.clone()),
                after: None,
                address,
                kind,
                name,
                action: Action::Delete,
                reasons: vec![reason],
                desired: None,
                live_id: l.map(|l| l.id.clone()),
                dependencies: deps,
                live_ports: BTreeMap::new(),
                live_host: None,
                job_ops: (kind == Kind::Job).then_some(super::JobOps { stop: true, submit: false }),
                keep_object: false,
                recorded_job: None,
                drift: (l.is_none() && in_state).then_some(super::Drift::Removed),
                rolling: false,
            },
        );
    }
}

/// A secret no service mounts belongs to a service this run creates, replaces or rolls: that
/// operation uses it (the same name) or removes it after, so the plan does not remove it too.
fn secret_in_use_by_this_run(l: &LiveObject, changes: &BTreeMap<String, Change>) -> bool {
    let Some(service) = l.labels.get(crate::names::LABEL_SERVICE).filter(|_| l.kind == Kind::Secret) else {
        return false;
    };
    changes.values().any(|c| c.action != Action::NoOp && c.desired.as_ref().is_some_and(|d| &d.name == service))
}

fn unused_secret_reason(l: &LiveObject) -> String {
    let service = l.labels.get(crate::names::LABEL_SERVICE).map(String::as_str).unwrap_or("a service");
    format!(
        "made for service {service}, which does not mount it (a run stopped before the service or its new configuration was created)"
    )
}

/// What carries the project's labels but another state's lineage, and that this state does
/// not record: left alone, and named in the plan.
fn foreign_objects(live: &Snapshot, state: &State, project: &str) -> Vec<super::Foreign> {
    let recorded: std::collections::BTreeSet<&str> = state.resources.iter().map(|r| r.id.as_str()).collect();
    live.objects
        .values()
        .filter(|l| l.managed_by(project) && !l.owned_by(project, &state.lineage) && !recorded.contains(l.id.as_str()))
        .filter(|l| !state.forgotten.contains(&l.id))
        .map(|l| super::Foreign {
            kind: l.kind,
            name: l.name.clone(),
            address: l.address().unwrap_or_default().to_string(),
            lineage: l.lineage().unwrap_or("none").to_string(),
        })
        .collect()
}

/// `lifecycle.prevent_destroy`: a plan that would destroy or replace such an object is refused.
fn refuse_protected(changes: &BTreeMap<String, Change>, desired: &Desired) -> Result<(), PlanError> {
    let protected: Vec<String> = changes
        .values()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace) && c.live_id.is_some())
        .filter(|c| desired.get(&c.address).is_some_and(|d| d.prevent_destroy))
        .map(|c| {
            format!(
                "{} has lifecycle.prevent_destroy = true and would be {}; remove that setting to allow it",
                c.address,
                if c.action == Action::Delete { "destroyed" } else { "replaced" }
            )
        })
        .collect();
    if !protected.is_empty() {
        return Err(PlanError::PreventDestroy(protected));
    }
    Ok(())
}

/// `applications`: the clusters that run an application (their JobManager runs its job).
fn decide(
    d: &Instance,
    state: &State,
    live: &Snapshot,
    project: &str,
    applications: &std::collections::BTreeSet<&str>,
) -> Result<Change, String> {
    let recorded = state.resource(&d.address);
    // An object whose removal a stopped run left in flight is gone by the time apply acts.
    let l = live.get(d.kind, &d.name).filter(|l| !state.removal_pending(&l.id));
    let mut change = Change {
        live_id: l.map(|l| l.id.clone()),
        live_ports: l.map(|l| l.ports.clone()).unwrap_or_default(),
        live_host: l.and_then(|l| l.host.clone()),
        ..Change::unchanged(d, recorded)
    };
    let Some(l) = l else {
        // A record a `moved` block renamed, whose Docker name follows its address: the old
        // object is replaced by one under the new name (removed by id, not left behind).
        if let Some(r) = recorded.filter(|r| r.name != d.name)
            && let Some(old) = live.get(d.kind, &r.name).filter(|o| o.id == r.id && !state.removal_pending(&o.id))
        {
            if d.kind == Kind::Volume {
                return Err(format!(
                    "{} was moved, and its volume would be renamed from \"{}\" to \"{}\": Docker cannot rename a volume, and replacing it would lose what it holds (checkpoints, savepoints, ZooKeeper's data). Keep its Docker names: set `name` on the moved cluster to the name it had (or the volume's `name`), or remove the `moved` block to destroy and recreate it knowingly",
                    d.address, r.name, d.name
                ));
            }
            change.action = Action::Replace;
            change.live_id = Some(old.id.clone());
            change.reasons.push(format!("its Docker name changes: {} → {} (forces replacement)", r.name, d.name));
            return Ok(change);
        }
        change.action = Action::Create;
        if recorded.is_some_and(|r| state.removal_pending(&r.id)) {
            change.reasons.push("its removal was interrupted; apply finishes it first".into());
        } else if recorded.is_some() {
            change.reasons.push("removed outside flinkform".into());
            change.drift = Some(super::Drift::Removed);
        }
        return Ok(change);
    };
    // Ours when its labels say so, or when the state maps this address to its id (`state mv`).
    let recorded_here = recorded.is_some_and(|r| r.id == l.id);
    if !recorded_here && (!l.owned_by(project, &state.lineage) || l.address() != Some(&d.address)) {
        return Err(conflict(d, l, state, project));
    }
    if recorded.is_some_and(|r| r.tainted && r.id == l.id) {
        change.action = Action::Replace;
        change.reasons.push("tainted: it was created but never became ready; replaced".into());
        return Ok(change);
    }
    if l.config_hash() != Some(d.config_hash.as_str()) {
        let recorded_hash = recorded.map(|r| r.config_hash.as_str());
        // lifecycle.ignore_changes: differences only in ignored attributes keep what exists.
        if let Some(r) = recorded
            && !d.ignore_changes.is_empty()
            && l.config_hash() == recorded_hash
            && changed_keys(&r.attributes, &d.attributes).iter().all(|k| ignored(k, &d.ignore_changes))
        {
            let mut kept = d.clone();
            kept.config_hash = r.config_hash.clone();
            kept.attributes = r.attributes.clone();
            change.after = Some(r.attributes.clone());
            change.desired = Some(kept);
            return Ok(change);
        }
        let rolling = rolling_update(d);
        change.action = if rolling.is_some() { Action::Update } else { Action::Replace };
        change.rolling = rolling.is_some();
        if recorded_hash == Some(d.config_hash.as_str()) {
            change
                .reasons
                .push("changed outside flinkform: its config-hash label no longer matches the configuration".into());
            change.drift = Some(super::Drift::Changed);
        } else {
            let diffs = attribute_changes(change.before.as_ref(), &d.attributes);
            if diffs.is_empty() {
                change.reasons.push("configuration changed (config hash differs)".into());
            }
            change.reasons.extend(diffs);
            if rolling.is_none() {
                change.reasons.push(why_replace(d.role).to_string());
            }
        }
        return Ok(change);
    }
    let application = d.role == crate::model::Role::JobManager && applications.contains(d.cluster.as_str());
    running_drift(&mut change, d, l, live, application);
    scaled(&mut change, d, l, recorded);
    resettled(&mut change, d, l);
    Ok(change)
}

/// A TaskManager service changes configuration by the swarm's rolling update (its tasks
/// replaced a batch at a time, as its settings say): its replicas and settings. Every other
/// service is replaced.
fn rolling_update(d: &Instance) -> Option<(u64, crate::config::RollingUpdate)> {
    match &d.spec {
        crate::model::Spec::Service(s) if d.role == crate::model::Role::TaskManager => Some((s.replicas, s.rolling?)),
        _ => None,
    }
}

/// A service whose update settings differ from the configuration's gets them in place:
/// nothing restarts, the next rolling update follows them.
fn resettled(change: &mut Change, d: &Instance, l: &LiveObject) {
    let Some((_, want)) = rolling_update(d) else { return };
    if l.rolling == Some(want) {
        return;
    }
    change.action = Action::Update;
    let have =
        l.rolling.map_or_else(|| "the swarm's defaults".to_string(), |r| crate::model::swarm::rolling_attribute(&r));
    if let Some(before) = change.before.as_mut() {
        before.insert("rolling_update".into(), have.clone());
    }
    let want = crate::model::swarm::rolling_attribute(&want);
    change.reasons.push(format!("rolling_update: {have} → {want}"));
    change.reasons.push("update settings only: no task restarts; the next rolling update follows them".into());
}

/// A swarm service whose replicas differ from the configuration's is scaled in place (its
/// running tasks are kept); when the configuration did not change, it was scaled outside
/// flinkform. Tasks the swarm moved between nodes are the same service: not a change.
fn scaled(change: &mut Change, d: &Instance, l: &LiveObject, recorded: Option<&crate::state::Resource>) {
    let crate::model::Spec::Service(s) = &d.spec else { return };
    let Some(have) = l.replicas.filter(|have| *have != s.replicas) else { return };
    // A replacement creates the service with the configuration's replicas anyway.
    if change.action != Action::Replace {
        change.action = Action::Update;
    }
    // The diff shows what runs: the live replicas, not the recorded ones.
    if let Some(before) = change.before.as_mut() {
        before.insert("replicas".into(), have.to_string());
    }
    let configured = recorded.and_then(|r| r.attributes.get("replicas")).and_then(|r| r.parse::<u64>().ok());
    if configured == Some(s.replicas) {
        change.drift = Some(super::Drift::Changed);
        change
            .reasons
            .push(format!("scaled outside flinkform: it runs {have} replicas, the configuration says {}", s.replicas));
    } else {
        change.reasons.push(format!("replicas: {have} → {}", s.replicas));
    }
    change.reasons.push(if s.replicas > have {
        format!("scaled in place: the running tasks are kept, {} more start", s.replicas - have)
    } else {
        format!("scaled in place: {} of its tasks stop, the others keep running", have - s.replicas)
    });
}

/// What changed on the engine without a configuration change: the image behind the tag, a
/// container that keeps crashing, one stopped outside flinkform.
fn running_drift(change: &mut Change, d: &Instance, l: &LiveObject, live: &Snapshot, application_jobmanager: bool) {
    if let crate::model::Spec::Container(spec) = &d.spec
        && let (Some(want), Some(have)) = (live.images.get(&spec.image), l.image_id.as_ref())
        && want != have
    {
        change.action = Action::Replace;
        change.drift = Some(super::Drift::ImageMoved);
        change.reasons.push(format!(
            "image id changed: {} is now {}, the container runs {}",
            spec.image,
            short(want),
            short(have)
        ));
    } else if d.kind == Kind::Container && l.state == "restarting" {
        change.action = Action::Replace;
        change.drift = Some(super::Drift::NotRunning);
        change.reasons.push("crash-looping: Docker keeps restarting it (state: restarting)".into());
    } else if d.kind == Kind::Service && !l.running && application_jobmanager {
        // On a swarm an application's JobManager task that ended is not restarted (on-failure);
        // like a stopped container of one, it is created again to run the application.
        change.action = Action::Replace;
        change.drift = Some(super::Drift::NotRunning);
        change.reasons.push(format!("its task is not running ({}): the application ended or failed", l.state));
    } else if d.kind == Kind::Container && !l.running {
        change.action = Action::Start;
        change.drift = Some(super::Drift::NotRunning);
        change.reasons.push(format!("stopped outside flinkform (state: {})", l.state));
    } else if d.kind == Kind::Service && !l.changed_outside.is_empty() {
        // `docker service update` keeps the labels: the spec's own digests say what it changed.
        // The configuration's spec is sent again: TaskManagers by a rolling update.
        change.rolling = rolling_update(d).is_some();
        change.action = if change.rolling { Action::Update } else { Action::Replace };
        change.drift = Some(super::Drift::Changed);
        change.reasons.push(format!(
            "changed outside flinkform (docker service update): its spec no longer matches what flinkform sent in {}",
            l.changed_outside.join(", ")
        ));
    }
}

/// A wanted name held by something this state does not own: whose it is, and what to do.
fn conflict(d: &Instance, l: &LiveObject, state: &State, project: &str) -> String {
    let owner = match (l.labels.get(crate::names::LABEL_PROJECT), l.address()) {
        (Some(p), Some(_)) if l.managed_by(project) && l.lineage() != Some(state.lineage.as_str()) => format!(
            "it belongs to another state of flinkform project \"{p}\" (lineage {}): another directory or state file manages it",
            l.lineage().unwrap_or("none")
        ),
        (Some(p), Some(a)) => format!("it belongs to flinkform project \"{p}\" as {a}"),
        _ => "it is not managed by flinkform".into(),
    };
    let kind = d.kind.as_str();
    format!(
        "{kind} {0} needs the name \"{1}\", but a {kind} with that name already exists ({owner}). flinkform never adopts or removes it silently: remove or rename it, or adopt it with `flinkform import {0} {1}`",
        d.address, d.name
    )
}

fn short(id: &str) -> &str {
    let s = id.strip_prefix("sha256:").unwrap_or(id);
    &s[..s.len().min(12)]
}

fn why_replace(role: Role) -> &'static str {
    match role {
        Role::TaskManager => "forces replacement: a TaskManager reads its configuration only at start",
        Role::JobManager => "forces replacement: a JobManager reads its configuration only at start",
        Role::Zookeeper => "forces replacement: ZooKeeper reads its configuration only at start",
        Role::Service => "forces replacement: a container's configuration is fixed at its creation",
        Role::Network | Role::Volume | Role::Job => "forces replacement",
    }
}

/// Replacing a network or volume means replacing everything on it.
fn propagate_infrastructure_replacements(changes: &mut BTreeMap<String, Change>, desired: &Desired) {
    let replaced: Vec<String> = changes
        .values()
        .filter(|c| c.action == Action::Replace && matches!(c.kind, Kind::Network | Kind::Volume))
        .map(|c| c.address.clone())
        .collect();
    for r in replaced {
        for d in desired.values().filter(|d| d.dependencies.contains(&r)) {
            if let Some(c) = changes.get_mut(&d.address)
                && (matches!(c.action, Action::NoOp | Action::Start) || c.rolling)
            {
                // A rolling update is replaced instead: its service's network goes.
                c.rolling = false;
                c.action = Action::Replace;
                c.reasons.push(format!("forced by the replacement of {r}"));
            }
        }
    }
}

/// How each change still rolling will roll (last among its reasons: decided once nothing
/// else — a replaced network, `--replace` — can turn it into a replacement).
fn describe_rolling_updates(changes: &mut BTreeMap<String, Change>) {
    for c in changes.values_mut().filter(|c| c.rolling) {
        if let Some((tasks, r)) = c.desired.as_ref().and_then(rolling_update) {
            let tasks = if tasks == 1 { "its task".to_string() } else { format!("its {tasks} tasks") };
            c.reasons.push(format!("rolling update of {tasks}: {r}; the service is kept"));
        }
    }
}

/// For an orphan found only by its labels: a cluster's containers depend on its network/volume.
fn infer_dependencies(address: &str, kind: Kind) -> Vec<String> {
    use crate::address::{Address, Key, part_of};
    let cluster = Address::parse(address).ok().and_then(|a| a.cluster());
    match cluster.filter(|_| matches!(kind, Kind::Container | Kind::Service)) {
        Some(c) => {
            let c = c.to_string();
            vec![part_of(&c, "network", None), part_of(&c, "volume", Some(Key::Name("data".into())))]
        }
        None => Vec::new(),
    }
}
