//! Saved plans (`plan --out FILE`, `apply FILE`, `show FILE`): the changes as reviewed (typed
//! data: `show` renders them, there is no stored text to disagree with them), every option
//! that changes what apply does, and fingerprints of what the plan was computed from — the
//! state's lineage and serial, the configuration (files and resolved variable values, under the
//! key), and every live object observed. The file is authenticated with an HMAC under the key of
//! [`crate::key`], which is in neither the file nor the repository: a changed byte is refused.
//! `apply FILE` plans again and refuses unless all of it is unchanged; once applied, the file
//! is marked so and refused the next time.

use super::{Action, Change, Foreign, OutputChange, Plan};
use crate::config::Config;
use crate::key::Key;
use crate::model::Kind;
use crate::observe::Snapshot;
use crate::state::State;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

pub const KIND: &str = "flinkform-saved-plan";
/// The file format this build writes and reads (1: unauthenticated, with stored texts).
pub const FORMAT: u32 = 2;
/// What the file's authentication tag is computed for (no other keyed hash can stand in).
const PURPOSE: &str = "saved-plan";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub kind: String,
    pub format: u32,
    pub flinkform_version: String,
    /// Every option that changes what apply does.
    pub destroy: bool,
    pub targets: Vec<String>,
    pub replace: Vec<String>,
    pub lineage: String,
    pub serial: u64,
    /// Keyed hash of the configuration files and every resolved variable value.
    pub config_fingerprint: String,
    pub live_fingerprint: String,
    /// `--var` values of variables that are not sensitive, and `--var-file` paths, to reload the
    /// same configuration at apply time.
    pub vars: Vec<String>,
    pub var_files: Vec<String>,
    /// Keyed hash of each sensitive variable's value: given again at apply time, each is
    /// checked against it.
    pub sensitive_vars: BTreeMap<String, String>,
    /// The changes as reviewed: `show FILE` renders them, `apply FILE` compares a fresh plan
    /// with them.
    pub plan: Reviewed,
    pub applied: bool,
    /// The id of the key that authenticates the file.
    pub key: String,
    /// HMAC-SHA256 of the file as written with this field empty.
    pub mac: String,
}

/// A plan as a reviewer saw it: what each change does and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewed {
    pub changes: Vec<ReviewedChange>,
    pub outputs: Vec<OutputChange>,
    pub foreign: Vec<Foreign>,
    /// Records `moved` blocks rename.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<super::moved::Moved>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewedChange {
    pub address: String,
    pub kind: Kind,
    pub name: String,
    pub action: Action,
    pub before: Option<BTreeMap<String, String>>,
    pub after: Option<BTreeMap<String, String>>,
    pub reasons: Vec<String>,
    pub keep_object: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<super::Drift>,
}

impl Reviewed {
    pub fn of(plan: &Plan) -> Reviewed {
        let changes = plan
            .changes
            .iter()
            .map(|c| ReviewedChange {
                address: c.address.clone(),
                kind: c.kind,
                name: c.name.clone(),
                action: c.action,
                // As shown: a sensitive value's hash is not kept (its value is checked apart).
                before: c.before.as_ref().map(crate::model::sensitive::display_map),
                after: c.after.as_ref().map(crate::model::sensitive::display_map),
                reasons: c.reasons.clone(),
                keep_object: c.keep_object,
                drift: c.drift,
            })
            .collect();
        let outputs = plan.outputs.iter().map(shown_output).collect();
        Reviewed { changes, outputs, foreign: plan.foreign.clone(), moved: plan.moved.clone() }
    }

    /// The plan to render (what apply would execute is planned afresh and compared).
    pub fn to_plan(&self) -> Plan {
        let changes = self
            .changes
            .iter()
            .map(|c| Change {
                address: c.address.clone(),
                kind: c.kind,
                name: c.name.clone(),
                action: c.action,
                before: c.before.clone(),
                after: c.after.clone(),
                reasons: c.reasons.clone(),
                desired: None,
                live_id: None,
                dependencies: Vec::new(),
                live_ports: BTreeMap::new(),
                live_host: None,
                job_ops: None,
                keep_object: c.keep_object,
                recorded_job: None,
                drift: c.drift,
                rolling: false,
            })
            .collect();
        Plan { changes, outputs: self.outputs.clone(), foreign: self.foreign.clone(), moved: self.moved.clone() }
    }
}

/// A sensitive output without its hash: shown, and whether it changes, only.
fn shown_output(o: &OutputChange) -> OutputChange {
    if !o.sensitive {
        return o.clone();
    }
    let shown = serde_json::Value::from(crate::model::sensitive::SHOWN);
    let after = if o.action() == Action::Update && !o.after_unknown {
        serde_json::Value::from(format!("{} (changed)", crate::model::sensitive::SHOWN))
    } else {
        shown.clone()
    };
    OutputChange { before: o.before.as_ref().map(|_| shown), after, ..o.clone() }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StalePlan {
    #[error("this saved plan was already applied; make a new one with `flinkform plan --out FILE`")]
    AlreadyApplied,
    #[error("{0} is not a flinkform saved plan")]
    NotAPlan(String),
    #[error(
        "{path} was saved by an older flinkform (format {found}); make a new plan with `flinkform plan --out FILE`"
    )]
    Format { path: String, found: u32 },
    #[error("{path} was changed after flinkform wrote it: its authentication does not match, so it is refused")]
    #[diagnostic(help(
        "make a new plan with `flinkform plan --out FILE`; a saved plan is applied only as it was written"
    ))]
    Tampered { path: String },
    #[error("{path} was saved with key {made}, and this run's key is {this}")]
    #[diagnostic(help(
        "apply it where FLINKFORM_KEY (or FLINKFORM_KEY_FILE) holds the key that made it; see the README's Security section"
    ))]
    OtherKey { path: String, made: String, this: String },
    #[error(
        "the saved plan is stale: the state changed since it was made (lineage {planned_lineage} serial {planned_serial}, now lineage {lineage} serial {serial}). Make a new plan with `flinkform plan --out FILE`"
    )]
    State { planned_lineage: String, planned_serial: u64, lineage: String, serial: u64 },
    #[error(
        "the value given for the sensitive variable `{0}` is not the one the plan was made with. Give the same value (--var, a var file or FLINKFORM_VAR_{0}), or make a new plan"
    )]
    SensitiveVar(String),
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

/// Files and resolved variable values, under the key: no value can be guessed from it offline.
pub fn config_fingerprint(config: &Config, key: &Key) -> String {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for f in &config.sources.files {
        parts.push(f.name.as_bytes().to_vec());
        parts.push(f.text.as_bytes().to_vec());
    }
    parts.push(serde_json::to_vec(&config.var_values).unwrap_or_default());
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    hex::encode(key.mac("config", &refs))
}

/// Keyed hashes of the sensitive variables' values, by name.
fn sensitive_vars(config: &Config, key: &Key) -> BTreeMap<String, String> {
    config
        .var_values
        .iter()
        .filter(|(name, _)| config.variables.get(*name).is_some_and(|v| v.sensitive))
        .map(|(name, value)| {
            let value = serde_json::to_vec(value).unwrap_or_default();
            (name.clone(), hex::encode(key.mac("variable", &[name.as_bytes(), &value])))
        })
        .collect()
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

/// What a saved plan is made from.
pub struct Inputs<'a> {
    pub config: &'a Config,
    pub vars: &'a crate::config::VarInputs,
    pub focus: &'a super::Focus,
    pub destroy: bool,
    pub state: &'a State,
    pub live: &'a Snapshot,
}

impl SavedPlan {
    pub fn new(inputs: &Inputs, plan: &Plan, key: &Key) -> Self {
        let Inputs { config, vars, focus, destroy, state, live } = *inputs;
        let sensitive = |pair: &String| {
            pair.split_once('=').is_some_and(|(k, _)| config.variables.get(k).is_some_and(|v| v.sensitive))
        };
        SavedPlan {
            kind: KIND.into(),
            format: FORMAT,
            flinkform_version: env!("CARGO_PKG_VERSION").into(),
            destroy,
            targets: focus.targets.clone(),
            replace: focus.replace.clone(),
            lineage: state.lineage.clone(),
            serial: state.serial,
            config_fingerprint: config_fingerprint(config, key),
            live_fingerprint: live_fingerprint(live),
            vars: vars.vars.iter().filter(|p| !sensitive(p)).cloned().collect(),
            var_files: vars.var_files.iter().map(|p| p.display().to_string()).collect(),
            sensitive_vars: sensitive_vars(config, key),
            plan: Reviewed::of(plan),
            applied: false,
            key: key.id(),
            mac: String::new(),
        }
    }

    /// The file's bytes: pretty JSON, the tag computed over the same text with `mac` empty.
    fn bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("plain data");
        bytes.push(b'\n');
        bytes
    }

    fn unsigned(&self) -> Vec<u8> {
        SavedPlan { mac: String::new(), ..self.clone() }.bytes()
    }

    /// Reads a saved plan, refusing any byte flinkform did not write with this key.
    pub fn read(path: &Path, key: &Key) -> Result<SavedPlan, StalePlan> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|_| StalePlan::NotAPlan(shown.clone()))?;
        #[derive(Deserialize)]
        struct Head {
            kind: String,
            #[serde(default = "first_format")]
            format: u32,
        }
        fn first_format() -> u32 {
            1
        }
        let head: Head = serde_json::from_slice(&bytes).map_err(|_| StalePlan::NotAPlan(shown.clone()))?;
        if head.kind != KIND {
            return Err(StalePlan::NotAPlan(shown));
        }
        if head.format != FORMAT {
            return Err(StalePlan::Format { path: shown, found: head.format });
        }
        let p: SavedPlan = serde_json::from_slice(&bytes).map_err(|_| StalePlan::Tampered { path: shown.clone() })?;
        if p.key != key.id() {
            return Err(StalePlan::OtherKey { path: shown, made: p.key, this: key.id() });
        }
        // Only the exact bytes flinkform writes are accepted: the tag covers the content, and
        // the content must be written as flinkform writes it.
        let tag = hex::decode(&p.mac).unwrap_or_default();
        if p.bytes() != bytes || !key.verify(PURPOSE, &[&p.unsigned()], &tag) {
            return Err(StalePlan::Tampered { path: shown });
        }
        Ok(p)
    }

    /// Writes the file, authenticated under `key`.
    pub fn write(&mut self, path: &Path, key: &Key) -> std::io::Result<()> {
        self.key = key.id();
        self.mac = String::new();
        self.mac = hex::encode(key.mac(PURPOSE, &[&self.unsigned()]));
        crate::state::write_atomic(path, &self.bytes())
    }

    /// The values given again for sensitive variables are the ones the plan was made with.
    pub fn check_sensitive(&self, config: &Config, key: &Key) -> Result<(), StalePlan> {
        let given = sensitive_vars(config, key);
        for (name, hash) in &self.sensitive_vars {
            if given.get(name) != Some(hash) {
                return Err(StalePlan::SensitiveVar(name.clone()));
            }
        }
        Ok(())
    }

    /// Refuses unless everything the plan was made from is as it was.
    pub fn check(
        &self,
        config: &Config,
        key: &Key,
        state: &State,
        live: &Snapshot,
        replanned: &Plan,
    ) -> Result<(), StalePlan> {
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
        self.check_sensitive(config, key)?;
        if self.config_fingerprint != config_fingerprint(config, key) {
            return Err(StalePlan::Config);
        }
        if self.live_fingerprint != live_fingerprint(live) {
            return Err(StalePlan::Live);
        }
        if self.plan != Reviewed::of(replanned) {
            return Err(StalePlan::Changes);
        }
        Ok(())
    }
}
