//! Plans: desired (model) × recorded (state) × live (Docker snapshot) → one [`Change`] per
//! address, each non-no-op carrying the reasons a reviewer can act on. This is the one place
//! that decides whether a resource is created, replaced, started or destroyed ([`diff`]);
//! [`render`] turns a plan into text.

mod application;
mod attributes;
pub mod diff;
mod jobs;
pub mod json;
pub mod markdown;
pub mod moved;
pub mod render;
pub mod saved;

pub use diff::{compute, compute_with};
pub use jobs::is_terminal as jobs_is_terminal;

use crate::model::{Instance, Kind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Start,
    /// Jobs: stop (with a savepoint) and/or resubmit, shown as an in-place update.
    Update,
    Replace,
    Delete,
}

/// What apply does to a job: stop it (with a savepoint in savepoint mode, else cancel),
/// submit it (from the last savepoint in savepoint mode), or both in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobOps {
    pub stop: bool,
    pub submit: bool,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub address: String,
    pub kind: Kind,
    /// Docker object name.
    pub name: String,
    pub action: Action,
    /// Attributes as recorded (state) before the change; None when nothing was recorded.
    pub before: Option<BTreeMap<String, String>>,
    /// Attributes after the change; None for a delete.
    pub after: Option<BTreeMap<String, String>>,
    pub reasons: Vec<String>,
    /// The desired instance (create, replace, start, no-op).
    pub desired: Option<Instance>,
    /// The live object's id, when one exists.
    pub live_id: Option<String>,
    /// For deletes: what the object depended on (so it is removed before them).
    pub dependencies: Vec<String>,
    /// Live published ports (for no-ops, recorded into state).
    pub live_ports: BTreeMap<String, u16>,
    /// Where they are published when not on this engine's host (a swarm task's node).
    pub live_host: Option<String>,
    /// Jobs only: the operations the change takes.
    pub job_ops: Option<JobOps>,
    /// Forget the object but leave it on Docker (a data volume holding final savepoints).
    pub keep_object: bool,
    /// Jobs: the job as recorded (its cluster, the mode it was submitted in).
    pub recorded_job: Option<crate::state::JobRecord>,
    /// What changed on the engine or in Flink since the state was written, when something did
    /// (Terraform's `resource_drift`).
    pub drift: Option<Drift>,
    /// A swarm service updated in place whose tasks the swarm replaces, a batch at a time, with
    /// the new configuration (a rolling update; the service and its id are kept). An in-place
    /// update without it changes only settings the running tasks keep (replicas, update settings).
    pub rolling: bool,
}

/// A difference between what the state recorded and what is live, found by observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// The object is gone from the engine.
    Removed,
    /// Its config-hash label no longer matches what was recorded, or (a swarm service) its
    /// spec is no longer what flinkform sent.
    Changed,
    /// The container is stopped, or Docker keeps restarting it.
    NotRunning,
    /// The image behind its tag is not the one it runs.
    ImageMoved,
    /// The job is not running in Flink (failed, cancelled, or unknown to its cluster).
    JobNotRunning,
}

impl Change {
    /// A no-op change for a desired instance, as recorded in state; deciders set the rest.
    pub fn unchanged(d: &Instance, recorded: Option<&crate::state::Resource>) -> Change {
        // What it was made on too: an object it no longer needs is removed only after it.
        let mut dependencies = d.dependencies.clone();
        for old in recorded.map(|r| r.dependencies.as_slice()).unwrap_or_default() {
            if !dependencies.contains(old) {
                dependencies.push(old.clone());
            }
        }
        Change {
            address: d.address.clone(),
            kind: d.kind,
            name: d.name.clone(),
            action: Action::NoOp,
            before: recorded.map(|r| r.attributes.clone()),
            after: Some(d.attributes.clone()),
            reasons: Vec::new(),
            desired: Some(d.clone()),
            live_id: recorded.map(|r| r.id.clone()),
            dependencies,
            live_ports: BTreeMap::new(),
            live_host: None,
            job_ops: None,
            keep_object: false,
            recorded_job: recorded.and_then(|r| r.job.clone()),
            drift: None,
            rolling: false,
        }
    }
}

/// A full plan, sorted by address.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub outputs: Vec<OutputChange>,
    /// Objects labelled as this project's that another state owns (another lineage): left alone.
    pub foreign: Vec<Foreign>,
    /// Records renamed by `moved` blocks before the plan was decided.
    pub moved: Vec<moved::Moved>,
}

/// An object carrying the project's labels but another state's lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Foreign {
    pub kind: Kind,
    pub name: String,
    pub address: String,
    pub lineage: String,
}

/// An output's value before (state) and after (configuration; unknown until apply when it
/// depends on something only known then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    pub name: String,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
    pub after_unknown: bool,
    pub sensitive: bool,
}

impl OutputChange {
    pub fn action(&self) -> Action {
        match &self.before {
            None => Action::Create,
            Some(_) if self.after_unknown => Action::Update,
            Some(b) if *b == self.after => Action::NoOp,
            Some(_) => Action::Update,
        }
    }
    fn show(&self, v: &serde_json::Value) -> String {
        if self.sensitive { "(sensitive value)".into() } else { v.to_string() }
    }
    pub fn shown_before(&self) -> String {
        self.before.as_ref().map(|b| self.show(b)).unwrap_or_else(|| "(none)".into())
    }
    pub fn shown_after(&self) -> String {
        if self.after_unknown { "(known after apply)".into() } else { self.show(&self.after) }
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    #[error("{}", .0.join("\n"))]
    Conflicts(Vec<String>),
    #[error("{}", .0.join("\n"))]
    PreventDestroy(Vec<String>),
}

/// `--target` and `--replace`: what a plan is narrowed to, and what it replaces regardless.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Focus {
    pub targets: Vec<String>,
    pub replace: Vec<String>,
}

impl Plan {
    /// `--target ADDRESS`: act only on these (an address also selects what is nested under it)
    /// and what they depend on. `replace` (`--replace`, decided by [`diff::compute_with`]) is
    /// checked: each must be a configured container, network or volume.
    pub fn focus(&mut self, targets: &[String], replace: &[String]) -> Result<(), String> {
        for r in replace {
            let c = self
                .changes
                .iter()
                .find(|c| &c.address == r)
                .ok_or_else(|| format!("--replace {r}: no such resource in the configuration"))?;
            if c.desired.is_none() || c.kind == crate::model::Kind::Job {
                return Err(format!("--replace {r}: only configured containers, networks and volumes can be replaced"));
            }
        }
        if targets.is_empty() {
            return Ok(());
        }
        let targets: Vec<crate::address::Address> = targets
            .iter()
            .map(|t| crate::address::Address::parse(t).map_err(|e| format!("--target {t}: {e}")))
            .collect::<Result<_, _>>()?;
        let selected = |a: &str| crate::address::Address::parse(a).is_ok_and(|a| targets.iter().any(|t| t.selects(&a)));
        let mut keep: std::collections::BTreeSet<String> =
            self.changes.iter().filter(|c| selected(&c.address)).map(|c| c.address.clone()).collect();
        if keep.is_empty() {
            let shown: Vec<String> = targets.iter().map(ToString::to_string).collect();
            return Err(format!("--target {}: matches no resource", shown.join(", ")));
        }
        loop {
            let deps: Vec<String> = self
                .changes
                .iter()
                .filter(|c| keep.contains(&c.address))
                .flat_map(|c| c.dependencies.clone())
                .filter(|d| !keep.contains(d))
                .collect();
            if deps.is_empty() {
                break;
            }
            keep.extend(deps);
        }
        for c in self.changes.iter_mut().filter(|c| !keep.contains(&c.address)) {
            c.action = Action::NoOp;
        }
        Ok(())
    }

    /// (to add, to change, to destroy), counted as Terraform does: a replace adds and destroys.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for ch in &self.changes {
            match ch.action {
                Action::Create => c.0 += 1,
                Action::Start | Action::Update => c.1 += 1,
                Action::Replace => {
                    c.0 += 1;
                    c.2 += 1;
                }
                Action::Delete => c.2 += 1,
                Action::NoOp => {}
            }
        }
        c
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp) || !self.moved.is_empty()
    }

    /// The address a change's record had before a `moved` block renamed it.
    pub fn previous_address(&self, address: &str) -> Option<&str> {
        self.moved.iter().find(|m| m.to == address).map(|m| m.from.as_str())
    }

    /// One line per operation, for logs and tests: `-/+ cluster.a.taskmanager[0] (slots: 2 → 4)`.
    pub fn summary_lines(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| format!("{} {} ({})", render::symbol(c.action), c.address, c.reasons.join("; ")))
            .collect()
    }
}
