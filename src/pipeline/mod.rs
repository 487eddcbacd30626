//! The pipeline: load → expand → observe → plan → (focus, outputs | refresh) → apply, the one
//! sequence every command runs a part of. The command line parses its arguments into the plain
//! options here, calls one function and prints what it returns; nothing here parses arguments
//! or prints a plan. See docs/ARCHITECTURE.md, "The pipeline".

mod apply;
pub mod backend;
mod edit;
mod location;
mod logs;
mod plan;
mod refresh;
mod status;
mod tls;

pub use apply::{Applied, ApplyOptions, Prepared, execute, policy_denied, prepare};
pub use edit::{dot, force_unlock, import, read_state, state_location, state_mv, state_resource, state_rm};
pub use location::location;
pub use logs::logs;
pub use plan::{PlanOptions, Planned, make_plan, plan, read_saved_plan, save_plan};
pub use refresh::refresh;
pub use status::{ClusterStatus, JobStatus, status};

use crate::config::{self, Config, VarInputs};
use crate::model::{self, Desired, sensitive::Masker};
use crate::state::State;
use miette::Report;
use std::path::Path;

/// Loads the configuration in `dir`; `vars` as the user gave them (files relative to `dir`).
pub fn load(dir: &Path, vars: &VarInputs) -> Result<Config, Report> {
    load_then(dir, vars, &mut |_| {})
}

/// [`load`], calling `early` with the settings as soon as they are known.
pub fn load_then(dir: &Path, vars: &VarInputs, early: &mut dyn FnMut(&config::Settings)) -> Result<Config, Report> {
    let inputs = relative_to(dir, vars);
    tracing::debug!(dir = %dir.display(), "loading the configuration");
    let config = config::load_then(dir, &inputs, early).map_err(Report::new)?;
    tracing::debug!(project = %config.settings.project, clusters = config.clusters.len(), "configuration loaded");
    Ok(config)
}

/// Reads the state the configuration names.
pub fn load_state(config: &Config) -> Result<State, Report> {
    read_state(&location_of(config))
}

/// Where `config`'s state lives.
pub fn location_of(config: &Config) -> crate::state::Location {
    location::location(&config.dir, &config.settings)
}

/// How this state's sensitive values are hashed: under this process's key (recorded by id in
/// the state), or salted only for a state made before keys that still holds such hashes. A
/// state whose keyed hashes were made with another key is refused: with the wrong key every
/// secret would look changed and every container using one would be replaced.
pub fn masker(state: &mut State) -> Result<Masker, Report> {
    masker_with(state, &crate::key::Key::load().map_err(Report::new)?)
}

fn masker_with(state: &mut State, key: &crate::key::Key) -> Result<Masker, Report> {
    let id = key.id();
    match state.hash_key.as_deref() {
        Some(recorded) if recorded == id => {}
        Some(recorded) if String::from_utf8_lossy(&state.to_bytes()).contains("sensitive:v2:") => {
            return Err(miette::miette!(
                help = "set FLINKFORM_KEY (or FLINKFORM_KEY_FILE) to the key this state was made with; see the README's Security section",
                "the state's sensitive values were hashed with key {recorded}, and this run's key is {id}"
            ));
        }
        Some(_) => state.hash_key = Some(id),
        None if model::sensitive::has_salted(&String::from_utf8_lossy(&state.to_bytes())) => {
            return Ok(Masker::legacy(key, &state.salt));
        }
        None => state.hash_key = Some(id),
    }
    Ok(Masker::keyed(key, &state.salt))
}

/// The desired instances, sensitive values hashed by the state's `masker`.
pub fn expand(config: &Config, masker: &Masker) -> Desired {
    let desired = model::expand(config, masker);
    tracing::debug!(instances = desired.len(), "expanded");
    desired
}

/// Variable files as the user named them, relative to the configuration directory.
fn relative_to(dir: &Path, vars: &VarInputs) -> VarInputs {
    VarInputs { var_files: vars.var_files.iter().map(|f| dir.join(f)).collect(), vars: vars.vars.clone() }
}

/// What `validate` found in a valid configuration.
pub struct Validated {
    pub clusters: usize,
    pub instances: usize,
    pub warnings: Vec<config::warnings::Warning>,
}

/// `validate`: a valid configuration's counts and warnings, or every error (typed: `validate
/// --json` writes each with its range).
pub fn validate(dir: &Path, vars: &VarInputs) -> Result<Validated, config::ConfigErrors> {
    let config = config::load(dir, &relative_to(dir, vars))?;
    let instances = model::expand(&config, &Masker::salted("")).len();
    Ok(Validated { clusters: config.clusters.len(), instances, warnings: config::warnings::warnings(&config) })
}

/// REST host port of a cluster's first JobManager (by cluster address), as recorded in state.
/// `console`: the configuration's root module with the REST ports the state records.
pub fn console(config: &Config) -> Result<crate::config::console::Console, Report> {
    let state = load_state(config)?;
    config.console(&|c| rest_port_from(&state, c)).map_err(Report::new)
}

pub(crate) fn rest_port_from(state: &State, cluster: &str) -> Option<crate::config::LiveRest> {
    let jobmanager = crate::address::part_of(cluster, "jobmanager", Some(crate::address::Key::Index(0)));
    let r = state.resource(&jobmanager)?;
    Some(crate::config::LiveRest { port: *r.ports.get("8081/tcp")?, url: r.rest_url.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

    fn state_with(value: &str) -> State {
        let mut state = State::new();
        state.put(crate::state::Resource {
            address: "container.c".into(),
            kind: crate::model::Kind::Container,
            name: "p-c".into(),
            id: "abc".into(),
            attributes: [("env.TOKEN".to_string(), value.to_string())].into(),
            config_hash: String::new(),
            dependencies: Vec::new(),
            ports: Default::default(),
            savepoint: None,
            job: None,
            rest_url: None,
            tainted: false,
        });
        state
    }

    #[test]
    fn a_state_is_hashed_under_the_key_it_records() {
        let (a, b) = (Key::from_bytes(&[b'a'; 32]), Key::from_bytes(&[b'b'; 32]));
        let mut new = State::new();
        let m = masker_with(&mut new, &a).unwrap();
        assert_eq!(new.hash_key, Some(a.id()), "a new state records its key's id");
        let mut state =
            State { salt: new.salt.clone(), hash_key: new.hash_key.clone(), ..state_with(&m.mask("hunter2")) };
        let err = masker_with(&mut state.clone(), &b).unwrap_err().to_string();
        assert!(err.contains(&a.id()) && err.contains(&b.id()), "another key is refused: {err}");
        assert_eq!(masker_with(&mut state, &a).unwrap().mask("hunter2"), m.mask("hunter2"));
        // Without keyed hashes in it, a state moves to the key it is used with.
        let mut empty = State { hash_key: Some(a.id()), ..State::new() };
        masker_with(&mut empty, &b).unwrap();
        assert_eq!(empty.hash_key, Some(b.id()));
    }

    #[test]
    fn a_state_with_salted_hashes_keeps_them() {
        let mut state = State::new();
        let legacy = Masker::salted(&state.salt).mask("hunter2");
        state = State { salt: state.salt.clone(), ..state_with(&legacy) };
        let m = masker_with(&mut state, &Key::from_bytes(&[b'a'; 32])).unwrap();
        assert_eq!(m.mask("hunter2"), legacy, "no secret looks changed after the upgrade");
        assert_eq!(state.hash_key, None);
    }
}
