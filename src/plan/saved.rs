//! Saved plans (`plan --out FILE`, `apply FILE`): the plan as reviewed plus fingerprints of
//! what it was computed from — the state's lineage and serial, the configuration (files and
//! resolved variable values, hashed: no plaintext secret), and every live object observed.
//! `apply FILE` recomputes the plan and refuses unless all of them, and the plan itself, are
//! unchanged; once applied, the file is marked so and refused the next time.

use super::Plan;
use crate::config::Config;
use crate::observe::Snapshot;
use crate::state::State;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const KIND: &str = "flinkform-saved-plan";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub kind: String,
    pub format_version: String,
    pub destroy: bool,
    pub lineage: String,
    pub serial: u64,
    pub config_fingerprint: String,
    pub live_fingerprint: String,
    /// `--var` values of variables that are not sensitive, and `--var-file` paths, to reload the
    /// same configuration at apply time (sensitive values must be given again, e.g. by env).
    pub vars: Vec<String>,
    pub var_files: Vec<String>,
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub replace: Vec<String>,
    pub plan: serde_json::Value,
    pub human: String,
    pub markdown: String,
    #[serde(default)]
    pub applied: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StalePlan {
    #[error("this saved plan was already applied; make a new one with `flinkform plan --out FILE`")]
    AlreadyApplied,
    #[error("{0} is not a flinkform saved plan")]
    NotAPlan(String),
    #[error(
        "the saved plan is stale: the state changed since it was made (lineage {planned_lineage} serial {planned_serial}, now lineage {lineage} serial {serial}). Make a new plan with `flinkform plan --out FILE`"
    )]
    State { planned_lineage: String, planned_serial: u64, lineage: String, serial: u64 },
    #[error(
        "the saved plan is stale: the configuration changed since it was made (files or variable values). Make a new plan with `flinkform plan --out FILE`"
    )]
    Config,
    #[error(
        "the saved plan is stale: live objects changed since planning (a container, network, volume or job was created, removed, stopped or changed outside this plan). Make a new plan with `flinkform plan --out FILE`"
    )]
    Live,
    #[error(
        "the saved plan is stale: planning again gives different changes. Make a new plan with `flinkform plan --out FILE`"
    )]
    Changes,
}

fn sha(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Files and resolved variable values (hashed together: no value can be read back).
pub fn config_fingerprint(config: &Config) -> String {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for f in &config.sources.files {
        parts.push(f.name.as_bytes().to_vec());
        parts.push(f.text.as_bytes().to_vec());
    }
    parts.push(serde_json::to_vec(&config.var_values).unwrap_or_default());
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    sha(&refs)
}

/// Everything observed: objects (id, labels, running, image), image ids, Flink jobs.
pub fn live_fingerprint(live: &Snapshot) -> String {
    let mut text = String::new();
    for ((kind, name), o) in &live.objects {
        text.push_str(&format!(
            "{}|{name}|{}|{:?}|{}|{:?}|{:?}\n",
            kind.as_str(),
            o.id,
            o.labels,
            o.running,
            o.image_id.as_deref().unwrap_or(""),
            o.ports
        ));
    }
    text.push_str(&format!("{:?}\n{:?}\n", live.images, live.jobs));
    sha(&[text.as_bytes()])
}

impl SavedPlan {
    pub fn new(
        config: &Config,
        vars: &crate::config::VarInputs,
        focus: &super::Focus,
        state: &State,
        live: &Snapshot,
        plan: &Plan,
        destroy: bool,
    ) -> Self {
        let sensitive = |pair: &String| {
            pair.split_once('=').is_some_and(|(k, _)| config.variables.get(k).is_some_and(|v| v.sensitive))
        };
        SavedPlan {
            kind: KIND.into(),
            format_version: super::json::FORMAT_VERSION.into(),
            destroy,
            lineage: state.lineage.clone(),
            serial: state.serial,
            config_fingerprint: config_fingerprint(config),
            live_fingerprint: live_fingerprint(live),
            vars: vars.vars.iter().filter(|p| !sensitive(p)).cloned().collect(),
            var_files: vars.var_files.iter().map(|p| p.display().to_string()).collect(),
            targets: focus.targets.clone(),
            replace: focus.replace.clone(),
            plan: super::json::render(plan),
            human: strip_ansi(&super::render::human(plan)),
            markdown: super::markdown::render(plan),
            applied: false,
        }
    }

    pub fn read(path: &Path) -> Result<SavedPlan, StalePlan> {
        let bytes = std::fs::read(path).map_err(|_| StalePlan::NotAPlan(path.display().to_string()))?;
        let p: SavedPlan =
            serde_json::from_slice(&bytes).map_err(|_| StalePlan::NotAPlan(path.display().to_string()))?;
        if p.kind != KIND {
            return Err(StalePlan::NotAPlan(path.display().to_string()));
        }
        Ok(p)
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("plain data");
        bytes.push(b'\n');
        crate::state::write_atomic(path, &bytes)
    }

    /// Refuses unless everything the plan was made from is as it was.
    pub fn check(&self, config: &Config, state: &State, live: &Snapshot, replanned: &Plan) -> Result<(), StalePlan> {
        if self.applied {
            return Err(StalePlan::AlreadyApplied);
        }
        if self.lineage != state.lineage || self.serial != state.serial {
            return Err(StalePlan::State {
                planned_lineage: self.lineage.clone(),
                planned_serial: self.serial,
                lineage: state.lineage.clone(),
                serial: state.serial,
            });
        }
        if self.config_fingerprint != config_fingerprint(config) {
            return Err(StalePlan::Config);
        }
        if self.live_fingerprint != live_fingerprint(live) {
            return Err(StalePlan::Live);
        }
        if self.plan != super::json::render(replanned) {
            return Err(StalePlan::Changes);
        }
        Ok(())
    }
}

pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for n in chars.by_ref() {
                if n.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
