//! The pipeline: load → expand → observe → plan → (focus, outputs | refresh) → apply, the one
//! sequence every command runs a part of. The command line parses its arguments into the plain
//! options here, calls one function and prints what it returns; nothing here parses arguments
//! or prints a plan. See docs/ARCHITECTURE.md, "The pipeline".

mod apply;
mod edit;
mod plan;
mod refresh;

pub use apply::{Applied, ApplyOptions, Prepared, execute, prepare};
pub use edit::{dot, force_unlock, import, state_mv, state_resource, state_rm};
pub use plan::{PlanOptions, Planned, make_plan, plan, save_plan};
pub use refresh::refresh;

use crate::config::{self, Config, VarInputs};
use crate::model::{self, Desired};
use crate::state::State;
use miette::Report;
use std::path::Path;

/// Loads the configuration in `dir`; `vars` as the user gave them (files relative to `dir`).
pub fn load(dir: &Path, vars: &VarInputs) -> Result<Config, Report> {
    load_then(dir, vars, &mut |_| {})
}

/// [`load`], calling `early` with the settings as soon as they are known.
pub fn load_then(dir: &Path, vars: &VarInputs, early: &mut dyn FnMut(&config::Settings)) -> Result<Config, Report> {
    let inputs = VarInputs { var_files: vars.var_files.iter().map(|f| dir.join(f)).collect(), vars: vars.vars.clone() };
    tracing::debug!(dir = %dir.display(), "loading the configuration");
    let config = config::load_then(dir, &inputs, early).map_err(Report::new)?;
    tracing::debug!(project = %config.settings.project, clusters = config.clusters.len(), "configuration loaded");
    Ok(config)
}

/// Reads the state the configuration names.
pub fn load_state(config: &Config) -> Result<State, Report> {
    State::load(&config.state_path()).map_err(Report::new)
}

/// The desired instances, sensitive values hashed with the state's salt.
pub fn expand(config: &Config, state: &State) -> Desired {
    let desired = model::expand(config, &state.salt);
    tracing::debug!(instances = desired.len(), "expanded");
    desired
}

/// `validate`: (clusters, resource instances) of a valid configuration.
pub fn validate(dir: &Path, vars: &VarInputs) -> Result<(usize, usize), Report> {
    let config = load(dir, vars)?;
    Ok((config.clusters.len(), model::expand(&config, "").len()))
}

/// REST host port of a cluster's first JobManager (by cluster address), as recorded in state.
pub(crate) fn rest_port_from(state: &State, cluster: &str) -> Option<u16> {
    let jobmanager = crate::address::part_of(cluster, "jobmanager", Some(crate::address::Key::Index(0)));
    state.resource(&jobmanager).and_then(|r| r.ports.get("8081/tcp").copied())
}
